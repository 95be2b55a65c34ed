import csv
import json

import pytest

from omniweave.config import load_preset
from omniweave.errors import InputError
from omniweave.model import AnyToAny
from omniweave.nano import world
from omniweave.training import trainer
from omniweave.training.data import StageData, load_examples, nano_pairs_dir


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """A tiny nano data folder: 12 pairs per modality, already where ``nano:pairs`` looks."""
    root = tmp_path_factory.mktemp("nano-data")
    for modality in ("image", "audio", "video"):
        world.write_pairs(nano_pairs_dir(root), modality, 12, seed=3)
    return root


def test_stage_data_batches_features_and_targets(fresh_model, data_dir):
    cfg = load_preset("nano")
    data = StageData(fresh_model, load_examples(cfg.stages["2"], data_dir), data_dir / "cache")
    assert len(data) == 36 and not data.features  # t2x: media are outputs, not inputs
    batch = data.batch([0, 13, 30])
    (rows, positions, target) = batch["outputs"]["image"]
    assert target.shape[1:] == fresh_model.decoders["image"].conditioning_shape
    assert positions.shape[1] == 4
    x2t = StageData(fresh_model, load_examples(cfg.stages["1"], data_dir), data_dir / "cache")
    assert set(x2t.features) == {"image", "audio", "video"}
    assert (data_dir / "cache").is_dir()


def test_a_stage_trains_saves_and_resumes(data_dir, tmp_path, monkeypatch):
    cfg = load_preset("nano", ["stages.1.checkpoint_every=2", "stages.1.batch_size=4"])
    out = tmp_path / "stage1"
    calls = {"n": 0}
    real_append = trainer._append_log

    def interrupt_at_step_3(path, step, losses, lr):
        real_append(path, step, losses, lr)
        calls["n"] += 1
        if step == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(trainer, "_append_log", interrupt_at_step_3)
    with pytest.raises(KeyboardInterrupt):
        trainer.train_stage(cfg, "1", out, data_dir=data_dir, steps=4, progress=False)
    assert (out / "checkpoint" / "trainer_state.pt").exists()
    monkeypatch.setattr(trainer, "_append_log", real_append)
    summary = trainer.train_stage(cfg, "1", out, data_dir=data_dir, steps=4, progress=False)
    assert summary["steps"] == 4 and not (out / "checkpoint").exists()
    steps = [int(r["step"]) for r in csv.DictReader((out / "losses.csv").open())]
    assert steps == [1, 2, 3, 4]  # step 3 ran twice; the log keeps it once
    meta = json.loads((out / "config.json").read_text())
    assert meta["stages"] == ["1"]
    model = AnyToAny.from_pretrained(out)
    assert not model.lora_enabled
    with pytest.raises(InputError, match="already holds a trained stage"):
        trainer.train_stage(cfg, "1", out, data_dir=data_dir, steps=4, progress=False)


def test_stage_3_saves_a_lora_adapter(data_dir, tmp_path):
    cfg = load_preset("nano", ["stages.3.data=[nano:pairs]", "stages.3.batch_size=2"])
    out = tmp_path / "stage3"
    trainer.train_stage(cfg, "3", out, data_dir=data_dir, steps=2, progress=False)
    assert (out / "lora" / "adapter_config.json").exists()
    assert AnyToAny.from_pretrained(out).lora_enabled


def test_unknown_stage_is_named():
    with pytest.raises(InputError, match="has no stage '9'"):
        trainer.train_stage(load_preset("nano"), "9", "/tmp/never")


def test_projector_only_stage_trains_from_cached_hidden_states(fresh_model, data_dir, tmp_path):
    import torch

    from omniweave.training.data import HiddenStateData

    cfg = load_preset("nano", ["stages.2.trainable={output_projectors: full}", "stages.2.lm_weight=0"])
    data = StageData(fresh_model, load_examples(cfg.stages["2"], data_dir), data_dir / "cache")
    cached = HiddenStateData(data)
    assert len(cached) == 36
    # the cached path gives the same L2 as the full forward pass on the same outputs
    full = fresh_model(**data.batch([0]))["l2"]
    index = [i for i, (m, k) in enumerate(cached.index) if m == data.items[0].outputs[0].modality][0]
    fast = fresh_model(**cached.batch([index]))["l2"]
    torch.testing.assert_close(full, fast, rtol=1e-4, atol=1e-5)
    summary = trainer.train_stage(cfg, "2", tmp_path / "s2", data_dir=data_dir, steps=3, progress=False)
    assert summary["steps"] == 3


def test_optional_diffusion_loss_reaches_the_output_projector(fresh_model, data_dir):
    cfg = load_preset("nano", ["stages.2.diffusion_weight=0.5"])
    data = StageData(fresh_model, load_examples(cfg.stages["2"], data_dir), data_dir / "cache",
                     target_media=True)
    fresh_model.zero_grad()
    fresh_model.output_projectors.requires_grad_(True)
    losses = fresh_model(**data.batch([0, 12, 24]))
    assert set(losses) == {"lm", "l2", "diffusion"} and losses["diffusion"] > 0
    losses["diffusion"].backward()
    grads = [p.grad for p in fresh_model.output_projectors.parameters() if p.grad is not None]
    assert grads and any(g.abs().sum() > 0 for g in grads)
    assert all(p.grad is None for p in fresh_model.decoders["image"].pipe.unet.parameters())
    fresh_model.output_projectors.requires_grad_(False)
    fresh_model.zero_grad()
