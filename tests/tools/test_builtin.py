import numpy as np
import pytest

from omniweave.nano import judges, world
from omniweave.tools import builtin as B
from omniweave.tools.registry import ToolError


def _rendered(modality, seed):
    rng = np.random.default_rng(seed)
    spec = world.random_spec(modality, rng)
    return spec, world.render(spec, rng)


def test_pitch_within_half_a_percent():
    for seed in range(30):
        spec, audio = _rendered("audio", seed)
        want = world.PITCHES[spec.pitch]
        assert abs(B.pitch_hz(audio) - want) <= 0.005 * want, (spec, B.pitch_hz(audio))


def test_pulses():
    for seed in range(30):
        spec, audio = _rendered("audio", seed)
        n = B.pulse_count(audio)
        assert n == 1 if spec.rhythm == "steady" else n in (4, 5)  # 4 per second, a cut one at an edge


def test_centroid_is_the_mask_mean():
    for seed in range(10):
        _, image = _rendered("image", seed)
        ys, xs = np.nonzero(image.pixels.max(-1) > 0)
        assert B.centroid(image) == f"x {xs.mean():.1f}, y {ys.mean():.1f}"
    spec = world.parse_caption("a large red square on the left")
    x = float(B.centroid(world.render(spec)).split(",")[0][2:])
    assert abs(x - world.POSITION_X["left"]) <= 1


def test_image_edits_judged():
    spec = world.parse_caption("a small green triangle on the left")
    image = world.render(spec, 3)
    assert judges.judge(B.mirror(image)) == {**world.spec_dict(spec), "position": "right"}
    assert judges.judge(B.recolor(image, "purple")) == {**world.spec_dict(spec), "color": "purple"}
    video = world.render(world.parse_caption("a red circle moving up"), 4)
    assert judges.judge(B.reverse_video(video))["direction"] == "down"


def test_calculator_is_safe():
    assert B.calculator("12 * (3 + 4) - 5") == "79"
    assert B.calculator("7 / 2") == "3.5"
    assert B.calculator("2 ^ 10") == "1024"
    assert B.calculator("262 plus 654") == "916"  # a user's own words, passed on verbatim
    assert B.calculator("3 Times 4 minus 2 divided by 4") == "11.5"
    for bad in ("__import__('os')", "1 / 0", "a + 1", "2 plus plus", "timesten 2", "9 ** 9999", "(" * 300):
        with pytest.raises(ToolError):
            B.calculator(bad)
