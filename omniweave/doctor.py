"""``omniweave doctor``: is every component a preset names here, and where; if not, what to get.

The same check runs before a model loads (``require_components``), so a preset with a missing
component fails with the download line, never a hub error or a download attempt.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

import torch

from omniweave.config import ModelConfig
from omniweave.errors import InputError
from omniweave.hub import locate, missing_message, models_root


@dataclass(frozen=True)
class Check:
    """One component: its name, config key, path, and where it was found (or what to do)."""
    component: str  # llm, image encoder, audio decoder, checkpoint …
    key: str  # the config field to --set
    path: str
    found: bool
    where: str  # the folder and how it was found, or the line that says what to download

    def line(self) -> str:
        if self.found:
            return f"ok       {self.component:15} {self.where}"
        return f"MISSING  {self.where}"


def _components(cfg: ModelConfig, checkpoint: bool) -> list[tuple[str, str, str, str]]:
    """(component, config key, path, kind) of every component of ``cfg``."""
    items = [("llm", "llm.path", cfg.llm.path, "llm")]
    for m, mc in cfg.modalities.items():
        items.append((f"{m} encoder", f"modalities.{m}.encoder.path", mc.encoder.path, mc.encoder.kind))
        items.append((f"{m} decoder", f"modalities.{m}.decoder.path", mc.decoder.path, mc.decoder.kind))
    if checkpoint and cfg.checkpoint:
        items.append(("checkpoint", "checkpoint", cfg.checkpoint, "checkpoint"))
    return items


def _requirement(cfg: ModelConfig, kind: str) -> str:
    """What a component needs besides its files ('' when nothing is missing)."""
    if kind == "imagebind" and importlib.util.find_spec("imagebind") is None:
        return ("encoder kind imagebind needs the imagebind package: "
                "pip install git+https://github.com/facebookresearch/ImageBind")
    if kind == "llm" and (cfg.llm.load_in_4bit or cfg.llm.load_in_8bit):
        if not torch.cuda.is_available():
            return "llm.load_in_4bit/8bit needs a CUDA GPU (bitsandbytes); this machine has none"
        if importlib.util.find_spec("bitsandbytes") is None:
            return "llm.load_in_4bit/8bit needs bitsandbytes: pip install bitsandbytes"
    return ""


def check(cfg: ModelConfig, checkpoint: bool = True) -> list[Check]:
    """Every component of ``cfg``, found or not (no network, nothing loaded)."""
    out = []
    for component, key, path, kind in _components(cfg, checkpoint):
        loc = locate(path)
        need = _requirement(cfg, kind)
        if loc.found and not need:
            out.append(Check(component, key, path, True, f"{path}  ({loc.source}: {loc.folder})"))
        elif loc.found:
            out.append(Check(component, key, path, False,
                             f"{component} {path} is here ({loc.source}: {loc.folder}), but {need}"))
        else:
            out.append(Check(component, key, path, False, missing_message(path, component, key)))
    return out


def report(cfg: ModelConfig, checks: list[Check]) -> str:
    """The doctor's table: one line per component, then a summary."""
    missing = sum(not c.found for c in checks)
    lines = [f"preset {cfg.name}: {len(checks)} components, {missing} missing "
             f"(models root: {models_root()}; set $OMNIWEAVE_MODELS to move it)"]
    lines += [c.line() for c in checks]
    if missing:
        lines.append("each MISSING line says what to download and where; or override a path with "
                     "--set <key>=<folder>")
    return "\n".join(lines)


def require_components(cfg: ModelConfig) -> None:
    """An ``InputError`` naming every missing component of ``cfg`` (what to download, where)."""
    missing = [c for c in check(cfg, checkpoint=False) if not c.found]
    if not missing:
        return
    if len(missing) == 1:
        raise InputError(missing[0].where)
    raise InputError(f"{len(missing)} components of preset {cfg.name} are missing:\n"
                     + "\n".join(f"  {c.where}" for c in missing))
