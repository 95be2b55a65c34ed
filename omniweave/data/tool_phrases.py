"""How users ask for tools: a small grammar for training, and two held-out phrase sets.

Training phrasings expand frames with synonym slots (``expand``), a few hundred per task, so the
model learns what a request means (hertz, frequency, pitch → ``pitch_hz``) rather than a handful
of sentences. Two held-out sets judge it:

- ``eval``: the set the tools eval has used since the tools stage first existed;
- ``eval2``: a second set, written when the grammar was, to check that what ``eval`` measures
  is not the grammar fitted to ``eval``;
- ``eval3``: a wide set (four to eight phrasings per task where the others have two to four, so
  a task's figure does not move by a third with one phrasing), written after the grammar and
  checked far from every phrasing it expands to, so it changed no training data.

No training phrasing comes within two word edits of a held-out one (one for short ones: ``near``;
slots such as ``{c}`` count as words): ``train_phrases`` drops those, so held-out means a different sentence,
not one synonym swapped.
"""

from __future__ import annotations

import itertools
import re
from functools import cache

# ---------------------------------------------------------------- the grammar: frames and slots
SLOTS = {
    "pn": ("pitch", "frequency", "exact pitch", "exact frequency", "fundamental frequency"),
    "snd": ("sound", "tone", "note", "audio", "signal"),
    "unit": ("", " in hertz", " in hz"),
    "hz": ("hertz", "hz"),
    "p": ("pulses", "beeps", "bursts", "blips"),
    "pv": ("pulse", "beep"),
    "ctr": ("centroid", "centre", "center", "center of mass", "middle point"),
    "obj": ("shape", "object", "figure"),
    "img": ("image", "picture", "photo", "drawing"),
    "mv": ("mirror", "flip", "reflect"),
    "mvd": ("mirrored", "flipped", "reflected"),
    "how": ("", " left to right", " horizontally", " from left to right"),
    "rv": ("recolor", "paint", "colour", "repaint"),
    "vid": ("video", "clip", "animation", "movie"),
    "bw": ("backwards", "in reverse", "backward"),
    "v": ("blur", "crop", "sharpen", "zoom into", "resize", "compress", "upscale", "print", "frame"),
    "deg": ("90", "180", "45", "30"),
    "fx": ("an echo", "reverb", "distortion", "a chorus effect", "bass"),
    "lang": ("french", "german", "spanish", "words"),
    "who": ("friend", "boss", "mother", "team"),
    "food": ("pizza", "burger", "salad", "coffee"),
}

FRAMES: dict[str, tuple[str, ...]] = {
    "pitch": ("what is the {pn} of this {snd}{unit}?", "what's the {pn} of the {snd}{unit}?",
              "measure the {pn} of this {snd}{unit}.", "tell me the {pn} of this {snd}{unit}.",
              "find the {pn} of the {snd}{unit}.", "give me the {pn} of this {snd}{unit}.",
              "what {pn} is this {snd}{unit}?", "how many {hz} does this {snd} have?",
              "i need the {pn} of this {snd}{unit}.", "can you measure the {pn} of this {snd}?",
              "report the {pn} of this {snd}{unit}.", "at how many {hz} does this {snd} play?",
              "what is this {snd}'s {pn}{unit}?", "how high is this {snd} in {hz}?"),
    "pulses": ("count the {p} in this {snd}.", "how many {p} are in this {snd}?",
               "how many {p} does the {snd} have?", "how many times does this {snd} {pv}?",
               "tell me how many {p} there are.", "what is the number of {p} in the {snd}?",
               "give me the number of {p}.", "count the {p}.", "how often does the {snd} {pv}?",
               "i need to know how many {p} this {snd} has."),
    "centroid": ("what is the {ctr} of the {obj}?", "where is the {ctr} of the {obj} in pixels?",
                 "give me the pixel coordinates of the {obj}'s {ctr}.", "find the {ctr} of the {obj}.",
                 "what are the exact pixel coordinates of the {obj}'s {ctr}?",
                 "locate the {ctr} of the {obj} in pixels.", "at which pixel is the {ctr} of the {obj}?",
                 "tell me the {ctr} of the {obj} in pixel coordinates.", "measure where the {ctr} of the {obj} is."),
    "mirror": ("{mv} this {img}{how}.", "please {mv} the {img}{how}.", "can you {mv} this {img}{how}?",
               "i want this {img} {mvd}{how}.", "give me the {img} {mvd}{how}.",
               "make a {mvd} version of this {img}.", "show me the {img} {mvd}."),
    "recolor": ("{rv} the {obj} {c}.", "make the {obj} {c}.", "change the {obj}'s color to {c}.",
                "change the color of the {obj} to {c}.", "i want the {obj} in {c}.", "{rv} it {c}.",
                "use the recolor tool to make it {c}.", "can you {rv} the {obj} {c}?",
                "{rv} this {img} so the {obj} is {c}."),
    "reverse": ("reverse this {vid}.", "play the {vid} {bw}.", "play this {vid} {bw}.",
                "i want to see this {vid} {bw}.", "make the {vid} run {bw}.",
                "give me this {vid} played {bw}.", "can you reverse the {vid}?",
                "show the {vid} {bw}."),
    "calc": ("what is {e}?", "compute {e}.", "calculate {e}.", "how much is {e}?",
             "what do you get for {e}?", "solve {e}.", "tell me {e}.", "what's {e}?",
             "do the math: {e}.", "{e} is how much?", "find {e}."),
    "chain_mr": ("{mv} this {img}{how} and then {rv} the {obj} {c}.", "{mv} the {img}, then {rv} it {c}.",
                 "{mv} it{how} and make the {obj} {c}.", "first {mv} the {img}, then {rv} the {obj} {c}.",
                 "i want the {img} {mvd} and the {obj} {c}."),
    "chain_pp": ("what is the {pn} in {hz} and how many {p} are there?", "measure the {pn} and count the {p}.",
                 "tell me the {pn} and how many {p} it has.", "find the {pn} of this {snd} and count its {p}.",
                 "how many {hz} and how many {p} does this {snd} have?",
                 "count the {p} and measure the {pn}."),
    "refuse_image": ("rotate this {img} by {deg} degrees.", "rotate the {obj} {deg} degrees.",
                     "{v} this {img}.", "can you {v} the {img}?", "please {v} this {img}.",
                     "what is the weight of this {obj} in grams?", "what does this {obj} smell like?",
                     "who drew this {img}?", "how old is this {img}?"),
    "refuse_audio": ("how loud is this {snd} in decibels?", "what is the volume of this {snd}?",
                     "translate this {snd} into {lang}.", "add {fx} to this {snd}.",
                     "make this {snd} louder.", "remove the noise from this {snd}.",
                     "who is singing in this {snd}?", "slow this {snd} down."),
    "refuse_text": ("what is the weather like today?", "send an email to my {who}.", "book a table for two.",
                    "call me a taxi.", "order me a {food}.", "what time is it in tokyo?",
                    "remind me to call my {who} tomorrow.", "buy me a ticket to paris.",
                    "what is the price of gold?", "turn off the lights."),
}

