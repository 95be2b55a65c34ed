import json
import random
from collections import Counter

import pytest

from omniweave.data.conversations import load_conversations
from omniweave.data.tool_phrases import (
    FRAMES,
    HELD_OUT,
    PHRASINGS,
    WRITTEN_SHARE,
    check_phrasings,
    expand,
    near,
    phrases,
    pick,
    train_frames,
    written_phrases,
)
from omniweave.data.tools import iter_tool_examples, write_tool_data
from omniweave.media import load_media
from omniweave.nano import judges
from omniweave.tools.format import parse_calls
from omniweave.tools.registry import registered


def test_written_data_loads_and_results_are_the_tools(tmp_path):
    counts = write_tool_data(tmp_path, 60, seed=3)
    assert sum(counts.values()) == 60 and {"pitch", "mirror", "chain", "none"} <= set(counts)
    convs = load_conversations(tmp_path / "train.json")  # strict: roles, placeholders, media files
    known = {t.name for t in registered()}
    records = json.loads((tmp_path / "train.json").read_text())
    for conv, record in zip(convs, records, strict=True):
        turns = conv.turns
        for k, t in enumerate(turns):
            if t.role == "assistant" and "<tool_call>" in t.text:
                (call,) = parse_calls(t.text)
                assert call.name in known
                assert turns[k + 1].role == "user" and turns[k + 1].text.startswith(f"TOOL: {call.name}: ")
        if record["task"] in ("mirror", "recolor"):
            given, result = (load_media(m.path) for m in conv.media[:2])
            before, after = judges.judge(given), judges.judge(result)
            if record["task"] == "mirror":
                swap = {"left": "right", "right": "left", "center": "center"}
                assert after == {**before, "position": swap[before["position"]]}
            else:
                assert after["color"] != before["color"] and after["shape"] == before["shape"]
        if record["tools"] is not None:
            assert turns[0].role == "system" and turns[0].text.startswith("tools: ")


def test_held_out_phrasings_are_far_from_training_and_used():
    for key in FRAMES:
        train = phrases(key, "train")
        assert len(train) >= 10
        for split in HELD_OUT:
            for h in phrases(key, split):
                assert not any(near(t, h) for t in train), (key, h)
    for split in HELD_OUT:
        users = [r["conversations"][1]["value"] for r, _, _ in iter_tool_examples(200, 1, split=split)
                 if r["task"] == "pitch"]
        assert users and all(any(h.rstrip(".?") in u.lower() for h in phrases("pitch", split)) for u in users)


def test_near_counts_word_edits_and_slots():
    assert near("color the shape {c}.", "paint the shape {c}")  # one swap in four words
    assert not near("paint the figure {c}.", "color the shape {c}.")
    assert not near("compute {e}.", "evaluate {e}.")  # short: only identical is near
    assert near("what is the pitch of this sound in hertz?", "what is the frequency of the sound in hertz")
    assert expand("{mv} it") == ["mirror it", "flip it", "reflect it"]


def test_training_picks_a_written_request_or_a_grammar_frame():
    frames = train_frames("pitch")
    sizes = sorted(len(f) for f in frames)
    assert sizes[0] < 5 < 50 < sizes[-1]  # a short frame beside one with many fillings
    which = {p: i for i, f in enumerate(frames) for p in f}
    written = written_phrases("pitch")
    only = set(written) - set(which)  # a writer may have written one of the grammar's sentences
    assert len(written) >= 100 and len(only) > 0.9 * len(written)
    rng = random.Random(0)
    got = [pick(rng, "pitch", "train") for _ in range(80 * len(frames))]
    share = sum(p in only for p in got) / len(got)
    assert abs(share - WRITTEN_SHARE * len(only) / len(written)) < 0.05
    counts = Counter(which[p] for p in got if p not in only)  # the grammar: frame first
    assert len(counts) == len(frames) and max(counts.values()) < 3 * min(counts.values())
    assert pick(rng, "pitch", "eval5") in HELD_OUT["eval5"]["pitch"]


def test_written_phrasings_are_checked():
    good = {key: [] for key in FRAMES} | {"recolor": ["paint it {c}"], "calc": ["what is {e}"]}
    assert check_phrasings(good, "x.json")["recolor"] == ("paint it {c}",)
    for key, text in (("recolor", "paint it red"), ("pitch", "pitch of {c}?"), ("calc", "Add {e}"),
                      ("calc", "{e} and {e}")):
        with pytest.raises(ValueError, match=rf"x\.json: {key}\[0\]"):
            check_phrasings(good | {key: [text]}, "x.json")
    with pytest.raises(ValueError, match="keys"):
        check_phrasings({"pitch": []}, "x.json")
    writers = json.loads((PHRASINGS / "written.json").read_text())["writers"]
    assert len(writers) == 5  # every writer's file passes the same checks when loaded
    assert all(written_phrases(key) for key in FRAMES)
