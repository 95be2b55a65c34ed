"""Train one stage of an AnyToAny: ``train_stage(cfg, "1", output)``.

Runs on accelerate (a plain ``python`` run is one process; ``accelerate launch --config_file
omniweave/configs/accelerate/<ddp|fsdp|deepspeed_zero2|deepspeed_zero3>.yaml -m omniweave.train``
gives DDP/FSDP/DeepSpeed). Each micro-step draws one global batch of ``batch_size`` x processes
examples, the same on every process, and each process takes its own slice; an optimiser step
accumulates ``gradient_accumulation_steps`` of them, in ``mixed_precision``. The logged losses are
the global batch's. Every ``checkpoint_every`` steps the trained weights and
the optimiser state go to ``<output>/checkpoint`` (the weights atomically, the loop state last); a
run that finds one resumes from it. Under FSDP or ZeRO-3 the weights are gathered from every rank
(``accelerator.get_state_dict``) and the sharded optimiser state goes through
``accelerator.save_state`` / ``load_state``. Losses go to ``<output>/losses.csv``; the finished stage is ``<output>`` itself, loadable with
``AnyToAny.from_pretrained``.
"""

from __future__ import annotations

import csv
import json
import os
import random
import shutil
import time
from pathlib import Path

import torch
from tqdm import tqdm

from omniweave.config import ModelConfig
from omniweave.errors import InputError
from omniweave.files import atomic_path
from omniweave.model import CONFIG_FILE, AnyToAny
from omniweave.processor import IGNORE
from omniweave.training.data import HiddenStateData, RequestStateData, StageData, load_examples
from omniweave.training.schedule import warmup_cosine

CHECKPOINT = "checkpoint"
STATE_FILE = "trainer_state.pt"
SHARDED_STATE = "sharded"  # accelerate.save_state under FSDP / ZeRO-3: every rank's optimiser shard
LOSSES = "losses.csv"


def default_data_dir() -> Path:
    return Path.home() / ".cache" / "omniweave" / "nano-data"


def _build_model(cfg: ModelConfig, init: Path | None, resume_from: Path | None) -> AnyToAny:
    if resume_from is not None:
        return AnyToAny.from_pretrained(resume_from, preset=cfg.name)
    if init is not None:  # the checkpoint's weights in this run's model (its settings apply)
        return AnyToAny.from_pretrained(init, preset=cfg.name, config=cfg)
    return AnyToAny.from_config(cfg)


