"""Media values (image, audio, video) and the one place they are decoded, validated and saved."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import ClassVar

import av
import numpy as np
import soundfile as sf
from PIL import Image as PILImage
from PIL import ImageOps

from omniweave.errors import InputError
from omniweave.files import atomic_path

PathLike = str | os.PathLike
MODALITY_SUFFIXES: dict[str, tuple[str, ...]] = {
    "image": (".png", ".jpg", ".jpeg"),
    "audio": (".wav",),
    "video": (".mp4", ".gif"),
}
MP4_CRF = 8  # near-lossless H.264; yuv420p keeps it playable in browsers


def _uint8_array(name: str, value: object, shape: str) -> np.ndarray:
    """``value`` as a contiguous array if it is non-empty uint8 of ``shape``, else ValueError."""
    if not isinstance(value, np.ndarray) or value.dtype != np.uint8:
        got = getattr(value, "dtype", type(value).__name__)
        raise ValueError(f"{name} must be a uint8 numpy array, got {got}")
    if value.ndim != shape.count(",") + 1 or value.shape[-1] != 3 or 0 in value.shape:
        raise ValueError(f"{name} must have non-empty shape {shape}, got {value.shape}")
    return np.ascontiguousarray(value)


def _positive_int(name: str, value: object) -> int:
    """``value`` as an int if it is a positive integer, else ValueError."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def _check_suffix(path: PathLike, modality: str) -> Path:
    """``path`` as a Path if its suffix is one of ``modality``'s, else InputError."""
    path = Path(path)
    if path.suffix.lower() not in MODALITY_SUFFIXES[modality]:
        accepted = ", ".join(MODALITY_SUFFIXES[modality])
        raise InputError(f"{path}: cannot save {modality} as '{path.suffix}' (use {accepted})")
    return path


@dataclass
class Image:
    """An RGB image: ``pixels`` is uint8 (H, W, 3)."""

    pixels: np.ndarray
    modality: ClassVar[str] = "image"

    def __post_init__(self) -> None:
        self.pixels = _uint8_array("Image.pixels", self.pixels, "(H, W, 3)")

    def save(self, path: PathLike) -> Path:
        """Write a .png (lossless) or .jpg/.jpeg (quality 95) file atomically."""
        path = _check_suffix(path, "image")
        png = path.suffix.lower() == ".png"
        with atomic_path(path) as tmp:
            options = {"format": "PNG"} if png else {"format": "JPEG", "quality": 95}
            PILImage.fromarray(self.pixels).save(tmp, **options)
        return path

    def resize(self, size: tuple[int, int]) -> Image:
        """A copy resized to ``size`` = (width, height), bilinear."""
        w, h = (int(s) for s in size)
        if w <= 0 or h <= 0:
            raise ValueError(f"resize size must be positive (width, height), got {size}")
        resized = PILImage.fromarray(self.pixels).resize((w, h), PILImage.Resampling.BILINEAR)
        return Image(np.asarray(resized))


