"""Nano instruction data with tools: ShapeWorld conversations where the right answer needs a tool.

Each record opens with a system turn listing tools (``omniweave.tools.format.system_prompt``: the
built-in tools, shuffled, sometimes a subset that still holds the needed one). Tasks:

- ``pitch`` / ``pulses`` (a sound), ``centroid`` (an image), ``calc`` (arithmetic): a tool call,
  the tool's result as a ``TOOL: name: result`` turn, then the answer quoting it.
- ``mirror`` / ``recolor`` (an image), ``reverse`` (a video): a call, the result medium (it joins
  the conversation's media: the next index), then "here is ...".
- ``chain``: mirror then recolor (the second call takes the first result, index 1), or pitch then
  pulses.
- ``none``: what the model does itself (describe, attribute questions, drawing, edits no tool does,
  small talk): answered directly, with the tool list present.
- ``refuse``: a request that no tool and no skill covers ("rotate it 90 degrees"): the answer says
  no tool applies.
- ``plain``: ordinary nano tasks without a tool list (so the model keeps its old behaviour).

Phrasings (``omniweave.data.tool_phrases``): ``train`` from a grammar and from requests written by
five language-model writers, ``eval`` to ``eval6`` held out. Tool results in the data are
computed by the tools themselves on the rendered media, so they are what the runtime returns.
"""

from __future__ import annotations

import dataclasses
import json
import random
import zlib
from collections import Counter
from pathlib import Path

import numpy as np

from omniweave.data.conversations import PLACEHOLDERS, save_conversations
from omniweave.data.nano import _MAKERS as NANO_MAKERS
from omniweave.data.nano import _Builder
from omniweave.data.tool_phrases import pick
from omniweave.files import atomic_dir
from omniweave.media import Media, save_media
from omniweave.nano import text as T
from omniweave.nano.world import parse_caption
from omniweave.tools import builtin as B
from omniweave.tools.format import format_call, response_text, system_prompt
from omniweave.tools.registry import registered

# bumped whenever the records this module writes change (names the cache folder: training/data.py);
# 2: frame-first phrasing, more frames, two more held-out sets (2026-11-23)
# 3: half the requests written by five language-model writers; held-out eval6 (2026-12-05)
DATA_VERSION = 3
TOOL_TASKS = ("pitch", "pulses", "centroid", "calc", "mirror", "recolor", "reverse", "chain",
              "none", "refuse", "plain")
# calc and centroid weigh more: copying numbers is what the nano LLM learns slowest
TOOLS_MIX = {"pitch": 0.08, "pulses": 0.07, "centroid": 0.1, "calc": 0.15, "mirror": 0.07,
             "recolor": 0.08, "reverse": 0.06, "chain": 0.08, "none": 0.15, "refuse": 0.08,
             "plain": 0.08}
NEEDED = {"pitch": ["pitch_hz"], "pulses": ["pulse_count"], "centroid": ["centroid"],
          "calc": ["calculator"], "mirror": ["mirror"], "recolor": ["recolor"],
          "reverse": ["reverse_video"]}
SUFFIX = {"image": ".png", "audio": ".wav", "video": ".mp4"}

REFUSALS = ("none of my tools can do that.", "no tool applies to that, sorry.",
            "i have no tool for that.")
_OPS_TRAIN = (("plus", "+"), ("minus", "-"), ("times", "*"), ("divided by", "/"))


def _phrase(rng: random.Random, key: str, split: str, **fmt: str) -> str:
    return T._style(rng, pick(rng, key, split).format(**fmt))


def _arith(rng: random.Random, split: str) -> tuple[str, str]:
    """(question text, expression): two or three numbers, each op written out."""
    n = 2 if rng.random() < 0.7 else 3
    nums = [rng.randrange(2, 1000) for _ in range(n)]
    ops = [T._pick(rng, _OPS_TRAIN) for _ in range(n - 1)]
    words = str(nums[0]) + "".join(f" {w} {b}" for (w, _), b in zip(ops, nums[1:], strict=True))
    expr = str(nums[0]) + "".join(f" {s} {b}" for (_, s), b in zip(ops, nums[1:], strict=True))
    return _phrase(rng, "calc", split, e=words), expr


def tool_list(rng: random.Random, needed: list[str]):
    """The built-in tools, shuffled; a third of the time a subset that keeps the needed ones."""
    tools = registered(B.BUILTIN)
    if rng.random() < 0.33:
        keep = [t for t in tools if t.name in needed or rng.random() < 0.5]
        tools = keep or tools
    tools = list(tools)
    rng.shuffle(tools)
    return tools


