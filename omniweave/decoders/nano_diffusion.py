"""The nano ShapeWorld diffusion decoders (``ShapeDiffusionPipeline``)."""

from __future__ import annotations

import torch

from omniweave.decoders import Medium
from omniweave.hub import resolve_path
from omniweave.nano.decoders import load_pipeline


class NanoDiffusionDecoder:
    def __init__(self, path: str):
        self.pipe = load_pipeline(resolve_path(path))
        self.modality = self.pipe.config.modality
        self.conditioning_shape = self.pipe.conditioning_shape

    @torch.no_grad()
    def caption_embeddings(self, captions: list[str]) -> torch.Tensor:
        return self.pipe.encode_prompt(captions).float()  # (B, tokens, width)

    @torch.no_grad()
    def generate(self, prompt_embeds: torch.Tensor, *, steps: int = 20, guidance: float = 4.0,
                 seed: int = 0) -> list[Medium]:
        out = self.pipe(prompt_embeds=prompt_embeds.float(), num_inference_steps=steps,
                        guidance_scale=guidance, generator=torch.Generator().manual_seed(seed))
        return out.media
