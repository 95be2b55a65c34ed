"""The ShapeWorld judges read every attribute back from raw media, clean and degraded."""

from __future__ import annotations

import numpy as np
import pytest

from omniweave.media import Audio, Image, Video, load_media
from omniweave.nano import judges, world

HELD_OUT = 7_000_000  # far from the seeds the pair writers and recipes use


def _pairs(modality: str, n: int, start: int = HELD_OUT) -> list[tuple[world.Spec, object]]:
    return [world.sample(modality, seed) for seed in range(start, start + n)]


def _blur_noise(pixels: np.ndarray, rng: np.random.Generator, sigma: float = 8.0) -> np.ndarray:
    """3x3 box blur (over the last two spatial axes) plus gaussian noise, back to uint8."""
    x = pixels.astype(np.float64)
    h, w = x.shape[-3:-1]
    pad = [(0, 0)] * (x.ndim - 3) + [(1, 1), (1, 1), (0, 0)]
    p = np.pad(x, pad, mode="edge")
    x = sum(p[..., i : i + h, j : j + w, :] for i in range(3) for j in range(3)) / 9
    return np.clip(np.round(x + rng.normal(0, sigma, x.shape)), 0, 255).astype(np.uint8)


def _white_noise(samples: np.ndarray, rng: np.random.Generator, snr_db: float = 20.0) -> np.ndarray:
    power = float(np.mean(samples.astype(np.float64) ** 2))
    return samples + rng.normal(0, np.sqrt(power / 10 ** (snr_db / 10)), samples.shape)


# ---------------------------------------------------------------- clean media
@pytest.mark.parametrize("modality", world.MODALITIES)
def test_clean_samples_are_judged_right(modality):
    acc = judges.accuracy(_pairs(modality, 300))
    assert set(acc) == {*world.attributes(modality), "all"}
    assert acc["all"] >= 0.99, acc


@pytest.mark.parametrize("modality", world.MODALITIES)
def test_every_canonical_spec_is_judged_exactly(modality):
    for spec in world.all_specs(modality):
        medium = world.render(spec)
        assert judges.judge(medium) == world.spec_dict(spec), spec
        assert judges.all_correct(spec, medium)


# ---------------------------------------------------------------- degraded media
def test_images_survive_noise_and_blur():
    rng = np.random.default_rng(0)
    pairs = [(s, Image(_blur_noise(m.pixels, rng))) for s, m in _pairs("image", 300)]
    acc = judges.accuracy(pairs)
    assert acc["all"] >= 0.97, acc


def test_audio_survives_white_noise_at_20db():
    rng = np.random.default_rng(0)
    pairs = [(s, _white_noise(m.samples, rng)) for s, m in _pairs("audio", 300)]
    acc = judges.accuracy(pairs)
    assert acc["all"] >= 0.97, acc


def test_video_survives_mp4_round_trip_and_noise(tmp_path):
    rng = np.random.default_rng(0)
    pairs = []
    for i, (spec, video) in enumerate(_pairs("video", 60)):
        path = video.save(tmp_path / f"v{i}.mp4")
        loaded = load_media(path)
        assert isinstance(loaded, Video) and loaded.frames.shape == video.frames.shape
        noisy = np.clip(loaded.frames + rng.normal(0, 8, loaded.frames.shape), 0, 255)
        pairs.append((spec, Video(noisy.astype(np.uint8), loaded.fps)))
    acc = judges.accuracy(pairs)
    assert acc["all"] >= 0.95, acc


