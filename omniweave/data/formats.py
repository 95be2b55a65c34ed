"""The field's dataset formats, converted to the one conversation format training reads.

``omniweave data prepare --format F --input FILE --media-root DIR --out OUT.jsonl`` streams a
file record by record (JSONL line by line, JSON lists parsed incrementally, webdataset shards
member by member), converts each record to a unified conversation (``omniweave.data.conversations``:
``{"id", "image"/"audio"/"video": [paths], "conversations": [{"from", "value", "outputs"}], "task"}``)
and validates it there. A record that cannot be used is dropped with its index and a one-line
reason (missing or unreadable media, empty turn, bad role, placeholders that do not match the
media…), or, with ``strict``, stops the run with that line.

Formats (``FORMATS``):

- ``cc3m`` / ``webvid`` / ``audiocap``: NExT-GPT's caption pairs ``{"caption", "image_name" |
  "video_name" | "audio_name"}``, made into x2t (describe the medium) or t2x (make it) turns;
- ``nextgpt-comprehension``: ``{"input_image" | …, "conversations"}`` (``*_comprehension.json``);
- ``nextgpt-generation``: ``{"output_image" | …, "image_captions", "image_caption_embeddings",
  "conversations"}`` (``*_generation.json``): the gpt turn's placeholder is the generated medium;
- ``t2m``: NExT-GPT's T-T+X instruction data (``{"<m>_captions", "conversations"}`` whose gpt
  turns carry ``caption``/``output_modality``);
- ``mosit``: preprocessed MosIT (``{"<m>_captions", "<m>_caption_embeddings", "conversations"}``
  with placeholders in the turns); ``mosit-raw``: MosIT as released (``{"image_list": [{"image_name",
  "data_source", "caption"}], "audio_list", "video_list", "conversation"}`` with
  ``<Image>caption</Image>`` tags in the turns);
- ``llava``: LLaVA-Instruct ``{"id", "image", "conversations"}``;
- ``alpaca``: ``{"instruction", "input", "output"}``;
- ``videochat``: VideoChat / VideoChat2-IT ``{"video", "QA": [{"i", "q", "a"}]}`` (or
  ``conversations``);
- ``conversations``: the unified format itself (re-validated, paths made absolute);
- ``webdataset``: a ``.tar`` shard of samples (``<key>.<jpg|png|wav|mp4|…>`` + ``<key>.txt`` or
  ``<key>.json`` with a ``caption``); media are extracted under the media root, then as pairs.

Media paths in the output are absolute. Generated media (outputs) need no file: only their
caption is trained on; when a format names the target file it must exist, and it is kept as the
output's ``path``.
"""

from __future__ import annotations

import json
import random
import re
import tarfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from omniweave.data.conversations import PLACEHOLDERS, _conversation, _RecordError
from omniweave.data.pairs import KEYS, BadRecord, pair_conversation, pair_of
from omniweave.errors import InputError
from omniweave.files import atomic_path

MODALITIES = tuple(PLACEHOLDERS)
FOLDERS = {"image": "images", "audio": "audios", "video": "videos"}
CHUNK = 1 << 20  # characters read at a time from a JSON list
_WDS_SUFFIX = {".jpg": "image", ".jpeg": "image", ".png": "image", ".wav": "audio",
               ".mp4": "video", ".gif": "video"}


class _Drop(Exception):
    """A record that cannot be used, and why (one line)."""