@dataclass
class Audio:
    """Mono audio: ``samples`` is float32 (N,) in [-1, 1] at ``sample_rate`` Hz."""

    samples: np.ndarray
    sample_rate: int
    modality: ClassVar[str] = "audio"

    def __post_init__(self) -> None:
        s = self.samples
        if not isinstance(s, np.ndarray) or not np.issubdtype(s.dtype, np.floating):
            got = getattr(s, "dtype", type(s).__name__)
            raise ValueError(f"Audio.samples must be a float numpy array, got {got}")
        if s.ndim != 1 or s.size == 0:
            raise ValueError(f"Audio.samples must have non-empty shape (N,), got {s.shape}")
        self.samples = np.ascontiguousarray(s, dtype=np.float32)
        if not np.isfinite(self.samples).all() or np.abs(self.samples).max() > 1.0:
            raise ValueError("Audio.samples must be finite and within [-1, 1]")
        self.sample_rate = _positive_int("Audio.sample_rate", self.sample_rate)

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return len(self.samples) / self.sample_rate

    def save(self, path: PathLike) -> Path:
        """Write a 16-bit PCM .wav file atomically."""
        path = _check_suffix(path, "audio")
        with atomic_path(path) as tmp:
            sf.write(tmp, self.samples, self.sample_rate, subtype="PCM_16", format="WAV")
        return path

    def resample(self, rate: int, lowpass_width: int = 6, rolloff: float = 0.99) -> Audio:
        """This audio at ``rate`` Hz, band-limited below both Nyquists (Hann-windowed sinc)."""
        rate = _positive_int("resample rate", rate)
        g = math.gcd(rate, self.sample_rate)
        up, down = rate // g, self.sample_rate // g
        x, n_out = self.samples.astype(np.float64), math.ceil(len(self.samples) * up / down)
        cutoff = min(up, down) * rolloff
        width = math.ceil(lowpass_width * down / cutoff)
        if up == down:
            out = x
        elif up * (2 * width + down) > 2**22:  # awkward ratio (48000 -> 44101): FFT band limit
            out = np.fft.irfft(np.fft.rfft(x)[: n_out // 2 + 1], n_out) * (n_out / len(x))
        else:  # polyphase: output phase j of each input block of `down` gets its own kernel
            t = np.arange(-width, width + down)[None, :] / down - np.arange(up)[:, None] / up
            t = np.clip(t * cutoff, -lowpass_width, lowpass_width)
            kernels = np.sinc(t) * np.cos(t * np.pi / lowpass_width / 2) ** 2 * (cutoff / down)
            padded = np.pad(x, (width, width + down))
            blocks = np.lib.stride_tricks.sliding_window_view(padded, kernels.shape[1])[::down]
            out = (blocks @ kernels.T).reshape(-1)[:n_out]
        return Audio(np.clip(out, -1.0, 1.0).astype(np.float32), rate)


@dataclass
class Video:
    """RGB video: ``frames`` is uint8 (F, H, W, 3) played at ``fps`` frames per second."""

    frames: np.ndarray
    fps: float
    modality: ClassVar[str] = "video"

    def __post_init__(self) -> None:
        self.frames = _uint8_array("Video.frames", self.frames, "(F, H, W, 3)")
        numeric = isinstance(self.fps, (int, float, np.number, Fraction)) and self.fps is not True
        if not (numeric and 0 < self.fps < math.inf):
            raise ValueError(f"Video.fps must be a positive finite number, got {self.fps!r}")
        self.fps = float(self.fps)

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return len(self.frames) / self.fps

    def save(self, path: PathLike) -> Path:
        """Write an .mp4 (H.264, odd sizes edge-padded to even) or looping .gif atomically."""
        path = _check_suffix(path, "video")
        with atomic_path(path) as tmp:
            (_write_gif if path.suffix.lower() == ".gif" else _write_mp4)(self, tmp)
        return path


def _write_mp4(video: Video, path: Path) -> None:
    """H.264 yuv420p, BT.709 limited range (converted and tagged), CRF ``MP4_CRF``."""
    _, h, w, _ = video.frames.shape
    frames = np.pad(video.frames, ((0, 0), (0, h % 2), (0, w % 2), (0, 0)), mode="edge")
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=Fraction(video.fps).limit_denominator(1001))
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        stream.options = {"crf": str(MP4_CRF), "preset": "medium"}
        cc = stream.codec_context
        cc.colorspace = cc.color_primaries = cc.color_trc = cc.color_range = 1  # BT.709, tv
        for i, pixels in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24").reformat(
                format="yuv420p", dst_colorspace="ITU709", dst_color_range="MPEG")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


def _write_gif(video: Video, path: Path) -> None:
    """Looping GIF, one undithered palette per frame (exact for frames of <= 256 colours)."""
    images = [_palette_image(f) for f in video.frames]
    images[0].save(path, format="GIF", save_all=True, append_images=images[1:], loop=0,
                   duration=max(10, round(1000 / video.fps)), optimize=False)


def _palette_image(rgb: np.ndarray) -> PILImage.Image:
    """A "P" image of ``rgb``: its own colours if <= 256 of them, else median cut, no dither."""
    packed = rgb.astype(np.uint32) @ np.array([1 << 16, 1 << 8, 1], dtype=np.uint32)
    colours, index = np.unique(packed.reshape(-1), return_inverse=True)
    if len(colours) > 256:
        return PILImage.fromarray(rgb).quantize(
            256, method=PILImage.Quantize.MEDIANCUT, dither=PILImage.Dither.NONE)
    image = PILImage.fromarray(index.reshape(rgb.shape[:2]).astype(np.uint8), mode="P")
    image.putpalette(np.stack([colours >> 16, colours >> 8, colours], 1).astype(np.uint8).tobytes())
    return image


Media = Image | Audio | Video


def modality_of(path: PathLike) -> str:
    """The modality ("image", "audio", "video") a file's suffix stands for."""
    suffix = Path(path).suffix.lower()
    for modality, suffixes in MODALITY_SUFFIXES.items():
        if suffix in suffixes:
            return modality
    accepted = ", ".join(s for ss in MODALITY_SUFFIXES.values() for s in ss)
    raise InputError(f"{path}: unsupported file type '{Path(path).suffix}' (accepted: {accepted})")


