"""Tests for omniweave.media: round trips, real fixture files, resampling, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from omniweave.errors import InputError
from omniweave.media import (
    MODALITY_SUFFIXES,
    Audio,
    Image,
    Video,
    load_audio,
    load_image,
    load_media,
    load_video,
    modality_of,
    save_media,
)

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "nextgpt"
RED = (220, 40, 30)


def moving_square(frames: int = 8, size: int = 32) -> np.ndarray:
    """A red square sliding right over black, one step per frame."""
    video = np.zeros((frames, size, size, 3), np.uint8)
    for i in range(frames):
        video[i, 8:20, 4 + 2 * i : 16 + 2 * i] = RED
    return video


def peak_hz(audio: Audio) -> float:
    spectrum = np.abs(np.fft.rfft(audio.samples * np.hanning(len(audio.samples))))
    return float(np.fft.rfftfreq(len(audio.samples), 1 / audio.sample_rate)[spectrum.argmax()])


def sine(hz: float = 440.0, rate: int = 48000, seconds: float = 1.0) -> Audio:
    t = np.arange(int(rate * seconds)) / rate
    return Audio((0.5 * np.sin(2 * np.pi * hz * t)).astype(np.float32), rate)


# --- round trips -------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(24, 40, 3), (7, 5, 3)])
def test_png_round_trip_is_exact(tmp_path: Path, shape: tuple[int, ...]) -> None:
    pixels = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    path = save_media(Image(pixels), tmp_path / "sub" / "a.png")
    assert path == tmp_path / "sub" / "a.png"
    loaded = load_media(path)
    assert isinstance(loaded, Image)
    np.testing.assert_array_equal(loaded.pixels, pixels)
    assert [p.name for p in path.parent.iterdir()] == ["a.png"]  # no temporaries left


def test_jpeg_round_trip_is_close(tmp_path: Path) -> None:
    pixels = np.zeros((32, 48, 3), np.uint8)
    pixels[8:24, 8:40] = RED
    loaded = load_image(Image(pixels).save(tmp_path / "a.jpeg"))
    assert loaded.pixels.shape == pixels.shape
    assert np.abs(loaded.pixels.astype(int) - pixels).mean() < 3


def test_image_resize() -> None:
    image = Image(np.full((10, 20, 3), 77, np.uint8)).resize((8, 4))
    assert image.pixels.shape == (4, 8, 3)
    assert (image.pixels == 77).all()


def test_wav_round_trip_within_16_bit(tmp_path: Path) -> None:
    audio = sine(440, 22050, 0.5)
    loaded = load_media(save_media(audio, tmp_path / "a.wav"), "audio")
    assert isinstance(loaded, Audio)
    assert loaded.sample_rate == 22050 and loaded.samples.dtype == np.float32
    assert len(loaded.samples) == len(audio.samples)
    assert np.abs(loaded.samples - audio.samples).max() <= 1 / 32768 + 1e-7


def test_stereo_wav_loads_as_mono_mean(tmp_path: Path) -> None:
    left, right = np.full(100, 0.5), np.full(100, -0.25)
    sf.write(tmp_path / "s.wav", np.stack([left, right], axis=1), 44100, subtype="FLOAT")
    audio = load_audio(tmp_path / "s.wav")
    assert audio.samples.shape == (100,) and audio.sample_rate == 44100
    np.testing.assert_allclose(audio.samples, 0.125, atol=1e-6)


def test_mp4_round_trip(tmp_path: Path) -> None:
    frames = moving_square()
    path = Video(frames, 8.0).save(tmp_path / "v.mp4")
    video = load_media(path)
    assert isinstance(video, Video)
    assert video.frames.shape == frames.shape and video.fps == pytest.approx(8.0)
    assert np.abs(video.frames.astype(int) - frames).mean() < 12
    for i in range(len(frames)):  # the square's centre keeps its colour
        centre = video.frames[i, 11:17, 7 + 2 * i : 13 + 2 * i].reshape(-1, 3).mean(axis=0)
        assert np.abs(centre - RED).max() < 20, (i, centre)
    assert load_video(path, max_frames=3).frames.shape[0] == 3


def test_mp4_odd_size_and_fractional_fps(tmp_path: Path) -> None:
    frames = np.full((3, 15, 21, 3), 128, np.uint8)
    video = load_video(Video(frames, 30000 / 1001).save(tmp_path / "odd.mp4"))
    assert video.frames.shape == (3, 16, 22, 3)  # padded to even sizes for yuv420p
    assert video.fps == pytest.approx(29.97, abs=1e-3)
    assert np.abs(video.frames.astype(int) - 128).max() <= 3


def test_gif_round_trip_exact_colours(tmp_path: Path) -> None:
    frames = moving_square()
    frames[:, 0, :8] = [(0, 255, 0), (10, 20, 30), (255, 255, 255), (1, 2, 3)] * 2
    video = load_video(save_media(Video(frames, 10.0), tmp_path / "v.gif"))
    np.testing.assert_array_equal(video.frames, frames)
    assert video.fps == pytest.approx(10.0)


# --- real files nobody here wrote ---------------------------------------------------------


def fixture_files(folder: str, pattern: str) -> list[Path]:
    if not FIXTURES.is_dir():
        pytest.skip(f"fixture folder {FIXTURES} is absent")
    files = sorted((FIXTURES / folder).glob(pattern))
    assert files, f"no {pattern} under {FIXTURES / folder}"
    return files


def test_fixture_images() -> None:
    for path in fixture_files("cc3m/images", "*.jpg"):
        image = load_media(path, "image")
        assert isinstance(image, Image) and image.pixels.dtype == np.uint8
        h, w, c = image.pixels.shape
        assert c == 3 and 16 <= h <= 4096 and 16 <= w <= 4096, path
        assert image.pixels.std() > 1, path  # not blank


def test_fixture_audio_and_resample() -> None:
    paths = fixture_files("audiocap/audios", "*.wav")
    for path in paths:
        audio = load_media(path)
        assert isinstance(audio, Audio) and audio.sample_rate == 48000, path
        assert audio.samples.ndim == 1 and audio.samples.dtype == np.float32
        assert 0.5 < audio.duration < 60 and np.abs(audio.samples).max() <= 1.0
    audio = load_audio(paths[0])
    resampled = audio.resample(16000)
    assert resampled.sample_rate == 16000
    assert resampled.duration == pytest.approx(audio.duration, abs=1 / 16000)
    assert np.sqrt(np.mean(resampled.samples**2)) > 0.1 * np.sqrt(np.mean(audio.samples**2))


def test_fixture_videos() -> None:
    for path in fixture_files("webvid/videos", "*.mp4"):
        video = load_media(path, "video")
        assert isinstance(video, Video) and video.frames.dtype == np.uint8
        f, h, w, c = video.frames.shape
        assert f >= 10 and c == 3 and h >= 64 and w >= 64, path
        assert 10 <= video.fps <= 60 and 1 <= video.duration <= 120, path
        assert load_video(path, max_frames=4).frames.shape == (4, h, w, 3)


# --- resampling ----------------------------------------------------------------------------


@pytest.mark.parametrize("rate", [16000, 22050, 44100, 96000, 44101])
def test_resample_keeps_pitch_and_duration(rate: int) -> None:
    audio = sine(440, 48000)
    resampled = audio.resample(rate)
    assert resampled.sample_rate == rate and resampled.samples.dtype == np.float32
    assert abs(peak_hz(resampled) - 440) <= 2
    assert len(resampled.samples) == pytest.approx(rate, abs=1)
    reference = 0.5 * np.sin(2 * np.pi * 440 * np.arange(len(resampled.samples)) / rate)
    assert np.abs(resampled.samples - reference)[100:-100].max() < 1e-3


def test_resample_removes_content_above_new_nyquist() -> None:
    aliased = sine(10000, 48000).resample(16000)  # 10 kHz cannot exist at 16 kHz
    assert np.abs(aliased.samples[100:-100]).max() < 0.01


# --- validation and bad input ----------------------------------------------------------------


def test_modality_of() -> None:
    assert MODALITY_SUFFIXES["video"] == (".mp4", ".gif")
    assert [modality_of(f"x{s}") for s in (".PNG", ".jpg", ".wav", ".gif")] == [
        "image", "image", "audio", "video"]
    with pytest.raises(InputError, match=r"notes\.txt.*\.png.*\.mp4"):
        modality_of("notes.txt")


@pytest.mark.parametrize(
    "make",
    [
        lambda: Image(np.zeros((4, 4, 3), np.float32)),
        lambda: Image(np.zeros((4, 4), np.uint8)),
        lambda: Audio(np.zeros(10, np.int16), 16000),
        lambda: Audio(np.zeros((10, 2), np.float32), 16000),
        lambda: Audio(np.full(10, 2.0, np.float32), 16000),
        lambda: Audio(np.zeros(10, np.float32), 0),
        lambda: Video(np.zeros((0, 4, 4, 3), np.uint8), 8.0),
        lambda: Video(np.zeros((2, 4, 4, 3), np.uint8), 0.0),
    ],
)
def test_construction_validates(make) -> None:
    with pytest.raises(ValueError, match=r"(Image|Audio|Video)\.\w+"):
        make()


def test_missing_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"missing\.png: file not found"):
        load_media(tmp_path / "missing.png")
    (tmp_path / "empty.wav").touch()
    with pytest.raises(InputError, match=r"empty\.wav: file is empty"):
        load_media(tmp_path / "empty.wav")


def test_unknown_suffix_and_wrong_modality(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(InputError, match=r"notes\.txt"):
        load_media(tmp_path / "notes.txt")
    Image(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / "a.png")
    with pytest.raises(InputError, match=r"a\.png.*expected audio"):
        load_media(tmp_path / "a.png", "audio")


@pytest.mark.parametrize("name", ["junk.png", "junk.jpg", "junk.wav", "junk.mp4", "junk.gif"])
def test_garbage_files_raise_input_error(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(InputError, match=name.replace(".", r"\.")) as info:
        load_media(path)
    assert "\n" not in str(info.value)


def test_truncated_files_raise_input_error(tmp_path: Path) -> None:
    pixels = np.random.default_rng(2).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    full = [
        Image(pixels).save(tmp_path / "full.png"),
        sine(440, 16000, 0.1).save(tmp_path / "full.wav"),
        Video(moving_square(24, 64), 8.0).save(tmp_path / "full.mp4"),
    ]
    for path in full:
        cut = path.with_name(f"cut{path.suffix}")
        cut.write_bytes(path.read_bytes()[: 40 if path.suffix == ".wav" else path.stat().st_size // 2])
        with pytest.raises(InputError, match=rf"cut\{path.suffix}"):
            load_media(cut)


@pytest.mark.parametrize(
    "media, name",
    [
        (Image(np.zeros((4, 4, 3), np.uint8)), "out.wav"),
        (Audio(np.zeros(8, np.float32), 8000), "out.png"),
        (Video(np.zeros((2, 4, 4, 3), np.uint8), 4.0), "out.jpg"),
        (Image(np.zeros((4, 4, 3), np.uint8)), "out.txt"),
    ],
)
def test_save_with_wrong_suffix_leaves_nothing(tmp_path: Path, media, name: str) -> None:
    target = tmp_path / "new" / name
    with pytest.raises(InputError, match=name.replace(".", r"\.")):
        save_media(media, target)
    assert not target.exists() and not (tmp_path / "new").exists()
