"""The main job on the nano default: ShapeWorld ground truth beside what the nano decoders draw."""

from __future__ import annotations

from pathlib import Path

from omniweave.html import Cell, Section, write_page
from omniweave.nano import judges, world
from omniweave.nano.decoders import decode_caption

DEMO_CAPTIONS = {
    "image": ["a large red circle on the left", "a small blue triangle in the center",
              "a large purple square on the right", "a small yellow circle on the right"],
    "audio": ["a steady low sine tone", "a pulsing high square tone", "a steady mid sawtooth tone"],
    "video": ["a red circle moving right", "a green square moving up",
              "a cyan triangle moving left"],
}
SUFFIX = {"image": ".png", "audio": ".wav", "video": ".mp4"}


def run_demo(out_dir: Path, seed: int = 0, log=print) -> Path:
    """Render each caption's ground truth and the decoder's sample; judge; write ``index.html``."""
    out_dir = Path(out_dir)
    sections = []
    for modality, captions in DEMO_CAPTIONS.items():
        section = Section(f"{modality}: caption → nano {modality} decoder (left: ground truth)")
        for i, caption in enumerate(captions):
            spec = world.parse_caption(caption)
            truth = world.render(spec).save(out_dir / modality / f"{i}-truth{SUFFIX[modality]}")
            made = decode_caption(caption, seed=seed + i)
            path = made.save(out_dir / modality / f"{i}-generated{SUFFIX[modality]}")
            judged = judges.judge(made)
            ok = judges.all_correct(spec, made)
            log(f"[{modality}] {caption!r} -> {path} (judged: {', '.join(judged.values())}) "
                f"{'✓' if ok else '✗'}")
            section.rows.append([Cell(truth, f"ground truth: {caption}"),
                                 Cell(path, "generated; judged: " + ", ".join(judged.values()), ok)])
        sections.append(section)
    return write_page(out_dir / "index.html", "omniweave nano demo", sections)