def _readable(path: PathLike) -> Path:
    """``path`` as a Path if it is an existing, non-empty file, else InputError."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: {'not a file' if path.exists() else 'file not found'}")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: file is empty")
    return path


def _unreadable(path: Path, kind: str, error: Exception) -> InputError:
    """An InputError saying ``path`` could not be decoded as ``kind``, with the library's reason."""
    reason = (str(getattr(error, "strerror", None) or error).strip().splitlines() or [""])[0]
    return InputError(f"{path}: cannot read {kind} ({reason or type(error).__name__})")


def load_image(path: PathLike) -> Image:
    """Read an image file as RGB (EXIF rotation applied, transparency composited on white)."""
    path = _readable(path)
    try:
        with PILImage.open(path) as im:
            im = ImageOps.exif_transpose(im)
            if im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info:
                white = PILImage.new("RGBA", im.size, "white")
                im = PILImage.alpha_composite(white, im.convert("RGBA"))
            pixels = np.asarray(im.convert("RGB"))
    except Exception as e:
        raise _unreadable(path, "image", e) from e
    return Image(pixels)


def load_audio(path: PathLike) -> Audio:
    """Read an audio file as mono float32 (channels averaged) at its own sample rate."""
    path = _readable(path)
    try:
        data, rate = sf.read(path, dtype="float32", always_2d=True)
    except Exception as e:
        raise _unreadable(path, "audio", e) from e
    if data.size == 0:
        raise InputError(f"{path}: audio has no samples")
    return Audio(np.clip(np.nan_to_num(data.mean(axis=1)), -1.0, 1.0), int(rate))


def _read_gif(path: Path, limit: float) -> tuple[list[np.ndarray], float]:
    """Frames and fps of a GIF; frames shown longer than the shortest one come back repeated."""
    frames, durations = [], []
    with PILImage.open(path) as im:
        for i in range(getattr(im, "n_frames", 1)):
            im.seek(i)
            frames.append(np.asarray(im.convert("RGB")))
            durations.append(im.info.get("duration") or 100)
    step = min(durations)
    frames = [f for f, d in zip(frames, durations, strict=True) for _ in range(round(d / step))]
    return frames[: int(min(limit, len(frames)))], 1000 / step


def _read_av(path: Path, limit: float) -> tuple[list[np.ndarray], float]:
    """Frames and fps of the first video stream of any file FFmpeg reads."""
    frames = []
    with av.open(str(path)) as container:
        if not container.streams.video:
            raise InputError(f"{path}: no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for frame in container.decode(stream):
            frames.append(frame.to_ndarray(format="rgb24"))
            if len(frames) >= limit:
                break
        if len(frames) < min(limit, 0.9 * stream.frames):
            raise InputError(f"{path}: truncated video ({len(frames)} of {stream.frames} frames)")
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    return frames, float(rate) if rate else 25.0


def load_video(path: PathLike, max_frames: int | None = None) -> Video:
    """Read an .mp4 (or anything FFmpeg reads) or a .gif as RGB frames, at most ``max_frames``."""
    path = _readable(path)
    limit = math.inf if max_frames is None else _positive_int("max_frames", max_frames)
    try:
        frames, fps = (_read_gif if path.suffix.lower() == ".gif" else _read_av)(path, limit)
    except InputError:
        raise
    except Exception as e:
        raise _unreadable(path, "video", e) from e
    if not frames:
        raise InputError(f"{path}: video has no frames")
    return Video(np.stack(frames), fps)


_LOADERS = {"image": load_image, "audio": load_audio, "video": load_video}


def load_media(path: PathLike, modality: str | None = None) -> Media:
    """Read a media file of the modality its suffix names (which must be ``modality`` if given)."""
    if modality is not None and modality not in MODALITY_SUFFIXES:
        known = ", ".join(MODALITY_SUFFIXES)
        raise InputError(f"{path}: unknown modality '{modality}' (use {known})")
    actual = modality_of(path)
    if modality is not None and modality != actual:
        expected = ", ".join(MODALITY_SUFFIXES[modality])
        raise InputError(f"{path}: is {actual}, expected {modality} ({expected})")
    return _LOADERS[actual](path)


def save_media(media: Media, path: PathLike) -> Path:
    """Write ``media`` to ``path``, whose suffix must fit its modality; returns the path."""
    if not isinstance(media, (Image, Audio, Video)):
        raise TypeError(f"save_media expects Image, Audio or Video, got {type(media).__name__}")
    return media.save(path)