def train_stage(cfg: ModelConfig, stage_name: str, output: str | Path, *,
                init: str | Path | None = None, data_dir: str | Path | None = None,
                steps: int | None = None, seed: int = 0, progress: bool = True,
                cache_hidden: bool = True) -> dict:
    """Train stage ``stage_name`` of ``cfg`` into ``output``; returns its summary.

    A stage that trains only the output projectors (no LM loss) trains them from cached
    hidden states, and one that trains only perception (no LM loss) from cached request states,
    unless ``cache_hidden`` is off.
    """
    if stage_name not in cfg.stages:
        raise InputError(f"preset {cfg.name!r} has no stage {stage_name!r}; it has "
                         + ", ".join(sorted(cfg.stages)))
    stage = cfg.stages[stage_name]
    total = steps or stage.steps
    output = Path(output)
    ckpt = output / CHECKPOINT
    resume = ckpt if (ckpt / STATE_FILE).exists() else None
    if (output / CONFIG_FILE).exists() and resume is None:
        raise InputError(f"{output} already holds a trained stage; choose another --output")
    data_dir = Path(data_dir) if data_dir else default_data_dir()

    accelerator = _accelerator(stage)
    model = _build_model(cfg, Path(init) if init else None, resume)
    params = model.set_trainable(stage)
    if not params:
        raise InputError(f"stage {stage_name}: its trainable map trains nothing")
    with accelerator.main_process_first():  # the main process fills the caches, the others read them
        examples = load_examples(stage, data_dir, seed)
        data = StageData(model, examples, data_dir / "cache", target_media=stage.diffusion_weight > 0)
        trained_parts = {part for part, mode in stage.trainable.items() if mode != "frozen"}
        if (trained_parts == {"output_projectors"} and stage.lm_weight == 0 and cache_hidden
                and stage.diffusion_weight == 0):
            data = HiddenStateData(data)
        elif trained_parts == {"perception"} and stage.lm_weight == 0 and cache_hidden:
            data = RequestStateData(data)
    opt = torch.optim.AdamW(params, lr=stage.lr, weight_decay=0.0)
    sched = warmup_cosine(opt, total, warmup=stage.warmup, floor=0.1)
    start = 0
    # one global batch per micro-step, drawn alike by every process, each taking its own slice:
    # N processes x batch_size is the same batch one process draws with N x batch_size
    rng = random.Random(seed)
    world, rank, bs = accelerator.num_processes, accelerator.process_index, stage.batch_size
    sharded = _sharded(accelerator)
    if resume is not None:
        state = torch.load(resume / STATE_FILE, weights_only=False)
        if not sharded:  # sharded optimiser state comes back through accelerate, below
            opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        rng.setstate(state["rng"])
        start = state["step"]
        print(f"resuming stage {stage_name} at step {start} from {resume}")
    model, opt = accelerator.prepare(model, opt)
    if resume is not None and sharded:
        accelerator.load_state(str(resume / SHARDED_STATE))
    core: AnyToAny = accelerator.unwrap_model(model)
    core.train()
    output.mkdir(parents=True, exist_ok=True)
    log_path = output / LOSSES
    if accelerator.is_main_process:
        _truncate_log(log_path, start)
    n_trainable = sum(p.numel() for p in params)
    t0 = time.time()
    bar = tqdm(range(start, total), desc=f"stage {stage_name}", disable=not progress or not
               accelerator.is_main_process, initial=start, total=total, mininterval=2)
    last = {}
    accumulate = stage.gradient_accumulation_steps
    for step in bar:
        sums: dict[str, float] = {}
        for _ in range(accumulate):
            picks = (data.pick(rng, bs * world) if stage.group_by_length and hasattr(data, "pick")
                     else [rng.randrange(len(data)) for _ in range(bs * world)])
            batch = _to(data.batch(picks[rank * bs:(rank + 1) * bs]), accelerator.device)
            with accelerator.accumulate(model):
                losses = model(**batch)
                if world > 1 and "labels" in batch:  # token-weighted, as one process would weigh it
                    losses["lm"] = losses["lm"] * _token_share(accelerator, batch["labels"])
                loss = stage.lm_weight * losses["lm"] + stage.l2_weight * losses["l2"]
                if "diffusion" in losses:
                    loss = loss + stage.diffusion_weight * losses["diffusion"]
                if "detail" in losses:
                    loss = loss + stage.detail_weight * losses["detail"]
                accelerator.backward(loss)
                if accelerator.sync_gradients:
                    accelerator.clip_grad_norm_(params, 1.0)
                opt.step()
                opt.zero_grad(set_to_none=True)
            for k, v in losses.items():  # the mean over processes: the global batch's loss
                v = v.detach().float().to(accelerator.device)
                sums[k] = sums.get(k, 0.0) + accelerator.reduce(v, "mean").item()
        sched.step()
        last = {k: round(v / accumulate, 5) for k, v in sums.items()}
        bar.set_postfix(**last)
        if accelerator.is_main_process:
            _append_log(log_path, step + 1, last, sched.get_last_lr()[0])
        done = step + 1
        if done % stage.checkpoint_every == 0 and done < total:  # every rank calls it
            _checkpoint(accelerator, model, ckpt, opt, sched, rng, done, stage_name)
    seconds = time.time() - t0
    core.eval()
    summary = {"stage": stage_name, "steps": total, "trainable_parameters": n_trainable,
               "seconds": round(seconds, 1),
               "steps_per_second": round((total - start) / max(seconds, 1e-9), 3),
               "final_losses": last, "examples": len(data)}
    full = _gathered(accelerator, model)
    if accelerator.is_main_process:
        stages_done = _stages_done(init) + [stage_name]
        _save_final(core, output, {"stages": stages_done, "last_stage": summary}, full)
        shutil.rmtree(ckpt, ignore_errors=True)
    accelerator.wait_for_everyone()
    return summary


