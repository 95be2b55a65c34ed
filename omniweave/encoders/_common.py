"""What the transformers-backed encoders share: quiet loading, frame sampling, chunked batches."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np


@contextmanager
def quiet_transformers() -> Iterator[None]:
    """No load report while a tower is read out of a larger checkpoint (its other half is
    expected to be left out: CLIP's text tower, CLAP's text tower)."""
    from transformers.utils import logging

    level = logging.get_verbosity()
    logging.set_verbosity_error()
    try:
        yield
    finally:
        logging.set_verbosity(level)


def sample_frames(frames: np.ndarray, n: int) -> np.ndarray:
    """``n`` frames spread uniformly over a (F, H, W, 3) clip (repeated when it is shorter)."""
    index = np.linspace(0, len(frames) - 1, n).round().astype(int)
    return frames[index]


def chunks(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]
