"""Constrained tool calls: whatever the model writes inside a ``<tool_call>`` block is a
well-formed call of a listed tool, its arguments valid against the tool's schema.

A reply stays free text, and may hold calls; as soon as it writes ``<tool`` the decoding is held
to ``<tool_call>{"name": N, "arguments": {...}}</tool_call>`` where N is one of the tools the
conversation may call and the arguments follow N's JSON schema, written the way
``format.format_call`` writes them (``json.dumps`` separators). A media argument can only be the
index of a medium of its kind in the conversation; a tool whose required medium the conversation
lacks is not callable, and with no callable tool a reply cannot open a call at all. So malformed
calls and calls to tools that do not exist cannot happen, by construction, at any model size.

The grammar engine is llguidance (the structured-output engine of llama.cpp and vLLM); the
grammar is its structural-tag form (``StructTag``: a lazy trigger in running text that starts a
constrained segment), written here so the text rule can also refuse stray tags and special-token
tags can be used. ``CallGuide`` runs one matcher per conversation in ``AnyToAny.generate``.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

import torch

from omniweave.tools.format import CALL_CLOSE, CALL_OPEN
from omniweave.tools.registry import Tool

log = logging.getLogger(__name__)

TRIGGER = "<tool"  # a reply that writes this is writing a call (it catches "<tool_cal" typos too)
# free text: anything but a call tag ("<tool" starts a call; a stray "</tool" is never text)
_TEXT = r"/(.|\n)*/ & ~/(.|\n)*<\/?tool(.|\n)*/"
# json.dumps's separators, as format_call writes calls and the training data holds them
_SEPARATORS = {"item_separator": ", ", "key_separator": ": ", "whitespace_flexible": False}
_SHIFTS = torch.arange(32, dtype=torch.int32)  # unpacks llguidance's 32-bit mask words


def arguments_schema(t: Tool, media_kinds: Sequence[str]) -> dict[str, Any] | None:
    """``t``'s argument schema with each media argument narrowed to the indices of the
    conversation's media of its kind; None when a required medium is missing (not callable)."""
    schema = copy.deepcopy(t.parameters) if t.parameters else {"type": "object"}
    props = schema.get("properties", {})
    required = set(schema.get("required", ()))
    for arg, kind in t.media_args().items():
        indices = [i for i, k in enumerate(media_kinds) if k == kind]
        if indices:
            props[arg] = {"enum": indices}
        elif arg in required:
            return None
        else:
            del props[arg]
    return schema


def call_grammar(tools: Iterable[Tool], media_kinds: Sequence[str], special: bool = False) -> str:
    """The Lark grammar (llguidance's dialect) of a reply that may call ``tools``.

    ``special``: the tokenizer has ``<tool_call>`` and ``</tool_call>`` as special tokens (some
    Hermes-style chat models); they are then written as such, never as text.
    """
    calls = []
    for t in tools:
        args = arguments_schema(t, media_kinds)
        if args is None:
            continue
        if not _compiles(json.dumps(args)):  # a schema llguidance does not support: any object
            log.warning("tool %s: its argument schema cannot constrain decoding; any JSON object "
                        "is let through (the runtime still validates it)", t.name)
            args = {"type": "object"}
        head = '{"name": ' + json.dumps(t.name) + ', "arguments": '
        body = f"%json {json.dumps({**args, 'x-guidance': _SEPARATORS})}"
        i = len(calls)
        if special:
            calls.append(f"call_{i}: TEXT {CALL_OPEN} {json.dumps(head)} {body} \"}}\" {CALL_CLOSE}")
        else:  # the text before a call ends lazily, at the first "<tool"
            calls.append(f"call_{i}_open[lazy]: TEXT {json.dumps(TRIGGER)}\n"
                         f"call_{i}: call_{i}_open {json.dumps(CALL_OPEN[len(TRIGGER):] + head)} "
                         f"{body} {json.dumps('}' + CALL_CLOSE)}")
    if not calls:
        return f"start: TEXT\nTEXT: {_TEXT}\n"
    alternatives = " | ".join(f"call_{i}" for i in range(len(calls)))
    return "\n".join([f"start: ({alternatives})* TEXT", f"TEXT: {_TEXT}", *calls]) + "\n"


