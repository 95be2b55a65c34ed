"""Nano instruction data: ShapeWorld conversations in the unified format, media included.

``write_nano_data`` writes ``<out>/<split>.json`` (see ``omniweave.data.conversations``) and the
input media under ``<out>/media/<split>/``. Every record is one of these tasks:

- ``x2t-describe``: a given image/sound/video and a request to describe it -> its caption
  (canonical most of the time, a paraphrase naming every attribute otherwise).
- ``x2t-qa``: a given medium and one to three attribute questions -> the true answers.
- ``t2x``: a generation request -> "here is {caption}. <image>" with the caption as the output.
- ``x2x``: a given medium and an edit or a modality switch -> the edited thing, generated.
- ``multi``: a request or an edit of a given medium, then one or two follow-up edits, each
  answered with a generated medium, sometimes an attribute question about the last one.
- ``text``: chit-chat and small number questions, no media.

Wording comes from ``omniweave.nano.text`` (the phrasings the nano LLM was pretrained on); every
answer is computed from the spec, and every output caption is canonical. Records are fully
determined by ``(seed, split)``; the nuisances of each medium are drawn from a numpy generator
seeded by ``("nano-data", seed, split, record, k)``, so different seeds or splits never share one.
"""

from __future__ import annotations

import random
import re
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from omniweave.data.conversations import PLACEHOLDERS, save_conversations
from omniweave.errors import InputError
from omniweave.files import atomic_dir
from omniweave.media import Media, save_media
from omniweave.nano import text as T
from omniweave.nano.world import MODALITIES, Spec, attributes, render

# bumped whenever the records this module writes change (names the cache folder: training/data.py)
DATA_VERSION = 1
TASKS = ("x2t-describe", "x2t-qa", "t2x", "x2x", "multi", "text")
DEFAULT_MIX: dict[str, float] = {"x2t-describe": 0.2, "x2t-qa": 0.3, "t2x": 0.2, "x2x": 0.15,
                                 "multi": 0.1, "text": 0.05}
SUFFIX = {"image": ".png", "audio": ".wav", "video": ".mp4"}
CANONICAL_SHARE = 0.75  # x2t-describe answers that are the canonical caption (else describe())


@dataclass(frozen=True)
class NanoMedium:
    """An input medium of a record: its spec, its path relative to the data file, its seed."""

    spec: Spec
    path: str
    seed: tuple[int, ...]

    def render(self) -> Media:
        return render(self.spec, np.random.default_rng(list(self.seed)))


@dataclass
class NanoExample:
    """One record (as written to JSON) and the input media it refers to, in placeholder order."""

    record: dict
    media: list[NanoMedium] = field(default_factory=list)


def _split_code(split: str) -> int:
    if not re.fullmatch(r"[A-Za-z0-9_-]+", split):
        raise InputError(f"split {split!r}: use letters, digits, '-' or '_'")
    return zlib.crc32(split.encode())


class _Builder:
    """Collects one record's turns and input media."""

    def __init__(self, rng: random.Random, seed: int, split: str, index: int):
        self.rng, self.seed, self.split, self.index = rng, seed, split, index
        self.turns: list[dict] = []
        self.media: list[NanoMedium] = []

    def given(self, spec: Spec) -> str:
        """Add ``spec`` as an input medium; returns its placeholder."""
        k = len(self.media)
        path = f"media/{self.split}/{self.index:06d}-{k}{SUFFIX[spec.modality]}"
        seed = (0x6E616E6F, self.seed, _split_code(self.split), self.index, k)  # 0x6E616E6F: "nano"
        self.media.append(NanoMedium(spec, path, seed))
        return PLACEHOLDERS[spec.modality]

    def user(self, text: str) -> None:
        self.turns.append({"from": "human", "value": text})

    def user_with(self, spec: Spec, prompt: str) -> None:
        """A user turn giving ``spec`` as a medium, with ``prompt`` before, after or around it."""
        token, u = self.given(spec), self.rng.random()
        if u < 0.6:
            text = f"{token}\n{prompt}"
        elif u < 0.8:
            text = f"{prompt}\n{token}"
        else:
            intro = T._pick(self.rng, [x for x in T._INTRO[spec.modality] if x])
            text = f"{intro}{token} {prompt}"
        self.user(text)

    def bot(self, text: str) -> None:
        self.turns.append({"from": "gpt", "value": text})

    def bot_makes(self, spec: Spec) -> None:
        """The assistant generates ``spec``: reply text, placeholder, target caption."""
        self.turns.append({"from": "gpt", "value": f"{T.reply(self.rng, spec)} {PLACEHOLDERS[spec.modality]}",
                           "outputs": [{"modality": spec.modality, "caption": spec.caption}]})

    def example(self, task: str) -> NanoExample:
        record: dict = {"id": f"nano-{self.split}-{self.index:06d}"}
        for m in MODALITIES:
            paths = [x.path for x in self.media if x.spec.modality == m]
            if paths:
                record[m] = paths
        record["conversations"] = self.turns
        record["task"] = task
        return NanoExample(record, self.media)


def _instruction(rng: random.Random, text: str) -> str:
    """An edit instruction as a user types it (edits come without a final mark)."""
    if not text.endswith(("?", ".", "!")):
        text += T._pick(rng, (".", "", "!"))
    return T._style(rng, text)


