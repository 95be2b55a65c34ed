import subprocess
import sys

import pytest

from omniweave.cli import main
from omniweave.media import load_media
from omniweave.nano import judges, world


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
