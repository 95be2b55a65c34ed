"""An any-to-any model on tiny random models of the real classes, end to end: load from a preset
that points at their folders, encode every medium, losses, generate each medium, checkpoints."""

import numpy as np
import pytest
import tiny
import torch

from omniweave.config import load_preset
from omniweave.media import Audio, Image, Video
from omniweave.model import AnyToAny

MEDIA = {"image": Image(np.full((40, 48, 3), 120, np.uint8)),
         "audio": Audio(np.sin(np.arange(8000) / 9).astype(np.float32) * 0.3, 16000),
         "video": Video(np.full((4, 40, 48, 3), 60, np.uint8), 8.0)}


@pytest.fixture(scope="module")
def model(tiny_models, tmp_path_factory):
    preset = tiny.write_preset(tiny.tiny_preset(tiny_models), tmp_path_factory.mktemp("p") / "t.yaml")
    return AnyToAny.from_config(load_preset(str(preset)))


def _batch(model):
    convs = [[{"role": "user", "content": f"<{m}>\ndescribe it."},
              {"role": "assistant", "content": "a thing."}] for m in MEDIA]
    convs.append([{"role": "user", "content": "make all three"},
                  {"role": "assistant", "content": "here: <image> <audio> <video>",
                   "outputs": [{"modality": m, "caption": f"a {m} of rain"} for m in MEDIA]}])
    enc = [model.processor.encode(c) for c in convs]
    batch = model.processor.collate(enc)
    batch["media"] = model.encode_media(list(MEDIA.values()))
    outputs = {}
    for o in enc[-1].outputs:
        target = model.decoders[o.modality].caption_embeddings([o.caption])
        outputs[o.modality] = (torch.tensor([3]), torch.tensor([o.positions]), target)
    batch["outputs"] = outputs
    return batch


def test_encode_forward_and_train_a_step(model):
    feats = model.encode_media(list(MEDIA.values()))
    assert feats["image"].ndim == 3  # the mapper reads SigLIP's tokens
    assert feats["audio"].shape == (1, 16) and feats["video"].shape == (1, 32)
    stage = load_preset("nano").stages["3"]  # LoRA on the LLM + both projectors + signal tokens
    params = model.set_trainable(stage)
    losses = model(**_batch(model))
    assert torch.isfinite(losses["lm"]) and losses["l2"] > 0
    (losses["lm"] + losses["l2"]).backward()
    assert all(p.grad is not None for p in model.output_projectors.parameters())
    assert any(p.grad is not None and "lora_" in n for n, p in model.llm.named_parameters())
    assert sum(p.numel() for p in params) < sum(p.numel() for p in model.parameters())
    model.zero_grad(set_to_none=True)
    model.requires_grad_(False)


def test_generate_text_and_every_medium(model):
    model.eval()
    reply = model.generate([{"role": "user", "content": "<image>\nwhat is it?"}], [MEDIA["image"]],
                           max_new_tokens=4)
    assert isinstance(reply.text, str)
    # a random LLM rarely writes signal tokens: force each output through projector and decoder
    width = model.llm.config.hidden_size
    for m, cls in (("image", Image), ("audio", Audio), ("video", Video)):
        n = model.cfg.modalities[m].signal_tokens
        cond = model.output_projectors[m](torch.randn(1, n, width), torch.randn(1, n, width))
        assert cond.shape[1:] == model.decoders[m].conditioning_shape
        medium = model.decoders[m].generate(cond.detach(), steps=2, guidance=2.0, seed=0)[0]
        assert isinstance(medium, cls)


def test_checkpoint_round_trip(model, tmp_path):
    out = model.save_pretrained(tmp_path / "ckpt")
    loaded = AnyToAny.from_pretrained(out)
    assert loaded.lora_enabled == model.lora_enabled
    mine, theirs = model.trained_state(), loaded.trained_state()
    assert mine.keys() == theirs.keys()
    assert all(torch.equal(mine[k], theirs[k]) for k in mine)
    assert loaded.decoders["image"] is model.decoders["image"]  # pipelines are built once


def test_a_vicuna_like_llm_without_a_template_trains_with_checkpointing(tiny_models, tmp_path):
    tree = tiny.tiny_preset(tiny_models, llm="vicuna")
    tree["modalities"] = {"image": tree["modalities"]["image"]}
    tree["llm"]["gradient_checkpointing"] = True
    model = AnyToAny.from_config(load_preset(str(tiny.write_preset(tree, tmp_path / "v.yaml"))))
    conv = [{"role": "user", "content": "<image>\nhi"},
            {"role": "assistant", "content": "a red circle. <image>",
             "outputs": [{"modality": "image", "caption": "a red circle"}]}]
    enc = model.processor.encode(conv)
    assert enc.media == ["image"] and len(enc.outputs[0].positions) == 4
    model.set_trainable(load_preset("nano").stages["3"])
    llm = model.llm.get_base_model()
    assert llm.is_activation_checkpointing if hasattr(llm, "is_activation_checkpointing") else llm.is_gradient_checkpointing
    model.train()
    batch = model.processor.collate([enc])
    batch["media"] = model.encode_media([MEDIA["image"]])
    losses = model(**batch)
    losses["lm"].backward()
    assert any(p.grad is not None for n, p in model.llm.named_parameters() if "lora_" in n)


def test_stage_data_skips_corrupt_media_and_long_captions(model, tmp_path, capsys):
    from omniweave.training.data import Example, StageData

    good, bad = tmp_path / "good.png", tmp_path / "bad.png"
    MEDIA["image"].save(good)
    bad.write_bytes(b"not an image")

    def describe():
        return [{"role": "user", "content": "<image>\ndescribe it."},
                {"role": "assistant", "content": "a thing."}]

    def draw(caption):
        return [{"role": "user", "content": "draw it"},
                {"role": "assistant", "content": "ok <image>",
                 "outputs": [{"modality": "image", "caption": caption}]}]

    examples = [Example(describe(), [("image", good)]), Example(describe(), [("image", bad)]),
                Example(draw("a cat"), []), Example(draw("word " * 200), [])]
    data = StageData(model, examples, tmp_path / "cache")
    assert len(data) == 2 and [len(ex.media) for ex in data.examples] == [1, 0]
    assert ("skipping 2 of 4 examples: unreadable media (1), caption longer than the image "
            "decoder reads (1)") in capsys.readouterr().out
    assert data.batch([0, 1])["outputs"]["image"][2].shape == (1, 77, 32)