# ---------------------------------------------------------------- held out
HELD_OUT: dict[str, dict[str, tuple[str, ...]]] = {
    "eval": {
        "pitch": ("how many hz is this sound?", "what's the frequency of this tone in hertz?",
                  "measure the pitch of this sound.", "give me the exact frequency of the tone."),
        "pulses": ("how many pulses does this tone have?", "count how many beeps there are.",
                   "tell me the number of pulses in the sound."),
        "centroid": ("what is the exact centre of the shape in pixels?", "compute the centroid of the shape.",
                     "where is the shape's centroid?"),
        "mirror": ("make a mirrored copy of the image.", "flip it horizontally.", "mirror this picture please."),
        "recolor": ("color the shape {c}.", "repaint this image in {c}.", "turn the shape {c}."),
        "reverse": ("run this video backwards.", "give me the clip reversed.", "reverse the video please."),
        "calc": ("work out {e}.", "what does {e} come to?", "evaluate {e}."),
        "chain_mr": ("flip the image horizontally and color the shape {c}.",
                     "make a mirrored copy and repaint it {c}."),
        "chain_pp": ("tell me the frequency in hz and the number of beeps.",),
        "refuse_image": ("rotate the shape 45 degrees.", "sharpen this image.", "how much does this shape weigh?"),
        "refuse_audio": ("what is the loudness in decibels?", "add reverb to this sound."),
        "refuse_text": ("what will the weather be tomorrow?", "order me a pizza."),
    },
    "eval2": {
        "pitch": ("which frequency does this tone sit at?", "please say how many hertz this note is.",
                  "what pitch, in hz, does it have?"),
        "pulses": ("what is the pulse count of this sound?", "how many separate beeps can you hear?",
                   "tell me how many times it beeps."),
        "centroid": ("where does the shape's centre of mass sit, in pixels?",
                     "report the exact middle of the shape as pixel coordinates.",
                     "what pixel is the centre of this shape at?"),
        "mirror": ("flip this left to right for me.", "produce the mirror image of this picture.",
                   "reflect it horizontally please."),
        "recolor": ("switch the shape's colour to {c}.", "recolour this to {c}.", "please make it {c} instead."),
        "reverse": ("rewind this clip so it plays the other way.", "i'd like the video played in reverse please.",
                    "flip the video's time direction."),
        "calc": ("quickly compute {e} for me.", "{e} = ?", "please calculate {e}."),
        "chain_mr": ("mirror the image, then turn the shape {c}.", "reflect this picture and recolour it {c}."),
        "chain_pp": ("give me its pitch in hertz and its pulse count.",),
        "refuse_image": ("turn this picture upside down.", "add a border to this image.",
                         "what material is this shape made of?"),
        "refuse_audio": ("transcribe the lyrics of this sound.", "make this tone quieter."),
        "refuse_text": ("set an alarm for seven.", "what is the capital of france?"),
    },
    "eval3": {
        "pitch": (
            "how many cycles per second is this tone?",
            "could you work out the frequency this sound plays at?",
            "i'd love to know the hz value of this note.",
            "determine the tone's frequency for me.",
            "what frequency does the signal oscillate at?",
            "which hz reading would a tuner give for this?",
            "estimate the pitch and give it in hertz.",
            "what hz does this note sound at?",
        ),
        "pulses": (
            "how many on-off bursts does it make?",
            "count up the beeps you can hear.",
            "how many distinct blips are there in total?",
            "number of pulses, please.",
            "give me a tally of the beeps you hear.",
            "how often does it go on and off?",
            "how many separate bursts make up this sound?",
            "what's the beep count?",
        ),
        "centroid": (
            "compute the shape's center point in pixel units.",
            "give the x and y of the figure's middle.",
            "which pixel lies at the centre of the object?",
            "work out the object's centroid coordinates.",
            "where exactly, in pixels, is the middle of the shape?",
            "pinpoint where the shape's centre falls in the picture.",
            "i want the centre-of-mass coordinates of this shape.",
            "what are the centroid's x and y values?",
        ),
        "mirror": (
            "give me a left-right flipped copy.",
            "turn this image into its mirror image.",
            "swap the left and right sides of the picture.",
            "produce a horizontally flipped version.",
            "make the picture face the other way.",
            "reflect the photo across its vertical axis.",
            "mirror-flip this whole drawing sideways.",
            "do a horizontal flip on this.",
        ),
        "recolor": (
            "could the shape be {c} instead?",
            "fill the object with {c}.",
            "give the figure a {c} colour.",
            "change it so the shape looks {c}.",
            "swap the colour for {c}.",
            "{c} is the colour i want the shape to be.",
            "repaint everything in the shape {c}.",
            "the shape should be {c}; change it.",
        ),
        "reverse": (
            "make the clip go the opposite way.",
            "run the animation back to front.",
            "flip the order of the frames.",
            "play this movie from the end to the start.",
            "reverse the playback of this clip.",
            "show me the animation in reverse order.",
            "turn the video around so it plays backward in time.",
            "let the video run back to front.",
        ),
        "calc": (
            "what's the result of {e}?",
            "can you crunch {e}?",
            "figure out {e}.",
            "give me the value of {e}.",
            "i need {e} worked out.",
            "what number is {e}?",
            "{e} equals what?",
            "compute the result of {e}, please.",
        ),
        "chain_mr": (
            "do a horizontal flip, then give the figure a {c} colour.",
            "mirror this, and after that change its colour to {c}.",
            "first give me a mirrored copy, then fill the shape with {c}.",
            "reflect the image and {c} is the colour i want the shape to be.",
        ),
        "chain_pp": (
            "what's its frequency in hz, and how many beeps does it make?",
            "two things: the hz of this tone and how many beeps it has.",
            "give me both the hz and the number of pulses.",
        ),
        "refuse_image": (
            "make this image black and white.",
            "how heavy would this shape be in real life?",
            "print this picture on paper.",
            "draw a frame around the picture.",
            "rotate the figure a quarter turn.",
        ),
        "refuse_audio": (
            "how many decibels is this?",
            "turn the volume down on this sound.",
            "what language is spoken in this audio?",
            "speed this sound up.",
        ),
        "refuse_text": (
            "book me a flight to rome.",
            "what's the exchange rate of the euro today?",
            "send a text to my sister.",
            "play some jazz music.",
            "how is the traffic on the highway?",
        ),
    },
}


