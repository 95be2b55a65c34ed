"""World text, the nano tokenizer and the nano LLM recipe (small and fast: no slow marks)."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
import torch

from omniweave.nano import text
from omniweave.nano.world import VOCABULARY, all_specs, parse_caption, spec_dict

VALUE_WORDS = {v for vals in VOCABULARY.values() for v in vals}
TURN = re.compile(r"(USER|ASSISTANT): (.*?)(?= USER: | ASSISTANT:|</s>|$)")


def turns(doc: str) -> list[tuple[str, str]]:
    return TURN.findall(doc.replace("</s>", "</s> "))


def world_words(s: str) -> set[str]:
    return set(re.findall(r"[a-z]+", s.lower())) & VALUE_WORDS


# ---------------------------------------------------------------- corpus
def test_corpus_is_deterministic_and_chat_formatted():
    a, b = text.corpus(200, seed=7), text.corpus(200, seed=7)
    assert a == b
    assert a != text.corpus(200, seed=8)
    assert text.corpus(50, seed=7) == a[:50]
    assert all(d.startswith("<s>") and d.endswith("</s>") for d in a)
    chats = [d for d in a if "USER: " in d]
    assert len(chats) > 150
    assert all(turns(d)[-1][0] == "ASSISTANT" for d in chats)


def test_render_chat_matches_vicuna_form():
    msgs = [{"role": "system", "content": "sys."}, {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "hello!"}, {"role": "user", "content": "draw a red circle"}]
    assert text.render_chat(msgs, add_generation_prompt=True) == (
        "<s>sys. USER: hi ASSISTANT: hello!</s>USER: draw a red circle ASSISTANT:")


def _first_spec(doc: str):
    """The spec of a QA document whose first user turn starts with a canonical caption."""
    user = turns(doc)[0][1]
    for intro in ("here is an image: ", "look at this picture: ", "image: ", "here is a sound: ",
                  "listen to this: ", "audio: ", "here is a video: ", "watch this clip: ", "video: "):
        user = user.removeprefix(intro)
    try:
        return parse_caption(user.split(". ")[0])
    except Exception:
        return None


def test_qa_answers_are_true_for_the_described_thing():
    checked = 0
    for doc in text.corpus(3000, seed=3):
        if "USER: " not in doc or "here is " in doc.split("ASSISTANT:")[1]:
            continue  # only question-answer chats (no generation or edits)
        spec = _first_spec(doc)
        if spec is None:
            continue
        values = set(spec_dict(spec).values())
        for role, content in turns(doc):
            if role == "ASSISTANT" and "hertz" not in content:
                assert world_words(content) <= values, (doc, content)
                checked += 1
    assert checked > 300


def test_qa_examples_state_the_true_value():
    rng = random.Random(0)
    for _ in range(300):
        msgs, answer, attr, value = text.qa_example(rng)
        assert value in re.findall(r"[a-z]+", answer)
        assert msgs[0]["role"] == "user"


def test_generation_replies_are_canonical_and_follow_the_request():
    rng = random.Random(1)
    for _ in range(300):
        request, spec = text.request(rng)
        assert parse_caption(spec.caption) == spec
        said = world_words(request.replace("hertz", ""))
        values = set(spec_dict(spec).values())
        assert said <= values, (request, spec.caption)
        for name, hz in text.HERTZ.items():
            if f"{hz} hertz" in request:
                assert spec.pitch == name
    replies = [c for d in text.corpus(2000, seed=4) for r, c in turns(d)
               if r == "ASSISTANT" and "here is " in c]
    assert len(replies) > 300
    for reply in replies:
        parse_caption(reply.split("here is ", 1)[1])  # raises on a non-canonical caption


def test_edits_change_what_they_say():
    rng = random.Random(2)
    for spec in [s for m in ("image", "audio", "video") for s in all_specs(m)][::5]:
        instruction, new = text.edit(rng, spec)
        parse_caption(new.caption)
        if instruction.startswith(("make it move", "now make it move")):
            assert new.modality == "video" and new.direction in instruction
        for color in world_words(instruction) & set(VOCABULARY["color"]):
            assert new.color == color


# ---------------------------------------------------------------- tokenizer
@pytest.fixture(scope="module")
def tokenizer_dir(tmp_path_factory) -> Path:
    from omniweave.nano.recipes import tokenizer as recipe

    out = tmp_path_factory.mktemp("nano") / "tokenizer"
    metrics = recipe.build(out, seed=0, docs=4000)
    assert metrics["round_trip_failures"] == 0
    assert 500 < metrics["vocab_size"] <= recipe.VOCAB_SIZE
    assert metrics["tokens_per_caption"] < 10
    return out


def test_tokenizer_round_trips_world_text(tokenizer_dir):
    from transformers import AutoTokenizer

    from omniweave.nano.recipes.tokenizer import load_tokenizer

    for tok in (load_tokenizer(tokenizer_dir), AutoTokenizer.from_pretrained(str(tokenizer_dir))):
        assert (tok.bos_token, tok.eos_token, tok.unk_token, tok.pad_token) == ("<s>", "</s>", "<unk>", "<pad>")
        assert tok.model_max_length == 512
        samples = text.vocabulary_text() + [" " + w for w in VALUE_WORDS]
        samples += ["Draw a RED circle, please!", "440 hertz", "what is 12 plus 30?", "ünïcode ✓"]
        for s in samples:
            ids = tok(s, add_special_tokens=False)["input_ids"]
            assert tok.decode(ids) == s
            assert tok.unk_token_id not in ids
        ids = tok("a red circle")["input_ids"]
        assert ids[0] == tok.bos_token_id and tok.decode(ids, skip_special_tokens=True) == "a red circle"
        # a world word is one token, with or without its leading space
        assert len(tok(" circle", add_special_tokens=False)["input_ids"]) == 1
        for doc in text.corpus(20, seed=11):
            assert tok.decode(tok(doc, add_special_tokens=False)["input_ids"]) == doc


def test_tokenizer_chat_template(tokenizer_dir):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    convo = [{"role": "user", "content": "draw a red circle"},
             {"role": "assistant", "content": "here is a small red circle in the center."},
             {"role": "user", "content": "now make it blue"},
             {"role": "assistant", "content": "here is a small blue circle in the center."}]
    rendered = tok.apply_chat_template(convo, tokenize=False)
    assert rendered == ("<s>USER: draw a red circle ASSISTANT: here is a small red circle in the center.</s>"
                        "USER: now make it blue ASSISTANT: here is a small blue circle in the center.</s>")
    assert rendered == text.render_chat(convo)
    prompt = tok.apply_chat_template(convo[:3], tokenize=False, add_generation_prompt=True)
    assert prompt.endswith("USER: now make it blue ASSISTANT:")
    ids = tok(prompt, add_special_tokens=False)["input_ids"]
    assert ids.count(tok.bos_token_id) == 1 and ids.count(tok.eos_token_id) == 1
    # the prompt's tokens are a prefix of the full conversation's: training and inference agree
    full = tok(rendered, add_special_tokens=False)["input_ids"]
    assert full[:len(ids)] == ids
    system = [{"role": "system", "content": text.SYSTEM_PROMPT}] + convo[:1]
    assert tok.apply_chat_template(system, tokenize=False, add_generation_prompt=True) == (
        f"<s>{text.SYSTEM_PROMPT} USER: draw a red circle ASSISTANT:")


# ---------------------------------------------------------------- LLM recipe
TINY = {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
        "num_attention_heads": 4, "num_key_value_heads": 4}


def test_pack_restarts_positions_per_document(tokenizer_dir):
    from omniweave.nano.recipes.llm import pack
    from omniweave.nano.recipes.tokenizer import load_tokenizer

    tok = load_tokenizer(tokenizer_dir)
    blocks, positions, weights = pack(text.corpus(60, seed=2), tok, 128, user_weight=0.25)
    assert blocks.shape == positions.shape == weights.shape and blocks.shape[1] == 128
    starts = blocks == tok.bos_token_id
    assert bool(starts[:, 0].all())
    assert bool(((positions == 0) == starts).all())
    # the assistant's words (and its </s>) weigh 1, the user's side 0.25
    ids = tok("<s>USER: hi ASSISTANT: it is red.</s>", add_special_tokens=False)["input_ids"]
    b, _, w = pack(["<s>USER: hi ASSISTANT: it is red.</s>"] * 40, tok, len(ids) * 4, user_weight=0.25)
    said = tok.decode([i for i, x in zip(b[0, :len(ids)].tolist(), w[0, :len(ids)].tolist(), strict=True) if x == 1.0])
    assert said == " it is red.</s>"
    assert set(w[0].tolist()) == {0.25, 1.0}
    _, _, w = pack(["<s>a red circle in the center.</s>"] * 40, tok, 64, user_weight=0.25)
    assert bool((w == 1.0).all())


def test_llm_recipe_builds_a_loadable_checkpoint(tokenizer_dir, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from omniweave.nano.recipes import llm

    out = tmp_path / "llm"
    torch.set_num_threads(2)
    metrics = llm.build(out, seed=0, steps=3, tokenizer_dir=tokenizer_dir, device="cpu", batch=4,
                        arch=TINY, eval_n=8, progress=False)
    for key in ("final_loss", "seconds_per_step", "heldout_perplexity", "qa_accuracy", "request_accuracy"):
        assert key in metrics
    assert metrics["steps"] == 3 and metrics["qa_n"] == 8
    assert 0.0 <= metrics["qa_accuracy"] <= 1.0 and metrics["heldout_perplexity"] > 1.0
    assert (out / "model.safetensors").exists() and (out / "tokenizer.json").exists()

    model = AutoModelForCausalLM.from_pretrained(str(out))
    assert next(model.parameters()).dtype == torch.float16
    model = AutoModelForCausalLM.from_pretrained(str(out), dtype=torch.float32)
    assert next(model.parameters()).dtype == torch.float32
    assert model.config.hidden_size == 64 and not model.config.tie_word_embeddings
    tok = AutoTokenizer.from_pretrained(str(out))
    assert model.config.vocab_size == len(tok)
    assert (model.config.bos_token_id, model.config.eos_token_id, model.config.pad_token_id) == (
        tok.bos_token_id, tok.eos_token_id, tok.pad_token_id)
    prompt = tok.apply_chat_template([{"role": "user", "content": "draw a red circle"}],
                                     add_generation_prompt=True, return_tensors="pt", return_dict=True)
    generated = model.generate(**prompt, max_new_tokens=5, do_sample=False)
    assert generated.shape[1] > prompt["input_ids"].shape[1]
    assert isinstance(tok.decode(generated[0]), str)

    again = llm.evaluate(out, n=8, seed=1, device="cpu", ppl_docs=20)
    assert again["qa_n"] == 8 and again["request_n"] == 8
