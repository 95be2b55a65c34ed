"""Caption embeddings computed by several processes at once (``omniweave data embed --workers N``).

Each worker process builds the modality's decoder once (on GPU ``k % GPUs`` where there are
GPUs), embeds its contiguous shard of the captions and writes it to its own file; the shards are
merged, in order, at the end. The cache they fill is ``training.data.caption_cache``'s.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from omniweave.config import DecoderConfig


def _worker_device(k: int) -> str:
    return f"cuda:{k % torch.cuda.device_count()}" if torch.cuda.is_available() else "cpu"


def _embed_shard(decoder: dict, captions: list[str], device: str, batch: int, threads: int,
                 out: str) -> str:
    """In a worker: this shard's embeddings, written to ``out``."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    torch.set_num_threads(threads)
    from omniweave.decoders import build_decoder

    dec = build_decoder(DecoderConfig(**decoder), device)
    parts = [dec.caption_embeddings(captions[i:i + batch]) for i in range(0, len(captions), batch)]
    save_file({"embeddings": torch.cat(parts).float().contiguous()}, out)
    return out


def embed_captions(decoder: DecoderConfig, captions: list[str], workers: int, batch: int = 256,
                   scratch: Path | None = None) -> torch.Tensor:
    """(N, tokens, width) embeddings of ``captions`` by ``decoder``, in order, from ``workers``
    processes (spawned; each loads the decoder once)."""
    if not captions:
        raise ValueError("no captions to embed")
    workers = max(1, min(workers, len(captions)))
    size = -(-len(captions) // workers)
    shards = [captions[i:i + size] for i in range(0, len(captions), size)]
    threads = max(1, (os.cpu_count() or 1) // len(shards))
    ctx = torch.multiprocessing.get_context("spawn")
    if scratch is not None:
        scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=scratch, prefix=".embed-") as tmp, \
            ProcessPoolExecutor(len(shards), mp_context=ctx) as pool:
        jobs = [pool.submit(_embed_shard, dataclasses.asdict(decoder), shard, _worker_device(k),
                            batch, threads, str(Path(tmp) / f"shard-{k}.safetensors"))
                for k, shard in enumerate(shards)]
        return torch.cat([load_file(job.result())["embeddings"] for job in jobs])
