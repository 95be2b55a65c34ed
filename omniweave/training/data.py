"""A stage's data: examples from its sources, tokenized once, with cached frozen features.

Frozen encoders see each medium once: their features are cached on disk (one safetensors file
per modality and encoder) and training reads the cache. The decoders' caption embeddings, the
stage-2 L2 targets, are cached the same way (``omniweave data embed`` fills that cache ahead).
"""

from __future__ import annotations

import hashlib
import importlib
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from tqdm import tqdm

from omniweave.config import StageConfig, needs_tokens
from omniweave.errors import InputError
from omniweave.files import atomic_path
from omniweave.media import load_media
from omniweave.processor import Encoded

PAIRS_PER_MODALITY = 2000
NANO_INSTRUCTIONS = 6000
NANO_SCENES = 10000
NANO_TOOLS = 16000
NANO_NUMBERS = 12000


@dataclass
class Example:
    messages: list[dict]
    media: list[tuple[str, Path]]  # (modality, path), in placeholder order
    targets: list[Path | None] = field(default_factory=list)  # ground truth of each output, if known


# ------------------------------------------------------------ sources
def nano_pairs_dir(data_dir: Path) -> Path:
    """Where ``nano:pairs`` lives under a data dir (named by its generator's version)."""
    return data_dir / f"pairs-v{nano_data_version('nano:pairs')}"


def _nano_pairs(data_dir: Path, seed: int) -> list[Path]:
    from omniweave.nano import world

    files, folder = [], nano_pairs_dir(data_dir)
    for modality, (json_name, *_rest) in world.PAIR_FORMATS.items():
        path = folder / json_name
        if not path.exists():
            print(f"writing {PAIRS_PER_MODALITY} nano {modality} pairs to {path.parent}")
            world.write_pairs(path.parent, modality, PAIRS_PER_MODALITY, seed)
        files.append(path)
    return files


# each generated conversation source: its folder, record count, what it holds, its writer
# (module, function; imported on first use). The folder is named by the module's DATA_VERSION, so
# records an older generator wrote are never read for a newer one, nor the features cached for
# their media (that cache is keyed by path).
_NANO_CONVERSATIONS = {
    "nano:instructions": ("instructions", NANO_INSTRUCTIONS, "instruction conversations",
                          ("omniweave.data.nano", "write_nano_data")),
    # two-shape scene questions + single-shape image questions
    "nano:scenes": ("scenes", NANO_SCENES, "scene conversations",
                    ("omniweave.data.scenes", "write_scene_data")),
    # tool calls, tool results, direct answers
    "nano:tools": ("tools", NANO_TOOLS, "tool-use conversations", ("omniweave.data.tools", "write_tool_data")),
    # numbers repeated back (the nano LLM learns to copy digits before the tools stage)
    "nano:numbers": ("numbers", NANO_NUMBERS, "number-copying conversations",
                     ("omniweave.data.numbers", "write_number_data")),
}


def nano_data_version(source: str) -> int:
    """The version of a generated ``nano:`` source's generator, which names its cache folder
    (``omniweave.nano.world.PAIRS_VERSION`` for pairs, the writer module's ``DATA_VERSION`` else)."""
    if source == "nano:pairs":
        from omniweave.nano import world

        return world.PAIRS_VERSION
    _folder, _n, _what, (module, _writer) = _NANO_CONVERSATIONS[source]
    return importlib.import_module(module).DATA_VERSION


def nano_data_path(source: str, data_dir: Path) -> Path:
    """The conversation file of a generated ``nano:`` source under a data dir."""
    return data_dir / f"{_NANO_CONVERSATIONS[source][0]}-v{nano_data_version(source)}" / "train.json"


def _nano_conversations(source: str, data_dir: Path, seed: int) -> Path:
    """The conversation file of a generated ``nano:`` source, written on first use."""
    _folder, n, what, (module, writer) = _NANO_CONVERSATIONS[source]
    path = nano_data_path(source, data_dir)
    if not path.exists():
        print(f"writing {n} nano {what} to {path.parent}")
        getattr(importlib.import_module(module), writer)(path.parent, n, seed, split="train")
    return path


