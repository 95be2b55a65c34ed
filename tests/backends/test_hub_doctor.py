"""Where components come from: repo ids found in the models root or the HF cache, and the one
line that says what to download when they are not; ``omniweave doctor``."""

import pytest
import tiny

from omniweave.cli import main
from omniweave.config import load_preset
from omniweave.errors import InputError
from omniweave.hub import locate, resolve_path


@pytest.fixture(autouse=True)
def empty_caches(tmp_path, monkeypatch):
    """No model anywhere: an empty models root and an empty Hugging Face cache."""
    monkeypatch.setenv("OMNIWEAVE_MODELS", str(tmp_path / "models"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    return tmp_path


def test_a_missing_repo_id_says_what_to_download(empty_caches):
    with pytest.raises(InputError) as e:
        resolve_path("lmsys/vicuna-7b-v1.5", component="llm", key="llm.path")
    message = str(e.value)
    assert message.startswith("llm lmsys/vicuna-7b-v1.5 not found; download with `hf download "
                              "lmsys/vicuna-7b-v1.5 --local-dir ")
    assert str(empty_caches / "models" / "lmsys" / "vicuna-7b-v1.5") in message
    assert "set llm.path=<folder>" in message
    with pytest.raises(InputError, match="no such model folder"):
        resolve_path("/nowhere/at/all")


def test_repo_ids_resolve_from_the_models_root_and_the_hf_cache(empty_caches):
    rooted = empty_caches / "models" / "org" / "model-a"
    rooted.mkdir(parents=True)
    (rooted / "config.json").write_text("{}")
    assert locate("org/model-a").source == "models root"
    assert resolve_path("org/model-a") == rooted
    # the Hugging Face cache layout: models--org--name/{refs/main, snapshots/<commit>/...}
    repo = empty_caches / "hf-cache" / "models--org--model-b"
    snapshot = repo / "snapshots" / ("a" * 40)
    snapshot.mkdir(parents=True)
    (snapshot / "model_index.json").write_text("{}")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("a" * 40)
    found = locate("org/model-b")
    assert found.source == "HF cache" and found.folder == snapshot


def test_doctor_on_nextgpt_7b_lists_every_download(capsys):
    assert main(["doctor", "--preset", "nextgpt-7b"]) == 1
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith("MISSING")]
    assert len(lines) == 7  # llm, and an encoder and a decoder per modality
    for repo in ("lmsys/vicuna-7b-v1.5", "openai/clip-vit-large-patch14", "laion/clap-htsat-unfused",
                 "stable-diffusion-v1-5/stable-diffusion-v1-5", "cvssp/audioldm-l-full",
                 "cerspense/zeroscope_v2_576w"):
        assert any(f"hf download {repo} --local-dir" in line for line in lines), repo
    assert all("not found; download with" in line and "or set " in line for line in lines)
    assert main(["doctor", "--preset", "qwen-small"]) == 1


def test_a_preset_with_missing_components_fails_with_the_same_lines():
    from omniweave.model import AnyToAny

    with pytest.raises(InputError) as e:
        AnyToAny.from_config(load_preset("nextgpt-7b"))
    assert "7 components of preset nextgpt-7b are missing" in str(e.value)
    assert "hf download cvssp/audioldm-l-full" in str(e.value)


def test_doctor_finds_every_tiny_component(tiny_models, tmp_path, capsys):
    preset = tiny.write_preset(tiny.tiny_preset(tiny_models), tmp_path / "tiny.yaml")
    assert main(["doctor", "--preset", str(preset)]) == 0
    out = capsys.readouterr().out
    assert "7 components, 0 missing" in out and out.count("\nok ") == 7
    assert main(["doctor", "--preset", str(preset), "--set", "llm.path=org/absent"]) == 1
    assert "llm org/absent not found" in capsys.readouterr().out
