"""Run one model over a dataset: concurrent, rate-limited, retried, cached, resumable.

The runner owns everything between "a model" and "stored predictions", so backends stay
one small ``generate`` each. Each finished batch is committed to the store immediately;
on restart, keys already in the store are skipped, so a ``kill -9`` loses at most the
batches in flight and recomputes nothing that finished.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from extractbench.models._model import Generation, Model, RetryableError, prediction_key
from extractbench.runner.limits import RateLimiter, RetryPolicy
from extractbench.store import PredictionRow, Store
from extractbench.tasks import Example


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
    """How hard to push a backend; none of these change outputs (so none are in keys)."""

    concurrency: int | None = None
    rpm: float | None = None
    tpm: float | None = None
    timeout_s: float = 120.0
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


ProgressCallback = Callable[[int], None]


async def _generate_with_retries(
    model: Model, batch: list[Example], settings: RunSettings, limiter: RateLimiter
) -> list[Generation]:
    attempt = 0
    while True:
        await limiter.acquire(settings.estimated_tokens_per_request * len(batch))
        start = time.perf_counter()
        try:
            gens = await asyncio.wait_for(model.generate(batch), timeout=settings.timeout_s)
        except (RetryableError, asyncio.TimeoutError) as exc:
            if attempt >= settings.retry.max_retries:
                reason = str(exc) or type(exc).__name__
                return [Generation(None, error=f"gave up after {attempt + 1} tries: {reason}")] * len(batch)
            retry_after = getattr(exc, "retry_after", None)
            await asyncio.sleep(settings.retry.delay(attempt, retry_after))
            attempt += 1
            continue
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - recorded per example, never aborts the run
            return [Generation(None, error=f"{type(exc).__name__}: {exc}")] * len(batch)
        if len(gens) != len(batch):
            return [Generation(None, error="backend returned the wrong number of outputs")] * len(batch)
        elapsed = time.perf_counter() - start
        for gen in gens:
            if not gen.latency_s:
                gen.latency_s = elapsed / len(batch)
        return gens


async def run_model_async(
    model: Model,
    examples: list[Example],
    store: Store,
    *,
    label: str,
    run_id: int | None,
    settings: RunSettings | None = None,
    on_progress: ProgressCallback | None = None,
) -> RunOutcome:
    """Predict every example not already in the store; return all rows in example order."""
    settings = settings or RunSettings()
    started = time.perf_counter()
    identity = model.identity()
    keys = [prediction_key(identity, ex) for ex in examples]
    done = store.finished(keys)
    cached = sum(1 for k in keys if k in done)
    if on_progress and cached:
        on_progress(cached)
    pending: dict[str, Example] = {}
    for key, ex in zip(keys, examples, strict=True):
        if key not in done and key not in pending:
            pending[key] = ex
    items = list(pending.items())
    size = max(1, model.max_batch_size)
    batches = [items[i : i + size] for i in range(0, len(items), size)]
    concurrency = settings.concurrency or model.default_concurrency
    semaphore = asyncio.Semaphore(max(1, concurrency))
    limiter = RateLimiter(settings.rpm, settings.tpm)
    failed = 0

    async def work(batch: list[tuple[str, Example]]) -> None:
        nonlocal failed
        async with semaphore:
            gens = await _generate_with_retries(model, [ex for _, ex in batch], settings, limiter)
        rows = []
        for (key, ex), gen in zip(batch, gens, strict=True):
            cost = settings.price.cost(gen) if settings.price else None
            row = PredictionRow(
                key, ex.id, gen.output, gen.error, gen.latency_s, gen.input_tokens,
                gen.output_tokens, cost, gen.finish_reason,
            )
            rows.append(row)
            done[key] = row
            failed += gen.error is not None
        store.save_predictions(run_id, label, rows)
        if on_progress:
            batch_keys = {key for key, _ in batch}
            on_progress(sum(1 for k in keys if k in batch_keys))

    tasks = [asyncio.create_task(work(b)) for b in batches]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    rows = [done[k] for k in keys]
    return RunOutcome(rows, len(items), cached, failed, time.perf_counter() - started)