class _ToolBuilder(_Builder):
    """A record with a system turn, tool calls and tool responses (results as media too)."""

    def __init__(self, rng, seed, split, index):
        super().__init__(rng, seed, split, index)
        self.made: list[tuple[str, Media]] = []  # (path, medium) of tool results

    def system(self, needed: list[str]) -> None:
        self.turns.insert(0, {"from": "system", "value": system_prompt(tool_list(self.rng, needed))})

    def rendered(self, k: int) -> Media:
        return self.media[k].render()

    def call(self, name: str, args: dict) -> None:
        self.bot(format_call(name, args))

    def respond(self, name: str, content: str) -> None:
        self.user(response_text(name, content))

    def respond_medium(self, name: str, medium: Media) -> int:
        """A tool result that is a medium; returns its index in the conversation's media."""
        k = len(self.media) + len(self.made)
        path = f"media/{self.split}/{self.index:06d}-t{len(self.made)}{SUFFIX[medium.modality]}"
        self.made.append((path, medium))
        self.respond(name, PLACEHOLDERS[medium.modality])
        return k


def _given_only(b: _ToolBuilder, modality: str, key: str, **fmt: str):
    spec = T._spec(b.rng, modality)
    b.user_with(spec, _phrase(b.rng, key, b.split, **fmt))
    return spec


def _pitch(b):
    _given_only(b, "audio", "pitch")
    b.call("pitch_hz", {"audio": 0})
    hz = B.pitch_hz(b.rendered(0))
    b.respond("pitch_hz", f"{hz:g}")
    b.bot(T._pick(b.rng, ("the pitch is {v} hz.", "it is {v} hertz.", "the tone is at {v} hz.")).format(v=f"{hz:g}"))


def _pulses(b):
    _given_only(b, "audio", "pulses")
    b.call("pulse_count", {"audio": 0})
    n = B.pulse_count(b.rendered(0))
    b.respond("pulse_count", str(n))
    b.bot(f"it has {n} pulse." if n == 1 else T._pick(b.rng, (f"it has {n} pulses.", f"there are {n} pulses.")))


def _centroid(b):
    _given_only(b, "image", "centroid")
    b.call("centroid", {"image": 0})
    c = B.centroid(b.rendered(0))
    b.respond("centroid", c)
    b.bot(T._pick(b.rng, ("the centroid is at {c}.", "the shape's centre is at {c}.")).format(c=c))


def _calc(b):
    q, expr = _arith(b.rng, b.split)
    b.user(q)
    b.call("calculator", {"expression": expr})
    v = B.calculator(expr)
    b.respond("calculator", v)
    b.bot(T._pick(b.rng, ("it is {v}.", "the answer is {v}.", "{v}.")).format(v=v))


def _mirror(b):
    _given_only(b, "image", "mirror")
    b.call("mirror", {"image": 0})
    b.respond_medium("mirror", B.mirror(b.rendered(0)))
    b.bot(T._pick(b.rng, ("here is the mirrored image.", "here it is, mirrored.", "done: the image mirrored.")))


def _other_color(rng, spec) -> str:
    return T._pick(rng, [c for c in T._values("color") if c != spec.color])


def _recolor(b):
    spec = T._spec(b.rng, "image")
    c = _other_color(b.rng, spec)
    b.user_with(spec, _phrase(b.rng, "recolor", b.split, c=c))
    b.call("recolor", {"image": 0, "color": c})
    b.respond_medium("recolor", B.recolor(b.rendered(0), c))
    b.bot(T._pick(b.rng, ("here is the shape in {c}.", "here it is, now {c}.")).format(c=c))


def _reverse(b):
    _given_only(b, "video", "reverse")
    b.call("reverse_video", {"video": 0})
    b.respond_medium("reverse_video", B.reverse_video(b.rendered(0)))
    b.bot(T._pick(b.rng, ("here is the video reversed.", "here it is, played backwards.")))


def _chain(b):
    if b.rng.random() < 0.6:
        spec = T._spec(b.rng, "image")
        c = _other_color(b.rng, spec)
        b.user_with(spec, _phrase(b.rng, "chain_mr", b.split, c=c))
        b.call("mirror", {"image": 0})
        k = b.respond_medium("mirror", B.mirror(b.rendered(0)))
        b.call("recolor", {"image": k, "color": c})
        b.respond_medium("recolor", B.recolor(b.made[-1][1], c))
        b.bot(f"here is the image mirrored and painted {c}.")
        return ["mirror", "recolor"]
    _given_only(b, "audio", "chain_pp")
    b.call("pitch_hz", {"audio": 0})
    hz = B.pitch_hz(b.rendered(0))
    b.respond("pitch_hz", f"{hz:g}")
    b.call("pulse_count", {"audio": 0})
    n = B.pulse_count(b.rendered(0))
    b.respond("pulse_count", str(n))
    b.bot(f"the pitch is {hz:g} hz and it has {n} pulse{'s' if n != 1 else ''}.")
    return ["pitch_hz", "pulse_count"]


