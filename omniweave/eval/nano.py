"""``omniweave eval --preset nano``: the any-to-any model on held-out ShapeWorld, judged by measurement.

- X->T: a held-out medium and "describe it": every attribute named in the reply must be right.
- T->X: a generation request in held-out wording: every attribute of the generated medium, as
  the judges measure it, must be what was asked.
- X->X and multi-turn (MosIT-style): a given medium plus an edit or a modality switch; a request
  followed by an edit. The final medium is judged against the spec the instructions imply.
- Every reply is checked for stray signal-token text.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from tqdm import tqdm

from omniweave.model import AnyToAny, Response
from omniweave.nano import judges, text, world

EVAL_SEED = 20_261_122  # held out: the data writers never use it
_SIGNAL_TEXT = re.compile(r"\[(IMG|AUD|VID)\d+\]|\[(BO|EO)[IAV]\]|<(image|audio|video)>")
_CAPTION = re.compile(r"(an? (?:\w+ ){2,3}(?:on the \w+|in the center|tone|moving \w+))")


@dataclass
class Case:
    task: str
    modality: str  # of the judged thing
    messages: list[list[dict]]  # one list per user turn; replies are the model's own
    media: list  # input media (placeholder order)
    target: world.Spec


@dataclass
class Result:
    task: str
    modality: str
    correct: bool
    attributes: dict[str, bool] = field(default_factory=dict)
    stray: bool = False


def _caption_in(reply: str, modality: str) -> world.Spec | None:
    for m in _CAPTION.finditer(reply.lower()):
        try:
            spec = world.parse_caption(m.group(1))
        except Exception:
            continue
        if spec.modality == modality:
            return spec
    return None


def x2t_cases(n: int, rng: random.Random) -> list[Case]:
    cases = []
    for i in range(n):
        modality = ("image", "audio", "video")[i % 3]
        spec, medium = world.sample(modality, EVAL_SEED + i)
        prompt = rng.choice(("describe it.", "what is this?", "give me a caption."))
        cases.append(Case("x2t", modality, [[{"role": "user", "content": f"<{modality}>\n{prompt}"}]],
                          [medium], spec))
    return cases


def t2x_cases(n: int, rng: random.Random) -> list[Case]:
    cases = []
    for i in range(n):
        modality = ("image", "audio", "video")[i % 3]
        request, spec = text.request(rng, modality)
        cases.append(Case("t2x", modality, [[{"role": "user", "content": request}]], [], spec))
    return cases


def x2x_cases(n: int, rng: random.Random) -> list[Case]:
    cases = []
    for i in range(n):
        modality = ("image", "video", "audio")[i % 3]
        spec, medium = world.sample(modality, EVAL_SEED + 10_000 + i)
        instruction, target = text.edit(rng, spec)
        cases.append(Case("x2x", target.modality,
                          [[{"role": "user", "content": f"<{modality}>\n{instruction}."}]],
                          [medium], target))
    return cases


def multi_cases(n: int, rng: random.Random) -> list[Case]:
    cases = []
    for i in range(n):
        modality = ("image", "video", "audio")[i % 3]
        request, spec = text.request(rng, modality)
        instruction, target = text.edit(rng, spec)
        cases.append(Case("multi", target.modality,
                          [[{"role": "user", "content": request}],
                           [{"role": "user", "content": instruction + "."}]], [], target))
    return cases


TASKS: dict[str, Callable[[int, random.Random], list[Case]]] = {
    "x2t": x2t_cases, "t2x": t2x_cases, "x2x": x2x_cases, "multi": multi_cases}


def _run(model: AnyToAny, cases: list[Case], batch: int, seed: int) -> list[Response]:
    """Play each case's user turns, the model's replies (and signal tokens) kept in the history."""
    finals: list[Response] = []
    for i in tqdm(range(0, len(cases), batch), desc=f"eval {cases[0].task}", mininterval=2):
        chunk = cases[i:i + batch]
        history = [[] for _ in chunk]
        turns = max(len(c.messages) for c in chunk)
        replies: list[Response] = []
        for t in range(turns):
            for h, c in zip(history, chunk, strict=True):
                h += c.messages[min(t, len(c.messages) - 1)]
            last = t == turns - 1
            replies = model.generate(history, [c.media for c in chunk], seed=seed + i,
                                     make_media=last)
            for h, r in zip(history, replies, strict=True):
                h.append({"role": "assistant", "content": r.raw})
        finals += replies
    return finals


def evaluate(model: AnyToAny, n: int = 150, tasks: tuple[str, ...] = tuple(TASKS),
             batch: int = 25, seed: int = 0) -> dict:
    """Accuracy per task and modality (every attribute right), plus stray-token counts."""
    rng = random.Random(EVAL_SEED + seed)
    table: dict[str, dict] = {}
    for task in tasks:
        cases = TASKS[task](n, rng)
        responses = _run(model, cases, batch, seed)
        results = []
        for case, resp in zip(cases, responses, strict=True):
            stray = bool(_SIGNAL_TEXT.search(resp.text))
            if task == "x2t":
                said = _caption_in(resp.text, case.modality)
                attrs = {a: said is not None and getattr(said, a) == getattr(case.target, a)
                         for a in world.attributes(case.modality)}
            else:
                made = resp.media[-1:]
                attrs = (judges.score(case.target, made[0]) if made
                         else dict.fromkeys(world.attributes(case.modality), False))
            results.append(Result(task, case.modality, all(attrs.values()), attrs, stray))
        for modality in ("image", "audio", "video"):
            rs = [r for r in results if r.modality == modality]
            if rs:
                table[f"{task}/{modality}"] = _summary(rs)
        table[task] = _summary(results)
    return table


def _summary(results: list[Result]) -> dict:
    attrs: dict[str, list[bool]] = {}
    for r in results:
        for a, ok in r.attributes.items():
            attrs.setdefault(a, []).append(ok)
    return {"n": len(results), "accuracy": round(sum(r.correct for r in results) / len(results), 4),
            "stray_signal_text": sum(r.stray for r in results),
            **{a: round(sum(v) / len(v), 3) for a, v in attrs.items()}}


def format_table(table: dict) -> str:
    rows = [f"{'task':<14}{'n':>5}{'all right':>11}  per attribute"]
    for key, row in table.items():
        if "/" not in key:
            continue
        attrs = "  ".join(f"{a} {v:.2f}" for a, v in row.items()
                          if a not in ("n", "accuracy", "stray_signal_text"))
        rows.append(f"{key:<14}{row['n']:>5}{row['accuracy']:>11.1%}  {attrs}")
    stray = sum(r["stray_signal_text"] for k, r in table.items() if "/" not in k)
    rows.append(f"replies with stray signal-token text: {stray}")
    return "\n".join(rows)
