"""Text-to-video (``diffusers-t2v``): ``TextToVideoSDPipeline`` (ModelScope, ZeroScope) from a
folder laid out like ``cerspense/zeroscope_v2_576w``.

The conditioning is the pipeline's CLIP text encoder output (77 x 1024 for ZeroScope). Clips have
``num_frames`` frames (default: the pipeline's 16) at ``height`` x ``width`` (default: the UNet's
sample size), played at ``fps``.
"""

from __future__ import annotations

import numpy as np
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
from omniweave.encoders._common import sample_frames
from omniweave.media import Video

DEFAULT_FRAMES = 16


class TextToVideoDecoder(DiffusersDecoder):
    modality = "video"
    pipeline_class = "TextToVideoSDPipeline"

    def setup(self, cfg: DecoderConfig) -> None:
        default = self.pipe.unet.config.sample_size * self.pipe.vae_scale_factor
        self.height, self.width = cfg.height or default, cfg.width or default
        self.num_frames, self.fps = cfg.num_frames or DEFAULT_FRAMES, cfg.fps

    def diffusion_loss(self, prompt_embeds: torch.Tensor, media: list[Medium]) -> torch.Tensor:
        pipe, f = self.pipe, self.num_frames
        with torch.no_grad():
            frames = [fr for v in media for fr in sample_frames(v.frames, f)]
            x = pixels_to_tensor(frames, self.height, self.width).to(self.device, self.dtype)
            latents = pipe.vae.encode(x).latent_dist.sample() * pipe.vae.config.scaling_factor
            b, c, h, w = len(media), *latents.shape[1:]
            x0 = latents.view(b, f, c, h, w).permute(0, 2, 1, 3, 4)  # (B, C, F, h, w)
        return noise_loss(self.noise, self.unet_denoise, x0, prompt_embeds).to(prompt_embeds.device)

    @torch.no_grad()
    def generate(self, prompt_embeds: torch.Tensor, *, steps: int = 40, guidance: float = 9.0,
                 seed: int | list[int] = 0) -> list[Medium]:
        out = self.pipe(prompt_embeds=prompt_embeds.to(self.device, self.dtype),
                        num_inference_steps=steps, guidance_scale=guidance, height=self.height,
                        width=self.width, num_frames=self.num_frames, generator=generator(seed),
                        output_type="np")
        frames = np.asarray(out.frames)  # (B, F, H, W, 3) in [0, 1]
        return [Video(to_uint8(clip), self.fps) for clip in frames]