def expand(frame: str) -> list[str]:
    """Every filling of a frame's slots (slots not in ``SLOTS``, e.g. ``{c}``, stay)."""
    names = [n for n in re.findall(r"{(\w+)}", frame) if n in SLOTS]
    names = list(dict.fromkeys(names))
    out = []
    for values in itertools.product(*(SLOTS[n] for n in names)):
        text = frame
        for name, value in zip(names, values, strict=True):
            text = text.replace("{" + name + "}", value)
        out.append(text)
    return out


def _words(text: str) -> list[str]:
    return re.findall(r"{\w+}|[\w']+", text.lower())


def _edits(a: list[str], b: list[str]) -> int:
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (x != y))
    return row[-1]


def near(a: str, b: str) -> bool:
    """Whether two phrasings are within a swap of each other: identical up to 3 words, one word
    insertion, deletion or swap for 4-5 words, two from 6 words on."""
    wa, wb = _words(a), _words(b)
    shortest = min(len(wa), len(wb))
    limit = 0 if shortest <= 3 else 1 if shortest <= 5 else 2
    return abs(len(wa) - len(wb)) <= limit and _edits(wa, wb) <= limit


@cache
def train_phrases(key: str) -> tuple[str, ...]:
    """The grammar's phrasings of ``key`` that are not near any held-out phrasing."""
    held = [h for split in HELD_OUT.values() for h in split[key]]
    out = [p for f in FRAMES[key] for p in expand(f) if not any(near(p, h) for h in held)]
    return tuple(dict.fromkeys(out))


def phrases(key: str, split: str) -> tuple[str, ...]:
    if split == "train":
        return train_phrases(key)
    if split not in HELD_OUT:
        raise ValueError(f"unknown split {split!r}: train, {', '.join(HELD_OUT)}")
    return HELD_OUT[split][key]
