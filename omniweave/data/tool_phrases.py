"""How users ask for tools: a grammar and written requests for training, and held-out phrase sets.

Training phrasings come from two sources. A grammar expands frames with synonym slots
(``expand``), a few hundred per task, so the model learns what a request means (hertz,
frequency, pitch → ``pitch_hz``) rather than a handful of sentences; ``pick`` draws a frame
first, then a filling, so each sentence shape counts the same. But a grammar is one writer's
English, and a model trained on it knows that writer's few hundred words; so ``pick`` takes
``WRITTEN_SHARE`` of its requests from ``phrasings/written.json`` instead: about 2,200 requests
written by five writers (language models briefed as in ``phrasings/BRIEF.md``, each in another
register: casual, polite, terse, expert and indirect, second-language and plain), the way
Tool_LMM, GPT4Tools and ToolAlpaca have a language model write their instructions. None of the
writers saw the grammar or the held-out sets. Held-out sets judge it:

- ``eval``: the set the tools eval has used since the tools stage first existed;
- ``eval2``: a second set, written when the grammar was, to check that what ``eval`` measures
  is not the grammar fitted to ``eval``;
- ``eval3``: a wide set (four to eight phrasings per task where the others have two to four, so
  a task's figure does not move by a third with one phrasing), written after the grammar and
  checked far from every phrasing it expands to, so it changed no training data;
- ``eval4``: six per task, written by the developer just before adding the grammar's second
  batch of frames (2026-11-23), so those frames were written knowing it;
- ``eval5``: eight per task, written blind: by a writer who saw only the tools' descriptions,
  never the grammar nor the other sets, and added unread;
- ``eval6``: twelve per task, by a sixth writer under the training writers' brief, asked for a
  mix of their registers: the distribution the written requests come from, not their sentences
  (as Tool_LMM's test split is of its generated instructions).

No training phrasing comes within two word edits of a held-out one (one for short ones: ``near``;
slots such as ``{c}`` count as words): ``train_frames`` and ``written_phrases`` drop those, so
held-out means a different sentence, not one synonym swapped.
"""

from __future__ import annotations

import itertools
import json
import random
import re
from functools import cache
from pathlib import Path

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
    "iadj": ("brighter", "darker", "grayscale", "sharper", "smaller", "bigger"),
    "thing": ("text", "a border", "a shadow", "a watermark", "some stars"),
    "rot": ("rotate", "turn", "spin", "tilt"),
    "sadj": ("longer", "shorter", "softer", "quieter", "faster", "slower"),
    "place": ("restaurant", "hotel", "pharmacy", "gas station"),
    "topic": ("sea", "moon", "city", "rain"),
    "bill": ("phone", "water", "gas"),
}

