"""Run one model over a dataset: concurrent, rate-limited, retried, cached, resumable.

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
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from fieldwise._hashing import content_hash, prediction_keys
from fieldwise.errors import UserError
from fieldwise.models._errors import error_text
from fieldwise.models._model import Generation, Model, RetryableError
from fieldwise.models._responses import clean_generation
from fieldwise.runner._writer import StoreWriter
from fieldwise.runner.limits import RateLimiter, RetryPolicy
from fieldwise.store import PredictionRow, Store
from fieldwise.store._lock import model_lock
from fieldwise.tasks import Example

MAX_PLANNED = 5_000_000
"""The most predictions (rows x repeats) one run plans: every one is keyed and looked up
in memory before the first request, about 400 bytes each."""


@dataclass(frozen=True)
class Price:
    """USD per million input / output tokens."""

    input_per_mtok: float = 0.0
    output_per_mtok: float = 0.0

    def cost(self, gen: Generation) -> float | None:
        if gen.input_tokens is None and gen.output_tokens is None:
            return None
        return (
            (gen.input_tokens or 0) * self.input_per_mtok
            + (gen.output_tokens or 0) * self.output_per_mtok
        ) / 1e6


@dataclass(frozen=True)
class RunSettings:
    """How hard to push a backend; none of these change outputs (so none are in keys).

    ``timeout_s`` bounds one ``generate`` call (one request for API models; ``None``: no
    limit, e.g. for slow local models); ``concurrency`` defaults to the backend's
    ``default_concurrency``.
    """

    concurrency: int | None = None
    rpm: float | None = None
    tpm: float | None = None
    timeout_s: float | None = 120.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    price: Price | None = None
    estimated_tokens_per_request: int = 1000


@dataclass
class RunOutcome:
    """Predictions aligned with the examples, plus what this call actually computed."""

    rows: list[PredictionRow]
    computed: int
    cached: int
    failed: int
    wall_s: float
    repeats: list[list[PredictionRow]] = field(default_factory=list)
    """Every repeat's rows (``repeats[0]`` is ``rows``) when run with ``repeats`` > 1."""


ProgressCallback = Callable[[int], None]


def lock_name(model: Model) -> str:
    """The name of a model's per-project lock: one per identity, whatever the executor."""
    return content_hash(model.identity())[:32]


def announce_wait(label: str, store: Store) -> Callable[[], None]:
    """What a run prints (once) when another process holds its model's lock."""

    def waiting() -> None:
        print(
            f"{label}: another process is predicting with this model on "
            f"{store.project_dir}; waiting for it (its rows will not be requested again)",
            file=sys.stderr,
            flush=True,
        )

    return waiting


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


@dataclass
class RunPlan:
    """What a run has to do: every (repeat, example)'s key, what is stored, what is
    pending. Shared by the local runner and the Ray executor, so both resume alike."""

    keyed: list[tuple[str, Example]]
    """Repeat-major: every example for repeat 0, then for repeat 1, and so on."""
    repeats: int
    copies: Counter[str]
    done: dict[str, PredictionRow]
    cached: int
    pending: dict[str, Example]

    def rows(self) -> list[list[PredictionRow]]:
        """One list of rows per repeat, in example order, once ``done`` is complete.
        Repeated texts share one stored row; each example still gets its own id."""
        done = self.done
        rows = [
            done[k] if done[k].example_id == ex.id else replace(done[k], example_id=ex.id)
            for k, ex in self.keyed
        ]
        n = len(rows) // self.repeats if self.repeats else 0
        return [rows[r * n : (r + 1) * n] for r in range(self.repeats)]


def plan_run(
    model: Model,
    examples: list[Example],
    store: Store,
    on_progress: ProgressCallback | None,
    repeats: int = 1,
) -> RunPlan:
    """Look every example (each repeat under its own key) up in the store, reporting the
    cached ones as progress."""
    if repeats < 1:
        raise UserError(f"repeats must be at least 1, got {repeats}")
    if repeats * len(examples) > MAX_PLANNED:
        raise UserError(
            f"{repeats:,} repeats of {len(examples):,} rows are "
            f"{repeats * len(examples):,} predictions; one run plans at most {MAX_PLANNED:,}",
            hint="lower repeats, or predict the rows in parts (--limit)",
        )
    identity = model.identity()
    keyed = [
        (key, ex)
        for r in range(repeats)
        for key, ex in zip(prediction_keys(identity, examples, r), examples, strict=True)
    ]
    keys = [key for key, _ in keyed]
    done = store.finished(keys)
    cached = sum(1 for k in keys if k in done)
    if on_progress and cached:
        on_progress(cached)
    pending: dict[str, Example] = {}
    for key, ex in keyed:
        if key not in done and key not in pending:
            pending[key] = ex
    return RunPlan(keyed, repeats, Counter(keys), done, cached, pending)


_ABORT, _RETRY, _FRESH, _STOP = -1, 0, 1, 2
"""Queue priorities: a batch whose retry delay is over goes before fresh ones, so its
examples do not wait for the whole dataset; workers stop last, unless the run is being
aborted (then before anything else)."""


async def run_model_async(
    model: Model,
    examples: list[Example],
    store: Store,
    *,
    label: str,
    run_id: int | None,
    settings: RunSettings | None = None,
    on_progress: ProgressCallback | None = None,
    on_wait: Callable[[], None] | None = None,
    repeats: int = 1,
) -> RunOutcome:
    """Predict every example not already in the store; return all rows in example order.

    ``on_progress(n)`` is called with the number of examples just completed (cached ones
    first, in one call). Duplicate texts share one key and are computed once. With
    ``repeats`` > 1 each example is predicted that many times, each repeat under its own
    key (see ``prediction_key``), all in one queue: a resumed run computes only the
    repeats that are missing. Another process predicting with the same model on the same
    store is waited for (``on_wait`` is called once if so), so no row is requested twice
    (see ``store/_lock.py``).
    """
    if repeats < 1:
        raise UserError(f"repeats must be at least 1, got {repeats}")
    async with model_lock(store.project_dir, lock_name(model), on_wait):
        return await _run_unlocked(
            model,
            examples,
            store,
            label=label,
            run_id=run_id,
            settings=settings,
            on_progress=on_progress,
            repeats=repeats,
        )


async def _run_unlocked(
    model: Model,
    examples: list[Example],
    store: Store,
    *,
    label: str,
    run_id: int | None,
    settings: RunSettings | None,
    on_progress: ProgressCallback | None,
    repeats: int,
) -> RunOutcome:
    settings = settings or RunSettings()
    started = time.perf_counter()
    plan = plan_run(model, examples, store, on_progress, repeats)
    copies, done, cached = plan.copies, plan.done, plan.cached
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
    writer = StoreWriter(store, run_id, label)
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
                cost = settings.price.cost(gen) if settings.price else None
                row = PredictionRow(
                    key,
                    ex.id,
                    gen.output,
                    gen.error,
                    gen.latency_s,
                    gen.input_tokens,
                    gen.output_tokens,
                    cost,
                    gen.finish_reason,
                )
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
    by_repeat = plan.rows()
    wall = time.perf_counter() - started
    return RunOutcome(
        by_repeat[0] if by_repeat else [], len(items), cached, failed, wall, by_repeat
    )