# ---------------------------------------------------------------- streaming records
def iter_records(path: str | Path) -> Iterator[tuple[int, Any]]:
    """``(index, record)`` for each record of a ``.jsonl`` (line by line) or ``.json`` list (parsed
    incrementally, never held whole); a bad JSONL line comes as a ``BadRecord``."""
    path = Path(path)
    try:
        f = path.open(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as e:
        raise InputError(f"{path}: unreadable: {e}") from None
    with f:
        try:
            if path.suffix.lower() == ".jsonl":
                yield from _jsonl(f)
            else:
                yield from _json_list(f, path)
        except UnicodeDecodeError as e:
            raise InputError(f"{path}: not UTF-8 text ({e.reason})") from None


def _jsonl(f: TextIO) -> Iterator[tuple[int, Any]]:
    index = 0
    for line_no, line in enumerate(f, 1):
        if not line.strip():
            continue
        try:
            yield index, json.loads(line)
        except json.JSONDecodeError as e:
            yield index, BadRecord(f"line {line_no}: bad JSON at column {e.colno}: {e.msg}")
        index += 1


def _json_list(f: TextIO, path: Path) -> Iterator[tuple[int, Any]]:
    """The items of a top-level JSON list, decoded one at a time from a sliding buffer."""
    decoder = json.JSONDecoder()
    buf, pos, eof, index = "", 0, False, 0

    def fill() -> bool:
        nonlocal buf, pos, eof
        chunk = f.read(CHUNK)
        buf, pos, eof = buf[pos:] + chunk, 0, not chunk
        return bool(chunk)

    def skip_space() -> str:
        nonlocal pos
        while True:
            while pos < len(buf) and buf[pos].isspace():
                pos += 1
            if pos < len(buf) or not fill():
                return buf[pos] if pos < len(buf) else ""

    if skip_space() != "[":
        raise InputError(f"{path}: expected a JSON list of records")
    pos += 1
    if skip_space() == "]":
        return
    while True:
        while True:  # a value is only taken once something follows it (or the file ends)
            try:
                value, end = decoder.raw_decode(buf, pos)
                if end < len(buf) or eof:
                    break
            except json.JSONDecodeError as e:
                if eof:
                    raise InputError(f"{path}: bad JSON in record {index}: {e.msg}") from None
            if not fill():
                eof = True
        yield index, value
        index += 1
        pos = end
        sep = skip_space()
        if sep == "]":
            return
        if sep != ",":
            raise InputError(f"{path}: bad JSON after record {index - 1}: expected ',' or ']'")
        pos += 1
        skip_space()


# ---------------------------------------------------------------- helpers
def _text(record: dict, key: str) -> str:
    value = record.get(key, "")
    if not isinstance(value, str):
        raise _Drop(f"{key}: expected a string")
    return value.strip()


def _file(root: Path, name: Any, key: str) -> str:
    """The absolute path of a named media file, which must exist."""
    if not isinstance(name, str) or not name.strip():
        raise _Drop(f"{key}: expected a file name")
    path = (root / name).expanduser()
    if not path.is_file():
        raise _Drop(f"{key}: missing media file {path}")
    return str(path.resolve())


def _root(media_root: Path | None, input_path: Path, modality: str) -> Path:
    """Where a record's media are: the given root, else NExT-GPT's ``images/``-style folder beside
    the file (when there is one), else the file's folder."""
    if media_root is not None:
        return media_root
    beside = input_path.parent / FOLDERS[modality]
    return beside if beside.is_dir() else input_path.parent


def _captions(record: dict, modality: str) -> list[str]:
    value = record.get(f"{modality}_captions", [])
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(c, str) for c in items):
        raise _Drop(f"{modality}_captions: expected a caption or a list of captions")
    return [c.strip() for c in items]


def _turns(record: dict) -> list:
    turns = record.get("conversations", record.get("conversation"))
    if not isinstance(turns, list) or not turns:
        raise _Drop("conversations: expected a non-empty list of turns")
    return turns


def _gpt(turn: Any) -> bool:
    return isinstance(turn, dict) and turn.get("from", turn.get("role")) in ("gpt", "assistant")


def _placeholders(text: str) -> list[str]:
    return re.findall("|".join(re.escape(p) for p in PLACEHOLDERS.values()), text)


