"""CLIP / SigLIP vision (images; video frames pooled over time) and CLAP audio, each with its own
processor, from folders laid out like the real checkpoints."""

import numpy as np
import pytest
import torch

from omniweave.config import EncoderConfig
from omniweave.encoders import build_encoder
from omniweave.errors import InputError
from omniweave.media import Audio, Image, Video


def _image(seed: int, size=(40, 50)) -> Image:
    return Image(np.random.default_rng(seed).integers(0, 255, (*size, 3), dtype=np.uint8))


@pytest.mark.parametrize("name", ["clip", "siglip"])
def test_vision_towers_encode_images_and_videos(tiny_models, name):
    enc = build_encoder(EncoderConfig(kind="hf-clip", path=str(tiny_models[name]), frames=3))
    assert enc is build_encoder(EncoderConfig(kind="hf-clip", path=str(tiny_models[name]), frames=3))
    images = [_image(0), _image(1, (64, 30))]
    feats = enc.encode("image", images)
    assert feats.pooled.shape == (2, enc.feature_width) == (2, 32)
    assert feats.tokens.shape[0] == 2 and feats.tokens.shape[2] == 32
    # a video is its sampled frames encoded as images, pooled over time
    frames = np.stack([_image(k).pixels for k in range(5)])
    video = enc.encode("video", [Video(frames, 8.0)])
    per_frame = enc.encode("image", [Image(frames[k]) for k in (0, 2, 4)])  # 3 frames, uniform
    torch.testing.assert_close(video.pooled[0], per_frame.pooled.mean(0), rtol=1e-4, atol=1e-5)
    patches = per_frame.tokens.shape[1]
    assert video.tokens.shape == (1, 3 + patches, 32)  # frame means, then patch means over time
    with pytest.raises(InputError, match="not audio"):
        enc.encode("audio", [Audio(np.zeros(100, np.float32), 16000)])


def test_clap_resamples_to_its_rate(tiny_models):
    enc = build_encoder(EncoderConfig(kind="hf-clap", path=str(tiny_models["clap"])))
    assert enc.rate == 48_000 and enc.feature_width == 16
    t = np.arange(16_000) / 16_000
    tone = Audio((0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 16_000)
    a = enc.encode("audio", [tone, Audio(np.zeros(3000, np.float32), 8000)])
    assert a.pooled.shape == (2, 16) and a.tokens.shape[::2] == (2, 16)
    b = enc.encode("audio", [tone.resample(48_000)])
    torch.testing.assert_close(a.pooled[0], b.pooled[0], rtol=1e-3, atol=1e-4)


def test_imagebind_without_its_package_is_a_clear_error(tiny_models):
    from omniweave.encoders.imagebind import available

    if available():
        pytest.skip("imagebind is installed here")
    with pytest.raises(InputError, match="needs the imagebind package"):
        build_encoder(EncoderConfig(kind="imagebind", path=str(tiny_models["clip"])))