def _pairs(path: Path, task: str, rng: random.Random) -> list[Example]:
    """A pair file's examples; records without their medium are skipped, counted, not fatal."""
    from omniweave.data.pairs import iter_pairs, pair_conversation

    pairs, skipped = [], []
    for i, p in iter_pairs(path):
        (skipped.append((i, p)) if isinstance(p, str) else pairs.append(p))
    if skipped:
        i, reason = skipped[0]
        print(f"{path}: skipping {len(skipped)} of {len(skipped) + len(pairs)} pairs "
              f"(first: record {i}: {reason})")
    if task == "x2t":
        return [Example(pair_conversation(p, task, rng), [(p.modality, p.path)]) for p in pairs]
    return [Example(pair_conversation(p, task, rng), [], [p.path]) for p in pairs]


def _conversations(path: Path) -> list[Example]:
    from omniweave.data.conversations import load_conversations

    out = []
    for conv in load_conversations(path):
        messages = [{"role": t.role, "content": t.text,
                     "outputs": [{"modality": o.modality, "caption": o.caption} for o in t.outputs]}
                    for t in conv.turns]
        out.append(Example(messages, [(m.modality, m.path) for m in conv.media]))
    return out


def load_examples(stage: StageConfig, data_dir: Path, seed: int = 0) -> list[Example]:
    """Every example of a stage's sources."""
    rng = random.Random(seed)
    examples: list[Example] = []
    for source in stage.data:
        if source == "nano:pairs":
            for path in _nano_pairs(data_dir, seed):
                examples += _pairs(path, stage.pair_task, rng)
        elif source in _NANO_CONVERSATIONS:
            examples += _conversations(_nano_conversations(source, data_dir, seed))
        else:
            path = Path(source)
            if not path.is_file():
                raise InputError(f"data source {source}: no such file")
            if path.name in ("cc3m.json", "audiocap.json", "webvid.json"):
                examples += _pairs(path, stage.pair_task, rng)
            else:
                examples += _conversations(path)
    if not examples:
        raise InputError("the stage has no data (stages.<N>.data is empty)")
    return examples


