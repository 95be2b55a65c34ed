"""Pieces every nano recipe shares: devices, schedules, world data, tokenizing captions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from transformers import PreTrainedTokenizerFast

from omniweave.nano import world
from omniweave.nano.components import require_component


def pick_device(device: str = "auto") -> torch.device:
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(device)


def load_world_tokenizer(path: Path | None = None) -> PreTrainedTokenizerFast:
    """The nano BPE tokenizer (built by ``omniweave nano build tokenizer``)."""
    return PreTrainedTokenizerFast.from_pretrained(path or require_component("tokenizer"))


def tokenize(tokenizer: PreTrainedTokenizerFast, texts: list[str], max_length: int
             ) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded ids and mask of exactly ``max_length`` tokens (longer texts are an error)."""
    enc = tokenizer(texts, padding="max_length", max_length=max_length, truncation=False,
                    return_tensors="pt", add_special_tokens=False)
    if enc.input_ids.shape[1] > max_length:
        longest = max(texts, key=lambda t: len(tokenizer(t, add_special_tokens=False).input_ids))
        raise ValueError(f"caption {longest!r} is longer than {max_length} tokens")
    return enc.input_ids, enc.attention_mask


def world_samples(modality: str, n: int, seed: int) -> tuple[list[world.Spec], list]:
    """``n`` random (spec, medium) pairs; seeds ``seed*10**6 + i`` so splits never overlap."""
    pairs = [world.sample(modality, seed * 1_000_000 + i) for i in range(n)]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def seed_everything(seed: int) -> np.random.Generator:
    torch.manual_seed(seed)
    return np.random.default_rng(seed)
