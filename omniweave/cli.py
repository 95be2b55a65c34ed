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
    from omniweave.nano import scenes, world

    if scenes.is_scene_caption(args.caption):  # a two-shape scene (omniweave.nano.scenes)
        spec = scenes.parse_scene_caption(args.caption)
        if modality_of(args.out) != "image":
            raise OmniweaveError(f"{args.out}: a scene is an image; write it to "
                                 + " or ".join(MODALITY_SUFFIXES["image"]))
        print(scenes.render_scene(spec, args.seed).save(args.out))
        return
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
    if getattr(args, "tools", False):  # tool-use conversations (omniweave.data.tools)
        from omniweave.data.tools import write_tool_data

        counts = write_tool_data(args.out, n, seed, split=args.split)
        print(json.dumps({"data": str(Path(args.out) / f"{args.split}.json"), "seed": seed, **counts}))
        return
    counts = write_nano_data(args.out, n, seed, split=args.split, progress=True)
    print(json.dumps({"data": str(Path(args.out) / f"{args.split}.json"), "seed": seed, **counts}))


def _nano_decode(args: argparse.Namespace) -> None:
    from omniweave.media import modality_of
    from omniweave.nano.decoders import decode_caption

    _quiet_loading()
    medium = decode_caption(args.caption, seed=args.seed, steps=args.steps,
                            guidance=args.guidance, expect=modality_of(args.out))
    print(medium.save(args.out))


def _load_model(args: argparse.Namespace, tools: bool = False):
    """``--model DIR``, else the preset's model; with ``tools`` on the plain nano preset, the
    shipped nano tool model (the any-to-any model never learned to call tools)."""
    from omniweave.model import AnyToAny
    from omniweave.nano.components import WEIGHTS_DIR

    _quiet_loading()
    if args.model:
        return AnyToAny.from_pretrained(args.model, preset=args.preset if args.preset_given else None)
    shipped = WEIGHTS_DIR / "tools"
    if tools and args.preset == "nano" and not args.set and (shipped / "config.json").exists():
        return AnyToAny.from_pretrained(shipped, preset="nano")
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
        examples = load_examples(cfg.stages[name], data_dir)
        if args.workers > 1:  # caption embeddings across processes first; StageData then reads them
            from omniweave.training.data import caption_cache

            for m in cfg.modalities:
                caps = [o["caption"] for ex in examples for msg in ex.messages
                        for o in msg.get("outputs", []) if o["modality"] == m]
                if caps:
                    caption_cache(model, m, caps, data_dir / "cache", workers=args.workers)
        data = StageData(model, examples, data_dir / "cache")
        print(json.dumps({"stage": name, "examples": len(data),
                          "features": {m: str(c.path) for m, c in data.features.items()},
                          "captions": {m: str(c.path) for m, c in data.captions.items()}}))


def _data_prepare(args: argparse.Namespace) -> None:
    from omniweave.data.formats import prepare

    def dropped(index: int, reason: str) -> None:
        print(f"dropped {reason}")

    result = prepare(args.format, args.input, args.out, args.media_root, strict=args.strict,
                     task=args.task, seed=args.seed, verify_media=args.verify_media,
                     on_drop=dropped)
    counts = ", ".join(f"{kind} {n}" for kind, n in result.counts().most_common())
    print(f"kept {result.kept} records, dropped {len(result.dropped)}"
          + (f" ({counts})" if counts else "") + f" -> {result.out}")


def _doctor(args: argparse.Namespace) -> int:
    from omniweave.config import load_preset
    from omniweave.doctor import check, report

    cfg = load_preset(args.preset, args.set)
    checks = check(cfg)
    print(report(cfg, checks))
    return 0 if all(c.found for c in checks) else 1


def _chat_media(args: argparse.Namespace) -> list:
    from omniweave.media import load_media

    return [load_media(path, modality) for modality, path in args.media]


