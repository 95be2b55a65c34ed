"""The language model side: a transformers causal LM, its tokenizer, and the tokens omniweave adds.

omniweave never resizes the LLM's embedding table. Its extra tokens (media placeholders, the
``[boi]``/``[eoi]``-style boundaries and the ``[IMG0]``.. signal tokens) get ids from the LLM's
``vocab_size`` upward and live in ``ExtraTokens``: an input-embedding table and an output head
of their own, spliced in beside the frozen ones. The base model stays untouched (and shareable),
and "train the signal tokens" means exactly these two small tables.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from functools import cache
from typing import Any

import torch
from torch import nn
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from omniweave.config import MODALITIES, LLMConfig, ModelConfig
from omniweave.errors import InputError
from omniweave.hub import pick_device, resolve_path, runtime, torch_dtype

BOUNDARY = {"image": ("[BOI]", "[EOI]"), "audio": ("[BOA]", "[EOA]"), "video": ("[BOV]", "[EOV]")}
PLACEHOLDER = {"image": "<image>", "audio": "<audio>", "video": "<video>"}
# interactive perception: a request slot and the detail slots that follow it (omniweave.perception)
REQUEST = {"image": ("[IMGREQ]", "[IMGDET]"), "audio": ("[AUDREQ]", "[AUDDET]"),
           "video": ("[VIDREQ]", "[VIDDET]")}
# Vicuna v1.1 (Vicuna 7B/13B v1.5 ship no chat template): system line, ``USER: … ASSISTANT: …</s>``
VICUNA_TEMPLATE = (
    "{{ bos_token }}{% if messages and messages[0]['role'] == 'system' %}"
    "{{ messages[0]['content'] | trim }} {% set loop_messages = messages[1:] %}"
    "{% else %}A chat between a curious user and an artificial intelligence assistant. "
    "The assistant gives helpful, detailed, and polite answers to the user's questions. "
    "{% set loop_messages = messages %}{% endif %}"
    "{% for message in loop_messages %}{% if message['role'] == 'user' %}"
    "USER: {{ message['content'] | trim }} {% elif message['role'] == 'assistant' %}"
    "ASSISTANT: {{ message['content'] | trim }}{{ eos_token }}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}ASSISTANT:{% endif %}")


def _quantization(cfg: LLMConfig):
    """A bitsandbytes config for ``load_in_4bit``/``load_in_8bit``; a clear error without CUDA
    or bitsandbytes."""
    import importlib.util

    if cfg.load_in_4bit and cfg.load_in_8bit:
        raise InputError("llm.load_in_4bit and llm.load_in_8bit: choose one")
    flag = "llm.load_in_4bit" if cfg.load_in_4bit else "llm.load_in_8bit"
    if not torch.cuda.is_available():
        raise InputError(f"{flag} needs a CUDA GPU (bitsandbytes); this machine has none")
    if importlib.util.find_spec("bitsandbytes") is None:
        raise InputError(f"{flag} needs bitsandbytes: pip install bitsandbytes")
    from transformers import BitsAndBytesConfig

    if cfg.load_in_8bit:
        return BitsAndBytesConfig(load_in_8bit=True)
    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                              bnb_4bit_use_double_quant=True,
                              bnb_4bit_compute_dtype=torch_dtype(cfg.dtype))


@cache
def _cache_keyword(cls: type) -> str:
    return "cache" if "cache" in inspect.signature(cls.forward).parameters else "past_key_values"


def kv_cache_arg(llm: nn.Module, past: Any) -> dict[str, Any]:
    """The keyword argument that hands ``past`` (a KV cache, or None) to ``llm``'s forward: ``cache``
    in recent transformers, ``past_key_values`` in older ones and in models that kept that name."""
    base = llm.get_base_model() if hasattr(llm, "get_base_model") else llm  # a peft wrapper passes it on
    return {_cache_keyword(type(base)): past}


def kv_cache_of(out: Any) -> Any:
    """The KV cache a causal LM's forward returned, under either name (see ``kv_cache_arg``)."""
    return out.cache if "cache" in getattr(out, "__dataclass_fields__", {}) else out.past_key_values


def load_llm(cfg: LLMConfig, device: str = "cpu") -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """The causal LM (frozen, eval mode, on ``device``) and its tokenizer.

    The chat template is ``cfg.chat_template`` when set, else the tokenizer's own, else Vicuna's.
    With ``load_in_4bit``/``load_in_8bit`` the weights are quantised by bitsandbytes on this
    process's GPU.
    """
    path = resolve_path(cfg.path, component="llm", key="llm.path")
    dev, dtype = runtime(cfg.dtype, device)
    options: dict = {"dtype": dtype}
    if cfg.attn_implementation:
        options["attn_implementation"] = cfg.attn_implementation
    quantized = cfg.load_in_4bit or cfg.load_in_8bit
    if quantized:
        options["quantization_config"] = _quantization(cfg)
        options["device_map"] = {"": pick_device("auto").index or 0}
    model = AutoModelForCausalLM.from_pretrained(path, **options)
    if not quantized:
        model.to(dev)
    tokenizer = AutoTokenizer.from_pretrained(path)
    if cfg.chat_template:
        tokenizer.chat_template = cfg.chat_template
    elif not tokenizer.chat_template:
        tokenizer.chat_template = VICUNA_TEMPLATE
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token if tokenizer.eos_token is not None else tokenizer.unk_token
    if cfg.split_digits:
        split_digits(tokenizer)
    return model.eval().requires_grad_(False), tokenizer


def split_digits(tokenizer) -> None:
    """Make a fast tokenizer read numbers one digit per token (before its own pre-tokenizer):
    "467" becomes 4, 6, 7 whatever merges its vocabulary holds. Text without digits tokenizes
    as before."""
    from tokenizers import pre_tokenizers

    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        raise InputError("llm.split_digits needs a fast (tokenizers-backed) tokenizer")
    old = backend.pre_tokenizer
    if "Digits(individual_digits=True)" in str(old):
        return
    digits = pre_tokenizers.Digits(individual_digits=True)
    backend.pre_tokenizer = digits if old is None else pre_tokenizers.Sequence([digits, old])


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
        for m in MODALITIES:  # after all the others: a model without them keeps its ids
            if m in cfg.modalities and cfg.modalities[m].perception == "interactive":
                names += list(REQUEST[m])
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
        self.embed = nn.Parameter(mean_in + torch.randn(n, mean_in.numel(), device=mean_in.device) * std_in * 0.1)
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
