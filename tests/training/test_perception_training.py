import json

import torch

from omniweave.config import load_preset
from omniweave.data.scenes import write_scene_data
from omniweave.model import AnyToAny
from omniweave.training import trainer


def test_a_few_steps_of_nano_perception_train_and_save(tmp_path):
    write_scene_data(tmp_path / "scenes", 16, seed=5)
    data = tmp_path / "scenes" / "train.json"
    cfg = load_preset("nano-perception", [f"stages.1.data=[{data}]", "stages.1.batch_size=4",
                                          "modalities.image.interaction.num_layers=1"])
    out = tmp_path / "stage1"
    summary = trainer.train_stage(cfg, "1", out, data_dir=tmp_path, steps=2, progress=False)
    assert summary["steps"] == 2 and summary["examples"] == 16
    meta = json.loads((out / "config.json").read_text())
    assert meta["preset"] == "nano-perception" and meta["stages"] == ["1"]
    model = AnyToAny.from_pretrained(out)
    assert "perception.image.request_map.1.weight" in model.trained_state()
    assert "perception.image.request_map.0.weight" in model.trained_state()  # its LayerNorm
    assert any(p.name.startswith("features-image") and p.name.endswith("-tokens.safetensors")
               for p in (tmp_path / "cache").iterdir())  # the cache keeps patch tokens


def test_the_perception_refit_trains_from_cached_request_states(tmp_path):
    write_scene_data(tmp_path / "scenes", 12, seed=6)
    data = tmp_path / "scenes" / "train.json"
    cfg = load_preset("nano-perception", [f"stages.1.data=[{data}]", f"stages.2.data=[{data}]",
                                          "stages.1.batch_size=4", "stages.2.batch_size=8",
                                          "modalities.image.interaction.num_layers=1"])
    trainer.train_stage(cfg, "1", tmp_path / "stage1", data_dir=tmp_path, steps=1, progress=False)
    before = AnyToAny.from_pretrained(tmp_path / "stage1").trained_state()
    summary = trainer.train_stage(cfg, "2", tmp_path / "stage2", init=tmp_path / "stage1",
                                  data_dir=tmp_path, steps=3, progress=False)
    assert summary["examples"] == 12  # one first request per conversation
    assert summary["final_losses"]["lm"] == 0 and summary["final_losses"]["detail"] > 0
    after = AnyToAny.from_pretrained(tmp_path / "stage2").trained_state()
    changed = {k.split(".")[0] for k in before if not torch.equal(before[k], after[k])}
    assert changed == {"perception"}
    assert json.loads((tmp_path / "stage2" / "config.json").read_text())["stages"] == ["1", "2"]
