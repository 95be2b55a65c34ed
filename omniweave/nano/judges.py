"""Measurement judges for ShapeWorld: read every attribute back from raw media (no learned model).

Each judge returns ``{attribute: value}`` with values from the world's vocabulary, or ``"none"``
when the medium holds nothing to measure (an all-black image, silence). The measurements are the
ones WORLD.md promises: dominant color, bounding-box fill ratio, centroid, fundamental frequency,
harmonic content, amplitude envelope and centroid track. They tolerate noise, blur, MP4 chroma
subsampling and vocoder smearing, so generated media can be scored with them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from omniweave.media import Audio, Image, Video
from omniweave.nano.world import (
    COLORS,
    IMAGE_SIZE,
    PITCHES,
    POSITION_X,
    SAMPLE_RATE,
    SIZE_PX,
    Spec,
    attributes,
    shape_mask,
)

NONE = "none"
Medium = Image | Audio | Video | np.ndarray
_FILL = {"circle": np.pi / 4, "square": 1.0, "triangle": 0.5}  # of the bounding box
_PALETTE = {name: np.array(rgb, np.float64) / max(rgb) for name, rgb in COLORS.items()}


# ---------------------------------------------------------------- pictures (images, video frames)
def _rgb(pixels: np.ndarray) -> np.ndarray:
    """(..., H, W, 3) float in 0..255 from uint8/float/grayscale pixels."""
    x = np.asarray(pixels, np.float64)
    if np.issubdtype(np.asarray(pixels).dtype, np.floating) and x.size and x.max() <= 1.0:
        x = x * 255.0
    if x.shape[-1] == 4:  # RGBA
        x = x[..., :3]
    elif x.shape[-1] != 3:  # grayscale (..., H, W) or (..., H, W, 1)
        x = np.repeat(x[..., None] if x.shape[-1] != 1 else x, 3, axis=-1)
    return x


def _levels(brightness: np.ndarray) -> tuple[float, float] | None:
    """(background, foreground) brightness, or None when nothing stands out of the background."""
    floor, peak = float(np.median(brightness)), float(np.percentile(brightness, 99.5))
    return None if peak - floor < 32.0 else (floor, peak)


def _neighbours(a: np.ndarray) -> np.ndarray:
    """(9, H, W): each pixel's 3x3 neighbourhood (zero-padded)."""
    h, w = a.shape
    p = np.pad(a, 1)
    return np.stack([p[i : i + h, j : j + w] for i in range(3) for j in range(3)])


def _largest_component(mask: np.ndarray) -> np.ndarray:
    """The largest 8-connected component of a boolean (H, W) mask."""
    labels = np.where(mask, np.arange(1, mask.size + 1).reshape(mask.shape), 0)
    while True:  # spread the largest label through each component until nothing changes
        grown = np.where(mask, _neighbours(labels).max(axis=0), 0)
        if np.array_equal(grown, labels):
            break
        labels = grown
    ids, counts = np.unique(labels[mask], return_counts=True)
    return labels == ids[np.argmax(counts)]


@dataclass
class _Blob:
    """One frame's shape: its mask, centroid, and per-shape (template error, implied width)."""

    mask: np.ndarray
    cx: float
    cy: float
    error: dict[str, float]
    width: dict[str, float]
    inside: bool  # clear of the frame's border


def _blob(bright: np.ndarray, floor: float, peak: float) -> _Blob | None:
    """Find the shape and match it against each shape's drawing.

    Blur keeps the shape's mass (soft pixel coverage) and centroid, so each hypothesis with its
    fill ratio of the bounding box (square 1, circle pi/4, triangle 1/2; triangle's centroid 1/6
    of the height below the box's centre) predicts a drawing; the best-matching one wins and its
    box width is the size."""
    raw = bright > floor + 0.5 * (peak - floor)
    if not raw.any():
        return None
    mask = _largest_component(raw)
    near = _neighbours(_neighbours(mask).any(axis=0)).any(axis=0)
    soft = np.where(near, (bright - floor) / (peak - floor), 0.0)
    mass = float(soft.sum())
    h, w = bright.shape
    ys, xs = np.mgrid[0:h, 0:w] + 0.5
    cx, cy = float((soft * xs).sum() / mass), float((soft * ys).sum() / mass)
    seen = _neighbours(soft).mean(axis=0)
    error, width = {}, {}
    for shape, fill in _FILL.items():
        width[shape] = float(np.sqrt(mass / fill))
        box_cy = cy - width[shape] / 6 if shape == "triangle" else cy
        drawn = shape_mask(shape, cx, box_cy, width[shape], max(h, w))[:h, :w].astype(np.float64)
        error[shape] = float(np.abs(seen - _neighbours(drawn).mean(axis=0)).sum() / mass)
    ys_m, xs_m = np.nonzero(mask)
    inside = bool(xs_m.min() > 0 and ys_m.min() > 0 and xs_m.max() < w - 1 and ys_m.max() < h - 1)
    return _Blob(mask, cx, cy, error, width, inside)


