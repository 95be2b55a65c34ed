"""Interactive perception (LMEye) vs the one-pass model at the same media-token budget.

Measures, on the same held-out ShapeWorld cases: scene QA accuracy (by question kind), single-shape
QA accuracy, scene multiple choice (option likelihood and generated letter) and latency per
answer at batch 1, and prints one column per model.

    python bench/perception.py                                  # shipped model vs --baseline
    python bench/perception.py --interactive DIR --baseline DIR
    python bench/perception.py --train --out DIR [--steps1 N ... --steps4 N]   # train both, then measure

``--train`` runs the preset's stages for the interactive model and for the baseline
(``modalities.image.perception=off``: the same Q-Former budget, the same data, steps and
trainable map, no request round trip) and records their training time.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from omniweave.config import load_preset  # noqa: E402
from omniweave.eval.perception import compare, format_comparison  # noqa: E402
from omniweave.model import AnyToAny  # noqa: E402

BASELINE = ["modalities.image.perception=off"]


def _train(out: Path, data_dir: Path, overrides: list[str], steps: dict[str, int | None]) -> tuple[Path, float]:
    from omniweave.training.trainer import train_stage

    cfg = load_preset("nano-perception", overrides)
    init, t0 = None, time.time()
    interactive = any(m.perception == "interactive" for m in cfg.modalities.values())
    for name in sorted(cfg.stages):
        trains = {p for p, mode in cfg.stages[name].trainable.items() if mode != "frozen"}
        if steps.get(name) == 0 or (trains == {"perception"} and not interactive):
            continue  # the baseline has no perception to refit
        target = out / f"stage{name}"
        if not (target / "config.json").exists():
            train_stage(cfg, name, target, init=init, data_dir=data_dir, steps=steps.get(name))
        init = target
    return init, time.time() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interactive", default=None, help="checkpoint (default: the shipped one)")
    parser.add_argument("--baseline", default=None, help="checkpoint of the perception-off model")
    parser.add_argument("--train", action="store_true", help="train both first (into --out)")
    parser.add_argument("--out", type=Path, default=Path("perception-runs"))
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--steps1", type=int, default=None)
    parser.add_argument("--steps2", type=int, default=None)
    parser.add_argument("--steps3", type=int, default=None)
    parser.add_argument("--steps4", type=int, default=None)
    parser.add_argument("--n-scene", type=int, default=360)
    parser.add_argument("--n-single", type=int, default=200)
    parser.add_argument("--n-mc", type=int, default=150)
    parser.add_argument("--n-latency", type=int, default=40)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    seconds = {}
    if args.train:
        data_dir = args.data_dir or args.out / "data"
        steps = {"1": args.steps1, "2": args.steps2, "3": args.steps3, "4": args.steps4}
        interactive, seconds["interactive"] = _train(args.out / "interactive", data_dir, [], steps)
        baseline, seconds["baseline"] = _train(args.out / "baseline", data_dir, BASELINE, steps)
    else:
        interactive, baseline = args.interactive, args.baseline
    models = {}
    if baseline is None:
        parser.error("a baseline checkpoint is needed (--baseline DIR, or --train)")
    models["baseline"] = AnyToAny.from_pretrained(baseline)
    models["interactive"] = (AnyToAny.from_pretrained(interactive) if interactive
                             else AnyToAny.from_preset("nano-perception"))
    results = compare(models, n_scene=args.n_scene, n_single=args.n_single, n_mc=args.n_mc,
                      n_latency=args.n_latency)
    print(format_comparison(results, reference="baseline"))
    for name, s in seconds.items():
        print(f"training time, {name}: {s / 60:.1f} min")
    if args.json:
        args.json.write_text(json.dumps({"results": results, "train_seconds": seconds}, indent=1))


if __name__ == "__main__":
    main()
