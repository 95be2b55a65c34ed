import subprocess
import sys

import pytest

from omniweave.cli import main
from omniweave.media import load_media
from omniweave.nano import judges, world
from omniweave.nano.components import WEIGHTS_DIR


@pytest.mark.parametrize("caption, name", [
    ("a large red circle on the left", "x.png"),
    ("a pulsing high square tone", "x.wav"),
    ("a blue triangle moving down", "x.mp4"),
    ("a yellow square moving left", "x.gif"),
])
def test_world_render(tmp_path, capsys, caption, name):
    out = tmp_path / name
    assert main(["world", "render", "--caption", caption, "--out", str(out)]) == 0
    assert judges.all_correct(world.parse_caption(caption), load_media(out))


@pytest.mark.parametrize("argv, needle", [
    (["--caption", "a large magenta circle on the left", "--out", "x.png"], "'magenta'"),
    (["--caption", "a large red circle on the left", "--out", "x.wav"], "x.wav"),
    (["--caption", "a large red circle on the left", "--out", "x.bmp"], "x.bmp"),
    (["--caption", "", "--out", "x.png"], "empty caption"),
])
def test_world_render_bad_input(tmp_path, capsys, monkeypatch, argv, needle):
    monkeypatch.chdir(tmp_path)
    assert main(["world", "render", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("omniweave: error:") and needle in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_world_pairs(tmp_path, capsys):
    assert main(["world", "pairs", "--modality", "image", "audio", "--n", "3",
                 "--out", str(tmp_path)]) == 0
    assert (tmp_path / "cc3m.json").exists() and (tmp_path / "audiocap.json").exists()
    assert len(list((tmp_path / "images").iterdir())) == 3


def test_console_script_entry_point():
    proc = subprocess.run([sys.executable, "-m", "omniweave.cli", "world", "render", "--caption",
                           "a steady loud sine tone", "--out", "y.wav"], capture_output=True, text=True)
    assert proc.returncode == 2 and "'loud'" in proc.stderr and "Traceback" not in proc.stderr


def test_nano_decode_bad_input(tmp_path, capsys):
    out = tmp_path / "x.png"
    assert main(["nano", "decode", "--caption", "a steady low sine tone", "--out", str(out)]) == 2
    assert "describes audio, not image" in capsys.readouterr().err and not out.exists()
    assert main(["nano", "decode", "--caption", "a tiny red circle on the left",
                 "--out", str(out)]) == 2
    assert "'tiny'" in capsys.readouterr().err


def test_chat_json_one_shot(tmp_path, capsys, trained_model):
    import json

    image = world.render(world.parse_caption("a large red circle on the left")).save(tmp_path / "in.png")
    assert main(["chat", "--image", str(image), "--json", "--out-dir", str(tmp_path / "out"),
                 "describe it."]) == 0
    reply = json.loads(capsys.readouterr().out)
    assert "red circle" in reply["text"] and reply["media"] == []
    assert main(["chat", "--json", "--out-dir", str(tmp_path / "out"),
                 "draw a small blue square on the right."]) == 0
    reply = json.loads(capsys.readouterr().out)
    (made,) = reply["media"]
    assert made["modality"] == "image" and load_media(made["path"]).pixels.shape == (32, 32, 3)


@pytest.mark.parametrize("flag, name, needle", [
    ("--image", "missing.png", "missing.png"),
    ("--audio", "clip.png", "clip.png"),
])
def test_chat_bad_media_is_one_line(tmp_path, capsys, flag, name, needle):
    if name.endswith(".png") and flag == "--audio":
        world.render(world.parse_caption("a large red circle on the left")).save(tmp_path / name)
    assert main(["chat", flag, str(tmp_path / name), "describe it."]) == 2
    err = capsys.readouterr().err
    assert err.startswith("omniweave: error:") and needle in err and err.count("\n") == 1


def test_chat_repl_keeps_the_conversation(tmp_path, capsys, monkeypatch, trained_model):
    lines = iter(["draw a large red circle in the center.", "now make it blue.", "/quit"])
    monkeypatch.setattr("builtins.input", lambda _prompt="": next(lines))
    assert main(["chat", "--out-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "blue circle" in out and len(list(tmp_path.glob("turn1-*"))) == 1


def test_train_names_an_unknown_stage(tmp_path, capsys):
    assert main(["train", "--preset", "nano", "--stage", "7", "--output", str(tmp_path / "x")]) == 2
    assert "no stage '7'" in capsys.readouterr().err


def test_serve_runs_tools_by_default_only_for_a_tool_trained_checkpoint():
    from types import SimpleNamespace

    from omniweave.cli import _server_tools
    from omniweave.errors import InputError
    from omniweave.tools import registered

    every = [t.name for t in registered()]
    trained, plain = SimpleNamespace(trained_stages=["3", "tools"]), SimpleNamespace(trained_stages=["3"])
    assert _server_tools("auto", trained) == every and "pitch_hz" in every
    assert _server_tools("auto", plain) is None
    assert _server_tools("none", trained) is None
    assert _server_tools("all", plain) == every
    assert _server_tools("mirror,pitch_hz", plain) == ["mirror", "pitch_hz"]
    with pytest.raises(InputError, match="unknown tool 'nope'"):
        _server_tools("nope", plain)


@pytest.mark.skipif(not (WEIGHTS_DIR / "tools" / "config.json").exists(), reason="no shipped tools checkpoint")
def test_chat_with_tools_uses_the_shipped_tool_model_and_quotes_the_measurement(tmp_path, capsys):
    from omniweave.media import save_media
    from omniweave.tools import builtin

    tone = world.render(world.parse_caption("a steady high sine tone"))
    save_media(tone, tmp_path / "tone.wav")
    assert main(["chat", "--tools", "--audio", str(tmp_path / "tone.wav"), "--out-dir", str(tmp_path / "out"),
                 "what is the pitch of this sound in hertz?"]) == 0
    captured = capsys.readouterr()
    assert "tool pitch_hz:" in captured.err  # the tools are listed
    assert f"{builtin.pitch_hz(load_media(tmp_path / 'tone.wav')):g}" in captured.out