def _chat(args: argparse.Namespace) -> None:
    from omniweave.llm import PLACEHOLDER

    media = _chat_media(args)  # bad media fail before the model loads
    tools = None
    if args.tools:  # list the tools, and let the model call them
        from omniweave.tools.registry import ToolSet, load_entry_points

        load_entry_points()
        tools = ToolSet.of(args.allow.split(",") if args.allow else None)
        for t in tools.tools:
            print(f"tool {t.name}: {t.description}", file=sys.stderr)
    model = _load_model(args, tools=tools is not None)
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
        if tools is not None:
            from omniweave.model import Response
            from omniweave.tools.runtime import run_with_tools

            run = run_with_tools(model, history, list(given), tools=tools,
                                 **{**options, "max_new_tokens": max(options["max_new_tokens"], 128)})
            for r in run.results:
                print(f"  [{r}]", file=sys.stderr)
            history[:] = [m for m in run.messages if m["role"] != "system"]
            given[:] = run.all_media
            resp = Response(run.text, run.media, run.text)
        else:
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
    if args.tasks == ["scenes"] or (args.tasks is None and set(model.cfg.modalities) == {"image"}):
        _eval_scenes(model, args)  # an image-only model (nano-perception): scenes, single shapes, MC
        return
    tasks = args.tasks or ["x2t", "t2x", "x2x", "multi"]
    if "scenes" in tasks:
        raise OmniweaveError("--tasks scenes runs alone")
    table = evaluate(model, n=args.n, tasks=tuple(tasks), seed=args.seed)
    print(json.dumps(table) if args.json else format_table(table))


def _eval_scenes(model, args: argparse.Namespace) -> None:
    from omniweave.eval.perception import evaluate, format_comparison

    n = args.n
    results = evaluate(model, n_scene=2 * n, n_single=n, n_mc=n, n_latency=min(n, 40), seed=args.seed)
    name = Path(args.model).name if args.model else args.preset
    print(json.dumps(results) if args.json else format_comparison({name: results}))


def _eval_mc(args: argparse.Namespace) -> None:
    from omniweave.eval.multiple_choice import chance, evaluate_items, read_items

    items = read_items(args.data, args.media_root, args.limit)  # bad files fail before the model loads
    if not items:
        raise OmniweaveError(f"{args.data}: no items with an answer")
    model = _load_model(args)
    table = {**evaluate_items(model, items, batch=args.batch), "chance": chance(items)}
    if args.json:
        print(json.dumps(table))
        return
    print(f"{'':<28}{'n':>6}{'likelihood':>12}{'letter':>9}")
    print(f"{'all (chance ' + format(table['chance'], '.0%') + ')':<28}{table['n']:>6}"
          f"{table['likelihood']:>12.1%}{table['letter']:>9.1%}")
    for key, row in table.items():
        if isinstance(row, dict):
            print(f"{key[:27]:<28}{row['n']:>6}{row['likelihood']:>12.1%}{row['letter']:>9.1%}")


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


def _serving(module: str):
    """An omniweave.serving module, or a one-line error naming the missing extra."""
    import importlib

    try:
        return importlib.import_module(f"omniweave.serving.{module}")
    except ImportError as e:
        raise OmniweaveError(f"{e.name} is not installed: pip install 'omniweave[serve]'") from e


def _serve(args: argparse.Namespace) -> None:
    api = _serving("api")
    if args.max_batch < 1 or args.queue < 1:
        raise OmniweaveError("--max-batch and --queue must be at least 1")
    model = _load_model(args)
    settings = api.Settings(api_key=args.api_key or os.environ.get("OMNIWEAVE_API_KEY"),
                            allow_remote_media=args.allow_remote_media, max_batch=args.max_batch,
                            queue_size=args.queue, tools=_server_tools(args.tools, model))
    if settings.tools:
        print(f"the server runs these tools itself: {', '.join(settings.tools)}", file=sys.stderr)
    api.serve(model, settings, host=args.host, port=args.port)


def _server_tools(choice: str, model) -> list[str] | None:
    """``serve --tools``: "auto" (the default) runs every registered tool when the checkpoint was
    trained to call tools (its stages include ``tools``), else none; "all", "none" or names."""
    from omniweave.tools.registry import ToolSet, load_entry_points

    if choice == "none":
        return None
    load_entry_points()
    if choice == "auto":
        return ToolSet.of().names() if "tools" in getattr(model, "trained_stages", []) else None
    return ToolSet.of(None if choice == "all" else choice.split(",")).names()


