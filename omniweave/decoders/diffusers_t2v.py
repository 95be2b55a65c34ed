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
    fits,
    generator,
    load_pipeline,
    noise_loss,
    pixels_to_tensor,
    to_uint8,
)
from omniweave.encoders._common import sample_frames
from omniweave.hub import runtime
from omniweave.media import Video

DEFAULT_FRAMES = 16


class TextToVideoDecoder:
    modality = "video"

    def __init__(self, cfg: DecoderConfig, device: str = "cpu", pipe=None):
        """The pipeline at ``cfg.path``, loaded once per process, or ``pipe`` when given (built in code)."""
        from diffusers import DDPMScheduler, TextToVideoSDPipeline

        self.device, self.dtype = runtime(cfg.dtype, device)
        self.pipe = pipe if pipe is not None else load_pipeline(
            TextToVideoSDPipeline, cfg.path, self.dtype, self.device, "video decoder")
        pipe = self.pipe
        self.conditioning_shape = (pipe.tokenizer.model_max_length,
                                   pipe.text_encoder.config.hidden_size)
        default = pipe.unet.config.sample_size * pipe.vae_scale_factor
        self.height, self.width = cfg.height or default, cfg.width or default
        self.num_frames, self.fps = cfg.num_frames or DEFAULT_FRAMES, cfg.fps
        self.noise = DDPMScheduler.from_config(pipe.scheduler.config)

    def caption_fits(self, caption: str) -> bool:
        return fits(self.pipe.tokenizer, caption)

    @torch.no_grad()
    def caption_embeddings(self, captions: list[str]) -> torch.Tensor:
        embeds, _ = self.pipe.encode_prompt(captions, self.device, 1, False)
        return embeds.float().cpu()  # (B, 77, W)

    def diffusion_loss(self, prompt_embeds: torch.Tensor, media: list[Medium]) -> torch.Tensor:
        pipe, f = self.pipe, self.num_frames
        with torch.no_grad():
            frames = [fr for v in media for fr in sample_frames(v.frames, f)]
            x = pixels_to_tensor(frames, self.height, self.width).to(self.device, self.dtype)
            latents = pipe.vae.encode(x).latent_dist.sample() * pipe.vae.config.scaling_factor
            b, c, h, w = len(media), *latents.shape[1:]
            x0 = latents.view(b, f, c, h, w).permute(0, 2, 1, 3, 4)  # (B, C, F, h, w)

        def denoise(noisy, t, cond):
            return pipe.unet(noisy, t, encoder_hidden_states=cond.to(self.device, self.dtype)).sample

        return noise_loss(self.noise, denoise, x0, prompt_embeds).to(prompt_embeds.device)

    @torch.no_grad()
    def generate(self, prompt_embeds: torch.Tensor, *, steps: int = 40, guidance: float = 9.0,
                 seed: int | list[int] = 0) -> list[Medium]:
        out = self.pipe(prompt_embeds=prompt_embeds.to(self.device, self.dtype),
                        num_inference_steps=steps, guidance_scale=guidance, height=self.height,
                        width=self.width, num_frames=self.num_frames, generator=generator(seed),
                        output_type="np")
        frames = np.asarray(out.frames)  # (B, F, H, W, 3) in [0, 1]
        return [Video(to_uint8(clip), self.fps) for clip in frames]