def _with_outputs(turns: list, captions: dict[str, list[str]]) -> list:
    """Turns whose gpt placeholders get ``outputs``: the turn's own ``caption`` (one medium), else
    the record's ``<m>_captions`` in order. A gpt turn that names an ``output_modality`` but
    holds no placeholder gets one at its end (NExT-GPT's older files)."""
    used = dict.fromkeys(MODALITIES, 0)
    out = []
    for t in turns:
        if not _gpt(t) or not isinstance(t.get("value"), str):
            out.append(t)
            continue
        t = dict(t)
        text, kind = t["value"], t.get("output_modality")
        if kind in PLACEHOLDERS and not _placeholders(text):
            text = f"{text.rstrip()} {PLACEHOLDERS[kind]}"
        found = [p[1:-1] for p in _placeholders(text)]
        outputs = []
        own = t.get("caption")
        for m in found:
            if len(found) == 1 and isinstance(own, str) and own.strip():
                caption = own.strip()
            elif used[m] < len(captions.get(m, [])):
                caption = captions[m][used[m]]
            else:
                raise _Drop(f"a gpt turn generates {PLACEHOLDERS[m]} number {used[m] + 1}, but the "
                            f"record has {len(captions.get(m, []))} {m} caption(s)")
            used[m] += 1
            outputs.append({"modality": m, "caption": caption})
        t["value"] = text
        if outputs:
            t["outputs"] = outputs
        out.append(t)
    return out


def _clean_turns(turns: list) -> list:
    """Only the keys the unified format reads (``from``, ``value``, ``outputs``)."""
    keep = ("from", "value", "outputs")
    return [{k: t[k] for k in keep if k in t} if isinstance(t, dict) else t for t in turns]


# ---------------------------------------------------------------- one converter per format
@dataclass
class Options:
    """What a conversion needs besides the record."""
    input: Path
    media_root: Path | None = None
    task: str = "x2t"  # pairs: x2t (describe) or t2x (generate)
    rng: random.Random = field(default_factory=lambda: random.Random(0))


def _pairs(record: Any, index: int, opt: Options) -> dict:
    key = next((k for k in KEYS if isinstance(record, dict) and k in record), None)
    modality = KEYS[key][0] if key else "image"
    pair = pair_of(record, opt.input, _root(opt.media_root, opt.input, modality) if key else None)
    if isinstance(pair, str):
        raise _Drop(pair)
    messages = pair_conversation(pair, opt.task, opt.rng)
    rid = record.get("id", record.get(f"{pair.modality}_id", index))
    path = str(pair.path.resolve())
    turns = [{"from": "human", "value": messages[0]["content"]},
             {"from": "gpt", "value": messages[1]["content"]}]
    out = {"id": str(rid), "conversations": turns, "task": opt.task}
    if opt.task == "x2t":
        out[pair.modality] = [path]
    else:
        turns[1]["outputs"] = [{**messages[1]["outputs"][0], "path": path}]
    return out


def _comprehension(record: Any, index: int, opt: Options) -> dict:
    if not isinstance(record, dict):
        raise _Drop("expected an object")
    out: dict = {"id": str(record.get("id", index)), "conversations": _clean_turns(_turns(record)),
                 "task": "x2t"}
    for m in MODALITIES:
        for key in (f"input_{m}", m):
            if key in record:
                names = record[key] if isinstance(record[key], list) else [record[key]]
                root = _root(opt.media_root, opt.input, m)
                out[m] = [_file(root, n, f"{key}[{k}]") for k, n in enumerate(names)]
                break
    return out


def _generation(record: Any, index: int, opt: Options) -> dict:
    if not isinstance(record, dict):
        raise _Drop("expected an object")
    captions = {m: _captions(record, m) for m in MODALITIES}
    turns = _with_outputs(_turns(record), captions)
    for m in MODALITIES:  # the target files, when the format names them, must be there
        names = record.get(f"output_{m}", [])
        names = names if isinstance(names, list) else [names]
        paths = [_file(_root(opt.media_root, opt.input, m), n, f"output_{m}[{k}]")
                 for k, n in enumerate(names)]
        made = [o for t in turns if _gpt(t) for o in t.get("outputs", []) if o["modality"] == m]
        for o, p in zip(made, paths, strict=False):
            o["path"] = p
    out = {"id": str(record.get("id", index)), "conversations": _clean_turns(turns), "task": "t2x"}
    for m in MODALITIES:  # input media (MosIT), as the unified format names them
        for key in (m, f"input_{m}"):
            if key in record:
                names = record[key] if isinstance(record[key], list) else [record[key]]
                out[m] = [_file(_root(opt.media_root, opt.input, m), n, f"{key}[{k}]")
                          for k, n in enumerate(names)]
                break
    return out