def _special_tags(tokenizer) -> bool:
    specials = set(getattr(tokenizer, "all_special_tokens", ()) or ())
    return CALL_OPEN in specials and CALL_CLOSE in specials


@lru_cache(maxsize=256)
def _compiles(schema: str) -> bool:
    import llguidance

    return not llguidance.LLMatcher.validate_grammar(llguidance.LLMatcher.grammar_from_json_schema(schema))


@lru_cache(maxsize=8)
def _ll_tokenizer(tokenizer):
    """llguidance's view of a transformers tokenizer (built once per tokenizer: it walks the vocab)."""
    import llguidance.hf

    return llguidance.hf.from_tokenizer(tokenizer)


@lru_cache(maxsize=64)
def _compiled(tok, lark: str):
    """A fresh matcher for a grammar, compiled once (copies start from it: compiling the
    free-text rule takes ~0.3 s, a copy microseconds)."""
    import llguidance

    matcher = llguidance.LLMatcher(tok, lark, log_level=0)
    if matcher.is_error():
        raise ValueError(f"tool-call grammar: {matcher.get_error()}")
    return matcher


class CallGuide:
    """One conversation's matcher during decoding: ``mask`` before each token, ``advance`` after.

    Token ids the tokenizer does not know (omniweave's own added tokens: signal tokens) bypass
    the matcher: free text allows them, a call in progress does not.
    """

    def __init__(self, tokenizer, tools: Iterable[Tool], media_kinds: Sequence[str]):
        self.tok = _ll_tokenizer(tokenizer)
        self.vocab = self.tok.vocab_size
        self.eos = tokenizer.eos_token_id
        lark = call_grammar(tools, media_kinds, special=_special_tags(tokenizer))
        self.matcher = _compiled(self.tok, lark).deep_copy()
        self._bits = torch.full(((self.vocab + 31) // 32,), -1, dtype=torch.int32)
        self.active = True

    def mask(self) -> tuple[torch.Tensor, bool] | None:
        """(allowed ids among the tokenizer's vocab, whether a call is in progress), or None once
        the matcher has stopped (the reply ended) or failed."""
        if not self.active or self.matcher.is_stopped() or self.matcher.is_error():
            return None
        self.matcher.unsafe_compute_mask_ptr(self._bits.data_ptr(), self._bits.numel() * 4)
        allowed = ((self._bits[:, None] >> _SHIFTS) & 1).flatten()[: self.vocab].bool()
        in_call = self.eos is None or not bool(allowed[self.eos])
        return allowed, in_call

    def advance(self, token: int) -> None:
        if not self.active or token >= self.vocab:
            return
        if not self.matcher.consume_token(token):  # cannot happen under the mask; never fatal
            log.warning("tool-call grammar: %s", self.matcher.get_error())
            self.active = False


def guides(tokenizer, tools: Sequence[Tool] | None, media_kinds: Sequence[Sequence[str]]
           ) -> list[CallGuide] | None:
    """A guide per conversation when ``tools`` are given (None: decoding is not constrained)."""
    if tools is None:
        return None
    return [CallGuide(tokenizer, tools, kinds) for kinds in media_kinds]


def constrain(logits: torch.Tensor, row_guides: list[CallGuide] | None, rows: Iterable[int]) -> None:
    """Mask ``logits`` (B, V) in place for the given rows, each by its guide."""
    if not row_guides:
        return
    for r in rows:
        got = row_guides[r].mask()
        if got is None:
            continue
        allowed, in_call = got
        n = min(len(allowed), logits.shape[1])
        logits[r, :n].masked_fill_(~allowed[:n], float("-inf"))
        if in_call:
            logits[r, n:] = float("-inf")
