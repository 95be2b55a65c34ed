import json
from pathlib import Path

import pytest

from omniweave.data.conversations import (
    LoadResult,
    MediaRef,
    Output,
    Placeholder,
    load_conversations,
    save_conversations,
    split_placeholders,
)
from omniweave.errors import InputError

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "nextgpt"


def _record(**overrides) -> dict:
    record = {
        "id": "nano-000012",
        "image": ["media/a.png"],
        "video": ["media/b.mp4"],
        "conversations": [
            {"from": "human", "value": "<image>\nwhat color is the shape?"},
            {"from": "gpt", "value": "it is red."},
            {"from": "human", "value": "and this one? <video> now make it move left."},
            {"from": "gpt", "value": "here is a red circle moving left. <video>",
             "outputs": [{"modality": "video", "caption": "a red circle moving left"}]},
        ],
        "task": "x2t",
    }
    record.update(overrides)
    return record


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "media").mkdir()
    for name in ("a.png", "b.mp4", "c.wav"):
        (tmp_path / "media" / name).write_bytes(b"x")
    return tmp_path


def _write(root: Path, records, name: str = "train.json") -> Path:
    path = root / name
    path.write_text(json.dumps(records))
    return path


def test_split_placeholders_round_trip():
    text = "<image>\nis it like <audio>?<video>"
    pieces = split_placeholders(text)
    assert pieces == [Placeholder("image"), "\nis it like ", Placeholder("audio"), "?",
                      Placeholder("video")]
    assert "".join(p if isinstance(p, str) else p.token for p in pieces) == text
    assert split_placeholders("plain") == ["plain"]


def test_load_valid(root: Path):
    [conv] = load_conversations(_write(root, [_record()]))
    assert conv.id == "nano-000012" and conv.task == "x2t"
    assert [t.role for t in conv.turns] == ["user", "assistant", "user", "assistant"]
    assert conv.turns[0].text == "<image>\nwhat color is the shape?"
    assert conv.media == [MediaRef("image", root / "media/a.png"), MediaRef("video", root / "media/b.mp4")]
    assert conv.turns[3].outputs == [Output("video", "a red circle moving left")]
    assert conv.outputs == [Output("video", "a red circle moving left")]
    assert conv.to_messages()[1] == {"role": "assistant", "content": "it is red."}


def test_media_in_placeholder_order_and_system_turn(root: Path):
    record = _record(image=["media/a.png", "media/a.png"], audio="media/c.wav", video=[],
                     conversations=[
                         {"from": "system", "value": "be brief."},
                         {"from": "user", "value": "<audio> then <image>"},
                         {"from": "assistant", "value": "ok."},
                         {"from": "human", "value": "<image>"},
                         {"from": "gpt", "value": "ok."}])
    [conv] = load_conversations(_write(root, [record]))
    assert [m.modality for m in conv.media] == ["audio", "image", "image"]
    assert conv.turns[0].role == "system"


def test_llava_single_image_string_and_media_root(tmp_path: Path, root: Path):
    record = {"id": "x", "image": "a.png",
              "conversations": [{"from": "human", "value": "<image>\ndescribe it."},
                                {"from": "gpt", "value": "a red circle."}]}
    (tmp_path / "elsewhere").mkdir()
    path = _write(tmp_path / "elsewhere", [record])
    [conv] = load_conversations(path, media_root=root / "media")
    assert conv.media == [MediaRef("image", root / "media" / "a.png")]
    assert conv.task == ""


def test_jsonl_and_save_round_trip(root: Path):
    records = [_record(), _record(id="second")]
    path = save_conversations(root / "train.jsonl", records)
    assert len(path.read_text().splitlines()) == 2
    assert [c.id for c in load_conversations(path)] == ["nano-000012", "second"]
    path = save_conversations(root / "train.json", records)
    assert json.loads(path.read_text()) == records
    assert not list(root.glob(".train*"))  # no temporaries left


def test_jsonl_bad_line_names_line(root: Path):
    path = root / "train.jsonl"
    path.write_text(json.dumps(_record()) + "\n\n{not json\n")
    with pytest.raises(InputError, match=r"train\.jsonl: record 1 \(line 3\): bad JSON"):
        load_conversations(path)
    result = load_conversations(path, strict=False)
    assert len(result.conversations) == 1 and result.dropped[0][0] == 1


def test_bad_json_file(root: Path):
    path = root / "train.json"
    path.write_text('[{"id": 1,}]')
    with pytest.raises(InputError, match=r"train\.json: bad JSON at line 1"):
        load_conversations(path, strict=False)
    path.write_text('{"id": 1}')
    with pytest.raises(InputError, match="expected a list of records"):
        load_conversations(path)
    with pytest.raises(InputError, match="no such file"):
        load_conversations(root / "missing.json")
    with pytest.raises(InputError, match="accepted: .json, .jsonl"):
        load_conversations(root / "train.txt")


def _turns(*pairs):
    return [{"from": who, "value": value} for who, value in pairs]


