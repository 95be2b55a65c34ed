"""Tool calling in the OpenAI-compatible API (``omniweave.serving.api``).

- The client passes OpenAI ``tools``: the model sees their names in the system turn; a reply that
  calls tools comes back as ``message.tool_calls`` (``finish_reason: "tool_calls"``) for the
  client to run; the client sends the results as ``role: "tool"`` messages and asks again.
- Otherwise, when the server was started with tools (``Settings.tools``, ``omniweave serve
  --tools``), the server runs them itself (``omniweave.tools.runtime``) and answers with the final
  reply; media the tools made come back in ``message.media``. ``tool_choice: "none"`` turns both off.
"""

from __future__ import annotations

import json
from typing import Any

from omniweave.serving.codec import bad
from omniweave.tools.format import parse_calls, response_text, system_prompt
from omniweave.tools.registry import Tool


def client_tools(body: dict) -> list[Tool] | None:
    """The request's OpenAI ``tools`` as Tool entries (no callable: the client runs them)."""
    raw = body.get("tools")
    if raw is None or body.get("tool_choice") == "none":
        return None
    if not isinstance(raw, list):
        raise bad("expected a list of tools", "tools")
    out = []
    for k, t in enumerate(raw):
        fn = t.get("function") if isinstance(t, dict) and t.get("type") == "function" else None
        if not isinstance(fn, dict) or not isinstance(fn.get("name"), str) or not fn["name"]:
            raise bad('expected {"type": "function", "function": {"name": ...}}', f"tools[{k}]")
        out.append(Tool(fn["name"], str(fn.get("description", "")),
                        fn.get("parameters") or {"type": "object"}, fn=lambda **_: None))
    return out or None


def tool_messages(raw: Any) -> Any:
    """OpenAI messages with ``tool`` turns and assistant ``tool_calls`` written as the model reads
    them (``TOOL: name: result`` user turns, ``<tool_call>`` blocks), so the media reader takes them."""
    if not isinstance(raw, list):
        return raw
    names: dict[str, str] = {}
    out = []
    for msg in raw:
        if not isinstance(msg, dict):
            out.append(msg)
            continue
        calls = msg.get("tool_calls")
        if msg.get("role") == "assistant" and isinstance(calls, list) and calls:
            blocks = []
            for c in calls:
                fn = (c or {}).get("function") or {}
                args = fn.get("arguments", "{}")
                try:
                    args = json.loads(args) if isinstance(args, str) else args
                except json.JSONDecodeError:
                    args = {}
                names[str(c.get("id"))] = fn.get("name", "tool")
                blocks.append("<tool_call>" + json.dumps({"name": fn.get("name"), "arguments": args})
                              + "</tool_call>")
            msg = {k: v for k, v in msg.items() if k != "tool_calls"}
            msg["content"] = ((msg.get("content") or "") + "".join(blocks)).strip()
        elif msg.get("role") == "tool":
            content = msg.get("content")
            if isinstance(content, list):
                content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
            name = msg.get("name") or names.get(str(msg.get("tool_call_id")), "tool")
            msg = {"role": "user", "content": response_text(name, str(content))}
        out.append(msg)
    return out


def with_tool_list(messages: list[dict], tools: list[Tool]) -> list[dict]:
    prompt = system_prompt(tools)
    if messages and messages[0]["role"] == "system":
        return [{**messages[0], "content": f"{messages[0]['content']} {prompt}".strip()}] + messages[1:]
    return [{"role": "system", "content": prompt}] + messages


def openai_tool_calls(text: str) -> list[dict] | None:
    """The reply's calls in OpenAI's form, or None (no call, or a malformed one: then text)."""
    try:
        calls = parse_calls(text)
    except ValueError:
        return None
    if not calls:
        return None
    return [{"id": f"call_{k}", "type": "function",
             "function": {"name": c.name, "arguments": json.dumps(c.arguments)}}
            for k, c in enumerate(calls)]
