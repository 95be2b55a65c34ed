"""The one conversation format training reads: LLaVA-style records in JSON or JSONL.

A file is either a JSON list of records (``.json``) or one record per line (``.jsonl``)::

    {"id": "nano-000012",
     "image": ["media/000012-0.png"], "audio": ["media/000012-1.wav"], "video": ["media/000012-2.mp4"],
     "conversations": [
       {"from": "human", "value": "<image>\\nwhat color is the shape?"},
       {"from": "gpt", "value": "it is red."},
       {"from": "human", "value": "now make it move left."},
       {"from": "gpt", "value": "here is a red circle moving left. <video>",
        "outputs": [{"modality": "video", "caption": "a red circle moving left"}]}],
     "task": "x2t"}

- ``image``/``audio``/``video`` are optional; each is a path or a list of paths, relative to the
  media root (by default the data file's folder). NExT-GPT's ``input_image``/``input_audio``/
  ``input_video`` are read as the same keys.
- In human turns the k-th ``<image>`` of the whole conversation is ``image[k]`` (likewise for
  ``<audio>`` and ``<video>``): these are the *input* media.
- In gpt turns a placeholder is a medium the model *generates*: the k-th placeholder of the turn
  is ``outputs[k]`` (same modality, a non-empty target caption).
- ``from`` is human/user or gpt/assistant; one ``system`` turn may come first. Roles alternate
  starting with human, and the last turn is gpt.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, overload

from omniweave.errors import InputError
from omniweave.files import atomic_path

PLACEHOLDERS: dict[str, str] = {"image": "<image>", "audio": "<audio>", "video": "<video>"}
MODALITY_OF_PLACEHOLDER: dict[str, str] = {v: k for k, v in PLACEHOLDERS.items()}
MEDIA_KEY_ALIASES: dict[str, str] = {"input_image": "image", "input_audio": "audio",
                                     "input_video": "video"}
ROLES: dict[str, str] = {"human": "user", "user": "user", "gpt": "assistant",
                         "assistant": "assistant", "system": "system"}
_PLACEHOLDER_RE = re.compile("(" + "|".join(re.escape(p) for p in PLACEHOLDERS.values()) + ")")

Role = Literal["system", "user", "assistant"]


# ---------------------------------------------------------------- placeholders
@dataclass(frozen=True)
class Placeholder:
    """A medium's place in a turn's text (``<image>``, ``<audio>`` or ``<video>``)."""

    modality: str

    @property
    def token(self) -> str:
        return PLACEHOLDERS[self.modality]


def split_placeholders(text: str) -> list[str | Placeholder]:
    """``text`` cut into its pieces in order: text as ``str`` (never empty), media as ``Placeholder``.

    ``"<image>\\nwhat is it?"`` -> ``[Placeholder("image"), "\\nwhat is it?"]``; joining the pieces
    (a placeholder as its ``token``) gives ``text`` back.
    """
    pieces: list[str | Placeholder] = []
    for i, part in enumerate(_PLACEHOLDER_RE.split(text)):
        if i % 2:
            pieces.append(Placeholder(MODALITY_OF_PLACEHOLDER[part]))
        elif part:
            pieces.append(part)
    return pieces


def placeholder_modalities(text: str) -> list[str]:
    """The modalities of the placeholders in ``text``, in order."""
    return [MODALITY_OF_PLACEHOLDER[m] for m in _PLACEHOLDER_RE.findall(text)]


# ---------------------------------------------------------------- the parsed form
@dataclass(frozen=True)
class MediaRef:
    """An input medium: its modality and its path (media root already joined)."""

    modality: str
    path: Path


@dataclass(frozen=True)
class Output:
    """A medium the assistant generates: its modality and target caption."""

    modality: str
    caption: str


@dataclass
class Turn:
    """One message; ``text`` keeps its placeholders, ``outputs`` match an assistant's placeholders."""

    role: Role
    text: str
    outputs: list[Output] = field(default_factory=list)


@dataclass
class Conversation:
    """One record: its turns, and its input media in the order their placeholders appear."""

    id: str
    turns: list[Turn]
    media: list[MediaRef]
    task: str = ""

    def to_messages(self) -> list[dict[str, str]]:
        """``[{"role": ..., "content": ...}]`` for chat templates (placeholders kept)."""
        return [{"role": t.role, "content": t.text} for t in self.turns]

    @property
    def outputs(self) -> list[Output]:
        """Every generated medium's target, in order."""
        return [o for t in self.turns for o in t.outputs]


@dataclass
class LoadResult:
    """What a lenient load keeps, and each dropped record as ``(index, one-line reason)``."""

    conversations: list[Conversation]
    dropped: list[tuple[int, str]]