BAD = [
    (dict(conversations=_record()["conversations"][:3] + [
        {"from": "gpt", "value": "<video> <video>",
         "outputs": [{"modality": "video", "caption": "a red circle moving left"}]}]),
     r"conversations\[3\]: 2 <video> placeholders but 1 video output"),
    (dict(conversations=_record()["conversations"][:3] + [
        {"from": "gpt", "value": "<video>", "outputs": [{"modality": "video", "caption": " "}]}]),
     r"conversations\[3\]\.outputs\[0\]\.caption: expected a non-empty caption"),
    (dict(conversations=_record()["conversations"][:3] + [
        {"from": "gpt", "value": "<video> <image>",
         "outputs": [{"modality": "image", "caption": "x"}, {"modality": "video", "caption": "y"}]}]),
     r"conversations\[3\]\.outputs\[0\]: is image, but placeholder 0 of the turn is <video>"),
    (dict(image=["media/missing.png"]), r"image\[0\]: missing media file .*missing\.png"),
    (dict(image=["media/a.png", "media/a.png"]), r"image: 1 <image> placeholder in human turns but 2 files"),
    (dict(image=None), r"image: expected a path or a list of paths, got null"),
    (dict(image=[3]), r"image\[0\]: expected a path, got a number"),
    (dict(conversations=_turns(("human", "hi"), ("bot", "hello"))),
     r"conversations\[1\]\.from: unknown role 'bot'"),
    (dict(conversations=_turns(("human", "hi"), ("human", "hello"), ("gpt", "x"))),
     r"conversations\[1\]\.from: roles must alternate: expected gpt, got human"),
    (dict(conversations=_turns(("gpt", "hi"), ("human", "hello"))),
     r"conversations\[0\]\.from: roles must alternate: expected system or human, got gpt"),
    (dict(conversations=_turns(("human", "hi"), ("gpt", "x"), ("system", "y"))),
     r"conversations\[2\]\.from: a system turn may only come first"),
    (dict(conversations=_turns(("human", "hi"), ("gpt", "x"), ("human", "y"))),
     r"conversations\[2\]: the last turn must be gpt"),
    (dict(conversations=_turns(("human", "  "), ("gpt", "x"))), r"conversations\[0\]\.value: empty turn"),
    (dict(conversations=[{"from": "human", "value": 3}]), r"conversations\[0\]\.value: expected a string"),
    (dict(conversations=[]), r"conversations: no turns"),
    (dict(conversations="hi"), r"conversations: expected a list of turns, got a string"),
    (dict(conversations=[{"from": "human", "value": "x", "outputs": []}, {"from": "gpt", "value": "y"}]),
     r"conversations\[0\]\.outputs: only gpt turns generate media"),
    (dict(task=3), r"task: expected a string"),
]


@pytest.mark.parametrize(("overrides", "message"), BAD)
def test_errors_name_file_record_and_field(root: Path, overrides, message):
    path = _write(root, [_record(id="ok"), _record(**overrides)])
    with pytest.raises(InputError, match=r"train\.json: record 1 \(id nano-000012\): " + message):
        load_conversations(path)


def test_non_object_record(root: Path):
    with pytest.raises(InputError, match=r"train\.json: record 0: expected an object, got a list"):
        load_conversations(_write(root, [[1]]))


def test_lenient_load_drops_with_reasons(root: Path):
    records = [_record(id="a"), _record(id="b", image=["media/nope.png"]), _record(id="c"),
               _record(id="d", conversations=[])]
    result = load_conversations(_write(root, records), strict=False)
    assert isinstance(result, LoadResult)
    assert [c.id for c in result.conversations] == ["a", "c"]
    assert [i for i, _ in result.dropped] == [1, 3]
    assert "record 1 (id b): image[0]: missing media file" in result.dropped[0][1]
    unchecked = load_conversations(_write(root, records), strict=False, check_media=False)
    assert [i for i, _ in unchecked.dropped] == [3]


@pytest.mark.parametrize("modality", ["cc3m/images", "audiocap/audios", "webvid/videos"])
def test_nextgpt_comprehension_fixtures(modality: str):
    """NExT-GPT's comprehension files (input_image/... keys): kept where the medium is there."""
    folder, media = modality.split("/")
    path = FIXTURES / folder / f"{folder}_comprehension.json"
    if not path.exists():
        pytest.skip(f"fixtures absent: {FIXTURES} (see shared/fixtures/README.md)")
    result = load_conversations(path, media_root=path.parent / media, strict=False)
    n = len(json.loads(path.read_text()))
    present = {p.name for p in (path.parent / media).iterdir()}
    assert len(result.conversations) + len(result.dropped) == n
    assert len(result.conversations) == sum(
        1 for r in json.loads(path.read_text())
        if next(v for k, v in r.items() if k.startswith("input_")) in present)
    assert all("missing media file" in reason for _, reason in result.dropped)
    for conv in result.conversations:
        assert len(conv.media) == 1 and conv.media[0].path.is_file()
        assert [t.role for t in conv.turns] == ["user", "assistant"]
    everything = load_conversations(path, check_media=False)
    assert len(everything) == n
