import hashlib
import shutil

import pytest

from omniweave.errors import OmniweaveError
from omniweave.nano.build import build_component, evaluate_component
from omniweave.nano.components import (
    COMPONENTS,
    MANIFEST,
    component_dir,
    read_manifest,
    require_component,
)


def test_every_shipped_component_has_a_true_manifest():
    total = 0
    for name in COMPONENTS:
        folder = component_dir(name)
        if not (folder / MANIFEST).exists():
            pytest.skip(f"{name} not built")
        manifest = read_manifest(folder)
        assert manifest["component"] == name and manifest["metrics"]
        assert manifest["build_command"].startswith(f"omniweave nano build {name}")
        for rel, digest in manifest["sha256"].items():
            assert hashlib.sha256((folder / rel).read_bytes()).hexdigest() == digest, rel
        total += sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    assert total <= 40e6, f"the six components take {total / 1e6:.1f} MB, over 40"


def test_build_writes_manifest_and_replaces_atomically(tmp_path):
    shutil.copytree(require_component("tokenizer"), tmp_path / "tokenizer")
    for _ in range(2):  # the second build replaces the first
        metrics = build_component("bind", root=tmp_path, steps=1, batch_size=2, pool=4,
                                  eval_samples=6)
    manifest = read_manifest(tmp_path / "bind")
    assert manifest["metrics"] == metrics and manifest["options"]["steps"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bind", "tokenizer"]
    again = evaluate_component("bind", root=tmp_path, n=12)
    assert set(again) >= {"image_to_text_top1", "audio_to_text_top1", "video_to_text_top1"}


def test_missing_component_names_the_build_command(tmp_path):
    with pytest.raises(OmniweaveError, match="omniweave nano build llm"):
        require_component("llm", tmp_path)
    with pytest.raises(OmniweaveError, match="unknown nano component"):
        component_dir("vae")
