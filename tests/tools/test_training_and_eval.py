"""A short tool-training run, and the tool eval on a small sample with the shipped checkpoint."""

from __future__ import annotations

import pytest

from omniweave.nano.components import WEIGHTS_DIR

TOOLS_CKPT = WEIGHTS_DIR / "tools"


def test_a_short_tool_training_run(tmp_path, trained_model):
    from omniweave.config import load_preset
    from omniweave.data.tools import write_tool_data
    from omniweave.model import AnyToAny
    from omniweave.training.trainer import train_stage

    write_tool_data(tmp_path / "data", 24, seed=5)
    cfg = load_preset("nano", ["stages.tools.batch_size=2", "llm.split_digits=true"])
    cfg.stages["tools"].data = [str(tmp_path / "data" / "train.json")]
    summary = train_stage(cfg, "tools", tmp_path / "run", init=WEIGHTS_DIR / "any-to-any",
                          data_dir=tmp_path, steps=2, progress=False)
    assert summary["steps"] == 2 and summary["final_losses"]["lm"] > 0
    model = AnyToAny.from_pretrained(tmp_path / "run", preset="nano")
    assert model.lora_enabled and model.cfg.llm.split_digits  # asked for on top of the --init checkpoint
    assert set(model.llm.peft_config["default"].modules_to_save) == {"embed_tokens", "lm_head"}
    pieces = model.tokenizer.convert_ids_to_tokens(model.tokenizer("467", add_special_tokens=False)["input_ids"])
    assert pieces == ["4", "6", "7"]


def test_the_numbers_stage_trains_the_llm_whole_and_tools_adapt_it(tmp_path):
    """numbers (``llm: full``) then tools (LoRA): the first checkpoint carries the LLM whole,
    the second that LLM and its adapter, and each loads back as trained."""
    import torch

    from omniweave.config import load_preset
    from omniweave.data.numbers import write_number_data
    from omniweave.data.tools import write_tool_data
    from omniweave.model import AnyToAny
    from omniweave.training.trainer import train_stage

    write_number_data(tmp_path / "numbers", 16, seed=5)
    write_tool_data(tmp_path / "tools", 8, seed=5)
    cfg = load_preset("nano", ["stages.numbers.batch_size=2", "stages.tools.batch_size=2",
                               "llm.split_digits=true"])
    cfg.stages["numbers"].data = [str(tmp_path / "numbers" / "train.json")]
    cfg.stages["tools"].data = [str(tmp_path / "tools" / "train.json")]
    train_stage(cfg, "numbers", tmp_path / "a", init=WEIGHTS_DIR / "any-to-any", data_dir=tmp_path,
                steps=2, progress=False)
    a = AnyToAny.from_pretrained(tmp_path / "a", preset="nano")
    assert a.llm_whole and not a.lora_enabled and (tmp_path / "a" / "llm" / "model.safetensors").is_file()
    base = AnyToAny.from_pretrained(WEIGHTS_DIR / "any-to-any")
    ids = torch.tensor([[1, 40, 41, 42]])
    assert not torch.allclose(a.llm(input_ids=ids).logits, base.llm(input_ids=ids).logits)
    train_stage(cfg, "tools", tmp_path / "b", init=tmp_path / "a", data_dir=tmp_path, steps=2,
                progress=False)
    b = AnyToAny.from_pretrained(tmp_path / "b", preset="nano")
    assert b.llm_whole and b.lora_enabled
    # the adapter leaves the base alone: weights outside it are the numbers stage's
    torch.testing.assert_close(b.llm.get_base_model().model.norm.weight, a.llm.model.norm.weight)
    assert not torch.equal(a.llm.model.norm.weight, base.llm.get_base_model().model.norm.weight)


@pytest.mark.skipif(not (TOOLS_CKPT / "config.json").exists(), reason="no shipped tools checkpoint")
def test_eval_on_a_small_sample():
    from omniweave.eval.tools import evaluate, table
    from omniweave.model import AnyToAny

    model = AnyToAny.from_pretrained(TOOLS_CKPT, preset="nano")
    s = evaluate(model, n=24, batch=12, open_set=0, progress=False, misses=24)
    assert s["cases"] == 24 and "tool choice" in table(s)
    assert s["tool_choice"] >= 0.5
    assert s["malformed"] == 0 and s["hallucinated"] == 0  # constrained decoding: by construction
    choice, end = (sum(r[k] for r in s["per_task"].values()) for k in ("choice", "end"))
    assert 24 - min(choice, end) <= len(s["misses"]) <= 48 - choice - end  # every failed case listed


def test_the_table_lists_misses():
    from omniweave.eval.tools import table

    s = {"per_task": {"pitch": {"n": 1, "choice": 0, "end": 0, "calls": 1, "hallucinated": 0, "malformed": 0}},
         "tool_choice": 0.0, "tool_cases": 1, "no_tool_precision": 0.0, "no_tool_recall": 0.0,
         "no_tool_cases": 0, "hallucinated": 0.0, "calls": 1, "malformed": 0.0, "replies": 2,
         "end_task": 0.0, "cases": 1,
         "misses": [{"task": "pitch", "request": "<audio>\nhow high | is it?", "expected": ["pitch_hz"],
                     "called": ['pulse_count({"audio": 0}) -> 4'], "reply": "4 pulses."}]}
    row = table(s).splitlines()[-1]
    assert row == '| pitch | <audio> how high \\| is it? | pitch_hz | pulse_count({"audio": 0}) -> 4 | 4 pulses. |'
