"""Build and evaluate the nano components (``omniweave nano build|eval``)."""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omniweave.files import atomic_dir
from omniweave.nano.components import (
    COMPONENTS,
    component_dir,
    read_manifest,
    require_component,
    write_manifest,
)


@dataclass(frozen=True)
class Recipe:
    module: str  # omniweave.nano.recipes.<module> with build(out, ...) and evaluate(path, ...)
    kwargs: dict[str, Any] = field(default_factory=dict)

    def load(self):
        return importlib.import_module(f"omniweave.nano.recipes.{self.module}")


RECIPES: dict[str, Recipe] = {
    "tokenizer": Recipe("tokenizer"),
    "llm": Recipe("llm"),
    "bind": Recipe("bind"),
    "image-decoder": Recipe("decoder", {"modality": "image"}),
    "audio-decoder": Recipe("decoder", {"modality": "audio"}),
    "video-decoder": Recipe("decoder", {"modality": "video"}),
}
assert tuple(RECIPES) == COMPONENTS


def build_component(name: str, *, root: Path | None = None, seed: int = 0,
                    **options: Any) -> dict[str, Any]:
    """Train one component from scratch into ``root`` (default: the shipped weights folder).

    The folder is replaced atomically, with a manifest (command, seed, metrics, sha256) beside
    the weights; ``options`` (steps, device, ...) go to the recipe.
    """
    recipe = RECIPES[name]
    options = {k: v for k, v in options.items() if v is not None}
    if name != "tokenizer":
        options.setdefault("tokenizer_dir", require_component("tokenizer", root))
    if name.endswith("-decoder"):  # decoders read captions through ShapeBind's text tower
        options.setdefault("bind_dir", require_component("bind", root))
    t0 = time.time()
    with atomic_dir(component_dir(name, root)) as tmp:
        metrics = recipe.load().build(tmp, seed=seed, **recipe.kwargs, **options)
        recorded = {k: str(v) if isinstance(v, Path) else v
                    for k, v in options.items() if not k.endswith("_dir")}
        write_manifest(tmp, component=name, seed=seed, metrics=metrics,
                       train_seconds=time.time() - t0, options=recorded)
    return metrics


def evaluate_component(name: str, *, root: Path | None = None, **options: Any) -> dict[str, Any]:
    """Re-measure a built component's figures on held-out seeds."""
    recipe = RECIPES[name]
    path = require_component(name, root)
    module = recipe.load()
    if not hasattr(module, "evaluate"):  # nothing to re-measure: the build's own figures stand
        return read_manifest(path)["metrics"]
    return module.evaluate(path, **{k: v for k, v in options.items() if v is not None})
