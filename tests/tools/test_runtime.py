import time

from omniweave.media import Audio
from omniweave.model import Response
from omniweave.nano import world
from omniweave.tools.format import format_call, response_text
from omniweave.tools.registry import Tool, ToolSet, registered, schema_from_signature
from omniweave.tools.runtime import ToolCall, execute, run_with_tools


class Scripted:
    """A stand-in model: replies in order, records what it saw."""

    def __init__(self, *replies):
        self.replies, self.seen = list(replies), []
        self.tokenizer = type("T", (), {"chat_template": "{{ vicuna }}"})()

    def generate(self, convs, media, **gen):
        self.seen.append((convs, media))
        return [Response(self.replies.pop(0)) for _ in convs]


def test_a_call_then_an_answer():
    audio = world.render(world.parse_caption("a steady high sine tone"), 1)
    model = Scripted(format_call("pitch_hz", {"audio": 0}), "the pitch is 880 hz.")
    run = run_with_tools(model, [{"role": "user", "content": [audio, "how many hertz?"]}])
    assert run.text == "the pitch is 880 hz." and run.results[0].ok
    convs, media = model.seen[1]
    assert convs[0][0] == {"role": "system", "content": "tools: " + ", ".join(
        t.name for t in registered()) + "."}
    assert convs[0][-1]["role"] == "user" and convs[0][-1]["content"].startswith("TOOL: pitch_hz: 8")
    assert convs[0][-2] == {"role": "assistant", "content": format_call("pitch_hz", {"audio": 0})}


def test_a_medium_joins_the_conversation():
    image = world.render(world.parse_caption("a small red circle on the left"), 1)
    model = Scripted(format_call("mirror", {"image": 0}),
                     format_call("recolor", {"image": 1, "color": "blue"}), "here it is.")
    run = run_with_tools(model, [{"role": "user", "content": [image, "mirror it, then blue"]}])
    assert len(run.media) == 2 and len(run.all_media) == 3
    assert len(model.seen[2][1][0]) == 3  # the model saw both results
    assert run.messages[-1]["content"] == response_text("recolor", "<image>")


def test_failures_are_tool_turns():
    def slow(expression: str):
        time.sleep(2)

    def boom(expression: str):
        raise RuntimeError("kaput")

    tools = ToolSet(registered(["calculator", "pitch_hz"]) + [
        Tool("slow", "sleeps", schema_from_signature(slow), slow, timeout=0.2),
        Tool("boom", "raises", schema_from_signature(boom), boom)])
    audio = Audio(world.render(world.parse_caption("a steady low sine tone")).samples, 16000)
    cases = [(ToolCall("nope", {}), "unknown tool 'nope'"),
             (ToolCall("calculator", {"expr": "1"}), "missing 'expression'"),
             (ToolCall("calculator", {"expression": "1/0"}), "division by zero"),
             (ToolCall("pitch_hz", {"audio": 5}), "the conversation has 1 media"),
             (ToolCall("slow", {"expression": "1"}), "timed out"),
             (ToolCall("boom", {"expression": "1"}), "RuntimeError: kaput")]
    for call, says in cases:
        r = execute(call, tools, [audio])
        assert not r.ok and says in r.text and "Traceback" not in r.text


def test_malformed_and_bounded_rounds():
    model = Scripted("<tool_call>{oops</tool_call>", "sorry.")
    run = run_with_tools(model, [{"role": "user", "content": "hi"}])
    assert run.malformed == 1 and run.text == "sorry."
    assert "malformed tool call" in model.seen[1][0][0][-1]["content"]
    loop = Scripted(*[format_call("calculator", {"expression": "1+1"})] * 3)
    run = run_with_tools(loop, [{"role": "user", "content": "again"}], max_rounds=2)
    assert run.rounds == 3 and len(run.results) == 2 and run.text == ""


def test_a_run_that_outgrows_the_context_ends_in_words():
    from omniweave.errors import ContextTooLong
    from omniweave.tools.runtime import OUTGREW, run_batch

    class Short:  # a processor whose context holds two messages
        def encode(self, messages, generation_prompt=False):
            if len(messages) > 2:
                raise ContextTooLong("too long")

    model = Scripted(format_call("calculator", {"expression": "1+1"}), "short.",
                     format_call("calculator", {"expression": "2+2"}))
    model.processor = Short()
    runs = run_batch(model, [[{"role": "user", "content": "add"}], [{"role": "user", "content": "hi"}]],
                     tools=ToolSet(registered(["calculator"])), add_system=False)
    assert runs[0].text == OUTGREW and runs[0].results[0].ok  # its call ran; then it stopped
    assert runs[1].text == "short."