def _color(rgb: np.ndarray, core: np.ndarray, background: np.ndarray) -> str:
    """Nearest palette color by chromaticity (RGB scaled so its largest channel is 1)."""
    if not core.any():
        return NONE
    c = np.median(rgb[core], axis=0) - np.median(rgb[background], axis=0)
    c = np.clip(c, 0.0, None) / max(float(c.max()), 1e-6)
    return min(_PALETTE, key=lambda name: float(np.sum((_PALETTE[name] - c) ** 2)))


def _nearest(value: float, table: dict[str, float]) -> str:
    return min(table, key=lambda k: abs(table[k] - value))


def judge_image(image: Image | np.ndarray) -> dict[str, str]:
    """{size, color, shape, position} of the one shape on a dark background."""
    rgb = _rgb(image.pixels if isinstance(image, Image) else image)
    bright = rgb.max(axis=-1)
    levels = _levels(bright)
    blob = _blob(bright, *levels) if levels else None
    if levels is None or blob is None:
        return dict.fromkeys(attributes("image"), NONE)
    floor, peak = levels
    shape = min(blob.error, key=blob.error.__getitem__)
    scale = IMAGE_SIZE / bright.shape[1]  # positions and sizes are in 32-pixel units
    return {
        "size": _nearest(blob.width[shape] * scale, {k: float(v) for k, v in SIZE_PX.items()}),
        "color": _color(rgb, blob.mask & (bright > floor + 0.75 * (peak - floor)), ~blob.mask),
        "shape": shape,
        "position": _nearest(blob.cx * scale, {k: float(v) for k, v in POSITION_X.items()}),
    }


def judge_video(video: Video | np.ndarray) -> dict[str, str]:
    """{color, shape, direction} of the one moving shape (frames (F, H, W, 3))."""
    rgb = _rgb(video.frames if isinstance(video, Video) else video)
    bright = rgb.max(axis=-1)
    levels = _levels(bright)
    found = [] if levels is None else [(t, _blob(b, *levels)) for t, b in enumerate(bright)]
    found = [(t, b) for t, b in found if b is not None]
    if levels is None or not found:
        return dict.fromkeys(attributes("video"), NONE)
    floor, peak = levels
    masks = np.zeros(bright.shape, bool)
    for t, b in found:
        masks[t] = b.mask
    whole = [b for _, b in found if b.inside] or [b for _, b in found]
    error = {s: sum(b.error[s] for b in whole) for s in _FILL}
    direction = NONE
    if len(found) >= 2:
        t, x, y = np.array([(t, b.cx, b.cy) for t, b in found]).T
        sx, sy = np.polyfit(t, x, 1)[0], np.polyfit(t, y, 1)[0]
        if abs(sx) >= abs(sy):
            direction = "right" if sx > 0 else "left"
        else:
            direction = "down" if sy > 0 else "up"
    return {
        "color": _color(rgb, masks & (bright > floor + 0.75 * (peak - floor)), ~masks),
        "shape": min(error, key=error.__getitem__),
        "direction": direction,
    }


# ---------------------------------------------------------------- audio
def _mono(samples: np.ndarray) -> np.ndarray:
    x = np.asarray(samples)
    scale = float(np.iinfo(x.dtype).max) + 1.0 if np.issubdtype(x.dtype, np.integer) else 1.0
    x = x.astype(np.float64) / scale
    if x.ndim == 2:  # (n, channels) or (channels, n)
        x = x.mean(axis=int(np.argmin(x.shape)))
    return x.reshape(-1)


def _band(power: np.ndarray, freqs: np.ndarray, lo: float, hi: float) -> float:
    return float(power[(freqs >= lo) & (freqs <= hi)].sum())


def _fundamental(power: np.ndarray, freqs: np.ndarray) -> float | None:
    """Lowest strong peak of the spectrum (on a log-frequency grid, one-semitone windows)."""
    grid = 80.0 * 2.0 ** (np.arange(0, 5 * 48) / 48)  # 80 Hz .. ~2.6 kHz, 1/48 octave steps
    grid = grid[grid * 2 ** (1 / 12) < freqs[-1]]
    cum = np.concatenate([[0.0], np.cumsum(power)])
    lo = np.searchsorted(freqs, grid * 2 ** (-1 / 12))
    hi = np.searchsorted(freqs, grid * 2 ** (1 / 12), side="right")
    energy = cum[hi] - cum[lo]
    if not len(energy) or energy.max() <= 0:
        return None
    padded = np.concatenate([[-1.0], energy, [-1.0]])
    peaks = (energy >= padded[:-2]) & (energy >= padded[2:]) & (energy >= 0.25 * energy.max())
    g = grid[np.argmax(peaks)]
    sel = (freqs >= g * 2 ** (-1 / 12)) & (freqs <= g * 2 ** (1 / 12))
    return float(np.sum(freqs[sel] * power[sel]) / max(float(power[sel].sum()), 1e-30))


