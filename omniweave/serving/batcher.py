"""Concurrent requests -> the model's batched ``generate``, on one worker thread.

Requests wait in a bounded FIFO queue; a full queue refuses at once (``QueueFull``: the API's
429). One worker thread owns the model: it takes the oldest request, waits ``wait_ms`` for
company if the queue is short, and runs it together with up to ``max_batch - 1`` later requests
that share its generation options (one ``generate`` call takes one set of them).

Seeds. ``generate`` takes one seed per row and a row's reply does not depend on its batch, so
every request gets what the model gives it alone, batched or not (requests without a seed use 0).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from omniweave.errors import InputError

log = logging.getLogger(__name__)


class QueueFull(Exception):
    """The batcher's queue is full: try again later."""


@dataclass(frozen=True)
class Options:
    """Generation options; requests batch together only when these are equal."""
    max_new_tokens: int = 64
    temperature: float = 0.0
    top_p: float = 1.0
    steps: int | None = None
    guidance: float | None = None
    make_media: bool = True
    tools: tuple[Any, ...] | None = None  # the tools a reply may call (constrained decoding)


@dataclass
class Result:
    """A reply and what it cost."""
    response: Any  # omniweave.model.Response
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    batch_size: int = 1


@dataclass
class _Job:
    messages: list[dict[str, Any]]
    media: list[Any]
    options: Options
    seed: int | None
    future: Future = field(default_factory=Future)


class Batcher:
    """A single worker thread that owns ``model`` and runs queued requests in batches."""

    def __init__(self, model: Any, max_batch: int = 8, queue_size: int = 64,
                 wait_ms: float = 5.0):
        if max_batch < 1 or queue_size < 1:
            raise ValueError("max_batch and queue_size must be at least 1")
        self.model, self.max_batch, self.queue_size = model, max_batch, queue_size
        self.wait_s = wait_ms / 1000
        self._queue: deque[_Job] = deque()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self.running = 0  # requests in the batch being generated now
        self.stats = {"requests": 0, "batches": 0, "largest_batch": 0, "refused": 0}

    # -------------------------------------------------------------- life
    def start(self) -> Batcher:
        with self._cond:
            if self._thread is None:
                self._stopping = False
                self._thread = threading.Thread(target=self._work, name="omniweave-batcher",
                                                daemon=True)
                self._thread.start()
        return self

    def stop(self, timeout: float | None = 30.0) -> None:
        """Finish the queued requests, then end the worker."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)

    @property
    def waiting(self) -> int:
        """Requests queued, not yet running."""
        return len(self._queue)

    # -------------------------------------------------------------- requests
    def submit(self, messages: list[dict[str, Any]], media: list[Any], options: Options,
               seed: int | None = None) -> Future:
        """Queue one conversation; the future resolves to a ``Result`` (or the model's error).
        Raises ``QueueFull`` when ``queue_size`` requests are already waiting."""
        job = _Job(messages, media, options, seed)
        with self._cond:
            if self._stopping or self._thread is None:
                raise RuntimeError("the batcher is not running")
            if len(self._queue) >= self.queue_size:
                self.stats["refused"] += 1
                raise QueueFull(f"{len(self._queue)} requests are waiting "
                                f"(queue size {self.queue_size}); retry later")
            self._queue.append(job)
            self._cond.notify_all()
        return job.future

    def generate(self, messages: list[dict[str, Any]], media: list[Any], options: Options,
                 seed: int | None = None, timeout: float | None = None) -> Result:
        """``submit`` and wait: for callers on their own threads (the web UI)."""
        return self.submit(messages, media, options, seed).result(timeout)

    # -------------------------------------------------------------- the worker
    def _fits(self, lead: _Job, job: _Job) -> bool:
        return job.options == lead.options

    def _take(self) -> list[_Job] | None:
        with self._cond:
            while not self._queue:
                if self._stopping:
                    return None
                self._cond.wait()
            lead = self._queue.popleft()
            if self.max_batch == 1:
                return [lead]
            deadline = time.monotonic() + self.wait_s
            while (len(self._queue) < self.max_batch - 1 and not self._stopping
                   and (left := deadline - time.monotonic()) > 0):
                self._cond.wait(left)
            batch = [lead]
            for job in list(self._queue):
                if len(batch) == self.max_batch:
                    break
                if self._fits(lead, job):
                    self._queue.remove(job)
                    batch.append(job)
            return batch

    def _work(self) -> None:
        while (batch := self._take()) is not None:
            batch = [j for j in batch if j.future.set_running_or_notify_cancel()]
            if not batch:
                continue
            self.running = len(batch)
            try:
                self._run(batch)
            finally:
                self.running = 0
            self.stats["requests"] += len(batch)
            self.stats["batches"] += 1
            self.stats["largest_batch"] = max(self.stats["largest_batch"], len(batch))

    def _run(self, batch: list[_Job]) -> None:
        lead = batch[0]
        opts = vars(lead.options)
        try:
            if len(batch) == 1:
                responses = [self.model.generate(lead.messages, lead.media, seed=lead.seed or 0,
                                                 **opts)]
            else:
                responses = self.model.generate([j.messages for j in batch],
                                                [j.media for j in batch],
                                                seed=[j.seed or 0 for j in batch], **opts)
        except InputError as e:
            if len(batch) > 1:  # one request's fault: run each alone so only it fails
                for job in batch:
                    self._run([job])
                return
            lead.future.set_exception(e)
            return
        except Exception as e:
            log.exception("generate failed for a batch of %d", len(batch))
            for job in batch:
                job.future.set_exception(e)
            return
        for job, resp in zip(batch, responses, strict=True):
            prompt, completion = self._usage(job, resp)
            job.future.set_result(Result(resp, prompt, completion, len(batch)))

    def _usage(self, job: _Job, resp: Any) -> tuple[int | None, int | None]:
        """Token counts: the prompt as encoded; the reply's text tokens plus signal tokens."""
        try:
            model = self.model
            enc = model.processor.encode(job.messages, generation_prompt=True)
            text = len(model.tokenizer(resp.text, add_special_tokens=False).input_ids)
            signals = sum(model.cfg.modalities[m.modality].signal_tokens for m in resp.media)
            return len(enc.input_ids), text + signals + 1  # + the end of turn
        except Exception:  # a model without a processor (a stub): no counts
            return None, None
