"""Caption pairs in NExT-GPT's files: ``cc3m.json`` (image), ``audiocap.json`` (audio),
``webvid.json`` (video): a JSON list of ``{"caption", "<image|audio|video>_name"}`` records whose
media lie in a folder beside the file (``images/``, ``audios/``, ``videos/``) or under a given root.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

from omniweave.errors import InputError

KEYS = {"image_name": ("image", "images"), "audio_name": ("audio", "audios"),
        "video_name": ("video", "videos")}

# How a pair becomes a conversation: x2t (stage 1) asks for a caption of the medium; t2x (stage 2)
# asks for the medium and the reply is the caption followed by the signal tokens.
DESCRIBE = {"image": ("describe it.", "describe the image.", "what do you see?", "caption this image."),
            "audio": ("describe it.", "describe the sound.", "what do you hear?", "caption this sound."),
            "video": ("describe it.", "describe the video.", "what happens in the clip?",
                      "caption this video.")}
REQUEST = {"image": ("draw {c}", "make a picture of {c}", "paint {c}"),
           "audio": ("play {c}", "make {c}", "generate {c}"),
           "video": ("make a video of {c}", "animate {c}", "generate a video of {c}")}


@dataclass(frozen=True)
class Pair:
    modality: str
    caption: str
    path: Path


def read_pairs(path: str | Path, media_root: str | Path | None = None) -> list[Pair]:
    """Every pair of a cc3m/audiocap/webvid-style file; errors name the file and record."""
    path = Path(path)
    try:
        records = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise InputError(f"{path}: cannot read caption pairs ({e})") from e
    if not isinstance(records, list):
        raise InputError(f"{path}: expected a JSON list of caption pairs")
    pairs = []
    for i, rec in enumerate(records):
        key = next((k for k in KEYS if isinstance(rec, dict) and k in rec), None)
        if key is None or not isinstance(rec.get("caption"), str) or not rec["caption"].strip():
            raise InputError(f"{path}: record {i}: expected a non-empty 'caption' and one of "
                             + ", ".join(KEYS))
        modality, folder = KEYS[key]
        root = Path(media_root) if media_root else path.parent / folder
        media = root / rec[key]
        if not media.is_file():
            raise InputError(f"{path}: record {i}: missing media file {media}")
        pairs.append(Pair(modality, rec["caption"].strip(), media))
    return pairs


def pair_conversation(pair: Pair, task: str, rng: random.Random) -> list[dict]:
    """Messages for a pair: ``x2t`` (medium -> caption) or ``t2x`` (caption -> medium)."""
    placeholder = f"<{pair.modality}>"
    if task == "x2t":
        return [{"role": "user", "content": f"{placeholder}\n{rng.choice(DESCRIBE[pair.modality])}"},
                {"role": "assistant", "content": pair.caption + "."}]
    if task == "t2x":
        request = rng.choice(REQUEST[pair.modality]).format(c=pair.caption)
        return [{"role": "user", "content": request},
                {"role": "assistant", "content": f"here is {pair.caption}. {placeholder}",
                 "outputs": [{"modality": pair.modality, "caption": pair.caption}]}]
    raise ValueError(f"unknown pair task {task!r}")
