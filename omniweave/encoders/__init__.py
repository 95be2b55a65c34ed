"""Frozen media encoders: media objects in, features out.

Every backend exposes ``feature_width`` and ``encode(modality, media) -> Features``; pooled
features feed the ``linear``/``mlp`` projectors, token features the ``mapper`` (and ``qformer``).
Encoders are built once per (kind, path, options) and shared by the modalities that name the same
one (ImageBind-style: one model, every modality). Backends, by ``EncoderConfig.kind``:

- ``nano-bind``: ShapeBind, nano's ImageBind (image, audio, video);
- ``hf-clip`` (alias ``hf-siglip``): a CLIP or SigLIP vision tower with its image processor
  (image; video as uniformly sampled frames, pooled over time);
- ``hf-clap``: the CLAP audio tower with its feature extractor (audio);
- ``imagebind``: Meta's ImageBind, when its ``imagebind`` package is importable.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Protocol

import torch

from omniweave.config import EncoderConfig
from omniweave.media import Audio, Image, Video

Medium = Image | Audio | Video
KINDS = ("nano-bind", "hf-clip", "hf-siglip", "hf-clap", "imagebind")


@dataclass
class Features:
    pooled: torch.Tensor  # (B, F)
    tokens: torch.Tensor  # (B, L, F)


class MediaEncoder(Protocol):
    feature_width: int

    def encode(self, modality: str, media: list[Medium]) -> Features: ...


@cache
def _build(kind: str, path: str, dtype: str, frames: int, device: str) -> MediaEncoder:
    if kind == "nano-bind":
        from omniweave.encoders.nano_bind import NanoBindEncoder

        return NanoBindEncoder(path)
    if kind in ("hf-clip", "hf-siglip"):
        from omniweave.encoders.hf_clip import HFVisionEncoder

        return HFVisionEncoder(path, dtype=dtype, frames=frames, device=device)
    if kind == "hf-clap":
        from omniweave.encoders.hf_clap import HFClapEncoder

        return HFClapEncoder(path, dtype=dtype, device=device)
    if kind == "imagebind":
        from omniweave.encoders.imagebind import ImageBindEncoder

        return ImageBindEncoder(path, dtype=dtype, frames=frames, device=device)
    raise ValueError(f"unknown encoder kind {kind!r}; expected one of {', '.join(KINDS)}")


def build_encoder(cfg: EncoderConfig, device: str = "cpu") -> MediaEncoder:
    """The encoder a config names, built once per process (and device)."""
    return _build(cfg.kind, cfg.path, cfg.dtype, cfg.frames, device)
