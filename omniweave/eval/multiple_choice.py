"""Multiple-choice evaluation in the SEED-Bench / MMBench form: a question about a medium, options
A–D (two to four of them), one right letter. Two accuracies:

- **by option likelihood** (SEED-Bench's protocol): the question is asked plainly (with
  ``SHORT_ANSWER``) and each option's text is scored as the reply; the option with the highest
  mean log-probability per token wins. No parsing, and it works on a model that never saw the
  letter format.
- **by generated letter** (MMBench's): the question and the lettered options are asked
  (``mc_prompt``), the model writes a reply, and the first standalone letter A–D in it is its
  choice (no letter: wrong).

Readers for the real files (``read_items``):

- **MMBench** ``.tsv`` (e.g. ``MMBench_DEV_EN.tsv``): columns ``index``, ``question``, ``hint``,
  ``A``..``D`` (empty or ``nan`` when an item has fewer options), ``answer`` (a letter),
  ``category``, ``image`` (base64-encoded JPEG/PNG bytes). Other columns (``l2-category``,
  ``source``, ``split``, ``comment``) are kept in ``Item.meta``.
- **SEED-Bench** ``.json`` (``SEED-Bench.json``): ``{"questions": [{"question_id", "question",
  "choice_a".."choice_d", "answer" (a letter), "data_id" (a file under the image folder),
  "data_type" ("image" or "video"), "question_type_id"}, ...], "question_type": {name: id}}``;
  media come from ``media_root`` (``SEED-Bench-image/``; video items need their clips there, as
  files our media loader reads: ``.mp4``/``.gif``).
"""

from __future__ import annotations

import base64
import csv
import io
import json
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F
from tqdm import tqdm

from omniweave.errors import InputError
from omniweave.media import Image, Media, load_media

LETTERS = "ABCD"
SHORT_ANSWER = "answer with a single word or phrase."
LETTER_ANSWER = "answer with the option's letter from the given choices directly."
_LETTER_RE = re.compile(r"\b([ABCD])\b")


@dataclass
class Item:
    """One multiple-choice question: a medium, the question, 2–4 options, the right letter."""
    question: str
    options: list[str]
    answer: str  # "A".."D"
    medium: Media | None = None
    hint: str = ""
    id: str = ""
    category: str = ""
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 2 <= len(self.options) <= 4:
            raise InputError(f"item {self.id or self.question!r}: {len(self.options)} options; "
                             "expected 2 to 4")
        if self.answer not in LETTERS[: len(self.options)]:
            raise InputError(f"item {self.id or self.question!r}: answer {self.answer!r} is not one "
                             f"of {', '.join(LETTERS[: len(self.options)])}")


def _placeholder(item: Item) -> str:
    if item.medium is None:
        return ""
    return f"<{item.medium.modality}>\n"


def mc_prompt(question: str, options: list[str], hint: str = "") -> str:
    """The lettered form (LLaVA's MMBench prompt): hint, question, ``A. ...`` lines, instruction."""
    lines = ([hint] if hint else []) + [question]
    lines += [f"{LETTERS[i]}. {o}" for i, o in enumerate(options)]
    return "\n".join(lines + [LETTER_ANSWER])


def short_prompt(question: str, hint: str = "") -> str:
    """The plain form the option likelihoods are scored after."""
    return "\n".join(([hint] if hint else []) + [question, SHORT_ANSWER])


def read_letter(reply: str) -> str | None:
    """The first standalone A–D in a reply (``"B."``, ``"(C)"``, ``"the answer is D"``)."""
    m = _LETTER_RE.search(reply.strip())
    return m.group(1) if m else None


# ---------------------------------------------------------------- the runner
@torch.no_grad()
def option_logprobs(model, item: Item) -> list[float]:
    """Mean log-probability per token of each option's text as the reply to the plain question."""
    user = {"role": "user", "content": _placeholder(item) + short_prompt(item.question, item.hint)}
    encoded = [model.processor.encode([user, {"role": "assistant", "content": option}])
               for option in item.options]
    eos = model.tokenizer.eos_token_id
    for enc in encoded:  # the option's own tokens only: not the end of turn
        enc.labels = [t if t != eos else -100 for t in enc.labels]
    batch = model.processor.collate(encoded)
    media = [item.medium] * len(item.options) if item.medium is not None else []
    feats = model.encode_media(media) if media else {}
    dev = next(model.llm.parameters()).device
    ids, mask, labels = (batch[k].to(dev) for k in ("input_ids", "attention_mask", "labels"))
    embeds = model.embed(ids, feats, mask)
    out = model.llm(inputs_embeds=embeds, attention_mask=mask, output_hidden_states=True,
                    use_cache=False)
    logits = model.extra.logits(out.hidden_states[-1], out.logits)[:, :-1].float()
    target = labels[:, 1:]
    logp = F.log_softmax(logits, -1).gather(-1, target.clamp_min(0)[..., None])[..., 0]
    keep = target != -100
    return ((logp * keep).sum(-1) / keep.sum(-1).clamp_min(1)).tolist()


