import copy
import random

import pytest
import torch

from omniweave.config import load_preset
from omniweave.errors import InputError
from omniweave.llm import PLACEHOLDER, REQUEST, kv_cache_arg
from omniweave.model import AnyToAny
from omniweave.nano import scenes, world
from omniweave.perception import Request, RequestGroup, detail_word_loss, request_groups


@pytest.fixture(scope="module")
def model(fresh_model):
    """nano-perception, fresh, on the session's base components (image and video interactive)."""
    cfg = load_preset("nano-perception")
    cfg.modalities["video"] = copy.deepcopy(cfg.modalities["image"])
    cfg.modalities["video"].decoder.path = "nano:video-decoder"
    parts = {m: fresh_model.encoders[m] for m in ("image", "video")}
    decoders = {m: fresh_model.decoders[m] for m in ("image", "video")}
    torch.manual_seed(0)
    m = AnyToAny(cfg, copy.deepcopy(fresh_model.llm), fresh_model.tokenizer, parts, decoders)
    with torch.no_grad():  # details that matter: a visible scale
        for p in m.perception.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    return m.eval()


def _scene(seed=1):
    spec, image, q = scenes.sample_question(random.Random(seed), seed, "color")
    return spec, image, q


def _reference_logits(model, ids: list[int], media: dict) -> torch.Tensor:
    """One unpadded row, by hand: pass 1 over the prefix (no cache) for each group in turn, the
    interaction module, the details spliced, then one full pass; logits of the last position."""
    ids_t = torch.tensor([ids])
    x = model.extra.embed_ids(ids_t, model.llm.get_input_embeddings())
    counts = {}
    for m, feats in media.items():
        proj = model.input_projectors[m](feats)
        slots = ids_t == model.layout.id(PLACEHOLDER[m])
        x = x.masked_scatter(slots[..., None], proj)
        counts[m] = 0
    k = model.cfg.modalities["image"].interaction.requests
    for p, t in enumerate(ids):
        m = next((m for m in media if t == model.layout.id(REQUEST[m][0])), None)
        if m is None:
            continue
        x = x.clone()
        x[0, p] = model.perception[m].request_token
        h = model.llm(inputs_embeds=x[:, : p + 1], output_hidden_states=True).hidden_states[-1][:, -1]
        medium = sum(1 for q in ids[:p] if q == model.layout.id(PLACEHOLDER[m])) - 1  # the latest
        words = model.llm.get_input_embeddings().weight
        x[0, p + 1: p + 1 + k] = model.perception[m](h, media[m][medium:medium + 1], words)[0]
    out = model.llm(inputs_embeds=x, output_hidden_states=True)
    return model.extra.logits(out.hidden_states[-1], out.logits)[0, -1]


@torch.no_grad()
def test_two_passes_equal_the_reference_computation(model):
    _, img_a, q_a = _scene(1)
    _, img_b, _ = _scene(2)
    convs = [[{"role": "user", "content": f"<image>\n{q_a.text}"}],
             [{"role": "user", "content": "<image>\nwhat is on the left? tell me in a few words."},
              {"role": "assistant", "content": "it is a red circle."},
              {"role": "user", "content": "and what color is the right one?"}]]  # a follow-up group
    encs = [model.processor.encode(c, generation_prompt=True) for c in convs]
    assert [len(e.requests) for e in encs] == [1, 2]
    feats = model.encode_media([img_a, img_b])
    # the cached two-pass prefill (left padded, as generate runs it) ...
    batch = model.processor.collate(encs, left_pad=True)
    ids, mask = batch["input_ids"], batch["attention_mask"]
    pre = model._splice(ids, feats, mask)
    embeds, past, start = pre.embeds, pre.past, pre.start
    assert past is not None and start > 0
    pos = (mask.cumsum(-1) - 1).clamp_min(0)
    out = model.llm(inputs_embeds=embeds[:, start:], attention_mask=mask, position_ids=pos[:, start:],
                    **kv_cache_arg(model.llm, past), use_cache=True, output_hidden_states=True)
    fast = model.extra.logits(out.hidden_states[-1], out.logits)[:, -1]
    # ... equals each row computed alone by hand
    for r, enc in enumerate(encs):
        ref = _reference_logits(model, enc.input_ids, {"image": feats["image"][r:r + 1]})
        torch.testing.assert_close(fast[r], ref, rtol=1e-4, atol=1e-4)
    # and the details did change the answer's logits
    plain = model.extra.logits(*(lambda o: (o.hidden_states[-1], o.logits))(model.llm(
        inputs_embeds=model.extra.embed_ids(ids[:1], model.llm.get_input_embeddings()),
        attention_mask=mask[:1], position_ids=pos[:1], output_hidden_states=True)))[0, -1]
    assert not torch.allclose(plain, fast[0], atol=1e-3)


