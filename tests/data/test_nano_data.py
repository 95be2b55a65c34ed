import json
from pathlib import Path

import numpy as np
import pytest

from omniweave.cli import main
from omniweave.data.conversations import load_conversations, placeholder_modalities
from omniweave.data.nano import DEFAULT_MIX, TASKS, iter_nano_examples, task_counts, write_nano_data
from omniweave.errors import InputError
from omniweave.media import load_media
from omniweave.nano.world import COLORS, ImageSpec, parse_caption


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> tuple[Path, dict[str, int]]:
    out = tmp_path_factory.mktemp("nano-data")
    return out, write_nano_data(out, 40, seed=3)


def test_writes_every_task_and_loads_back_with_media(written):
    out, counts = written
    assert counts == task_counts(40) and set(counts) == set(TASKS) and sum(counts.values()) == 40
    convs = load_conversations(out / "train.json")  # strict, media checked
    assert len(convs) == 40
    assert {c.task for c in convs} == set(TASKS)
    files = sorted(p.name for p in (out / "media" / "train").iterdir())
    assert files == sorted(m.path.name for c in convs for m in c.media)
    for conv in convs:
        given = [m for t in conv.turns if t.role == "user" for m in placeholder_modalities(t.text)]
        assert given == [m.modality for m in conv.media]
        assert all(m.path.suffix == {"image": ".png", "audio": ".wav", "video": ".mp4"}[m.modality]
                   for m in conv.media)
        for turn in conv.turns:
            for o in turn.outputs:
                spec = parse_caption(o.caption)
                assert spec.modality == o.modality and spec.caption == o.caption
                assert f"{o.caption}." in turn.text
        if conv.task in ("x2t-describe", "x2t-qa", "x2x"):
            assert len(conv.media) == 1
        if conv.task in ("t2x", "x2x", "multi"):
            assert conv.outputs
        if conv.task in ("t2x", "text"):
            assert not conv.media
        if conv.task == "text":
            assert not conv.outputs


def test_media_show_their_spec(written):
    out, _ = written
    examples = list(iter_nano_examples(40, seed=3))
    image = next(m for ex in examples for m in ex.media if isinstance(m.spec, ImageSpec))
    pixels = load_media(out / image.path).pixels.reshape(-1, 3)
    lit = pixels[pixels.max(axis=1) > 0]
    assert np.abs(lit.astype(int) - COLORS[image.spec.color]).max() <= 2


SAID = {"pulsing": ("pulsing", "pulses", "beeping"), "steady": ("steady", "constant"),
        "center": ("center", "middle"), "low": ("low", "220 hertz"), "mid": ("mid", "440 hertz"), "high": ("high", "880 hertz")}


def test_describe_answers_are_true():
    canonical = 0
    for ex in iter_nano_examples(200, seed=0, mix={"x2t-describe": 1.0}):
        [medium] = ex.media
        answer = ex.record["conversations"][1]["value"]
        canonical += answer == medium.spec.caption + "."
        for value in vars(medium.spec).values():
            assert any(w in answer for w in SAID.get(value, (value,))), (answer, medium.spec)
    assert 140 <= canonical <= 190


def test_deterministic_and_seeds_differ():
    def records(seed, split="train"):
        return [(ex.record, [m.seed for m in ex.media]) for ex in iter_nano_examples(30, seed, split)]

    assert records(5) == records(5)
    assert records(5) != records(6)
    seeds = {s for _, ss in records(0) + records(1) + records(0, "eval") for s in ss}
    assert len(seeds) == sum(len(ss) for _, ss in records(0) + records(1) + records(0, "eval"))


def test_mix_and_arguments():
    assert task_counts(10, {"t2x": 1, "text": 1}) == {"t2x": 5, "text": 5}
    assert sum(task_counts(1000).values()) == 1000
    assert task_counts(1000)["x2t-qa"] == 1000 * DEFAULT_MIX["x2t-qa"]
    with pytest.raises(InputError, match="unknown nano data task 'x2y'"):
        task_counts(10, {"x2y": 1.0})
    with pytest.raises(InputError, match="shares"):
        task_counts(10, {"t2x": 0.0})
    with pytest.raises(InputError, match="split"):
        next(iter_nano_examples(1, 0, split="../x"))


def test_cli_writes_eval_split(tmp_path: Path, capsys):
    assert main(["nano", "data", "--out", str(tmp_path), "--split", "eval", "--n", "6"]) == 0
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["seed"] == 1 and sum(line[t] for t in TASKS if t in line) == 6
    convs = load_conversations(tmp_path / "eval.json")
    assert [c.id for c in convs] == [f"nano-eval-{i:06d}" for i in range(6)]
    assert all(m.path.parent == tmp_path / "media" / "eval" for c in convs for m in c.media)
