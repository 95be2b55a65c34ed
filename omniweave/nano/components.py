"""Where the shipped nano components live, and their manifests."""

from __future__ import annotations

import hashlib
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import torch

from omniweave.errors import OmniweaveError
from omniweave.files import atomic_path

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
# Build order matters: later components load the tokenizer.
COMPONENTS = ("tokenizer", "llm", "bind", "image-decoder", "audio-decoder", "video-decoder")
MANIFEST = "manifest.json"


def component_dir(name: str, root: Path | None = None) -> Path:
    """The folder of a built component (``root`` defaults to the shipped weights)."""
    if name not in COMPONENTS:
        raise OmniweaveError(f"unknown nano component {name!r}; expected one of {', '.join(COMPONENTS)}")
    return (root or WEIGHTS_DIR) / name


def require_component(name: str, root: Path | None = None) -> Path:
    path = component_dir(name, root)
    if not (path / MANIFEST).exists():
        raise OmniweaveError(
            f"nano component {name!r} is not built at {path}; run `omniweave nano build {name}`"
        )
    return path


def sha256_files(folder: Path) -> dict[str, str]:
    out = {}
    for f in sorted(folder.rglob("*")):
        if f.is_file() and f.name != MANIFEST:
            out[str(f.relative_to(folder))] = hashlib.sha256(f.read_bytes()).hexdigest()
    return out


def write_manifest(folder: Path, *, component: str, seed: int, metrics: dict[str, Any],
                   train_seconds: float, options: dict[str, Any] | None = None) -> Path:
    """Record how a component was built (command, seed, metrics, sha256 of every file)."""
    manifest = {
        "component": component,
        "build_command": f"omniweave nano build {component} --seed {seed}",
        "seed": seed,
        "options": options or {},
        "metrics": metrics,
        "train_seconds": round(train_seconds, 1),
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "built_with": {"python": sys.version.split()[0], "torch": torch.__version__,
                       "machine": platform.machine(),
                       "device": "cuda" if torch.cuda.is_available() else "cpu"},
        "sha256": sha256_files(folder),
    }
    path = folder / MANIFEST
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(manifest, indent=2) + "\n")
    return path


def read_manifest(folder: Path) -> dict[str, Any]:
    return json.loads((folder / MANIFEST).read_text())
