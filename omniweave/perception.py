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
slot's input embedding, the request map and the interaction module are this module's parameters
(the trainable part ``perception``).
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from omniweave.config import InteractionConfig, ModelConfig
from omniweave.errors import InputError
from omniweave.llm import PLACEHOLDER, REQUEST, TokenLayout
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
        self.request_token = nn.Parameter(torch.zeros(llm_width))  # the request slot's input embedding
        self.request_map = nn.Linear(llm_width, k * h)
        self.slots = nn.Parameter(torch.randn(k, h) * h**-0.5)  # tells the K requests apart
        self.inp = TokenMemory(feature_width, h)
        self.interaction = cross_attention_stack(h, cfg.num_layers, cfg.num_heads)
        self.out = ToEmbeddings(cfg.output, h, llm_width, embed_rms, vocab_size)

    def forward(self, hidden: torch.Tensor, features: torch.Tensor,
                words: torch.Tensor | None = None) -> torch.Tensor:
        """``words``: the LLM's input word embeddings (V, D), for the ``vocabulary`` output."""
        tokens = features if features.ndim == 3 else features[:, None]  # (n, L, F)
        q = self.request_map(hidden).view(-1, self.requests, self.width) + self.slots  # (n, K, H)
        return self.out(self.interaction(q, self.inp(tokens.to(q.dtype))), words)  # (n, K, D)


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


def prefill(model: AnyToAny, input_ids: torch.Tensor, embeds: torch.Tensor,
            media: dict[str, torch.Tensor], attention_mask: torch.Tensor | None = None
            ) -> tuple[torch.Tensor, Any, int]:
    """Fill every detail slot of a batch; returns (embeds, past, start).

    ``embeds`` (B, T, D) has the media slots filled already. Pass 1 runs round by round (a row's
    r-th group sees the details of its earlier ones); ``past`` is the LLM's KV cache of columns
    ``[0, start)``, valid for the returned embeddings (None and 0 when there is no group), so the
    caller runs the LLM on ``embeds[:, start:]`` only. Padding may be on either side.
    """
    groups = request_groups(input_ids, model.cfg, model.layout)
    if not groups:
        return embeds, None, 0
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
    past, start = None, 0
    for rnd in range(max(g.round for g in groups) + 1):
        todo = [g for g in groups if g.round == rnd]
        end = max(g.position for g in todo) + 1
        out = model.llm(inputs_embeds=embeds[:, start:end], attention_mask=mask[:, :end],
                        position_ids=positions[:, start:end], past_key_values=past, use_cache=True,
                        output_hidden_states=True)
        hidden = out.hidden_states[-1]  # (B, end - start, D)
        for m in sorted({g.modality for g in todo}):
            sel = [g for g in todo if g.modality == m]
            rows = torch.tensor([g.row for g in sel], device=dev)
            cols = torch.tensor([g.position for g in sel], device=dev)
            feats = media[m][torch.tensor([g.medium for g in sel])].to(dev)
            details = model.perception[m](hidden[rows, cols - start], feats, words)  # (g, K, D)
            slots = cols[:, None] + 1 + torch.arange(details.shape[1], device=dev)  # (g, K)
            embeds = embeds.index_put((rows[:, None].expand_as(slots), slots), details.to(embeds.dtype))
        past = out.past_key_values
        start = min(g.position for g in todo) + 1  # everything from the first detail slot on is stale
        past.crop(start - past.get_seq_length())  # a negative count: tokens to drop
    return embeds, past, start
