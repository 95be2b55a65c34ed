"""Stable Diffusion 1.x / 2.x (``diffusers-sd``): ``StableDiffusionPipeline`` from a folder laid
out like ``stable-diffusion-v1-5/stable-diffusion-v1-5``.

The conditioning is the pipeline's CLIP text encoder output: 77 tokens of 768 (SD 1.x) or 1024
(SD 2.x), read from the text encoder and tokenizer.
"""

from __future__ import annotations

import torch

from omniweave.config import DecoderConfig
from omniweave.decoders import Medium
from omniweave.decoders._common import (
    DiffusersDecoder,
    generator,
    noise_loss,
    pixels_to_tensor,
    to_uint8,
)
from omniweave.media import Image


class StableDiffusionDecoder(DiffusersDecoder):
    modality = "image"
    pipeline_class = "StableDiffusionPipeline"

    def setup(self, cfg: DecoderConfig) -> None:
        default = self.pipe.unet.config.sample_size * self.pipe.vae_scale_factor
        self.height, self.width = cfg.height or default, cfg.width or default

    def diffusion_loss(self, prompt_embeds: torch.Tensor, media: list[Medium]) -> torch.Tensor:
        pipe = self.pipe
        with torch.no_grad():
            x = pixels_to_tensor([m.pixels for m in media], self.height, self.width)
            latents = pipe.vae.encode(x.to(self.device, self.dtype)).latent_dist.sample()
            x0 = latents * pipe.vae.config.scaling_factor
        return noise_loss(self.noise, self.unet_denoise, x0, prompt_embeds).to(prompt_embeds.device)

    @torch.no_grad()
    def generate(self, prompt_embeds: torch.Tensor, *, steps: int = 50, guidance: float = 7.5,
                 seed: int | list[int] = 0) -> list[Medium]:
        out = self.pipe(prompt_embeds=prompt_embeds.to(self.device, self.dtype),
                        num_inference_steps=steps, guidance_scale=guidance, height=self.height,
                        width=self.width, generator=generator(seed), output_type="np")
        return [Image(to_uint8(img)) for img in out.images]
