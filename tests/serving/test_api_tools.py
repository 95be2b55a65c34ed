"""Tool calling through the API, with a scripted stand-in model (plumbing, not the model)."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from omniweave.model import Response  # noqa: E402
from omniweave.serving.api import Settings, create_app  # noqa: E402
from omniweave.tools.format import format_call  # noqa: E402


class Scripted:
    def __init__(self, *replies):
        self.replies, self.seen = list(replies), []

    def generate(self, messages, media, **kw):
        self.seen.append(messages)
        self.tools = kw.get("tools")
        return Response(self.replies.pop(0))


TOOLS = [{"type": "function", "function": {
    "name": "get_weather", "description": "the weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]


def test_client_tools_come_back_as_tool_calls():
    model = Scripted(format_call("get_weather", {"city": "Paris"}), "it is sunny in paris.")
    with TestClient(create_app(model, Settings(model_name="nano"))) as http:
        r = http.post("/v1/chat/completions", json={
            "model": "nano", "tools": TOOLS, "messages": [{"role": "user", "content": "weather?"}]})
        choice = r.json()["choices"][0]
        assert choice["finish_reason"] == "tool_calls" and choice["message"]["content"] is None
        (call,) = choice["message"]["tool_calls"]
        assert call["function"]["name"] == "get_weather"
        assert json.loads(call["function"]["arguments"]) == {"city": "Paris"}
        assert model.seen[0][0] == {"role": "system", "content": "tools: get_weather."}
        assert [t.name for t in model.tools] == ["get_weather"]  # decoding held to the client's tools
        r = http.post("/v1/chat/completions", json={"model": "nano", "tools": TOOLS, "messages": [
            {"role": "user", "content": "weather?"},
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": call["id"], "content": "sunny"}]})
        choice = r.json()["choices"][0]
        assert choice["finish_reason"] == "stop" and choice["message"]["content"] == "it is sunny in paris."
        assert model.seen[1][-1] == {"role": "user", "content": "TOOL: get_weather: sunny"}
        assert "<tool_call>" in model.seen[1][-2]["content"]


def test_server_runs_its_tools():
    model = Scripted(format_call("calculator", {"expression": "12 * 12"}), "it is 144.")
    with TestClient(create_app(model, Settings(model_name="nano", tools=["calculator"]))) as http:
        r = http.post("/v1/chat/completions", json={
            "model": "nano", "messages": [{"role": "user", "content": "what is 12 times 12?"}]})
        message = r.json()["choices"][0]["message"]
        assert message["content"] == "it is 144." and "tool_calls" not in message
        assert model.seen[1][-1] == {"role": "user", "content": "TOOL: calculator: 144"}
        assert [t.name for t in model.tools] == ["calculator"]
        model.replies.append("no tools here.")
        r = http.post("/v1/chat/completions", json={"model": "nano", "tool_choice": "none",
                                                    "messages": [{"role": "user", "content": "hi"}]})
        assert r.json()["choices"][0]["message"]["content"] == "no tools here."
        assert model.seen[-1][0]["role"] == "user" and model.tools is None  # no tool list


def test_bad_tools_field_is_a_400():
    with TestClient(create_app(Scripted(), Settings(model_name="nano"))) as http:
        r = http.post("/v1/chat/completions", json={"model": "nano", "tools": [{"type": "x"}],
                                                    "messages": [{"role": "user", "content": "hi"}]})
        assert r.status_code == 400 and r.json()["error"]["param"] == "tools[0]"
