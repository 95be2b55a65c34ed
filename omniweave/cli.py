"""The ``omniweave`` command: a thin layer that parses arguments and calls the Python API."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from omniweave.errors import OmniweaveError


def _quiet_loading() -> None:
    """No per-component loading bars from transformers/diffusers in user-facing commands."""
    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    diffusers_logging.disable_progress_bar()
    transformers_logging.disable_progress_bar()


def _world_render(args: argparse.Namespace) -> None:
    from omniweave.media import MODALITY_SUFFIXES, modality_of
    from omniweave.nano import world

    spec = world.parse_caption(args.caption)
    if modality_of(args.out) != spec.modality:
        raise OmniweaveError(f"{args.out}: the caption describes {spec.modality}; write it to "
                             + " or ".join(MODALITY_SUFFIXES[spec.modality]))
    medium = world.render(spec, args.seed)
    print(medium.save(args.out))


def _world_pairs(args: argparse.Namespace) -> None:
    from omniweave.nano import world

    for modality in args.modality:
        print(world.write_pairs(args.out, modality, args.n, args.seed))


def _nano_build(args: argparse.Namespace) -> None:
    from omniweave.nano.build import build_component
    from omniweave.nano.components import COMPONENTS

    for name in args.components or COMPONENTS:
        metrics = build_component(name, root=args.root, seed=args.seed, steps=args.steps,
                                  device=args.device)
        print(json.dumps({"component": name, **metrics}))


def _nano_eval(args: argparse.Namespace) -> None:
    from omniweave.nano.build import evaluate_component
    from omniweave.nano.components import COMPONENTS

    for name in args.components or COMPONENTS:
        options = {"n": args.n} if name not in ("tokenizer",) else {}
        print(json.dumps({"component": name, **evaluate_component(name, root=args.root, **options)}))


def _nano_decode(args: argparse.Namespace) -> None:
    from omniweave.media import modality_of
    from omniweave.nano.decoders import decode_caption

    _quiet_loading()
    medium = decode_caption(args.caption, seed=args.seed, steps=args.steps,
                            guidance=args.guidance, expect=modality_of(args.out))
    print(medium.save(args.out))


def _demo(args: argparse.Namespace) -> None:
    from omniweave.demo import run_demo

    _quiet_loading()
    page = run_demo(Path(args.out_dir), seed=args.seed)
    print(f"open {page}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="omniweave", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    world_p = sub.add_parser("world", help="ShapeWorld: render ground truth, write pair data")
    world_sub = world_p.add_subparsers(dest="world_command", required=True)
    p = world_sub.add_parser("render", help="render the ground truth of a canonical caption")
    p.add_argument("--caption", required=True)
    p.add_argument("--out", required=True, help=".png, .wav, .mp4 or .gif")
    p.add_argument("--seed", type=int, default=None, help="vary nuisances (default: canonical)")
    p.set_defaults(func=_world_render)
    p = world_sub.add_parser("pairs", help="write cc3m/audiocap/webvid-style caption pairs")
    p.add_argument("--modality", nargs="+", default=["image", "audio", "video"],
                   choices=["image", "audio", "video"])
    p.add_argument("--n", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True)
    p.set_defaults(func=_world_pairs)

    nano_p = sub.add_parser("nano", help="the nano components: build, evaluate, decode")
    nano_sub = nano_p.add_subparsers(dest="nano_command", required=True)
    p = nano_sub.add_parser("build", help="train components from scratch (default: all, in order)")
    p.add_argument("components", nargs="*")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, default=None, help="override the recipe's step count")
    p.add_argument("--device", default="auto")
    p.add_argument("--root", type=Path, default=None, help="build here instead of the shipped folder")
    p.set_defaults(func=_nano_build)
    p = nano_sub.add_parser("eval", help="figures of built components on held-out seeds")
    p.add_argument("components", nargs="*")
    p.add_argument("--n", type=int, default=200)
    p.add_argument("--root", type=Path, default=None)
    p.set_defaults(func=_nano_eval)
    p = nano_sub.add_parser("decode", help="generate a medium from a caption with a nano decoder")
    p.add_argument("--caption", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--guidance", type=float, default=4.0)
    p.set_defaults(func=_nano_decode)

    p = sub.add_parser("demo", help="the main job on the nano default, written to a folder + HTML")
    p.add_argument("--out-dir", default="demo-out")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except OmniweaveError as e:
        print(f"omniweave: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