_TAG = re.compile(r"<(image|audio|video)>(.*?)</\1>", re.IGNORECASE | re.DOTALL)


def _mosit_raw(record: Any, index: int, opt: Options) -> dict:
    """``<Image>caption</Image>`` tags: in human turns an input (the next ``image_list`` entry's
    file), in gpt turns a generated medium (the tag's caption, else the entry's)."""
    if not isinstance(record, dict):
        raise _Drop("expected an object")
    lists = {}
    for m in MODALITIES:
        items = record.get(f"{m}_list") or []
        if not isinstance(items, list) or not all(isinstance(x, dict) for x in items):
            raise _Drop(f"{m}_list: expected a list of objects")
        lists[m] = items
    used = dict.fromkeys(MODALITIES, 0)
    media: dict[str, list[str]] = {m: [] for m in MODALITIES}
    turns = []
    for j, t in enumerate(_turns(record)):
        if not isinstance(t, dict) or not isinstance(t.get("value"), str):
            raise _Drop(f"conversation[{j}]: expected an object with a string 'value'")
        outputs = []

        def tag(match: re.Match, gpt: bool = _gpt(t), j: int = j, outputs: list = outputs) -> str:
            m, inner = match.group(1).lower(), match.group(2).strip()
            entry = lists[m][used[m]] if used[m] < len(lists[m]) else None
            used[m] += 1
            if gpt:
                caption = inner or (entry or {}).get("caption", "")
                if not isinstance(caption, str) or not caption.strip():
                    raise _Drop(f"conversation[{j}]: a generated {m} has no caption")
                outputs.append({"modality": m, "caption": caption.strip()})
            else:
                if entry is None:
                    raise _Drop(f"conversation[{j}]: input {m} {used[m]} has no {m}_list entry")
                name = entry.get(f"{m}_name", entry.get("name"))
                root = _root(opt.media_root, opt.input, m)
                media[m].append(_file(root, name, f"{m}_list[{used[m] - 1}].{m}_name"))
            return PLACEHOLDERS[m]

        text = _TAG.sub(tag, t["value"]).strip()
        turn = {"from": t.get("from", t.get("role")), "value": text}
        if outputs:
            turn["outputs"] = outputs
        turns.append(turn)
    out: dict = {"id": str(record.get("id", index)), "conversations": turns, "task": "mosit"}
    out.update({m: paths for m, paths in media.items() if paths})
    return out


def _llava(record: Any, index: int, opt: Options) -> dict:
    if not isinstance(record, dict):
        raise _Drop("expected an object")
    out: dict = {"id": str(record.get("id", index)), "conversations": _clean_turns(_turns(record)),
                 "task": record.get("task", "x2t") if isinstance(record.get("task"), str) else "x2t"}
    for m in MODALITIES:
        for key in (m, f"input_{m}"):
            if key in record:
                names = record[key] if isinstance(record[key], list) else [record[key]]
                root = opt.media_root or opt.input.parent
                out[m] = [_file(root, n, f"{key}[{k}]") for k, n in enumerate(names)]
                break
    return out


def _alpaca(record: Any, index: int, opt: Options) -> dict:
    if not isinstance(record, dict):
        raise _Drop("expected an object")
    instruction, extra, output = (_text(record, k) for k in ("instruction", "input", "output"))
    if not instruction:
        raise _Drop("instruction: empty turn")
    if not output:
        raise _Drop("output: empty turn")
    prompt = f"{instruction}\n{extra}" if extra else instruction
    return {"id": str(record.get("id", index)), "task": "t2t",
            "conversations": [{"from": "human", "value": prompt}, {"from": "gpt", "value": output}]}


