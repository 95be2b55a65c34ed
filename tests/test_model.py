import json

import pytest
import torch

from omniweave.config import load_preset
from omniweave.errors import InputError
from omniweave.model import AnyToAny, Response, normalize_messages
from omniweave.nano import world


def _batch(model):
    spec, image = world.sample("image", 3)
    conv_a = [{"role": "user", "content": "<image>\ndescribe it."},
              {"role": "assistant", "content": spec.caption + "."}]
    conv_b = [{"role": "user", "content": "draw a small red circle in the center"},
              {"role": "assistant", "content": "here is a small red circle in the center. <image>",
               "outputs": [{"modality": "image", "caption": "a small red circle in the center"}]}]
    a, b = model.processor.encode(conv_a), model.processor.encode(conv_b)
    batch = model.processor.collate([a, b])
    batch["media"] = model.encode_media([image])
    target = model.decoders["image"].caption_embeddings([b.outputs[0].caption])
    batch["outputs"] = {"image": (torch.tensor([1]), torch.tensor([b.outputs[0].positions]), target)}
    return batch


def test_losses_and_the_trainable_map(fresh_model):
    cfg = load_preset("nano")
    for name, expect in [("1", {"input_projectors"}), ("2", {"output_projectors", "extra"}),
                         ("3", {"input_projectors", "output_projectors", "extra", "llm"})]:
        model = AnyToAny(cfg, *_parts(fresh_model))
        params = model.set_trainable(cfg.stages[name])
        trained = {n.split(".")[0] for n, p in model.named_parameters() if p.requires_grad}
        assert trained == expect, name
        losses = model(**_batch(model))
        (losses["lm"] + losses["l2"]).backward()
        assert all(p.grad is not None for p in params if p.grad is not None)
        assert torch.isfinite(losses["lm"]) and losses["l2"] > 0
        if name == "3":
            assert all("lora_" in n for n, p in model.llm.named_parameters() if p.requires_grad)


def _parts(model):
    import copy

    return copy.deepcopy(model.llm), model.tokenizer, model.encoders, model.decoders


def test_the_splice_checks_media_against_slots(fresh_model):
    batch = _batch(fresh_model)
    two = {"image": batch["media"]["image"].repeat(2, 1)}
    with pytest.raises(InputError, match="2 image media for 1 image slots"):
        fresh_model.embed(batch["input_ids"], two)


def test_save_and_load_round_trip(fresh_model, tmp_path):
    out = fresh_model.save_pretrained(tmp_path / "ckpt")
    meta = json.loads((out / "config.json").read_text())
    assert meta["preset"] == "nano"
    loaded = AnyToAny.from_pretrained(out)
    for k, v in fresh_model.trained_state().items():
        assert torch.equal(v, loaded.trained_state()[k]), k
    with pytest.raises(InputError, match="checkpoint of preset 'nano', not 'other'"):
        AnyToAny.from_pretrained(out, preset="other")
    with pytest.raises(InputError, match="not an omniweave checkpoint"):
        AnyToAny.from_pretrained(tmp_path)


def test_a_checkpoint_with_other_settings_is_refused(fresh_model, tmp_path):
    out = fresh_model.save_pretrained(tmp_path / "ckpt")
    meta = json.loads((out / "config.json").read_text())
    meta["config"]["modalities"]["image"]["signal_tokens"] = 2
    (out / "config.json").write_text(json.dumps(meta))
    with pytest.raises(InputError, match="do not fit this config"):
        AnyToAny.from_pretrained(out)


def test_generate_returns_text_and_checks_media(fresh_model):
    spec, image = world.sample("image", 4)
    reply = fresh_model.generate([{"role": "user", "content": [image, "describe it."]}],
                                 max_new_tokens=8)
    assert isinstance(reply, Response) and reply.text
    with pytest.raises(InputError, match="placeholders for"):
        fresh_model.generate([{"role": "user", "content": "<image>\ndescribe it."}])
    batch = fresh_model.generate([[{"role": "user", "content": "hi"}],
                                  [{"role": "user", "content": "<image>\nhi"}]],
                                 [[], [image]], max_new_tokens=4)
    assert len(batch) == 2


def test_normalize_messages_turns_parts_into_placeholders():
    _, image = world.sample("image", 1)
    _, audio = world.sample("audio", 1)
    msgs, media = normalize_messages([{"role": "user", "content": [image, audio, {"type": "text",
                                                                                  "text": "compare"}]}])
    assert msgs[0]["content"] == "<image>\n<audio>\ncompare" and media == [image, audio]


def test_a_rows_reply_does_not_depend_on_its_batch(trained_model):
    draw = [{"role": "user", "content": "draw a large red circle on the left."}]
    play = [{"role": "user", "content": "play a pulsing high square tone."}]
    alone = trained_model.generate(draw, seed=7, temperature=0.8, steps=6)
    both = trained_model.generate([play, draw], seed=[3, 7], temperature=0.8, steps=6)
    assert both[1].text == alone.text
    assert (both[1].media[0].pixels == alone.media[0].pixels).all()
    with pytest.raises(InputError, match="1 seeds for 2 conversations"):
        trained_model.generate([play, draw], seed=[3])