# ------------------------------------------------------------ caches
def _key(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


class TensorCache:
    """str -> tensor, kept in memory and in one safetensors file."""

    def __init__(self, path: Path):
        self.path = path
        self.table: dict[str, torch.Tensor] = load_file(path) if path.exists() else {}
        self.unreadable: dict[str, str] = {}  # name -> why it has no entry (a corrupt medium)

    def missing(self, names: list[str]) -> list[str]:
        return sorted({n for n in names if _key(n) not in self.table})

    def put(self, names: list[str], values: torch.Tensor) -> None:
        for n, v in zip(names, values, strict=True):
            self.table[_key(n)] = v.detach().float().cpu().contiguous()

    def get(self, names: list[str]) -> torch.Tensor:
        return torch.stack([self.table[_key(n)] for n in names])

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(self.path) as tmp:
            save_file(self.table, tmp)


def feature_cache(model, modality: str, paths: list[Path], cache_dir: Path,
                  batch: int = 64) -> TensorCache:
    """Frozen-encoder features (as the modality's projector reads them) of every path."""
    enc = model.cfg.modalities[modality].encoder
    view = "tokens" if needs_tokens(model.cfg.modalities[modality]) else "pooled"
    cache = TensorCache(cache_dir / f"features-{modality}-{_key(enc.kind + enc.path)[:10]}-{view}.safetensors")
    todo = cache.missing([str(p) for p in paths])
    for i in tqdm(range(0, len(todo), batch), desc=f"encoding {modality}", disable=not todo):
        names, media = [], []
        for n in todo[i:i + batch]:  # a corrupt file is skipped with its reason, never a crash
            try:
                media.append(load_media(n, modality))
                names.append(n)
            except InputError as e:
                cache.unreadable[n] = str(e)
        if names:
            feats = model.encoders[modality].encode(modality, media)
            cache.put(names, feats.tokens if view == "tokens" else feats.pooled)
    if todo:
        cache.save()
    return cache


def caption_cache(model, modality: str, captions: list[str], cache_dir: Path,
                  batch: int = 256, workers: int = 1) -> TensorCache:
    """The modality's decoder's embeddings of every caption (the L2 targets); with ``workers``,
    computed by that many processes (``training.embed``)."""
    dec = model.cfg.modalities[modality].decoder
    cache = TensorCache(cache_dir / f"captions-{modality}-{_key(dec.kind + dec.path)[:10]}.safetensors")
    todo = cache.missing(captions)
    if workers > 1 and todo:
        from omniweave.training.embed import embed_captions

        cache.put(todo, embed_captions(dec, todo, workers, batch, scratch=cache_dir))
    else:
        for i in range(0, len(todo), batch):
            names = todo[i:i + batch]
            cache.put(names, model.decoders[modality].caption_embeddings(names))
    if todo:
        cache.save()
    return cache


# ------------------------------------------------------------ batches
class StageData:
    """Tokenized examples plus their cached features and targets; ``batch(indices)``."""

    def __init__(self, model, examples: list[Example], cache_dir: Path, target_media: bool = False):
        self.model = model
        self.target_media = target_media  # load outputs' ground truth (diffusion loss)
        self.examples = examples
        self.items: list[Encoded] = []
        for i, ex in enumerate(tqdm(examples, desc="tokenizing", mininterval=2)):
            enc = model.processor.encode(ex.messages)
            if enc.media != [m for m, _ in ex.media]:
                raise InputError(f"example {i}: placeholders {enc.media} do not match its media "
                                 f"{[m for m, _ in ex.media]}")
            if any(o.caption is None for o in enc.outputs):
                raise InputError(f"example {i}: a generated medium has no caption in 'outputs'")
            self.items.append(enc)
        self.features = {}
        for m in model.cfg.modalities:
            paths = [p for ex in examples for k, p in ex.media if k == m]
            if paths:
                self.features[m] = feature_cache(model, m, paths, cache_dir)
        self._skip_unusable()
        self.captions = {}
        for m in model.cfg.modalities:
            caps = [o.caption for it in self.items for o in it.outputs if o.modality == m]
            if caps:
                self.captions[m] = caption_cache(model, m, caps, cache_dir)

    def _skip_unusable(self) -> None:
        """Drop, with a counted reason, the examples whose media could not be read or whose
        output captions are longer than the decoder's text encoder reads."""
        reasons: dict[int, str] = {}
        for i, (ex, item) in enumerate(zip(self.examples, self.items, strict=True)):
            for m, p in ex.media:
                if m in self.features and str(p) in self.features[m].unreadable:
                    reasons[i] = "unreadable media"
            for o in item.outputs:
                fits = getattr(self.model.decoders[o.modality], "caption_fits", None)
                if i not in reasons and fits is not None and not fits(o.caption):
                    reasons[i] = f"caption longer than the {o.modality} decoder reads"
        if not reasons:
            return
        counts: dict[str, int] = {}
        for r in reasons.values():
            counts[r] = counts.get(r, 0) + 1
        print(f"skipping {len(reasons)} of {len(self.items)} examples: "
              + ", ".join(f"{r} ({n})" for r, n in counts.items()))
        self.examples = [ex for i, ex in enumerate(self.examples) if i not in reasons]
        self.items = [it for i, it in enumerate(self.items) if i not in reasons]
        if not self.items:
            raise InputError("no usable examples left (see the reasons above)")

    def __len__(self) -> int:
        return len(self.items)

    def pick(self, rng: random.Random, n: int, pool: int = 16) -> list[int]:
        """``n`` random examples of similar length: ``pool * n`` drawn, sorted by length, and one
        of the ``pool`` slices taken (every example as likely as in a plain random batch)."""
        drawn = sorted((rng.randrange(len(self)) for _ in range(pool * n)),
                       key=lambda i: len(self.items[i].input_ids))
        k = rng.randrange(pool)
        return drawn[k * n:(k + 1) * n]

    def batch(self, indices: list[int]) -> dict:
        items = [self.items[i] for i in indices]
        batch = self.model.processor.collate(items)
        media: dict[str, list[str]] = {}
        for i in indices:
            for m, p in self.examples[i].media:
                media.setdefault(m, []).append(str(p))
        batch["media"] = {m: self.features[m].get(names) for m, names in media.items()}
        outputs: dict[str, tuple[list, list, list]] = {}
        for row, it in enumerate(items):
            for o in it.outputs:
                rows, pos, caps = outputs.setdefault(o.modality, ([], [], []))
                rows.append(row)
                pos.append(o.positions)
                caps.append(o.caption)
        batch["outputs"] = {m: (torch.tensor(r), torch.tensor(p), self.captions[m].get(c))
                            for m, (r, p, c) in outputs.items()}
        if self.target_media:  # per modality: (which of its outputs have ground truth, the media)
            found: dict[str, tuple[list[int], list]] = {}
            counts: dict[str, int] = {}
            for i, it in zip(indices, items, strict=True):
                targets = self.examples[i].targets
                for k, o in enumerate(it.outputs):
                    j = counts.get(o.modality, 0)
                    counts[o.modality] = j + 1
                    if k < len(targets) and targets[k] is not None:
                        sel, media = found.setdefault(o.modality, ([], []))
                        sel.append(j)
                        media.append(load_media(targets[k], o.modality))
            batch["target_media"] = {m: (torch.tensor(sel), media) for m, (sel, media) in found.items()}
        return batch


class HiddenStateData:
    """For stages that train only the output projectors: the LLM and the signal tokens are frozen,
    so the signal tokens' hidden states never change. They are computed once, and each step
    trains the projectors on (hidden, embedding, target) triples without running the LLM."""

    def __init__(self, data: StageData, batch: int = 64):
        model = data.model
        self.triples: dict[str, list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]] = {}
        wanted = [i for i, item in enumerate(data.items) if item.outputs]
        with torch.no_grad():
            for i in tqdm(range(0, len(wanted), batch), desc="caching hidden states", mininterval=2):
                b = data.batch(wanted[i:i + batch])
                embeds = model.embed(b["input_ids"], b["media"])
                out = model.llm(inputs_embeds=embeds, attention_mask=b["attention_mask"],
                                output_hidden_states=True, use_cache=False)
                hidden = out.hidden_states[-1]
                for m, (rows, pos, target) in b["outputs"].items():
                    h, e = hidden[rows[:, None], pos], embeds[rows[:, None], pos]
                    self.triples.setdefault(m, []).extend(zip(h, e, target, strict=True))
        self.index = [(m, k) for m, items in self.triples.items() for k in range(len(items))]
        if not self.index:
            raise InputError("the stage trains output projectors but its data generates no media")

    def __len__(self) -> int:
        return len(self.index)

    def batch(self, indices: list[int]) -> dict:
        picked: dict[str, list] = {}
        for i in indices:
            m, k = self.index[i]
            picked.setdefault(m, []).append(self.triples[m][k])
        return {"cached": {m: tuple(torch.stack(x) for x in zip(*items, strict=True))
                           for m, items in picked.items()}}


