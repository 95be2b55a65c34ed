import json

import numpy as np
import pytest

from omniweave.errors import InputError
from omniweave.media import load_media
from omniweave.nano import judges, world


@pytest.mark.parametrize("modality", world.MODALITIES)
def test_every_canonical_caption_round_trips(modality):
    specs = world.all_specs(modality)
    assert len(specs) == int(np.prod([len(world.VOCABULARY[a]) for a in world.attributes(modality)]))
    for spec in specs:
        assert world.parse_caption(spec.caption) == spec


def test_captions_follow_world_md():
    assert world.make_spec("image", size="large", color="red", shape="circle",
                           position="left").caption == "a large red circle on the left"
    assert world.make_spec("image", size="small", color="blue", shape="square",
                           position="center").caption == "a small blue square in the center"
    assert world.parse_caption("a pulsing high square tone") == world.AudioSpec("pulsing", "high", "square")
    assert world.parse_caption("A green triangle moving up.") == world.VideoSpec("green", "triangle", "up")


@pytest.mark.parametrize("caption, word", [
    ("a large magenta circle on the left", "magenta"),
    ("a steady loud sine tone", "loud"),
    ("a red blob moving up", "blob"),
    ("a huge red circle on the left", "huge"),
])
def test_unknown_word_is_named(caption, word):
    with pytest.raises(InputError, match=word):
        world.parse_caption(caption)


@pytest.mark.parametrize("caption", ["", "red circle left", "a red circle on the left"])
def test_malformed_caption_is_an_error(caption):
    with pytest.raises(InputError):
        world.parse_caption(caption)


@pytest.mark.parametrize("modality", world.MODALITIES)
def test_generator_is_deterministic(modality):
    a, b = world.sample(modality, 123), world.sample(modality, 123)
    assert a[0] == b[0]
    arr = {"image": "pixels", "audio": "samples", "video": "frames"}[modality]
    np.testing.assert_array_equal(getattr(a[1], arr), getattr(b[1], arr))


def test_media_match_the_contract():
    img = world.render(world.parse_caption("a large red circle on the left"))
    assert img.pixels.shape == (32, 32, 3)
    ys, xs = np.nonzero(img.pixels.any(-1))
    assert abs(xs.mean() + 0.5 - 10) <= 1 and abs(ys.mean() + 0.5 - 16) <= 1
    assert 18 <= xs.max() - xs.min() + 1 <= 21
    assert set(map(tuple, img.pixels[ys, xs])) == {(255, 0, 0)}

    tone = world.render(world.parse_caption("a steady mid sine tone"))
    assert tone.sample_rate == 16_000 and tone.samples.shape == (16_000,)
    assert 0.45 <= np.abs(tone.samples).max() <= 0.55
    spectrum = np.abs(np.fft.rfft(tone.samples))
    assert abs(np.argmax(spectrum) - 440) <= 1  # 1 Hz bins for a 1 s clip

    clip = world.render(world.parse_caption("a blue square moving right"))
    assert clip.frames.shape == (8, 32, 32, 3) and clip.fps == 4
    xs = [np.nonzero(f.any(-1))[1].mean() for f in clip.frames]
    assert all(b > a for a, b in zip(xs, xs[1:], strict=False)) and xs[0] < 10 and xs[-1] > 22


@pytest.mark.parametrize("modality", world.MODALITIES)
def test_write_pairs_in_nextgpt_format(tmp_path, modality):
    path = world.write_pairs(tmp_path, modality, n=4, seed=3)
    json_name, folder, key, _ = world.PAIR_FORMATS[modality]
    assert path.name == json_name
    records = json.loads(path.read_text())
    assert len(records) == 4
    for r in records:
        medium = load_media(tmp_path / folder / r[key])
        spec = world.parse_caption(r["caption"])
        assert judges.all_correct(spec, medium), r
