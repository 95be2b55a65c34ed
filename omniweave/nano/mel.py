"""Log-mel spectrograms and a Griffin-Lim vocoder: the nano audio encoder's input and decoder's output.

A 1-second, 16 kHz clip becomes a (64 mel, 64 frame) image scaled to [-1, 1]; ``mel_to_audio``
inverts it (mel pseudo-inverse, then Griffin-Lim phase recovery).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch
from transformers.audio_utils import mel_filter_bank


@dataclass(frozen=True)
class MelConfig:
    sample_rate: int = 16_000
    n_fft: int = 1024
    hop_length: int = 250
    n_mels: int = 64
    n_frames: int = 64
    db_floor: float = -80.0  # dB below full scale mapped to -1
    db_ceil: float = 20.0  # mapped to +1

    @property
    def num_samples(self) -> int:
        return self.hop_length * self.n_frames

    @cached_property
    def filters(self) -> torch.Tensor:
        """(n_mels, n_fft // 2 + 1) slaney-normalised mel filters."""
        fb = mel_filter_bank(
            num_frequency_bins=self.n_fft // 2 + 1, num_mel_filters=self.n_mels, min_frequency=0.0,
            max_frequency=self.sample_rate / 2, sampling_rate=self.sample_rate, norm="slaney",
            mel_scale="slaney",
        )
        return torch.from_numpy(fb.T.astype(np.float32))

    @cached_property
    def inverse_filters(self) -> torch.Tensor:
        return torch.linalg.pinv(self.filters)


MEL = MelConfig()


def _fit_length(samples: torch.Tensor, n: int) -> torch.Tensor:
    if samples.shape[-1] >= n:
        return samples[..., :n]
    return torch.nn.functional.pad(samples, (0, n - samples.shape[-1]))


def audio_to_mel(samples: np.ndarray | torch.Tensor, cfg: MelConfig = MEL) -> torch.Tensor:
    """(..., N) waveform at ``cfg.sample_rate`` -> (..., n_mels, n_frames) log-mel in [-1, 1]."""
    x = torch.as_tensor(samples, dtype=torch.float32)
    x = _fit_length(x, cfg.num_samples)
    lead = x.shape[:-1]
    spec = torch.stft(x.reshape(-1, x.shape[-1]), cfg.n_fft, cfg.hop_length,
                      window=torch.hann_window(cfg.n_fft), return_complex=True).abs()
    mel = cfg.filters @ spec[..., : cfg.n_frames]  # (B, n_mels, n_frames)
    db = 20 * torch.log10(mel.clamp_min(1e-6))
    scaled = (db - cfg.db_floor) / (cfg.db_ceil - cfg.db_floor) * 2 - 1
    return scaled.clamp(-1, 1).reshape(*lead, cfg.n_mels, cfg.n_frames)


def mel_to_audio(mel: np.ndarray | torch.Tensor, cfg: MelConfig = MEL, iterations: int = 48,
                 seed: int = 0) -> torch.Tensor:
    """(..., n_mels, n_frames) log-mel in [-1, 1] -> (..., num_samples) waveform (Griffin-Lim)."""
    m = torch.as_tensor(mel, dtype=torch.float32)
    lead = m.shape[:-2]
    m = m.reshape(-1, cfg.n_mels, cfg.n_frames).clamp(-1, 1)
    db = (m + 1) / 2 * (cfg.db_ceil - cfg.db_floor) + cfg.db_floor
    magnitude = (cfg.inverse_filters @ 10 ** (db / 20)).clamp_min(0)  # (B, F, T)
    magnitude = torch.nn.functional.pad(magnitude, (0, 1))  # stft(center) has n_frames + 1 columns
    window = torch.hann_window(cfg.n_fft)
    length = cfg.num_samples
    gen = torch.Generator().manual_seed(seed)
    angles = torch.exp(2j * torch.pi * torch.rand(magnitude.shape, generator=gen))
    for _ in range(iterations):
        wave = torch.istft(magnitude * angles, cfg.n_fft, cfg.hop_length, window=window, length=length)
        rebuilt = torch.stft(wave, cfg.n_fft, cfg.hop_length, window=window, return_complex=True)
        angles = torch.exp(1j * rebuilt.angle())
    wave = torch.istft(magnitude * angles, cfg.n_fft, cfg.hop_length, window=window, length=length)
    return wave.reshape(*lead, length)