def _rhythm(x: np.ndarray, sample_rate: float) -> str:
    """Pulsing when the 10 ms RMS envelope is strongly modulated at 2.5-6 Hz."""
    hop = max(1, int(round(sample_rate / 100)))
    n = len(x) // hop
    if n < 8:
        return "steady"
    env = np.sqrt(np.mean(x[: n * hop].reshape(n, hop) ** 2, axis=1))
    t = np.arange(n) / 100.0
    rates = np.arange(2.5, 6.01, 0.25)
    spectrum = np.abs(np.exp(-2j * np.pi * np.outer(rates, t)) @ (env - env.mean()))
    depth = 2 * spectrum.max() / max(float(env.sum()), 1e-12)  # 1.27 for 50% on/off, 0 if steady
    return "pulsing" if depth > 0.5 else "steady"


def judge_audio(audio: Audio | np.ndarray, sample_rate: float = SAMPLE_RATE) -> dict[str, str]:
    """{rhythm, pitch, timbre} of a tone, at any sample rate."""
    if isinstance(audio, Audio):
        audio, sample_rate = audio.samples, audio.sample_rate
    x = _mono(audio)
    x = x - x.mean() if len(x) else x
    if len(x) < 64 or np.sqrt(np.mean(x**2)) < 1e-4:
        return dict.fromkeys(attributes("audio"), NONE)
    power = np.abs(np.fft.rfft(x * np.hanning(len(x)))) ** 2
    freqs = np.fft.rfftfreq(len(x), 1.0 / sample_rate)
    f0 = _fundamental(power, freqs)
    if f0 is None:
        return dict.fromkeys(attributes("audio"), NONE)
    amp = [np.sqrt(_band(power, freqs, k * f0 - f0 / 4, k * f0 + f0 / 4)) for k in (1, 2, 3)]
    even, odd = amp[1] / amp[0], amp[2] / amp[0]  # sawtooth ~1/2, 1/3; square ~0, 1/3; sine ~0, 0
    if max(even, odd) < 0.12:
        timbre = "sine"
    else:
        timbre = "sawtooth" if even > 0.5 * odd else "square"
    logs = {k: float(np.log2(v)) for k, v in PITCHES.items()}
    return {"rhythm": _rhythm(x, sample_rate), "pitch": _nearest(float(np.log2(f0)), logs),
            "timbre": timbre}


# ---------------------------------------------------------------- dispatch and scoring
def judge(medium: Medium, modality: str | None = None) -> dict[str, str]:
    """Judge any medium as ``modality`` (default: its own; plain arrays by shape: 1-D or
    (n, channels) audio, (H, W[, 3]) image, (F, H, W, 3) video). A medium of another modality
    than the one asked for judges "none"."""
    if isinstance(medium, (Image, Audio, Video)):
        if modality not in (None, medium.modality):
            return dict.fromkeys(attributes(modality), NONE)
        modality = medium.modality
    elif modality is None:
        arr = np.asarray(medium)
        stereo = arr.ndim == 2 and min(arr.shape) <= 8
        modality = {1: "audio", 4: "video"}.get(arr.ndim, "audio" if stereo else "image")
    return {"image": judge_image, "audio": judge_audio, "video": judge_video}[modality](medium)


def score(spec: Spec, medium: Medium) -> dict[str, bool]:
    """Per attribute: did the medium show the spec's value?"""
    judged = judge(medium, spec.modality)
    return {name: judged[name] == getattr(spec, name) for name in attributes(spec.modality)}


def all_correct(spec: Spec, medium: Medium) -> bool:
    """True when every attribute of ``spec`` was judged right."""
    return all(score(spec, medium).values())


def accuracy(pairs: Iterable[tuple[Spec, Medium]]) -> dict[str, float]:
    """Per-attribute accuracy plus "all" (fraction with every attribute right); {} if no pairs."""
    hits: dict[str, list[bool]] = {}
    for spec, medium in pairs:
        s = score(spec, medium)
        for name, ok in s.items():
            hits.setdefault(name, []).append(ok)
        hits.setdefault("all", []).append(all(s.values()))
    return {name: float(np.mean(v)) for name, v in hits.items()}
