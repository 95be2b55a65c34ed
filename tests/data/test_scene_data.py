from omniweave.data.conversations import load_conversations
from omniweave.data.scenes import MIX, iter_scene_records, write_scene_data


def test_scene_data_is_written_and_loads(tmp_path):
    counts = write_scene_data(tmp_path, 40, seed=2)
    assert sum(counts.values()) == 40 and set(counts) == set(MIX)
    convs = load_conversations(tmp_path / "train.json")
    assert len(convs) == 40 and all(len(c.media) == 1 for c in convs)
    assert all(c.media[0].path.exists() for c in convs)
    mc = [c for c in convs if c.task == "scene-mc"]
    assert mc and all(c.turns[-1].text[0] in "ABCD" for c in mc)


def test_records_depend_on_seed_and_split_only():
    a = [r for r, _ in iter_scene_records(10, 0)]
    assert a == [r for r, _ in iter_scene_records(10, 0)]
    assert a != [r for r, _ in iter_scene_records(10, 1)]
    assert a != [r for r, _ in iter_scene_records(10, 0, split="eval")]