@torch.no_grad()
def test_training_forward_uses_the_same_details(model):
    _, image, q = _scene(3)
    conv = [{"role": "user", "content": f"<image>\n{q.text}"}, {"role": "assistant", "content": "it is red."}]
    enc = model.processor.encode(conv)
    feats = model.encode_media([image])
    batch = model.processor.collate([enc])
    embeds = model.embed(batch["input_ids"], feats)  # right padded, no mask: the training path
    out = model.llm(inputs_embeds=embeds, output_hidden_states=True)
    ids = enc.input_ids
    ref = _reference_logits(model, ids, feats)
    got = model.extra.logits(out.hidden_states[-1], out.logits)[0, -1]
    torch.testing.assert_close(got, ref, rtol=1e-4, atol=1e-4)
    loss = model(**batch, media=feats)["lm"]  # pass 2 from pass 1's cache: the same loss
    logits = model.extra.logits(out.hidden_states[-1], out.logits)[0, :-1]
    labels = batch["labels"][0, 1:]
    torch.testing.assert_close(loss, torch.nn.functional.cross_entropy(logits, labels, ignore_index=-100),
                               rtol=1e-4, atol=1e-5)


def test_request_groups_map_to_their_media(model):
    proc, layout = model.processor, model.layout
    enc = proc.encode([{"role": "user", "content": "<image>\n<image>\ncompare"},
                       {"role": "assistant", "content": "ok."},
                       {"role": "user", "content": "<video>\nand this?"},
                       {"role": "assistant", "content": "ok."},
                       {"role": "user", "content": "and the first two?"}])
    names = [layout.name(t) for t in enc.input_ids if t >= layout.first_id]
    k = model.cfg.modalities["image"].interaction.requests
    group = ["[IMGREQ]"] + ["[IMGDET]"] * k
    # turn 1: a group per image, after the question; later turns: one per modality seen
    # (the latest image, then the video given or seen)
    assert names[:6] == ["[BOI]", "<image>", "[EOI]", "[BOI]", "<image>", "[EOI]"]
    assert names[6:6 + 2 * (k + 1)] == group * 2
    groups = request_groups(torch.tensor([enc.input_ids, enc.input_ids]), model.cfg, layout)
    got = [(g.row, g.modality, g.medium, g.round) for g in groups]
    assert got[:6] == [(0, "image", 0, 0), (0, "image", 1, 1), (0, "image", 1, 2), (0, "video", 0, 3),
                       (0, "image", 1, 4), (0, "video", 0, 5)]
    assert len(got) == 12 and got[6:9] == [(1, "image", 2, 0), (1, "image", 3, 1), (1, "image", 3, 2)]
    assert all(lab == -100 for lab, t in zip(enc.labels, enc.input_ids, strict=True)
               if layout.name(t) in ("[IMGREQ]", "[IMGDET]"))
    with pytest.raises(InputError, match="request mark"):
        proc.encode([{"role": "user", "content": "<image-request> hi"}])


def test_no_media_no_groups_and_the_nano_layout_is_unchanged(model, fresh_model):
    enc = model.processor.encode([{"role": "user", "content": "hello"}], generation_prompt=True)
    assert enc.requests == []
    assert not any(n.endswith("REQ]") for n in fresh_model.layout.names)
    assert fresh_model.layout.names == model.layout.names[: len(fresh_model.layout.names)][:0] + \
        fresh_model.layout.names  # nano keeps its ids: request tokens are only added when asked for


