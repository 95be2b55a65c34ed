"""``omniweave data embed --workers N``: caption embeddings from N processes, merged in order,
equal to one process's."""

import json

import pytest
import tiny
import torch

from omniweave.cli import main
from omniweave.config import DecoderConfig, load_preset
from omniweave.decoders import build_decoder
from omniweave.nano import world
from omniweave.training.data import TensorCache


@pytest.mark.slow
def test_two_workers_fill_the_caption_cache(tiny_models, tmp_path):
    world.write_pairs(tmp_path / "pairs", "image", 5, seed=2)
    tree = tiny.tiny_preset(tiny_models, **{"2": {
        "data": [str(tmp_path / "pairs" / "cc3m.json")], "pair_task": "t2x",
        "trainable": {"output_projectors": "full"}}})
    tree["modalities"] = {"image": tree["modalities"]["image"]}
    preset = tiny.write_preset(tree, tmp_path / "tiny.yaml")
    data = tmp_path / "data"
    assert main(["data", "embed", "--preset", str(preset), "--stage", "2", "--data-dir", str(data),
                 "--workers", "2"]) == 0
    (path,) = (data / "cache").glob("captions-image-*.safetensors")
    cache = TensorCache(path)
    captions = [p["caption"] for p in json.loads((tmp_path / "pairs" / "cc3m.json").read_text())]
    assert not cache.missing(captions)
    decoder = build_decoder(DecoderConfig(**load_preset(str(preset)).modalities["image"].decoder.__dict__))
    torch.testing.assert_close(cache.get(captions), decoder.caption_embeddings(captions),
                               rtol=1e-5, atol=1e-6)