def evaluate_items(model, items: list[Item], batch: int = 16, max_new_tokens: int = 8,
                   progress: bool = True) -> dict:
    """Accuracy by option likelihood and by generated letter (overall and per category)."""
    by_ll, by_letter, cats = [], [], []
    for item in tqdm(items, desc="multiple choice (likelihood)", disable=not progress, mininterval=2):
        scores = option_logprobs(model, item)
        by_ll.append(LETTERS[int(np.argmax(scores))] == item.answer)
    for i in tqdm(range(0, len(items), batch), desc="multiple choice (letter)",
                  disable=not progress, mininterval=2):
        chunk = items[i:i + batch]
        convs = [[{"role": "user", "content": _placeholder(it)
                   + mc_prompt(it.question, it.options, it.hint)}] for it in chunk]
        replies = model.generate(convs, [[it.medium] if it.medium is not None else [] for it in chunk],
                                 max_new_tokens=max_new_tokens, make_media=False)
        by_letter += [read_letter(r.text) == it.answer for r, it in zip(replies, chunk, strict=True)]
    cats = [it.category for it in items]
    table = {"n": len(items), "likelihood": _mean(by_ll), "letter": _mean(by_letter)}
    for c in sorted(set(cats) - {""}):
        sel = [k for k, x in enumerate(cats) if x == c]
        table[c] = {"n": len(sel), "likelihood": _mean([by_ll[k] for k in sel]),
                    "letter": _mean([by_letter[k] for k in sel])}
    return table


def _mean(xs: list[bool]) -> float:
    return round(sum(xs) / len(xs), 4) if xs else float("nan")


# ---------------------------------------------------------------- real benchmark files
def _cell(value: str | None) -> str:
    value = (value or "").strip()
    return "" if value.lower() in ("", "nan", "none") else value


def read_mmbench(path: str | Path, limit: int | None = None) -> list[Item]:
    """Items of an MMBench ``.tsv`` (see the module docstring for its columns)."""
    csv.field_size_limit(sys.maxsize)
    items = []
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            options = [_cell(row.get(x)) for x in LETTERS]
            options = options[: next((i for i, o in enumerate(options) if not o), 4)]
            answer = _cell(row.get("answer"))
            if not answer:
                continue  # test split: no answers published
            medium = None
            if _cell(row.get("image")):
                from PIL import Image as PILImage

                pil = PILImage.open(io.BytesIO(base64.b64decode(row["image"]))).convert("RGB")
                medium = Image(np.asarray(pil))
            meta = {k: v for k, v in row.items()
                    if k not in ("index", "question", "hint", "answer", "category", "image", *LETTERS)}
            items.append(Item(_cell(row.get("question")), options, answer, medium,
                              _cell(row.get("hint")), _cell(row.get("index")),
                              _cell(row.get("category")), meta))
            if limit and len(items) >= limit:
                break
    return items


def read_seed_bench(path: str | Path, media_root: str | Path | None = None,
                    limit: int | None = None) -> list[Item]:
    """Items of a SEED-Bench ``.json`` (media under ``media_root``, default beside the file)."""
    data = json.loads(Path(path).read_text())
    root = Path(media_root) if media_root else Path(path).parent
    names = {v: k for k, v in data.get("question_type", {}).items()}
    items = []
    for q in data["questions"]:
        options = [_cell(q.get(f"choice_{x.lower()}")) for x in LETTERS]
        options = options[: next((i for i, o in enumerate(options) if not o), 4)]
        modality = "video" if q.get("data_type") == "video" else "image"
        medium = load_media(root / q["data_id"], modality)
        items.append(Item(q["question"], options, q["answer"], medium, "", str(q.get("question_id", "")),
                          names.get(q.get("question_type_id"), str(q.get("question_type_id", ""))),
                          {"data_id": q["data_id"]}))
        if limit and len(items) >= limit:
            break
    return items


def read_items(path: str | Path, media_root: str | Path | None = None,
               limit: int | None = None) -> list[Item]:
    """MMBench (``.tsv``) or SEED-Bench (``.json``) items."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such benchmark file")
    if path.suffix.lower() == ".tsv":
        return read_mmbench(path, limit)
    if path.suffix.lower() == ".json":
        return read_seed_bench(path, media_root, limit)
    raise InputError(f"{path}: expected an MMBench .tsv or a SEED-Bench .json")


def write_mmbench(path: str | Path, items: Iterable[Item]) -> Path:
    """Write items as an MMBench ``.tsv`` (images as base64 PNG), e.g. ShapeWorld scene items."""
    from omniweave.files import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, delimiter="\t")
        w.writerow(["index", "question", "hint", *LETTERS, "answer", "category", "image"])
        for k, it in enumerate(items):
            image = ""
            if isinstance(it.medium, Image):
                from PIL import Image as PILImage

                buf = io.BytesIO()
                PILImage.fromarray(it.medium.pixels).save(buf, format="PNG")
                image = base64.b64encode(buf.getvalue()).decode()
            options = it.options + ["nan"] * (4 - len(it.options))
            w.writerow([it.id or k, it.question, it.hint, *options, it.answer, it.category, image])
    return path


def chance(items: list[Item]) -> float:
    """The expected accuracy of guessing uniformly."""
    return round(sum(1 / len(it.options) for it in items) / max(len(items), 1), 4)

