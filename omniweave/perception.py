"""Interactive perception (LMEye): the LLM reads the question first, then asks for the detail.

A handful of media tokens cannot carry every detail a question may need. For a modality with
``perception: interactive``, every user turn that gives a medium of it ends with a *request group*,
``[IMGREQ]`` + K ``[IMGDET]`` slots (the processor puts them there; a later user turn without
media gets one group for the latest medium, so follow-up questions can ask too). Then:

1. pass 1: the LLM reads the prompt up to the request slot (the input projector's coarse media
   tokens, the question); its last hidden state there goes through the *request map* to K request
   vectors;
2. the *interaction module*, a small transformer, attends from the request vectors to the frozen
   encoder's patch/frame token features and returns K detail vectors in the LLM's embedding space;
3. pass 2: the detail vectors fill the K detail slots and the LLM reads on and writes the answer.

Pass 2 starts at the first detail slot: the KV cache of pass 1 up to there is kept (``prefill``),
so the second pass costs K + (what follows the slots) tokens, not the whole prompt. The request
map and the interaction module are the trainable part ``perception``; the request slot's input
embedding is fixed and the state at the slot is read without gradient, so training never moves
what the LLM asks with (a trained embedding drifted until "left" and "right" looked alike).

Training signal besides the language-model loss: ``detail_word_loss`` (the details should hold
the reply's rarest word). Because the request states move whenever the LLM or the connector
changes, a stage that trains ``perception`` alone without the LM loss refits it on cached request
states instead (``training.data.RequestStateData``): thousands of steps in minutes.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from omniweave.config import InteractionConfig, ModelConfig
from omniweave.errors import InputError
from omniweave.llm import PLACEHOLDER, REQUEST, TokenLayout, kv_cache_arg, kv_cache_of
from omniweave.projectors import ToEmbeddings, TokenMemory, cross_attention_stack

if TYPE_CHECKING:
    from omniweave.model import AnyToAny


class InteractivePerception(nn.Module):
    """One modality's request map and interaction module: (n, D) request-slot states and
    (n, L, F) encoder tokens -> (n, K, D) detail vectors."""

    def __init__(self, cfg: InteractionConfig, feature_width: int, llm_width: int,
                 embed_rms: float = 1.0, vocab_size: int = 0):
        super().__init__()
        h, k = cfg.hidden_size, cfg.requests
        self.requests, self.width = k, h
        # the request slot's input embedding: the [IMGREQ] token's, fixed (a trained one drifted
        # until the LLM's state at the slot no longer told "left" from "right")
        self.register_buffer("request_token", torch.zeros(llm_width))
        # the states at the request slot share a large common part; what a question asks for is a small
        # deviation from it, which a normalised state shows the request map from the first steps
        self.request_map = nn.Sequential(nn.LayerNorm(llm_width), nn.Linear(llm_width, k * h))
        self.slots = nn.Parameter(torch.randn(k, h) * h**-0.5)  # tells the K requests apart
        self.inp = TokenMemory(feature_width, h)
        self.interaction = cross_attention_stack(h, cfg.num_layers, cfg.num_heads)
        self.out = ToEmbeddings(cfg.output, h, llm_width, embed_rms, vocab_size)

    def forward(self, hidden: torch.Tensor, features: torch.Tensor,
                words: torch.Tensor | None = None) -> torch.Tensor:
        """``words``: the LLM's input word embeddings (V, D), for the ``vocabulary`` output."""
        return self.with_logits(hidden, features, words)[0]

    def with_logits(self, hidden: torch.Tensor, features: torch.Tensor,
                    words: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The detail vectors (n, K, D) and, for the ``vocabulary`` output, their word logits
        (n, K, V)."""
        tokens = features if features.ndim == 3 else features[:, None]  # (n, L, F)
        q = self.request_map(hidden).view(-1, self.requests, self.width) + self.slots  # (n, K, H)
        return self.out.with_logits(self.interaction(q, self.inp(tokens.to(q.dtype))), words)


@dataclass(frozen=True)
class RequestGroup:
    row: int
    position: int  # of the request slot; the K detail slots follow it
    modality: str
    medium: int  # index into the modality's media of the whole batch (reading order)
    round: int  # its rank among the row's groups: round r needs the details of rounds < r


def request_groups(input_ids: torch.Tensor, cfg: ModelConfig, layout: TokenLayout) -> list[RequestGroup]:
    """Every request group of a (B, T) batch and the medium it asks about.

    Groups of one modality that follow each other directly (a turn that gives several media)
    ask about that turn's media in order; a lone group asks about the latest medium before it.
    """
    found: list[tuple[int, int, str, int]] = []
    for m, mc in cfg.modalities.items():
        if mc.perception != "interactive":
            continue
        req, slot = layout.id(REQUEST[m][0]), layout.id(PLACEHOLDER[m])
        k, n = mc.interaction.requests, mc.input_projector.num_tokens
        offset = 0
        for r, row in enumerate(input_ids.tolist()):
            starts = [p for p, t in enumerate(row) if t == slot][::n]  # each medium's first slot
            reqs = [p for p, t in enumerate(row) if t == req]
            runs: list[list[int]] = []
            for p in reqs:
                if runs and p == runs[-1][-1] + k + 1:
                    runs[-1].append(p)
                else:
                    runs.append([p])
            for run in runs:
                before = bisect_left(starts, run[0])
                for i, p in enumerate(run):
                    local = before - len(run) + i
                    if local < 0:
                        raise InputError(f"a {m} request slot (position {p}) with no {m} before it")
                    found.append((r, p, m, offset + local))
            offset += len(starts)
    found.sort()
    groups, rank, last_row = [], 0, -1
    for r, p, m, medium in found:
        rank = rank + 1 if r == last_row else 0
        last_row = r
        groups.append(RequestGroup(r, p, m, medium, rank))
    return groups


@dataclass(frozen=True)
class Request:
    """What pass 1 made of one request group: the LLM's state at its request slot (D,), detached,
    and for the ``vocabulary`` output the word logits of its K details (K, V)."""
    group: RequestGroup
    state: torch.Tensor
    word_logits: torch.Tensor | None


@dataclass
class Prefill:
    """Input embeddings with every slot filled, and what pass 1 already computed for good: the
    LLM's KV cache, last hidden states (B, start, D) and logits (B, start, V) of columns
    ``[0, start)``. The caller runs the LLM on ``embeds[:, start:]`` only (``start`` 0: all)."""
    embeds: torch.Tensor
    past: Any = None
    start: int = 0
    hidden: torch.Tensor | None = None
    logits: torch.Tensor | None = None
    requests: list[Request] | None = None  # one per request group, in the order pass 1 met them


def prefill(model: AnyToAny, input_ids: torch.Tensor, embeds: torch.Tensor,
            media: dict[str, torch.Tensor], attention_mask: torch.Tensor | None = None) -> Prefill:
    """Fill every detail slot of a batch (``embeds`` (B, T, D) has its media slots filled already).

    Pass 1 runs round by round (a row's r-th group sees the details of its earlier ones); what it
    computed before the first detail slot of a round is final and is kept. Padding may be on
    either side (``attention_mask``; positions count the unpadded tokens).
    """
    groups = request_groups(input_ids, model.cfg, model.layout)
    if not groups:
        return Prefill(embeds)
    for m in {g.modality for g in groups}:
        wanted = max(g.medium for g in groups if g.modality == m) + 1
        have = media[m].shape[0] if m in media else 0
        if have < wanted:
            raise InputError(f"{m} request slots ask about {wanted} {m} media; {have} were given")
    mask = attention_mask if attention_mask is not None else torch.ones_like(input_ids)
    positions = (mask.cumsum(-1) - 1).clamp_min(0)
    dev = embeds.device
    words = model.llm.get_input_embeddings().weight
    for m in {g.modality for g in groups}:  # the request slots' own input embedding
        sel = [g for g in groups if g.modality == m]
        rows = torch.tensor([g.row for g in sel], device=dev)
        cols = torch.tensor([g.position for g in sel], device=dev)
        token = model.perception[m].request_token.to(embeds.dtype)
        embeds = embeds.index_put((rows, cols), token.expand(len(sel), -1))
    past, start, kept_hidden, kept_logits, requests = None, 0, [], [], []
    for rnd in range(max(g.round for g in groups) + 1):
        todo = [g for g in groups if g.round == rnd]
        end = max(g.position for g in todo) + 1
        out = model.llm(inputs_embeds=embeds[:, start:end], attention_mask=mask[:, :end],
                        position_ids=positions[:, start:end], **kv_cache_arg(model.llm, past), use_cache=True,
                        output_hidden_states=True)
        hidden = out.hidden_states[-1]  # (B, end - start, D)
        for m in sorted({g.modality for g in todo}):
            sel = [g for g in todo if g.modality == m]
            rows = torch.tensor([g.row for g in sel], device=dev)
            cols = torch.tensor([g.position for g in sel], device=dev)
            feats = media[m][torch.tensor([g.medium for g in sel])].to(dev)
            # the state is read, not trained: no gradient reaches the LLM's side of the request
            state = hidden[rows, cols - start].detach()
            details, word_logits = model.perception[m].with_logits(state, feats, words)  # (g, K, D), (g, K, V)
            requests += [Request(g, state[i], None if word_logits is None else word_logits[i])
                         for i, g in enumerate(sel)]
            slots = cols[:, None] + 1 + torch.arange(details.shape[1], device=dev)  # (g, K)
            embeds = embeds.index_put((rows[:, None].expand_as(slots), slots), details.to(embeds.dtype))
        past = kv_cache_of(out)
        final = min(g.position for g in todo) + 1  # from the first detail slot on, all is stale
        kept_hidden.append(hidden[:, : final - start])
        kept_logits.append(out.logits[:, : final - start])
        start = final
        past.crop(start - past.get_seq_length())  # a negative count: tokens to drop
    return Prefill(embeds, past, start, torch.cat(kept_hidden, 1), torch.cat(kept_logits, 1), requests)


def reply_words(groups: list[RequestGroup], labels: torch.Tensor, ignore: int = -100
                ) -> list[set[int]]:
    """The labelled token ids of the reply after each group (up to the row's next group)."""
    by_row: dict[int, list[int]] = {}
    for g in groups:
        by_row.setdefault(g.row, []).append(g.position)
    out = []
    for g in groups:
        nxt = min([q for q in by_row[g.row] if q > g.position], default=labels.shape[1])
        span = labels[g.row, g.position + 1:nxt]
        out.append(set(span[span != ignore].tolist()))
    return out


def rarest(reply: set[int], count: Counter[int], total: int, vocab: int) -> list[int]:
    """The reply's words that the fewest replies contain (of ``total``); none if all are in all."""
    ids = [w for w in reply if w < vocab and count[w] < total]
    least = min((count[w] for w in ids), default=0)
    return sorted(w for w in ids if count[w] == least)


def target_loss(word_logits: torch.Tensor, targets: list[list[int]]) -> torch.Tensor:
    """-log of the K slots' mean probability of each group's target words: (g, K, V) logits."""
    probs = torch.softmax(word_logits.float(), -1).mean(1)  # (g, V)
    return torch.stack([-torch.log(probs[i, t] + 1e-9).mean() for i, t in enumerate(targets)]).mean()


def detail_word_loss(requests: list[Request], labels: torch.Tensor, ignore: int = -100
                     ) -> torch.Tensor | None:
    """An auxiliary loss for ``vocabulary`` details: the K soft words of each group should hold
    the most informative word of the reply that follows it (its labelled tokens up to the row's
    next group): the word that the fewest of the batch's replies contain. "it", "is", "a" and
    the end of turn are in many replies; the color, the shape or the yes/no asked for is in few.
    The loss is -log of the K slots' mean probability of that word (of each, on a tie), averaged
    over the groups; None without two groups to compare.

    It gives the interaction module a direct signal, as BLIP-2's Q-Former gets one before it
    meets the LLM, besides the language-model loss that reaches it through the frozen LLM."""
    replies = reply_words([r.group for r in requests], labels, ignore)  # every group bounds a reply
    scored = [(r.word_logits, reply) for r, reply in zip(requests, replies, strict=True)
              if r.word_logits is not None]
    if len(scored) < 2:
        return None
    count = Counter(w for _, reply in scored for w in reply)
    picked = [(lg, t) for lg, reply in scored if (t := rarest(reply, count, len(scored), lg.shape[-1]))]
    if not picked:
        return None
    return target_loss(torch.stack([lg for lg, _ in picked]), [t for _, t in picked])
