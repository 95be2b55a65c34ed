"""AnyToAny: encode -> project -> LLM with signal tokens -> project -> diffuse.

The base components (encoders, LLM, decoders) are frozen and loaded from where the config says;
what omniweave adds and trains is small: the input projectors, the output projectors, the extra
tokens (``ExtraTokens``), the interactive-perception modules of modalities that have them
(``omniweave.perception``) and, in instruction tuning, a LoRA adapter on the LLM. Checkpoints hold
exactly those (``save_pretrained``/``from_pretrained``).
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn
from torch.nn import functional as F

from omniweave import __version__
from omniweave.config import (
    TRAINABLE_PARTS,
    ModelConfig,
    StageConfig,
    from_dict,
    load_preset,
    needs_tokens,
    to_dict,
)
from omniweave.decoders import MediaDecoder, build_decoder
from omniweave.encoders import MediaEncoder, build_encoder
from omniweave.errors import InputError
from omniweave.files import atomic_dir
from omniweave.hub import resolve_path
from omniweave.llm import (
    PLACEHOLDER,
    REQUEST,
    ExtraTokens,
    TokenLayout,
    kv_cache_arg,
    kv_cache_of,
    load_llm,
)
from omniweave.media import Audio, Image, Media, Video, save_media
from omniweave.perception import (
    InteractivePerception,
    Prefill,
    detail_word_loss,
    prefill,
    target_loss,
)
from omniweave.processor import IGNORE, Processor
from omniweave.projectors import InputProjector, OutputProjector
from omniweave.tools import grammar

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
LORA_DIR = "lora"
LLM_DIR = "llm"  # the whole LLM, when a stage trained it in full (a transformers folder)
_KIND = {Image: "image", Audio: "audio", Video: "video"}


@dataclass
class Response:
    """A generated reply: its text and the media it made, in order."""
    text: str
    media: list[Media] = field(default_factory=list)
    raw: str = ""  # the text with a placeholder where each medium was made (for the history)

    def save(self, out_dir: str | Path, stem: str = "reply") -> list[Path]:
        """Write the media as ``stem-<k>.png|wav|mp4`` under ``out_dir``."""
        suffix = {"image": ".png", "audio": ".wav", "video": ".mp4"}
        out = Path(out_dir)
        return [save_media(m, out / f"{stem}-{k}{suffix[_KIND[type(m)]]}")
                for k, m in enumerate(self.media)]


def normalize_messages(messages: list[dict[str, Any]], media: list[Media] | None = None
                       ) -> tuple[list[dict[str, Any]], list[Media]]:
    """Messages whose content is text with placeholders, and their media in order.

    Content may be a string with ``<image>``/``<audio>``/``<video>`` placeholders (media then
    come in ``media``, in placeholder order) or a list of parts: strings, ``{"type": "text",
    "text": ...}``, or media objects (``Image``/``Audio``/``Video``).
    """
    out, found = [], list(media or [])
    for m in messages:
        content = m.get("content", "")
        if isinstance(content, list):
            pieces = []
            for part in content:
                if isinstance(part, (Image, Audio, Video)):
                    pieces.append(PLACEHOLDER[_KIND[type(part)]] + "\n")
                    found.append(part)
                elif isinstance(part, dict) and part.get("type") == "text":
                    pieces.append(part["text"])
                elif isinstance(part, str):
                    pieces.append(part)
                else:
                    raise InputError(f"unsupported message part {part!r}")
            content = "".join(pieces)
        out.append({**m, "content": content})
    return out, found


def _adapter_weight(name: str) -> bool:
    """Whether an LLM weight belongs to the peft adapter: LoRA matrices or a module it trains whole."""
    return "lora_" in name or "modules_to_save" in name


def _without_adapter(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A peft-wrapped model's state dict as its base model's: the adapter's weights dropped, the
    wrapped layers' own weights under their plain names."""
    out = {}
    for k, v in state.items():
        if _adapter_weight(k):
            continue
        k = k.removeprefix("base_model.model.")  # a gathered state dict names the peft wrapper too
        out[k.replace(".base_layer.", ".").replace(".original_module.", ".")] = v
    return out


