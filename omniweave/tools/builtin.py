"""Built-in ShapeWorld tools. Each one computes from the raw medium (no model involved)."""

from __future__ import annotations

import ast
import operator
import re

import numpy as np

from omniweave.media import Audio, Image, Video
from omniweave.nano.world import COLORS
from omniweave.tools.registry import ToolError, tool

_COLORS = list(COLORS)


def _mono(audio: Audio) -> np.ndarray:
    x = np.asarray(audio.samples, np.float64)
    return x.mean(axis=1) if x.ndim == 2 else x


def _envelope(x: np.ndarray, rate: int, ms: float = 10.0) -> np.ndarray:
    win = max(1, int(rate * ms / 1000))
    n = len(x) // win
    return np.sqrt((x[: n * win].reshape(n, win) ** 2).mean(1))


@tool(description="the pitch of a sound in hertz", media=("audio",))
def pitch_hz(audio: Audio) -> float:
    """Fundamental frequency by autocorrelation of the sounding part, refined parabolically."""
    x, rate = _mono(audio), audio.sample_rate
    env = np.repeat(_envelope(x, rate), max(1, int(rate * 0.01)))
    on = x[: len(env)][env > 0.5 * env.max()] if env.size and env.max() > 0 else x
    if on.size < rate // 50 or not np.any(on):
        raise ToolError("the sound is silent")
    on = on - on.mean()
    n = 1 << int(np.ceil(np.log2(2 * on.size)))
    spec = np.fft.rfft(on, n)
    ac = np.fft.irfft(np.abs(spec) ** 2, n)[: on.size]
    lo, hi = int(rate / 2000), int(rate / 50)  # 50 Hz .. 2 kHz
    seg = ac[lo:hi]
    # the first lag whose peak is near the global one (avoids octave errors)
    best = int(np.argmax(seg))
    peaks = [i for i in range(1, len(seg) - 1) if seg[i] >= seg[i - 1] and seg[i] >= seg[i + 1]
             and seg[i] > 0.9 * seg[best]]
    i = peaks[0] if peaks else best
    a, b, c = (seg[i - 1], seg[i], seg[i + 1]) if 0 < i < len(seg) - 1 else (0, 1, 0)
    shift = 0.5 * (a - c) / (a - 2 * b + c) if (a - 2 * b + c) != 0 else 0.0
    return round(rate / (lo + i + shift), 1)


@tool(description="the number of pulses in a sound", media=("audio",))
def pulse_count(audio: Audio) -> int:
    """Sounding stretches of the 10 ms RMS envelope (on above half its peak), gaps under 30 ms
    bridged; a stretch under 20 ms (a sliver of a pulse cut off by the clip's end) is not a pulse."""
    env = _envelope(_mono(audio), audio.sample_rate)
    if not env.size or env.max() <= 0:
        return 0
    on = np.flatnonzero(env > 0.5 * env.max())
    breaks = np.flatnonzero(np.diff(on) > 3)  # 3 or more quiet frames between sounding ones
    starts, ends = np.r_[on[0], on[breaks + 1]], np.r_[on[breaks], on[-1]]
    return int(np.sum(ends - starts + 1 >= 2))


def _mask(pixels: np.ndarray) -> np.ndarray:
    return pixels.astype(np.int32).max(axis=-1) > 40


@tool(description="the centre of the shape in pixels", media=("image",))
def centroid(image: Image) -> str:
    mask = _mask(image.pixels)
    if not mask.any():
        raise ToolError("the image has no shape")
    ys, xs = np.nonzero(mask)
    return f"x {xs.mean():.1f}, y {ys.mean():.1f}"


@tool(description="paint the shape in another color", media=("image",),
      parameters={"type": "object", "additionalProperties": False, "required": ["image", "color"],
                  "properties": {"image": {"type": "integer", "minimum": 0, "x-media": "image"},
                                 "color": {"type": "string", "enum": _COLORS}}})
def recolor(image: Image, color: str) -> Image:
    px = image.pixels.copy()
    px[_mask(px)] = COLORS[color]
    return Image(px)


@tool(description="mirror an image left to right", media=("image",))
def mirror(image: Image) -> Image:
    return Image(np.ascontiguousarray(image.pixels[:, ::-1]))


@tool(description="play a video backwards", media=("video",))
def reverse_video(video: Video) -> Video:
    return Video(np.ascontiguousarray(video.frames[::-1]), video.fps)


_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
        ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
        ast.Pow: operator.pow, ast.USub: operator.neg, ast.UAdd: operator.pos}


def _eval(node: ast.AST) -> float:
    if isinstance(node, ast.Expression):
        return _eval(node.body)
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        left, right = _eval(node.left), _eval(node.right)
        if isinstance(node.op, ast.Pow) and (abs(right) > 64 or abs(left) > 1e6):
            raise ToolError("the power is too large")
        return _OPS[type(node.op)](left, right)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _OPS:
        return _OPS[type(node.op)](_eval(node.operand))
    raise ToolError("only numbers and + - * / // % ** ( ) are allowed")


# operator words, read as their symbols: a call may pass a user's own words on ("262 plus 654")
_OP_WORDS = {"plus": "+", "minus": "-", "times": "*", "multiplied by": "*", "divided by": "/",
             "over": "/", "to the power of": "**"}
_WORDS = "|".join(sorted(_OP_WORDS, key=len, reverse=True))  # longest first
_OP_WORD = re.compile(rf"\b({_WORDS})\b")
_NUMBER = r" *\(* *-?\d+(\.\d+)? *\)*"
_OPERATOR = rf" *(\*\*|//|[-+*/%^]|{_WORDS})"
EXPRESSION = {"type": "string", "maxLength": 200, "pattern": f"^{_NUMBER}({_OPERATOR}{_NUMBER})* *$",
              "description": "numbers joined by + - * / // % ** or operator words, with parentheses"}


@tool(description="do arithmetic", parameters={
    "type": "object", "properties": {"expression": EXPRESSION}, "required": ["expression"],
    "additionalProperties": False})
def calculator(expression: str) -> str:
    """Arithmetic on numbers: + - * / // % ** and parentheses, or operator words (parsed,
    never eval'd)."""
    if len(expression) > 200:
        raise ToolError("the expression is too long")
    symbols = _OP_WORD.sub(lambda m: f" {_OP_WORDS[m.group(1)]} ", expression.lower())
    try:
        value = _eval(ast.parse(symbols.replace("^", "**"), mode="eval"))
    except SyntaxError:
        raise ToolError(f"cannot read {expression!r} as arithmetic") from None
    except ZeroDivisionError:
        raise ToolError("division by zero") from None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(round(value, 4) if isinstance(value, float) else value)


BUILTIN = ("pitch_hz", "pulse_count", "centroid", "recolor", "mirror", "reverse_video", "calculator")
