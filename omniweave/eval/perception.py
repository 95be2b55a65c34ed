"""Interactive perception on held-out ShapeWorld scenes, judged by measurement.

- **scene QA**: a two-shape scene and a question that needs one or both shapes; the reply's key
  word (a color, a shape, a side, yes/no) must be what the judges measure in the scene
  (``omniweave.nano.scenes.judge_scene``). Kinds are asked in equal numbers.
- **single-shape QA**: a one-shape image and an attribute question (size, color, shape,
  position; some yes/no), as the nano data asks them; the attribute named must be what the
  judges measure, and a yes/no answer must be right.
- **scene multiple choice**: SEED-Bench/MMBench-form items built from scene questions, scored
  by option likelihood and by generated letter (``omniweave.eval.multiple_choice``).
- **latency**: seconds per answer at batch 1 (median over the same questions), so the cost of
  the request round trip can be set against the one-pass model.

``evaluate(model)`` measures one model; ``compare({"baseline": a, "interactive": b})`` measures
several on the same cases and ``format_comparison`` prints the table.
"""

from __future__ import annotations

import random
import statistics
import time

from tqdm import tqdm

from omniweave.eval.multiple_choice import Item, chance, evaluate_items
from omniweave.media import Image
from omniweave.nano import judges, scenes, text, world
from omniweave.nano.world import COLORS, POSITIONS, SHAPES, SIZES

EVAL_SEED = 20_261_123  # held out: the scene data writer seeds its images with sequences, never this


def scene_cases(n: int, seed: int = 0) -> list[tuple[scenes.SceneQuestion, Image, dict]]:
    """``n`` held-out (question, scene image, measured scene) triples, kinds in turn."""
    rng = random.Random(EVAL_SEED + seed)
    out = []
    for i in range(n):
        kind = scenes.QUESTION_KINDS[i % len(scenes.QUESTION_KINDS)]
        _, image, q = scenes.sample_question(rng, EVAL_SEED + 7919 * seed + i, kind)
        out.append((q, image, scenes.judge_scene(image)))
    return out


def single_cases(n: int, seed: int = 0) -> list[tuple[str, str, str, Image, dict]]:
    """``n`` held-out (question, attribute, yes/no or "", image, measured spec) single-shape cases."""
    rng = random.Random(EVAL_SEED + 1 + seed)
    attrs = world.attributes("image")
    out = []
    for i in range(n):
        spec, image = world.sample("image", EVAL_SEED + 100_000 + 7919 * seed + i)
        attr = attrs[i % len(attrs)]
        q, a = text.question(rng, spec, attr)
        yes_no = a.split(",")[0] if a.startswith(("yes,", "no,")) else ""
        out.append((q, attr, yes_no, image, judges.judge_image(image)))
    return out


_VOCAB = {"color": tuple(COLORS), "shape": SHAPES, "size": SIZES, "position": POSITIONS}


def _words(reply: str) -> list[str]:
    return reply.lower().replace(",", " ").replace(".", " ").replace("?", " ").split()


def single_correct(attr: str, yes_no: str, measured: dict, reply: str) -> bool:
    words = _words(reply)
    words = ["center" if w == "middle" else w for w in words]
    said = next((w for w in words if w in _VOCAB[attr]), None)
    if yes_no and (not words or words[0] != yes_no):
        return False
    return said == measured[attr]


def scene_mc_items(n: int, seed: int = 0) -> list[Item]:
    """``n`` held-out multiple-choice items on scenes (color: 4 options, shape: 3, side: 2)."""
    rng = random.Random(EVAL_SEED + 2 + seed)
    items = []
    for i in range(n):
        kind = scenes.MC_KINDS[i % len(scenes.MC_KINDS)]
        _, image, q = scenes.sample_question(rng, EVAL_SEED + 200_000 + 7919 * seed + i, kind)
        options, letter = scenes.choices(rng, q, scenes.judge_scene(image))
        items.append(Item(q.text, options, letter, image, id=f"scene-mc-{i}", category=kind))
    return items


def _answers(model, prompts: list[str], images: list[Image], batch: int) -> list[str]:
    replies = []
    for i in range(0, len(prompts), batch):
        convs = [[{"role": "user", "content": f"<image>\n{p}"}] for p in prompts[i:i + batch]]
        out = model.generate(convs, [[im] for im in images[i:i + batch]], max_new_tokens=10,
                             make_media=False)
        replies += [r.text for r in out]
    return replies


