"""ShapeBind, nano's ImageBind: one frozen model with an image, an audio and a video tower."""

from __future__ import annotations

import torch

from omniweave.encoders import Features, Medium
from omniweave.hub import resolve_path
from omniweave.nano.bind import load_bind, preprocess


class NanoBindEncoder:
    def __init__(self, path: str = "nano:bind"):
        self.model, _ = load_bind(resolve_path(path))
        self.model.requires_grad_(False)
        self.feature_width = self.model.config.image_config["hidden_size"]

    @torch.no_grad()
    def encode(self, modality: str, media: list[Medium]) -> Features:
        tokens, pooled = self.model.features(modality, preprocess(media))
        return Features(pooled=pooled, tokens=tokens)
