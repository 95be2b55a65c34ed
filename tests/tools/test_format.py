import pytest

from omniweave.tools.format import (
    MalformedCall,
    format_call,
    parse_calls,
    response_text,
    system_prompt,
    to_template_messages,
)
from omniweave.tools.registry import registered


def test_round_trip_and_plain_text():
    text = format_call("pitch_hz", {"audio": 0})
    assert text == '<tool_call>{"name": "pitch_hz", "arguments": {"audio": 0}}</tool_call>'
    (call,) = parse_calls(text)
    assert (call.name, call.arguments) == ("pitch_hz", {"audio": 0})
    assert parse_calls("the pitch is 440 hz.") == []
    two = parse_calls(format_call("mirror", {"image": 0}) + format_call("recolor", {"image": 1, "color": "red"}))
    assert [c.name for c in two] == ["mirror", "recolor"]


@pytest.mark.parametrize("bad", [
    "<tool_call>{\"name\": \"mirror\", \"arguments\": {\"image\": 0}}",          # unclosed
    "<tool_call>{name: mirror}</tool_call>",                                       # not JSON
    "<tool_call>{\"name\": \"mirror\"}</tool_call>",                               # no arguments
    "<tool_call>{\"name\": \"mirror\", \"arguments\": 3}</tool_call>",             # not an object
    "<tool_call>{\"name\": 3, \"arguments\": {}}</tool_call>",                     # name not a string
    "<tool_call>{\"name\": \"m\", \"arguments\": {}, \"x\": 1}</tool_call>",       # extra key
    "<tool_call>[1, 2]</tool_call>",
    "</tool_call>",
])
def test_strict_parser(bad):
    with pytest.raises(MalformedCall):
        parse_calls(bad)


def test_tool_turns_for_a_template_without_tools():
    msgs = [{"role": "user", "content": "<audio> hz?"},
            {"role": "assistant", "content": "", "tool_calls": [
                {"id": "c0", "type": "function", "function": {"name": "pitch_hz", "arguments": '{"audio": 0}'}}]},
            {"role": "tool", "name": "pitch_hz", "content": "440.1"}]
    out = to_template_messages(msgs, "{{ vicuna }}")
    assert out[1] == {"role": "assistant", "content": format_call("pitch_hz", {"audio": 0})}
    assert out[2] == {"role": "user", "content": response_text("pitch_hz", "440.1")}
    native = to_template_messages(msgs, "{% if message['role'] == 'tool' %}")
    assert native[2]["role"] == "tool"


def test_system_prompt_lists_tools():
    tools = registered(["pitch_hz", "mirror"])
    assert system_prompt(tools) == "tools: pitch_hz, mirror."
    assert "pitch_hz (the pitch of a sound in hertz)" in system_prompt(tools, describe=True)
