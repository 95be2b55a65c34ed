"""Tools the model can call: a registry, the ``<tool_call>`` format, a runtime, ShapeWorld tools.

See ``registry`` (Tool, ``@tool``, entry points ``omniweave.tools``), ``format`` (how calls and
results are written in the conversation), ``grammar`` (constrained decoding: a call is always
well-formed and names a listed tool), ``runtime`` (``run_with_tools``: call, execute, continue)
and ``builtin`` (pitch, pulses, centroid, recolor, mirror, reverse, calculator).
"""

from omniweave.tools.registry import Tool, ToolError, get_tool, registered, tool

__all__ = ["Tool", "ToolError", "get_tool", "registered", "tool"]
