"""The CLAP audio tower (``hf-clap``), e.g. ``laion/clap-htsat-unfused``.

Audio is resampled to the feature extractor's rate (``Audio.resample``) and cut to its window
(the first ``max_length_s`` seconds: deterministic, where CLAP's own ``rand_trunc`` is random).
Features are CLAP's joint-space width (``projection_dim``): ``pooled`` is the audio embedding
(``audio_projection`` of the pooled HTSAT state), ``tokens`` the same projection applied to each
of HTSAT's last hidden states (frequency x time patches).
"""

from __future__ import annotations

import torch

from omniweave.encoders import Features, Medium
from omniweave.encoders._common import chunks, quiet_transformers
from omniweave.errors import InputError
from omniweave.hub import resolve_path, runtime

BATCH = 32  # clips per forward pass


class HFClapEncoder:
    modalities = ("audio",)

    def __init__(self, path: str, *, dtype: str = "float32", device: str = "cpu"):
        from transformers import AutoFeatureExtractor, ClapAudioModelWithProjection

        folder = resolve_path(path, component="audio encoder")
        self.device, self.dtype = runtime(dtype, device)
        with quiet_transformers():
            self.model = ClapAudioModelWithProjection.from_pretrained(folder, dtype=self.dtype)
        self.model.to(self.device).eval().requires_grad_(False)
        self.extractor = AutoFeatureExtractor.from_pretrained(folder)
        self.rate = int(self.extractor.sampling_rate)
        self.window = int(self.extractor.nb_max_samples)
        self.feature_width = self.model.config.projection_dim

    @torch.no_grad()
    def encode(self, modality: str, media: list[Medium]) -> Features:
        if modality != "audio":
            raise InputError(f"the hf-clap encoder reads audio, not {modality}")
        waves = [a.resample(self.rate).samples[: self.window] for a in media]
        pooled, tokens = [], []
        for part in chunks(waves, BATCH):
            x = self.extractor(part, sampling_rate=self.rate, return_tensors="pt")
            x = {k: v.to(self.device, self.dtype if v.is_floating_point() else v.dtype)
                 for k, v in x.items()}
            out = self.model.audio_model(**x)
            grid = out.last_hidden_state.flatten(2).transpose(1, 2)  # (B, freq x time, C)
            project = self.model.audio_projection
            pooled.append(project(out.pooler_output).float().cpu())  # (B, P)
            tokens.append(project(grid).float().cpu())  # (B, L, P)
        return Features(pooled=torch.cat(pooled), tokens=torch.cat(tokens))