def _griffin_lim(x: np.ndarray, n_mels: int = 64, iters: int = 12) -> np.ndarray:
    """Mel spectrogram (n_fft 1024, hop 160) -> pseudo-inverse -> Griffin-Lim, as a vocoder does."""
    n_fft, hop, sr = 1024, 160, world.SAMPLE_RATE
    win = np.hanning(n_fft + 1)[:-1]
    idx = np.arange(n_fft)[None] + hop * np.arange(1 + len(x) // hop)[:, None]

    def stft(y):
        return np.fft.rfft(np.pad(y, n_fft // 2, mode="reflect")[idx] * win, axis=1)

    norm = np.maximum(np.bincount(idx.ravel(), np.broadcast_to(win**2, idx.shape).ravel()), 1e-8)

    def istft(spec):
        out = np.bincount(idx.ravel(), (np.fft.irfft(spec, n_fft, axis=1) * win).ravel()) / norm
        return out[n_fft // 2 : n_fft // 2 + len(x)]

    top = 2595 * np.log10(1 + sr / 2 / 700)  # HTK mel scale, n_mels triangles up to Nyquist
    edges = 700 * (10 ** (np.linspace(0, top, n_mels + 2) / 2595) - 1)
    f = np.fft.rfftfreq(n_fft, 1 / sr)
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    bank = np.clip(np.minimum((f - lo) / (mid - lo), (hi - f) / (hi - mid)), 0, None)
    magnitude = np.maximum((np.abs(stft(x)) @ bank.T) @ np.linalg.pinv(bank).T, 0)
    spec = magnitude * np.exp(2j * np.pi * np.random.default_rng(0).random(magnitude.shape))
    for _ in range(iters):
        spec = magnitude * np.exp(1j * np.angle(stft(istft(spec))))
    return istft(spec)


def test_audio_survives_a_mel_griffin_lim_vocoder():
    pairs = [(spec, _griffin_lim(world.render(spec).samples.astype(np.float64)))
             for spec in world.all_specs("audio")]
    assert judges.accuracy(pairs)["all"] == 1.0


def test_audio_is_judged_at_its_own_sample_rate():
    spec, audio = world.sample("audio", HELD_OUT)
    for rate in (8_000 * 3, 22_050, 44_100):
        assert judges.all_correct(spec, audio.resample(rate))
    assert judges.judge_audio(audio.resample(22_050).samples, 22_050) == world.spec_dict(spec)


# ---------------------------------------------------------------- empty media, dispatch, scoring
@pytest.mark.parametrize("medium", [
    Image(np.zeros((32, 32, 3), np.uint8)),
    Audio(np.zeros(16_000, np.float32), 16_000),
    Video(np.zeros((8, 32, 32, 3), np.uint8), 4.0),
])
def test_empty_media_judge_none_and_score_false(medium):
    judged = judges.judge(medium)
    assert set(judged) == set(world.attributes(medium.modality))
    assert set(judged.values()) == {judges.NONE}
    spec = world.all_specs(medium.modality)[0]
    assert not any(judges.score(spec, medium).values())
    assert not judges.all_correct(spec, medium)


def test_plain_arrays_dispatch_by_shape():
    for modality, field in (("image", "pixels"), ("audio", "samples"), ("video", "frames")):
        spec, medium = world.sample(modality, HELD_OUT + 1)
        assert judges.judge(getattr(medium, field)) == world.spec_dict(spec)
    spec, audio = world.sample("audio", HELD_OUT + 2)
    stereo = np.stack([audio.samples, audio.samples], axis=1)
    assert judges.judge(stereo) == world.spec_dict(spec)
    assert judges.judge((stereo * 32767).astype(np.int16)) == world.spec_dict(spec)


def test_score_and_accuracy_count_each_attribute():
    spec = world.ImageSpec("large", "purple", "triangle", "right")
    medium = world.render(spec)
    wrong = world.ImageSpec("small", "purple", "circle", "right")
    assert judges.score(wrong, medium) == {"size": False, "color": True, "shape": False,
                                           "position": True}
    acc = judges.accuracy([(spec, medium), (wrong, medium)])
    assert acc == {"size": 0.5, "color": 1.0, "shape": 0.5, "position": 1.0, "all": 0.5}
    assert judges.accuracy([]) == {}
    audio_spec, audio = world.sample("audio", HELD_OUT)
    assert not any(judges.score(spec, audio).values())  # wrong modality: nothing right
    assert judges.accuracy([(audio_spec, audio), (spec, medium)])["all"] == 1.0
