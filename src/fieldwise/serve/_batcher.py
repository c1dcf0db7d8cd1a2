"""Dynamic batching: requests that arrive close together share one ``generate`` call.

Request threads put work on a queue and wait on a future. One worker thread takes the
first waiting request, keeps collecting for ``batch_window_ms`` (or until a group is
full), groups what it got by :meth:`CompletionRequest.group_key` (same adapter, sampling
settings and response format) and runs each group as one left-padded batch. While a
batch runs, new requests queue up, so under load batches fill without any waiting.

One worker means one batch at a time, so a batch's duration is how long everyone queued
behind it waits: every request gets at most ``max_request_s`` of generation, after which
its row ends as if ``max_tokens`` had been reached.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from fieldwise.serve._engine import Engine
from fieldwise.serve._rows import RowControl
from fieldwise.serve._types import Completion, CompletionRequest

DEFAULT_MAX_REQUEST_S = 120.0


@dataclass
class BatchedCompletion:
    completion: Completion
    batch_size: int


@dataclass
class Ticket:
    """A submitted request: its result, and the handle that streams or cancels it."""

    request: CompletionRequest
    future: Future[BatchedCompletion] = field(default_factory=Future)
    control: RowControl = field(default_factory=RowControl)

    def cancel(self) -> None:
        """Drop the request if it has not started; end its row at the next step if it has."""
        self.control.cancelled.set()
        self.future.cancel()


class Batcher:
    """A queue plus one background worker that owns the engine."""

    def __init__(
        self,
        engine: Engine,
        *,
        max_batch_size: int = 8,
        batch_window_ms: float = 15,
        max_request_s: float = DEFAULT_MAX_REQUEST_S,
    ):
        if max_batch_size < 1:
            raise ValueError("max_batch_size must be at least 1")
        if not max_request_s > 0:
            raise ValueError("max_request_s must be positive")
        self.engine = engine
        self.max_batch_size = max_batch_size
        self.window_s = max(0.0, batch_window_ms / 1000)
        self.max_request_s = max_request_s
        self._finished: Counter[str] = Counter()
        self._queue: queue.Queue[Ticket | None] = queue.Queue()
        self._sizes: Counter[int] = Counter()
        self._requests = 0
        self._stats_lock = threading.Lock()
        self._worker = threading.Thread(target=self._loop, name="fieldwise-batcher", daemon=True)
        self._worker.start()

    def submit(
        self, request: CompletionRequest, on_text: Callable[[str], None] | None = None
    ) -> Ticket:
        """Queue ``request``; ``on_text`` (called on the worker thread) streams its text."""
        ticket = Ticket(request, control=RowControl(on_text))
        self._queue.put(ticket)
        return ticket

    @property
    def queued(self) -> int:
        """Requests waiting for the generation thread (not counting the running batch)."""
        return self._queue.qsize()

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
                "max_request_s": self.max_request_s,
                "cancelled": self._finished["cancelled"],
                "timed_out": self._finished["timeout"],
            }

    def _collect(self, first: Ticket) -> tuple[list[Ticket], bool]:
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
            grouped: dict[tuple[Any, ...], list[Ticket]] = {}
            for job in jobs:
                grouped.setdefault(job.request.group_key(), []).append(job)
            for group in grouped.values():
                for start in range(0, len(group), self.max_batch_size):
                    self._run(group[start : start + self.max_batch_size])

    def _run(self, jobs: list[Ticket]) -> None:
        live = [j for j in jobs if j.future.set_running_or_notify_cancel()]
        if len(live) < len(jobs):  # clients that left while queued
            with self._stats_lock:
                self._finished["cancelled"] += len(jobs) - len(live)
        if not live:
            return
        deadline = time.monotonic() + self.max_request_s
        try:
            completions = self.engine.generate(
                [j.request for j in live], [j.control for j in live], deadline
            )
        except Exception as exc:  # one bad batch must not kill the worker
            for job in live:
                job.future.set_exception(exc)
            return
        with self._stats_lock:
            self._sizes[len(live)] += 1
            self._requests += len(live)
            for completion in completions:
                if completion.timed_out:
                    self._finished["timeout"] += 1
                elif completion.finish_reason == "cancelled":
                    self._finished["cancelled"] += 1
        for job, completion in zip(live, completions, strict=True):
            job.future.set_result(BatchedCompletion(completion, len(live)))
