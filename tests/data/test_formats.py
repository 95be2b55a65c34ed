"""Dataset formats -> the unified conversation format (``omniweave data prepare``), checked on the
real NExT-GPT sample data in ../shared/fixtures and on small files in each other format."""

import io
import json
import tarfile
from pathlib import Path

import numpy as np
import pytest

from omniweave.cli import main
from omniweave.data import formats
from omniweave.data.conversations import load_conversations
from omniweave.data.formats import convert, iter_records, prepare
from omniweave.errors import InputError
from omniweave.media import Image

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "nextgpt"
needs_fixtures = pytest.mark.skipif(not FIXTURES.is_dir(),
                                    reason=f"the NExT-GPT sample data is not at {FIXTURES}")


@needs_fixtures
@pytest.mark.parametrize("fmt, name, kept", [
    ("cc3m", "cc3m/cc3m.json", 20),
    ("audiocap", "audiocap/audiocap.json", 3),
    ("webvid", "webvid/webvid.json", 3),
    ("nextgpt-comprehension", "cc3m/cc3m_comprehension.json", 20),
    ("nextgpt-comprehension", "audiocap/audiocap_comprehension.json", 3),
    ("nextgpt-comprehension", "webvid/webvid_comprehension.json", 3),
    ("nextgpt-generation", "cc3m/cc3m_generation.json", 20),
    ("nextgpt-generation", "audiocap/audiocap_generation.json", 3),
    ("nextgpt-generation", "webvid/webvid_generation.json", 3),
])
def test_nextgpt_sample_data(tmp_path, fmt, name, kept):
    out = tmp_path / "out.jsonl"
    result = prepare(fmt, FIXTURES / name, out, verify_media=True)
    assert result.kept == kept and len(result.dropped) == 20 - kept
    assert all("missing media file" in reason for _, reason in result.dropped)
    assert result.counts() == ({"missing media": 20 - kept} if kept < 20 else {})
    convs = load_conversations(out)  # what training reads
    assert len(convs) == kept
    if "generation" in fmt:
        outs = [o for c in convs for o in c.outputs]
        assert len(outs) == kept and all(o.caption for o in outs)
        assert not any(c.media for c in convs)
    else:
        assert all(len(c.media) == 1 and c.media[0].path.is_file() for c in convs)


