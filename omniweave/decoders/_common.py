"""What the diffusers-backed decoders share: one cached pipeline per (class, folder, dtype,
device), media <-> tensors, and the noise-prediction loss."""

from __future__ import annotations

from functools import cache

import numpy as np
import torch
from torch.nn import functional as F

from omniweave.config import DecoderConfig
from omniweave.hub import resolve_path, runtime


@cache
def load_pipeline(cls: type, path: str, dtype: torch.dtype, device: torch.device, component: str):
    """A diffusers pipeline, loaded once and kept; frozen, progress bars off."""
    folder = resolve_path(path, component=component)
    pipe = cls.from_pretrained(folder, dtype=dtype)
    pipe.to(device)
    pipe.set_progress_bar_config(disable=True)
    for name, module in pipe.components.items():
        if isinstance(module, torch.nn.Module) and name != "safety_checker":
            module.eval().requires_grad_(False)
    return pipe


def fits(tokenizer, caption: str) -> bool:
    """Whether ``tokenizer``'s text encoder reads all of ``caption`` (with its special tokens)."""
    return len(tokenizer(caption, verbose=False).input_ids) <= tokenizer.model_max_length


def pixels_to_tensor(pixels: list[np.ndarray], height: int, width: int) -> torch.Tensor:
    """uint8 (H, W, 3) arrays -> (N, 3, height, width) in [-1, 1], resized bilinearly."""
    x = torch.stack([torch.from_numpy(p).permute(2, 0, 1) for p in _same_size(pixels)]).float()
    x = F.interpolate(x, size=(height, width), mode="bilinear", antialias=True, align_corners=False)
    return (x / 127.5 - 1.0).clamp(-1, 1)


def _same_size(pixels: list[np.ndarray]) -> list[np.ndarray]:
    """Pad-free batching: images of other sizes than the first are resized to it first."""
    h, w = pixels[0].shape[:2]
    if all(p.shape[:2] == (h, w) for p in pixels):
        return pixels
    from PIL import Image as PILImage

    return [p if p.shape[:2] == (h, w) else np.asarray(PILImage.fromarray(p).resize((w, h)))
            for p in pixels]


def to_uint8(x: np.ndarray) -> np.ndarray:
    """Floats in [0, 1] -> uint8."""
    return (np.nan_to_num(x) * 255).round().clip(0, 255).astype(np.uint8)


def noise_loss(scheduler, denoise, x0: torch.Tensor, prompt_embeds: torch.Tensor) -> torch.Tensor:
    """The diffusion training loss on clean latents ``x0``: noise at a random step, predict it
    (or the velocity) with ``denoise(noisy, t, prompt_embeds)``."""
    noise = torch.randn_like(x0)
    t = torch.randint(0, scheduler.config.num_train_timesteps, (x0.shape[0],), device=x0.device)
    noisy = scheduler.add_noise(x0, noise, t)
    target = (scheduler.get_velocity(x0, noise, t)
              if scheduler.config.prediction_type == "v_prediction" else noise)
    return F.mse_loss(denoise(noisy, t, prompt_embeds).float(), target.float())


def generator(seed: int | list[int]) -> torch.Generator | list[torch.Generator]:
    """CPU generators (the same noise for a seed on every device): one, or one per row."""
    if isinstance(seed, int):
        return torch.Generator().manual_seed(seed)
    return [torch.Generator().manual_seed(s) for s in seed]


class DiffusersDecoder:
    """The part every diffusers-backed decoder shares: the pipeline (loaded once per process, or
    given, built in code), its device and dtype, a DDPM scheduler for the noise-prediction loss,
    and the caption side (the pipeline's own text encoder). Subclasses name their modality and
    pipeline class, read their sizes in ``setup`` and implement ``diffusion_loss``/``generate``."""

    modality: str
    pipeline_class: str  # the diffusers class, e.g. "StableDiffusionPipeline"

    def __init__(self, cfg: DecoderConfig, device: str = "cpu", pipe=None):
        import diffusers

        self.device, self.dtype = runtime(cfg.dtype, device)
        self.pipe = pipe if pipe is not None else load_pipeline(
            getattr(diffusers, self.pipeline_class), cfg.path, self.dtype, self.device,
            f"{self.modality} decoder")
        self.noise = diffusers.DDPMScheduler.from_config(self.pipe.scheduler.config)
        self.conditioning_shape = (self.pipe.tokenizer.model_max_length,
                                   self.pipe.text_encoder.config.hidden_size)
        self.setup(cfg)

    def setup(self, cfg: DecoderConfig) -> None:
        """Sizes read from the pipeline and the config."""

    def caption_fits(self, caption: str) -> bool:
        return fits(self.pipe.tokenizer, caption)

    @torch.no_grad()
    def caption_embeddings(self, captions: list[str]) -> torch.Tensor:
        embeds, _ = self.pipe.encode_prompt(captions, self.device, 1, False)
        return embeds.float().cpu()  # (B, tokens, width)

    def unet_denoise(self, noisy: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return self.pipe.unet(noisy, t, encoder_hidden_states=cond.to(self.device, self.dtype)).sample