def test_generate_with_a_scene_and_a_single_shape(model):
    _, image, q = _scene(4)
    _, single = world.sample("image", 5)
    replies = model.generate([[{"role": "user", "content": f"<image>\n{q.text}"}],
                              [{"role": "user", "content": "<image>\nwhat color is it?"}]],
                             [[image], [single]], max_new_tokens=4)
    assert len(replies) == 2 and all(isinstance(r.text, str) for r in replies)


def test_the_trainable_map_and_the_checkpoint_hold_perception(model, tmp_path):
    cfg = model.cfg
    m = copy.deepcopy(model)
    params = m.set_trainable(cfg.stages["1"])
    trained = {n.split(".")[0] for n, p in m.named_parameters() if p.requires_grad}
    assert trained == {"input_projectors", "perception"}
    assert sum(p.numel() for p in params) == sum(
        p.numel() for p in [*m.input_projectors.parameters(), *m.perception.parameters()])
    assert any(k.startswith("perception.image.interaction") for k in m.trained_state())
    assert "perception.image.request_token" in m.trained_state()
    only = copy.deepcopy(cfg.stages["1"])
    only.trainable = {"perception": "full"}
    m.set_trainable(only)
    assert {n.split(".")[0] for n, p in m.named_parameters() if p.requires_grad} == {"perception"}


@torch.no_grad()
def test_the_training_loss_reuses_pass_1_exactly(model):
    _, img_a, q = _scene(6)
    _, img_b, _ = _scene(7)
    convs = [[{"role": "user", "content": "hello"}, {"role": "assistant", "content": "hi."},
              {"role": "user", "content": f"<image>\n{q.text}"}, {"role": "assistant", "content": "it is red."}],
             [{"role": "user", "content": "<image>\nwhat is on the left?"},
              {"role": "assistant", "content": "a red circle."},
              {"role": "user", "content": "and the right one?"}, {"role": "assistant", "content": "a blue one."}]]
    batch = model.processor.collate([model.processor.encode(c) for c in convs])
    feats = model.encode_media([img_a, img_b])
    fast = model(**batch, media=feats)["lm"]
    embeds = model.embed(batch["input_ids"], feats, batch["attention_mask"])  # then one full pass
    out = model.llm(inputs_embeds=embeds, attention_mask=batch["attention_mask"], output_hidden_states=True)
    logits = model.extra.logits(out.hidden_states[-1], out.logits)[:, :-1]
    slow = torch.nn.functional.cross_entropy(logits.flatten(0, 1), batch["labels"][:, 1:].flatten(),
                                             ignore_index=-100)
    torch.testing.assert_close(fast, slow, rtol=1e-4, atol=1e-5)


def test_the_detail_loss_targets_each_replys_rarest_word():
    ignore = -100
    # three groups (rows 0, 1, 2; request slot at 0): replies "it is red", "it is blue", "no"
    labels = torch.full((3, 6), ignore)
    labels[0, 1:4] = torch.tensor([10, 11, 20])
    labels[1, 1:4] = torch.tensor([10, 11, 21])
    labels[2, 1] = 22
    def logits_on(*words):  # K = 2 slots, one word each
        out = torch.full((2, 30), -20.0)
        for k, w in enumerate(words):
            out[k, w] = 20.0
        return out
    right = [(0, 0, logits_on(20, 20)), (1, 0, logits_on(21, 21)), (2, 0, logits_on(22, 22))]
    common = [(0, 0, logits_on(10, 11)), (1, 0, logits_on(10, 11)), (2, 0, logits_on(22, 22))]
    swapped = [(0, 0, logits_on(21, 21)), (1, 0, logits_on(20, 20)), (2, 0, logits_on(22, 22))]
    def requests(rows):  # (row, request position, word logits) -> what pass 1 records
        return [Request(RequestGroup(r, p, "image", r, 0), torch.zeros(4), lg) for r, p, lg in rows]
    loss = {name: float(detail_word_loss(requests(d), labels, ignore))
            for name, d in [("right", right), ("common", common), ("swapped", swapped)]}
    assert loss["right"] < 1e-3 < loss["common"] and loss["common"] == pytest.approx(loss["swapped"])
    assert detail_word_loss(requests(right[:1]), labels, ignore) is None  # nothing to compare with
    assert detail_word_loss(requests([(0, 0, None), (1, 0, None)]), labels, ignore) is None  # not vocabulary
