"""The main job on the nano default: any-to-any conversations with the shipped nano model.

Each conversation is played turn by turn through ``AnyToAny.generate``; the text is printed, the
media (given and generated) land in the output folder, and ``index.html`` shows it all, with every
generated medium judged by measurement against what was asked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from omniweave.html import Cell, Section, write_page
from omniweave.model import AnyToAny
from omniweave.nano import judges, world

SUFFIX = {"image": ".png", "audio": ".wav", "video": ".mp4"}


@dataclass
class Turn:
    text: str
    given: str | None = None  # canonical caption of a medium the user attaches
    expect: str | None = None  # canonical caption of the medium the reply should make


@dataclass
class Script:
    title: str
    turns: list[Turn] = field(default_factory=list)


SCRIPTS = [
    Script("image understanding", [Turn("describe it.", given="a large red circle on the left"),
                                   Turn("what color is the shape?")]),
    Script("audio understanding", [Turn("what do you hear?", given="a pulsing high square tone")]),
    Script("video understanding", [Turn("which way is it moving?", given="a green square moving up")]),
    Script("text → image", [Turn("draw a small blue triangle on the right.",
                                 expect="a small blue triangle on the right")]),
    Script("text → audio", [Turn("play a steady low sine tone.", expect="a steady low sine tone")]),
    Script("text → video", [Turn("make a video of a yellow circle moving left.",
                                 expect="a yellow circle moving left")]),
    Script("image → video (modality switching)",
           [Turn("make a video of this shape moving up.", given="a large cyan square in the center",
                 expect="a cyan square moving up")]),
    Script("multi-turn", [Turn("draw a large red circle in the center.",
                               expect="a large red circle in the center"),
                          Turn("now make it blue.", expect="a large blue circle in the center")]),
]


def run_demo(out_dir: Path, seed: int = 0, model: AnyToAny | None = None, log=print) -> Path:
    """Play every script, write the media and ``index.html``; returns the page's path."""
    out_dir = Path(out_dir)
    model = model or AnyToAny.from_preset("nano")
    sections = []
    for k, script in enumerate(SCRIPTS):
        log(f"== {script.title}")
        section = Section(script.title)
        history: list[dict] = []
        given: list = []
        for t, turn in enumerate(script.turns):
            stem = out_dir / f"{k:02d}-{t}"
            row = []
            content = turn.text
            if turn.given:
                spec = world.parse_caption(turn.given)
                medium = world.render(spec, seed)
                given.append(medium)
                path = medium.save(stem.with_name(stem.name + "-given" + SUFFIX[spec.modality]))
                row.append(Cell(path, f"given: {turn.given}"))
                content = f"<{spec.modality}>\n{turn.text}"
            history.append({"role": "user", "content": content})
            reply = model.generate(history, list(given), seed=seed)
            history.append({"role": "assistant", "content": reply.raw})
            log(f"user: {turn.text}" + (f"  [+ {turn.given}]" if turn.given else ""))
            log(f"omniweave: {reply.text}")
            row.append(Cell(None, f"user: {turn.text}\nomniweave: {reply.text}"))
            for j, medium in enumerate(reply.media):
                path = medium.save(stem.with_name(f"{stem.name}-made{j}{SUFFIX[_kind(medium)]}"))
                ok = None
                note = "generated"
                if turn.expect:
                    target = world.parse_caption(turn.expect)
                    ok = judges.all_correct(target, medium)
                    note += f" (asked: {turn.expect}; judged: " + ", ".join(
                        judges.judge(medium).values()) + ")"
                log(f"  -> {path}" + ("" if ok is None else " ✓" if ok else " ✗"))
                row.append(Cell(path, note, ok))
            section.rows.append(row)
        sections.append(section)
    return write_page(out_dir / "index.html", "omniweave: any-to-any on the nano model", sections)


def _kind(medium) -> str:
    return {"Image": "image", "Audio": "audio", "Video": "video"}[type(medium).__name__]
