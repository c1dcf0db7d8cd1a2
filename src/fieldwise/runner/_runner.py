"""The ``local`` executor: one model over a dataset in this process, concurrent,
rate-limited, retried, cached, resumable.

The runner owns everything between "a model" and "stored predictions", so backends stay
one small ``generate`` each. A fixed pool of workers (the concurrency limit) pulls
batches from one queue; a batch waiting to be retried sleeps on a timer, not in a worker.
Finished predictions are committed in groups within 0.1 s (see ``_writer``), so a
``kill -9`` loses at most the batches in flight and those finished in the last tenth of a
second, and a rerun recomputes nothing that was stored (keys already stored without an
error are skipped; stored errors are tried again).

Failure handling: :class:`RetryableError` and timeouts are retried with backoff that
honours ``Retry-After``, then recorded as the examples' errors; any other exception is
recorded at once; a :class:`~fieldwise.errors.UserError` (no key, key rejected, model
not served) stops the whole run, because every other request would fail the same way.
Cancellation (Ctrl-C) cancels the requests in flight and stores nothing for them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any, ClassVar

from fieldwise.errors import UserError
from fieldwise.models._errors import error_text
from fieldwise.models._model import Generation, Model, RetryableError
from fieldwise.models._responses import clean_generation
from fieldwise.runner._job import Executor, RunJob, RunOutcome, RunSettings, result_row
from fieldwise.runner._progress import Bar
from fieldwise.runner._writer import StoreWriter
from fieldwise.runner.limits import RateLimiter
from fieldwise.store import Store
from fieldwise.tasks import Example

ProgressCallback = Callable[[int], None]


def _failed(batch: list[Example], message: str) -> list[Generation]:
    # Error texts come from servers and SDKs, which may echo the API key.
    message = error_text(message)
    return [Generation(None, error=message) for _ in batch]


async def _try_batch(
    model: Model, batch: list[Example], settings: RunSettings, limiter: RateLimiter, attempt: int
) -> list[Generation] | float:
    """One attempt at a batch: its generations (errors included), or the seconds to wait
    before the next attempt. Raises only for cancellation and :class:`UserError`."""
    estimate = settings.estimated_tokens_per_request * len(batch)
    await limiter.acquire(estimate)
    start = time.perf_counter()
    try:
        gens = await asyncio.wait_for(model.generate(batch), timeout=settings.timeout_s)
    except (RetryableError, TimeoutError) as exc:
        reason = str(exc) or type(exc).__name__
        if isinstance(exc, TimeoutError) and settings.timeout_s is not None:
            reason = f"timed out after {settings.timeout_s:g}s"
        if attempt >= settings.retry.max_retries:
            return _failed(batch, f"gave up after {attempt + 1} tries: {reason}")
        return settings.retry.delay(attempt, getattr(exc, "retry_after", None))
    except UserError:
        raise
    except Exception as exc:  # noqa: BLE001 - recorded per example, never aborts the run
        return _failed(batch, f"{type(exc).__name__}: {exc}")
    if not isinstance(gens, list) or len(gens) != len(batch):
        return _failed(batch, "backend returned the wrong number of outputs")
    try:
        gens = [clean_generation(g) for g in gens]
    except TypeError as exc:
        return _failed(batch, str(exc))
    elapsed = time.perf_counter() - start
    used = [g.input_tokens for g in gens] + [g.output_tokens for g in gens]
    if all(u is not None for u in used):
        limiter.settle(estimate, sum(u or 0 for u in used))
    return [g if g.latency_s else replace(g, latency_s=elapsed / len(batch)) for g in gens]


_ABORT, _RETRY, _FRESH, _STOP = -1, 0, 1, 2
"""Queue priorities: a batch whose retry delay is over goes before fresh ones, so its
examples do not wait for the whole dataset; workers stop last, unless the run is being
aborted (then before anything else)."""


class LocalExecutor(Executor):
    """In this process, on one event loop per run (the engine below). The model is
    closed afterwards."""

    name: ClassVar[str] = "local"

    def run(self, job: RunJob, bar: Bar) -> RunOutcome:
        async def main() -> RunOutcome:
            try:
                return await run_job_async(job, bar.advance)
            finally:
                await job.model.aclose()

        return asyncio.run(main())


async def run_model_async(
    model: Model,
    examples: list[Example],
    store: Store,
    *,
    on_progress: ProgressCallback | None = None,
    on_wait: Callable[[], None] | None = None,
    **job: Any,
) -> RunOutcome:
    """Predict every example not already in the store; return all rows in example order.

    ``job`` holds the other fields of :class:`RunJob` (``label``, ``run_id``,
    ``settings``, ``repeats``). ``on_progress(n)`` is called with the number of examples
    just completed (cached ones first, in one call). Duplicate texts share one key and are
    computed once. With ``repeats`` > 1 each example is predicted that many times, each
    repeat under its own key, all in one queue: a resumed run computes only the repeats
    that are missing. Another process predicting with the same model on the same store
    is waited for (``on_wait`` is called once if so), so no row is requested twice.
    The model is left open (:meth:`Model.aclose` is the caller's)."""
    run = RunJob(model, examples, store, **job)
    async with run.locked(on_wait):
        return await run_job_async(run, on_progress)


async def run_job_async(job: RunJob, on_progress: ProgressCallback | None) -> RunOutcome:
    """The online engine on ``job``, with the model's lock already held."""
    model, store, settings = job.model, job.store, job.settings
    plan = job.plan(on_progress)
    copies, done = plan.copies, plan.done
    items = list(plan.pending.items())
    size = max(1, model.max_batch_size)
    batches = [items[i : i + size] for i in range(0, len(items), size)]
    concurrency = max(1, settings.concurrency or model.default_concurrency)
    n_workers = min(concurrency, len(batches))
    limiter = RateLimiter(settings.rpm, settings.tpm)
    # A waiting retry holds no worker: it sleeps on a timer and re-enters the queue, so
    # a 429 with Retry-After: 1 costs the run one request slot, not one second of a slot.
    queue: asyncio.PriorityQueue[tuple[int, int, int, list[tuple[str, Example]]]]
    queue = asyncio.PriorityQueue()
    for seq, batch in enumerate(batches):
        queue.put_nowait((_FRESH, seq, 0, batch))
    timers: set[asyncio.TimerHandle] = set()
    loop = asyncio.get_running_loop()
    remaining = len(batches)
    failed = 0
    writer = StoreWriter(store, job.run_id, job.label)
    aborting = False

    def requeue(item: tuple[int, int, int, list[tuple[str, Example]]]) -> None:
        queue.put_nowait(item)

    async def worker() -> None:
        nonlocal failed, remaining
        while not aborting:
            priority, seq, attempt, batch = await queue.get()
            if priority in (_STOP, _ABORT):
                return
            result = await _try_batch(model, [ex for _, ex in batch], settings, limiter, attempt)
            if not isinstance(result, list):
                timer = loop.call_later(result, requeue, (_RETRY, seq, attempt + 1, batch))
                timers.add(timer)
                continue
            rows = []
            for (key, ex), gen in zip(batch, result, strict=True):
                row = result_row(key, ex.id, gen, settings.price)
                rows.append(row)
                done[key] = row
                failed += gen.error is not None
            writer.add(rows)
            if on_progress:
                on_progress(sum(copies[key] for key, _ in batch))
            remaining -= 1
            if remaining == 0:
                for _ in range(n_workers):
                    queue.put_nowait((_STOP, 0, 0, []))

    workers = [asyncio.create_task(worker()) for _ in range(n_workers)]
    try:
        await asyncio.gather(*workers)
    except BaseException:
        # A worker can swallow its cancellation (a backend catching CancelledError, or
        # ``asyncio.wait_for`` on Python 3.11 when the call finishes as it is cancelled)
        # and go back to the queue: the flag and one abort item per worker make every
        # worker return anyway, so a failed or interrupted run always exits.
        aborting = True
        for task in workers:
            task.cancel()
        for _ in workers:
            queue.put_nowait((_ABORT, 0, 0, []))
        await asyncio.gather(*workers, return_exceptions=True)
        raise
    finally:
        for timer in timers:
            timer.cancel()
        writer.flush()  # also on Ctrl-C and errors: what finished is kept
    return plan.outcome(failed)
