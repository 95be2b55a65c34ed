"""Throughput and latency of the OpenAI-compatible API on nano: batched vs one at a time.

Starts the server in-process on loopback (``max_batch`` N, then 1), and for 1, 4 and 16
concurrent clients sends ``--requests`` chat requests per cell (each client its own
connection, one request after another). Prints requests/s, p50/p95 latency and the mean batch
the server ran. Tasks: ``describe`` (a ShapeWorld image in, text out) and ``draw`` (text in, an
image out through the diffusion decoder, ``--steps`` steps).

    python bench/serve_bench.py [--task describe|draw] [--requests 32] [--max-batch 8] [--model DIR]
"""

from __future__ import annotations

import argparse
import base64
import io
import os
import threading
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import httpx  # noqa: E402

from omniweave.nano import world  # noqa: E402
from omniweave.nano.components import WEIGHTS_DIR  # noqa: E402
from omniweave.serving.api import ServerThread, Settings, create_app  # noqa: E402

CAPTIONS = ["a small red circle in the center", "a large blue square on the left",
            "a small green triangle at the top", "a large yellow circle on the right"]


def _payload(task: str, k: int, steps: int, max_tokens: int) -> dict:
    if task == "describe":
        _, image = world.sample("image", 1000 + k)
        from PIL import Image as PILImage

        buf = io.BytesIO()
        PILImage.fromarray(image.pixels).save(buf, format="PNG")
        url = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
        content = [{"type": "image_url", "image_url": {"url": url}},
                   {"type": "text", "text": "describe it."}]
        return {"model": "nano", "messages": [{"role": "user", "content": content}],
                "max_tokens": max_tokens}
    return {"model": "nano", "max_tokens": max_tokens, "steps": steps,
            "messages": [{"role": "user", "content": f"draw {CAPTIONS[k % len(CAPTIONS)]}"}]}


def _cell(url: str, payloads: list[dict], clients: int) -> tuple[float, list[float]]:
    """Send ``payloads`` from ``clients`` threads; (wall seconds, per-request latencies)."""
    latencies: list[float] = []
    lock = threading.Lock()
    todo = iter(range(len(payloads)))

    def client() -> None:
        with httpx.Client(base_url=url, timeout=600) as http:
            while True:
                with lock:
                    k = next(todo, None)
                if k is None:
                    return
                t0 = time.perf_counter()
                r = http.post("/v1/chat/completions", json=payloads[k])
                r.raise_for_status()
                with lock:
                    latencies.append(time.perf_counter() - t0)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - t0, latencies


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=["describe", "draw"], default="describe")
    parser.add_argument("--requests", type=int, default=32, help="requests per cell")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--max-batch", type=int, default=8, help="of the batched server")
    parser.add_argument("--steps", type=int, default=10, help="diffusion steps (draw)")
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--untrained", action="store_true", help="fresh projectors")
    parser.add_argument("--model", default=None, help="a checkpoint folder instead of the preset")
    args = parser.parse_args()

    from omniweave.model import AnyToAny

    trained = not args.untrained and (WEIGHTS_DIR / "any-to-any" / "config.json").exists()
    if args.model:
        model, trained = AnyToAny.from_pretrained(args.model), True
    else:
        model = AnyToAny.from_preset("nano", trained=trained)
    payloads = [_payload(args.task, k, args.steps, args.max_tokens) for k in range(args.requests)]
    print(f"nano ({args.model or ('trained' if trained else 'untrained projectors')}), "
          f"task {args.task}, "
          f"{args.requests} requests per cell, max_tokens {args.max_tokens}"
          + (f", {args.steps} steps" if args.task == "draw" else ""))
    rows = []
    for mode, max_batch in ((f"batched (max {args.max_batch})", args.max_batch),
                            ("one at a time", 1)):
        settings = Settings(max_batch=max_batch, queue_size=max(256, args.requests))
        with ServerThread(create_app(model, settings)) as server:
            _cell(server.url, payloads[:2], 1)  # warm up
            for clients in args.clients:
                before = httpx.get(server.url + "/health").json()
                wall, lat = _cell(server.url, payloads, clients)
                after = httpx.get(server.url + "/health").json()
                batches = after["batches"] - before["batches"]
                mean_batch = (after["requests"] - before["requests"]) / max(1, batches)
                rows.append((mode, clients, len(lat), len(lat) / wall, 1000 * _pct(lat, 0.5),
                             1000 * _pct(lat, 0.95), mean_batch))
                print(f"  {mode:20} clients {clients:3}: {rows[-1][3]:.2f} req/s", flush=True)
    print()
    print(f"| {'mode':20} | clients | requests | req/s  | p50 ms  | p95 ms  | mean batch |")
    print(f"| {'-' * 20} | ------- | -------- | ------ | ------- | ------- | ---------- |")
    for mode, clients, n, rps, p50, p95, mb in rows:
        print(f"| {mode:20} | {clients:7} | {n:8} | {rps:6.2f} | {p50:7.0f} | {p95:7.0f} | "
              f"{mb:10.2f} |")
    for clients in args.clients:
        b, s = (next(r for r in rows if r[1] == clients and r[0] == m)
                for m in (rows[0][0], "one at a time"))
        print(f"{clients:3} clients: batched / one at a time = {b[3] / s[3]:.2f}x req/s")


if __name__ == "__main__":
    main()
