"""The language model side: a transformers causal LM, its tokenizer, and the tokens omniweave adds.

omniweave never resizes the LLM's embedding table. Its extra tokens (media placeholders, the
``[boi]``/``[eoi]``-style boundaries and the ``[IMG0]``.. signal tokens) get ids from the LLM's
``vocab_size`` upward and live in ``ExtraTokens``: an input-embedding table and an output head
of their own, spliced in beside the frozen ones. The base model stays untouched (and shareable),
and "train the signal tokens" means exactly these two small tables.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from omniweave.config import MODALITIES, LLMConfig, ModelConfig
from omniweave.hub import resolve_path

BOUNDARY = {"image": ("[BOI]", "[EOI]"), "audio": ("[BOA]", "[EOA]"), "video": ("[BOV]", "[EOV]")}
PLACEHOLDER = {"image": "<image>", "audio": "<audio>", "video": "<video>"}


def load_llm(cfg: LLMConfig) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """The causal LM (frozen, eval mode) and its tokenizer."""
    path = resolve_path(cfg.path)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=getattr(torch, cfg.dtype))
    tokenizer = AutoTokenizer.from_pretrained(path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model.eval().requires_grad_(False), tokenizer


@dataclass(frozen=True)
class TokenLayout:
    """Names and ids of the extra tokens: ``first_id`` is the LLM's vocab size."""
    names: tuple[str, ...]
    first_id: int

    @classmethod
    def from_config(cls, cfg: ModelConfig, first_id: int) -> TokenLayout:
        names: list[str] = []
        for m in MODALITIES:
            if m in cfg.modalities:
                names += [PLACEHOLDER[m], *BOUNDARY[m], *cfg.signal_token_names(m)]
        return cls(tuple(names), first_id)

    def id(self, name: str) -> int:
        return self.first_id + self.names.index(name)

    def signal_ids(self, cfg: ModelConfig, modality: str) -> list[int]:
        return [self.id(n) for n in cfg.signal_token_names(modality)]

    def name(self, token_id: int) -> str | None:
        k = token_id - self.first_id
        return self.names[k] if 0 <= k < len(self.names) else None


class ExtraTokens(nn.Module):
    """Input embeddings and output-head rows of the extra tokens, initialised from the base ones."""

    def __init__(self, layout: TokenLayout, base_embed: nn.Embedding, base_head: nn.Linear):
        super().__init__()
        n = len(layout.names)
        mean_in = base_embed.weight.detach().float().mean(0)
        std_in = base_embed.weight.detach().float().std()
        self.embed = nn.Parameter(mean_in + torch.randn(n, mean_in.numel()) * std_in * 0.1)
        mean_out = base_head.weight.detach().float().mean(0)
        self.head = nn.Parameter(mean_out.expand(n, -1).clone())
        self.layout = layout

    def embed_ids(self, ids: torch.Tensor, base_embed: nn.Embedding) -> torch.Tensor:
        """(B, T) ids, base or extra -> (B, T, D) input embeddings."""
        extra = ids >= self.layout.first_id
        out = base_embed(ids.masked_fill(extra, 0))
        if extra.any():
            out = out.clone()
            out[extra] = self.embed[ids[extra] - self.layout.first_id].to(out.dtype)
        return out

    def logits(self, hidden: torch.Tensor, base_logits: torch.Tensor) -> torch.Tensor:
        """Base logits (B, T, V) extended with the extra tokens' (B, T, V + n)."""
        return torch.cat([base_logits, hidden @ self.head.to(hidden.dtype).T], -1)
