"""Frozen diffusion decoders, driven by ``prompt_embeds``.

Every backend exposes ``conditioning_shape`` (tokens, width: what an output projector must
produce), ``caption_embeddings(captions)`` (the decoder's own text encoding of captions, the
stage-2 L2 target), ``diffusion_loss`` (the optional noise-prediction loss) and
``generate(prompt_embeds, ...) -> media``. Pipelines are built once per
process and reused, never per request. Backends, by ``DecoderConfig.kind``:

- ``nano-diffusion``: the nano ShapeWorld decoders;
- ``diffusers-sd``: ``StableDiffusionPipeline`` (SD 1.x: 77x768, SD 2.x: 77x1024);
- ``diffusers-audioldm``: ``AudioLDMPipeline`` (one pooled CLAP text embedding: 1x512);
- ``diffusers-t2v``: ``TextToVideoSDPipeline`` (ModelScope text-to-video, ZeroScope: 77x1024).

The diffusers backends also have ``caption_fits(caption)``: whether the decoder's text encoder
reads the whole caption (longer ones are cut by the pipeline; training skips them).
"""

from __future__ import annotations

from functools import cache
from typing import Protocol

import torch

from omniweave.config import DecoderConfig
from omniweave.media import Audio, Image, Video

Medium = Image | Audio | Video
KINDS = ("nano-diffusion", "diffusers-sd", "diffusers-audioldm", "diffusers-t2v")


class MediaDecoder(Protocol):
    modality: str
    conditioning_shape: tuple[int, int]

    def caption_embeddings(self, captions: list[str]) -> torch.Tensor: ...

    def diffusion_loss(self, prompt_embeds: torch.Tensor, media: list[Medium]) -> torch.Tensor:
        """The decoder's own training loss on ``media`` given ``prompt_embeds``; gradients flow
        into ``prompt_embeds`` (the decoder itself stays frozen)."""
        ...

    def generate(self, prompt_embeds: torch.Tensor, *, steps: int, guidance: float,
                 seed: int | list[int]) -> list[Medium]: ...


@cache
def _build(kind: str, path: str, options: tuple, device: str) -> MediaDecoder:
    if kind == "nano-diffusion":
        from omniweave.decoders.nano_diffusion import NanoDiffusionDecoder

        return NanoDiffusionDecoder(path)
    cfg = DecoderConfig(kind, path, **dict(options))
    if kind == "diffusers-sd":
        from omniweave.decoders.diffusers_sd import StableDiffusionDecoder

        return StableDiffusionDecoder(cfg, device)
    if kind == "diffusers-audioldm":
        from omniweave.decoders.diffusers_audioldm import AudioLDMDecoder

        return AudioLDMDecoder(cfg, device)
    if kind == "diffusers-t2v":
        from omniweave.decoders.diffusers_t2v import TextToVideoDecoder

        return TextToVideoDecoder(cfg, device)
    raise ValueError(f"unknown decoder kind {kind!r}; expected one of {', '.join(KINDS)}")


def build_decoder(cfg: DecoderConfig, device: str = "cpu") -> MediaDecoder:
    """The decoder a config names, built once per process (and options, and device)."""
    options = tuple((k, v) for k, v in vars(cfg).items() if k not in ("kind", "path"))
    return _build(cfg.kind, cfg.path, options, device)
