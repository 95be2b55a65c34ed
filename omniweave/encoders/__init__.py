"""Frozen media encoders: media objects in, features out.

Every backend exposes ``feature_width`` and ``encode(modality, media) -> Features``; pooled
features feed the ``linear``/``mlp`` projectors, token features the ``mapper`` (and ``qformer``).
Encoders are built once per (kind, path) and shared by the modalities that name the same one
(ImageBind-style: one model, every modality).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Protocol

import torch

from omniweave.config import EncoderConfig
from omniweave.media import Audio, Image, Video

Medium = Image | Audio | Video


@dataclass
class Features:
    pooled: torch.Tensor  # (B, F)
    tokens: torch.Tensor  # (B, L, F)


class MediaEncoder(Protocol):
    feature_width: int

    def encode(self, modality: str, media: list[Medium]) -> Features: ...


@cache
def _build(kind: str, path: str) -> MediaEncoder:
    if kind == "nano-bind":
        from omniweave.encoders.nano_bind import NanoBindEncoder

        return NanoBindEncoder(path)
    raise ValueError(f"unknown encoder kind {kind!r}; expected nano-bind")


def build_encoder(cfg: EncoderConfig) -> MediaEncoder:
    """The encoder a config names, built once per process."""
    return _build(cfg.kind, cfg.path)
