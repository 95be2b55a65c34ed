"""Recipe: the nano "Vicuna", a tiny Llama causal LM pretrained on world text.

The folder it writes loads like a hub checkpoint: ``AutoModelForCausalLM.from_pretrained(out)``
(float16 safetensors; pass ``dtype=torch.float32`` to compute in fp32) and
``AutoTokenizer.from_pretrained(out)`` (the nano tokenizer with its Vicuna chat template).
"""

from __future__ import annotations

import copy
import math
import random
import re
import time
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm
from transformers import AutoModelForCausalLM, GenerationConfig, LlamaConfig, LlamaForCausalLM

from omniweave.nano.components import component_dir
from omniweave.nano.recipes.common import pick_device
from omniweave.nano.recipes.tokenizer import load_tokenizer
from omniweave.nano.text import corpus, qa_example, request_example
from omniweave.nano.world import attributes
from omniweave.training.schedule import warmup_cosine

ARCH = {
    "hidden_size": 256,
    "intermediate_size": 688,
    "num_hidden_layers": 4,
    "num_attention_heads": 8,
    "num_key_value_heads": 8,
    "max_position_embeddings": 512,
}
SEQ_LEN = 128
BATCH = 16
LR = 2e-3
MIN_LR_FRACTION = 0.1
WARMUP = 40
# 1000 steps of 16 x 128 tokens (2M tokens): ~0.36 s/step on 2 idle AMD EPYC (Zen 4) cores with
# bfloat16 autocast, so about 6 minutes; ~0.32 s/step on 2 Xeon cores in float32. Fewer steps
# leave some attribute questions unlearnt on some seeds (QA accuracy 0.86-0.97 at 700 steps).
DEFAULT_STEPS = 800
# Loss weight of the user's side of a chat (the assistant's side and bare world text weigh 1): the
# model still learns to model user text, but answers are not drowned in it (at 1.0, attribute QA
# was 88.5%; at 0.25, 95%).
USER_WEIGHT = 0.25
QA_PAIRS = [(m, a) for m in ("image", "audio", "video") for a in attributes(m)]


def cpu_has_bf16() -> bool:
    """Whether this CPU multiplies bfloat16 natively (AVX-512 BF16 or AMX): then autocast pays."""
    cpu = getattr(torch, "cpu", None)
    return any(bool(getattr(cpu, f, lambda: False)()) for f in
               ("_is_avx512_bf16_supported", "_is_amx_tile_supported"))


def make_model(tokenizer, arch: dict[str, int] | None = None) -> LlamaForCausalLM:
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        **{**ARCH, **(arch or {})},
        hidden_act="silu",
        rms_norm_eps=1e-5,
        tie_word_embeddings=False,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = LlamaForCausalLM(config)
    model.generation_config = GenerationConfig(
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id, do_sample=False, max_new_tokens=32,
    )
    return model


def _loss_weights(ids: list[int], markers: dict[str, set[int] | int], user_weight: float) -> list[float]:
    """1 for what the assistant says (its words and ``</s>``) and for bare world text;
    ``user_weight`` for the system line, the user's turns and the template around them."""
    if not any(i in markers["user"] for i in ids):
        return [1.0] * len(ids)
    out, speaking = [], False
    for k, i in enumerate(ids):
        out.append(1.0 if speaking else user_weight)
        if i == markers["eos"]:
            speaking = False
        elif i == markers["colon"] and k > 0 and ids[k - 1] in markers["assistant"]:
            speaking = True
    return out


