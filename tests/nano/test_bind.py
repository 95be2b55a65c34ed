import pytest
import torch

from omniweave.nano import world
from omniweave.nano.bind import ShapeBindModel, preprocess
from omniweave.nano.components import component_dir, require_component
from omniweave.nano.recipes import bind as recipe

SHIPPED = (component_dir("bind") / "manifest.json").exists()


@pytest.mark.skipif(not SHIPPED, reason="bind component not built")
def test_shipped_bind_retrieves_captions():
    metrics = recipe.evaluate(require_component("bind"), n=60, seed=123)
    for modality in ("image", "audio", "video"):
        assert metrics[f"{modality}_to_text_top1"] >= 0.85, metrics


def test_preprocess_shapes():
    for modality, shape in [("image", (2, 3, 32, 32)), ("audio", (2, 64, 64)),
                            ("video", (2, 8, 3, 32, 32))]:
        media = [world.sample(modality, s)[1] for s in range(2)]
        x = preprocess(media)
        assert x.shape == shape and x.dtype == torch.float32
        assert -1.0 <= x.min() and x.max() <= 1.0


def test_recipe_runs_and_round_trips(tmp_path):
    metrics = recipe.build(tmp_path, steps=2, batch_size=4, pool=8, eval_samples=6,
                           tokenizer_dir=require_component("tokenizer"))
    assert set(metrics) >= {"image_to_text_top1", "audio_to_text_top1", "video_to_text_top1"}
    model = ShapeBindModel.from_pretrained(tmp_path, dtype=torch.float32)
    emb = model.embed("image", preprocess([world.sample("image", 0)[1]]))
    assert emb.shape == (1, model.config.projection_dim)
    assert torch.allclose(emb.norm(dim=-1), torch.ones(1), atol=1e-4)
