import json

import pytest

from omniweave.errors import InputError
from omniweave.eval import multiple_choice as mc
from omniweave.eval.perception import scene_mc_items
from omniweave.nano import world


def test_prompts_and_letters():
    prompt = mc.mc_prompt("what color is the shape on the right?", ["red", "blue", "green"], "a hint")
    assert prompt.splitlines()[:5] == ["a hint", "what color is the shape on the right?", "A. red",
                                       "B. blue", "C. green"]
    assert prompt.endswith(mc.LETTER_ANSWER)
    assert [mc.read_letter(r) for r in ("B.", "(C) green", "the answer is D", "a red one")] == \
        ["B", "C", "D", None]


def test_items_are_checked():
    with pytest.raises(InputError, match="5 options"):
        mc.Item("q", list("abcde"), "A")
    with pytest.raises(InputError, match="answer 'C'"):
        mc.Item("q", ["x", "y"], "C")


def test_mmbench_tsv_round_trip(tmp_path):
    items = scene_mc_items(6)
    path = mc.write_mmbench(tmp_path / "scenes.tsv", items)
    header = path.read_text().splitlines()[0].split("\t")
    assert header == ["index", "question", "hint", "A", "B", "C", "D", "answer", "category", "image"]
    back = mc.read_items(path)
    assert [(b.question, b.options, b.answer, b.category) for b in back] == \
        [(a.question, a.options, a.answer, a.category) for a in items]
    assert (back[0].medium.pixels == items[0].medium.pixels).all()  # PNG: lossless
    assert len(mc.read_items(path, limit=2)) == 2


def test_seed_bench_json(tmp_path):
    _, image = world.sample("image", 3)
    image.save(tmp_path / "img" / "0001.png")
    (tmp_path / "seed.json").write_text(json.dumps({
        "question_type": {"Instance Attributes": 2},
        "questions": [{"question_id": "7", "question": "what color is it?", "choice_a": "red",
                       "choice_b": "green", "choice_c": "blue", "choice_d": "cyan", "answer": "B",
                       "data_id": "0001.png", "data_type": "image", "question_type_id": 2}]}))
    (item,) = mc.read_items(tmp_path / "seed.json", tmp_path / "img")
    assert item.options == ["red", "green", "blue", "cyan"] and item.answer == "B"
    assert item.category == "Instance Attributes" and item.medium.pixels.shape == (32, 32, 3)
    with pytest.raises(InputError, match="expected an MMBench .tsv or a SEED-Bench .json"):
        (tmp_path / "x.csv").write_text("")
        mc.read_items(tmp_path / "x.csv")


def test_the_runner_scores_both_ways(fresh_model):
    items = scene_mc_items(4)
    scores = mc.option_logprobs(fresh_model, items[0])
    assert len(scores) == len(items[0].options) and all(s < 0 for s in scores)
    table = mc.evaluate_items(fresh_model, items, batch=3, progress=False)
    assert table["n"] == 4 and 0 <= table["likelihood"] <= 1 and 0 <= table["letter"] <= 1
    assert set(table) >= {"color", "shape"}