@needs_fixtures
def test_pairs_for_generation_and_the_cli(tmp_path, capsys):
    out = tmp_path / "gen.jsonl"
    assert main(["data", "prepare", "--format", "webvid", "--input",
                 str(FIXTURES / "webvid" / "webvid.json"), "--out", str(out), "--task", "t2x"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[-1].startswith("kept 3 records, dropped 17 (missing media 17) -> ")
    assert sum(line.startswith("dropped record ") for line in printed) == 17
    assert "dropped record 1 (id 1026827060): missing media file" in printed[0]
    convs = load_conversations(out)
    assert [o.modality for c in convs for o in c.outputs] == ["video"] * 3
    # --strict: the first bad record is the error, and nothing is written
    strict = tmp_path / "strict.jsonl"
    assert main(["data", "prepare", "--format", "audiocap", "--input",
                 str(FIXTURES / "audiocap" / "audiocap.json"), "--out", str(strict), "--strict"]) == 2
    err = capsys.readouterr().err
    assert "record 0: missing media file" in err and err.count("\n") == 1
    assert not strict.exists()


def _write(path: Path, records) -> Path:
    path.write_text(json.dumps(records))
    return path


@pytest.fixture
def media(tmp_path) -> Path:
    root = tmp_path / "media"
    Image(np.full((8, 8, 3), 200, np.uint8)).save(root / "a.png")
    (root / "broken.png").write_bytes(b"not a png at all")
    return root


def test_llava_alpaca_and_videochat(tmp_path, media):
    llava = _write(tmp_path / "llava.json", [
        {"id": "ok", "image": "a.png", "conversations": [
            {"from": "human", "value": "<image>\nWhat is it?"}, {"from": "gpt", "value": "A square."}]},
        {"id": "two", "image": "a.png", "conversations": [
            {"from": "human", "value": "<image> <image>"}, {"from": "gpt", "value": "x"}]},
        {"id": "role", "conversations": [{"from": "robot", "value": "hi"}, {"from": "gpt", "value": "x"}]},
        {"id": "empty", "conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": " "}]},
        {"id": "bad", "image": "broken.png", "conversations": [
            {"from": "human", "value": "<image>"}, {"from": "gpt", "value": "x"}]},
    ])
    result = prepare("llava", llava, tmp_path / "llava.jsonl", media, verify_media=True)
    assert result.kept == 1
    assert result.counts() == {"placeholders vs media": 1, "bad role": 1, "empty turn": 1,
                               "unreadable media": 1}
    alpaca = _write(tmp_path / "alpaca.json", [
        {"instruction": "Add.", "input": "2 + 2", "output": "4"},
        {"instruction": "Say hi.", "input": "", "output": "hi"},
        {"instruction": "Nothing.", "input": "", "output": ""},
    ])
    result = prepare("alpaca", alpaca, tmp_path / "alpaca.json", media)
    assert result.kept == 2 and result.dropped[0][0] == 2 and "empty turn" in result.dropped[0][1]
    convs = load_conversations(tmp_path / "alpaca.json")
    assert convs[0].turns[0].text == "Add.\n2 + 2" and convs[0].turns[1].text == "4"
    Image(np.zeros((8, 8, 3), np.uint8)).save(media / "frame.png")
    from omniweave.media import Video

    Video(np.zeros((4, 16, 16, 3), np.uint8), 4.0).save(media / "v.mp4")
    videochat = _write(tmp_path / "vc.json", [
        {"video": "v.mp4", "QA": [{"i": "Watch closely.", "q": "What moves?", "a": "Nothing."},
                                  {"q": "Colour?", "a": "Black."}]},
        {"video": "gone.mp4", "QA": [{"q": "?", "a": "!"}]},
    ])
    result = prepare("videochat", videochat, tmp_path / "vc.jsonl", media)
    assert result.kept == 1 and result.counts() == {"missing media": 1}
    conv = load_conversations(tmp_path / "vc.jsonl")[0]
    assert conv.turns[0].text == "<video>\nWatch closely.\nWhat moves?" and len(conv.turns) == 4


def test_t2m_and_mosit(tmp_path, media):
    t2m = _write(tmp_path / "t2m.json", [
        {"audio_captions": ["a dog barks"], "audio_caption_embeddings": ["1.wav.npy"],
         "conversations": [{"from": "human", "value": "I need a dog.", "input_modality": "text"},
                           {"from": "gpt", "value": "Here it is. <audio>", "caption": "a dog barks",
                            "output_modality": "audio"}]},
        {"image_captions": [], "conversations": [{"from": "human", "value": "draw"},
                                                 {"from": "gpt", "value": "ok <image> <image>"}]},
    ])
    result = prepare("t2m", t2m, tmp_path / "t2m.jsonl")
    assert result.kept == 1 and "number 1" in result.dropped[0][1]
    (conv,) = load_conversations(tmp_path / "t2m.jsonl")
    assert conv.outputs[0].modality == "audio" and conv.outputs[0].caption == "a dog barks"
    raw = _write(tmp_path / "mosit.json", [
        {"image_list": [{"image_name": "a.png", "data_source": "coco", "caption": "a white square"}],
         "audio_list": [{"audio_name": "x.wav", "caption": "rain"}],
         "conversation": [
             {"from": "human", "value": "Look at this. <Image>a white square</Image>"},
             {"from": "gpt", "value": "Nice. Listen: <Audio>The sound of rain</Audio>"}]},
        {"image_list": [], "conversation": [{"from": "human", "value": "<Image>x</Image>"},
                                            {"from": "gpt", "value": "ok"}]},
    ])
    result = prepare("mosit-raw", raw, tmp_path / "mosit.jsonl", media)
    assert result.kept == 1 and "no image_list entry" in result.dropped[0][1]
    (conv,) = load_conversations(tmp_path / "mosit.jsonl")
    assert conv.turns[0].text == "Look at this. <image>" and conv.media[0].path.name == "a.png"
    assert conv.outputs[0].caption == "The sound of rain" and conv.turns[1].text.endswith("<audio>")
    pre = _write(tmp_path / "mosit-pre.json", [
        {"image_captions": ["a cat", "a dog"], "image_caption_embeddings": ["1.npy", "2.npy"],
         "conversations": [{"from": "human", "value": "show me a cat"},
                           {"from": "gpt", "value": "<image>"},
                           {"from": "human", "value": "and a dog"},
                           {"from": "gpt", "value": "here <image>"}]}])
    assert prepare("mosit", pre, tmp_path / "pre.jsonl").kept == 1
    captions = [o.caption for o in load_conversations(tmp_path / "pre.jsonl")[0].outputs]
    assert captions == ["a cat", "a dog"]