def _ui(args: argparse.Namespace) -> None:
    ui = _serving("ui")
    if args.max_batch < 1:
        raise OmniweaveError("--max-batch must be at least 1")
    ui.launch(_load_model(args), host=args.host, port=args.port, max_batch=args.max_batch)


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
    p.add_argument("--tools", action="store_true",
                   help="tool-use conversations instead (omniweave.data.tools)")
    p.set_defaults(func=_nano_data)

    p = sub.add_parser("train", help="train one stage of an any-to-any model")
    p.add_argument("--preset", default="nano")
    p.add_argument("--stage", required=True, help="a stage the preset names (nano: 1 to 4, numbers, tools)")
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
    p.add_argument("--tools", action="store_true",
                   help="list the registered tools and let the model call them (omniweave.tools; "
                   "without --model, the nano preset uses the shipped nano tool model)")
    p.add_argument("--allow", default=None, metavar="NAME,NAME",
                   help="with --tools: only these tools (an allow-list)")
    p.set_defaults(func=_chat, media=[])

    p = sub.add_parser("eval", help="score an any-to-any model on held-out ShapeWorld")
    _model_args(p)
    p.add_argument("--n", type=int, default=150, help="cases per task")
    p.add_argument("--tasks", nargs="+", default=None, choices=["x2t", "t2x", "x2x", "multi", "scenes"],
                   help="default: x2t t2x x2x multi; scenes (two-shape scene QA, single-shape QA, "
                   "multiple choice, latency) for an image-only model such as nano-perception")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_eval)

    p = sub.add_parser("eval-mc", help="multiple choice (MMBench .tsv / SEED-Bench .json): "
                       "accuracy by option likelihood and by generated letter")
    _model_args(p)
    p.add_argument("--data", required=True, help="an MMBench .tsv or a SEED-Bench .json")
    p.add_argument("--media-root", default=None, help="SEED-Bench: the folder of its images")
    p.add_argument("--limit", type=int, default=None, help="the first N items only")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_eval_mc)

    data_p = sub.add_parser("data", help="training data: convert formats, fill caches")
    data_sub = data_p.add_subparsers(dest="data_command", required=True)
    p = data_sub.add_parser("embed", help="cache encoder features and caption embeddings ahead")
    p.add_argument("--preset", default="nano")
    p.add_argument("--stage", action="append", default=None)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--workers", type=int, default=1,
                   help="processes that compute caption embeddings (one GPU each where there are GPUs)")
    p.set_defaults(func=_data_embed)
    from omniweave.data.formats import FORMATS

    p = data_sub.add_parser("prepare", help="convert a dataset file to omniweave's conversation format")
    p.add_argument("--format", required=True, choices=sorted(FORMATS))
    p.add_argument("--input", required=True, help="the dataset file (.json, .jsonl; webdataset: .tar)")
    p.add_argument("--media-root", default=None,
                   help="where the records' media are (default: images/, audios/, videos/ beside the "
                        "file, else its folder); webdataset: where its media are extracted")
    p.add_argument("--out", required=True, help="OUT.jsonl (or .json)")
    p.add_argument("--strict", action="store_true", help="a bad record is an error (exit code 2)")
    p.add_argument("--task", choices=["x2t", "t2x"], default="x2t",
                   help="caption pairs: describe the medium (x2t) or make it (t2x)")
    p.add_argument("--seed", type=int, default=0, help="caption pairs: phrasing of the requests")
    p.add_argument("--verify-media", action="store_true",
                   help="decode every medium; unreadable ones drop their record")
    p.set_defaults(func=_data_prepare)

    p = sub.add_parser("doctor", help="is every component of a preset here? what to download where")
    p.add_argument("--preset", default="nano")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p.set_defaults(func=_doctor)

    p = sub.add_parser("demo", help="the main job on the nano default, written to a folder + HTML")
    p.add_argument("--out-dir", default="demo-out")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_demo)

    p = sub.add_parser("serve", help="an OpenAI-compatible HTTP API (needs the serve extra)")
    _model_args(p)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--api-key", default=None, help="require 'Authorization: Bearer KEY' "
                   "(default: $OMNIWEAVE_API_KEY, else none)")
    p.add_argument("--allow-remote-media", action="store_true",
                   help="accept http(s) media URLs (the server fetches them)")
    p.add_argument("--max-batch", type=int, default=8, help="requests per batch (1: one at a time)")
    p.add_argument("--queue", type=int, default=64, help="requests waiting at most; then 429")
    p.add_argument("--tools", default="auto", metavar="auto|all|none|NAME,...",
                   help="registered tools the server runs itself when a request brings no tools "
                   "of its own (default auto: all of them if the checkpoint was trained to call "
                   "tools, else none)")
    p.set_defaults(func=_serve)

    p = sub.add_parser("ui", help="a Gradio web chat (needs the serve extra)")
    _model_args(p)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=7860)
    p.add_argument("--max-batch", type=int, default=4)
    p.set_defaults(func=_ui)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    args = build_parser().parse_args(argv)
    if hasattr(args, "preset") and hasattr(args, "model"):
        args.preset_given = args.preset is not None
        args.preset = args.preset or "nano"
    try:
        code = args.func(args)
    except OmniweaveError as e:
        print(f"omniweave: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return code or 0


if __name__ == "__main__":
    sys.exit(main())
