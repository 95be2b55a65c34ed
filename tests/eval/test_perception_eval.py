from omniweave.eval.perception import (
    format_comparison,
    scene_cases,
    single_cases,
    single_correct,
)
from omniweave.nano import scenes


def test_held_out_cases_are_balanced_and_measured():
    cases = scene_cases(60)
    kinds = [q.kind for q, _, _ in cases]
    assert all(kinds.count(k) == 60 // len(scenes.QUESTION_KINDS) for k in scenes.QUESTION_KINDS)
    assert all(q.truth(measured) != "none" for q, _, measured in cases)
    singles = single_cases(8)
    assert [c[1] for c in singles[:4]] == ["size", "color", "shape", "position"]


def test_single_shape_replies_are_read():
    measured = {"size": "small", "color": "red", "shape": "circle", "position": "center"}
    assert single_correct("color", "", measured, "it is red.")
    assert single_correct("position", "", measured, "it is in the middle.")
    assert single_correct("color", "no", measured, "no, it is red.")
    assert not single_correct("color", "yes", measured, "no, it is red.")
    assert not single_correct("shape", "", measured, "it is a square.")


def test_the_table_has_a_column_per_model():
    row = {"scene": {"n": 6, "accuracy": 0.5, **dict.fromkeys(scenes.QUESTION_KINDS, 0.5)},
           "latency_s": 0.02}
    fast = {**row, "latency_s": 0.01}
    table = format_comparison({"baseline": fast, "interactive": row}, reference="baseline")
    assert "scene QA (n=6)" in table and "2.00x" in table and "50.0%" in table