def latency(model, cases: list[tuple[scenes.SceneQuestion, Image, dict]], repeats: int = 1) -> float:
    """Median seconds per answer at batch 1 (after one warm-up answer)."""
    q, image, _ = cases[0]
    model.generate([{"role": "user", "content": f"<image>\n{q.text}"}], [image], max_new_tokens=10,
                   make_media=False)
    times = []
    for q, image, _ in cases:
        for _ in range(repeats):
            t0 = time.perf_counter()
            model.generate([{"role": "user", "content": f"<image>\n{q.text}"}], [image],
                           max_new_tokens=10, make_media=False)
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def evaluate(model, n_scene: int = 360, n_single: int = 200, n_mc: int = 150, n_latency: int = 40,
             batch: int = 40, seed: int = 0, progress: bool = True) -> dict:
    """Every figure of one model (see the module docstring)."""
    out: dict = {}
    cases = scene_cases(n_scene, seed)
    if n_scene:
        replies = []
        for i in tqdm(range(0, n_scene, batch), desc="scene QA", disable=not progress, mininterval=2):
            chunk = cases[i:i + batch]
            replies += _answers(model, [q.text for q, _, _ in chunk], [im for _, im, _ in chunk], batch)
        ok = [q.correct(measured, r) for (q, _, measured), r in zip(cases, replies, strict=True)]
        out["scene"] = {"n": n_scene, "accuracy": _mean(ok)}
        for kind in scenes.QUESTION_KINDS:
            sel = [k for k, (q, _, _) in enumerate(cases) if q.kind == kind]
            out["scene"][kind] = _mean([ok[k] for k in sel])
        out["scene_examples"] = [(q.text, r, q.truth(m)) for (q, _, m), r in
                                 list(zip(cases, replies, strict=True))[:6]]
    if n_single:
        singles = single_cases(n_single, seed)
        replies = _answers(model, [c[0] for c in singles], [c[3] for c in singles], batch)
        ok = [single_correct(attr, yn, measured, r)
              for (_, attr, yn, _, measured), r in zip(singles, replies, strict=True)]
        out["single"] = {"n": n_single, "accuracy": _mean(ok)}
        for attr in world.attributes("image"):
            out["single"][attr] = _mean([o for o, c in zip(ok, singles, strict=True) if c[1] == attr])
    if n_mc:
        items = scene_mc_items(n_mc, seed)
        out["mc"] = {**evaluate_items(model, items, batch=batch, progress=progress),
                     "chance": chance(items)}
    if n_latency:
        out["latency_s"] = latency(model, cases[:n_latency] or scene_cases(n_latency, seed))
    return out


def _mean(xs: list[bool]) -> float:
    return round(sum(xs) / len(xs), 4) if xs else float("nan")


def compare(models: dict, **options) -> dict:
    """``evaluate`` for each named model on the same cases."""
    return {name: evaluate(model, **options) for name, model in models.items()}


def format_comparison(results: dict, reference: str | None = None) -> str:
    """A table: one column per model; latency also as a ratio to ``reference`` (the first model)."""
    names = list(results)
    reference = reference or names[0]
    width = max(14, *(len(n) + 2 for n in names))
    head = f"{'':<46}" + "".join(f"{n:>{width}}" for n in names)
    rows = [head, "-" * len(head)]

    def row(label: str, values: list[str]) -> None:
        rows.append(f"{label:<46}" + "".join(f"{v:>{width}}" for v in values))

    def pct(v) -> str:
        return f"{100 * v:.1f}%" if isinstance(v, float) else "-"

    first = results[names[0]]
    if "scene" in first:
        row(f"scene QA (n={first['scene']['n']})", [pct(results[n]["scene"]["accuracy"]) for n in names])
        for kind in scenes.QUESTION_KINDS:
            row(f"  {kind}", [pct(results[n]["scene"][kind]) for n in names])
    if "single" in first:
        row(f"single-shape QA (n={first['single']['n']})",
            [pct(results[n]["single"]["accuracy"]) for n in names])
        for attr in world.attributes("image"):
            row(f"  {attr}", [pct(results[n]["single"][attr]) for n in names])
    if "mc" in first:
        row(f"scene MC, option likelihood (n={first['mc']['n']})",
            [pct(results[n]["mc"]["likelihood"]) for n in names])
        row(f"scene MC, generated letter (chance {100 * first['mc']['chance']:.0f}%)",
            [pct(results[n]["mc"]["letter"]) for n in names])
    if "latency_s" in first:
        base = results[reference]["latency_s"]
        row("latency per answer, batch 1 (ms)", [f"{1000 * results[n]['latency_s']:.1f}" for n in names])
        row(f"  as a ratio to {reference}", [f"{results[n]['latency_s'] / base:.2f}x" for n in names])
    return "\n".join(rows)
