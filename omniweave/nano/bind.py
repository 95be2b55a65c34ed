"""ShapeBind: nano's ImageBind — image, audio, video and text towers in one embedding space.

Each tower is a stock transformers model at a tiny size (CLIP vision for images, the Audio
Spectrogram Transformer for log-mel audio, VideoMAE for clips, CLIP text for captions); a linear
head per tower maps its pooled output into the shared space.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from transformers import (
    ASTConfig,
    ASTModel,
    CLIPTextConfig,
    CLIPTextModel,
    CLIPVisionConfig,
    CLIPVisionModel,
    PretrainedConfig,
    PreTrainedModel,
    PreTrainedTokenizerFast,
    VideoMAEConfig,
    VideoMAEModel,
)

from omniweave.media import Audio, Image, Video
from omniweave.nano.components import require_component
from omniweave.nano.mel import MEL, audio_to_mel

MEDIA_MODALITIES = ("image", "audio", "video")


class ShapeBindConfig(PretrainedConfig):
    model_type = "shapebind"

    def __init__(self, text_config: dict | None = None, image_config: dict | None = None,
                 audio_config: dict | None = None, video_config: dict | None = None,
                 projection_dim: int = 128, image_size: int = 32, **kwargs: Any):
        super().__init__(**kwargs)
        width = dict(hidden_size=128, num_hidden_layers=2, num_attention_heads=4, intermediate_size=256)
        self.text_config = text_config or dict(width, vocab_size=2048, max_position_embeddings=32)
        self.image_config = image_config or dict(width, image_size=image_size, patch_size=4)
        self.audio_config = audio_config or dict(
            width, num_mel_bins=MEL.n_mels, max_length=MEL.n_frames, patch_size=8,
            frequency_stride=8, time_stride=8)
        self.video_config = video_config or dict(
            width, image_size=image_size, patch_size=8, num_frames=8, tubelet_size=2,
            use_mean_pooling=False)
        self.projection_dim = projection_dim
        self.image_size = image_size


class ShapeBindModel(PreTrainedModel):
    """Four towers and their heads; ``embed(modality, inputs)`` gives unit vectors (B, D)."""

    config_class = ShapeBindConfig
    base_model_prefix = "shapebind"
    main_input_name = "input_ids"

    def __init__(self, config: ShapeBindConfig):
        super().__init__(config)
        self.text_model = CLIPTextModel(CLIPTextConfig(**config.text_config))
        self.image_model = CLIPVisionModel(CLIPVisionConfig(**config.image_config))
        self.audio_model = ASTModel(ASTConfig(**config.audio_config))
        self.video_model = VideoMAEModel(VideoMAEConfig(**config.video_config))
        d = config.projection_dim
        self.heads = nn.ModuleDict({
            "text": nn.Linear(config.text_config["hidden_size"], d, bias=False),
            "image": nn.Linear(config.image_config["hidden_size"], d, bias=False),
            "audio": nn.Linear(config.audio_config["hidden_size"], d, bias=False),
            "video": nn.Linear(config.video_config["hidden_size"], d, bias=False),
        })
        self.logit_scale = nn.Parameter(torch.tensor(np.log(1 / 0.07), dtype=torch.float32))
        self.post_init()

    def _init_weights(self, module: nn.Module) -> None:
        if isinstance(module, nn.Linear) and module in self.heads.values():
            nn.init.normal_(module.weight, std=module.in_features**-0.5)

    # ------------------------------------------------------------ features
    def features(self, modality: str, inputs: torch.Tensor,
                 attention_mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Token features (B, L, H) and the pooled vector (B, H) of one tower."""
        if modality == "text":
            out = self.text_model(input_ids=inputs, attention_mask=attention_mask)
            mask = (attention_mask if attention_mask is not None else torch.ones_like(inputs)).unsqueeze(-1)
            pooled = (out.last_hidden_state * mask).sum(1) / mask.sum(1).clamp_min(1)
            return out.last_hidden_state, pooled
        if modality == "image":
            out = self.image_model(pixel_values=inputs)
            return out.last_hidden_state, out.pooler_output
        if modality == "audio":
            out = self.audio_model(input_values=inputs)
            return out.last_hidden_state, out.pooler_output
        if modality == "video":
            out = self.video_model(pixel_values=inputs)
            return out.last_hidden_state, out.last_hidden_state.mean(1)
        raise ValueError(f"unknown modality {modality!r}")

    def embed(self, modality: str, inputs: torch.Tensor,
              attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Unit-norm embeddings (B, projection_dim) in the shared space."""
        _, pooled = self.features(modality, inputs, attention_mask)
        return nn.functional.normalize(self.heads[modality](pooled), dim=-1)


# ------------------------------------------------------------ preprocessing
def preprocess(media: list[Image | Audio | Video], image_size: int = 32) -> torch.Tensor:
    """Turn same-modality media into the tower's input batch.

    image -> (B, 3, S, S) in [-1, 1]; video -> (B, F, 3, S, S); audio -> (B, frames, mels) log-mel.
    """
    kind = media[0].modality
    if any(m.modality != kind for m in media):
        raise ValueError("preprocess takes media of one modality at a time")
    if kind == "image":
        arrs = [m.pixels if m.pixels.shape[:2] == (image_size, image_size)
                else m.resize((image_size, image_size)).pixels for m in media]
        x = torch.from_numpy(np.stack(arrs)).permute(0, 3, 1, 2)
        return x.float() / 127.5 - 1
    if kind == "video":
        clips = []
        for m in media:
            frames = m.frames
            idx = np.linspace(0, len(frames) - 1, 8).round().astype(int)
            frames = frames[idx]
            if frames.shape[1:3] != (image_size, image_size):
                frames = np.stack([Image(f).resize((image_size, image_size)).pixels for f in frames])
            clips.append(frames)
        x = torch.from_numpy(np.stack(clips)).permute(0, 1, 4, 2, 3)
        return x.float() / 127.5 - 1
    waves = [m.samples if m.sample_rate == MEL.sample_rate else m.resample(MEL.sample_rate).samples
             for m in media]
    mel = torch.stack([audio_to_mel(w) for w in waves])  # (B, mels, frames)
    return mel.transpose(1, 2)


def load_bind(path: str | Path | None = None, device: str | torch.device = "cpu"
              ) -> tuple[ShapeBindModel, PreTrainedTokenizerFast]:
    """A saved ShapeBind (default: the shipped one) in float32, eval mode, and its tokenizer."""
    path = path or require_component("bind")
    model = ShapeBindModel.from_pretrained(path, dtype=torch.float32).to(device).eval()
    return model, PreTrainedTokenizerFast.from_pretrained(path)
