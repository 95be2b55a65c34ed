"""Run a conversation with tools: the model writes ``<tool_call>`` blocks, the runtime executes
them (allow-list, schema check, timeout), appends each result as a ``tool`` turn and lets the model
continue, up to ``max_rounds`` rounds. Decoding is constrained to the listed tools
(``omniweave.tools.grammar``: a call is always well-formed, names a listed tool and passes its
media by valid index) unless ``constrain=False``. Whatever goes wrong in a call (an unknown tool, arguments
that fail the schema, a media index that does not exist, a tool that raises or times out, a
malformed call) becomes a tool turn that says so; the user never sees a traceback.
"""

from __future__ import annotations

import concurrent.futures as cf
import json
from dataclasses import dataclass, field
from typing import Any

from omniweave.errors import ContextTooLong
from omniweave.llm import PLACEHOLDER
from omniweave.media import Audio, Image, Media, Video
from omniweave.tools.format import (
    MalformedCall,
    ToolCall,
    parse_calls,
    response_text,
    system_prompt,
    text_outside_calls,
    to_template_messages,
)
from omniweave.tools.registry import Tool, ToolError, ToolSet, validate

_KIND = {Image: "image", Audio: "audio", Video: "video"}
MAX_ROUNDS = 4


@dataclass
class ToolResult:
    call: ToolCall
    ok: bool
    text: str  # what the tool turn says
    medium: Media | None = None

    def __str__(self) -> str:
        """One line for logs: ``pitch_hz({"audio": 0}) -> 440``."""
        return f"{self.call.name}({json.dumps(self.call.arguments)}) -> {self.text}"


@dataclass
class ToolRun:
    """The outcome of ``run_with_tools``: the final reply, the calls made and their results, the
    media of the reply (tool results first, then what the model drew) and the whole transcript."""
    text: str
    media: list[Media] = field(default_factory=list)
    results: list[ToolResult] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    all_media: list[Media] = field(default_factory=list)
    malformed: int = 0
    rounds: int = 0


OUTGREW = "I have to stop here: the conversation, with the tool results, outgrew my context."


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def execute(call: ToolCall, tools: ToolSet, media: list[Media]) -> ToolResult:
    """Run one call against the allow-list; every failure is a ToolResult with ok=False."""
    try:
        t: Tool = tools.get(call.name)
        validate(call.arguments, t.parameters)
        kwargs = dict(call.arguments)
        for arg, kind in t.media_args().items():
            if arg not in kwargs:
                continue
            k = kwargs[arg]
            if not 0 <= k < len(media):
                raise ToolError(f"{arg} {k}: the conversation has {len(media)} media")
            if _KIND[type(media[k])] != kind:
                raise ToolError(f"{arg} {k} is {_KIND[type(media[k])]}, not {kind}")
            kwargs[arg] = media[k]
        pool = cf.ThreadPoolExecutor(max_workers=1)
        try:
            value = pool.submit(t.fn, **kwargs).result(timeout=t.timeout)
        except cf.TimeoutError:
            raise ToolError(f"timed out after {t.timeout:g} s") from None
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
    except ToolError as e:
        return ToolResult(call, False, f"error: {e}")
    except Exception as e:  # noqa: BLE001  (a tool's own failure goes back to the model)
        return ToolResult(call, False, f"error: the tool failed ({type(e).__name__}: {e})")
    if isinstance(value, (Image, Audio, Video)):
        return ToolResult(call, True, PLACEHOLDER[_KIND[type(value)]], value)
    return ToolResult(call, True, _fmt(value))


def tool_turn(result: ToolResult) -> dict[str, Any]:
    return {"role": "tool", "name": result.call.name, "tool_call_id": result.call.id,
            "content": response_text(result.call.name, result.text)}


def with_system(messages: list[dict[str, Any]], tools: ToolSet) -> list[dict[str, Any]]:
    """The conversation with the tool list in its system turn (added, or replacing the first)."""
    prompt = system_prompt(tools.tools)
    if messages and messages[0].get("role") == "system":
        return [{"role": "system", "content": messages[0]["content"].rstrip() + " " + prompt}
                ] + messages[1:]
    return [{"role": "system", "content": prompt}] + list(messages)


