"""Meta's ImageBind (``imagebind``), NExT-GPT's own encoder: one model, every modality.

Needs the ``imagebind`` package (github.com/facebookresearch/ImageBind; not on PyPI) and a folder
holding ``imagebind_huge.pth``. Media go through ImageBind's own loaders (which read files), so
each batch is written to a temporary folder first. Features are the 1024-wide joint embedding:
``pooled`` (B, 1024) and ``tokens`` (B, 1, 1024).
"""

from __future__ import annotations

import importlib.util
import tempfile
from pathlib import Path

import torch

from omniweave.encoders import Features, Medium
from omniweave.errors import InputError
from omniweave.hub import resolve_path, runtime

CHECKPOINT = "imagebind_huge.pth"
_SUFFIX = {"image": ".png", "audio": ".wav", "video": ".mp4"}


def available() -> bool:
    return importlib.util.find_spec("imagebind") is not None


class ImageBindEncoder:
    modalities = ("image", "audio", "video")
    feature_width = 1024

    def __init__(self, path: str, *, dtype: str = "float32", frames: int = 8, device: str = "cpu"):
        if not available():
            raise InputError("encoder kind imagebind needs the imagebind package: pip install "
                             "git+https://github.com/facebookresearch/ImageBind")
        from imagebind.models import imagebind_model

        folder = resolve_path(path, component="imagebind encoder")
        checkpoint = folder / CHECKPOINT
        if not checkpoint.is_file():
            raise InputError(f"{folder}: no {CHECKPOINT}; download it from "
                             "https://dl.fbaipublicfiles.com/imagebind/imagebind_huge.pth")
        self.device, self.dtype = runtime(dtype, device)
        model = imagebind_model.imagebind_huge(pretrained=False)
        model.load_state_dict(torch.load(checkpoint, map_location="cpu"))
        self.model = model.to(self.device, self.dtype).eval().requires_grad_(False)

    @torch.no_grad()
    def encode(self, modality: str, media: list[Medium]) -> Features:
        from imagebind import data
        from imagebind.models.imagebind_model import ModalityType

        kinds = {"image": (ModalityType.VISION, data.load_and_transform_vision_data),
                 "audio": (ModalityType.AUDIO, data.load_and_transform_audio_data),
                 "video": (ModalityType.VISION, data.load_and_transform_video_data)}
        if modality not in kinds:
            raise InputError(f"the imagebind encoder reads images, audio and video, not {modality}")
        key, load = kinds[modality]
        with tempfile.TemporaryDirectory() as tmp:
            paths = [str(m.save(Path(tmp) / f"{k}{_SUFFIX[modality]}")) for k, m in enumerate(media)]
            x = load(paths, self.device)
        pooled = self.model({key: x.to(self.dtype)})[key].float().cpu()  # (B, 1024)
        return Features(pooled=pooled, tokens=pooled[:, None])