def _videochat(record: Any, index: int, opt: Options) -> dict:
    if not isinstance(record, dict):
        raise _Drop("expected an object")
    m = "video" if "video" in record else "image" if "image" in record else None
    if m is None:
        raise _Drop("expected a 'video' (or 'image') file")
    if "conversations" in record:
        return _llava(record, index, opt)
    qa = record.get("QA")
    if not isinstance(qa, list) or not qa:
        raise _Drop("QA: expected a non-empty list of {q, a}")
    turns = []
    for k, item in enumerate(qa):
        if not isinstance(item, dict):
            raise _Drop(f"QA[{k}]: expected an object")
        instruction, question, answer = (_text(item, key) for key in ("i", "q", "a"))
        prompt = "\n".join(x for x in (instruction, question) if x)
        if not prompt or not answer:
            raise _Drop(f"QA[{k}]: empty turn")
        if k == 0:
            prompt = f"{PLACEHOLDERS[m]}\n{prompt}"
        turns += [{"from": "human", "value": prompt}, {"from": "gpt", "value": answer}]
    root = opt.media_root or opt.input.parent
    return {"id": str(record.get("id", index)), "conversations": turns, "task": "x2t",
            m: [_file(root, record[m], m)]}


Converter = Callable[[Any, int, Options], dict]
FORMATS: dict[str, Converter] = {
    "cc3m": _pairs, "webvid": _pairs, "audiocap": _pairs,
    "nextgpt-comprehension": _comprehension, "nextgpt-generation": _generation,
    "t2m": _generation, "mosit": _generation, "mosit-raw": _mosit_raw,
    "llava": _llava, "conversations": _llava, "alpaca": _alpaca, "videochat": _videochat,
    "webdataset": _pairs,
}


# ---------------------------------------------------------------- webdataset shards
def _webdataset(path: Path, media_root: Path) -> Iterator[tuple[int, Any]]:
    """Pair records from a tar shard: members are grouped by key (the name up to its first dot),
    each sample's medium extracted under ``media_root/<shard>/``."""
    out_dir = media_root / path.name.split(".")[0]
    index = 0

    def sample(key: str, files: dict[str, bytes]) -> Any:
        caption = None
        if "txt" in files:
            caption = files["txt"].decode("utf-8", "replace").strip()
        elif "json" in files:
            try:
                caption = json.loads(files["json"]).get("caption")
            except (ValueError, AttributeError):
                return BadRecord(f"sample {key}: its .json is not an object with a caption")
        media = [(ext, data) for ext, data in files.items() if f".{ext}" in _WDS_SUFFIX]
        if len(media) != 1:
            return BadRecord(f"sample {key}: expected one media file, found {len(media)}")
        ext, data = media[0]
        modality = _WDS_SUFFIX[f".{ext}"]
        target = out_dir / f"{key.replace('/', '_')}.{ext}"
        with atomic_path(target) as tmp:
            tmp.write_bytes(data)
        return {"caption": caption or "", "id": key, f"{modality}_name": str(target)}

    try:
        tar = tarfile.open(path, "r|*")
    except (OSError, tarfile.TarError) as e:
        raise InputError(f"{path}: not a readable tar shard ({e})") from None
    with tar:
        key, files = None, {}
        for member in tar:
            if not member.isfile():
                continue
            name = member.name
            stem, _, ext = name.rpartition("/")[2].partition(".")
            k = f"{name.rpartition('/')[0]}/{stem}".lstrip("/")
            if k != key and key is not None:
                yield index, sample(key, files)
                index, files = index + 1, {}
            key = k
            files[ext.lower()] = tar.extractfile(member).read()
        if key is not None:
            yield index, sample(key, files)


# ---------------------------------------------------------------- the conversion
_KINDS = (("missing media", "missing media"), ("unreadable media", "cannot read"),
          ("empty turn", "empty turn"), ("empty turn", "no turns"), ("bad role", "role"),
          ("placeholders vs media", "placeholder"), ("placeholders vs media", "output"),
          ("bad JSON", "bad JSON"), ("missing caption", "caption"))