def pack(docs: list[str], tokenizer, seq_len: int,
         user_weight: float = 1.0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Blocks of ``seq_len`` tokens filled with whole documents (the last one in a block may be
    cut), position ids that restart at 0 with each document, and per-token loss weights.

    Given those position ids and no attention mask, transformers' Llama attends only within a
    document (packed-sequence masking), so every document is seen as it is at inference: alone,
    from position 0."""
    vocab = tokenizer.get_vocab()
    markers = {"user": {vocab[t] for t in ("USER", "\u0120USER") if t in vocab},
               "assistant": {vocab[t] for t in ("ASSISTANT", "\u0120ASSISTANT") if t in vocab},
               "colon": vocab.get(":"), "eos": tokenizer.eos_token_id}
    ids = tokenizer(docs, add_special_tokens=False)["input_ids"]
    blocks: list[list[int]] = []
    positions: list[list[int]] = []
    weights: list[list[float]] = []
    cur: list[int] = []
    pos: list[int] = []
    wts: list[float] = []
    for doc in ids:
        doc = doc[:seq_len]
        w = _loss_weights(doc, markers, user_weight)
        if cur and len(cur) + len(doc) > seq_len:
            room = seq_len - len(cur)
            doc, w = doc[:room], w[:room]
        cur += doc
        pos += list(range(len(doc)))
        wts += w
        if len(cur) == seq_len:
            blocks.append(cur)
            positions.append(pos)
            weights.append(wts)
            cur, pos, wts = [], [], []
    return (torch.tensor(blocks, dtype=torch.long), torch.tensor(positions, dtype=torch.long),
            torch.tensor(weights, dtype=torch.float32))


def weighted_loss(logits: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Next-token cross entropy, each target token weighted."""
    nll = torch.nn.functional.cross_entropy(
        logits[:, :-1].reshape(-1, logits.shape[-1]).float(), targets[:, 1:].reshape(-1), reduction="none")
    w = weights[:, 1:].reshape(-1)
    return (nll * w).sum() / w.sum().clamp_min(1e-6)


@torch.no_grad()
def perplexity(model, tokenizer, docs: list[str], device: torch.device, seq_len: int = SEQ_LEN,
               batch: int = 32) -> float:
    model.eval()
    blocks, positions, _ = pack(docs, tokenizer, seq_len)
    total, count = 0.0, 0
    for i in range(0, len(blocks), batch):
        x = blocks[i:i + batch].to(device)
        out = model(input_ids=x, position_ids=positions[i:i + batch].to(device), labels=x,
                    use_cache=False)
        n = x[:, 1:].numel()
        total += float(out.loss) * n
        count += n
    return math.exp(total / max(1, count))


@torch.no_grad()
def _generate(model, tokenizer, prompts: list[list[dict[str, str]]], device: torch.device,
              max_new_tokens: int = 16, batch: int = 64) -> list[str]:
    model.eval()
    side = tokenizer.padding_side
    tokenizer.padding_side = "left"
    replies: list[str] = []
    try:
        for i in range(0, len(prompts), batch):
            texts = [tokenizer.apply_chat_template(p, tokenize=False, add_generation_prompt=True)
                     for p in prompts[i:i + batch]]
            enc = tokenizer(texts, add_special_tokens=False, padding=True, return_tensors="pt").to(device)
            out = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False,
                                 eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
            new = out[:, enc["input_ids"].shape[1]:]
            replies += [t.strip() for t in tokenizer.batch_decode(new, skip_special_tokens=True)]
    finally:
        tokenizer.padding_side = side
    return replies


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


@torch.no_grad()
def evaluate_model(model, tokenizer, n: int = 200, seed: int = 1,
                   device: torch.device | None = None, ppl_docs: int = 500) -> dict[str, Any]:
    """Held-out perplexity, attribute-QA accuracy and generation-request accuracy."""
    device = device or next(model.parameters()).device
    rng = random.Random(f"omniweave-nano-llm-eval-{seed}")
    qa = [qa_example(rng, *QA_PAIRS[i % len(QA_PAIRS)]) for i in range(n)]
    qa_replies = _generate(model, tokenizer, [q[0] for q in qa], device)
    hits = [value in _words(r) for (_, _, _, value), r in zip(qa, qa_replies, strict=True)]
    per_attr: dict[str, list[bool]] = {}
    per_kind: dict[str, list[bool]] = {"open": [], "yes_no": []}
    for (_, answer, attr, _), hit in zip(qa, hits, strict=True):
        per_attr.setdefault(attr, []).append(hit)
        per_kind["yes_no" if answer.startswith(("yes,", "no,")) else "open"].append(hit)

    reqs = [request_example(rng, ("image", "audio", "video")[i % 3]) for i in range(n)]
    req_replies = _generate(model, tokenizer, [r[0] for r in reqs], device, max_new_tokens=24)
    req_hits = [caption in r for (_, caption), r in zip(reqs, req_replies, strict=True)]

    ppl = perplexity(model, tokenizer, corpus(ppl_docs, seed + 1_000), device)
    failures = [{"prompt": p[0]["content"], "expected": v, "reply": r}
                for (p, _, _, v), r, h in zip(qa, qa_replies, hits, strict=True) if not h][:5]
    failures += [{"prompt": p[0]["content"], "expected": c, "reply": r}
                 for (p, c), r, h in zip(reqs, req_replies, req_hits, strict=True) if not h][:5]
    return {
        "heldout_perplexity": round(ppl, 4),
        "qa_accuracy": round(sum(hits) / len(hits), 4),
        "qa_n": len(hits),
        "qa_accuracy_by_attribute": {a: round(sum(v) / len(v), 3) for a, v in per_attr.items()},
        "qa_accuracy_by_kind": {k: round(sum(v) / len(v), 3) for k, v in per_kind.items() if v},
        "request_accuracy": round(sum(req_hits) / len(req_hits), 4),
        "request_n": len(req_hits),
        "examples_wrong": failures,
    }


def evaluate(path: Path, n: int = 200, seed: int = 1, device: str = "auto",
             ppl_docs: int = 500) -> dict[str, Any]:
    """The metrics of a saved LLM folder (loaded in float32)."""
    dev = pick_device(device)
    tokenizer = load_tokenizer(path)
    model = AutoModelForCausalLM.from_pretrained(str(path), dtype=torch.float32).to(dev)
    return evaluate_model(model, tokenizer, n=n, seed=seed, device=dev, ppl_docs=ppl_docs)


def build(out: Path, *, seed: int = 0, steps: int | None = None, tokenizer_dir: Path | None = None,
          device: str = "auto", batch: int = BATCH, seq_len: int = SEQ_LEN, lr: float = LR,
          arch: dict[str, int] | None = None, eval_n: int = 200, progress: bool = True,
          amp: bool | None = None, user_weight: float = USER_WEIGHT, **_: Any) -> dict[str, Any]:
    """Pretrain the nano LLM on world text and save it (fp16) with its tokenizer into ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    steps = DEFAULT_STEPS if steps is None else int(steps)
    dev = pick_device(device)
    tokenizer = load_tokenizer(tokenizer_dir or component_dir("tokenizer"))
    torch.manual_seed(seed)
    model = make_model(tokenizer, arch).to(dev)

    # Enough whole documents for every step to see fresh blocks (about 3 documents a block).
    need = steps * batch
    factor = 3.5
    while True:
        blocks, positions, weights = pack(corpus(int(need * factor) + 500, seed), tokenizer, seq_len,
                                          user_weight=user_weight)
        if len(blocks) >= need:
            break
        factor *= 1.5
    gen = torch.Generator().manual_seed(seed)
    perm = torch.randperm(len(blocks), generator=gen)[:need]
    blocks, positions, weights = blocks[perm], positions[perm], weights[perm]

    opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.95), weight_decay=0.1)
    sched = warmup_cosine(opt, steps, warmup=min(WARMUP, max(1, steps // 10)), floor=MIN_LR_FRACTION)
    if amp is None:  # bfloat16 autocast where the hardware has it (weights stay float32)
        amp = dev.type == "cuda" or cpu_has_bf16()
    model.train()
    t0 = time.time()
    losses: list[float] = []
    bar = tqdm(range(steps), desc="nano llm", disable=not progress, mininterval=2.0)
    for step in bar:
        x = blocks[step * batch:(step + 1) * batch].to(dev)
        p = positions[step * batch:(step + 1) * batch].to(dev)
        w = weights[step * batch:(step + 1) * batch].to(dev)
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=amp):
            logits = model(input_ids=x, position_ids=p, use_cache=False).logits
        loss = weighted_loss(logits, x, w)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        losses.append(loss.item())
        bar.set_postfix(loss=f"{losses[-1]:.3f}")
    train_seconds = time.time() - t0

    model.eval()
    half = copy.deepcopy(model).to("cpu", torch.float16)
    half.config.dtype = torch.float16
    half.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    del half

    tail = losses[-min(20, len(losses)):]
    metrics: dict[str, Any] = {
        "parameters": sum(p.numel() for p in model.parameters()),
        "steps": steps,
        "batch": batch,
        "seq_len": seq_len,
        "lr": lr,
        "user_weight": user_weight,
        "train_tokens": steps * batch * seq_len,
        "seconds_per_step": round(train_seconds / max(1, steps), 4),
        "train_seconds": round(train_seconds, 1),
        "final_loss": round(sum(tail) / len(tail), 4),
        "device": dev.type,
        "autocast_bf16": amp,
    }
    # Score what was saved (fp16 weights, loaded back in fp32).
    if eval_n > 0:
        metrics.update(evaluate(out, n=eval_n, seed=seed + 1, device=str(dev),
                                ppl_docs=min(500, 2 * eval_n + 20)))
    return metrics
