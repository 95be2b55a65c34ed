import pytest

from omniweave.tools.registry import Tool, ToolError, ToolSet, get_tool, tool, unregister, validate


def test_decorator_reads_the_signature():
    @tool(description="how long a sound is")
    def my_duration(audio, scale: float = 1.0):
        return len(audio.samples) / audio.sample_rate * scale

    try:
        t = get_tool("my_duration")
        assert isinstance(t, Tool) and t.media == ("audio",)
        assert t.media_args() == {"audio": "audio"}
        assert t.parameters["required"] == ["audio"]
        assert t.parameters["properties"]["scale"] == {"type": "number"}
        assert t.openai()["function"]["name"] == "my_duration"
    finally:
        unregister("my_duration")
    with pytest.raises(ToolError):
        get_tool("my_duration")


def test_validate_is_strict():
    schema = get_tool("recolor").parameters
    validate({"image": 0, "color": "red"}, schema)
    for bad in ({"image": 0}, {"image": "0", "color": "red"}, {"image": 0, "color": "pink"},
                {"image": -1, "color": "red"}, {"image": 0, "color": "red", "x": 1},
                {"image": True, "color": "red"}):
        with pytest.raises(ToolError):
            validate(bad, schema)


def test_allow_list():
    tools = ToolSet.of(["mirror"])
    assert tools.get("mirror").name == "mirror"
    with pytest.raises(ToolError, match="unknown tool 'calculator'"):
        tools.get("calculator")


def test_cli_chat_tools_lists_and_checks_the_allow_list(capsys):
    from omniweave.cli import main

    assert main(["chat", "--tools", "--allow", "calculator,nope", "hi"]) == 2
    assert "unknown tool 'nope'" in capsys.readouterr().err
