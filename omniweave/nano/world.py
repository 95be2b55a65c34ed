"""ShapeWorld: the small procedural world the nano preset lives in (contract: shared/WORLD.md).

Every medium is described by a *spec* (a frozen dataclass of attribute values) with one canonical
caption. ``render(spec, rng)`` draws it; with ``rng=None`` the drawing is the exact canonical one,
with an ``np.random.Generator`` small nuisances vary (position, size, phase, amplitude) so that
held-out seeds are really held out.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from omniweave.errors import InputError
from omniweave.files import atomic_path
from omniweave.media import Audio, Image, Video

# ---------------------------------------------------------------- vocabulary (WORLD.md)
SHAPES = ("circle", "square", "triangle")
COLORS: dict[str, tuple[int, int, int]] = {
    "red": (255, 0, 0),
    "green": (0, 255, 0),
    "blue": (0, 0, 255),
    "yellow": (255, 255, 0),
    "purple": (160, 32, 240),
    "cyan": (0, 255, 255),
}
SIZES = ("small", "large")
POSITIONS = ("left", "center", "right")
DIRECTIONS = ("left", "right", "up", "down")
PITCHES: dict[str, float] = {"low": 220.0, "mid": 440.0, "high": 880.0}
TIMBRES = ("sine", "square", "sawtooth")
RHYTHMS = ("steady", "pulsing")

IMAGE_SIZE = 32
SIZE_PX = {"small": 10, "large": 20}
POSITION_X = {"left": 10, "center": 16, "right": 22}
SAMPLE_RATE = 16_000
AUDIO_SECONDS = 1.0
PULSES_PER_SECOND = 4
VIDEO_FRAMES = 8
VIDEO_FPS = 4.0
VIDEO_SHAPE_PX = 10
VIDEO_TRACK = (6.0, 26.0)  # start and end of the centre along the motion axis, in pixels

VOCABULARY: dict[str, tuple[str, ...]] = {
    "shape": SHAPES,
    "color": tuple(COLORS),
    "size": SIZES,
    "position": POSITIONS,
    "direction": DIRECTIONS,
    "pitch": tuple(PITCHES),
    "timbre": TIMBRES,
    "rhythm": RHYTHMS,
}
WORDS: dict[str, str] = {v: k for k, vals in VOCABULARY.items() for v in vals if k != "timbre"}
# "square" is both a shape and a timbre: the caption's form decides which.


# ---------------------------------------------------------------- specs and captions
@dataclass(frozen=True)
class ImageSpec:
    size: str
    color: str
    shape: str
    position: str
    modality: ClassVar[str] = "image"

    @property
    def caption(self) -> str:
        where = "in the center" if self.position == "center" else f"on the {self.position}"
        return f"a {self.size} {self.color} {self.shape} {where}"


@dataclass(frozen=True)
class AudioSpec:
    rhythm: str
    pitch: str
    timbre: str
    modality: ClassVar[str] = "audio"

    @property
    def caption(self) -> str:
        return f"a {self.rhythm} {self.pitch} {self.timbre} tone"


@dataclass(frozen=True)
class VideoSpec:
    color: str
    shape: str
    direction: str
    modality: ClassVar[str] = "video"

    @property
    def caption(self) -> str:
        return f"a {self.color} {self.shape} moving {self.direction}"


Spec = ImageSpec | AudioSpec | VideoSpec
SPEC_TYPES: dict[str, type] = {"image": ImageSpec, "audio": AudioSpec, "video": VideoSpec}
MODALITIES = tuple(SPEC_TYPES)


def attributes(modality: str) -> tuple[str, ...]:
    """The attribute names of a modality, in caption order."""
    return tuple(f.name for f in dataclasses.fields(SPEC_TYPES[modality]))


def spec_dict(spec: Spec) -> dict[str, str]:
    return dataclasses.asdict(spec)


def make_spec(modality: str, **values: str) -> Spec:
    """Build a spec, checking every value against the vocabulary."""
    if modality not in SPEC_TYPES:
        raise InputError(f"unknown modality {modality!r}; expected one of {', '.join(MODALITIES)}")
    for name in attributes(modality):
        value = values.get(name)
        if value not in VOCABULARY[name]:
            raise InputError(
                f"{name} {value!r} is not in ShapeWorld; expected one of {', '.join(VOCABULARY[name])}"
            )
    return SPEC_TYPES[modality](**{n: values[n] for n in attributes(modality)})


def all_specs(modality: str) -> list[Spec]:
    """Every spec of a modality, in a fixed order."""
    names = attributes(modality)
    return [make_spec(modality, **dict(zip(names, combo, strict=True)))
            for combo in itertools.product(*(VOCABULARY[n] for n in names))]


def random_spec(modality: str, rng: np.random.Generator) -> Spec:
    names = attributes(modality)
    return make_spec(modality, **{n: VOCABULARY[n][rng.integers(len(VOCABULARY[n]))] for n in names})


_W = r"([a-z]+)"
_PATTERNS: list[tuple[str, re.Pattern[str], tuple[str, ...]]] = [
    ("image", re.compile(rf"^an? {_W} {_W} {_W} on the {_W}$"), ("size", "color", "shape", "position")),
    ("image", re.compile(rf"^an? {_W} {_W} {_W} in the (center)$"), ("size", "color", "shape", "position")),
    ("audio", re.compile(rf"^an? {_W} {_W} {_W} tone$"), ("rhythm", "pitch", "timbre")),
    ("video", re.compile(rf"^an? {_W} {_W} moving {_W}$"), ("color", "shape", "direction")),
]
CAPTION_FORMS = (
    "image: 'a {size} {color} {shape} on the {position}' or '... in the center'; "
    "audio: 'a {rhythm} {pitch} {timbre} tone'; video: 'a {color} {shape} moving {direction}'"
)


def parse_caption(caption: str) -> Spec:
    """Parse a canonical caption into its spec; unknown words and other forms are InputErrors."""
    text = " ".join(caption.strip().lower().rstrip(".").split())
    if not text:
        raise InputError("empty caption; expected " + CAPTION_FORMS)
    for modality, pattern, names in _PATTERNS:
        m = pattern.match(text)
        if m is None:
            continue
        values = dict(zip(names, m.groups(), strict=True))
        for name, value in values.items():
            if value not in VOCABULARY[name]:
                raise InputError(
                    f"unknown {name} {value!r} in caption {caption!r}; "
                    f"expected one of {', '.join(VOCABULARY[name])}"
                )
        return make_spec(modality, **values)
    known = set(WORDS) | set(TIMBRES) | {"a", "an", "on", "in", "the", "tone", "moving"}
    unknown = [w for w in text.split() if w not in known]
    if unknown:
        raise InputError(f"unknown word {unknown[0]!r} in caption {caption!r}; expected " + CAPTION_FORMS)
    raise InputError(f"malformed caption {caption!r}; expected " + CAPTION_FORMS)


# ---------------------------------------------------------------- rendering
def _jitter(rng: np.random.Generator | None, scale: float) -> float:
    return 0.0 if rng is None else float(rng.uniform(-scale, scale))


def shape_mask(shape: str, cx: float, cy: float, width: float, size: int = IMAGE_SIZE) -> np.ndarray:
    """Boolean (size, size) mask of a filled shape whose bounding box is ``width`` wide."""
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    half = width / 2.0
    if shape == "circle":
        return (xs - cx) ** 2 + (ys - cy) ** 2 <= half**2
    if shape == "square":
        return (np.abs(xs - cx) <= half) & (np.abs(ys - cy) <= half)
    if shape == "triangle":  # apex up; height == width
        top, bottom = cy - half, cy + half
        rel = (ys - top) / width  # 0 at apex, 1 at base
        return (ys >= top) & (ys <= bottom) & (np.abs(xs - cx) <= rel * half)
    raise InputError(f"unknown shape {shape!r}")


def render_image(spec: ImageSpec, rng: np.random.Generator | None = None) -> Image:
    width = SIZE_PX[spec.size] + _jitter(rng, 1.0)
    cx = POSITION_X[spec.position] + _jitter(rng, 1.0)
    cy = IMAGE_SIZE / 2 + _jitter(rng, 1.0)
    pixels = np.zeros((IMAGE_SIZE, IMAGE_SIZE, 3), np.uint8)
    pixels[shape_mask(spec.shape, cx, cy, width)] = COLORS[spec.color]
    return Image(pixels)


def render_audio(spec: AudioSpec, rng: np.random.Generator | None = None) -> Audio:
    n = int(SAMPLE_RATE * AUDIO_SECONDS)
    t = np.arange(n, dtype=np.float64) / SAMPLE_RATE
    f0 = PITCHES[spec.pitch]
    phase = 0.0 if rng is None else float(rng.uniform(0, 2 * np.pi))
    # Band-limited additive synthesis: no aliasing above Nyquist.
    ks = np.arange(1, int((SAMPLE_RATE / 2) // f0) + 1)
    if spec.timbre == "sine":
        amps = (ks == 1).astype(np.float64)
    elif spec.timbre == "square":
        amps = np.where(ks % 2 == 1, 1.0 / ks, 0.0)
    else:  # sawtooth
        amps = ((-1.0) ** (ks + 1)) / ks
    wave = np.sin(2 * np.pi * f0 * np.outer(ks, t) + phase * ks[:, None]).T @ amps
    wave /= np.abs(wave).max()
    ramp = int(0.005 * SAMPLE_RATE)
    if spec.rhythm == "pulsing":
        period = SAMPLE_RATE / PULSES_PER_SECOND
        offset = _jitter(rng, 0.01) * SAMPLE_RATE
        on = ((np.arange(n) + offset) % period) < period / 2
        env = np.convolve(on.astype(np.float64), np.ones(ramp) / ramp, mode="same")
    else:
        env = np.ones(n)
        env[:ramp] = np.linspace(0, 1, ramp)
        env[-ramp:] = np.linspace(1, 0, ramp)
    amplitude = 0.5 + _jitter(rng, 0.05)
    return Audio((amplitude * wave * env).astype(np.float32), SAMPLE_RATE)


def render_video(spec: VideoSpec, rng: np.random.Generator | None = None) -> Video:
    width = VIDEO_SHAPE_PX + _jitter(rng, 1.0)
    start, end = (v + _jitter(rng, 1.0) for v in VIDEO_TRACK)
    across = IMAGE_SIZE / 2 + _jitter(rng, 2.0)
    frames = np.zeros((VIDEO_FRAMES, IMAGE_SIZE, IMAGE_SIZE, 3), np.uint8)
    for i in range(VIDEO_FRAMES):
        along = start + (end - start) * i / (VIDEO_FRAMES - 1)
        cx, cy = {
            "right": (along, across),
            "left": (IMAGE_SIZE - along, across),
            "down": (across, along),
            "up": (across, IMAGE_SIZE - along),
        }[spec.direction]
        frames[i][shape_mask(spec.shape, cx, cy, width)] = COLORS[spec.color]
    return Video(frames, VIDEO_FPS)


def render(spec: Spec, rng: np.random.Generator | int | None = None) -> Image | Audio | Video:
    """Draw a spec; ``rng`` (a Generator or a seed) varies nuisances, ``None`` is canonical."""
    if isinstance(rng, int):
        rng = np.random.default_rng(rng)
    if isinstance(spec, ImageSpec):
        return render_image(spec, rng)
    if isinstance(spec, AudioSpec):
        return render_audio(spec, rng)
    return render_video(spec, rng)


def sample(modality: str, seed: int) -> tuple[Spec, Image | Audio | Video]:
    """One random (spec, medium) pair, fully determined by ``seed``."""
    rng = np.random.default_rng(seed)
    spec = random_spec(modality, rng)
    return spec, render(spec, rng)


# ---------------------------------------------------------------- pair-data writers
# bumped whenever the pairs write_pairs writes change (names the cache folder: training/data.py)
PAIRS_VERSION = 1
PAIR_FORMATS = {  # modality -> (json file, media folder, media key, suffix) as NExT-GPT ships them
    "image": ("cc3m.json", "images", "image_name", ".png"),
    "audio": ("audiocap.json", "audios", "audio_name", ".wav"),
    "video": ("webvid.json", "videos", "video_name", ".mp4"),
}


def write_pairs(out_dir: str | Path, modality: str, n: int, seed: int = 0) -> Path:
    """Write ``n`` caption pairs in NExT-GPT's format (cc3m/audiocap/webvid json + media folder)."""
    json_name, folder, key, suffix = PAIR_FORMATS[modality]
    out_dir = Path(out_dir)
    (out_dir / folder).mkdir(parents=True, exist_ok=True)
    records = []
    for i in range(n):
        spec, medium = sample(modality, seed * 1_000_003 + i)
        name = f"{seed:04d}{i:06d}{suffix}"
        medium.save(out_dir / folder / name)
        records.append({"caption": spec.caption, "id": f"{seed:04d}{i:06d}", key: name})
    path = out_dir / json_name
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(records, indent=1))
    return path
