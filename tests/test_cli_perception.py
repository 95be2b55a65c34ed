import json

import pytest

from omniweave.cli import main
from omniweave.eval.multiple_choice import write_mmbench
from omniweave.eval.perception import scene_mc_items
from omniweave.media import load_media
from omniweave.nano import scenes
from omniweave.nano.components import WEIGHTS_DIR

SHIPPED = (WEIGHTS_DIR / "perception" / "config.json").exists()
needs_shipped = pytest.mark.skipif(not SHIPPED, reason="nano-perception's checkpoint is not shipped here")


def test_world_render_draws_a_scene(tmp_path, capsys):
    caption = "a red circle on the left and a blue square on the right"
    out = tmp_path / "scene.png"
    assert main(["world", "render", "--caption", caption, "--out", str(out), "--seed", "3"]) == 0
    assert scenes.judge_scene(load_media(out)) == scenes.parse_scene_caption(caption).as_dict()
    assert main(["world", "render", "--caption", caption, "--out", str(tmp_path / "x.wav")]) == 2
    assert "a scene is an image" in capsys.readouterr().err


def test_eval_mc_names_a_bad_file_before_loading_a_model(tmp_path, capsys):
    assert main(["eval-mc", "--preset", "nano-perception", "--data", str(tmp_path / "none.tsv")]) == 2
    assert "no such benchmark file" in capsys.readouterr().err


@needs_shipped
def test_chat_answers_about_one_side_of_a_scene(tmp_path, capsys):
    scene = tmp_path / "scene.png"
    scenes.render_scene(scenes.SceneSpec("red", "circle", "blue", "square"), 1).save(scene)
    assert main(["chat", "--preset", "nano-perception", "--image", str(scene), "--json",
                 "what color is the shape on the right?"]) == 0
    reply = json.loads(capsys.readouterr().out)
    assert "blue" in reply["text"] and reply["media"] == []


@needs_shipped
def test_eval_mc_reads_an_mmbench_file(tmp_path, capsys):
    path = write_mmbench(tmp_path / "scenes.tsv", scene_mc_items(6))
    assert main(["eval-mc", "--preset", "nano-perception", "--data", str(path), "--json"]) == 0
    table = json.loads(capsys.readouterr().out)
    assert table["n"] == 6 and table["likelihood"] >= 0.5
