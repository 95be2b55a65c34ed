"""Scene data: ShapeWorld scene questions plus single-shape image questions, media included.

``write_scene_data`` writes ``<out>/<split>.json`` (the conversation format of
``omniweave.data.conversations``) and its images under ``<out>/media/<split>/``. Tasks:

- ``scene-qa``: a two-shape scene and one or two questions that need one or both shapes
  (``omniweave.nano.scenes.QUESTION_KINDS``), answered in the nano LLM's short forms ("it is red."); a fifth of
  the questions ask for a single word (``SHORT_ANSWER``) and get one ("red.").
- ``scene-mc``: a scene question with lettered options (MMBench form) -> the letter ("B.").
- ``single-describe`` / ``single-qa``: one-shape images described or asked about, as the nano
  instruction data does, so that training on scenes keeps single-shape skills.

Records are determined by ``(seed, split)``; each image's nuisances come from a numpy generator
seeded by ``("scenes", seed, split, record)``, never shared across seeds or splits.
"""

from __future__ import annotations

import random
import zlib
from collections import Counter
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from omniweave.data.conversations import save_conversations
from omniweave.errors import InputError
from omniweave.eval.multiple_choice import SHORT_ANSWER, mc_prompt
from omniweave.files import atomic_dir
from omniweave.nano import scenes, text
from omniweave.nano.world import attributes, render

MIX = {"scene-qa": 0.6, "scene-mc": 0.1, "single-describe": 0.1, "single-qa": 0.2}
SHORT_SHARE = 0.2
# bumped whenever the records this module writes change (names the cache folder: training/data.py)
DATA_VERSION = 1
_SEED_TAG = 0x5343454E  # "SCEN"


def _frame(rng: random.Random, prompt: str) -> str:
    """The image placeholder before (mostly), after or around the prompt."""
    u = rng.random()
    if u < 0.6:
        return f"<image>\n{prompt}"
    if u < 0.8:
        return f"{prompt}\n<image>"
    return f"{text._pick(rng, [x for x in text._INTRO['image'] if x])}<image> {prompt}"


def short_reply(question: scenes.SceneQuestion, scene: dict[str, str]) -> str:
    return f"{question.truth(scene)}."


def _record(rng: random.Random, task: str, nrng: np.random.Generator):
    """(turns, image) of one record."""
    if task in ("scene-qa", "scene-mc"):
        kind = text._pick(rng, scenes.MC_KINDS if task == "scene-mc" else scenes.QUESTION_KINDS)
        spec = scenes.scene_for(kind, nrng)
        image = scenes.render_scene(spec, nrng)
        truth = spec.as_dict()
        q = scenes.ask(rng, spec, kind)
        if task == "scene-mc":
            options, letter = scenes.choices(rng, q, truth)
            return [("human", _frame(rng, mc_prompt(q.text, options))), ("gpt", f"{letter}.")], image
        turns = []
        for i in range(1 + (rng.random() < 0.3)):
            if i:
                q = scenes.ask(rng, spec, text._pick(rng, scenes.QUESTION_KINDS))
            short = rng.random() < SHORT_SHARE
            prompt = text._style(rng, q.text) + (f" {SHORT_ANSWER}" if short else "")
            turns += [("human", _frame(rng, prompt) if i == 0 else prompt),
                      ("gpt", short_reply(q, truth) if short else q.answer(truth))]
        return turns, image
    spec = text._spec(rng, "image")
    image = render(spec, nrng)
    if task == "single-describe":
        prompt = text._style(rng, text._pick(rng, text._DESCRIBE["image"]))
        said = spec.caption if rng.random() < 0.75 else text.describe(spec, rng)
        return [("human", _frame(rng, prompt)), ("gpt", said + ".")], image
    attrs = list(attributes("image"))
    rng.shuffle(attrs)
    turns = []
    for i, attr in enumerate(attrs[: 1 + (rng.random() < 0.3)]):
        q, a = text.question(rng, spec, attr)
        q = text._style(rng, q)
        turns += [("human", _frame(rng, q) if i == 0 else q), ("gpt", a)]
    return turns, image


def task_counts(n: int, mix: dict[str, float] | None = None) -> dict[str, int]:
    mix = dict(MIX if mix is None else mix)
    unknown = [t for t in mix if t not in MIX]
    if unknown:
        raise InputError(f"unknown scene data task {unknown[0]!r}; expected one of {', '.join(MIX)}")
    total = sum(mix.values())
    counts = {t: int(n * w / total) for t, w in mix.items()}
    for t in list(mix)[: n - sum(counts.values())]:
        counts[t] += 1
    return {t: c for t, c in counts.items() if c}


def iter_scene_records(n: int, seed: int, split: str = "train", mix: dict[str, float] | None = None):
    """The ``n`` (record, image) pairs of a scene data set, in order."""
    rng = random.Random(f"omniweave-scene-data-{split}-{seed}")
    tasks = [t for t, c in task_counts(n, mix).items() for _ in range(c)]
    rng.shuffle(tasks)
    code = zlib.crc32(split.encode())
    for i, task in enumerate(tasks):
        nrng = np.random.default_rng([_SEED_TAG, seed, code, i])
        turns, image = _record(rng, task, nrng)
        path = f"media/{split}/{i:06d}.png"
        record = {"id": f"scenes-{split}-{i:06d}", "image": [path],
                  "conversations": [{"from": f, "value": v} for f, v in turns], "task": task}
        yield record, image


def write_scene_data(out_dir: str | Path, n: int, seed: int = 0, split: str = "train",
                     mix: dict[str, float] | None = None, progress: bool = False) -> dict[str, int]:
    """Write ``n`` records to ``out_dir/<split>.json`` and their images to ``out_dir/media/<split>/``."""
    out_dir = Path(out_dir)
    records = []
    with atomic_dir(out_dir / "media" / split) as tmp:
        for record, image in tqdm(iter_scene_records(n, seed, split, mix), total=n,
                                  desc=f"scene {split} data", disable=not progress, mininterval=2):
            image.save(tmp / Path(record["image"][0]).name)
            records.append(record)
    save_conversations(out_dir / f"{split}.json", records)
    return dict(Counter(r["task"] for r in records))
