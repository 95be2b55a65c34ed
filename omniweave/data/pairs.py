"""Caption pairs in NExT-GPT's files: ``cc3m.json`` (image), ``audiocap.json`` (audio),
``webvid.json`` (video): a JSON list of ``{"caption", "<image|audio|video>_name"}`` records whose
media lie in a folder beside the file (``images/``, ``audios/``, ``videos/``) or under a given root.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
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
class BadRecord:
    """A record that is not JSON (JSONL line) or otherwise unreadable, and why."""
    reason: str


@dataclass(frozen=True)
class Pair:
    modality: str
    caption: str
    path: Path


def pair_of(record: object, path: Path, media_root: str | Path | None = None,
            check_media: bool = True) -> Pair | str:
    """The pair a record holds, or why it holds none (one line, without the file's name)."""
    key = next((k for k in KEYS if isinstance(record, dict) and k in record), None)
    if key is None or not isinstance(record.get("caption"), str) or not record["caption"].strip():
        return "expected a non-empty 'caption' and one of " + ", ".join(KEYS)
    if not isinstance(record[key], str) or not record[key].strip():
        return f"{key}: expected a file name"
    modality, folder = KEYS[key]
    root = Path(media_root) if media_root else path.parent / folder
    media = root / record[key]
    if check_media and not media.is_file():
        return f"missing media file {media}"
    return Pair(modality, record["caption"].strip(), media)


def iter_pairs(path: str | Path, media_root: str | Path | None = None
               ) -> Iterator[tuple[int, Pair | str]]:
    """``(index, pair or why not)`` for each record, streamed (``omniweave.data.formats``)."""
    from omniweave.data.formats import iter_records

    path = Path(path)
    for index, record in iter_records(path):
        yield index, (record.reason if isinstance(record, BadRecord) else pair_of(record, path, media_root))


def read_pairs(path: str | Path, media_root: str | Path | None = None) -> list[Pair]:
    """Every pair of a cc3m/audiocap/webvid-style file; errors name the file and record."""
    pairs = []
    for i, pair in iter_pairs(path, media_root):
        if isinstance(pair, str):
            raise InputError(f"{path}: record {i}: {pair}")
        pairs.append(pair)
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
