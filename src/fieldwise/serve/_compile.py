"""Compiling ``response_format`` grammars off the request path, bounded in every way.

Red-team finding (issue 15): 45 requests, each with a different 100 kB schema, compiled
on the request threads, took all of them, and every other completion waited 18 minutes.
Here a schema is compiled by a small pool of its own threads (``workers``), with at most
``max_waiting`` more schemas queued behind them: a schema that finds the queue full is a
503 at once (``/health`` says ``saturated`` meanwhile), so a flood of schemas costs the
rest of the server at most ``workers`` busy threads. Requests for the same schema share
one compilation, and finished grammars are cached by schema hash up to ``cache_bytes``.

A request waits for its grammar at most ``timeout_s`` in the queue (then 503, busy) and
``timeout_s`` once compiling has started (then 400: the schema is too costly). xgrammar
cannot be interrupted mid-compile, so a compilation that has started runs to its end
(the schema limits bound how long that is) and its grammar is cached for a retry; one
that has not started is dropped when every client waiting for it has gone away.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fieldwise.serve._constrain import ConstraintError
from fieldwise.serve._protocol import ApiError

DEFAULT_WORKERS = 2
DEFAULT_MAX_WAITING = 8
DEFAULT_TIMEOUT_S = 30.0
DEFAULT_CACHE_BYTES = 512 * 1024 * 1024
_ERRORS_KEPT = 256
"""Schemas that failed to compile, remembered so a repeat is refused without work."""


@dataclass
class _Job:
    key: str
    response_format: dict[str, Any]
    waiters: int = 0
    started: float | None = None
    finished: bool = False
    dropped: bool = False
    grammar: Any = None
    error: Exception | None = None
    listeners: list[Callable[[], None]] = field(default_factory=list)


class CompilePool:
    """Threads that compile grammars with ``compile_fn``; see the module docstring."""

    def __init__(
        self,
        compile_fn: Callable[[dict[str, Any]], Any],
        *,
        workers: int = DEFAULT_WORKERS,
        max_waiting: int = DEFAULT_MAX_WAITING,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
    ) -> None:
        if workers < 1 or max_waiting < 0 or not timeout_s > 0:
            raise ValueError("compile workers >= 1, max_waiting >= 0, timeout_s > 0")
        self.compile_fn = compile_fn
        self.workers, self.max_waiting = workers, max_waiting
        self.timeout_s, self.cache_bytes = timeout_s, cache_bytes
        self._cond = threading.Condition()
        self._queue: collections.deque[_Job] = collections.deque()
        self._jobs: dict[str, _Job] = {}  # queued or compiling, by key
        self._cache: collections.OrderedDict[str, tuple[Any, int]] = collections.OrderedDict()
        self._cached_bytes = 0
        self._failed: collections.OrderedDict[str, str] = collections.OrderedDict()
        self._running = 0
        self._closed = False
        self.counts: collections.Counter[str] = collections.Counter()
        self._threads = [
            threading.Thread(target=self._loop, name=f"fieldwise-compile-{i}", daemon=True)
            for i in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    # -- the request side (event loop) ---------------------------------------------------
    async def grammar(self, key: str, response_format: dict[str, Any]) -> Any:
        """The compiled grammar; ApiError 400 (bad or too costly) or 503 (busy).

        Cancelling the caller (the client disconnected) lets go of the job, which is
        dropped if nobody else waits for it and it has not started.
        """
        job = self._join(key, response_format)
        if not isinstance(job, _Job):
            return job
        loop = asyncio.get_running_loop()
        changed = asyncio.Event()

        def wake() -> None:  # called on a compile thread
            with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits
                loop.call_soon_threadsafe(changed.set)

        with self._cond:
            job.listeners.append(wake)
        try:
            return await self._wait(job, changed)
        finally:
            self._leave(job, wake)

    async def _wait(self, job: _Job, changed: asyncio.Event) -> Any:
        queued_until = time.monotonic() + self.timeout_s
        while True:
            changed.clear()
            with self._cond:
                finished, started = job.finished, job.started
            if finished:
                if job.error is not None:
                    raise _as_api_error(job.error)
                return job.grammar
            deadline = queued_until if started is None else started + self.timeout_s
            try:
                await asyncio.wait_for(changed.wait(), max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                with self._cond:
                    if job.finished:
                        continue
                    running = job.started is not None
                    self.counts["timed_out" if running else "busy"] += 1
                if running:
                    raise ApiError(
                        400,
                        f"the response_format schema took over {self.timeout_s:g} s to "
                        "compile; simplify it (serve --compile-timeout raises the limit)",
                        param="response_format",
                        code="schema_too_complex",
                    ) from None
                raise _busy(f"no compile slot freed within {self.timeout_s:g} s") from None

    def _join(self, key: str, response_format: dict[str, Any]) -> _Job | Any:
        """The cached grammar, or the job to wait on (shared with other requests)."""
        with self._cond:
            if key in self._cache:
                self._cache.move_to_end(key)
                self.counts["cache_hits"] += 1
                return self._cache[key][0]
            if key in self._failed:
                raise ApiError(400, self._failed[key], param="response_format")
            job = self._jobs.get(key)
            if job is None:
                if self._full():
                    self.counts["refused"] += 1
                    raise _busy(f"{self.workers + self.max_waiting} schemas are compiling")
                job = self._jobs[key] = _Job(key, response_format)
                self._queue.append(job)
                self._cond.notify()
            job.waiters += 1
            return job

    def _leave(self, job: _Job, wake: Callable[[], None]) -> None:
        with self._cond:
            job.listeners.remove(wake)
            job.waiters -= 1
            if job.waiters == 0 and job.started is None and not job.finished:
                job.dropped = True  # every client has gone: never compile it
                self._queue.remove(job)
                del self._jobs[job.key]
                self.counts["dropped"] += 1

    # -- the compile threads -------------------------------------------------------------
    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                job = self._queue.popleft()
                job.started = time.monotonic()
                self._running += 1
                listeners = list(job.listeners)
            for wake in listeners:
                wake()
            grammar, error = None, None
            try:
                grammar = self.compile_fn(job.response_format)
            except Exception as exc:  # a bad schema fails its requests, never the thread
                error = exc
            self._finish(job, grammar, error)

    def _finish(self, job: _Job, grammar: Any, error: Exception | None) -> None:
        with self._cond:
            self._running -= 1
            job.grammar, job.error, job.finished = grammar, error, True
            del self._jobs[job.key]
            self.counts["compiled" if error is None else "failed"] += 1
            if error is not None:
                self._failed[job.key] = str(_as_api_error(error))
                while len(self._failed) > _ERRORS_KEPT:
                    self._failed.popitem(last=False)
            else:
                self._store(job.key, grammar)
            listeners = list(job.listeners)
        for wake in listeners:
            wake()

    def _store(self, key: str, grammar: Any) -> None:
        size = int(getattr(grammar, "memory_size_bytes", 0) or 0)
        if size > self.cache_bytes:
            return
        self._cache[key] = (grammar, size)
        self._cached_bytes += size
        while self._cached_bytes > self.cache_bytes:
            _, (_, dropped) = self._cache.popitem(last=False)
            self._cached_bytes -= dropped

    # -- state -----------------------------------------------------------------------
    @property
    def saturated(self) -> bool:
        """No slot for a new schema: the next one would be refused with a 503."""
        with self._cond:
            return self._full()

    def _full(self) -> bool:
        return self._running + len(self._queue) >= self.workers + self.max_waiting

    def stats(self) -> dict[str, Any]:
        with self._cond:
            return {
                "workers": self.workers,
                "compiling": self._running,
                "waiting": len(self._queue),
                "max_waiting": self.max_waiting,
                "timeout_s": self.timeout_s,
                "cached": len(self._cache),
                "cached_bytes": self._cached_bytes,
                **{k: self.counts[k] for k in _COUNTS},
            }

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout=1)


_COUNTS = ("compiled", "failed", "cache_hits", "refused", "busy", "timed_out", "dropped")


def _as_api_error(exc: Exception) -> ApiError:
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, ConstraintError):
        return ApiError(400, str(exc), param="response_format")
    return ApiError(400, f"cannot compile response_format: {exc}", param="response_format")


def _busy(why: str) -> ApiError:
    return ApiError(
        503,
        f"the server is busy compiling other response_format schemas ({why}); retry shortly",
        type_="server_error",
        code="compile_busy",
        retry_after=1,
    )
