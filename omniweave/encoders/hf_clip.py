"""CLIP or SigLIP vision towers (``hf-clip``): images, and videos as sampled frames.

Loads the vision tower out of a full checkpoint (``openai/clip-vit-large-patch14``,
``google/siglip-so400m-patch14-384``) or a vision-only one, with the checkpoint's own image
processor. Features are the tower's width: ``pooled`` is its pooled output (CLIP: the normed CLS
state; SigLIP: the attention-pooling head), ``tokens`` its last hidden states.

A video is ``frames`` frames sampled uniformly and encoded as images; ``pooled`` is their mean
over time, and ``tokens`` are Video-ChatGPT's spatio-temporal features: each frame's mean over
space (``frames`` tokens) followed by each patch's mean over time (one token per patch).
"""

from __future__ import annotations

import torch

from omniweave.encoders import Features, Medium
from omniweave.encoders._common import chunks, quiet_transformers, sample_frames
from omniweave.errors import InputError
from omniweave.hub import resolve_path, runtime

BATCH = 64  # images per forward pass


class HFVisionEncoder:
    modalities = ("image", "video")

    def __init__(self, path: str, *, dtype: str = "float32", frames: int = 8, device: str = "cpu"):
        from transformers import AutoConfig, AutoImageProcessor, CLIPVisionModel, SiglipVisionModel

        folder = resolve_path(path, component="vision encoder")
        model_type = AutoConfig.from_pretrained(folder).model_type
        cls = {"clip": CLIPVisionModel, "clip_vision_model": CLIPVisionModel,
               "siglip": SiglipVisionModel, "siglip_vision_model": SiglipVisionModel}.get(model_type)
        if cls is None:
            raise InputError(f"{path}: a {model_type!r} model, not CLIP or SigLIP (encoder kind hf-clip)")
        self.device, self.dtype = runtime(dtype, device)
        with quiet_transformers():
            self.model = cls.from_pretrained(folder, dtype=self.dtype)
        self.model.to(self.device).eval().requires_grad_(False)
        self.processor = AutoImageProcessor.from_pretrained(folder)
        self.feature_width = self.model.config.hidden_size
        self.frames = frames

    @torch.no_grad()
    def _images(self, pixels: list) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, F) pooled and (N, L, F) token features of N uint8 (H, W, 3) arrays."""
        pooled, tokens = [], []
        for part in chunks(pixels, BATCH):
            x = self.processor(images=part, return_tensors="pt")["pixel_values"]
            out = self.model(pixel_values=x.to(self.device, self.dtype))
            pooled.append(out.pooler_output.float().cpu())
            tokens.append(out.last_hidden_state.float().cpu())
        return torch.cat(pooled), torch.cat(tokens)

    def encode(self, modality: str, media: list[Medium]) -> Features:
        if modality == "image":
            pooled, tokens = self._images([m.pixels for m in media])
            return Features(pooled=pooled, tokens=tokens)
        if modality == "video":
            t = self.frames
            pooled, tokens = self._images([f for v in media for f in sample_frames(v.frames, t)])
            pooled = pooled.view(len(media), t, -1)  # (B, T, F)
            tokens = tokens.view(len(media), t, *tokens.shape[1:])  # (B, T, L, F)
            return Features(pooled=pooled.mean(1),
                            tokens=torch.cat([tokens.mean(2), tokens.mean(1)], 1))  # (B, T + L, F)
        raise InputError(f"the hf-clip encoder reads images and videos, not {modality}")
