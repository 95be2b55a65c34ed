"""A Gradio web chat with an any-to-any model: media in by upload, media out inline.

Like NExT-GPT's demo: the conversation is kept (per browser session), uploads of images, audio
and video join the turn they are sent with, generated media show in the chat, and sliders set
temperature, top-p, the decoders' guidance and steps. Video frames and audio length are fixed by
the nano decoders (8 frames at 4 fps, 1 s), so those sliders show the value, disabled. Requests
go through a ``Batcher`` (one worker thread owns the model). Gradio's analytics are off.
"""

from __future__ import annotations

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # before gradio is imported

import itertools  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import gradio as gr  # noqa: E402
import numpy as np  # noqa: E402

from omniweave.errors import InputError  # noqa: E402
from omniweave.llm import PLACEHOLDER  # noqa: E402
from omniweave.media import (  # noqa: E402
    MODALITY_SUFFIXES,
    Image,
    Media,
    Video,
    load_audio,
    load_media,
    modality_of,
)
from omniweave.serving.batcher import Batcher, Options, QueueFull  # noqa: E402

UPLOAD_SUFFIXES = [s for ss in MODALITY_SUFFIXES.values() for s in ss] + [".mp3"]
DISPLAY_SIDE = 256  # small generated images and videos are shown upscaled (nearest) to this
_SUFFIX = {"image": ".png", "audio": ".wav", "video": ".mp4"}
_HELP = ("Type a message; attach images, audio or video with the clip button. Ask it to "
         "describe what you attach, or to draw, play or animate something "
         "(e.g. *draw a large red circle on the left*, *play a pulsing high square tone*, "
         "*make a video of a green triangle moving up*).")


def _fixed_lengths(model: Any) -> dict[str, str]:
    """What the decoders fix: video frames and audio length, as slider notes."""
    cfg = getattr(model, "cfg", None)
    kinds = {m: mc.decoder.kind for m, mc in cfg.modalities.items()} if cfg is not None else {}
    notes = {}
    if kinds.get("video") == "nano-diffusion":
        from omniweave.nano.world import VIDEO_FPS, VIDEO_FRAMES

        notes["video"] = (VIDEO_FRAMES, f"fixed by nano's video decoder: {VIDEO_FRAMES} frames "
                                        f"at {VIDEO_FPS:g} fps")
    if kinds.get("audio") == "nano-diffusion":
        from omniweave.nano.world import AUDIO_SECONDS

        notes["audio"] = (AUDIO_SECONDS, f"fixed by nano's audio decoder: {AUDIO_SECONDS:g} s")
    return notes


