"""Full nano any-to-any training, all three stages from the nano components, timed.

Prints one row per stage (wall seconds, steps/s, final losses) and the total, with the time spent
writing the nano data and caching features counted in. Target on 2 CPU cores: <= 30 minutes.
Then, unless --no-eval, the held-out evaluation table (``omniweave eval``).

    python bench/train_nano.py [--out DIR] [--data-dir DIR] [--eval-n 150]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from omniweave.config import load_preset  # noqa: E402
from omniweave.training.trainer import train_stage  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="stage folders go here")
    parser.add_argument("--data-dir", type=Path, default=None, help="default: a fresh temp folder")
    parser.add_argument("--preset", default="nano")
    parser.add_argument("--stages", nargs="+", default=["1", "2", "3", "4"],
                        help="the stages to chain, in order (the any-to-any model's four)")
    parser.add_argument("--eval-n", type=int, default=150)
    parser.add_argument("--no-eval", action="store_true")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="nano-train-"))
    data_dir = args.data_dir or out / "data"
    cfg = load_preset(args.preset)
    rows, init, t_all = [], None, time.time()
    for name in args.stages:
        t0 = time.time()
        summary = train_stage(cfg, name, out / f"stage{name}", init=init, data_dir=data_dir)
        rows.append((name, time.time() - t0, summary))
        init = out / f"stage{name}"
    total = time.time() - t_all
    print(f"\n{'stage':<7}{'wall s':>9}{'train s':>9}{'steps':>7}{'steps/s':>9}  final losses")
    for name, wall, s in rows:
        losses = ", ".join(f"{k} {v:.4f}" for k, v in s["final_losses"].items())
        print(f"{name:<7}{wall:>9.0f}{s['seconds']:>9.0f}{s['steps']:>7}{s['steps_per_second']:>9.2f}"
              f"  {losses}")
    print(f"total: {total / 60:.1f} min (data, caches and all three stages); model: {init}")
    if not args.no_eval:
        from omniweave.eval.nano import evaluate, format_table
        from omniweave.model import AnyToAny

        print(format_table(evaluate(AnyToAny.from_pretrained(init), n=args.eval_n)))


if __name__ == "__main__":
    main()
