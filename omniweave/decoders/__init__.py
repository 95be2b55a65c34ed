"""Frozen diffusion decoders, driven by ``prompt_embeds``.

Every backend exposes ``conditioning_shape`` (tokens, width: what an output projector must
produce), ``caption_embeddings(captions)`` (the decoder's own text encoding of captions, the
stage-2 L2 target), ``diffusion_loss`` (the optional noise-prediction loss) and
``generate(prompt_embeds, ...) -> media``. Pipelines are built once per
process and reused, never per request.
"""

from __future__ import annotations

from functools import cache
from typing import Protocol

import torch

from omniweave.config import DecoderConfig
from omniweave.media import Audio, Image, Video

Medium = Image | Audio | Video


class MediaDecoder(Protocol):
    modality: str
    conditioning_shape: tuple[int, int]

    def caption_embeddings(self, captions: list[str]) -> torch.Tensor: ...

    def diffusion_loss(self, prompt_embeds: torch.Tensor, media: list[Medium]) -> torch.Tensor:
        """The decoder's own training loss on ``media`` given ``prompt_embeds``; gradients flow
        into ``prompt_embeds`` (the decoder itself stays frozen)."""
        ...

    def generate(self, prompt_embeds: torch.Tensor, *, steps: int, guidance: float,
                 seed: int) -> list[Medium]: ...


@cache
def _build(kind: str, path: str) -> MediaDecoder:
    if kind == "nano-diffusion":
        from omniweave.decoders.nano_diffusion import NanoDiffusionDecoder

        return NanoDiffusionDecoder(path)
    raise ValueError(f"unknown decoder kind {kind!r}; expected nano-diffusion")


def build_decoder(cfg: DecoderConfig) -> MediaDecoder:
    """The decoder a config names, built once per process."""
    return _build(cfg.kind, cfg.path)