FRAMES: dict[str, tuple[str, ...]] = {
    "pitch": ("what is the {pn} of this {snd}{unit}?", "what's the {pn} of the {snd}{unit}?",
              "measure the {pn} of this {snd}{unit}.", "tell me the {pn} of this {snd}{unit}.",
              "find the {pn} of the {snd}{unit}.", "give me the {pn} of this {snd}{unit}.",
              "what {pn} is this {snd}{unit}?", "how many {hz} does this {snd} have?",
              "i need the {pn} of this {snd}{unit}.", "can you measure the {pn} of this {snd}?",
              "report the {pn} of this {snd}{unit}.", "at how many {hz} does this {snd} play?",
              "what is this {snd}'s {pn}{unit}?", "how high is this {snd} in {hz}?",
              "how high is the {pn} of this {snd}?",
              "{pn} of this {snd}{unit}?",
              "what {hz} value does this {snd} have?",
              "could you tell me the {pn} of the {snd}{unit}?",
              "please measure this {snd}'s {pn}{unit}.",
              "i wonder what the {pn} of this {snd} is.",
              "which {pn} does the {snd} have{unit}?",
              "check the {pn} of this {snd} for me.",
              "work out the {pn} of the {snd}{unit}.",
              "how many {hz} is it?",
              "what is its {pn}{unit}?"),
    "pulses": ("count the {p} in this {snd}.", "how many {p} are in this {snd}?",
               "how many {p} does the {snd} have?", "how many times does this {snd} {pv}?",
               "tell me how many {p} there are.", "what is the number of {p} in the {snd}?",
               "give me the number of {p}.", "count the {p}.", "how often does the {snd} {pv}?",
               "i need to know how many {p} this {snd} has.",
               "how many {p} can you count?",
               "could you count the {p} in the {snd}?",
               "what is the {pv} count of this {snd}?",
               "count how many {p} the {snd} makes.",
               "how many {p} does it make?",
               "please tell me the number of {p} in this {snd}.",
               "how many {p} do you hear?",
               "number of {p} in this {snd}?"),
    "centroid": ("what is the {ctr} of the {obj}?", "where is the {ctr} of the {obj} in pixels?",
                 "give me the pixel coordinates of the {obj}'s {ctr}.", "find the {ctr} of the {obj}.",
                 "what are the exact pixel coordinates of the {obj}'s {ctr}?",
                 "locate the {ctr} of the {obj} in pixels.", "at which pixel is the {ctr} of the {obj}?",
                 "tell me the {ctr} of the {obj} in pixel coordinates.", "measure where the {ctr} of the {obj} is.",
                 "where is the {obj}'s {ctr}?",
                 "compute the {ctr} of the {obj}.",
                 "what pixel is the {ctr} of the {obj} at?",
                 "give me the {ctr} of this {obj} in pixels.",
                 "can you find the {ctr} of the {obj}?",
                 "i need the {obj}'s {ctr}.",
                 "where exactly is the {ctr} of the {obj}?",
                 "report the {ctr} coordinates of the {obj}."),
    "mirror": ("{mv} this {img}{how}.", "please {mv} the {img}{how}.", "can you {mv} this {img}{how}?",
               "i want this {img} {mvd}{how}.", "give me the {img} {mvd}{how}.",
               "make a {mvd} version of this {img}.", "show me the {img} {mvd}.",
               "{mv} it{how}.",
               "could you {mv} the {img}{how}?",
               "i need a {mvd} copy of the {img}.",
               "turn this {img} into a {mvd} one.",
               "{mv} the {img}{how} for me.",
               "produce a {mvd} {img}.",
               "make the {img} {mvd}{how}.",
               "i'd like the {img} {mvd}{how}."),
    "recolor": ("{rv} the {obj} {c}.", "make the {obj} {c}.", "change the {obj}'s color to {c}.",
                "change the color of the {obj} to {c}.", "i want the {obj} in {c}.", "{rv} it {c}.",
                "use the recolor tool to make it {c}.", "can you {rv} the {obj} {c}?",
                "{rv} this {img} so the {obj} is {c}.",
                "turn the {obj} {c}.",
                "color the {obj} {c}.",
                "could you make the {obj} {c}?",
                "{rv} the {obj} in {c}.",
                "i'd like the {obj} {c}.",
                "set the {obj}'s colour to {c}.",
                "change its colour to {c}.",
                "the {obj} should become {c}."),
    "reverse": ("reverse this {vid}.", "play the {vid} {bw}.", "play this {vid} {bw}.",
                "i want to see this {vid} {bw}.", "make the {vid} run {bw}.",
                "give me this {vid} played {bw}.", "can you reverse the {vid}?",
                "show the {vid} {bw}.",
                "could you play the {vid} {bw}?",
                "reverse the {vid} for me.",
                "i need this {vid} reversed.",
                "run the {vid} {bw}.",
                "let the {vid} play {bw}.",
                "make this {vid} go {bw}.",
                "give me the {vid} in reverse order.",
                "reverse it."),
    "calc": ("what is {e}?", "compute {e}.", "calculate {e}.", "how much is {e}?",
             "what do you get for {e}?", "solve {e}.", "tell me {e}.", "what's {e}?",
             "do the math: {e}.", "{e} is how much?", "find {e}.",
             "how much does {e} make?",
             "what does {e} equal?",
             "could you compute {e}?",
             "please work out {e}.",
             "i need the result of {e}.",
             "{e}?",
             "what is the answer to {e}?",
             "{e} equals?"),
    "chain_mr": ("{mv} this {img}{how} and then {rv} the {obj} {c}.", "{mv} the {img}, then {rv} it {c}.",
                 "{mv} it{how} and make the {obj} {c}.", "first {mv} the {img}, then {rv} the {obj} {c}.",
                 "i want the {img} {mvd} and the {obj} {c}.",
                 "{mv} the {img} and {rv} the {obj} {c}.",
                 "first {mv} this {img}{how}, then make it {c}.",
                 "could you {mv} the {img} and then make the {obj} {c}?"),
    "chain_pp": ("what is the {pn} in {hz} and how many {p} are there?", "measure the {pn} and count the {p}.",
                 "tell me the {pn} and how many {p} it has.", "find the {pn} of this {snd} and count its {p}.",
                 "how many {hz} and how many {p} does this {snd} have?",
                 "count the {p} and measure the {pn}.",
                 "what is its {pn} and how many {p} does it have?",
                 "give me the {pn} and the number of {p}.",
                 "i need both the {pn} and the {pv} count."),
    "refuse_image": ("rotate this {img} by {deg} degrees.", "rotate the {obj} {deg} degrees.",
                     "{v} this {img}.", "can you {v} the {img}?", "please {v} this {img}.",
                     "what is the weight of this {obj} in grams?", "what does this {obj} smell like?",
                     "who drew this {img}?", "how old is this {img}?",
                     "make this {img} {iadj}.",
                     "add {thing} to this {img}.",
                     "what is this {obj} used for?",
                     "how much does this {obj} cost?",
                     "{rot} the {img} {deg} degrees.",
                     "who made this {obj}?"),
    "refuse_audio": ("how loud is this {snd} in decibels?", "what is the volume of this {snd}?",
                     "translate this {snd} into {lang}.", "add {fx} to this {snd}.",
                     "make this {snd} louder.", "remove the noise from this {snd}.",
                     "who is singing in this {snd}?", "slow this {snd} down.",
                     "make this {snd} {sadj}.",
                     "who made this {snd}?",
                     "what instrument plays this {snd}?",
                     "save this {snd} as an mp3.",
                     "what song is this {snd} from?"),
    "refuse_text": ("what is the weather like today?", "send an email to my {who}.", "book a table for two.",
                    "call me a taxi.", "order me a {food}.", "what time is it in tokyo?",
                    "remind me to call my {who} tomorrow.", "buy me a ticket to paris.",
                    "what is the price of gold?", "turn off the lights.",
                    "find me a {place} nearby.",
                    "what is the news today?",
                    "write a poem about the {topic}.",
                    "what's the score of the game?",
                    "pay my {bill} bill.",
                    "schedule a meeting with my {who}."),
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
    "eval4": {
        "pitch": (
            "what note frequency am i hearing, in hz?",
            "tell me how high this tone is, in hertz please.",
            "i'm curious about the pitch of this one.",
            "how many hertz is that note?",
            "read off the frequency of this tone.",
            "what's the tone's pitch?",
        ),
        "pulses": (
            "how many beeps do you hear in this?",
            "count the pulses for me please.",
            "what number of bursts does this tone contain?",
            "how many times does it pulse?",
            "tell me the beep count of this sound.",
            "does it beep a lot? give me the exact count.",
        ),
        "centroid": (
            "where's the middle of the shape, in pixels?",
            "find the shape's centre point.",
            "what are the coordinates of the shape's centroid?",
            "tell me exactly where the figure's centre is.",
            "i need the centroid of this object in pixel coordinates.",
            "which pixel is the middle of the figure?",
        ),
        "mirror": (
            "could you mirror the picture for me?",
            "flip the drawing horizontally.",
            "i'd like a mirror image of this photo.",
            "reflect the picture left to right please.",
            "make this image mirrored.",
            "mirror the photo horizontally please.",
        ),
        "recolor": (
            "paint the figure {c} please.",
            "i'd like the shape to be {c}.",
            "change the colour of the object to {c}.",
            "can the shape become {c}?",
            "make the figure in this picture {c}.",
            "recolor the shape to {c} please.",
        ),
        "reverse": (
            "can you play the clip backwards?",
            "reverse the animation for me.",
            "i want this movie reversed.",
            "make the video play in reverse.",
            "play the animation backward please.",
            "turn this clip around so it runs backwards.",
        ),
        "calc": (
            "what would {e} be?",
            "work out the answer to {e}.",
            "how much do you get from {e}?",
            "tell me what {e} makes.",
            "calculate {e} for me.",
            "{e}, how much is that?",
        ),
        "chain_mr": (
            "flip the picture and then make the shape {c}.",
            "mirror this image, after that paint the figure {c}.",
            "first reflect the drawing, then change its colour to {c}.",
        ),
        "chain_pp": (
            "tell me its frequency and count its beeps.",
            "how many hertz is it, and how many pulses?",
            "i want the pitch in hz and the pulse count of this tone.",
        ),
        "refuse_image": (
            "crop the picture to the shape.",
            "what brand made this shape?",
            "turn the image by 60 degrees.",
            "add some text to this drawing.",
            "make the image brighter.",
        ),
        "refuse_audio": (
            "who composed this tune?",
            "make the sound longer.",
            "add some bass to this track.",
            "is this sound recorded in a studio?",
        ),
        "refuse_text": (
            "find me a hotel in berlin.",
            "what is the score of the football game?",
            "write an email to my landlord.",
            "pay my electricity bill.",
            "what's on tv tonight?",
        ),
    },
    "eval5": {
        "pitch": (
            "what's the pitch of this sound?",
            "can you tell me the frequency of this tone in hz",
            "how high is this note? give me the frequency please",
            "measure the pitch of the attached audio",
            "hey, what frequency is this beep at",
            "i need to know the hz of this tone for a project, could you check it?",
            "pitch in hz?",
            "could you figure out what frequency this sound is playing at",
        ),
        "pulses": (
            "how many beeps are in this sound?",
            "count the pulses in this audio please",
            "can you tell me how many times it beeps",
            "number of pulses in the attached clip?",
            "i lost count listening to this, how many beeps are there",
            "could you count how many on/off pulses this tone has",
            "how many times does the tone pulse",
            "please figure out the beep count for this recording",
        ),
        "centroid": (
            "where's the center of the shape in pixels?",
            "find the centroid of this shape",
            "can you give me the exact pixel coordinates of the shape's center",
            "what are the x and y coordinates of the middle of the shape",
            "i need the centroid of the shape in this image, in pixel units please",
            "locate the center point of the shape for me",
            "centroid in px?",
            "could you work out where the shape's center of mass is, in pixels",
        ),
        "mirror": (
            "mirror this image",
            "can you flip this picture horizontally?",
            "flip it left to right please",
            "please make a mirrored version of this image",
            "i want this image flipped so the left side is on the right",
            "could you do a horizontal flip on the attached picture",
            "mirror image of this, left-right",
            "hey can you reflect this pic horizontally for me",
        ),
        "recolor": (
            "make the shape {c}",
            "can you change the color of the shape to {c}?",
            "recolor this shape {c} please",
            "i'd like the shape to be {c} instead",
            "could you turn the shape in this picture {c}",
            "paint the shape {c} for me",
            "change it to {c}",
            "what would this look like with a {c} shape? go ahead and recolor it",
        ),
        "reverse": (
            "reverse this video",
            "can you play this clip backwards?",
            "please make the video run in reverse",
            "i want to see this animation backwards, can you flip it",
            "could you reverse the attached video for me",
            "make it go backwards",
            "rewind the whole clip so it plays from end to start",
            "hey, can i get a reversed version of this video",
        ),
        "calc": (
            "what is {e}?",
            "calculate {e}",
            "can you work out {e} for me",
            "quick question: {e} equals what?",
            "please compute {e}",
            "whats {e}",
            "i need the answer to {e}, can you help",
            "could you tell me the value of {e}",
        ),
        "chain_mr": (
            "mirror this image and then make the shape {c}",
            "can you flip the picture horizontally and after that change the shape's color to {c}?",
            "first flip it left to right, then recolor the shape {c} please",
            "i need this image mirrored with the shape turned {c}",
        ),
        "chain_pp": (
            "what's the pitch in hz and how many pulses does this sound have?",
            "can you tell me both the frequency and the number of beeps in this audio",
            "give me the hz of this tone and count the beeps too",
            "i need two things: the pitch of this sound and how many times it pulses",
        ),
        "refuse_image": (
            "rotate this image 90 degrees clockwise",
            "can you blur the background of this picture?",
            "crop the image so only the shape is left",
            "make this picture twice as big please",
            "could you add a drop shadow under the shape",
            "convert this image to a jpeg for me",
        ),
        "refuse_audio": (
            "make this sound louder",
            "can you add some reverb to this tone?",
            "please convert this audio to an mp3",
            "slow this clip down to half speed",
            "could you trim off the first second of this sound",
            "add a fade out at the end of this audio",
        ),
        "refuse_text": (
            "what's the weather going to be like tomorrow in chicago?",
            "book me a table for two at an italian place tonight",
            "set an alarm for 6am",
            "can you send an email to my boss saying i'll be late",
            "order me a large pepperoni pizza",
            "please check my bank account balance",
        ),
    },
}


