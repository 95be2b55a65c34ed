import pytest

from omniweave.errors import InputError
from omniweave.processor import IGNORE


def test_labels_cover_only_the_assistant_replies(fresh_model):
    proc = fresh_model.processor
    enc = proc.encode([{"role": "user", "content": "hello"}, {"role": "assistant", "content": "hi there."},
                       {"role": "user", "content": "bye"}, {"role": "assistant", "content": "bye!"}])
    labelled = proc.tokenizer.decode([t for t, lab in zip(enc.input_ids, enc.labels, strict=True)
                                      if lab != IGNORE])
    assert "hi there." in labelled and "bye!" in labelled
    assert "hello" not in labelled and "USER" not in labelled


def test_input_media_become_framed_slots(fresh_model):
    proc, layout = fresh_model.processor, fresh_model.layout
    enc = proc.encode([{"role": "user", "content": "<audio>\n<image>\ncompare"},
                       {"role": "assistant", "content": "ok."}])
    assert enc.media == ["audio", "image"]
    ids = enc.input_ids
    a = ids.index(layout.id("[BOA]"))
    n = fresh_model.cfg.modalities["audio"].input_projector.num_tokens
    assert ids[a + 1:a + 1 + n] == [layout.id("<audio>")] * n
    assert ids[a + 1 + n] == layout.id("[EOA]")
    assert ids.index(layout.id("[BOI]")) > a
    assert all(enc.labels[i] == IGNORE for i, t in enumerate(ids) if t >= layout.first_id)


def test_generated_media_become_signal_tokens_with_captions(fresh_model):
    proc, layout, cfg = fresh_model.processor, fresh_model.layout, fresh_model.cfg
    enc = proc.encode([{"role": "user", "content": "make a video of a red circle moving up"},
                       {"role": "assistant", "content": "here is a red circle moving up. <video>",
                        "outputs": [{"modality": "video", "caption": "a red circle moving up"}]}])
    (slot,) = enc.outputs
    assert slot.modality == "video" and slot.caption == "a red circle moving up"
    assert [enc.input_ids[p] for p in slot.positions] == layout.signal_ids(cfg, "video")
    assert [enc.labels[p] for p in slot.positions] == layout.signal_ids(cfg, "video")
    assert proc.decode(enc.input_ids[slot.positions[0] - 3:]).endswith("up.")
    assert proc.decode(enc.input_ids[slot.positions[0]:], placeholders=True) == "<video>"


def test_a_conversation_past_the_context_is_refused(fresh_model):
    with pytest.raises(InputError, match="llm.max_length"):
        fresh_model.processor.encode([{"role": "user", "content": "red " * 2000}])


def test_collate_pads_left_for_generation(fresh_model):
    proc = fresh_model.processor
    a = proc.encode([{"role": "user", "content": "hi"}], generation_prompt=True)
    b = proc.encode([{"role": "user", "content": "draw a large red circle on the left"}],
                    generation_prompt=True)
    batch = proc.collate([a, b], left_pad=True)
    assert batch["attention_mask"][0, 0] == 0 and batch["attention_mask"][0, -1] == 1
    assert batch["input_ids"][0, -1] == a.input_ids[-1]


def test_more_media_than_configured_is_refused(fresh_model):
    most = fresh_model.cfg.modalities["image"].max_inputs
    with pytest.raises(InputError, match=f"{most + 1} image inputs .* at most {most}"):
        fresh_model.processor.encode([{"role": "user", "content": "<image>" * (most + 1)}])
