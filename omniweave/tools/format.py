"""How tool calls and results are written in a conversation.

A call is the convention of the Hermes / Qwen chat templates, one per block::

    <tool_call>{"name": "pitch_hz", "arguments": {"audio": 0}}</tool_call>

Media arguments are indices into the conversation's media (all of them, in order of appearance,
tool results included: a mirrored image becomes the next index). A result is a ``tool`` turn;
chat templates without tool support (the nano Vicuna template is one) get it as a user-side
turn, as Qwen's template renders tool turns inside a user turn, in a short form::

    USER: TOOL: pitch_hz: 440.0

``to_template_messages`` is the one place that conversion happens; it leaves templates that
render ``tool`` turns themselves alone. The tool list reaches the model in the system prompt
(``system_prompt``): names, and with ``describe`` their one-line descriptions. The nano LLM was
pretrained on 128-token blocks and its byte-level tokenizer spends ~100 tokens on the seven
descriptions, so the nano data and runtime list names only (``DESCRIBE`` off); a larger LLM
should get the descriptions.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from omniweave.tools.registry import Tool

CALL_OPEN, CALL_CLOSE = "<tool_call>", "</tool_call>"
RESPONSE_PREFIX = "TOOL: "
DESCRIBE = False  # the nano default: names only (see the module doc)
_CALL_RE = re.compile(re.escape(CALL_OPEN) + r"(.*?)" + re.escape(CALL_CLOSE), re.S)
SYSTEM_PROMPT = ("a chat between a user and an assistant that can see, hear, draw, play and "
                 "animate shapes and tones.")


@dataclass
class ToolCall:
    name: str
    arguments: dict[str, Any]
    id: str = ""

    def text(self) -> str:
        return format_call(self.name, self.arguments)


class MalformedCall(ValueError):
    """A reply that tries to call a tool but is not a well-formed call."""


def format_call(name: str, arguments: dict[str, Any]) -> str:
    return CALL_OPEN + json.dumps({"name": name, "arguments": arguments}) + CALL_CLOSE


def mentions_call(text: str) -> bool:
    return "<tool_call" in text or "</tool_call" in text


def parse_calls(text: str) -> list[ToolCall]:
    """Every call in a reply; [] when it makes none. Strict: a reply that starts a call block and
    does not finish a valid one (unbalanced tags, bad JSON, other keys, a non-object
    ``arguments``, a name that is not a string) raises ``MalformedCall``."""
    if not mentions_call(text):
        return []
    calls = []
    for m in _CALL_RE.finditer(text):
        try:
            obj = json.loads(m.group(1))
        except json.JSONDecodeError as e:
            raise MalformedCall(f"the tool call is not JSON ({e.msg})") from None
        if not isinstance(obj, dict) or set(obj) != {"name", "arguments"}:
            raise MalformedCall('a tool call is {"name": ..., "arguments": {...}} exactly')
        if not isinstance(obj["name"], str) or not obj["name"]:
            raise MalformedCall("the tool call's name is not a string")
        if not isinstance(obj["arguments"], dict):
            raise MalformedCall("the tool call's arguments are not an object")
        calls.append(ToolCall(obj["name"], obj["arguments"], f"call_{len(calls)}"))
    rest = _CALL_RE.sub("", text)
    if mentions_call(rest) or not calls:
        raise MalformedCall("an unfinished or unbalanced <tool_call> block")
    return calls


def text_outside_calls(text: str) -> str:
    return " ".join(_CALL_RE.sub(" ", text).split())


def response_text(name: str, content: str) -> str:
    """A tool turn's text as a user-side turn (templates without a tool role)."""
    return f"{RESPONSE_PREFIX}{name}: {content}"


def system_prompt(tools: list[Tool], describe: bool | None = None, base: str = "") -> str:
    """The system line with the tool list: ``tools: a, b.`` or ``tools: a (what it does); ...``."""
    if not tools:
        return base
    describe = DESCRIBE if describe is None else describe
    listed = ("; ".join(f"{t.name} ({t.description})" for t in tools) if describe
              else ", ".join(t.name for t in tools))
    return f"{base} tools: {listed}.".strip()


def template_has_tools(chat_template: str | None) -> bool:
    return bool(chat_template) and "tool" in chat_template


def to_template_messages(messages: list[dict[str, Any]], chat_template: str | None = None
                         ) -> list[dict[str, Any]]:
    """``tool`` turns as user turns (``TOOL: name: ...``) for templates
    without a tool role; assistant ``tool_calls`` written into the text as ``<tool_call>`` blocks."""
    native = template_has_tools(chat_template)
    out = []
    for m in messages:
        m = dict(m)
        calls = m.pop("tool_calls", None)
        if m.get("role") == "assistant" and calls:
            blocks = "".join(format_call(c["function"]["name"], _args(c["function"]["arguments"]))
                             if "function" in c else format_call(c["name"], c["arguments"])
                             for c in calls)
            m["content"] = ((m.get("content") or "") + blocks).strip()
        if m.get("role") == "tool" and not native:
            content = m.get("content", "")
            if not (isinstance(content, str) and content.startswith(RESPONSE_PREFIX)):
                name = m.get("name", "tool")
                content = response_text(name, content if isinstance(content, str) else json.dumps(content))
            m = {"role": "user", "content": content}
        out.append(m)
    return out


def _args(raw: Any) -> dict[str, Any]:
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError:
            return {}
    return raw if isinstance(raw, dict) else {}
