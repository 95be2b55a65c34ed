import random

import numpy as np
import pytest

from omniweave.errors import InputError
from omniweave.nano import scenes


def test_scenes_render_and_judge_back_exactly():
    hits = 0
    for seed in range(300):
        spec, image = scenes.sample_scene(seed)
        assert image.pixels.shape == (32, 32, 3)
        hits += scenes.judge_scene(image) == spec.as_dict()
    assert hits / 300 >= 0.99


def test_each_shape_keeps_to_its_half():
    spec = scenes.SceneSpec("red", "square", "blue", "circle")
    for seed in range(20):
        px = scenes.render_scene(spec, seed).pixels
        assert not (px[:, 16:] == (255, 0, 0)).all(-1).any()
        assert not (px[:, :16] == (0, 0, 255)).all(-1).any()


def test_captions_round_trip_and_bad_ones_are_named():
    spec = scenes.SceneSpec("red", "circle", "purple", "triangle")
    assert spec.caption == "a red circle on the left and a purple triangle on the right"
    assert scenes.parse_scene_caption(spec.caption + ".") == spec
    with pytest.raises(InputError, match="scene color 'pink'"):
        scenes.parse_scene_caption("a pink circle on the left and a red square on the right")
    with pytest.raises(InputError, match="malformed scene caption"):
        scenes.parse_scene_caption("a red circle on the left")


@pytest.mark.parametrize("kind", scenes.QUESTION_KINDS + scenes.EXTRA_KINDS)
def test_every_answer_reads_back_as_the_truth(kind):
    rng = random.Random(0)
    truths = []
    for seed in range(60):
        spec, image, q = scenes.sample_question(rng, seed, kind)
        measured = scenes.judge_scene(image)
        assert q.kind == kind and q.truth(spec.as_dict()) != "none"
        assert q.correct(measured, q.answer(measured)), (q, measured)
        assert not q.correct(measured, "i do not know.")
        truths.append(q.truth(measured))
    if kind in ("same-color", "same-shape", "verify"):  # balanced yes/no
        assert 0.3 < truths.count("yes") / len(truths) < 0.7


def test_choices_hold_the_truth_at_the_letter():
    rng = random.Random(1)
    for kind, n in (("color", 4), ("shape", 3)):
        spec = scenes.scene_for(kind, np.random.default_rng(3))
        q = scenes.ask(rng, spec, kind)
        options, letter = scenes.choices(rng, q, spec.as_dict())
        assert len(options) == n and options["ABCD".index(letter)] == q.truth(spec.as_dict())