def reason_kind(reason: str) -> str:
    """A short category of a drop reason (for the counts)."""
    return next((kind for kind, word in _KINDS if word in reason), "bad record")


@dataclass
class Prepared:
    """What ``prepare`` kept (a count) and dropped (index, reason)."""
    out: Path | None
    kept: int
    dropped: list[tuple[int, str]]

    def counts(self) -> Counter:
        return Counter(reason_kind(r) for _, r in self.dropped)


def convert(fmt: str, input_path: str | Path, media_root: str | Path | None = None, *,
            task: str = "x2t", seed: int = 0, verify_media: bool = False
            ) -> Iterator[tuple[int, dict | None, str]]:
    """``(index, unified record or None, drop reason)`` for each record of ``input_path``."""
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}; expected one of {', '.join(sorted(FORMATS))}")
    if task not in ("x2t", "t2x"):
        raise InputError(f"unknown pair task {task!r}; expected x2t or t2x")
    path = Path(input_path)
    root = Path(media_root).expanduser() if media_root else None
    if fmt == "webdataset":
        if root is None:
            raise InputError("--format webdataset needs --media-root: where the shard's media go")
        records = _webdataset(path, root)
        root = Path("/")
    else:
        records = iter_records(path)
    opt = Options(path, root, task, random.Random(seed))
    converter = FORMATS[fmt]
    for index, record in records:
        try:
            if isinstance(record, BadRecord):
                raise _Drop(record.reason)
            unified = converter(record, index, opt)
            _conversation(unified, index, Path("/"), check_media=True)  # the training-time checks
            if verify_media:
                _verify(unified)
        except (_Drop, _RecordError) as e:
            rid = record.get("id") if isinstance(record, dict) else None
            where = f"record {index}" + (f" (id {rid})" if isinstance(rid, (str, int)) else "")
            yield index, None, f"{where}: {e}"
            continue
        yield index, unified, ""


def _verify(record: dict) -> None:
    """Decode every input and target medium (videos: their first frames)."""
    from omniweave.media import load_media, load_video

    paths = [(m, p) for m in MODALITIES for p in record.get(m, [])]
    paths += [(o["modality"], o["path"]) for t in record["conversations"]
              for o in t.get("outputs", []) if "path" in o]
    for m, p in paths:
        try:
            load_video(p, max_frames=2) if m == "video" else load_media(p, m)
        except InputError as e:
            raise _Drop(f"unreadable media: {e}") from None


def prepare(fmt: str, input_path: str | Path, out: str | Path, media_root: str | Path | None = None,
            *, strict: bool = False, task: str = "x2t", seed: int = 0, verify_media: bool = False,
            on_drop: Callable[[int, str], None] | None = None) -> Prepared:
    """Convert a file to the unified format at ``out`` (``.jsonl`` streamed, or ``.json``),
    atomically. With ``strict`` the first bad record raises an ``InputError`` naming it (and
    nothing is written); else it is dropped, reported through ``on_drop`` and listed."""
    out = Path(out)
    if out.suffix.lower() not in (".json", ".jsonl"):
        raise InputError(f"{out}: the output must be .jsonl or .json")
    kept, dropped = 0, []
    with atomic_path(out) as tmp, open(tmp, "w", encoding="utf-8") as f:
        listing = out.suffix.lower() == ".json"
        f.write("[\n" if listing else "")
        for index, record, reason in convert(fmt, input_path, media_root, task=task, seed=seed,
                                             verify_media=verify_media):
            if record is None:
                if strict:
                    raise InputError(f"{input_path}: {reason}")
                dropped.append((index, reason))
                if on_drop:
                    on_drop(index, reason)
                continue
            line = json.dumps(record, ensure_ascii=False)
            f.write((",\n" if listing and kept else "") + line + ("" if listing else "\n"))
            kept += 1
        f.write("\n]\n" if listing else "")
    return Prepared(out, kept, dropped)