# ---------------------------------------------------------------- reading
class _RecordError(Exception):
    """A problem in one record: the field it is in and what is wrong."""

    def __init__(self, where: str, problem: str):
        super().__init__(f"{where}: {problem}" if where else problem)


def _type_name(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
            int: "a number", float: "a number", type(None): "null"}.get(type(value), type(value).__name__)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _media_paths(record: dict, modality: str) -> list[str]:
    keys = [k for k in (modality, f"input_{modality}") if k in record]
    if len(keys) > 1:
        raise _RecordError(keys[1], f"both {keys[0]!r} and {keys[1]!r} are given; use one")
    if not keys:
        return []
    key, value = keys[0], record[keys[0]]
    paths = [value] if isinstance(value, str) else value
    if not isinstance(paths, list):
        raise _RecordError(key, f"expected a path or a list of paths, got {_type_name(value)}")
    for k, p in enumerate(paths):
        if not isinstance(p, str) or not p.strip():
            got = "an empty string" if isinstance(p, str) else _type_name(p)
            raise _RecordError(f"{key}[{k}]", f"expected a path, got {got}")
    return paths


def _outputs(value: Any, where: str) -> list[Output]:
    if not isinstance(value, list):
        raise _RecordError(f"{where}.outputs", f"expected a list, got {_type_name(value)}")
    outputs = []
    for k, o in enumerate(value):
        at = f"{where}.outputs[{k}]"
        if not isinstance(o, dict):
            raise _RecordError(at, f"expected an object, got {_type_name(o)}")
        modality, caption = o.get("modality"), o.get("caption")
        if modality not in PLACEHOLDERS:
            raise _RecordError(f"{at}.modality",
                               f"{modality!r} is not one of {', '.join(PLACEHOLDERS)}")
        if not isinstance(caption, str) or not caption.strip():
            got = "an empty caption" if isinstance(caption, str) else _type_name(caption)
            raise _RecordError(f"{at}.caption", f"expected a non-empty caption, got {got}")
        outputs.append(Output(modality, caption))
    return outputs


def _turns(value: Any) -> list[Turn]:
    if not isinstance(value, list):
        raise _RecordError("conversations", f"expected a list of turns, got {_type_name(value)}")
    if not value:
        raise _RecordError("conversations", "no turns")
    turns: list[Turn] = []
    for j, t in enumerate(value):
        where = f"conversations[{j}]"
        if not isinstance(t, dict):
            raise _RecordError(where, f"expected an object, got {_type_name(t)}")
        who, text = t.get("from", t.get("role")), t.get("value", t.get("content"))
        if who not in ROLES:
            raise _RecordError(f"{where}.from",
                               f"unknown role {who!r}; expected human, gpt, user, assistant or system")
        role: Role = ROLES[who]  # type: ignore[assignment]
        if not isinstance(text, str):
            raise _RecordError(f"{where}.value", f"expected a string, got {_type_name(text)}")
        if not text.strip():
            raise _RecordError(f"{where}.value", "empty turn")
        first = 0 if not turns or turns[0].role != "system" else 1
        expected = "system or human" if j == 0 else ("human" if (j - first) % 2 == 0 else "gpt")
        if role == "system" and j != 0:
            raise _RecordError(f"{where}.from", "a system turn may only come first")
        if role != "system" and role != ("user" if (j - first) % 2 == 0 else "assistant"):
            raise _RecordError(f"{where}.from", f"roles must alternate: expected {expected}, got {who}")
        found = placeholder_modalities(text)
        outputs: list[Output] = []
        if role == "assistant":
            outputs = _outputs(t.get("outputs", []), where)
            made = [o.modality for o in outputs]
            if Counter(found) != Counter(made):
                m = next(m for m in PLACEHOLDERS if found.count(m) != made.count(m))
                raise _RecordError(where, f"{_plural(found.count(m), PLACEHOLDERS[m] + ' placeholder')} "
                                          f"but {_plural(made.count(m), m + ' output')}")
            for k, (a, b) in enumerate(zip(found, made, strict=True)):
                if a != b:
                    raise _RecordError(f"{where}.outputs[{k}]",
                                       f"is {b}, but placeholder {k} of the turn is {PLACEHOLDERS[a]}")
        elif "outputs" in t:
            raise _RecordError(f"{where}.outputs", f"only gpt turns generate media, this is {who}")
        elif role == "system" and found:
            raise _RecordError(f"{where}.value", "placeholders are not allowed in a system turn")
        turns.append(Turn(role, text, outputs))
    if turns[-1].role != "assistant":
        raise _RecordError(f"conversations[{len(turns) - 1}]",
                           "the last turn must be gpt (nothing to learn after it)")
    return turns