# ---------------------------------------------------------------- written phrasings
PHRASINGS = Path(__file__).with_name("phrasings")
WRITTEN_SHARE = 0.5  # how often a training request is a written one rather than the grammar's
_SLOT_OF = {"recolor": "{c}", "chain_mr": "{c}", "calc": "{e}"}  # the one slot a key's requests hold


def check_phrasings(raw: dict, where: str) -> dict[str, tuple[str, ...]]:
    """``{key: phrasings}`` checked: every key of ``FRAMES``, each phrasing lowercase with exactly
    its key's slot (``{c}``, ``{e}``) and no other braces; ``where`` names the source in errors."""
    if set(raw) != set(FRAMES):
        raise ValueError(f"{where}: keys {sorted(raw)}, expected {sorted(FRAMES)}")
    out = {}
    for key, items in raw.items():
        slot = _SLOT_OF.get(key)
        for i, text in enumerate(items):
            braces = re.findall(r"{[^}]*}|[{}]", text)
            if braces != ([slot] if slot else []) or text != text.lower():
                raise ValueError(f"{where}: {key}[{i}] {text!r}: lowercase, with "
                                 f"{'exactly one ' + slot if slot else 'no'} slot and no other braces")
        out[key] = tuple(dict.fromkeys(items))
    return out


