"""The nano ShapeWorld diffusion decoders (``ShapeDiffusionPipeline``)."""

from __future__ import annotations

import torch
from diffusers import DDPMScheduler
from torch.nn import functional as F

from omniweave.decoders import Medium
from omniweave.decoders._common import generator
from omniweave.hub import resolve_path
from omniweave.nano.decoders import load_pipeline


class NanoDiffusionDecoder:
    def __init__(self, path: str):
        self.pipe = load_pipeline(resolve_path(path))
        self.modality = self.pipe.config.modality
        self.conditioning_shape = self.pipe.conditioning_shape
        self.pipe.unet.requires_grad_(False)
        self.noise = DDPMScheduler.from_config(self.pipe.scheduler.config, clip_sample=False)

    @torch.no_grad()
    def caption_embeddings(self, captions: list[str]) -> torch.Tensor:
        return self.pipe.encode_prompt(captions).float()  # (B, tokens, width)

    def diffusion_loss(self, prompt_embeds: torch.Tensor, media: list[Medium]) -> torch.Tensor:
        pipe = self.pipe
        x0 = pipe.to_latents(pipe.media_to_tensor(media)).to(prompt_embeds.device)
        noise = torch.randn_like(x0)
        t = torch.randint(0, self.noise.config.num_train_timesteps, (len(media),), device=x0.device)
        noisy = self.noise.add_noise(x0, noise, t)
        target = (self.noise.get_velocity(x0, noise, t)
                  if self.noise.config.prediction_type == "v_prediction" else noise)
        return F.mse_loss(pipe.denoise(noisy, t, prompt_embeds.to(pipe.unet.dtype)).float(), target)

    @torch.no_grad()
    def generate(self, prompt_embeds: torch.Tensor, *, steps: int = 20, guidance: float = 4.0,
                 seed: int | list[int] = 0) -> list[Medium]:
        out = self.pipe(prompt_embeds=prompt_embeds.float(), num_inference_steps=steps,
                        guidance_scale=guidance, generator=generator(seed))
        return out.media
