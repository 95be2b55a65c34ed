"""Two CPU processes (gloo DDP under ``accelerate launch``) train like one process on the same
global batch: the loss trajectories match.

``accelerate launch --cpu`` runs a single process; two CPU processes come from the multi-process
launcher (``--multi_gpu``) on a machine whose GPUs are hidden: each builds an
``Accelerator(cpu=True)`` and joins a gloo process group."""

import csv
import os
import subprocess
import sys

import tiny

from omniweave.config import load_preset
from omniweave.nano import world
from omniweave.training.trainer import train_stage


def _losses(path):
    return [float(r["lm"]) for r in csv.DictReader(path.open())]


def test_two_processes_match_one_on_the_same_global_batch(tiny_models, tmp_path):
    world.write_pairs(tmp_path / "pairs", "image", 8, seed=1)
    tree = tiny.tiny_preset(tiny_models, **{"1": {
        "data": [str(tmp_path / "pairs" / "cc3m.json")], "trainable": {"input_projectors": "full"},
        "l2_weight": 0.0, "lr": 0.02, "warmup": 0, "steps": 3, "checkpoint_every": 100}})
    tree["modalities"] = {"image": tree["modalities"]["image"]}
    preset = tiny.write_preset(tree, tmp_path / "tiny.yaml")
    data = tmp_path / "data"

    one = train_stage(load_preset(str(preset), ["stages.1.batch_size=4"]), "1", tmp_path / "one",
                      data_dir=data, progress=False)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false",
           "CUDA_VISIBLE_DEVICES": ""}
    run = subprocess.run(
        [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
         "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
         "-m", "omniweave.train", "--preset", str(preset), "--stage", "1",
         "--output", str(tmp_path / "two"), "--data-dir", str(data), "--set", "stages.1.batch_size=2"],
        env=env, capture_output=True, text=True, timeout=500)
    assert run.returncode == 0, run.stderr[-3000:]
    a, b = _losses(tmp_path / "one" / "losses.csv"), _losses(tmp_path / "two" / "losses.csv")
    assert len(a) == len(b) == 3 and one["steps"] == 3
    assert a[0] != a[-1]  # it trains
    for x, y in zip(a, b, strict=True):
        assert abs(x - y) <= 1e-4 * abs(x), (a, b)
    # two summaries: two processes ran (one process on half the batch would follow another path)
    assert run.stdout.count('"stage": "1"') == 2
    assert (tmp_path / "two" / "config.json").exists()


def test_accumulation_and_mixed_precision_run(tiny_models, tmp_path):
    world.write_pairs(tmp_path / "pairs", "image", 4, seed=1)
    tree = tiny.tiny_preset(tiny_models, **{"1": {
        "data": [str(tmp_path / "pairs" / "cc3m.json")], "trainable": {"input_projectors": "full"},
        "l2_weight": 0.0, "steps": 2, "batch_size": 2, "gradient_accumulation_steps": 2,
        "mixed_precision": "bf16"}})
    tree["modalities"] = {"image": tree["modalities"]["image"]}
    preset = tiny.write_preset(tree, tmp_path / "tiny.yaml")
    summary = train_stage(load_preset(str(preset)), "1", tmp_path / "out", data_dir=tmp_path / "d",
                          progress=False)
    assert summary["steps"] == 2 and len(_losses(tmp_path / "out" / "losses.csv")) == 2


def test_the_shipped_accelerate_configs_load():
    from pathlib import Path

    from accelerate.commands.config.config_args import load_config_from_file

    import omniweave

    folder = Path(omniweave.__file__).parent / "configs" / "accelerate"
    kinds = {p.stem: load_config_from_file(str(p)).distributed_type.value for p in folder.glob("*.yaml")}
    assert kinds == {"ddp": "MULTI_GPU", "fsdp": "FSDP", "deepspeed_zero2": "DEEPSPEED",
                     "deepspeed_zero3": "DEEPSPEED"}
