"""Build cost of the nano components from scratch on this machine (CPU unless --device says).

Prints one row per component: wall seconds and its headline figures. Target on 2 CPU cores:
all components in <= 60 minutes (goal: 20).

    python bench/build_cost.py [--root DIR] [--device cpu] [COMPONENT ...]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from omniweave.nano.build import build_component  # noqa: E402
from omniweave.nano.components import COMPONENTS  # noqa: E402

HEADLINE = ("all_accuracy", "image_to_text_top1", "audio_to_text_top1", "video_to_text_top1",
            "qa_accuracy", "request_accuracy", "perplexity", "vocab_size")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("components", nargs="*", default=list(COMPONENTS))
    parser.add_argument("--root", type=Path, default=None)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    root = args.root or Path(tempfile.mkdtemp(prefix="nano-build-"))
    rows, total = [], 0.0
    for name in args.components:
        t0 = time.time()
        metrics = build_component(name, root=root, device=args.device)
        seconds = time.time() - t0
        total += seconds
        rows.append((name, seconds, {k: metrics[k] for k in HEADLINE if k in metrics}))
        print(json.dumps({"component": name, "seconds": round(seconds, 1), **metrics}), flush=True)
    print(f"\nnano build cost on {args.device} ({args.threads} threads), root {root}")
    print(f"{'component':<15} {'seconds':>8}  figures")
    for name, seconds, figures in rows:
        print(f"{name:<15} {seconds:>8.1f}  {json.dumps(figures)}")
    print(f"{'total':<15} {total:>8.1f}  ({total / 60:.1f} min)")


if __name__ == "__main__":
    main()
