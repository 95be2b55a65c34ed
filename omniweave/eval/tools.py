"""Tool use on held-out ShapeWorld: ``python -m omniweave.eval.tools --model DIR [--n 900]``.

Cases come from ``omniweave.data.tools`` with held-out phrasings (``--split eval``, or another of
``omniweave.data.tool_phrases.HELD_OUT``: ``eval2`` to ``eval6``) and media seeds no training set
uses; each runs through ``omniweave.tools.runtime`` (the model calls, the runtime executes, the
model answers). Figures (Tool_LMM's, plus the end task):

- tool choice: cases that need tools whose calls name exactly the expected tools, in order;
- "no tool" precision: of the replies that called nothing, how many were cases needing none
  (and recall: of those cases, how many called nothing);
- hallucinated names: calls to a tool not in the conversation's list, over all calls;
- malformed: replies that start a ``<tool_call>`` and do not finish a valid one, over all replies;
- end task, judged by measurement: the number in the answer against the truth (pitch within 2%
  of the world's Hz, pulses equal to a separate envelope count, centroid within 0.1 px of the
  mask's, arithmetic exact), the final medium through ``omniweave.nano.judges`` (mirrored:
  position swapped; recolored: the new color; reversed: the opposite direction; the other
  attributes kept); "no tool applies" refusals must say so.
- open set: a tool the model never saw (``duration``, "the length of a sound in seconds") added to
  the list; held-out questions about a sound's length: is it chosen, and is the answer right?
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from omniweave.data.tool_phrases import HELD_OUT
from omniweave.data.tools import iter_tool_examples
from omniweave.nano import judges, world
from omniweave.tools import builtin as B
from omniweave.tools.format import parse_calls
from omniweave.tools.registry import Tool, ToolSet, registered, schema_from_signature
from omniweave.tools.runtime import run_batch

EVAL_SEED = 7_020_261  # held out: training data uses seed 0
EVAL_MIX = {"pitch": 1, "pulses": 1, "centroid": 1, "calc": 1, "mirror": 1, "recolor": 1,
            "reverse": 1, "chain": 1, "none": 4, "refuse": 1}
_NUM = re.compile(r"-?\d+(?:\.\d+)?")
OPEN_SET_PHRASES = ("how long is this sound in seconds?", "what is the duration of this tone?",
                    "how many seconds does this sound last?", "measure how long the sound is.")


def duration(audio) -> float:
    return round(len(audio.samples) / audio.sample_rate, 2)


UNSEEN = Tool("duration", "the length of a sound in seconds", schema_from_signature(duration),
              duration, ("audio",))


@dataclass
class Case:
    task: str
    system: str
    user: str
    media: list
    specs: list
    expected: list[str]  # tool names, in order ([] = none)
    truth: dict = field(default_factory=dict)


def _pulses_reference(audio) -> int:
    """Pulses by a second method: 2 ms peak envelope, on above a quarter of its max, runs >= 20 ms."""
    x = np.abs(np.asarray(audio.samples, np.float64))
    w = int(audio.sample_rate * 0.002)
    env = x[: len(x) // w * w].reshape(-1, w).max(1)
    on = env > 0.25 * env.max()
    runs, n = 0, 0
    for v in list(on) + [False]:
        if v:
            n += 1
        else:
            runs += n >= 10
            n = 0
    return int(runs)


def _mask_centroid(image) -> tuple[float, float]:
    ys, xs = np.nonzero(image.pixels.max(-1) > 40)
    return float(xs.mean()), float(ys.mean())


def build_cases(n: int, seed: int = EVAL_SEED, split: str = "eval") -> list[Case]:
    cases = []
    for record, media, _made in iter_tool_examples(n, seed, split=split, mix=EVAL_MIX):
        turns = record["conversations"]
        system = turns[0]["value"] if turns[0]["from"] == "system" else ""
        first = next(t for t in turns if t["from"] == "human")
        k = len(re.findall(r"<(?:image|audio|video)>", first["value"]))
        expected = [parse_calls(t["value"])[0].name for t in turns
                    if t["from"] == "gpt" and "<tool_call>" in t["value"]]
        rendered = [m.render() for m in media[:k]]
        truth = {}
        for t in turns:
            if t["from"] == "gpt" and "<tool_call>" in t["value"]:
                call = parse_calls(t["value"])[0]
                if call.name == "calculator":
                    truth["value"] = B.calculator(call.arguments["expression"])
                if call.name == "recolor":
                    truth["color"] = call.arguments["color"]
        cases.append(Case(record["task"], system, first["value"], rendered,
                          [m.spec for m in media[:k]], expected, truth))
    return cases


def _judge(case: Case, run) -> bool:
    text = run.text.lower()
    nums = [float(x) for x in _NUM.findall(text)]
    spec = case.specs[0] if case.specs else None
    task = case.task
    if task in ("pitch", "pulses") or (task == "chain" and case.expected[0] == "pitch_hz"):
        ok = True
        if "pitch_hz" in case.expected:
            hz = world.PITCHES[spec.pitch]
            ok &= any(abs(v - hz) <= 0.02 * hz for v in nums)
        if "pulse_count" in case.expected:
            ref = _pulses_reference(case.media[0])
            ok &= any(v == ref for v in nums if v < 100)
        return ok
    if task == "centroid":
        x, y = _mask_centroid(case.media[0])
        m = re.search(r"x (-?\d+(?:\.\d+)?), y (-?\d+(?:\.\d+)?)", text)
        return bool(m) and abs(float(m.group(1)) - x) <= 0.1 and abs(float(m.group(2)) - y) <= 0.1
    if task == "calc":
        return bool(nums) and abs(nums[-1] - float(case.truth["value"])) < 1e-6
    if task in ("mirror", "recolor", "reverse", "chain"):
        if not run.media:
            return False
        want = dict(world.spec_dict(spec))
        if "mirror" in case.expected:
            want["position"] = {"left": "right", "right": "left"}.get(want["position"], "center")
        if "recolor" in case.expected:
            want["color"] = case.truth["color"]
        if "reverse_video" in case.expected:
            want["direction"] = {"left": "right", "right": "left", "up": "down", "down": "up"}[want["direction"]]
        return judges.judge(run.media[-1]) == want
    if task == "refuse":
        return any(w in text for w in ("no tool", "none of my tools"))
    return not run.results  # none: answered without a tool


def evaluate(model, n: int = 900, batch: int = 16, open_set: int = 60, progress: bool = True,
             split: str = "eval", constrain: bool = True, misses: int = 0) -> dict:
    """The figures above over ``n`` cases of ``split``; ``misses`` > 0 also lists up to that many
    failed cases (wrong tools or a wrong answer: the request, the calls with their results, the reply) under
    ``"misses"``."""
    cases = build_cases(n, split=split)
    tools = ToolSet(registered(B.BUILTIN))
    runs = []
    for i in range(0, len(cases), batch):
        chunk = cases[i:i + batch]
        convs = [[{"role": "system", "content": c.system}, {"role": "user", "content": c.user}]
                 for c in chunk]
        runs += run_batch(model, convs, [c.media for c in chunk], tools=tools, add_system=False,
                          max_new_tokens=128, make_media=False, constrain=constrain)
        if progress:
            print(f"\r{len(runs)}/{len(cases)} cases", end="", file=sys.stderr, flush=True)
    if progress:
        print(file=sys.stderr)
    known = set(tools.names())
    per = defaultdict(lambda: defaultdict(int))
    tot = defaultdict(int)
    failed = []
    for c, r in zip(cases, runs, strict=True):
        called = [x.call.name for x in r.results]
        row = per[c.task]
        row["n"] += 1
        chose = called == c.expected
        right = _judge(c, r)
        row["choice"] += chose
        row["end"] += right
        if not (chose and right) and len(failed) < misses:
            failed.append({"task": c.task, "request": c.user, "expected": c.expected,
                           "called": [str(x) for x in r.results], "reply": r.text})
        row["calls"] += len(called)
        row["hallucinated"] += sum(x not in known for x in called)
        row["malformed"] += r.malformed
        row["replies"] += r.rounds
        tot["needs_tool"] += bool(c.expected)
        tot["choice"] += chose and bool(c.expected)
        tot["no_call"] += not called
        tot["no_call_right"] += (not called) and not c.expected
        tot["needs_none"] += not c.expected
    calls = sum(r["calls"] for r in per.values())
    replies = sum(r["replies"] for r in per.values())
    summary = {
        "cases": len(cases),
        "tool_choice": tot["choice"] / max(tot["needs_tool"], 1),
        "tool_cases": tot["needs_tool"],
        "no_tool_precision": tot["no_call_right"] / max(tot["no_call"], 1),
        "no_tool_recall": tot["no_call_right"] / max(tot["needs_none"], 1),
        "no_tool_cases": tot["needs_none"],
        "hallucinated": sum(r["hallucinated"] for r in per.values()) / max(calls, 1),
        "calls": calls,
        "malformed": sum(r["malformed"] for r in per.values()) / max(replies, 1),
        "replies": replies,
        "end_task": sum(r["end"] for r in per.values()) / len(cases),
        "per_task": {t: {k: v for k, v in r.items()} for t, r in per.items()},
    }
    if misses:
        summary["misses"] = failed
    if open_set:
        summary["open_set"] = evaluate_open_set(model, open_set, batch, constrain)
    return summary


def evaluate_open_set(model, n: int, batch: int = 16, constrain: bool = True) -> dict:
    """The unseen ``duration`` tool in the list; does the model call it for a length question?"""
    import random

    from omniweave.nano import text as T
    from omniweave.tools.format import system_prompt

    rng = random.Random(EVAL_SEED + 1)
    tools = ToolSet(registered(B.BUILTIN) + [UNSEEN])
    runs, count = [], 0
    for i in range(0, n, batch):
        convs, media = [], []
        for _ in range(min(batch, n - i)):
            listed = list(tools.tools)
            rng.shuffle(listed)
            spec = T._spec(rng, "audio")
            convs.append([{"role": "system", "content": system_prompt(listed)},
                          {"role": "user", "content": "<audio>\n" + T._pick(rng, OPEN_SET_PHRASES)}])
            media.append([world.render(spec, np.random.default_rng([EVAL_SEED, count]))])
            count += 1
        runs += run_batch(model, convs, media, tools=tools, add_system=False, max_new_tokens=128,
                          make_media=False, constrain=constrain)
    chosen = sum(any(x.call.name == "duration" for x in r.results) for r in runs)
    right = sum("1" in r.text and any(x.call.name == "duration" for x in r.results) for r in runs)
    first = defaultdict(int)
    for r in runs:
        first[r.results[0].call.name if r.results else "(none)"] += 1
    return {"cases": len(runs), "chosen": chosen / len(runs), "answered_right": right / len(runs),
            "first_call": dict(first)}


def table(s: dict) -> str:
    pct = lambda v: f"{100 * v:.1f}%"  # noqa: E731
    lines = ["| task | cases | tool choice | end task (measured) | calls | hallucinated | malformed |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for t, r in sorted(s["per_task"].items()):
        lines.append(f"| {t} | {r['n']} | {pct(r['choice'] / r['n'])} | {pct(r['end'] / r['n'])} | "
                     f"{r['calls']} | {r['hallucinated']} | {r['malformed']} |")
    lines += ["", "| figure | value | over | bar |", "| --- | --- | --- | --- |",
              f"| tool choice | {pct(s['tool_choice'])} | {s['tool_cases']} cases needing tools | >= 95% |",
              f"| no-tool precision | {pct(s['no_tool_precision'])} | replies with no call | >= 95% |",
              f"| no-tool recall | {pct(s['no_tool_recall'])} | {s['no_tool_cases']} cases needing none | - |",
              f"| hallucinated tool names | {pct(s['hallucinated'])} | {s['calls']} calls | 0% |",
              f"| malformed calls | {pct(s['malformed'])} | {s['replies']} replies | <= 1% |",
              f"| end task (measured) | {pct(s['end_task'])} | {s['cases']} cases | >= 90% |"]
    if "open_set" in s:
        o = s["open_set"]
        lines += ["", f"open set (unseen tool `duration`, {o['cases']} cases): chosen {pct(o['chosen'])}, "
                      f"answered right {pct(o['answered_right'])}; first call: {json.dumps(o['first_call'])}"]
    if s.get("misses"):
        lines += ["", "| task | request | expected | called | reply |", "| --- | --- | --- | --- | --- |"]
        for m in s["misses"]:
            cells = [m["task"], m["request"], ", ".join(m["expected"]) or "-", ", ".join(m["called"]) or "-",
                     m["reply"]]
            lines.append("| " + " | ".join(" ".join(str(x).split()).replace("|", "\\|") for x in cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m omniweave.eval.tools", description=__doc__.splitlines()[0])
    p.add_argument("--model", default="omniweave/nano/weights/tools", help="a checkpoint folder")
    p.add_argument("--n", type=int, default=900)
    p.add_argument("--open-set", type=int, default=60)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--split", default="eval", choices=sorted(HELD_OUT),
                   help="the held-out phrase set (omniweave.data.tool_phrases)")
    p.add_argument("--no-constrain", dest="constrain", action="store_false",
                   help="decode calls freely (no grammar; omniweave.tools.grammar), to compare")
    p.add_argument("--misses", type=int, default=0, metavar="N",
                   help="also list up to N failed cases: the request, the tools expected and called, the reply")
    p.add_argument("--json", default=None, help="also write the figures here")
    args = p.parse_args(argv)
    from omniweave.model import AnyToAny

    model = AnyToAny.from_pretrained(args.model)
    t0 = time.time()
    s = evaluate(model, args.n, args.batch, args.open_set, split=args.split, constrain=args.constrain,
                 misses=args.misses)
    s["seconds"] = round(time.time() - t0, 1)
    print(table(s))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(s, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