def _accelerator(stage):
    """An Accelerator for a stage: its mixed precision and gradient accumulation; under DDP,
    parameters a batch does not reach (a modality it lacks) are allowed."""
    from accelerate import Accelerator, DistributedDataParallelKwargs

    cpu = not torch.cuda.is_available()
    if cpu and stage.mixed_precision == "fp16":
        raise InputError("mixed_precision fp16 needs a GPU; use bf16 or no on the CPU")
    if stage.gradient_accumulation_steps < 1:
        raise InputError("gradient_accumulation_steps must be at least 1")
    if int(os.environ.get("WORLD_SIZE", "1")) == 1:  # one process may train stages one after another,
        from accelerate.state import AcceleratorState, GradientState  # each with its own settings

        AcceleratorState._reset_state()
        GradientState._reset_state()
    accelerator = Accelerator(
        cpu=cpu, mixed_precision=stage.mixed_precision,
        gradient_accumulation_steps=stage.gradient_accumulation_steps,
        kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=True)])
    if accelerator.state.deepspeed_plugin is not None:  # no DataLoader tells DeepSpeed the batch
        accelerator.state.deepspeed_plugin.deepspeed_config["train_micro_batch_size_per_gpu"] = stage.batch_size
    return accelerator


def _token_share(accelerator, labels: torch.Tensor) -> torch.Tensor:
    """This process's labelled tokens over the processes' mean: DDP then averages the LM loss
    into the global batch's per-token mean."""
    n = (labels[:, 1:] != IGNORE).sum().float()
    return n / accelerator.reduce(n.clone(), "mean").clamp_min(1.0)


def _stages_done(init: str | Path | None) -> list[str]:
    if init is None:
        return []
    return json.loads((Path(init) / CONFIG_FILE).read_text()).get("stages", [])


def _sharded(accelerator) -> bool:
    """Whether parameters are sharded across processes (FSDP, DeepSpeed ZeRO-3)."""
    from accelerate.utils import DistributedType

    ds = accelerator.state.deepspeed_plugin
    return accelerator.distributed_type == DistributedType.FSDP or (ds is not None and ds.zero_stage == 3)


def _gathered(accelerator, model) -> dict[str, torch.Tensor] | None:
    """The full state dict when parameters are sharded: every rank must call this, and the main
    process gets the whole model. ``None`` otherwise: the unwrapped model on the main process
    already holds everything."""
    return accelerator.get_state_dict(model) if _sharded(accelerator) else None


def _save_final(model: AnyToAny, output: Path, meta: dict, state_dict: dict | None = None) -> None:
    """The finished stage's files land in ``output`` beside its log."""
    tmp = output.with_name(output.name + ".final")
    model.save_pretrained(tmp, extra_meta=meta, state_dict=state_dict)
    for item in tmp.iterdir():
        target = output / item.name
        if target.is_dir():
            shutil.rmtree(target)
        item.replace(target)
    tmp.rmdir()


def _checkpoint(accelerator, model, ckpt: Path, opt, sched, rng: random.Random, step: int,
                stage: str) -> None:
    """The weights (gathered from every rank when sharded), the optimiser state (through
    accelerate when sharded) and, last, the loop's own state: a checkpoint without it is not
    resumed. Every process must call this."""
    sharded = _sharded(accelerator)
    full = _gathered(accelerator, model)
    if accelerator.is_main_process:
        accelerator.unwrap_model(model).save_pretrained(
            ckpt, extra_meta={"checkpoint_step": step, "stage": stage}, state_dict=full)
    if sharded:  # each rank writes its optimiser shard
        accelerator.wait_for_everyone()
        accelerator.save_state(str(ckpt / SHARDED_STATE))
    if accelerator.is_main_process:
        with atomic_path(ckpt / STATE_FILE) as tmp:
            torch.save({"optimizer": None if sharded else opt.state_dict(),
                        "scheduler": sched.state_dict(), "rng": rng.getstate(), "step": step}, tmp)
    accelerator.wait_for_everyone()


def _to(batch: dict, device: torch.device) -> dict:
    if isinstance(batch, torch.Tensor):
        return batch.to(device)
    if isinstance(batch, dict):
        return {k: _to(v, device) for k, v in batch.items()}
    if isinstance(batch, tuple):
        return tuple(_to(v, device) for v in batch)
    return batch


def _truncate_log(path: Path, start: int) -> None:
    if not path.exists():
        return
    rows = list(csv.reader(path.open()))
    keep = [rows[0]] + [r for r in rows[1:] if int(r[0]) <= start] if rows else []
    with atomic_path(path) as tmp, tmp.open("w", newline="") as f:
        csv.writer(f).writerows(keep)


def _append_log(path: Path, step: int, losses: dict, lr: float) -> None:
    new = not path.exists()
    with path.open("a", newline="") as f:
        w = csv.writer(f)
        if new:
            w.writerow(["step", *losses, "lr"])
        w.writerow([step, *losses.values(), f"{lr:.3g}"])
