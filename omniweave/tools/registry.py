"""The tool registry: a tool is a name, a one-line description, a JSON schema for its arguments,
the media it accepts and a Python callable.

Register with the decorator::

    from omniweave.tools import tool

    @tool(description="the length of a sound in seconds", media=("audio",))
    def duration(audio):
        return round(len(audio.samples) / audio.sample_rate, 2)

Arguments are read from the function's signature when ``parameters`` is not given: a parameter
named ``image``/``audio``/``video`` is a medium (an index into the conversation's media, resolved
by the runtime), others are strings unless annotated ``int``/``float``. Other packages add tools
through the entry-point group ``omniweave.tools`` (each entry point: a Tool, or a module whose
tools register on import); ``load_entry_points`` loads them.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from omniweave.errors import InputError

MEDIA_KINDS = ("image", "audio", "video")
ENTRY_POINT_GROUP = "omniweave.tools"


class ToolError(InputError):
    """A call that cannot run: unknown tool, bad arguments. Its text goes back to the model."""


@dataclass
class Tool:
    name: str
    description: str
    parameters: dict[str, Any]  # JSON schema of an object
    fn: Callable[..., Any]
    media: tuple[str, ...] = ()  # the modalities its media arguments take
    timeout: float = 10.0

    def media_args(self) -> dict[str, str]:
        """argument name -> modality, for arguments that refer to the conversation's media."""
        return {k: v["x-media"] for k, v in self.parameters.get("properties", {}).items()
                if isinstance(v, dict) and "x-media" in v}

    def openai(self) -> dict[str, Any]:
        """The tool as an OpenAI ``tools`` entry."""
        return {"type": "function", "function": {"name": self.name, "description": self.description,
                                                 "parameters": self.parameters}}


_REGISTRY: dict[str, Tool] = {}


def _json_type(annotation: Any) -> str:
    return {int: "integer", float: "number", bool: "boolean", "int": "integer",
            "float": "number", "bool": "boolean"}.get(annotation, "string")


def schema_from_signature(fn: Callable[..., Any]) -> dict[str, Any]:
    props, required = {}, []
    for name, p in inspect.signature(fn).parameters.items():
        if name in MEDIA_KINDS:
            props[name] = {"type": "integer", "minimum": 0, "x-media": name,
                           "description": f"index of the {name} in the conversation's media"}
        else:
            props[name] = {"type": _json_type(p.annotation)}
        if p.default is inspect.Parameter.empty:
            required.append(name)
    return {"type": "object", "properties": props, "required": required,
            "additionalProperties": False}


def register(t: Tool, replace: bool = True) -> Tool:
    if not t.name.replace("_", "").isalnum():
        raise ValueError(f"tool name {t.name!r}: use letters, digits and '_'")
    if not replace and t.name in _REGISTRY:
        raise ValueError(f"a tool named {t.name!r} is already registered")
    _REGISTRY[t.name] = t
    return t


def unregister(name: str) -> None:
    _REGISTRY.pop(name, None)


def tool(fn: Callable[..., Any] | None = None, *, name: str | None = None,
         description: str | None = None, parameters: dict[str, Any] | None = None,
         media: Iterable[str] | None = None, timeout: float = 10.0):
    """Register a function as a tool (usable bare, ``@tool``, or with options)."""

    def wrap(f: Callable[..., Any]) -> Callable[..., Any]:
        schema = parameters or schema_from_signature(f)
        kinds = tuple(media) if media is not None else tuple(
            v["x-media"] for v in schema.get("properties", {}).values() if "x-media" in v)
        desc = description or (inspect.getdoc(f) or f.__name__).splitlines()[0]
        register(Tool(name or f.__name__, desc, schema, f, kinds, timeout))
        return f

    return wrap(fn) if fn is not None else wrap


def get_tool(name: str) -> Tool:
    import omniweave.tools.builtin  # noqa: F401  (registers the built-in tools)

    if name not in _REGISTRY:
        raise ToolError(f"unknown tool {name!r}")
    return _REGISTRY[name]


def registered(names: Iterable[str] | None = None) -> list[Tool]:
    """Registered tools (the built-in ones loaded first), or those named, in that order."""
    import omniweave.tools.builtin  # noqa: F401  (registers the built-in tools)

    if names is None:
        return list(_REGISTRY.values())
    return [get_tool(n) for n in names]


def load_entry_points() -> list[str]:
    """Load tools other packages declare in the ``omniweave.tools`` entry-point group."""
    from importlib.metadata import entry_points

    loaded = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        obj = ep.load()
        if isinstance(obj, Tool):
            register(obj)
        elif callable(obj) and not inspect.ismodule(obj):
            tool(obj, name=ep.name)
        loaded.append(ep.name)
    return loaded


# ---------------------------------------------------------------- argument checking
_TYPES = {"integer": int, "number": (int, float), "string": str, "boolean": bool,
          "object": dict, "array": list}


def validate(args: Any, schema: dict[str, Any], where: str = "arguments") -> None:
    """A strict check of the JSON-schema subset tools use (type, enum, required, properties,
    additionalProperties, minimum/maximum, maxLength, pattern, items); raises ToolError naming
    the first problem."""
    kind = schema.get("type")
    if kind is not None:
        py = _TYPES.get(kind)
        ok = isinstance(args, py) if py else True
        if kind in ("integer", "number") and isinstance(args, bool):
            ok = False
        if not ok:
            raise ToolError(f"{where}: expected {kind}, got {type(args).__name__}")
    if "enum" in schema and args not in schema["enum"]:
        raise ToolError(f"{where}: {args!r} is not one of {schema['enum']}")
    if isinstance(args, (int, float)) and not isinstance(args, bool):
        if "minimum" in schema and args < schema["minimum"]:
            raise ToolError(f"{where}: {args} < {schema['minimum']}")
        if "maximum" in schema and args > schema["maximum"]:
            raise ToolError(f"{where}: {args} > {schema['maximum']}")
    if isinstance(args, str):
        if "maxLength" in schema and len(args) > schema["maxLength"]:
            raise ToolError(f"{where}: longer than {schema['maxLength']} characters")
        if "pattern" in schema and not re.search(schema["pattern"], args):
            raise ToolError(f"{where}: {args!r} does not match {schema['pattern']}")
    if isinstance(args, dict):
        props = schema.get("properties", {})
        for k in schema.get("required", []):
            if k not in args:
                raise ToolError(f"{where}: missing {k!r}")
        for k, v in args.items():
            if k in props:
                validate(v, props[k], f"{where}.{k}")
            elif schema.get("additionalProperties", True) is False:
                raise ToolError(f"{where}: unexpected argument {k!r}")
    if isinstance(args, list) and "items" in schema:
        for i, v in enumerate(args):
            validate(v, schema["items"], f"{where}[{i}]")


@dataclass
class ToolSet:
    """The tools one conversation may use: an allow-list over the registry."""

    tools: list[Tool] = field(default_factory=list)

    @classmethod
    def of(cls, names: Iterable[str] | None = None) -> ToolSet:
        return cls(registered(names))

    def names(self) -> list[str]:
        return [t.name for t in self.tools]

    def get(self, name: str) -> Tool:
        for t in self.tools:
            if t.name == name:
                return t
        raise ToolError(f"unknown tool {name!r}; the tools are: {', '.join(self.names())}")