def _conversation(record: Any, index: int, root: Path, check_media: bool) -> Conversation:
    if not isinstance(record, dict):
        raise _RecordError("", f"expected an object, got {_type_name(record)}")
    rid = record.get("id", str(index))
    if not isinstance(rid, (str, int)) or isinstance(rid, bool):
        raise _RecordError("id", f"expected a string, got {_type_name(rid)}")
    task = record.get("task", "")
    if not isinstance(task, str):
        raise _RecordError("task", f"expected a string, got {_type_name(task)}")
    paths = {m: _media_paths(record, m) for m in PLACEHOLDERS}
    turns = _turns(record.get("conversations"))
    media: list[MediaRef] = []
    used = dict.fromkeys(PLACEHOLDERS, 0)
    for t in turns:
        if t.role != "user":
            continue
        for m in placeholder_modalities(t.text):
            if used[m] < len(paths[m]):
                media.append(MediaRef(m, root / paths[m][used[m]]))
            used[m] += 1
    for m, n in used.items():
        if n != len(paths[m]):
            key = next((k for k in (m, f"input_{m}") if k in record), m)
            raise _RecordError(key, f"{_plural(n, PLACEHOLDERS[m] + ' placeholder')} in human turns "
                                    f"but {_plural(len(paths[m]), 'file')}")
    if check_media:
        for m in PLACEHOLDERS:
            key = next((k for k in (m, f"input_{m}") if k in record), m)
            for k, p in enumerate(paths[m]):
                if not (root / p).is_file():
                    raise _RecordError(f"{key}[{k}]", f"missing media file {root / p}")
    return Conversation(str(rid), turns, media, task)


def _records(path: Path) -> Iterable[tuple[int, str, Any]]:
    """``(index, label, record or _RecordError)`` for each record of a .json/.jsonl file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: unreadable: {e}") from None
    if path.suffix.lower() == ".jsonl":
        index = 0
        for line_no, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            label = f"record {index} (line {line_no})"
            try:
                yield index, label, json.loads(line)
            except json.JSONDecodeError as e:
                yield index, label, _RecordError("", f"bad JSON at column {e.colno}: {e.msg}")
            index += 1
        return
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"{path}: bad JSON at line {e.lineno} column {e.colno}: {e.msg}") from None
    if not isinstance(data, list):
        raise InputError(f"{path}: expected a list of records, got {_type_name(data)}")
    for index, record in enumerate(data):
        yield index, f"record {index}", record


def _check_suffix(path: Path) -> None:
    if path.suffix.lower() not in (".json", ".jsonl"):
        raise InputError(f"{path}: unsupported conversation file '{path.suffix}' (accepted: .json, .jsonl)")


@overload
def load_conversations(path: str | Path, media_root: str | Path | None = ..., *,
                       strict: Literal[True] = ..., check_media: bool = ...) -> list[Conversation]: ...
@overload
def load_conversations(path: str | Path, media_root: str | Path | None = ..., *,
                       strict: Literal[False], check_media: bool = ...) -> LoadResult: ...
def load_conversations(path: str | Path, media_root: str | Path | None = None, *,
                       strict: bool = True, check_media: bool = True) -> list[Conversation] | LoadResult:
    """Read a conversation file (``.json`` list or ``.jsonl`` lines).

    Media paths are joined to ``media_root`` (default: the file's folder) and, with
    ``check_media``, must exist. With ``strict`` the first bad record raises an ``InputError``
    naming the file, the record (and id) and the field; otherwise bad records are dropped and a
    ``LoadResult`` lists each with its reason. A file that is not JSON at all always raises.
    """
    path = Path(path)
    _check_suffix(path)
    root = Path(media_root) if media_root is not None else path.parent
    kept: list[Conversation] = []
    dropped: list[tuple[int, str]] = []
    for index, label, record in _records(path):
        try:
            if isinstance(record, _RecordError):
                raise record
            kept.append(_conversation(record, index, root, check_media))
        except _RecordError as e:
            rid = record.get("id") if isinstance(record, dict) else None
            where = f"{label} (id {rid})" if isinstance(rid, (str, int)) else label
            message = f"{path}: {where}: {e}"
            if strict:
                raise InputError(message) from None
            dropped.append((index, message))
    return kept if strict else LoadResult(kept, dropped)


# ---------------------------------------------------------------- writing
def save_conversations(path: str | Path, records: Iterable[dict]) -> Path:
    """Write records atomically as a JSON list (``.json``) or one per line (``.jsonl``)."""
    path = Path(path)
    _check_suffix(path)
    records = list(records)
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            if path.suffix.lower() == ".jsonl":
                for r in records:
                    f.write(json.dumps(r, ensure_ascii=False) + "\n")
            else:
                json.dump(records, f, ensure_ascii=False, indent=1)
                f.write("\n")
    return path
