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


def _nano_data(args: argparse.Namespace) -> None:
    from omniweave.data.nano import write_nano_data

    seed = args.seed if args.seed is not None else (1 if args.split == "eval" else 0)
    n = args.n if args.n is not None else (6000 if args.split == "train" else 600)
    counts = write_nano_data(args.out, n, seed, split=args.split, progress=True)
    print(json.dumps({"data": str(Path(args.out) / f"{args.split}.json"), "seed": seed, **counts}))


def _nano_decode(args: argparse.Namespace) -> None:
    from omniweave.media import modality_of
    from omniweave.nano.decoders import decode_caption

    _quiet_loading()
    medium = decode_caption(args.caption, seed=args.seed, steps=args.steps,
                            guidance=args.guidance, expect=modality_of(args.out))
    print(medium.save(args.out))


def _load_model(args: argparse.Namespace):
    from omniweave.model import AnyToAny

    _quiet_loading()
    if args.model:
        return AnyToAny.from_pretrained(args.model, preset=args.preset if args.preset_given else None)
    return AnyToAny.from_preset(args.preset, args.set)


def _train(args: argparse.Namespace) -> None:
    from omniweave.config import load_preset
    from omniweave.training.trainer import train_stage

    _quiet_loading()
    cfg = load_preset(args.preset, args.set)
    summary = train_stage(cfg, args.stage, args.output, init=args.init, data_dir=args.data_dir,
                          steps=args.steps, seed=args.seed)
    print(json.dumps(summary))


def _data_embed(args: argparse.Namespace) -> None:
    from omniweave.config import load_preset
    from omniweave.model import AnyToAny
    from omniweave.training.data import StageData, load_examples
    from omniweave.training.trainer import default_data_dir

    _quiet_loading()
    cfg = load_preset(args.preset, args.set)
    data_dir = Path(args.data_dir) if args.data_dir else default_data_dir()
    model = AnyToAny.from_config(cfg)
    for name in args.stage or sorted(cfg.stages):
        data = StageData(model, load_examples(cfg.stages[name], data_dir), data_dir / "cache")
        print(json.dumps({"stage": name, "examples": len(data),
                          "features": {m: str(c.path) for m, c in data.features.items()},
                          "captions": {m: str(c.path) for m, c in data.captions.items()}}))


def _chat_media(args: argparse.Namespace) -> list:
    from omniweave.media import load_media

    return [load_media(path, modality) for modality, path in args.media]


def _chat(args: argparse.Namespace) -> None:
    from omniweave.llm import PLACEHOLDER

    media = _chat_media(args)  # bad media fail before the model loads
    model = _load_model(args)
    options = dict(seed=args.seed, temperature=args.temperature, top_p=args.top_p,
                   max_new_tokens=args.max_tokens)
    out_dir = Path(args.out_dir)
    head = "".join(PLACEHOLDER[m] + "\n" for m, _ in args.media)
    history: list[dict] = []
    given: list = []
    turn = 0

    def reply(prompt: str, new_media: list, new_head: str) -> None:
        nonlocal turn
        history.append({"role": "user", "content": new_head + prompt})
        given.extend(new_media)
        resp = model.generate(history, list(given), **options)
        history.append({"role": "assistant", "content": resp.raw})
        paths = resp.save(out_dir, stem=f"turn{turn}") if resp.media else []
        turn += 1
        if args.json:
            kinds = {".png": "image", ".wav": "audio", ".mp4": "video"}
            print(json.dumps({"text": resp.text, "media": [
                {"modality": kinds[p.suffix], "path": str(p)} for p in paths]}))
        else:
            print(resp.text)
            for p in paths:
                print(f"  -> {p}")

    if args.prompt:
        reply(args.prompt, media, head)
        return
    print("omniweave chat: type a message; /image P, /audio P, /video P attach media; "
          "/reset; /quit")
    pending, pending_head = media, head
    while True:
        try:
            line = input("> ").strip()
        except EOFError:
            return
        if not line:
            continue
        if line in ("/quit", "/exit"):
            return
        if line == "/reset":
            history.clear()
            given.clear()
            continue
        command, _, rest = line.partition(" ")
        if command in ("/image", "/audio", "/video"):
            from omniweave.media import load_media

            try:
                pending.append(load_media(rest.strip(), command[1:]))
            except OmniweaveError as e:
                print(f"error: {e}")
                continue
            pending_head += PLACEHOLDER[command[1:]] + "\n"
            continue
        try:
            reply(line, pending, pending_head)
        except OmniweaveError as e:
            print(f"error: {e}")
            history.pop()
        pending, pending_head = [], ""