def test_webdataset_shards_stream_into_pairs(tmp_path):
    shard = tmp_path / "shard-000.tar"
    png = io.BytesIO()
    from PIL import Image as PILImage

    PILImage.new("RGB", (8, 8), "red").save(png, format="PNG")
    with tarfile.open(shard, "w") as tar:
        for name, data in [("s1.png", png.getvalue()), ("s1.txt", b"a red square"),
                           ("s2.png", png.getvalue()), ("s2.json", b'{"caption": "red"}'),
                           ("s3.txt", b"no medium")]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    result = prepare("webdataset", shard, tmp_path / "wds.jsonl", tmp_path / "extracted")
    assert result.kept == 2 and "expected one media file" in result.dropped[0][1]
    convs = load_conversations(tmp_path / "wds.jsonl")
    assert [c.turns[1].text for c in convs] == ["a red square.", "red."]
    assert all(c.media[0].path.is_file() for c in convs)
    with pytest.raises(InputError, match="needs --media-root"):
        list(convert("webdataset", shard))


def test_json_lists_stream_in_chunks(tmp_path, monkeypatch):
    records = [{"caption": f"caption {k} " + "x" * (k * 7 % 50), "n": [k, {"deep": "}]"}]}
               for k in range(40)]
    path = tmp_path / "big.json"
    path.write_text("  [\n" + ",\n".join(json.dumps(r) for r in records) + "\n]  \n")
    monkeypatch.setattr(formats, "CHUNK", 7)  # values split across many reads
    assert [r for _, r in iter_records(path)] == records
    jsonl = tmp_path / "x.jsonl"
    jsonl.write_text('{"a": 1}\n\nnot json\n{"a": 2}\n')
    got = list(iter_records(jsonl))
    assert got[0] == (0, {"a": 1}) and got[2] == (2, {"a": 2}) and "line 3" in got[1][1].reason
    (tmp_path / "obj.json").write_text('{"a": 1}')
    with pytest.raises(InputError, match="expected a JSON list"):
        list(iter_records(tmp_path / "obj.json"))
    (tmp_path / "cut.json").write_text('[{"a": 1}, {"a": ')
    with pytest.raises(InputError, match="bad JSON in record 1"):
        list(iter_records(tmp_path / "cut.json"))


@needs_fixtures
def test_training_reads_pair_files_skipping_absent_media(tmp_path, capsys):
    from omniweave.config import StageConfig
    from omniweave.training.data import load_examples

    stage = StageConfig(data=[str(FIXTURES / "audiocap" / "audiocap.json")])
    examples = load_examples(stage, tmp_path)
    assert len(examples) == 3 and all(path.is_file() for ex in examples for _, path in ex.media)
    assert "skipping 17 of 20 pairs (first: record 0: missing media file" in capsys.readouterr().out
