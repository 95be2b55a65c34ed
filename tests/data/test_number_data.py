"""The number-copying data of the nano ``numbers`` stage."""

import json
import re

from omniweave.data.conversations import load_conversations
from omniweave.data.numbers import NUMBER_TASKS, iter_number_examples, write_number_data

_NUM = re.compile(r"-?\d+(?:\.\d+)?")


def test_answers_repeat_the_numbers_of_the_prompt_exactly(tmp_path):
    records = list(iter_number_examples(400, seed=3))
    assert {r["task"] for r in records} == set(NUMBER_TASKS)
    for r in records:
        turns = r["conversations"]
        asked = _NUM.findall(" ".join(t["value"] for t in turns if t["from"] == "human"))
        said = _NUM.findall(turns[-1]["value"])
        assert said and said == asked, r
        if r["task"] == "field":
            (value,) = json.loads(turns[-1]["value"]).values()  # a JSON object of one field
            assert value in turns[0]["value"]
    assert records == list(iter_number_examples(400, seed=3))  # determined by the seed
    counts = write_number_data(tmp_path, 50, seed=1)
    assert sum(counts.values()) == 50
    convs = load_conversations(tmp_path / "train.json")
    assert len(convs) == 50 and all(not c.media for c in convs)
