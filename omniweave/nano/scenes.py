"""ShapeWorld scenes: two shapes side by side, and questions that need one of them.

An extension of the world; ``shared/WORLD.md`` stays the contract for single shapes. A scene is a
32×32 RGB image on black with two filled shapes about 12 px wide (colors and shapes from WORLD.md's
vocabulary): one centred near x = 8 (the left one), one near x = 24 (the right one), each at
y = 16 ± 3. Its caption: ``a red circle on the left and a blue square on the right``. Each half is
a single-shape picture, so the judges read a scene back half by half (``judge_scene``), and every
question's true answer is computed from what they measure.

Questions each need one or both shapes. ``QUESTION_KINDS``, the ones the nano-perception data
and evaluation use: the color or the shape on a side, and whether both share a color. ``ask``
also writes the ``EXTRA_KINDS``: whether both share a shape, which side a named color or shape is
on, and yes/no checks of one side.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

import numpy as np

from omniweave.errors import InputError
from omniweave.media import Image
from omniweave.nano import judges
from omniweave.nano.world import COLORS, IMAGE_SIZE, SHAPES, shape_mask

SIDES = ("left", "right")
SCENE_SIZE = IMAGE_SIZE  # 32×32: the bind image tower's own size, nothing is resized
SCENE_X = {"left": 8.0, "right": 24.0}  # centres; each shape keeps to its half
SCENE_WIDTH = 12.0  # between WORLD.md's small (10) and large (20): two fit, shapes stay legible
QUESTION_KINDS = ("color", "shape", "same-color")
EXTRA_KINDS = ("same-shape", "where", "verify")


@dataclass(frozen=True)
class SceneSpec:
    left_color: str
    left_shape: str
    right_color: str
    right_shape: str

    def __post_init__(self) -> None:
        for side in SIDES:
            if self.color(side) not in COLORS:
                raise InputError(f"scene color {self.color(side)!r}; expected one of {', '.join(COLORS)}")
            if self.shape(side) not in SHAPES:
                raise InputError(f"scene shape {self.shape(side)!r}; expected one of {', '.join(SHAPES)}")

    def color(self, side: str) -> str:
        return getattr(self, f"{side}_color")

    def shape(self, side: str) -> str:
        return getattr(self, f"{side}_shape")

    @property
    def caption(self) -> str:
        return (f"a {self.left_color} {self.left_shape} on the left and "
                f"a {self.right_color} {self.right_shape} on the right")

    def as_dict(self) -> dict[str, str]:
        return {"left_color": self.left_color, "left_shape": self.left_shape,
                "right_color": self.right_color, "right_shape": self.right_shape}


_CAPTION_RE = re.compile(r"^an? ([a-z]+) ([a-z]+) on the left and an? ([a-z]+) ([a-z]+) on the right$")


def parse_scene_caption(caption: str) -> SceneSpec:
    """``a red circle on the left and a blue square on the right`` -> its spec."""
    text = " ".join(caption.strip().lower().rstrip(".").split())
    m = _CAPTION_RE.match(text)
    if m is None:
        raise InputError(f"malformed scene caption {caption!r}; expected 'a {{color}} {{shape}} on the "
                         "left and a {color} {shape} on the right'")
    return SceneSpec(*m.groups())


def is_scene_caption(caption: str) -> bool:
    return " on the left and " in caption.lower()


def random_scene(rng: np.random.Generator) -> SceneSpec:
    colors, shapes = tuple(COLORS), SHAPES
    return SceneSpec(colors[rng.integers(6)], shapes[rng.integers(3)],
                     colors[rng.integers(6)], shapes[rng.integers(3)])


def render_scene(spec: SceneSpec, rng: np.random.Generator | int | None = None) -> Image:
    """Draw a scene; ``rng`` (a Generator or a seed) varies size and position a little."""
    if isinstance(rng, int):
        rng = np.random.default_rng(rng)
    pixels = np.zeros((SCENE_SIZE, SCENE_SIZE, 3), np.uint8)
    for side in SIDES:
        jitter = (lambda s: 0.0) if rng is None else (lambda s: float(rng.uniform(-s, s)))
        width = SCENE_WIDTH + jitter(1.0)
        cx, cy = SCENE_X[side] + jitter(0.5), SCENE_SIZE / 2 + jitter(3.0)
        pixels[shape_mask(spec.shape(side), cx, cy, width, SCENE_SIZE)] = COLORS[spec.color(side)]
    return Image(pixels)


def sample_scene(seed: int) -> tuple[SceneSpec, Image]:
    """One random (scene, image) pair, fully determined by ``seed``."""
    rng = np.random.default_rng(seed)
    spec = random_scene(rng)
    return spec, render_scene(spec, rng)


def judge_scene(image: Image | np.ndarray) -> dict[str, str]:
    """``{left_color, left_shape, right_color, right_shape}`` read back by measurement: each half
    is judged as a single-shape picture (the other half blacked out)."""
    pixels = np.asarray(image.pixels if isinstance(image, Image) else image)
    if pixels.shape[:2] != (SCENE_SIZE, SCENE_SIZE):
        pixels = Image(pixels).resize((SCENE_SIZE, SCENE_SIZE)).pixels
    out = {}
    half = SCENE_SIZE // 2
    for side, keep in (("left", slice(0, half)), ("right", slice(half, None))):
        masked = np.zeros_like(pixels)
        masked[:, keep] = pixels[:, keep]
        judged = judges.judge_image(masked)
        out[f"{side}_color"], out[f"{side}_shape"] = judged["color"], judged["shape"]
    return out


# ---------------------------------------------------------------- questions
@dataclass(frozen=True)
class SceneQuestion:
    """A question about a scene: its kind, its wording and what it names (a side, a value).

    ``truth(scene)`` is the answer's key value (a color, a shape, a side, yes or no) for any scene
    as a ``{left_color, ...}`` dict (a spec's or a measured one); ``answer(scene)`` the reply.
    """
    kind: str
    text: str
    side: str = ""  # color / shape / verify: the side asked about
    attr: str = ""  # where / verify: the attribute named (color or shape)
    value: str = ""  # where / verify: the value named

    def truth(self, scene: dict[str, str]) -> str:
        if self.kind in ("color", "shape"):
            return scene[f"{self.side}_{self.kind}"]
        if self.kind in ("same-color", "same-shape"):
            attr = self.kind.split("-")[1]
            return "yes" if scene[f"left_{attr}"] == scene[f"right_{attr}"] else "no"
        if self.kind == "where":
            found = [s for s in SIDES if scene[f"{s}_{self.attr}"] == self.value]
            return found[0] if len(found) == 1 else "none"
        if self.kind == "verify":
            return "yes" if scene[f"{self.side}_{self.attr}"] == self.value else "no"
        raise ValueError(f"unknown question kind {self.kind!r}")

    def answer(self, scene: dict[str, str]) -> str:
        """The reply the training data teaches (short, in the nano LLM's answer forms)."""
        v = self.truth(scene)
        if self.kind == "color":
            return f"it is {v}."
        if self.kind == "shape":
            return f"it is a {v}."
        if self.kind in ("same-color", "same-shape"):
            return f"{v}."
        if self.kind == "where":
            return f"it is on the {v}."
        actual = scene[f"{self.side}_{self.attr}"]
        return f"{v}, it is {'a ' if self.attr == 'shape' else ''}{actual}."

    def read(self, reply: str) -> str | None:
        """The key value a reply states (the first word of the right kind), or None."""
        words = reply.lower().replace(",", " ").replace(".", " ").replace("?", " ").split()
        vocab = {"color": tuple(COLORS), "shape": SHAPES, "where": SIDES}.get(self.kind, ("yes", "no"))
        return next((w for w in words if w in vocab), None)

    def correct(self, scene: dict[str, str], reply: str) -> bool:
        return self.read(reply) == self.truth(scene)


_ASK = {
    "color": ("what color is the shape on the {side}?", "what is the color of the {side} shape?",
              "which color is the shape on the {side}?", "what color is the {side} one?",
              "tell me the color of the shape on the {side}.", "what colour is the {side} shape?"),
    "shape": ("which shape is on the {side}?", "what shape is on the {side}?",
              "what is the shape on the {side}?", "what kind of shape is on the {side}?",
              "is the {side} shape a circle, a square or a triangle?", "what is the {side} one?"),
    "same-color": ("are both shapes the same color?", "do the two shapes have the same color?",
                   "are the two shapes the same colour?", "is the left shape the same color as the right one?",
                   "do both shapes share a color?"),
    "same-shape": ("are both shapes the same shape?", "are the two shapes of the same kind?",
                   "is the left shape the same shape as the right one?", "do both have the same shape?",
                   "are the left and right shapes the same kind of shape?"),
    "where-color": ("where is the {value} shape?", "which side is the {value} shape on?",
                    "is the {value} shape on the left or on the right?", "where is the {value} one?"),
    "where-shape": ("where is the {value}?", "which side is the {value} on?",
                    "is the {value} on the left or on the right?", "on which side is the {value}?"),
    "verify-color": ("is the shape on the {side} {value}?", "is the {side} shape {value}?",
                     "is the {side} one {value}?"),
    "verify-shape": ("is the shape on the {side} a {value}?", "is the {side} shape a {value}?",
                     "is there a {value} on the {side}?"),
}


def _pick(rng: random.Random, options):
    return options[rng.randrange(len(options))]


def ask(rng: random.Random, scene: SceneSpec, kind: str) -> SceneQuestion:
    """A question of ``kind`` about ``scene`` in varied wording (``where`` names a color or shape
    that only one side has; the scene must have one)."""
    side = _pick(rng, SIDES)
    if kind in ("color", "shape", "same-color", "same-shape"):
        return SceneQuestion(kind, _pick(rng, _ASK[kind]).format(side=side),
                             side if kind in ("color", "shape") else "")
    if kind == "where":
        attrs = [a for a in ("color", "shape")
                 if getattr(scene, f"left_{a}") != getattr(scene, f"right_{a}")]
        if not attrs:
            raise InputError(f"no 'where' question fits {scene.caption!r}: both sides look alike")
        attr = _pick(rng, attrs)
        value = getattr(scene, f"{side}_{attr}")
        return SceneQuestion(kind, _pick(rng, _ASK[f"where-{attr}"]).format(value=value), "", attr, value)
    if kind == "verify":
        attr = _pick(rng, ("color", "shape"))
        vocab = tuple(COLORS) if attr == "color" else SHAPES
        true = getattr(scene, f"{side}_{attr}")
        value = true if rng.random() < 0.5 else _pick(rng, [v for v in vocab if v != true])
        return SceneQuestion(kind, _pick(rng, _ASK[f"verify-{attr}"]).format(side=side, value=value),
                             side, attr, value)
    raise InputError(f"unknown scene question kind {kind!r}; expected one of "
                     + ", ".join(QUESTION_KINDS + EXTRA_KINDS))


def scene_for(kind: str, rng: np.random.Generator) -> SceneSpec:
    """A random scene suited to ``kind``: exactly half the same-color/same-shape scenes match (so
    "yes" and "no" are equally likely), and a ``where`` scene differs in color or shape."""
    spec = random_scene(rng)
    if kind in ("same-color", "same-shape"):
        attr = kind.split("-")[1]
        left = getattr(spec, f"left_{attr}")
        vocab = tuple(COLORS) if attr == "color" else SHAPES
        others = [v for v in vocab if v != left]
        right = left if rng.random() < 0.5 else others[rng.integers(len(others))]
        spec = SceneSpec(**{**spec.as_dict(), f"right_{attr}": right})
    while kind == "where" and spec.left_color == spec.right_color and spec.left_shape == spec.right_shape:
        spec = random_scene(rng)
    return spec


def sample_question(rng: random.Random, seed: int, kind: str | None = None
                    ) -> tuple[SceneSpec, Image, SceneQuestion]:
    """A scene (drawn from ``seed``) and a question about it (its kind from ``rng`` unless given)."""
    kind = kind or _pick(rng, QUESTION_KINDS)
    nrng = np.random.default_rng(seed)
    spec = scene_for(kind, nrng)
    return spec, render_scene(spec, nrng), ask(rng, spec, kind)


MC_KINDS = ("color", "shape")  # the kinds asked as multiple choice


def choices(rng: random.Random, question: SceneQuestion, scene: dict[str, str],
            n: int = 4) -> tuple[list[str], str]:
    """Options (the true answer and up to ``n - 1`` others, shuffled) and the right letter."""
    vocab = {"color": tuple(COLORS), "shape": SHAPES, "where": SIDES}[question.kind]
    true = question.truth(scene)
    others = [v for v in vocab if v != true]
    rng.shuffle(others)
    options = [true, *others[: n - 1]]
    rng.shuffle(options)
    return options, "ABCD"[options.index(true)]