@cache
def _written() -> dict[str, tuple[str, ...]]:
    """The training writers' requests, all writers together (``phrasings/written.json``)."""
    path = PHRASINGS / "written.json"
    merged: dict[str, list[str]] = {key: [] for key in FRAMES}
    for writer, sets in json.loads(path.read_text())["writers"].items():
        for key, items in check_phrasings(sets, f"{path} (writer {writer})").items():
            merged[key] += items
    return {key: tuple(dict.fromkeys(items)) for key, items in merged.items()}


HELD_OUT["eval6"] = check_phrasings(json.loads((PHRASINGS / "eval6.json").read_text()),
                                    str(PHRASINGS / "eval6.json"))


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
def train_frames(key: str) -> tuple[tuple[str, ...], ...]:
    """Per frame of ``key``, its fillings that are not near any held-out phrasing (a frame left
    with none is dropped)."""
    held = [h for split in HELD_OUT.values() for h in split[key]]
    out = []
    for frame in FRAMES[key]:
        kept = tuple(p for p in dict.fromkeys(expand(frame)) if not any(near(p, h) for h in held))
        if kept:
            out.append(kept)
    return tuple(out)


@cache
def written_phrases(key: str) -> tuple[str, ...]:
    """The writers' requests for ``key`` that are not near any held-out phrasing."""
    held = [h for split in HELD_OUT.values() for h in split[key]]
    return tuple(p for p in _written()[key] if not any(near(p, h) for h in held))


def train_phrases(key: str) -> tuple[str, ...]:
    """Every training phrasing of ``key``: the grammar's, then the writers'."""
    return tuple(dict.fromkeys([p for frame in train_frames(key) for p in frame]
                               + list(written_phrases(key))))


def phrases(key: str, split: str) -> tuple[str, ...]:
    if split == "train":
        return train_phrases(key)
    if split not in HELD_OUT:
        raise ValueError(f"unknown split {split!r}: train, {', '.join(HELD_OUT)}")
    return HELD_OUT[split][key]


def pick(rng: random.Random, key: str, split: str) -> str:
    """One phrasing of ``key``. Training takes a written request ``WRITTEN_SHARE`` of the time,
    else the grammar's: a frame, then one of its fillings, so every sentence shape weighs the same
    however many fillings its slots make (a frame with three slots would otherwise drown one with
    none); a held-out set picks any of its phrasings."""
    if split != "train":
        return rng.choice(phrases(key, split))
    if rng.random() < WRITTEN_SHARE:
        return rng.choice(written_phrases(key))
    return rng.choice(rng.choice(train_frames(key)))