def test_a_wider_stage_lora_widens_the_adapter_and_keeps_its_weights():
    """A stage asking for more LoRA targets than the checkpoint's adapter has widens it: the
    trained weights stay, the new targets start at zero, ``modules_to_save`` train whole."""
    import torch

    from omniweave.config import LoraConfig, StageConfig
    from omniweave.nano.components import WEIGHTS_DIR

    model = AnyToAny.from_pretrained(WEIGHTS_DIR / "any-to-any")
    ids = torch.tensor([[1, 40, 41, 42, 43]])
    before = model.llm(input_ids=ids).logits
    stage = StageConfig(trainable={"llm": "lora"}, lora=LoraConfig(
        r=16, alpha=32, target_modules=["q_proj", "up_proj"], modules_to_save=["embed_tokens"]))
    params = model.set_trainable(stage)
    cfg = model.llm.peft_config["default"]
    assert {"q_proj", "v_proj", "up_proj"} <= set(cfg.target_modules) and cfg.modules_to_save == ["embed_tokens"]
    torch.testing.assert_close(model.llm(input_ids=ids).logits, before)
    names = {n for n, p in model.llm.named_parameters() if p.requires_grad}
    assert any("up_proj.lora_A" in n for n in names)
    assert any("embed_tokens.modules_to_save" in n for n in names)
    assert len(params) == len(names)


def test_saving_from_a_full_state_dict_matches_saving_the_model(tmp_path):
    """What the trainer does under FSDP / ZeRO-3: save from a gathered state dict."""
    from safetensors.torch import load_file

    from omniweave.nano.components import WEIGHTS_DIR

    model = AnyToAny.from_pretrained(WEIGHTS_DIR / "any-to-any")
    model.save_pretrained(tmp_path / "own")
    full = {k: v.clone() for k, v in model.state_dict().items()}
    model.save_pretrained(tmp_path / "gathered", state_dict=full)
    for rel in ("model.safetensors", "lora/adapter_model.safetensors"):
        a, b = load_file(tmp_path / "own" / rel), load_file(tmp_path / "gathered" / rel)
        assert a.keys() == b.keys() and a
        assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_full_llm_stage_merges_the_adapter_and_saves_the_whole_llm(tmp_path):
    """``trainable: {llm: full}`` on a LoRA checkpoint: the adapter merges in (same outputs), every
    LLM weight trains, the checkpoint carries the LLM as a transformers folder, and a LoRA stage
    on top saves its base there and its adapter beside; each loads back to the same outputs."""
    from transformers import AutoModelForCausalLM

    from omniweave.config import LoraConfig, StageConfig
    from omniweave.nano.components import WEIGHTS_DIR

    model = AnyToAny.from_pretrained(WEIGHTS_DIR / "any-to-any")
    ids = torch.tensor([[1, 40, 41, 42, 43]])
    before = model.llm(input_ids=ids).logits
    params = model.set_trainable(StageConfig(trainable={"llm": "full"}))
    assert not model.lora_enabled and model.llm_whole
    assert len(params) == len(list(model.llm.parameters()))
    torch.testing.assert_close(model.llm(input_ids=ids).logits, before, rtol=1e-4, atol=1e-4)
    with torch.no_grad():  # what training would do: the base weights move
        model.llm.get_input_embeddings().weight[40:44] += 0.5
    moved = model.llm(input_ids=ids).logits
    model.save_pretrained(tmp_path / "full")
    assert not (tmp_path / "full" / "lora").exists()
    plain = AutoModelForCausalLM.from_pretrained(tmp_path / "full" / "llm")  # loads like a hub folder
    torch.testing.assert_close(plain(input_ids=ids).logits, moved)
    back = AnyToAny.from_pretrained(tmp_path / "full")
    assert back.llm_whole and back.cfg.llm.path == model.cfg.llm.path
    torch.testing.assert_close(back.llm(input_ids=ids).logits, moved)

    back.set_trainable(StageConfig(trainable={"llm": "lora"}, lora=LoraConfig(r=4, alpha=8)))
    with torch.no_grad():
        for n, p in back.llm.named_parameters():
            if "lora_B" in n:
                p.fill_(0.01)
    adapted = back.llm(input_ids=ids).logits
    back.save_pretrained(tmp_path / "lora-on-full")
    assert (tmp_path / "lora-on-full" / "lora").is_dir() and (tmp_path / "lora-on-full" / "llm").is_dir()
    again = AnyToAny.from_pretrained(tmp_path / "lora-on-full")
    assert again.lora_enabled and again.llm_whole
    torch.testing.assert_close(again.llm(input_ids=ids).logits, adapted)