# ---------------------------------------------------------------- the tasks
def _describe(b: _Builder) -> None:
    rng = b.rng
    spec = T._spec(rng, T._pick(rng, MODALITIES))
    b.user_with(spec, T._style(rng, T._pick(rng, T._DESCRIBE[spec.modality])))
    said = spec.caption if rng.random() < CANONICAL_SHARE else T.describe(spec, rng)
    b.bot(said + ".")


def _qa(b: _Builder) -> None:
    rng = b.rng
    spec = T._spec(rng, T._pick(rng, MODALITIES))
    attrs = list(attributes(spec.modality))
    rng.shuffle(attrs)
    n = min(len(attrs), 1 + (rng.random() < 0.4) + (rng.random() < 0.2))
    for i, attr in enumerate(attrs[:n]):
        q, a = T.question(rng, spec, attr)
        q = T._style(rng, q)
        if i == 0:
            b.user_with(spec, q)
        else:
            b.user(q)
        b.bot(a)


def _t2x(b: _Builder) -> None:
    text, spec = T.request(b.rng, T._pick(b.rng, MODALITIES))
    b.user(T._style(b.rng, text))
    b.bot_makes(spec)


def _x2x(b: _Builder) -> None:
    rng = b.rng
    spec = T._spec(rng, T._pick(rng, MODALITIES))
    text, new = T.edit(rng, spec)
    b.user_with(spec, _instruction(rng, text))
    b.bot_makes(new)


def _multi(b: _Builder) -> None:
    rng = b.rng
    modality = T._pick(rng, ("image", "image", "video", "audio"))
    if rng.random() < 0.7:
        text, spec = T.request(rng, modality)
        b.user(T._style(rng, text))
    else:
        given = T._spec(rng, modality)
        text, spec = T.edit(rng, given)
        b.user_with(given, _instruction(rng, text))
    b.bot_makes(spec)
    for _ in range(1 + (rng.random() < 0.5)):
        text, spec = T.edit(rng, spec)
        b.user(_instruction(rng, text))
        b.bot_makes(spec)
    if rng.random() < 0.3:
        q, a = T.question(rng, spec, T._pick(rng, attributes(spec.modality)))
        b.user(T._style(rng, q))
        b.bot(a)


def _text(b: _Builder) -> None:
    rng = b.rng
    for _ in range(1 + (rng.random() < 0.3)):
        if rng.random() < 0.5:
            questions, answers = T._pick(rng, T._CHAT)
            q, a = T._pick(rng, questions), T._pick(rng, answers)
        else:
            q, a = T._number_qa(rng)
        b.user(T._style(rng, q))
        b.bot(a)


_MAKERS = {"x2t-describe": _describe, "x2t-qa": _qa, "t2x": _t2x, "x2x": _x2x, "multi": _multi,
           "text": _text}


# ---------------------------------------------------------------- the data set
def task_counts(n: int, mix: dict[str, float] | None = None) -> dict[str, int]:
    """How many of ``n`` records each task gets: ``n * share``, rounded to sum to ``n``."""
    mix = dict(DEFAULT_MIX if mix is None else mix)
    unknown = [t for t in mix if t not in _MAKERS]
    if unknown:
        raise InputError(f"unknown nano data task {unknown[0]!r}; expected one of {', '.join(TASKS)}")
    if any(not w >= 0 for w in mix.values()) or sum(mix.values()) <= 0:
        raise InputError(f"task mix {mix}: shares must be >= 0 and not all 0")
    if n < 0:
        raise InputError(f"n = {n}: expected a count >= 0")
    total = sum(mix.values())
    exact = {t: n * w / total for t, w in mix.items()}
    counts = {t: int(x) for t, x in exact.items()}
    by_remainder = sorted(mix, key=lambda t: (counts[t] - exact[t], TASKS.index(t)))
    for t in by_remainder[: n - sum(counts.values())]:
        counts[t] += 1
    return {t: c for t, c in counts.items() if c}


def iter_nano_examples(n: int, seed: int, split: str = "train",
                       mix: dict[str, float] | None = None) -> Iterator[NanoExample]:
    """The ``n`` records of a nano data set, in order, without rendering any media."""
    _split_code(split)
    if seed < 0:
        raise InputError(f"seed = {seed}: expected a seed >= 0")
    rng = random.Random(f"omniweave-nano-data-{split}-{seed}")
    tasks = [t for t, c in task_counts(n, mix).items() for _ in range(c)]
    rng.shuffle(tasks)
    for i, task in enumerate(tasks):
        b = _Builder(rng, seed, split, i)
        _MAKERS[task](b)
        yield b.example(task)


def write_nano_data(out_dir: str | Path, n: int, seed: int, split: str = "train",
                    mix: dict[str, float] | None = None, progress: bool = False) -> dict[str, int]:
    """Write ``n`` records to ``out_dir/<split>.json`` and their media to ``out_dir/media/<split>/``.

    Returns how many records each task got. The media folder of the split is replaced as a whole.
    """
    out_dir = Path(out_dir)
    examples = list(iter_nano_examples(n, seed, split, mix))
    with atomic_dir(out_dir / "media" / split) as tmp:
        for ex in tqdm(examples, desc=f"nano {split} data", disable=not progress, mininterval=2.0):
            for m in ex.media:
                save_media(m.render(), tmp / Path(m.path).name)
    save_conversations(out_dir / f"{split}.json", [ex.record for ex in examples])
    counts = Counter(ex.record["task"] for ex in examples)
    return {t: counts[t] for t in TASKS if t in (DEFAULT_MIX if mix is None else mix)}
