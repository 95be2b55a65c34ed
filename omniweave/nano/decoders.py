"""Nano diffusion decoders: ShapeWorld's Stable Diffusion, AudioLDM and ZeroScope.

One diffusers pipeline class serves the three modalities. Like Stable Diffusion it is conditioned on
a text encoder's per-token embeddings of the caption, and like every diffusers text-to-X pipeline
it accepts ``prompt_embeds`` instead of a prompt: that is how the any-to-any model drives it.
Diffusion runs in pixel-patch space (``pixel_unshuffle``), which plays the role of a VAE latent:
images (3, 32, 32) -> (12, 16, 16); log-mel audio (1, 64, 64) -> (16, 16, 16), vocoded with
Griffin-Lim; videos (3, 8, 32, 32) -> (96, 16, 16), the eight frames stacked on the channel axis, so
that every convolution sees the motion (a ``UNet3DConditionModel`` with temporal layers, ZeroScope's
design, costs ~6x more per sample here: too slow to train on two CPU cores). The UNet also
sees coordinate channels (CoordConv: y, x) and the whole conditioning sequence,
flattened, beside its timestep embedding (``timestep_cond``), so that every block, not only the
cross-attention ones, knows where to draw: position, pitch and direction are absolute-position
attributes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import torch
from diffusers import (
    DiffusionPipeline,
    DPMSolverMultistepScheduler,
    UNet2DConditionModel,
)
from diffusers.utils import BaseOutput
from torch.nn import functional as F
from transformers import CLIPTextModel, PreTrainedTokenizerFast

from omniweave.errors import InputError
from omniweave.media import Audio, Image, Video
from omniweave.nano.components import require_component
from omniweave.nano.mel import audio_to_mel, mel_to_audio
from omniweave.nano.world import VIDEO_FPS, parse_caption

# modality -> (channels, frames or None, height, width) of the medium the decoder draws
MEDIUM_SHAPES = {"image": (3, None, 32, 32), "audio": (1, None, 64, 64), "video": (3, 8, 32, 32)}


@dataclass
class ShapeDiffusionOutput(BaseOutput):
    media: list[Image | Audio | Video]
    samples: torch.Tensor  # decoded media tensors in [-1, 1], (B, C, [F,] H, W)


class ShapeDiffusionPipeline(DiffusionPipeline):
    """Caption (or ``prompt_embeds``) -> image, audio or video, by classifier-free guided diffusion."""

    model_cpu_offload_seq = "text_encoder->unet"

    def __init__(self, text_encoder: CLIPTextModel, tokenizer: PreTrainedTokenizerFast,
                 unet: UNet2DConditionModel,
                 scheduler: DPMSolverMultistepScheduler, modality: str = "image",
                 patch_size: int = 2, max_text_tokens: int = 12):
        super().__init__()
        self.register_modules(text_encoder=text_encoder, tokenizer=tokenizer, unet=unet,
                              scheduler=scheduler)
        self.register_to_config(modality=modality, patch_size=patch_size,
                                max_text_tokens=max_text_tokens)

    def denoise(self, latents: torch.Tensor, t: torch.Tensor | int,
                cond: torch.Tensor) -> torch.Tensor:
        """The UNet's prediction for ``latents`` at step ``t``, coordinate channels added."""
        b, _, *dims = latents.shape
        axes = torch.meshgrid(*(torch.linspace(-1, 1, d, device=latents.device) for d in dims),
                              indexing="ij")
        coords = torch.stack(axes).to(latents.dtype).expand(b, -1, *dims)
        return self.unet(torch.cat([latents, coords], 1), t, encoder_hidden_states=cond,
                         timestep_cond=cond.flatten(1)).sample

    # ------------------------------------------------------------ conditioning
    @property
    def conditioning_shape(self) -> tuple[int, int]:
        """(tokens, width) of ``prompt_embeds``: what an output projector must produce."""
        return self.config.max_text_tokens, self.text_encoder.config.hidden_size

    def tokenize(self, prompts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        enc = self.tokenizer(prompts, padding="max_length", max_length=self.config.max_text_tokens,
                             truncation=False, add_special_tokens=False, return_tensors="pt")
        if enc.input_ids.shape[1] > self.config.max_text_tokens:
            raise ValueError(f"a prompt is longer than {self.config.max_text_tokens} tokens: {prompts}")
        return enc.input_ids, enc.attention_mask

    def encode_prompt(self, prompts: str | list[str]) -> torch.Tensor:
        """Per-token caption embeddings (B, tokens, width), the decoder's conditioning."""
        prompts = [prompts] if isinstance(prompts, str) else list(prompts)
        ids, mask = self.tokenize(prompts)
        out = self.text_encoder(input_ids=ids.to(self.device), attention_mask=mask.to(self.device))
        return out.last_hidden_state

    # ------------------------------------------------------------ latent <-> medium
    def to_latents(self, x: torch.Tensor) -> torch.Tensor:
        """Media tensors in [-1, 1] -> diffusion latents: pixel_unshuffle, video frames stacked
        on the channel axis: (B, 3, F, 32, 32) -> (B, F * 12, 16, 16)."""
        p = self.config.patch_size
        if x.ndim == 5:  # (B, C, F, H, W)
            b, c, f, h, w = x.shape
            z = F.pixel_unshuffle(x.transpose(1, 2).reshape(b * f, c, h, w), p)
            return z.reshape(b, -1, h // p, w // p)
        return F.pixel_unshuffle(x, p)

    def from_latents(self, z: torch.Tensor) -> torch.Tensor:
        p = self.config.patch_size
        _, frames, _, _ = MEDIUM_SHAPES[self.config.modality]
        if frames is not None:
            b, _, h, w = z.shape
            x = F.pixel_shuffle(z.reshape(b * frames, -1, h, w), p)
            return x.reshape(b, frames, -1, h * p, w * p).transpose(1, 2)
        return F.pixel_shuffle(z, p)

    def media_to_tensor(self, media: list[Image | Audio | Video]) -> torch.Tensor:
        """Media objects -> (B, C, [F,] H, W) in [-1, 1], the decoder's training targets."""
        if self.config.modality == "audio":
            return torch.stack([audio_to_mel(m.samples) for m in media]).unsqueeze(1)
        if self.config.modality == "video":
            arr = np.stack([m.frames for m in media])  # (B, F, H, W, 3)
            return torch.from_numpy(arr).permute(0, 4, 1, 2, 3).float() / 127.5 - 1
        arr = np.stack([m.pixels for m in media])
        return torch.from_numpy(arr).permute(0, 3, 1, 2).float() / 127.5 - 1

    def tensor_to_media(self, x: torch.Tensor) -> list[Image | Audio | Video]:
        x = x.detach().float().cpu().clamp(-1, 1)
        if self.config.modality == "audio":
            waves = mel_to_audio(x[:, 0])
            peak = waves.abs().amax(-1, keepdim=True).clamp_min(1e-6)
            waves = waves / peak * 0.5
            return [Audio(w.numpy().astype(np.float32), 16_000) for w in waves]
        u8 = ((x + 1) * 127.5).round().to(torch.uint8)
        if self.config.modality == "video":
            return [Video(v.permute(1, 2, 3, 0).numpy(), VIDEO_FPS) for v in u8]
        return [Image(i.permute(1, 2, 0).numpy()) for i in u8]

    # ------------------------------------------------------------ sampling
    @torch.no_grad()
    def __call__(self, prompt: str | list[str] | None = None, *,
                 prompt_embeds: torch.Tensor | None = None,
                 negative_prompt_embeds: torch.Tensor | None = None,
                 num_inference_steps: int = 20, guidance_scale: float = 4.0,
                 generator: torch.Generator | list[torch.Generator] | None = None,
                 num_images_per_prompt: int = 1) -> ShapeDiffusionOutput:
        if (prompt is None) == (prompt_embeds is None):
            raise ValueError("pass exactly one of `prompt` or `prompt_embeds`")
        if prompt_embeds is None:
            prompt_embeds = self.encode_prompt(prompt)
        prompt_embeds = prompt_embeds.to(self.device, self.unet.dtype)
        if prompt_embeds.shape[1:] != torch.Size(self.conditioning_shape):
            raise ValueError(f"prompt_embeds must be (B, {self.conditioning_shape[0]}, "
                             f"{self.conditioning_shape[1]}), got {tuple(prompt_embeds.shape)}")
        prompt_embeds = prompt_embeds.repeat_interleave(num_images_per_prompt, 0)
        batch = prompt_embeds.shape[0]
        do_cfg = guidance_scale > 1.0
        if do_cfg:
            if negative_prompt_embeds is None:
                negative_prompt_embeds = self.encode_prompt([""])
            negative_prompt_embeds = negative_prompt_embeds.to(prompt_embeds).expand(batch, -1, -1)
            cond = torch.cat([negative_prompt_embeds, prompt_embeds])
        else:
            cond = prompt_embeds

        c, frames, h, w = MEDIUM_SHAPES[self.config.modality]
        p = self.config.patch_size
        shape = (batch, c * p * p * (frames or 1), h // p, w // p)
        if isinstance(generator, list):  # one generator per row: each row's noise is its own
            if len(generator) != batch:
                raise ValueError(f"{len(generator)} generators for a batch of {batch}")
            latents = torch.cat([torch.randn((1, *shape[1:]), generator=g) for g in generator])
        else:
            latents = torch.randn(shape, generator=generator, device="cpu")
        latents = latents.to(self.device, self.unet.dtype)
        self.scheduler.set_timesteps(num_inference_steps, device=self.device)
        latents = latents * self.scheduler.init_noise_sigma
        for t in self.progress_bar(self.scheduler.timesteps):
            model_in = torch.cat([latents] * 2) if do_cfg else latents
            model_in = self.scheduler.scale_model_input(model_in, t)
            pred = self.denoise(model_in, t, cond)
            if do_cfg:
                uncond, text = pred.chunk(2)
                pred = uncond + guidance_scale * (text - uncond)
            latents = self.scheduler.step(pred, t, latents).prev_sample
        samples = self.from_latents(latents)
        return ShapeDiffusionOutput(media=self.tensor_to_media(samples), samples=samples)


def load_pipeline(path: str | Path, device: str | torch.device = "cpu") -> ShapeDiffusionPipeline:
    """A saved nano decoder, in float32, progress bars off."""
    pipe = ShapeDiffusionPipeline.from_pretrained(path, dtype=torch.float32)
    pipe.set_progress_bar_config(disable=True)
    return pipe.to(device)


@cache
def shipped_decoder(modality: str) -> ShapeDiffusionPipeline:
    """The shipped nano decoder of a modality, built once per process."""
    return load_pipeline(require_component(f"{modality}-decoder"))


def decode_caption(caption: str, *, seed: int = 0, steps: int = 20, guidance: float = 4.0,
                   expect: str | None = None) -> Image | Audio | Video:
    """Generate the medium a canonical caption describes with the shipped decoder."""
    spec = parse_caption(caption)
    if expect is not None and expect != spec.modality:
        raise InputError(f"{caption!r} describes {spec.modality}, not {expect}")
    pipe = shipped_decoder(spec.modality)
    out = pipe(spec.caption, num_inference_steps=steps, guidance_scale=guidance,
               generator=torch.Generator().manual_seed(seed))
    return out.media[0]
