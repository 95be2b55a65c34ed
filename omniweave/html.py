"""Small static HTML pages that show media (demo output, eval galleries)."""

from __future__ import annotations

import html
import os
from dataclasses import dataclass, field
from pathlib import Path

from omniweave.files import atomic_path
from omniweave.media import modality_of

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; background: #fafafa; color: #222; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin-top: 2rem; }
.row { display: flex; gap: 1.5rem; align-items: flex-start; flex-wrap: wrap; margin: .8rem 0; }
.cell { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: .6rem; }
.cell img, .cell video { width: 128px; height: 128px; image-rendering: pixelated; background: #000; }
.caption { font-size: .85rem; max-width: 16rem; margin-top: .3rem; }
.ok { color: #197a2e; } .bad { color: #b3261e; }
"""


@dataclass
class Cell:
    """One medium (or just text) with a caption under it."""
    path: Path | None
    caption: str
    ok: bool | None = None  # judged right / wrong / not judged


@dataclass
class Section:
    title: str
    rows: list[list[Cell]] = field(default_factory=list)
    text: str = ""


def media_tag(path: Path, page_dir: Path) -> str:
    src = html.escape(os.path.relpath(path, page_dir))
    kind = modality_of(path)
    if kind == "image":
        return f'<img src="{src}" alt="">'
    if kind == "audio":
        return f'<audio controls src="{src}"></audio>'
    if path.suffix == ".gif":
        return f'<img src="{src}" alt="">'
    return f'<video src="{src}" autoplay loop muted playsinline controls></video>'


def write_page(path: Path, title: str, sections: list[Section]) -> Path:
    """Write a self-contained page (media linked relative to it), atomically."""
    path = Path(path)
    parts = [f"<!doctype html><meta charset='utf-8'><title>{html.escape(title)}</title>",
             f"<style>{STYLE}</style><h1>{html.escape(title)}</h1>"]
    for section in sections:
        parts.append(f"<h2>{html.escape(section.title)}</h2>")
        if section.text:
            parts.append(f"<p>{html.escape(section.text)}</p>")
        for row in section.rows:
            parts.append("<div class='row'>")
            for cell in row:
                mark = {True: " <span class='ok'>✓</span>", False: " <span class='bad'>✗</span>",
                        None: ""}[cell.ok]
                tag = media_tag(Path(cell.path), path.parent) if cell.path else ""
                parts.append(f"<div class='cell'>{tag}<div class='caption'>"
                             f"{html.escape(cell.caption)}{mark}</div></div>")
            parts.append("</div>")
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(parts) + "\n", encoding="utf-8")
    return path
