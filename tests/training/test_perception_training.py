import json

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
    assert "perception.image.request_map.weight" in model.trained_state()
    assert any(p.name.startswith("features-image") and p.name.endswith("-tokens.safetensors")
               for p in (tmp_path / "cache").iterdir())  # the cache keeps patch tokens
