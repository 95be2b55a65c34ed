import random

from omniweave.eval.nano import EVAL_SEED, TASKS, _caption_in, evaluate, format_table


def test_cases_are_well_formed():
    rng = random.Random(EVAL_SEED)
    for task, make in TASKS.items():
        cases = make(6, rng)
        assert {c.modality for c in cases} == {"image", "audio", "video"}, task
        for c in cases:
            placeholders = sum(m["content"].count("<") for turn in c.messages for m in turn)
            assert placeholders == len(c.media), task


def test_a_caption_is_read_out_of_a_reply():
    assert _caption_in("sure. it is a small red circle on the left.", "image").position == "left"
    assert _caption_in("a pulsing high square tone.", "image") is None
    assert _caption_in("no idea", "audio") is None


def test_the_shipped_model_on_a_small_eval(trained_model):
    table = evaluate(trained_model, n=6, tasks=("x2t", "t2x"), batch=6)
    assert set(table) >= {"x2t", "t2x", "x2t/image", "t2x/video"}
    assert table["x2t"]["stray_signal_text"] == 0 and table["t2x"]["stray_signal_text"] == 0
    assert table["x2t"]["accuracy"] >= 0.66 and table["t2x"]["accuracy"] >= 0.5
    assert "x2t/audio" in format_table(table)