def _eval(args: argparse.Namespace) -> None:
    from omniweave.eval.nano import evaluate, format_table

    model = _load_model(args)
    table = evaluate(model, n=args.n, tasks=tuple(args.tasks), seed=args.seed)
    print(json.dumps(table) if args.json else format_table(table))


class _MediaAction(argparse.Action):
    """--image/--audio/--video P, kept in the order given."""

    def __call__(self, parser, namespace, value, option_string=None):
        items = list(getattr(namespace, "media", None) or [])
        items.append((option_string.lstrip("-"), value))
        namespace.media = items


def _model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--preset", default=None, help="a preset (default nano: its trained model)")
    p.add_argument("--model", default=None, help="a checkpoint folder (omniweave train --output)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a preset field, e.g. modalities.image.decoder.steps=10")


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
    p = nano_sub.add_parser("data", help="write ShapeWorld instruction conversations + media")
    p.add_argument("--out", required=True, help="folder for <split>.json and media/<split>/")
    p.add_argument("--split", choices=["train", "eval"], default="train")
    p.add_argument("--n", type=int, default=None, help="records (default: 6000 train, 600 eval)")
    p.add_argument("--seed", type=int, default=None, help="default: 0 train, 1 eval")
    p.set_defaults(func=_nano_data)

    p = sub.add_parser("train", help="train one stage of an any-to-any model")
    p.add_argument("--preset", default="nano")
    p.add_argument("--stage", required=True, help="1, 2 or 3 (as the preset's stages name them)")
    p.add_argument("--output", required=True, help="folder for the stage's checkpoint and log")
    p.add_argument("--init", default=None, help="start from this checkpoint (the previous stage)")
    p.add_argument("--data-dir", default=None, help="where nano data and caches live")
    p.add_argument("--steps", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p.set_defaults(func=_train)

    p = sub.add_parser("chat", help="talk to a model: one prompt, or a REPL without one")
    _model_args(p)
    p.add_argument("prompt", nargs="?")
    for flag in ("--image", "--audio", "--video"):
        p.add_argument(flag, action=_MediaAction, metavar="PATH", help=f"attach a {flag[2:]} file")
    p.add_argument("--out-dir", default="chat-out")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--temperature", type=float, default=0.0)
    p.add_argument("--top-p", type=float, default=1.0)
    p.add_argument("--max-tokens", type=int, default=64)
    p.add_argument("--json", action="store_true", help='print {"text", "media": [...]}')
    p.set_defaults(func=_chat, media=[])

    p = sub.add_parser("eval", help="score an any-to-any model on held-out ShapeWorld")
    _model_args(p)
    p.add_argument("--n", type=int, default=150, help="cases per task")
    p.add_argument("--tasks", nargs="+", default=["x2t", "t2x", "x2x", "multi"],
                   choices=["x2t", "t2x", "x2x", "multi"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_eval)

    data_p = sub.add_parser("data", help="training data: caches")
    data_sub = data_p.add_subparsers(dest="data_command", required=True)
    p = data_sub.add_parser("embed", help="cache encoder features and caption embeddings ahead")
    p.add_argument("--preset", default="nano")
    p.add_argument("--stage", action="append", default=None)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p.set_defaults(func=_data_embed)

    p = sub.add_parser("demo", help="the main job on the nano default, written to a folder + HTML")
    p.add_argument("--out-dir", default="demo-out")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    args = build_parser().parse_args(argv)
    if hasattr(args, "preset") and hasattr(args, "model"):
        args.preset_given = args.preset is not None
        args.preset = args.preset or "nano"
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