class RequestStateData:
    """For a stage that trains only the perception modules, without the LM loss: a refit of the
    request map and the interaction module on the final connector (as ``HiddenStateData`` refits
    the output projectors). The LLM's state at a conversation's first request slot depends on
    nothing that trains, so pass 1 runs once; each step trains the modules on (state, the
    medium's token features, target words) triples. A group's targets are its reply's rarest
    words over the whole data (``perception.rarest``). Later groups of a conversation are left
    out: their states depend on the details of earlier ones."""

    def __init__(self, data: StageData, batch: int = 32):
        from omniweave.perception import rarest, reply_words

        model = data.model
        vocab = model.llm.get_input_embeddings().weight.shape[0]
        found: list[tuple[str, torch.Tensor, torch.Tensor, set[int]]] = []
        with torch.no_grad():
            for i in tqdm(range(0, len(data), batch), desc="caching request states", mininterval=2):
                b = data.batch(list(range(i, min(i + batch, len(data)))))
                pre = model._splice(b["input_ids"], b["media"], b["attention_mask"])
                if not pre.requests:
                    continue
                replies = reply_words([r.group for r in pre.requests], b["labels"])
                found += [(r.group.modality, r.state, b["media"][r.group.modality][r.group.medium], reply)
                          for r, reply in zip(pre.requests, replies, strict=True) if r.group.round == 0]
        count = Counter(w for *_, reply in found for w in reply)
        self.items = [(m, state, feats, t) for m, state, feats, reply in found
                      if (t := rarest(reply, count, len(found), vocab))]
        if not self.items:
            raise InputError("the stage trains perception alone but its data has no request "
                             "slot followed by a reply")

    def __len__(self) -> int:
        return len(self.items)

    def batch(self, indices: list[int]) -> dict:
        picked: dict[str, list] = {}
        for i in indices:
            m, *rest = self.items[i]
            picked.setdefault(m, []).append(rest)
        return {"cached_requests": {m: (torch.stack([s for s, _, _ in rows]),
                                        torch.stack([f for _, f, _ in rows]), [t for _, _, t in rows])
                                    for m, rows in picked.items()}}
