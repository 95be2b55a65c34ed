"""World text: the deterministic corpus the nano tokenizer and LLM are pretrained on.

Every document is a Vicuna v1.1 chat (``CHAT_TEMPLATE``) or a bare line of world text, rendered
exactly as the tokenizer's chat template renders it (``<s>`` first, ``</s>`` after each assistant
turn). Documents mix captions and paraphrases, attribute questions about a thing described in the
text, generation requests ("draw a red circle" -> "here is a small red circle in the center."),
edits across turns, modality switches, chit-chat and a few numbers. Every answer is computed from
the spec the document mentions, so it is true by construction.

Generation requests may leave attributes out; the reply then fills them from ``DEFAULTS`` (a small
red circle in the center, a red circle moving right, a steady mid sine tone), so a reply is always
fully determined by the request.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable
from typing import Any

from omniweave.nano.world import (
    COLORS,
    DIRECTIONS,
    PITCHES,
    POSITIONS,
    SHAPES,
    SIZES,
    TIMBRES,
    VIDEO_FRAMES,
    AudioSpec,
    ImageSpec,
    Spec,
    VideoSpec,
    all_specs,
    attributes,
    make_spec,
)

BOS, EOS = "<s>", "</s>"
SYSTEM_PROMPT = ("a chat between a user and an assistant that can see, hear, draw, play and "
                 "animate shapes and tones.")

# Vicuna v1.1: "{system} USER: {u} ASSISTANT: {a}</s>USER: {u} ASSISTANT:"
CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% if messages and messages[0]['role'] == 'system' %}"
    "{{ messages[0]['content'] | trim }} "
    "{% set loop_messages = messages[1:] %}"
    "{% else %}{% set loop_messages = messages %}{% endif %}"
    "{% for message in loop_messages %}"
    "{% if message['role'] == 'user' %}USER: {{ message['content'] | trim }} "
    "{% elif message['role'] == 'assistant' %}ASSISTANT: {{ message['content'] | trim }}{{ eos_token }}"
    "{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}ASSISTANT:{% endif %}"
)

DEFAULTS: dict[str, dict[str, str]] = {
    "image": {"size": "small", "color": "red", "shape": "circle", "position": "center"},
    "video": {"color": "red", "shape": "circle", "direction": "right"},
    "audio": {"rhythm": "steady", "pitch": "mid", "timbre": "sine"},
}
HERTZ = {name: int(f) for name, f in PITCHES.items()}
PITCH_ORDER = ("low", "mid", "high")
OPPOSITE = {"left": "right", "right": "left", "up": "down", "down": "up"}

Messages = list[dict[str, str]]


def render_chat(messages: Messages, add_generation_prompt: bool = False) -> str:
    """Exactly what ``CHAT_TEMPLATE`` renders (with bos ``<s>`` and eos ``</s>``)."""
    out = [BOS]
    rest = messages
    if messages and messages[0]["role"] == "system":
        out.append(messages[0]["content"].strip() + " ")
        rest = messages[1:]
    for m in rest:
        if m["role"] == "user":
            out.append(f"USER: {m['content'].strip()} ")
        elif m["role"] == "assistant":
            out.append(f"ASSISTANT: {m['content'].strip()}{EOS}")
    if add_generation_prompt:
        out.append("ASSISTANT:")
    return "".join(out)


def _user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def _bot(text: str) -> dict[str, str]:
    return {"role": "assistant", "content": text}


def _pick(rng: random.Random, options):
    return options[rng.randrange(len(options))]


def _spec(rng: random.Random, modality: str) -> Spec:
    return make_spec(modality, **{a: _pick(rng, _values(a)) for a in attributes(modality)})


def _values(attr: str) -> tuple[str, ...]:
    return {"shape": SHAPES, "color": tuple(COLORS), "size": SIZES, "position": POSITIONS,
            "direction": DIRECTIONS, "pitch": PITCH_ORDER, "timbre": TIMBRES,
            "rhythm": ("steady", "pulsing")}[attr]


def _replace(spec: Spec, **values: str) -> Spec:
    return dataclasses.replace(spec, **values)


# ---------------------------------------------------------------- describing a spec in text
_WHERE = {
    "left": ("on the left", "on the left side", "at the left", "to the left"),
    "right": ("on the right", "on the right side", "at the right", "to the right"),
    "center": ("in the center", "in the middle", "at the center"),
}
_MOVING = {
    "left": ("moving left", "moving to the left", "going left", "sliding left", "that moves left"),
    "right": ("moving right", "moving to the right", "going right", "sliding right", "that moves right"),
    "up": ("moving up", "moving upward", "going up", "rising", "that moves up"),
    "down": ("moving down", "moving downward", "going down", "falling", "that moves down"),
}
_PULSE = {"pulsing": ("pulsing", "pulsing", "beeping"), "steady": ("steady", "steady", "constant")}


def _pitch_word(rng: random.Random, pitch: str) -> str:
    return _pick(rng, (pitch, pitch, f"{pitch} pitched"))


def describe(spec: Spec, rng: random.Random) -> str:
    """A free-form description naming every attribute (the canonical caption a third of the time)."""
    if rng.random() < 0.35:
        return spec.caption
    if isinstance(spec, ImageSpec):
        sz, c, sh = spec.size, spec.color, spec.shape
        w = _pick(rng, _WHERE[spec.position])
        forms = [
            f"a {sz} {c} {sh} {w}",
            f"a {c} {sz} {sh} {w}",
            f"a {c} {sh}, {sz}, {w}",
            f"{w} there is a {sz} {c} {sh}",
            f"a {sz} {sh} {w}. it is {c}",
            f"an image of a {sz} {c} {sh} {w}",
            f"a picture with a {sz} {c} {sh} {w}",
            f"a {sz} {c} {_pick(rng, ('shape', 'object'))} {w}, a {sh}",
            f"there is a {c} {sh} {w}, it is {sz}",
        ]
    elif isinstance(spec, AudioSpec):
        r, p, t, hz = spec.rhythm, spec.pitch, spec.timbre, HERTZ[spec.pitch]
        noun = _pick(rng, ("tone", "sound"))
        forms = [
            f"a {p} {r} {t} {noun}",
            f"a {_pick(rng, _PULSE[r])} {t} {noun} at {hz} hertz",
            f"a {p} {t} sound that {'pulses' if r == 'pulsing' else 'holds steady'}",
            f"a {t} wave, {_pitch_word(rng, p)} and {r}",
            f"a sound clip of a {r} {p} {t} tone",
            f"a {r} {t} wave at {_pick(rng, (f'{p} pitch', f'{hz} hertz'))}",
            f"a {_pitch_word(rng, p)} {_pick(rng, _PULSE[r])} {noun}, a {t} wave",
            f"an audio clip of a {t} wave at {hz} hertz, {r}",
        ]
    else:
        c, sh, d = spec.color, spec.shape, spec.direction
        m = _pick(rng, _MOVING[d])
        forms = [
            f"a video of a {c} {sh} {m}",
            f"a clip where a {c} {sh} moves {d}",
            f"a {sh} {m}. it is {c}",
            f"a short clip of a {c} {sh} {m}",
            f"a {c} {sh} {m}",
            f"an animation of a {c} {sh} {m}",
            f"a video where a {c} {_pick(rng, ('shape', 'object'))}, a {sh}, is {_MOVING[d][0]}",
        ]
    return _pick(rng, forms)


# ---------------------------------------------------------------- attribute questions
_OBJ = {"image": ("the shape", "the object", "the shape"), "video": ("the shape", "the object"),
        "audio": ("the tone", "the sound")}
_QUESTIONS: dict[str, tuple[str, ...]] = {
    "color": ("what color is it?", "what color is {obj}?", "what is the color of {obj}?",
              "which color is {obj}?", "what colour is it?", "tell me the color of {obj}.",
              "what color does {obj} have?", "what is its color?"),
    "shape": ("what shape is it?", "what is the shape?", "which shape is it?",
              "what kind of shape is it?", "is it a circle, a square or a triangle?",
              "what shape is {obj}?", "what is {obj}, a circle, a square or a triangle?",
              "which shape do you see?"),
    "size": ("how big is it?", "what size is it?", "is it small or large?", "is it large or small?",
             "how large is {obj}?", "what size is {obj}?", "is {obj} big or small?",
             "how big is {obj}?"),
    "position": ("where is it?", "where is {obj}?", "which side is it on?",
                 "what is the position of {obj}?", "is it on the left, in the center or on the right?",
                 "where in the picture is {obj}?", "is {obj} left, right or in the middle?",
                 "where is it placed?"),
    "direction": ("which way is it moving?", "where is it going?", "what direction does it move?",
                  "which direction is {obj} moving?", "is it moving up, down, left or right?",
                  "where does {obj} move?", "which way does {obj} go?", "in which direction does it move?"),
    "pitch": ("is the tone high or low?", "what is the pitch?", "how high is the tone?",
              "is the sound high or low?", "what pitch is it?", "is it a low, mid or high tone?",
              "how high is {obj}?", "what is the pitch of {obj}?"),
    "timbre": ("what kind of wave is it?", "what is the timbre?", "what waveform is it?",
               "is it a sine, square or sawtooth wave?", "what wave shape does {obj} have?",
               "what is the waveform of {obj}?", "which wave is it?"),
    "rhythm": ("is it steady or pulsing?", "what is the rhythm?", "is the sound constant or pulsing?",
               "does {obj} pulse or hold steady?", "is {obj} pulsing or steady?",
               "what is the rhythm of {obj}?"),
}


def answer(attr: str, value: str) -> str:
    """The short canonical answer stating ``attr`` is ``value``."""
    if attr == "shape":
        return f"it is a {value}."
    if attr == "position":
        return "it is in the center." if value == "center" else f"it is on the {value}."
    if attr == "direction":
        return f"it is moving {value}."
    if attr == "pitch":
        return f"the pitch is {value}."
    if attr == "timbre":
        return f"it is a {value} wave."
    return f"it is {value}."


def _yes_no_question(rng: random.Random, attr: str, value: str, obj: str) -> str:
    if attr == "color":
        return _pick(rng, (f"is it {value}?", f"is {obj} {value}?"))
    if attr == "shape":
        return _pick(rng, (f"is it a {value}?", f"is {obj} a {value}?"))
    if attr == "size":
        return _pick(rng, (f"is it {value}?", f"is {obj} {value}?"))
    if attr == "position":
        where = "in the center" if value == "center" else f"on the {value}"
        return _pick(rng, (f"is it {where}?", f"is {obj} {where}?"))
    if attr == "direction":
        return _pick(rng, (f"is it moving {value}?", f"does it move {value}?", f"is {obj} going {value}?"))
    if attr == "pitch":
        return _pick(rng, (f"is the pitch {value}?", f"is it a {value} tone?"))
    if attr == "timbre":
        return _pick(rng, (f"is it a {value} wave?", f"is {obj} a {value} wave?"))
    return _pick(rng, (f"is it {value}?", "does it pulse?" if value == "pulsing" else "is it steady?"))


def question(rng: random.Random, spec: Spec, attr: str) -> tuple[str, str]:
    """(question, answer) about one attribute of ``spec``; 30% are yes/no questions."""
    obj = _pick(rng, _OBJ[spec.modality])
    true = getattr(spec, attr)
    if rng.random() < 0.3:
        asked = true if rng.random() < 0.4 else _pick(rng, [v for v in _values(attr) if v != true])
        q = _yes_no_question(rng, attr, asked, obj)
        return q, ("yes, " if asked == true else "no, ") + answer(attr, true)
    return _pick(rng, _QUESTIONS[attr]).format(obj=obj), answer(attr, true)


_DESCRIBE = {
    "image": ("describe it.", "describe the image.", "what is in the picture?", "caption this image.",
              "what do you see?", "describe it in the usual way.", "give me a caption."),
    "audio": ("describe it.", "describe the sound.", "what do you hear?", "caption this sound.",
              "what kind of tone is this?", "give me a caption."),
    "video": ("describe it.", "describe the video.", "what happens in the clip?", "caption this video.",
              "what do you see?", "give me a caption."),
}
_INTRO = {
    "image": ("", "", "here is an image: ", "look at this picture: ", "image: "),
    "audio": ("", "", "here is a sound: ", "listen to this: ", "audio: "),
    "video": ("", "", "here is a video: ", "watch this clip: ", "video: "),
}


def _style(rng: random.Random, text: str) -> str:
    """Light variation in how users type: a capital first letter, a missing final mark."""
    if rng.random() < 0.12:
        text = text[:1].upper() + text[1:]
    if rng.random() < 0.1 and text[-1:] in ".?":
        text = text[:-1]
    return text


def _given(rng: random.Random, spec: Spec) -> str:
    return _pick(rng, _INTRO[spec.modality]) + describe(spec, rng) + "."


def qa_example(rng: random.Random, modality: str | None = None,
               attr: str | None = None) -> tuple[Messages, str, str, str]:
    """One held-out style attribute question: (prompt messages, answer, attribute, true value)."""
    modality = modality or _pick(rng, ("image", "audio", "video"))
    spec = _spec(rng, modality)
    attr = attr or _pick(rng, attributes(modality))
    q, a = question(rng, spec, attr)
    given = _given(rng, spec)
    text = f"{given} {q}" if rng.random() < 0.85 else f"{q} {given}"
    return [_user(_style(rng, text))], a, attr, getattr(spec, attr)


def _qa_doc(rng: random.Random) -> Messages:
    modality = _pick(rng, ("image", "audio", "video"))
    spec = _spec(rng, modality)
    given = _given(rng, spec)
    msgs: Messages = []
    attrs = list(attributes(modality))
    rng.shuffle(attrs)
    for i in range(1 + (rng.random() < 0.65) + (rng.random() < 0.45) + (rng.random() < 0.25)):
        if i >= len(attrs) or rng.random() < 0.1:
            q, a = _pick(rng, _DESCRIBE[modality]), spec.caption + "."
        else:
            q, a = question(rng, spec, attrs[i])
        if i == 0:
            q = f"{given} {q}" if rng.random() < 0.85 else f"{q} {given}"
        msgs += [_user(_style(rng, q)), _bot(a)]
    return msgs


# ---------------------------------------------------------------- generation requests
_IMAGE_VERBS = ("draw {x}", "draw me {x}", "paint {x}", "sketch {x}", "make a picture of {x}",
                "make an image of {x}", "create an image of {x}", "generate an image of {x}",
                "show me {x}", "can you draw {x}?", "can you paint {x}?", "please draw {x}.",
                "i want a picture of {x}.", "give me an image of {x}.",
                "could you make a picture of {x}?", "draw {x}, please.")
_VIDEO_VERBS = ("make a video of {x}", "animate {x}", "create a clip of {x}", "generate a video of {x}",
                "show me a video of {x}", "can you animate {x}?", "i want a clip of {x}.",
                "make a short video of {x}", "please make a video of {x}.", "could you animate {x}?",
                "give me a clip of {x}.")
_AUDIO_VERBS = ("play {x}", "play me {x}", "make {x}", "generate {x}", "create {x}", "can you play {x}?",
                "i want to hear {x}.", "give me {x}.", "synthesize {x}", "let me hear {x}.",
                "please play {x}.", "could you make {x}?")
REPLY_PREFIXES = ("here is ", "here is ", "here is ", "sure, here is ", "ok, here is ")


def _mention(rng: random.Random, attrs: tuple[str, ...], always: tuple[str, ...] = ()) -> set[str]:
    if rng.random() < 0.45:
        return set(attrs)
    return {a for a in attrs if a in always or rng.random() < 0.5}


def request(rng: random.Random, modality: str | None = None) -> tuple[str, Spec]:
    """A generation request in varied wording and the spec it asks for (defaults fill the rest)."""
    modality = modality or _pick(rng, ("image", "audio", "video"))
    d = DEFAULTS[modality]
    if modality == "image":
        spec = _spec(rng, "image")
        said = _mention(rng, attributes("image"))
        if rng.random() < 0.8:
            said.add("shape")
        spec = _replace(spec, **{a: d[a] for a in attributes("image") if a not in said})
        words = [spec.size if "size" in said else "", spec.color if "color" in said else "",
                 spec.shape if "shape" in said else _pick(rng, ("shape", "object"))]
        x = "a " + " ".join(w for w in words if w)
        if "position" in said:
            x += " " + _pick(rng, _WHERE[spec.position])
        return _pick(rng, _IMAGE_VERBS).format(x=x), spec
    if modality == "video":
        spec = _spec(rng, "video")
        said = _mention(rng, attributes("video"))
        if rng.random() < 0.8:
            said.add("shape")
        spec = _replace(spec, **{a: d[a] for a in attributes("video") if a not in said})
        words = [spec.color if "color" in said else "",
                 spec.shape if "shape" in said else _pick(rng, ("shape", "object"))]
        x = "a " + " ".join(w for w in words if w)
        if "direction" in said:
            x += " " + _pick(rng, _MOVING[spec.direction])
            if rng.random() < 0.25:  # "show me a red circle moving up": the motion makes it a video
                return _pick(rng, ("show me {x}", "i want to see {x}.")).format(x=x), spec
        return _pick(rng, _VIDEO_VERBS).format(x=x), spec
    spec = _spec(rng, "audio")
    said = _mention(rng, attributes("audio"))
    spec = _replace(spec, **{a: d[a] for a in attributes("audio") if a not in said})
    r = _pick(rng, _PULSE[spec.rhythm]) if "rhythm" in said else ""
    t = spec.timbre if "timbre" in said else ""
    noun = _pick(rng, ("tone", "sound", "wave") if t else ("tone", "sound"))
    if "pitch" in said and rng.random() < 0.3:
        x = " ".join(w for w in ("a", r, t, noun, f"at {HERTZ[spec.pitch]} hertz") if w)
    else:
        p = _pitch_word(rng, spec.pitch) if "pitch" in said else ""
        x = " ".join(w for w in ("a", r, p, t, noun) if w)
    return _pick(rng, _AUDIO_VERBS).format(x=x), spec


def reply(rng: random.Random, spec: Spec) -> str:
    return _pick(rng, REPLY_PREFIXES) + spec.caption + "."


def request_example(rng: random.Random, modality: str | None = None) -> tuple[Messages, str]:
    """One generation request: (prompt messages, canonical caption the reply must contain)."""
    text, spec = request(rng, modality)
    return [_user(_style(rng, text))], spec.caption


# ---------------------------------------------------------------- edits across turns
Edit = Callable[[random.Random, Any], "tuple[str, Spec] | None"]


def _edit_color(rng, s):
    c = _pick(rng, [c for c in COLORS if c != s.color])
    return _pick(rng, (f"now make it {c}", f"make it {c}", f"change the color to {c}",
                       f"paint it {c} instead", f"can you make it {c}?", f"now {c}, please")), \
        _replace(s, color=c)


def _edit_shape(rng, s):
    sh = _pick(rng, [x for x in SHAPES if x != s.shape])
    return _pick(rng, (f"make it a {sh}", f"turn it into a {sh}", f"change the shape to a {sh}",
                       f"use a {sh} instead", f"now make it a {sh}")), _replace(s, shape=sh)


def _edit_size(rng, s):
    if s.size == "small":
        return _pick(rng, ("make it bigger", "make it larger", "make it large", "now make it big")), \
            _replace(s, size="large")
    return _pick(rng, ("make it smaller", "make it small", "shrink it", "now make it little")), \
        _replace(s, size="small")


def _edit_position(rng, s):
    p = _pick(rng, [p for p in POSITIONS if p != s.position])
    where = _pick(rng, ("to the center", "to the middle")) if p == "center" else f"to the {p}"
    put = _pick(rng, ("in the center", "in the middle")) if p == "center" else f"on the {p}"
    return _pick(rng, (f"move it {where}", f"put it {put}", f"now move it {where}",
                       f"place it {put} instead")), _replace(s, position=p)


def _edit_mirror(rng, s):
    text = _pick(rng, ("mirror it", "mirror this image", "flip it horizontally", "mirror it left to right"))
    if isinstance(s, ImageSpec):
        if s.position == "center":
            return None
        return text, _replace(s, position=OPPOSITE[s.position])
    if s.direction not in ("left", "right"):
        return None
    return text.replace("image", "video"), _replace(s, direction=OPPOSITE[s.direction])


def _edit_to_video(rng, s):
    d = _pick(rng, DIRECTIONS)
    m = _pick(rng, _MOVING[d])
    text = _pick(rng, (f"make it move {d}", f"now make it move {d}", f"make a video of this shape {m}",
                       f"animate it {m}", f"make a clip of it {m}", f"can you make it move {d}?"))
    return text, VideoSpec(color=s.color, shape=s.shape, direction=d)


def _edit_direction(rng, s):
    d = _pick(rng, [d for d in DIRECTIONS if d != s.direction])
    return _pick(rng, (f"now make it move {d}", f"make it go {d} instead", f"make it move {d}",
                       f"change the direction to {d}")), _replace(s, direction=d)


def _edit_reverse(rng, s):
    return _pick(rng, ("reverse it", "play it backwards", "make it go the other way")), \
        _replace(s, direction=OPPOSITE[s.direction])


def _edit_to_image(rng, s):
    return _pick(rng, ("make a picture of it", "show me a still image of it", "draw it as an image",
                       "now make it a picture")), \
        ImageSpec(size=DEFAULTS["image"]["size"], color=s.color, shape=s.shape,
                  position=DEFAULTS["image"]["position"])


def _edit_pitch(rng, s):
    i = PITCH_ORDER.index(s.pitch)
    moves = []
    if i < 2:
        moves.append(((_pick(rng, ("make it higher", "raise the pitch", "make it a bit higher"))),
                      PITCH_ORDER[i + 1]))
    if i > 0:
        moves.append(((_pick(rng, ("make it lower", "lower the pitch", "make it a bit lower"))),
                      PITCH_ORDER[i - 1]))
    p = _pick(rng, [x for x in PITCH_ORDER if x != s.pitch])
    moves.append((_pick(rng, (f"make it {p}", f"play it at {HERTZ[p]} hertz", f"change the pitch to {p}",
                              f"now make it {p} pitched")), p))
    text, p = _pick(rng, moves)
    return text, _replace(s, pitch=p)


def _edit_timbre(rng, s):
    t = _pick(rng, [t for t in TIMBRES if t != s.timbre])
    return _pick(rng, (f"use a {t} wave", f"make it a {t} wave", f"change it to a {t} wave",
                       f"now a {t} wave, please")), _replace(s, timbre=t)


def _edit_rhythm(rng, s):
    if s.rhythm == "steady":
        return _pick(rng, ("make it pulse", "make it pulsing", "make it beep on and off")), \
            _replace(s, rhythm="pulsing")
    return _pick(rng, ("make it steady", "stop the pulsing", "make it constant", "hold it steady")), \
        _replace(s, rhythm="steady")


EDITS: dict[str, tuple[Edit, ...]] = {
    "image": (_edit_color, _edit_shape, _edit_size, _edit_position, _edit_mirror, _edit_to_video),
    "video": (_edit_color, _edit_shape, _edit_direction, _edit_reverse, _edit_mirror, _edit_to_image),
    "audio": (_edit_pitch, _edit_timbre, _edit_rhythm),
}


def edit(rng: random.Random, spec: Spec) -> tuple[str, Spec]:
    """One edit instruction that applies to ``spec`` and the spec it yields."""
    while True:
        out = _pick(rng, EDITS[spec.modality])(rng, spec)
        if out is not None:
            return out


def _edit_doc(rng: random.Random) -> Messages:
    modality = _pick(rng, ("image", "image", "video", "audio"))
    if rng.random() < 0.7:
        text, spec = request(rng, modality)
        msgs = [_user(_style(rng, text)), _bot(reply(rng, spec))]
    else:  # editing a thing the user gives
        spec = _spec(rng, modality)
        first, new = edit(rng, spec)
        msgs = [_user(_style(rng, f"{_given(rng, spec)} {first}.")), _bot(reply(rng, new))]
        spec = new
    for _ in range(1 + (rng.random() < 0.5) + (rng.random() < 0.25)):
        if rng.random() < 0.2:
            attr = _pick(rng, attributes(spec.modality))
            q, a = question(rng, spec, attr)
            msgs += [_user(_style(rng, q)), _bot(a)]
            continue
        text, spec = edit(rng, spec)
        if not text.endswith(("?", ".")):
            text += _pick(rng, (".", "", "!"))
        msgs += [_user(_style(rng, text.strip())), _bot(reply(rng, spec))]
    return msgs


def _request_doc(rng: random.Random) -> Messages:
    msgs: Messages = []
    for _ in range(1 + (rng.random() < 0.15)):
        text, spec = request(rng)
        msgs += [_user(_style(rng, text)), _bot(reply(rng, spec))]
    if rng.random() < 0.1:
        msgs += [_user(_pick(rng, ("thanks!", "thank you", "great, thanks."))),
                 _bot(_pick(rng, ("you are welcome!", "glad to help!")))]
    return msgs


# ---------------------------------------------------------------- chit-chat and numbers
_CHAT = (
    (("hi", "hello", "hey", "hello there", "hi!", "good morning"),
     ("hello! i can describe, draw, play and animate shapes and tones.", "hi! what would you like to make?")),
    (("what can you do?", "what are you able to do?", "help", "how can you help me?"),
     ("i can describe images, sounds and videos, answer questions about them, and make new ones.",)),
    (("who are you?", "what are you?"),
     ("i am a small assistant that lives in shape world.",)),
    (("thanks", "thank you", "thanks a lot!", "great, thank you."),
     ("you are welcome!", "glad to help!")),
    (("bye", "goodbye", "see you"), ("goodbye!", "bye! come back soon.")),
    (("what colors do you know?", "which colors can you use?", "name the colors."),
     ("red, green, blue, yellow, purple and cyan.",)),
    (("what shapes do you know?", "which shapes can you draw?", "name the shapes."),
     ("circle, square and triangle.",)),
    (("which way can things move?", "what directions are there?"),
     ("left, right, up and down.",)),
    (("what pitches are there?", "how high can a tone be?"),
     ("low, mid and high: 220, 440 and 880 hertz.",)),
    (("what waves can you play?", "which waveforms do you know?"),
     ("sine, square and sawtooth.",)),
    (("what sizes are there?",), ("small and large.",)),
    (("where can a shape be?", "what positions are there?"),
     ("on the left, in the center or on the right.",)),
    (("how many frames does a video have?",), (f"a video has {VIDEO_FRAMES} frames.",)),
    (("how big is an image?", "what size is a picture?"), ("an image is 32 by 32 pixels.",)),
    (("how long is a sound?",), ("a sound lasts one second.",)),
)
_SIDES = {"triangle": 3, "square": 4}


def _chat_doc(rng: random.Random) -> Messages:
    msgs: Messages = []
    for _ in range(1 + (rng.random() < 0.3)):
        qs, answers = _pick(rng, _CHAT)
        msgs += [_user(_style(rng, _pick(rng, qs))), _bot(_pick(rng, answers))]
    if rng.random() < 0.3:
        text, spec = request(rng)
        msgs += [_user(_style(rng, text)), _bot(reply(rng, spec))]
    return msgs


def _number_qa(rng: random.Random) -> tuple[str, str]:
    kind = rng.randrange(9)
    if kind <= 2:
        a, b = rng.randrange(0, 100), rng.randrange(0, 100)
        op = ("plus", "minus", "times")[kind]
        if op == "times":
            a, b = rng.randrange(0, 13), rng.randrange(0, 13)
        if op == "minus" and b > a:
            a, b = b, a
        v = {"plus": a + b, "minus": a - b, "times": a * b}[op]
        return _pick(rng, (f"what is {a} {op} {b}?", f"{a} {op} {b}?", f"how much is {a} {op} {b}?")), \
            f"{a} {op} {b} is {v}."
    if kind == 3:
        p = _pick(rng, PITCH_ORDER)
        return _pick(rng, (f"how many hertz is a {p} tone?", f"what frequency is a {p} tone?")), \
            f"a {p} tone is {HERTZ[p]} hertz."
    if kind == 4:
        p = _pick(rng, PITCH_ORDER)
        return _pick(rng, (f"what pitch is {HERTZ[p]} hertz?", f"is {HERTZ[p]} hertz low, mid or high?")), \
            f"{HERTZ[p]} hertz is {p}."
    if kind == 5:
        v = rng.randrange(1, 500)
        return _pick(rng, (f"what is double {v}?", f"what is twice {v}?")), f"double {v} is {2 * v}."
    if kind == 6:
        v = 2 * rng.randrange(1, 500)
        return f"what is half of {v}?", f"half of {v} is {v // 2}."
    if kind == 7:
        sh = _pick(rng, ("triangle", "square"))
        return f"how many sides does a {sh} have?", f"a {sh} has {_SIDES[sh]} sides."
    n = rng.randrange(2, 11)
    return f"count to {n}.", " ".join(str(i) for i in range(1, n + 1)) + "."


def _number_doc(rng: random.Random) -> Messages:
    msgs: Messages = []
    for _ in range(1 + (rng.random() < 0.3)):
        q, a = _number_qa(rng)
        msgs += [_user(_style(rng, q)), _bot(a)]
    return msgs


def _audio_hertz_doc(rng: random.Random) -> Messages:
    spec = _spec(rng, "audio")
    q = _pick(rng, ("how many hertz is it?", "what frequency is it?", "what is its frequency in hertz?"))
    return [_user(_style(rng, f"{_given(rng, spec)} {q}")),
            _bot(f"it is {HERTZ[spec.pitch]} hertz.")]


def _bare_text(rng: random.Random) -> str:
    kind = rng.randrange(5)
    spec = _spec(rng, _pick(rng, ("image", "audio", "video")))
    if kind == 0:
        return spec.caption + "."
    if kind == 1:
        return describe(spec, rng) + "."
    if kind == 2:
        return f"{describe(spec, rng)}. in short: {spec.caption}."
    if kind == 3:
        return " ".join(s.caption + "." for s in [spec] + [_spec(rng, spec.modality) for _ in range(2)])
    q, a = _number_qa(rng)
    return a


DOC_MIX: tuple[tuple[float, Callable[[random.Random], Messages]], ...] = (
    (0.42, _qa_doc),
    (0.22, _request_doc),
    (0.18, _edit_doc),
    (0.05, _chat_doc),
    (0.04, _number_doc),
    (0.02, _audio_hertz_doc),
)  # the rest (7%) are bare lines of world text
SYSTEM_SHARE = 0.2  # chats that open with the system line


def document(rng: random.Random) -> str:
    """One rendered document (a chat, or a bare line of world text between ``<s>`` and ``</s>``)."""
    u = rng.random()
    for weight, make in DOC_MIX:
        if u < weight:
            msgs = make(rng)
            if rng.random() < SYSTEM_SHARE:
                msgs = [{"role": "system", "content": SYSTEM_PROMPT}] + msgs
            return render_chat(msgs)
        u -= weight
    return BOS + _bare_text(rng) + EOS


def corpus(n: int, seed: int) -> list[str]:
    """``n`` world-text documents, fully determined by ``seed``."""
    rng = random.Random(f"omniweave-nano-text-{seed}")
    return [document(rng) for _ in range(n)]


def vocabulary_text() -> list[str]:
    """Every world word and canonical caption (what the tokenizer must round-trip)."""
    from omniweave.nano.world import VOCABULARY

    words = sorted({w for vals in VOCABULARY.values() for w in vals})
    captions = [s.caption for m in ("image", "audio", "video") for s in all_specs(m)]
    return words + captions + [f"{hz} hertz" for hz in HERTZ.values()]