def run_with_tools(model, messages: list[dict[str, Any]], media: list[Media] | None = None, *,
                   tools: ToolSet | None = None, max_rounds: int = MAX_ROUNDS,
                   add_system: bool = True, constrain: bool = True, **gen: Any) -> ToolRun:
    """Generate, executing tool calls, until the model answers without one (or ``max_rounds``
    tool rounds were used; the last round's reply is then the answer, its calls not run)."""
    return run_batch(model, [messages], [media or []], tools=tools, max_rounds=max_rounds,
                     add_system=add_system, constrain=constrain, **gen)[0]


def run_batch(model, conversations: list[list[dict[str, Any]]], media: list[list[Media]] | None = None,
              *, tools: ToolSet | None = None, max_rounds: int = MAX_ROUNDS, add_system: bool = True,
              constrain: bool = True, **gen: Any) -> list[ToolRun]:
    """``run_with_tools`` for a batch of conversations, each round one batched ``generate``."""
    from omniweave.model import normalize_messages

    tools = tools if tools is not None else ToolSet.of()
    gen.setdefault("max_new_tokens", 128)  # a call with its JSON is ~50-80 nano tokens
    if constrain:
        gen["tools"] = list(tools.tools)
    runs = []
    for conv, items in zip(conversations, media or [[] for _ in conversations], strict=True):
        msgs, all_media = normalize_messages(conv, items)
        if add_system and tools.tools:
            msgs = with_system(msgs, tools)
        runs.append(ToolRun("", messages=msgs, all_media=all_media))
    template = getattr(model.tokenizer, "chat_template", None)
    active = list(range(len(runs)))
    for round_ in range(max_rounds + 1):
        fits = [i for i in active if _fits(model, runs[i], template)]
        for i in set(active) - set(fits):  # tool results can outgrow the context: end that run
            runs[i].text, runs[i].rounds = OUTGREW, round_
        active = fits
        if not active:
            break
        replies = model.generate([to_template_messages(runs[i].messages, template) for i in active],
                                 [list(runs[i].all_media) for i in active], **gen)
        still = []
        for i, reply in zip(active, replies, strict=True):
            run = runs[i]
            run.rounds = round_ + 1
            if _step(run, reply, tools, last=round_ == max_rounds):
                still.append(i)
        active = still
    return runs


def _fits(model, run: ToolRun, template: str | None) -> bool:
    """Whether the run's conversation so far still fits the LLM's context."""
    from omniweave.model import normalize_messages

    processor = getattr(model, "processor", None)
    if processor is None:  # a stand-in without one
        return True
    msgs, _ = normalize_messages(to_template_messages(run.messages, template), list(run.all_media))
    try:
        processor.encode(msgs, generation_prompt=True)
    except ContextTooLong:
        return False
    return True


def _step(run: ToolRun, reply, tools: ToolSet, last: bool) -> bool:
    """Take one reply into ``run``; True when the model is to continue."""
    try:
        calls = parse_calls(reply.text)
    except MalformedCall as e:
        run.malformed += 1
        if last:
            run.text = text_outside_calls(reply.text)
            return False
        run.messages.append({"role": "assistant", "content": reply.raw})
        run.messages.append({"role": "tool", "name": "error", "content":
                             response_text("error", f"malformed tool call: {e}")})
        return True
    if not calls or last:
        run.text = text_outside_calls(reply.text) if calls else reply.text
        run.media += reply.media
        run.all_media += reply.media
        return False
    run.messages.append({"role": "assistant", "content": "",
                         "tool_calls": [{"id": c.id, "type": "function", "function":
                                         {"name": c.name, "arguments": c.arguments}}
                                        for c in calls]})
    for call in calls:
        result = execute(call, tools, run.all_media)
        run.results.append(result)
        if result.medium is not None:
            run.all_media.append(result.medium)
            run.media.append(result.medium)
        run.messages.append(tool_turn(result))
    return True
