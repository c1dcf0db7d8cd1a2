"""Dynamic batching: requests that arrive close together share one ``generate`` call.

Request threads put work on a queue and wait on a future. One worker thread takes the
first waiting request, keeps collecting for ``batch_window_ms`` (or until a group is
full), groups what it got by :meth:`CompletionRequest.group_key` (same adapter, sampling
settings and response format) and runs each group as one left-padded batch. While a
batch runs, new requests queue up, so under load batches fill without any waiting.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import Counter
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from fieldwise.serve._engine import Completion, CompletionRequest, Engine


@dataclass
class BatchedCompletion:
    completion: Completion
    batch_size: int


@dataclass
class _Job:
    request: CompletionRequest
    future: Future[BatchedCompletion]


class Batcher:
    """A queue plus one background worker that owns the engine."""

    def __init__(self, engine: Engine, *, max_batch_size: int = 8, batch_window_ms: float = 15):
        if max_batch_size < 1:
            raise ValueError("max_batch_size must be at least 1")
        self.engine = engine
        self.max_batch_size = max_batch_size
        self.window_s = max(0.0, batch_window_ms / 1000)
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._sizes: Counter[int] = Counter()
        self._requests = 0
        self._stats_lock = threading.Lock()
        self._worker = threading.Thread(target=self._loop, name="fieldwise-batcher", daemon=True)
        self._worker.start()

    def submit(self, request: CompletionRequest) -> Future[BatchedCompletion]:
        future: Future[BatchedCompletion] = Future()
        self._queue.put(_Job(request, future))
        return future

    def close(self) -> None:
        self._queue.put(None)
        self._worker.join(timeout=30)

    def stats(self) -> dict[str, Any]:
        with self._stats_lock:
            batches = sum(self._sizes.values())
            return {
                "requests": self._requests,
                "batches": batches,
                "max_batch_size_seen": max(self._sizes, default=0),
                "mean_batch_size": self._requests / batches if batches else 0.0,
                "batch_sizes": {str(k): v for k, v in sorted(self._sizes.items())},
                "max_batch_size": self.max_batch_size,
                "batch_window_ms": self.window_s * 1000,
            }

    def _collect(self, first: _Job) -> tuple[list[_Job], bool]:
        """Gather jobs for one window; the flag says a stop sentinel arrived."""
        jobs = [first]
        groups: Counter[tuple[Any, ...]] = Counter({first.request.group_key(): 1})
        deadline = time.monotonic() + self.window_s
        while max(groups.values()) < self.max_batch_size:
            remaining = deadline - time.monotonic()
            try:
                # After the window, still take what is already waiting (never block).
                job = (
                    self._queue.get(timeout=remaining)
                    if remaining > 0
                    else self._queue.get_nowait()
                )
            except queue.Empty:
                break
            if job is None:
                return jobs, True
            jobs.append(job)
            groups[job.request.group_key()] += 1
        return jobs, False

    def _loop(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is None:
                return
            jobs, stopping = self._collect(first)
            grouped: dict[tuple[Any, ...], list[_Job]] = {}
            for job in jobs:
                grouped.setdefault(job.request.group_key(), []).append(job)
            for group in grouped.values():
                for start in range(0, len(group), self.max_batch_size):
                    self._run(group[start : start + self.max_batch_size])

    def _run(self, jobs: list[_Job]) -> None:
        live = [j for j in jobs if j.future.set_running_or_notify_cancel()]
        if not live:
            return
        try:
            completions = self.engine.generate([j.request for j in live])
        except Exception as exc:  # one bad batch must not kill the worker
            for job in live:
                job.future.set_exception(exc)
            return
        with self._stats_lock:
            self._sizes[len(live)] += 1
            self._requests += len(live)
        for job, completion in zip(live, completions, strict=True):
            job.future.set_result(BatchedCompletion(completion, len(live)))
