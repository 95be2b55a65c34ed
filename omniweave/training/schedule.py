"""Learning-rate schedules shared by every training loop (stages and nano recipes)."""

from __future__ import annotations

import math

import torch


def warmup_cosine(optimizer: torch.optim.Optimizer, total: int, warmup: int = 50,
                  floor: float = 0.05) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up, then cosine decay to ``floor`` of the peak rate."""
    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))
    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
