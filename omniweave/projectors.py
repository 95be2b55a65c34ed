"""Projectors between the frozen parts: media features -> LLM embeddings, LLM states -> conditioning.

Input side (one per modality): ``linear`` and ``mlp`` map a pooled feature to ``num_tokens`` LLM
embeddings; ``mapper`` (Open-LLaMA-Eyes style) runs a small transformer over the encoder's tokens
with a learnable prefix and emits the prefix positions; ``qformer`` (BLIP-2 style, without the text
branch) has ``num_tokens`` learnable queries that attend to each other and cross-attend to the
encoder's patch/frame tokens, and emits the queries.

Output side (NExT-GPT): the signal tokens' last hidden states, plus their input embeddings, go
through a linear layer into a small transformer whose learnable queries produce the decoder's
conditioning sequence (length and width read from the decoder).
"""

from __future__ import annotations

import warnings

import torch
from torch import nn

from omniweave.config import InputProjectorConfig, OutputProjectorConfig


class InputProjector(nn.Module):
    """(B, F) pooled or (B, L, F) token features -> (B, num_tokens, llm_width)."""

    def __init__(self, cfg: InputProjectorConfig, feature_width: int, llm_width: int,
                 embed_rms: float = 1.0):
        super().__init__()
        self.cfg = cfg
        n, h = cfg.num_tokens, cfg.hidden_size
        if cfg.kind == "linear":
            self.net = nn.Linear(feature_width, n * llm_width)
        elif cfg.kind == "mlp":
            self.net = nn.Sequential(nn.Linear(feature_width, h), nn.GELU(),
                                     nn.Linear(h, n * llm_width))
        elif cfg.kind == "mapper":
            self.inp = nn.Linear(feature_width, h)
            self.prefix = nn.Parameter(torch.randn(n, h) * h**-0.5)
            layer = nn.TransformerEncoderLayer(h, nhead=max(1, h // 64), dim_feedforward=2 * h,
                                               batch_first=True, norm_first=True, dropout=0.0)
            self.mapper = nn.TransformerEncoder(layer, cfg.num_layers, enable_nested_tensor=False)
            self.out = nn.Linear(h, llm_width)
        elif cfg.kind == "qformer":
            self.inp = TokenMemory(feature_width, h)
            self.queries = nn.Parameter(torch.randn(n, h) * h**-0.5)
            self.qformer = cross_attention_stack(h, cfg.num_layers, max(1, h // 64))
            self.out = nn.Sequential(nn.Linear(h, llm_width), EmbeddingScale(embed_rms))
        else:
            raise ValueError(f"unknown input projector kind {cfg.kind!r}")
        self.llm_width = llm_width

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        b = features.shape[0]
        if self.cfg.kind == "mapper":
            tokens = features if features.ndim == 3 else features[:, None]  # (B, L, F)
            x = torch.cat([self.prefix.expand(b, -1, -1), self.inp(tokens)], 1)
            return self.out(self.mapper(x)[:, : self.cfg.num_tokens])  # (B, N, D)
        if self.cfg.kind == "qformer":
            tokens = features if features.ndim == 3 else features[:, None]  # (B, L, F)
            q = self.queries.expand(b, -1, -1)  # (B, N, H)
            return self.out(self.qformer(q, self.inp(tokens)))  # (B, N, D)
        pooled = features if features.ndim == 2 else features.mean(1)  # (B, F)
        return self.net(pooled).view(b, self.cfg.num_tokens, self.llm_width)


class TokenMemory(nn.Module):
    """Encoder tokens (B, L, F) -> (B, L, H) for cross-attention: normalised, projected, plus a
    learned embedding of each token's index (where a patch or frame is: attention alone is blind
    to order, and a small encoder's features carry their position only faintly)."""

    MAX_TOKENS = 1024

    def __init__(self, feature_width: int, width: int):
        super().__init__()
        self.proj = nn.Sequential(nn.LayerNorm(feature_width), nn.Linear(feature_width, width))
        self.position = nn.Parameter(torch.zeros(self.MAX_TOKENS, width))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        n = tokens.shape[1]
        if n > self.MAX_TOKENS:
            raise ValueError(f"{n} encoder tokens; cross-attention memory takes {self.MAX_TOKENS}")
        return self.proj(tokens) + self.position[:n]


class ToEmbeddings(nn.Module):
    """(..., H) -> (..., D) LLM input embeddings. ``linear``: a projection scaled to the size of
    the LLM's word embeddings (``EmbeddingScale``); ``vocabulary``: a softmax mixture of the
    LLM's own word embeddings ``words`` (V, D), passed to ``forward``."""

    def __init__(self, kind: str, width: int, llm_width: int, embed_rms: float, vocab_size: int):
        super().__init__()
        self.kind = kind
        if kind == "vocabulary":
            self.proj = nn.Linear(width, vocab_size)
        else:
            self.proj = nn.Sequential(nn.Linear(width, llm_width), EmbeddingScale(embed_rms))

    def forward(self, x: torch.Tensor, words: torch.Tensor | None = None) -> torch.Tensor:
        return self.with_logits(x, words)[0]

    def with_logits(self, x: torch.Tensor, words: torch.Tensor | None = None
                    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The embeddings and, for ``vocabulary``, the word logits (..., V) they mix by."""
        if self.kind != "vocabulary":
            return self.proj(x), None
        if words is None:
            raise ValueError("a vocabulary output needs the LLM's word embeddings")
        logits = self.proj(x).float()
        return torch.softmax(logits, -1).to(words.dtype) @ words, logits  # (..., D), (..., V)


class EmbeddingScale(nn.Module):
    """x / rms(x) * gain: vectors at the size of the LLM's own token embeddings (``gain`` starts at
    their RMS and trains), so soft tokens neither drown out nor vanish beside the text."""

    def __init__(self, rms: float):
        super().__init__()
        self.gain = nn.Parameter(torch.tensor(float(rms)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * self.gain


def cross_attention_stack(width: int, layers: int, heads: int) -> nn.TransformerDecoder:
    """Queries (B, N, H) x memory (B, L, H) -> (B, N, H): self-attention among the queries,
    cross-attention to the memory, feed-forward; pre-norm, with a final norm."""
    layer = nn.TransformerDecoderLayer(width, nhead=heads, dim_feedforward=2 * width, dropout=0.0,
                                       batch_first=True, norm_first=True)
    return nn.TransformerDecoder(layer, layers, norm=nn.LayerNorm(width))


class OutputProjector(nn.Module):
    """Signal-token states (B, S, llm_width) -> decoder conditioning (B, cond_len, cond_width)."""

    def __init__(self, cfg: OutputProjectorConfig, llm_width: int, cond_len: int, cond_width: int):
        super().__init__()
        h = cfg.hidden_size
        self.inp = nn.Linear(2 * llm_width, h)  # last hidden state ++ input embedding
        self.queries = nn.Parameter(torch.randn(cond_len, h) * h**-0.5)
        with warnings.catch_warnings():  # nested tensors do not apply to norm_first layers
            warnings.simplefilter("ignore", UserWarning)
            self.transformer = nn.Transformer(
                d_model=h, nhead=cfg.num_heads, num_encoder_layers=cfg.num_layers,
                num_decoder_layers=cfg.num_layers, dim_feedforward=2 * h, dropout=0.0,
                batch_first=True, norm_first=True)
        self.out = nn.Linear(h, cond_width)

    def forward(self, hidden: torch.Tensor, embeds: torch.Tensor) -> torch.Tensor:
        x = self.inp(torch.cat([hidden, embeds], -1).to(self.inp.weight.dtype))  # (B, S, H)
        q = self.queries.expand(x.shape[0], -1, -1)  # (B, cond_len, H)
        return self.out(self.transformer(x, q))  # (B, cond_len, cond_width)