def _for_display(medium: Media) -> Media:
    """Small images and videos upscaled (nearest) so that they are visible in the chat."""
    pixels = medium.pixels if isinstance(medium, Image) else getattr(medium, "frames", None)
    if pixels is None:
        return medium
    side = max(pixels.shape[-3], pixels.shape[-2])
    k = max(1, DISPLAY_SIDE // side)
    if k == 1:
        return medium
    big = np.repeat(np.repeat(pixels, k, axis=-3), k, axis=-2)
    return Image(big) if isinstance(medium, Image) else Video(big, medium.fps)


def _load(path: str) -> Media:
    """An uploaded file as a medium (the suffixes ``omniweave.media`` reads, and .mp3)."""
    if Path(path).suffix.lower() == ".mp3":
        return load_audio(path)
    return load_media(path, modality_of(path))


def _file_path(item: Any) -> str:
    return item if isinstance(item, str) else item.get("path") or item.get("name")


def build_ui(model: Any, batcher: Batcher | None = None, max_batch: int = 4,
             out_dir: str | Path | None = None) -> gr.Blocks:
    """The Gradio app; ``batcher`` (started here if not given) runs the model."""
    batcher = batcher or Batcher(model, max_batch=max_batch, queue_size=64).start()
    out = Path(out_dir or tempfile.mkdtemp(prefix="omniweave-ui-"))
    out.mkdir(parents=True, exist_ok=True)
    cfg = getattr(model, "cfg", None)
    first = next(iter(cfg.modalities.values())).decoder if cfg is not None else None
    fixed = _fixed_lengths(model)
    counter = itertools.count()

    def save(medium: Media) -> str:
        kind = medium.modality
        return str(_for_display(medium).save(out / f"{kind}-{next(counter)}{_SUFFIX[kind]}"))

    def respond(message: dict | str | None, state: dict | None, temperature: float, top_p: float,
                guidance: float, steps: float, seed: float, max_tokens: float):
        state = state or {"history": [], "media": [], "display": []}
        if isinstance(message, str):
            message = {"text": message, "files": []}
        text = ((message or {}).get("text") or "").strip()
        files = [_file_path(f) for f in (message or {}).get("files") or []]
        if not text and not files:
            return gr.MultimodalTextbox(value=None), state["display"], state
        try:
            media = [_load(f) for f in files]
            for p in PLACEHOLDER.values():
                if p in text:
                    raise InputError(f"the message may not contain {p}: attach media instead")
        except InputError as e:
            raise gr.Error(str(e)) from e
        head = "".join(PLACEHOLDER[m.modality] + "\n" for m in media)
        history = [*state["history"], {"role": "user", "content": head + text}]
        given = [*state["media"], *media]
        options = Options(max_new_tokens=int(max_tokens), temperature=float(temperature),
                          top_p=max(float(top_p), 0.01), steps=int(steps),
                          guidance=float(guidance))
        try:
            result = batcher.generate(history, given, options, seed=int(seed), timeout=600)
        except QueueFull as e:
            raise gr.Error(f"busy: {e}") from e
        except InputError as e:
            raise gr.Error(str(e)) from e
        resp = result.response
        display = list(state["display"])
        display += [{"role": "user", "content": {"path": f}} for f in files]
        if text:
            display.append({"role": "user", "content": text})
        display.append({"role": "assistant", "content": resp.text or "…"})
        display += [{"role": "assistant", "content": {"path": save(m)}} for m in resp.media]
        state = {"history": [*history, {"role": "assistant", "content": resp.raw}],
                 "media": given, "display": display}
        return gr.MultimodalTextbox(value=None), display, state

    def clear():
        return gr.MultimodalTextbox(value=None), [], {"history": [], "media": [], "display": []}

    with gr.Blocks(title="omniweave", analytics_enabled=False) as demo:
        gr.Markdown(f"## omniweave — any-to-any chat ({getattr(cfg, 'name', 'model')})\n{_HELP}")
        state = gr.State({"history": [], "media": [], "display": []})
        with gr.Row():
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(label="conversation", height=520, elem_id="chat")
                box = gr.MultimodalTextbox(
                    file_types=UPLOAD_SUFFIXES, file_count="multiple",
                    sources=["upload"], show_label=False, elem_id="prompt",
                    placeholder="Message (attach an image, audio or video with the clip)")
                clear_btn = gr.Button("Clear conversation", variant="secondary")
            with gr.Column(scale=1):
                temperature = gr.Slider(0.0, 2.0, value=0.0, step=0.05, label="temperature",
                                        info="0: greedy")
                top_p = gr.Slider(0.05, 1.0, value=1.0, step=0.05, label="top-p")
                guidance = gr.Slider(0.0, 15.0, value=getattr(first, "guidance", 4.0), step=0.5,
                                     label="guidance", info="the diffusion decoders' CFG scale")
                steps = gr.Slider(1, 100, value=getattr(first, "steps", 20), step=1,
                                  label="steps", info="diffusion steps")
                frames, frames_note = fixed.get("video", (8, "fixed by the video decoder"))
                gr.Slider(1, 64, value=frames, step=1, label="video frames", info=frames_note,
                          interactive=False)
                seconds, seconds_note = fixed.get("audio", (1.0, "fixed by the audio decoder"))
                gr.Slider(0.5, 30.0, value=seconds, step=0.5, label="audio length (s)",
                          info=seconds_note, interactive=False)
                seed = gr.Number(value=0, precision=0, label="seed", minimum=0)
                max_tokens = gr.Slider(8, 512, value=64, step=8, label="max new tokens")
        inputs = [box, state, temperature, top_p, guidance, steps, seed, max_tokens]
        box.submit(respond, inputs, [box, chatbot, state], api_name="chat",
                   concurrency_limit=max(1, batcher.max_batch))
        clear_btn.click(clear, None, [box, chatbot, state], api_name="clear")
    demo.batcher = batcher
    return demo


def launch(model: Any, host: str = "127.0.0.1", port: int = 7860, max_batch: int = 4,
           block: bool = True) -> gr.Blocks:
    """Serve the web UI at ``http://host:port``; with ``block``, until interrupted."""
    demo = build_ui(model, max_batch=max_batch)
    demo.queue(default_concurrency_limit=max_batch)
    demo.launch(server_name=host, server_port=port, prevent_thread_lock=not block,
                footer_links=["api"], quiet=not block, ssr_mode=False)
    return demo
