"""Nano number-copying data: text conversations whose answers repeat numbers given in the prompt.

The nano LLM was pretrained on world text, which holds almost no numbers, so it never learnt to
copy digits; a 7B LLM arrives knowing how. Tool use needs it: a calculator call copies the
user's numbers into its arguments, the answer copies the tool's result. A short stage on this
data (``stages.numbers`` of the nano preset, the LLM trained whole) gives the nano LLM that
skill before the tools stage. Tasks, each a human turn and a gpt turn, no media:

- ``echo``: "repeat 403 minus 17." -> "403 minus 17"
- ``recall``: the number sits in a sentence, the question asks it back
- ``relay``: a result reported in one turn is quoted in the answer to the next question
- ``field``: a number written into a JSON object (the braces and quotes of tool calls)

What is copied: integers of 1-7 digits, signed or with decimals, lists, and arithmetic written
in words or symbols. Nothing here names a tool or uses the tool-call format.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

from omniweave.data.conversations import save_conversations

# bumped whenever the records this module writes change (names the cache folder: training/data.py)
DATA_VERSION = 1
NUMBER_TASKS = {"echo": 0.35, "recall": 0.25, "relay": 0.2, "field": 0.2}
_OPS = ("plus", "minus", "times", "divided by", "+", "-", "*", "/")
_ECHO = ("repeat {x}.", "say {x}.", "repeat this: {x}", "copy {x} exactly.", "write back {x}.",
         "echo {x}", "please say {x} back to me.", "type out {x}.", "read back {x}.", "{x} - repeat it.")
_ECHO_REPLY = ("{x}", "{x}.", "{x}")
_THINGS = ("code", "number", "value", "reading", "count", "score", "total", "amount", "answer", "id")
_RECALL = ("the {t} is {x}. what is the {t}?", "remember this {t}: {x}. now tell me the {t}.",
           "i wrote down {x} as the {t}. which {t} did i write down?",
           "the {t} {x} was read out. repeat the {t}.", "{x} is the {t}. say the {t}.")
_RECALL_REPLY = ("the {t} is {x}.", "{x}.", "it is {x}.")
_RELAY_FIRST = ("the machine printed {x}.", "i got {x} from the meter.", "result: {x}",
                "the display shows {x}.", "we measured {x}.")
_RELAY_ACK = ("noted.", "ok.", "got it.")
_RELAY_ASK = ("what did it say?", "so what was the result?", "tell me the number again.",
              "what was it?", "and the value?")
_RELAY_REPLY = ("it was {x}.", "{x}.", "the result was {x}.")
_FIELD = ("write {x} as json under the key {k}.", "put {x} in a json object, key {k}.",
          "json with {k} set to {x}, please.")


def _number(rng: random.Random) -> str:
    digits = rng.choice((1, 2, 3, 3, 3, 4, 5, 6, 7))
    x = str(rng.randrange(10 ** (digits - 1) if digits > 1 else 0, 10 ** digits))
    r = rng.random()
    if r < 0.2:
        x += "." + str(rng.randrange(10 ** rng.randint(1, 4))).zfill(rng.randint(1, 4))
    elif r < 0.3:
        x = "-" + x
    return x


def _content(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.45:
        return _number(rng)
    if r < 0.85:  # arithmetic, as tool requests write it
        n = rng.choice((2, 2, 3, 4))
        nums = [str(rng.randrange(0, 10000 if rng.random() < 0.3 else 1000)) for _ in range(n)]
        return nums[0] + "".join(f" {rng.choice(_OPS)} {b}" for b in nums[1:])
    return ", ".join(_number(rng) for _ in range(rng.randint(2, 4)))


def _turn(frm: str, text: str) -> dict:
    return {"from": frm, "value": text}


def number_example(rng: random.Random, task: str) -> list[dict]:
    x = _content(rng)
    pick = rng.choice
    if task == "echo":
        return [_turn("human", pick(_ECHO).format(x=x)), _turn("gpt", pick(_ECHO_REPLY).format(x=x))]
    if task == "recall":
        t = pick(_THINGS)
        return [_turn("human", pick(_RECALL).format(t=t, x=x)),
                _turn("gpt", pick(_RECALL_REPLY).format(t=t, x=x))]
    if task == "relay":
        return [_turn("human", pick(_RELAY_FIRST).format(x=x)), _turn("gpt", pick(_RELAY_ACK)),
                _turn("human", pick(_RELAY_ASK)), _turn("gpt", pick(_RELAY_REPLY).format(x=x))]
    if task == "field":
        k = pick(("value", "expression", "x", "result", "input"))
        return [_turn("human", pick(_FIELD).format(x=x, k=k)),
                _turn("gpt", json.dumps({k: x}))]
    raise ValueError(f"unknown number task {task!r}")


def iter_number_examples(n: int, seed: int, split: str = "train"):
    rng = random.Random(f"omniweave-numbers-{split}-{seed}")
    tasks = rng.choices(list(NUMBER_TASKS), weights=list(NUMBER_TASKS.values()), k=n)
    for i, task in enumerate(tasks):
        yield {"id": f"numbers-{split}-{i:06d}", "conversations": number_example(rng, task), "task": task}


def write_number_data(out_dir: str | Path, n: int, seed: int = 0, split: str = "train") -> dict[str, int]:
    """Write ``n`` records to ``out_dir/<split>.json`` (LLaVA-style conversations, no media)."""
    records = list(iter_number_examples(n, seed, split))
    save_conversations(Path(out_dir) / f"{split}.json", records)
    return dict(Counter(r["task"] for r in records))