class AnyToAny(nn.Module):
    def __init__(self, cfg: ModelConfig, llm: nn.Module, tokenizer: Any,
                 encoders: dict[str, MediaEncoder], decoders: dict[str, MediaDecoder]):
        super().__init__()
        self.cfg = cfg
        self.llm = llm
        self.tokenizer = tokenizer
        self.encoders = encoders  # frozen, shared, not registered as submodules
        self.decoders = decoders
        width = llm.config.hidden_size
        # the size of the LLM's own token embeddings (qformer and perception outputs start at it)
        embed_rms = float(llm.get_input_embeddings().weight.detach().float().pow(2).mean().sqrt())
        self.layout = TokenLayout.from_config(cfg, llm.config.vocab_size)
        self.extra = ExtraTokens(self.layout, llm.get_input_embeddings(), llm.get_output_embeddings())
        self.input_projectors = nn.ModuleDict({
            m: InputProjector(mc.input_projector, encoders[m].feature_width, width, embed_rms)
            for m, mc in cfg.modalities.items()})
        self.output_projectors = nn.ModuleDict({
            m: OutputProjector(mc.output_projector, width, *decoders[m].conditioning_shape)
            for m, mc in cfg.modalities.items()})
        self.perception = nn.ModuleDict({
            m: InteractivePerception(mc.interaction, encoders[m].feature_width, width, embed_rms,
                                     llm.get_input_embeddings().num_embeddings)
            for m, mc in cfg.modalities.items() if mc.perception == "interactive"})
        with torch.no_grad():  # the request slot starts as its extra token's embedding
            for m, module in self.perception.items():
                module.request_token.copy_(self.extra.embed[self.layout.id(REQUEST[m][0])
                                                            - self.layout.first_id])
        self.processor = Processor(cfg, tokenizer, self.layout)
        self.lora_enabled = False
        self.llm_whole = False  # the LLM's own weights trained (a ``full`` stage): saved whole
        self.trained_stages: list[str] = []  # the stages a loaded checkpoint went through
        device = next(llm.parameters()).device
        for name, module in self.named_children():  # what omniweave adds runs beside the LLM
            if name != "llm":
                module.to(device)

    # ------------------------------------------------------------ building and checkpoints
    @classmethod
    def from_config(cls, cfg: ModelConfig, seed: int = 0, llm_path: Path | None = None) -> AnyToAny:
        """Fresh projectors and extra tokens on top of the base components a config names
        (the LLM from ``llm_path`` instead of ``cfg.llm.path`` when given)."""
        from omniweave.doctor import require_components

        require_components(cfg)  # every missing component named at once, before any loading
        llm_cfg = cfg.llm if llm_path is None else replace(cfg.llm, path=str(llm_path))
        llm, tokenizer = load_llm(llm_cfg, cfg.device)
        encoders = {m: build_encoder(mc.encoder, cfg.device) for m, mc in cfg.modalities.items()}
        decoders = {m: build_decoder(mc.decoder, cfg.device) for m, mc in cfg.modalities.items()}
        torch.manual_seed(seed)
        return cls(cfg, llm, tokenizer, encoders, decoders)

    @classmethod
    def from_preset(cls, name: str, overrides: list[str] | None = None,
                    trained: bool = True) -> AnyToAny:
        """A preset's model; with ``trained`` and a shipped ``checkpoint``, its trained weights."""
        cfg = load_preset(name, overrides)
        if trained and cfg.checkpoint:
            return cls.from_pretrained(resolve_path(cfg.checkpoint), preset=cfg.name)
        return cls.from_config(cfg)

    @classmethod
    def from_pretrained(cls, path: str | Path, preset: str | None = None,
                        config: ModelConfig | None = None) -> AnyToAny:
        """A checkpoint written by ``save_pretrained``, on top of its base components.

        ``config`` (a training run's, for ``--init``) builds the model instead of the checkpoint's
        own config: the run's settings apply (tokenizer, dtype, stages...), and weights that do
        not fit them are an error."""
        path = Path(path)
        if not (path / CONFIG_FILE).is_file():
            raise InputError(f"{path}: not an omniweave checkpoint (no {CONFIG_FILE})")
        meta = json.loads((path / CONFIG_FILE).read_text())
        if preset is not None and meta.get("preset") != preset:
            raise InputError(f"{path} is a checkpoint of preset {meta.get('preset')!r}, "
                             f"not {preset!r}")
        # a stage that trained the LLM in full left its weights here, not at llm.path
        whole = path / LLM_DIR if (path / LLM_DIR).is_dir() else None
        model = cls.from_config(config if config is not None else from_dict(meta["config"]),
                                llm_path=whole)
        model.llm_whole = whole is not None
        if (path / LORA_DIR).is_dir():
            from peft import PeftModel

            with warnings.catch_warnings():  # peft calls a transformers API deprecated for v6
                warnings.simplefilter("ignore", FutureWarning)
                model.llm = PeftModel.from_pretrained(model.llm, path / LORA_DIR)
            model.lora_enabled = True
        state = load_file(path / WEIGHTS_FILE)
        own = model.trained_state()
        bad = sorted(set(state) ^ set(own))
        bad += [k for k in set(state) & set(own) if state[k].shape != own[k].shape]
        if bad:
            raise InputError(f"{path}: its weights do not fit this config (first: {bad[0]}); "
                             "was it trained with other settings?")
        model.load_state_dict(state, strict=False)
        model.trained_stages = list(meta.get("stages", []))
        return model.eval()

    def trained_state(self, state_dict: dict[str, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
        """What omniweave adds to the base components (LoRA is saved beside, by peft), from
        ``state_dict`` (a full one, e.g. gathered from sharded ranks) or the model's own."""
        state = self.state_dict() if state_dict is None else state_dict
        return {k: v for k, v in state.items()
                if k.split(".")[0] in ("extra", "input_projectors", "output_projectors", "perception")}

    def save_pretrained(self, out: str | Path, dtype: torch.dtype | None = None,
                        extra_meta: dict | None = None,
                        state_dict: dict[str, torch.Tensor] | None = None) -> Path:
        """Write config + trained weights (+ LoRA adapter) into ``out``, atomically.

        Under FSDP or DeepSpeed ZeRO-3 this process holds only shards: pass the full
        ``state_dict`` (``accelerator.get_state_dict(model)``, gathered on every rank)."""
        with atomic_dir(Path(out)) as tmp:
            meta = {"omniweave_version": __version__, "preset": self.cfg.name,
                    "config": to_dict(self.cfg), **(extra_meta or {})}
            (tmp / CONFIG_FILE).write_text(json.dumps(meta, indent=2) + "\n")
            state = {k: v.detach().to("cpu", dtype or v.dtype).contiguous()
                     for k, v in self.trained_state(state_dict).items()}
            save_file(state, tmp / WEIGHTS_FILE)
            llm_state = None if state_dict is None else {
                k[len("llm."):]: v for k, v in state_dict.items() if k.startswith("llm.")}
            if self.lora_enabled:
                self.llm.save_pretrained(tmp / LORA_DIR, state_dict=llm_state)
            if self.llm_whole:
                self._save_whole_llm(tmp / LLM_DIR, llm_state, dtype)
        return Path(out)

    def _save_whole_llm(self, out: Path, state: dict[str, torch.Tensor] | None,
                        dtype: torch.dtype | None) -> None:
        """The LLM's base weights as a transformers folder (with its tokenizer); under a LoRA
        adapter, the base without it (the adapter is saved beside, by peft)."""
        base = self.llm.get_base_model() if self.lora_enabled else self.llm
        if state is None:
            state = base.state_dict()
        if self.lora_enabled:
            state = _without_adapter(state)
        if dtype is not None:
            state = {k: v.to(dtype) for k, v in state.items()}
        base.save_pretrained(out, state_dict=state)
        self.tokenizer.save_pretrained(out)

    # ------------------------------------------------------------ trainable parts
    def set_trainable(self, stage: StageConfig) -> list[nn.Parameter]:
        """Apply a stage's trainable map; return the parameters that train."""
        self.requires_grad_(False)
        parts = {"llm": self.llm, "input_projectors": self.input_projectors,
                 "output_projectors": self.output_projectors, "signal_tokens": self.extra,
                 "perception": self.perception}
        assert set(parts) == set(TRAINABLE_PARTS)
        for part, mode in stage.trainable.items():
            if mode == "frozen":
                continue
            if mode == "lora":
                if part != "llm":
                    raise InputError(f"trainable.{part}: lora applies to the llm only")
                self.enable_lora(stage)
                for name, p in self.llm.named_parameters():
                    p.requires_grad_(_adapter_weight(name))
            elif part == "llm":
                self.train_llm_whole()
            else:
                parts[part].requires_grad_(True)
        if self.cfg.llm.gradient_checkpointing:
            kwargs = {"use_reentrant": False}
            if hasattr(self.llm, "activation_checkpointing_enable"):  # the name since transformers 5.2x
                self.llm.activation_checkpointing_enable(activation_checkpointing_kwargs=kwargs)
            else:
                self.llm.gradient_checkpointing_enable(gradient_checkpointing_kwargs=kwargs)
        return [p for p in self.parameters() if p.requires_grad]

    def train_llm_whole(self) -> None:
        """Make every LLM weight trainable (a ``full`` stage). An adapter from an earlier stage
        is merged in first, so the whole LLM trains and is saved as one transformers folder."""
        if getattr(self.llm, "is_loaded_in_4bit", False) or getattr(self.llm, "is_loaded_in_8bit", False):
            raise InputError("trainable.llm: full cannot train a 4/8-bit quantized LLM; use lora")
        if self.lora_enabled:
            self.llm = self.llm.merge_and_unload()
            self.lora_enabled = False
        self.llm_whole = True
        self.llm.requires_grad_(True)

    def enable_lora(self, stage: StageConfig) -> None:
        """Wrap the LLM in the stage's LoRA adapter. A model that has one already (a checkpoint
        from an earlier stage) keeps it; when the stage asks for more target modules or
        ``modules_to_save``, the adapter widens: same rank, the trained weights kept, the new
        targets starting at zero (the model's output unchanged until they train)."""
        from peft import LoraConfig, get_peft_model

        lc = stage.lora
        targets, save = list(lc.target_modules), list(lc.modules_to_save)
        if self.lora_enabled:
            have = self.llm.peft_config["default"]
            old_targets, old_save = set(have.target_modules), set(have.modules_to_save or [])
            if set(targets) <= old_targets and set(save) <= old_save:
                return
            r, alpha, dropout = have.r, have.lora_alpha, have.lora_dropout
            targets = sorted(old_targets | set(targets))
            save = sorted(old_save | set(save))
            kept = {k: v.detach().clone() for k, v in self.llm.state_dict().items()
                    if _adapter_weight(k)}
            base = self.llm.unload()
        else:
            r, alpha, dropout, kept, base = lc.r, lc.alpha, lc.dropout, {}, self.llm
            if getattr(base, "is_loaded_in_4bit", False) or getattr(base, "is_loaded_in_8bit", False):
                from peft import prepare_model_for_kbit_training

                base = prepare_model_for_kbit_training(
                    base, use_gradient_checkpointing=self.cfg.llm.gradient_checkpointing)
        both = sorted(set(targets) & set(save))
        if both:
            raise InputError(f"lora: {both[0]} is both a LoRA target and a module to save whole; "
                             "list it in one of target_modules and modules_to_save")
        with warnings.catch_warnings():  # peft calls a transformers API deprecated for v6
            warnings.simplefilter("ignore", FutureWarning)
            self.llm = get_peft_model(base, LoraConfig(
                r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=targets,
                modules_to_save=save or None, task_type="CAUSAL_LM"))
        if kept:
            state = self.llm.state_dict()
            missing = sorted(set(kept) - set(state))
            if missing:
                raise InputError(f"widening the LoRA adapter lost {missing[0]}")
            state.update(kept)
            self.llm.load_state_dict(state)
        self.lora_enabled = True

    # ------------------------------------------------------------ the one splice
    def embed(self, input_ids: torch.Tensor, media: dict[str, torch.Tensor],
              attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Token embeddings (B, T, D) with each medium's projected features in its slots.

        ``media[m]`` holds the features of modality ``m``'s media in reading order (row by row,
        left to right), pooled (n, F) or tokens (n, L, F). With interactive perception, the
        detail slots are filled too (a first LLM pass; ``omniweave.perception``).
        """
        return self._splice(input_ids, media, attention_mask).embeds

    def _splice(self, input_ids: torch.Tensor, media: dict[str, torch.Tensor],
                attention_mask: torch.Tensor | None = None) -> Prefill:
        """``embed``, plus what the first pass computed for good (``perception.Prefill``)."""
        x = self.extra.embed_ids(input_ids, self.llm.get_input_embeddings())
        for m, feats in media.items():
            slots = input_ids == self.layout.id(PLACEHOLDER[m])  # (B, T)
            proj = self.input_projectors[m](feats.to(x.device))  # (n, N, D)
            if proj.shape[0] * proj.shape[1] != int(slots.sum()):
                raise InputError(f"{proj.shape[0]} {m} media for {int(slots.sum())} {m} slots "
                                 f"({proj.shape[1]} per medium)")
            x = x.masked_scatter(slots.unsqueeze(-1), proj.to(x.dtype))
        if len(self.perception):
            return prefill(self, input_ids, x, media, attention_mask)
        return Prefill(x)

    def encode_media(self, media: list[Media]) -> dict[str, torch.Tensor]:
        """Features per modality (in order) of the given media, as the projectors take them."""
        by_kind: dict[str, list[Media]] = {}
        for item in media:
            kind = _KIND[type(item)]
            if kind not in self.cfg.modalities:
                raise InputError(f"this model has no {kind} input")
            by_kind.setdefault(kind, []).append(item)
        out = {}
        for kind, items in by_kind.items():
            feats = self.encoders[kind].encode(kind, items)
            out[kind] = feats.tokens if needs_tokens(self.cfg.modalities[kind]) else feats.pooled
        return out

    # ------------------------------------------------------------ training
    def forward(self, input_ids: torch.Tensor | None = None,
                attention_mask: torch.Tensor | None = None, labels: torch.Tensor | None = None,
                media: dict[str, torch.Tensor] | None = None,
                outputs: dict[str, tuple[torch.Tensor, torch.Tensor, torch.Tensor]] | None = None,
                cached: dict[str, tuple[torch.Tensor, torch.Tensor, torch.Tensor]] | None = None,
                target_media: dict[str, tuple[torch.Tensor, list[Media]]] | None = None,
                cached_requests: dict[str, tuple[torch.Tensor, torch.Tensor, list[list[int]]]] | None = None
                ) -> dict[str, torch.Tensor]:
        """Losses: ``lm`` (next token, labelled positions) and ``l2`` (output projectors vs caption
        embeddings). ``outputs[m]`` = (row (n,), signal positions (n, S), target (n, L, W))."""
        if cached is not None:  # see training.data.HiddenStateData: only the projectors run
            return self.projector_loss(cached)
        if cached_requests is not None:  # see training.data.RequestStateData: only perception runs
            return self.perception_loss(cached_requests)
        pre = self._splice(input_ids, media or {}, attention_mask)
        embeds = pre.embeds
        if pre.start:  # interactive perception: pass 2 goes on from pass 1's cache
            mask = attention_mask if attention_mask is not None else torch.ones_like(input_ids)
            positions = (mask.cumsum(-1) - 1).clamp_min(0)[:, pre.start:]
            out = self.llm(inputs_embeds=embeds[:, pre.start:], attention_mask=mask,
                           position_ids=positions, **kv_cache_arg(self.llm, pre.past), use_cache=True,
                           output_hidden_states=True)
            hidden = torch.cat([pre.hidden, out.hidden_states[-1]], 1)
            logits = self.extra.logits(hidden, torch.cat([pre.logits, out.logits], 1))
        else:
            out = self.llm(inputs_embeds=embeds, attention_mask=attention_mask,
                           output_hidden_states=True, use_cache=False)
            hidden = out.hidden_states[-1]  # (B, T, D), after the final norm
            logits = self.extra.logits(hidden, out.logits)
        lm = F.cross_entropy(logits[:, :-1].flatten(0, 1).float(), labels[:, 1:].flatten(),
                             ignore_index=IGNORE)
        l2 = hidden.new_zeros(())
        diffusion = hidden.new_zeros(())
        for m, (rows, positions, target) in (outputs or {}).items():
            pred = self.output_projectors[m](hidden[rows[:, None], positions],
                                             embeds[rows[:, None], positions])
            l2 = l2 + F.mse_loss(pred.float(), target.to(pred.device).float())
            if target_media and m in target_media:  # noise prediction through the frozen decoder
                sel, media = target_media[m]
                diffusion = diffusion + self.decoders[m].diffusion_loss(pred[sel.to(pred.device)], media)
        losses = {"lm": lm, "l2": l2}
        if len(self.perception) and labels is not None:  # interactive perception (always logged)
            words = detail_word_loss(pre.requests or [], labels)
            losses["detail"] = words if words is not None else hidden.new_zeros(())
        if target_media is not None:
            losses["diffusion"] = diffusion
        return losses

    def projector_loss(self, cached: dict[str, tuple[torch.Tensor, torch.Tensor, torch.Tensor]]
                       ) -> dict[str, torch.Tensor]:
        """The L2 loss from cached (hidden, embedding, target) triples: no LLM pass."""
        l2 = sum(F.mse_loss(self.output_projectors[m](h, e).float(), t.float())
                 for m, (h, e, t) in cached.items())
        return {"lm": torch.zeros(()), "l2": l2}

    def perception_loss(self, cached: dict[str, tuple[torch.Tensor, torch.Tensor, list[list[int]]]]
                        ) -> dict[str, torch.Tensor]:
        """The detail-word loss from cached (request state, token features, target words): no LLM."""
        words = self.llm.get_input_embeddings().weight
        detail = sum(target_loss(self.perception[m].with_logits(h, f, words)[1], t)
                     for m, (h, f, t) in cached.items())
        zero = torch.zeros((), device=words.device)
        return {"lm": zero, "l2": zero, "detail": detail}

    # ------------------------------------------------------------ inference
    @torch.no_grad()
    def generate(self, messages: list[dict[str, Any]] | list[list[dict[str, Any]]],
                 media: list[Media] | list[list[Media]] | None = None, *,
                 max_new_tokens: int = 64, temperature: float = 0.0, top_p: float = 1.0,
                 seed: int | list[int] = 0, steps: int | None = None, guidance: float | None = None,
                 make_media: bool = True, tools: list[Any] | None = None) -> Response | list[Response]:
        """Reply to one conversation (a list of messages) or a batch of them.

        Greedy by default (``temperature=0``); with a temperature, nucleus sampling (``top_p``).
        When the model writes a modality's first signal token the rest follow, its hidden states
        go through the output projector and the decoder draws the medium (``steps``,
        ``guidance``: decoder options; ``seed`` seeds both sampling and diffusion, one for the
        batch or one per conversation: a row's reply does not depend on the other rows).
        ``tools`` (``omniweave.tools.Tool``): the tools the reply may call; a ``<tool_call>`` it
        writes is then always a well-formed call of one of them, its media arguments indices of
        the conversation's media of the right kind (``omniweave.tools.grammar``).
        """
        single = bool(messages) and isinstance(messages[0], dict)
        convs = [messages] if single else list(messages)
        all_media = [media or []] if single else list(media or [[] for _ in convs])
        prepared = [normalize_messages(c, m) for c, m in zip(convs, all_media, strict=True)]
        encoded = []
        for msgs, items in prepared:
            enc = self.processor.encode(msgs, generation_prompt=True)
            kinds = [_KIND[type(x)] for x in items]
            if kinds != enc.media:
                raise InputError(f"the messages have placeholders for {enc.media or 'no media'} "
                                 f"but {kinds or 'no media'} were given")
            encoded.append(enc)
        guides = grammar.guides(self.tokenizer, tools, [e.media for e in encoded])
        batch = self.processor.collate(encoded, left_pad=True)
        dev = next(self.llm.parameters()).device
        feats = self.encode_media([x for _, items in prepared for x in items])
        ids, mask = batch["input_ids"].to(dev), batch["attention_mask"].to(dev)
        pre = self._splice(ids, feats, mask)  # pass 1's cache is kept: the LLM goes on from start
        embeds, past, start = pre.embeds, pre.past, pre.start
        positions = (mask.cumsum(-1) - 1).clamp_min(0)
        out = self.llm(inputs_embeds=embeds[:, start:], attention_mask=mask,
                       position_ids=positions[:, start:], **kv_cache_arg(self.llm, past), use_cache=True,
                       output_hidden_states=True)
        b = ids.shape[0]
        seeds = [seed] * b if isinstance(seed, int) else list(seed)
        if len(seeds) != b:
            raise InputError(f"{len(seeds)} seeds for {b} conversations")
        gens = [torch.Generator(device="cpu").manual_seed(s) for s in seeds]
        first = {self.layout.signal_ids(self.cfg, m)[0]: m for m in self.cfg.modalities}
        allowed = torch.zeros(self.layout.first_id + len(self.layout.names), dtype=torch.bool)
        allowed[: self.layout.first_id] = True
        allowed[list(first)] = True
        eos = self.tokenizer.eos_token_id
        tokens: list[list[int]] = [[] for _ in range(b)]
        queue: list[list[int]] = [[] for _ in range(b)]
        groups: list[list[tuple[str, list, list]]] = [[] for _ in range(b)]
        done = [False] * b
        step = 0
        while not all(done) and (step < max_new_tokens or any(queue)):
            hidden = out.hidden_states[-1][:, -1]
            logits = self.extra.logits(hidden, out.logits[:, -1]).float().cpu()
            logits[:, ~allowed] = float("-inf")
            grammar.constrain(logits, guides, [r for r in range(b) if not done[r] and not queue[r]])
            nxt = _sample(logits, temperature, top_p, gens)
            for r in range(b):
                if done[r]:
                    nxt[r] = self.tokenizer.pad_token_id
                    continue
                if queue[r]:
                    nxt[r] = queue[r].pop(0)
                    continue
                if step >= max_new_tokens:
                    done[r] = True
                    nxt[r] = self.tokenizer.pad_token_id
                    continue
                if guides:
                    guides[r].advance(int(nxt[r]))
                if int(nxt[r]) in first:
                    m = first[int(nxt[r])]
                    queue[r] = self.layout.signal_ids(self.cfg, m)[1:]
                    groups[r].append((m, [], []))
                elif int(nxt[r]) == eos:
                    done[r] = True
            new = nxt.to(dev)[:, None]
            emb = self.extra.embed_ids(new, self.llm.get_input_embeddings())
            mask = torch.cat([mask, mask.new_ones((b, 1))], 1)
            positions = positions[:, -1:] + 1
            out = self.llm(inputs_embeds=emb, attention_mask=mask, position_ids=positions,
                           **kv_cache_arg(self.llm, kv_cache_of(out)), use_cache=True,
                           output_hidden_states=True)
            for r in range(b):
                t = int(nxt[r])
                if done[r] and t != eos:
                    continue
                tokens[r].append(t)
                if self.layout.name(t) is not None and groups[r]:
                    groups[r][-1][1].append(out.hidden_states[-1][r, -1])
                    groups[r][-1][2].append(emb[r, 0])
            step += 1
        responses = [Response(self.processor.decode(t), raw=self.processor.decode(t, True))
                     for t in tokens]
        if make_media:
            self._draw(groups, responses, steps, guidance, seeds)
        return responses[0] if single else responses

    def _draw(self, groups, responses: list[Response], steps: int | None, guidance: float | None,
              seeds: list[int]) -> None:
        """Signal-token states -> output projector -> decoder, batched per modality."""
        jobs: dict[str, list[tuple[int, int, torch.Tensor, torch.Tensor]]] = {}
        for r, row in enumerate(groups):
            for k, (m, hs, es) in enumerate(row):
                jobs.setdefault(m, []).append((r, k, torch.stack(hs), torch.stack(es)))
        drawn: dict[tuple[int, int], Media] = {}
        for m, items in jobs.items():
            dec_cfg = self.cfg.modalities[m].decoder
            cond = self.output_projectors[m](torch.stack([h for _, _, h, _ in items]),
                                             torch.stack([e for _, _, _, e in items]))
            media = self.decoders[m].generate(cond, steps=steps or dec_cfg.steps,
                                              guidance=guidance or dec_cfg.guidance,
                                              seed=[seeds[r] for r, _, _, _ in items])
            for (r, k, _, _), medium in zip(items, media, strict=True):
                drawn[(r, k)] = medium
        for r, row in enumerate(groups):
            responses[r].media = [drawn[(r, k)] for k in range(len(row))]


def _sample(logits: torch.Tensor, temperature: float, top_p: float,
            gens: list[torch.Generator]) -> torch.Tensor:
    """(B, V) logits -> (B,) token ids: greedy at temperature 0, else nucleus sampling."""
    if temperature <= 0:
        return logits.argmax(-1)
    probs = torch.softmax(logits / temperature, -1)
    if top_p < 1.0:
        sorted_p, order = probs.sort(-1, descending=True)
        keep = sorted_p.cumsum(-1) - sorted_p < top_p
        sorted_p = sorted_p * keep
        probs = torch.zeros_like(probs).scatter(-1, order, sorted_p)
    return torch.cat([torch.multinomial(p[None], 1, generator=g)[:, 0]
                      for p, g in zip(probs, gens, strict=True)])
