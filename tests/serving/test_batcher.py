"""The batcher: what runs together, what waits, what is refused (a stub model, no weights)."""

from __future__ import annotations

import threading

import pytest

from omniweave.errors import InputError
from omniweave.model import Response
from omniweave.serving.batcher import Batcher, Options, QueueFull


class _Recorder:
    """Records each generate call's conversations and seed; the first call waits for ``go``."""

    def __init__(self):
        self.calls: list[tuple[list[str], int]] = []
        self.go = threading.Event()
        self.started = threading.Event()

    def generate(self, messages, media=None, seed=0, **options):
        single = isinstance(messages[0], dict)
        convs = [messages] if single else messages
        names = [c[-1]["content"] for c in convs]
        self.started.set()
        if not self.calls:
            self.go.wait(10)
        self.calls.append((names, seed))
        if any(n == "bad" for n in names):
            raise InputError("bad request")
        out = [Response(f"re: {n}") for n in names]
        return out[0] if single else out


def _msg(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


@pytest.fixture
def model():
    return _Recorder()


def _run(model, jobs, max_batch=8, queue_size=16):
    """Submit the first job, wait until it runs, queue the rest, then let it go."""
    batcher = Batcher(model, max_batch=max_batch, queue_size=queue_size, wait_ms=0).start()
    try:
        first = batcher.submit(_msg(jobs[0][0]), [], jobs[0][1], jobs[0][2])
        model.started.wait(10)
        rest = [batcher.submit(_msg(name), [], opts, seed) for name, opts, seed in jobs[1:]]
        model.go.set()
        return [f.exception(10) or f.result(10) for f in [first, *rest]]
    finally:
        batcher.stop()


def test_requests_that_wait_together_run_as_one_batch(model):
    plain = Options()
    results = _run(model, [("a", plain, None), ("b", plain, None), ("c", plain, None),
                           ("d", plain, None)])
    assert [names for names, _ in model.calls] == [["a"], ["b", "c", "d"]]
    assert [r.response.text for r in results] == ["re: a", "re: b", "re: c", "re: d"]
    assert [r.batch_size for r in results] == [1, 3, 3, 3]


def test_max_batch_and_options_split_batches(model):
    plain, other = Options(), Options(max_new_tokens=8)
    _run(model, [("a", plain, None), ("b", plain, None), ("c", other, None), ("d", plain, None),
                 ("e", plain, None)], max_batch=2)
    assert [names for names, _ in model.calls] == [["a"], ["b", "d"], ["c"], ["e"]]


def test_seeded_requests_batch_with_their_own_seeds(model):
    greedy, sampled = Options(), Options(temperature=0.8)
    _run(model, [("a", greedy, None), ("b", greedy, None), ("s", greedy, 5), ("c", greedy, None),
                 ("t", sampled, 7), ("u", sampled, None)])
    assert model.calls == [(["a"], 0), (["b", "s", "c"], [0, 5, 0]), (["t", "u"], [7, 0])]


def test_a_bad_request_fails_alone(model):
    plain = Options()
    results = _run(model, [("a", plain, None), ("b", plain, None), ("bad", plain, None),
                           ("c", plain, None)])
    assert isinstance(results[2], InputError)
    assert [r.response.text for r in (results[1], results[3])] == ["re: b", "re: c"]


def test_a_full_queue_refuses(model):
    batcher = Batcher(model, max_batch=4, queue_size=2, wait_ms=0).start()
    try:
        first = batcher.submit(_msg("a"), [], Options())
        model.started.wait(10)
        waiting = [batcher.submit(_msg(n), [], Options()) for n in "bc"]
        with pytest.raises(QueueFull):
            batcher.submit(_msg("d"), [], Options())
        assert batcher.stats["refused"] == 1
        model.go.set()
        assert [f.result(10).response.text for f in [first, *waiting]] == ["re: a", "re: b", "re: c"]
    finally:
        batcher.stop()
