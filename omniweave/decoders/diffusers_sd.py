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
    fits,
    generator,
    load_pipeline,
    noise_loss,
    pixels_to_tensor,
    to_uint8,
)
from omniweave.hub import runtime
from omniweave.media import Image


class StableDiffusionDecoder:
    modality = "image"

    def __init__(self, cfg: DecoderConfig, device: str = "cpu", pipe=None):
        """The pipeline at ``cfg.path``, loaded once per process, or ``pipe`` when given (built in code)."""
        from diffusers import DDPMScheduler, StableDiffusionPipeline

        self.device, self.dtype = runtime(cfg.dtype, device)
        self.pipe = pipe if pipe is not None else load_pipeline(
            StableDiffusionPipeline, cfg.path, self.dtype, self.device, "image decoder")
        pipe = self.pipe
        self.conditioning_shape = (pipe.tokenizer.model_max_length,
                                   pipe.text_encoder.config.hidden_size)
        default = pipe.unet.config.sample_size * pipe.vae_scale_factor
        self.height, self.width = cfg.height or default, cfg.width or default
        self.noise = DDPMScheduler.from_config(pipe.scheduler.config)

    def caption_fits(self, caption: str) -> bool:
        return fits(self.pipe.tokenizer, caption)

    @torch.no_grad()
    def caption_embeddings(self, captions: list[str]) -> torch.Tensor:
        embeds, _ = self.pipe.encode_prompt(captions, self.device, 1, False)
        return embeds.float().cpu()  # (B, 77, W)

    def diffusion_loss(self, prompt_embeds: torch.Tensor, media: list[Medium]) -> torch.Tensor:
        pipe = self.pipe
        with torch.no_grad():
            x = pixels_to_tensor([m.pixels for m in media], self.height, self.width)
            latents = pipe.vae.encode(x.to(self.device, self.dtype)).latent_dist.sample()
            x0 = latents * pipe.vae.config.scaling_factor

        def denoise(noisy, t, cond):
            return pipe.unet(noisy, t, encoder_hidden_states=cond.to(self.device, self.dtype)).sample

        return noise_loss(self.noise, denoise, x0, prompt_embeds).to(prompt_embeds.device)

    @torch.no_grad()
    def generate(self, prompt_embeds: torch.Tensor, *, steps: int = 50, guidance: float = 7.5,
                 seed: int | list[int] = 0) -> list[Medium]:
        out = self.pipe(prompt_embeds=prompt_embeds.to(self.device, self.dtype),
                        num_inference_steps=steps, guidance_scale=guidance, height=self.height,
                        width=self.width, generator=generator(seed), output_type="np")
        return [Image(to_uint8(img)) for img in out.images]
