"""Recipe: train ShapeBind contrastively, every media tower against the caption tower."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch
from torch.nn import functional as F
from tqdm import tqdm

from omniweave.nano import world
from omniweave.nano.bind import (
    MEDIA_MODALITIES,
    ShapeBindConfig,
    ShapeBindModel,
    load_bind,
    preprocess,
)
from omniweave.nano.recipes.common import (
    load_world_tokenizer,
    pick_device,
    seed_everything,
    tokenize,
    world_samples,
)
from omniweave.training.schedule import warmup_cosine

MAX_TEXT_TOKENS = 16
DEFAULT_STEPS = 800
TRAIN_POOL = 3000
EVAL_SEED = 7  # held-out world seeds; training uses seed 0.. via ``seed``


def caption_bank(tokenizer, modality: str) -> tuple[list[str], torch.Tensor, torch.Tensor]:
    captions = [s.caption for s in world.all_specs(modality)]
    ids, mask = tokenize(tokenizer, captions, MAX_TEXT_TOKENS)
    return captions, ids, mask


def _pool(modality: str, n: int, seed: int, captions: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    specs, media = world_samples(modality, n, seed)
    labels = torch.tensor([captions.index(s.caption) for s in specs])
    return preprocess(media), labels


def contrastive_loss(media_emb: torch.Tensor, text_emb: torch.Tensor, labels: torch.Tensor,
                     scale: torch.Tensor) -> torch.Tensor:
    """Media -> every caption (cross-entropy) plus caption -> in-batch media (several positives)."""
    to_text = F.cross_entropy(scale * media_emb @ text_emb.T, labels)
    same = (labels[:, None] == labels[None, :]).float()
    logits = scale * text_emb[labels] @ media_emb.T
    to_media = -(same / same.sum(1, keepdim=True) * logits.log_softmax(-1)).sum(1).mean()
    return (to_text + to_media) / 2


def build(out: Path, *, seed: int = 0, steps: int | None = None, device: str = "auto",
          tokenizer_dir: Path | None = None, batch_size: int = 64, lr: float = 1e-3,
          pool: int = TRAIN_POOL, eval_samples: int = 300, **_: Any) -> dict[str, Any]:
    steps = steps or DEFAULT_STEPS
    dev = pick_device(device)
    rng = seed_everything(seed)
    tokenizer = load_world_tokenizer(tokenizer_dir)
    model = ShapeBindModel(ShapeBindConfig(text_config=dict(
        hidden_size=128, num_hidden_layers=2, num_attention_heads=4, intermediate_size=256,
        vocab_size=len(tokenizer), max_position_embeddings=MAX_TEXT_TOKENS,
        pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id))).to(dev)
    banks = {m: caption_bank(tokenizer, m) for m in MEDIA_MODALITIES}
    data = {m: _pool(m, min(pool, 10 * steps * batch_size), seed, banks[m][0])
            for m in tqdm(MEDIA_MODALITIES, desc="bind: rendering world", leave=False)}
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    sched = warmup_cosine(opt, steps, warmup=min(50, steps // 5 + 1))
    model.train()
    t0 = time.time()
    bar = tqdm(range(steps), desc="bind")
    for _ in bar:
        loss = torch.zeros((), device=dev)
        for m in MEDIA_MODALITIES:
            x, y = data[m]
            idx = torch.from_numpy(rng.integers(0, len(y), batch_size))
            media_emb = model.embed(m, x[idx].to(dev))
            _, ids, mask = banks[m]
            text_emb = model.embed("text", ids.to(dev), mask.to(dev))
            loss = loss + contrastive_loss(media_emb, text_emb, y[idx].to(dev),
                                           model.logit_scale.exp().clamp(max=100))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        bar.set_postfix(loss=f"{loss.item():.3f}")
    seconds = time.time() - t0
    model.eval().to("cpu")
    model.to(torch.float16).save_pretrained(out)
    tokenizer.save_pretrained(out)
    metrics = evaluate(out, n=eval_samples)
    metrics["train_steps"] = steps
    metrics["train_seconds"] = round(seconds, 1)
    return metrics


def load(path: Path, device: str = "cpu") -> ShapeBindModel:
    return load_bind(path, device)[0]


@torch.no_grad()
def evaluate(path: Path, n: int = 300, seed: int = EVAL_SEED) -> dict[str, Any]:
    """Caption<->media top-1 retrieval on held-out world samples, per modality."""
    model = load(path)
    tokenizer = load_world_tokenizer(path)
    metrics: dict[str, Any] = {}
    for m in MEDIA_MODALITIES:
        captions, ids, mask = caption_bank(tokenizer, m)
        x, y = _pool(m, n, seed, captions)
        media_emb = torch.cat([model.embed(m, chunk) for chunk in x.split(100)])
        text_emb = model.embed("text", ids, mask)
        sims = media_emb @ text_emb.T  # (n, captions)
        metrics[f"{m}_to_text_top1"] = round((sims.argmax(1) == y).float().mean().item(), 4)
        present = y.unique()
        best_media = sims[:, present].argmax(0)  # for each present caption, its nearest medium
        metrics[f"text_to_{m}_top1"] = round((y[best_media] == present).float().mean().item(), 4)
    return metrics
