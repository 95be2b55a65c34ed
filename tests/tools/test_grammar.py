"""Constrained tool calls: whatever is sampled, a call is well-formed and names a listed tool."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoTokenizer

from omniweave.nano.components import WEIGHTS_DIR
from omniweave.tools.format import parse_calls
from omniweave.tools.grammar import CallGuide, arguments_schema, constrain
from omniweave.tools.registry import Tool, registered, validate


@pytest.fixture(scope="module")
def tokenizer():
    return AutoTokenizer.from_pretrained(WEIGHTS_DIR / "tokenizer")


def test_media_arguments_narrow_to_the_conversations_media():
    (recolor, pitch) = registered(["recolor", "pitch_hz"])
    schema = arguments_schema(recolor, ["audio", "image", "video", "image"])
    assert schema["properties"]["image"] == {"enum": [1, 3]}
    assert schema["properties"]["color"] == recolor.parameters["properties"]["color"]
    assert arguments_schema(pitch, ["image"]) is None  # no sound to measure: not callable


def _sample(guide: CallGuide, tokenizer, prefix: str, seed: int, steps: int = 300) -> str:
    """Random logits under the guide's mask, after ``prefix`` was written freely."""
    gen = torch.Generator().manual_seed(seed)
    ids = tokenizer.encode(prefix, add_special_tokens=False)
    for t in ids:
        guide.advance(t)
    # the grammar's exits ('"', '}', digits) get a push, so strings end in a few dozen steps
    push = torch.zeros(guide.vocab + 4)
    for s in ('"', "}", "0", "1", "</s>"):
        push[tokenizer.convert_tokens_to_ids(s)] = 4.0
    for _ in range(steps):
        logits = torch.randn(1, guide.vocab + 4, generator=gen) * 2 + push
        constrain(logits, [guide], [0])
        t = int(torch.multinomial(torch.softmax(logits[0], -1), 1, generator=gen))
        assert t < guide.vocab or not guide.mask()[1]  # no added token inside a call
        if t == tokenizer.eos_token_id:
            break
        ids.append(t)
        guide.advance(t)
    return tokenizer.decode(ids)


def test_random_decoding_always_writes_valid_calls(tokenizer):
    tools = registered(["mirror", "recolor", "pitch_hz", "reverse_video", "calculator"])
    kinds = ["image", "audio", "image"]
    names = set()
    for seed in range(12):
        guide = CallGuide(tokenizer, tools, kinds)
        text = _sample(guide, tokenizer, "ok. <tool", seed)
        calls = parse_calls(text)  # raises on a malformed call
        assert calls, text
        for call in calls:
            tool = next(t for t in tools if t.name == call.name)  # no other name can be written
            validate(call.arguments, tool.parameters)
            for arg, kind in tool.media_args().items():
                assert kinds[call.arguments[arg]] == kind, text
            names.add(call.name)
    assert "reverse_video" not in names  # the conversation holds no video
    assert len(names) >= 2  # the guide constrains; it does not pick


def test_no_callable_tool_means_no_call(tokenizer):
    guide = CallGuide(tokenizer, registered(["pitch_hz", "pulse_count"]), ["image"])
    ids = tokenizer.encode("<tool_call>", add_special_tokens=False)
    blocked = False
    for t in ids:
        allowed, _ = guide.mask()
        if not allowed[t]:
            blocked = True
            break
        guide.advance(t)
    assert blocked
    assert guide.mask()[0][tokenizer.eos_token_id]  # plain text can still end


def test_free_text_is_left_alone(tokenizer):
    guide = CallGuide(tokenizer, registered(["mirror"]), ["image"])
    for t in tokenizer.encode("the shape is a red circle, 3 < 4.", add_special_tokens=False):
        allowed, in_call = guide.mask()
        assert allowed[t] and not in_call
        guide.advance(t)


def test_an_unsupported_schema_falls_back_to_any_object(tokenizer):
    odd = Tool("odd", "odd schema", {"type": "object", "properties": {"a": {"$ref": "#/nope"}}},
               lambda a: a)
    guide = CallGuide(tokenizer, [odd], [])
    text = '<tool_call>{"name": "odd", "arguments": {"b": 1}}</tool_call>'
    for t in tokenizer.encode(text, add_special_tokens=False):
        assert guide.mask()[0][t]
        guide.advance(t)


def test_a_stray_closing_tag_is_not_text(tokenizer):
    guide = CallGuide(tokenizer, registered(["mirror"]), ["image"])
    ids = tokenizer.encode("i have no t_call>{}</tool_call>", add_special_tokens=False)
    for t in ids:
        allowed, _ = guide.mask()
        if not allowed[t]:
            return
        guide.advance(t)
    raise AssertionError("'</tool_call>' got through as text")


def test_calculator_expressions_follow_its_pattern(tokenizer):
    (calc,) = registered(["calculator"])
    for seed in range(6):
        text = _sample(CallGuide(tokenizer, [calc], []), tokenizer, "<tool", seed)
        (call,) = parse_calls(text)
        validate(call.arguments, calc.parameters)  # numbers and operators, nothing else


def test_special_token_tags(tokenizer):
    """Hermes-style models: <tool_call> and </tool_call> are special tokens; a call opens with
    the token (never as text), and the reply's text keeps the tags for the runtime to read."""
    import copy

    from omniweave.config import load_preset
    from omniweave.llm import TokenLayout
    from omniweave.processor import Processor

    tok = copy.deepcopy(tokenizer)
    tok.add_special_tokens({"additional_special_tokens": ["<tool_call>", "</tool_call>"]})
    tok.chat_template = tok.chat_template or "{{ messages }}"
    guide = CallGuide(tok, registered(["mirror"]), ["image"])
    call = '<tool_call>{"name": "mirror", "arguments": {"image": 0}}</tool_call>'
    ids = tok.encode(call, add_special_tokens=False)
    assert ids[0] == tok.convert_tokens_to_ids("<tool_call>")
    for t in ids:
        assert guide.mask()[0][t]
        guide.advance(t)
    assert guide.mask()[0][tok.eos_token_id]
    as_text = CallGuide(tok, registered(["mirror"]), ["image"])
    for t in tok.encode("<tool", add_special_tokens=False):  # the tag spelled out as text
        if not as_text.mask()[0][t]:
            break
        as_text.advance(t)
    else:
        raise AssertionError("'<tool' got through as text")
    cfg = load_preset("nano")
    proc = Processor(cfg, tok, TokenLayout.from_config(cfg, len(tok)))
    assert parse_calls(proc.decode(ids + [tok.eos_token_id]))[0].name == "mirror"
