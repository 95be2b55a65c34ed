"""Training steps/s with and without the caches, on the nano preset.

- feature cache: stage 1 with the frozen encoders' features read from the cache, vs the media
  decoded and encoded at every step;
- hidden-state cache: a projector-only stage (LLM and signal tokens frozen) trained from cached
  signal-token hidden states, vs running the LLM at every step.

    python bench/cache_speed.py [--steps 30] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402

from omniweave.config import load_preset  # noqa: E402
from omniweave.media import load_media  # noqa: E402
from omniweave.model import AnyToAny  # noqa: E402
from omniweave.nano import world  # noqa: E402
from omniweave.training.data import HiddenStateData, StageData, load_examples, nano_pairs_dir  # noqa: E402


def steps_per_second(model, params, make_batch, steps: int) -> float:
    opt = torch.optim.AdamW(params, lr=1e-4)
    rng = random.Random(0)
    t0 = time.time()
    for _ in range(steps):
        losses = model(**make_batch(rng))
        opt.zero_grad()
        (losses["lm"] + losses["l2"]).backward()
        opt.step()
    return steps / (time.time() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--pairs", type=int, default=200, help="pairs per modality")
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="nano-cache-bench-"))
    for modality in ("image", "audio", "video"):
        if not (nano_pairs_dir(data_dir) / world.PAIR_FORMATS[modality][0]).exists():
            world.write_pairs(nano_pairs_dir(data_dir), modality, args.pairs, seed=0)
    cfg = load_preset("nano", ["stages.2.trainable={output_projectors: full}", "stages.2.lm_weight=0"])
    model = AnyToAny.from_config(cfg)
    rows = []

    stage = cfg.stages["1"]
    params = model.set_trainable(stage)
    data = StageData(model, load_examples(stage, data_dir), data_dir / "cache")
    pick = lambda rng: [rng.randrange(len(data)) for _ in range(stage.batch_size)]  # noqa: E731

    def uncached(rng):
        idx = pick(rng)
        batch = data.batch(idx)
        media = [load_media(p, m) for i in idx for m, p in data.examples[i].media]
        batch["media"] = model.encode_media(media)  # decode + encode every step
        return batch

    rows.append(("stage 1 (input projectors)", "feature cache",
                 steps_per_second(model, params, lambda rng: data.batch(pick(rng)), args.steps),
                 steps_per_second(model, params, uncached, args.steps)))

    stage = cfg.stages["2"]
    params = model.set_trainable(stage)
    data = StageData(model, load_examples(stage, data_dir), data_dir / "cache")
    hidden = HiddenStateData(data)
    rows.append(("projector-only stage 2", "hidden-state cache",
                 steps_per_second(model, params,
                                  lambda rng: hidden.batch([rng.randrange(len(hidden))
                                                            for _ in range(stage.batch_size)]),
                                  args.steps),
                 steps_per_second(model, params, lambda rng: data.batch(pick(rng)), args.steps)))
    print(f"\n{'stage':<28}{'cache':<20}{'cached steps/s':>15}{'uncached':>10}{'speed-up':>10}")
    for name, cache, fast, slow in rows:
        print(f"{name:<28}{cache:<20}{fast:>15.2f}{slow:>10.2f}{fast / slow:>9.1f}x")


if __name__ == "__main__":
    main()
