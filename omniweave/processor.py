"""Conversations -> token ids, labels and the places where media go in and come out.

Messages are chat-template dicts (``role``, ``content``) whose text holds placeholders:
``<image>``, ``<audio>``, ``<video>``. In a user turn a placeholder is an input medium (the k-th
placeholder of a conversation is its k-th medium); it becomes ``[BOI]`` + N feature slots +
``[EOI]``, the slots filled later by the input projector (``AnyToAny.embed``). In an assistant
turn it is a medium the model generates; it becomes the modality's signal tokens
(``[IMG0]``..``[IMG3]``), learned like any text, and the turn's ``outputs`` name the captions
that the output projector is trained towards.

For a modality with ``perception: interactive``, each user turn that gives media of it ends with
one request group per such medium, ``[IMGREQ]`` + K ``[IMGDET]`` slots (filled by
``omniweave.perception``); a later user turn without media gets one group for the latest medium.

The LLM's own chat template renders the conversation, so any template works; the assistant's
spans (the only tokens with labels) are found by rendering each prefix with the generation
prompt, as LLaVA does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import torch
from transformers import PreTrainedTokenizerBase

from omniweave.config import ModelConfig
from omniweave.errors import ContextTooLong, InputError
from omniweave.llm import BOUNDARY, PLACEHOLDER, REQUEST, TokenLayout
from omniweave.tools.format import CALL_CLOSE, CALL_OPEN

IGNORE = -100
_PLACEHOLDER_RE = re.compile("|".join(re.escape(p) for p in PLACEHOLDER.values()))
_MODALITY_OF = {p: m for m, p in PLACEHOLDER.items()}
# where a request group goes (the processor adds these to user turns; never typed by users)
REQUEST_MARK = {m: f"<{m}-request>" for m in PLACEHOLDER}
_MARK_RE = re.compile("|".join(re.escape(p) for p in REQUEST_MARK.values()))
_REQUEST_OF = {p: m for m, p in REQUEST_MARK.items()}


@dataclass
class OutputSlot:
    modality: str
    positions: list[int]  # where the signal tokens sit in input_ids
    caption: str | None  # training target (None at inference)


@dataclass
class Encoded:
    """One conversation, ready to batch."""
    input_ids: list[int]
    labels: list[int]
    media: list[str] = field(default_factory=list)  # modality of each input medium, in order
    outputs: list[OutputSlot] = field(default_factory=list)
    requests: list[int] = field(default_factory=list)  # position of each request slot


class Processor:
    def __init__(self, cfg: ModelConfig, tokenizer: PreTrainedTokenizerBase, layout: TokenLayout):
        self.cfg, self.tokenizer, self.layout = cfg, tokenizer, layout
        self.first_signal = {layout.signal_ids(cfg, m)[0]: m for m in cfg.modalities}
        if tokenizer.chat_template is None:
            raise InputError(f"the tokenizer of {cfg.llm.path} has no chat template")
        # special tokens a reply's text drops; tool-call tags stay (Hermes-style models make
        # <tool_call> a special token, and the runtime reads calls from the text)
        kept = {i for t in (CALL_OPEN, CALL_CLOSE) if (i := tokenizer.convert_tokens_to_ids(t))
                is not None and tokenizer.convert_ids_to_tokens(i) == t}
        self._hidden = set(getattr(tokenizer, "all_special_ids", ()) or ()) - kept

    # ------------------------------------------------------------ rendering
    def _render(self, messages: list[dict[str, Any]], generation_prompt: bool) -> str:
        plain = [{"role": m["role"], "content": m["content"]} for m in messages]
        return self.tokenizer.apply_chat_template(plain, tokenize=False,
                                                  add_generation_prompt=generation_prompt)

    def _assistant_spans(self, messages: list[dict[str, Any]], full: str) -> list[tuple[int, int, int]]:
        """(start, end, message index) of every assistant reply in ``full``."""
        spans = []
        for i, m in enumerate(messages):
            if m["role"] != "assistant":
                continue
            before = self._render(messages[:i], generation_prompt=True)
            upto = self._render(messages[: i + 1], generation_prompt=False)
            if not (upto.startswith(before) and full.startswith(upto)):
                raise InputError("the chat template does not render conversations prefix by prefix; "
                                 "labels cannot be placed")
            spans.append((len(before), len(upto), i))
        return spans

    # ------------------------------------------------------------ encoding
    def media_tokens(self, modality: str) -> list[int]:
        """What an input medium becomes: [boundary] + N feature slots + [boundary]."""
        proj = self.cfg.modalities[modality].input_projector
        slots = [self.layout.id(PLACEHOLDER[modality])] * proj.num_tokens
        if proj.boundary_tokens:
            begin, end = BOUNDARY[modality]
            return [self.layout.id(begin), *slots, self.layout.id(end)]
        return slots

    def request_tokens(self, modality: str) -> list[int]:
        """What a request group becomes: the request slot + K detail slots."""
        req, det = REQUEST[modality]
        k = self.cfg.modalities[modality].interaction.requests
        return [self.layout.id(req)] + [self.layout.id(det)] * k

    def _with_requests(self, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """User turns end with their request marks (interactive modalities only)."""
        interactive = [m for m, mc in self.cfg.modalities.items() if mc.perception == "interactive"]
        if not interactive:
            return messages
        out, seen = [], set()
        for msg in messages:
            if msg["role"] != "user":
                out.append(msg)
                continue
            given = [_MODALITY_OF[p] for p in _PLACEHOLDER_RE.findall(msg["content"])]
            marks = ""
            for m in interactive:  # one modality's groups side by side (see perception.request_groups)
                count = given.count(m) or (1 if m in seen else 0)
                marks += REQUEST_MARK[m] * count
            seen |= set(given)
            out.append({**msg, "content": msg["content"].rstrip() + marks} if marks else msg)
        return out

    def encode(self, messages: list[dict[str, Any]], generation_prompt: bool = False) -> Encoded:
        """Token ids and labels of a conversation (labels only on assistant replies)."""
        if any(_MARK_RE.search(str(m.get("content", ""))) for m in messages):
            raise InputError("a message holds a request mark (" + ", ".join(REQUEST_MARK.values())
                             + "); those are the processor's own")
        messages = self._with_requests(messages)
        full = self._render(messages, generation_prompt)
        spans = self._assistant_spans(messages, full)
        cuts = sorted({0, len(full), *(s for s, _, _ in spans), *(e for _, e, _ in spans)}
                      | {p for m in _PLACEHOLDER_RE.finditer(full) for p in m.span()}
                      | {p for m in _MARK_RE.finditer(full) for p in m.span()})
        out = Encoded([], [])
        captions = {i: [o["caption"] for o in messages[i].get("outputs", [])] for _, _, i in spans}
        used = {i: 0 for i in captions}
        pieces = [full[a:b] for a, b in pairwise(cuts)]
        for k, (a, piece) in enumerate(zip(cuts, pieces, strict=False)):
            reply = next((i for s, e, i in spans if s <= a < e), None)
            modality = _MODALITY_OF.get(piece)
            if piece in _REQUEST_OF and reply is None:  # a request group
                out.requests.append(len(out.input_ids))
                ids = self.request_tokens(_REQUEST_OF[piece])
                out.input_ids += ids
                out.labels += [IGNORE] * len(ids)
            elif modality is None:
                if reply is not None and k + 1 < len(pieces) and pieces[k + 1] in _MODALITY_OF:
                    piece = piece.rstrip()  # "... circle.[IMG0]": no lone space token to learn
                ids = self.tokenizer(piece, add_special_tokens=False).input_ids
                out.input_ids += ids
                out.labels += ids if reply is not None else [IGNORE] * len(ids)
            elif modality not in self.cfg.modalities:
                raise InputError(f"this model has no {modality} modality ({piece} in the conversation)")
            elif reply is None:  # an input medium
                ids = self.media_tokens(modality)
                out.media.append(modality)
                out.input_ids += ids
                out.labels += [IGNORE] * len(ids)
            else:  # a medium the assistant generates
                ids = self.layout.signal_ids(self.cfg, modality)
                k = used[reply]
                caption = captions[reply][k] if k < len(captions[reply]) else None
                used[reply] += 1
                out.outputs.append(OutputSlot(modality, list(range(len(out.input_ids),
                                                                   len(out.input_ids) + len(ids))),
                                              caption))
                out.input_ids += ids
                out.labels += ids
        for modality in set(out.media):
            count, most = out.media.count(modality), self.cfg.modalities[modality].max_inputs
            if count > most:
                raise InputError(f"{count} {modality} inputs in one conversation; this model takes "
                                 f"at most {most} (modalities.{modality}.max_inputs)")
        limit = self.cfg.llm.max_length
        if len(out.input_ids) > limit:
            raise ContextTooLong(f"the conversation is {len(out.input_ids)} tokens; the LLM's context "
                                 f"(llm.max_length) is {limit}")
        return out

    # ------------------------------------------------------------ batching
    def collate(self, items: list[Encoded], left_pad: bool = False) -> dict[str, torch.Tensor]:
        """Pad a batch: ``input_ids``, ``attention_mask``, ``labels`` (B, T)."""
        width = max(len(x.input_ids) for x in items)
        pad = self.tokenizer.pad_token_id
        ids = torch.full((len(items), width), pad, dtype=torch.long)
        labels = torch.full((len(items), width), IGNORE, dtype=torch.long)
        mask = torch.zeros((len(items), width), dtype=torch.long)
        for b, x in enumerate(items):
            n = len(x.input_ids)
            sl = slice(width - n, width) if left_pad else slice(0, n)
            ids[b, sl] = torch.tensor(x.input_ids)
            labels[b, sl] = torch.tensor(x.labels)
            mask[b, sl] = 1
        return {"input_ids": ids, "attention_mask": mask, "labels": labels}

    # ------------------------------------------------------------ decoding
    def decode(self, ids: list[int], placeholders: bool = False) -> str:
        """Text of generated ids: signal tokens left out, or (``placeholders``) each group written
        as its modality's placeholder, which is how a reply re-enters a conversation."""
        pieces, run = [], []
        for i in ids:
            if i < self.layout.first_id:
                run.append(i)
                continue
            if placeholders and i in self.first_signal:  # a group starts: one placeholder
                pieces += [self._text(run), PLACEHOLDER[self.first_signal[i]]]
                run = []
        pieces.append(self._text(run))
        return " ".join(" ".join(pieces).split())

    def _text(self, ids: list[int]) -> str:
        return self.tokenizer.decode([i for i in ids if i not in self._hidden])