def _tool_edit(old, new) -> bool:
    """Whether an edit is one a tool does (recolor, mirror, reverse): those go to tools."""
    if old.modality != new.modality:
        return False
    diff = {f.name for f in dataclasses.fields(old) if getattr(old, f.name) != getattr(new, f.name)}
    return diff in ({"color"}, {"position"}, {"direction"})


_ARITH_WORDS = (" plus ", " minus ", " times ", "double", "twice", "half of")


def _none(b):
    """An ordinary task with the tool list present: answered directly."""
    rng = b.rng
    while True:
        task = T._pick(rng, ("x2t-describe", "x2t-qa", "x2t-qa", "t2x", "x2x", "text"))
        probe = _Builder(random.Random(rng.random()), b.seed, b.split, b.index)
        NANO_MAKERS[task](probe)
        turns = probe.turns
        if task == "text" and any(w in t["value"] for t in turns for w in _ARITH_WORDS):
            continue
        if task == "x2x":
            old = probe.media[0].spec
            new = parse_caption(turns[-1]["outputs"][0]["caption"])
            if _tool_edit(old, new):
                continue
        b.turns, b.media = list(turns), list(probe.media)
        return task


def _refuse(b):
    rng = b.rng
    kind = T._pick(rng, ("image", "audio", "text"))
    if kind == "text":
        b.user(_phrase(rng, "refuse_text", b.split))
    else:
        _given_only(b, kind, f"refuse_{kind}")
    b.bot(T._pick(rng, REFUSALS))


_TOOL_MAKERS = {"pitch": _pitch, "pulses": _pulses, "centroid": _centroid, "calc": _calc,
                "mirror": _mirror, "recolor": _recolor, "reverse": _reverse, "chain": _chain,
                "none": _none, "refuse": _refuse}


def iter_tool_examples(n: int, seed: int, split: str = "train", mix: dict[str, float] | None = None):
    """``(record, media, made)`` for the ``n`` records: the record as written, its input
    NanoMedia, and the (path, medium) of each tool result it holds."""
    mix = dict(TOOLS_MIX if mix is None else mix)
    counts = {t: round(n * w / sum(mix.values())) for t, w in mix.items()}
    tasks = [t for t, c in counts.items() for _ in range(c)][:n]
    while len(tasks) < n:
        tasks.append("none")
    rng = random.Random(f"omniweave-tools-data-{split}-{seed}")
    rng.shuffle(tasks)
    code = zlib.crc32(b"tools")
    for i, task in enumerate(tasks):
        b = _ToolBuilder(rng, seed + code, split, i)
        if task == "plain":
            sub = T._pick(rng, ("x2t-describe", "x2t-qa", "t2x", "x2x", "multi", "text"))
            NANO_MAKERS[sub](b)
            needed = None
        else:
            got = _TOOL_MAKERS[task](b)
            needed = got if isinstance(got, list) else NEEDED.get(task, [])
            b.system(needed)
        ex = b.example(task)
        # the media lists hold input media and tool results, in placeholder order
        for path, medium in b.made:
            ex.record.setdefault(medium.modality, []).append(path)
        _order_media(ex.record, b)
        ex.record["tools"] = needed
        yield ex.record, b.media, b.made


def _order_media(record: dict, b: _ToolBuilder) -> None:
    """Per modality, paths in the order their placeholders appear in the conversation."""
    import re

    given = {m.path: m.spec.modality for m in b.media}
    made = {p: m.modality for p, m in b.made}
    pool = {mod: [p for p in list(given) + list(made) if (given.get(p) or made.get(p)) == mod]
            for mod in ("image", "audio", "video")}
    # given media come first in the user turn, results after, both in order: already the case
    for mod, paths in pool.items():
        if paths:
            text = " ".join(t["value"] for t in record["conversations"])
            count = len(re.findall(f"<{mod}>", text))
            record[mod] = [p for p in paths][:count]


def write_tool_data(out_dir: str | Path, n: int, seed: int = 0, split: str = "train",
                    mix: dict[str, float] | None = None) -> dict[str, int]:
    """Write ``n`` records to ``out_dir/<split>.json`` and their media under ``out_dir/media/<split>/``."""
    out_dir = Path(out_dir)
    records = []
    with atomic_dir(out_dir / "media" / split) as tmp:
        for record, media, made in iter_tool_examples(n, seed, split, mix):
            for m in media:
                save_media(m.render(), tmp / Path(m.path).name)
            for path, medium in made:
                save_media(medium, tmp / Path(path).name)
            records.append(record)
    save_conversations(out_dir / f"{split}.json", records)
    return dict(Counter(r["task"] for r in records))


if __name__ == "__main__":  # pragma: no cover
    import sys

    print(json.dumps(write_tool_data(sys.argv[1], int(sys.argv[2]))))
    np.seterr()
