"""The load generator's loops and arithmetic, on a backend that batches in process."""

from __future__ import annotations

import asyncio
import time
from typing import ClassVar

import pytest

from fieldwise.loadtest._driver import Dispatcher, LevelRun, Sample, closed_loop, open_loop
from fieldwise.loadtest._metrics import LevelSpec, generator_health, summarise
from fieldwise.models import Generation, Model
from fieldwise.tasks import Example, load_task

EXAMPLES = [Example(f"e{i}", f"document {i}") for i in range(10)]


class Batching(Model):
    """Answers a batch after 50 ms, whatever its size, and records the batch sizes."""

    provider: ClassVar[str] = "batching"
    max_batch_size: ClassVar[int] = 4
    sizes: list[int]

    async def generate(self, batch: list[Example]) -> list[Generation]:
        self.sizes.append(len(batch))
        await asyncio.sleep(0.05)
        return [Generation("{}", output_tokens=3) for _ in batch]


def _model() -> Batching:
    model = Batching("b", load_task("isaf"))
    model.sizes = []
    return model


def test_a_batching_backend_gets_what_is_waiting_up_to_its_batch_size() -> None:
    model = _model()

    async def go() -> LevelRun:
        dispatch = Dispatcher(model, timeout_s=5)
        try:
            return await closed_loop(dispatch, EXAMPLES, concurrency=8, requests=40)
        finally:
            await dispatch.aclose()

    run = asyncio.run(go())
    assert len(run.samples) == 40 and max(model.sizes) == 4 and sum(model.sizes) == 40
    # one dispatcher, 4 rows per 50 ms: about 80 documents a second, never more
    level = summarise(LevelSpec(concurrency=8), run, scores=(1.0, None))
    assert 40 <= level["throughput_docs_s"] <= 81
    assert level["output_tokens_s"] == pytest.approx(3 * level["throughput_docs_s"], rel=1e-6)
    # 8 clients, 4 served per 50 ms: each waits a batch, then its own
    assert level["latency_s"]["p50"] == pytest.approx(0.1, abs=0.04)


def test_open_loop_arrivals_follow_the_rate() -> None:
    model = _model()

    async def go() -> LevelRun:
        dispatch = Dispatcher(model, timeout_s=5)
        try:
            return await open_loop(dispatch, EXAMPLES, rate=100.0, requests=60, seed=3)
        finally:
            await dispatch.aclose()

    run = asyncio.run(go())
    scheduled = [s.scheduled for s in run.samples]
    assert all(a is not None for a in scheduled)
    span = max(scheduled) - min(scheduled)  # type: ignore[type-var, operator]
    assert 0.3 < span < 1.0  # 59 exponential gaps of mean 10 ms
    assert len(run.lags) == 60 and max(run.lags) < 0.2


def _samples(latencies: list[float], ttft: float | None = None) -> list[Sample]:
    out = []
    for i, lat in enumerate(latencies):
        gen = Generation("{}", output_tokens=11, ttft_s=ttft)
        out.append(Sample(i, EXAMPLES[0], sent=float(i), done=float(i) + lat, gen=gen))
    return out


def test_metrics_by_hand() -> None:
    # warm-up sample 0, then four measured: sent at 1..4, answered 1, 2, 3, 4 s later
    samples = _samples([0.5, 1.0, 2.0, 3.0, 4.0], ttft=0.5)
    run = LevelRun(samples, wall_s=8.0, cpu_s=0.004, warmup=1)
    level = summarise(LevelSpec(concurrency=2), run, scores=(0.75, 50.0), latency_target_s=2.5)
    # answered at 0.5, 2, 4, 6, 8 s; the load was fully applied from the first measured
    # send (1 s) to the last send (4 s): answers at 2 and 4 s, 2 in 3 s
    assert level["throughput_docs_s"] == pytest.approx(2 / 3, abs=1e-4)
    assert level["goodput_docs_s"] == pytest.approx(2 / 3, abs=1e-4)  # both within 2.5 s
    strict = summarise(LevelSpec(concurrency=2), run, scores=(1, None), latency_target_s=1.5)
    assert strict["goodput_docs_s"] == pytest.approx(1 / 3, abs=1e-4)  # only the 1 s one
    assert level["latency_s"]["p50"] == pytest.approx(2.5)
    assert level["ttft_s"]["p50"] == pytest.approx(0.5)
    # TPOT: (latency - TTFT) / (11 - 1) tokens: 0.05, 0.15, 0.25, 0.35 -> median 0.2
    assert level["tpot_s"]["p50"] == pytest.approx(0.2)
    assert level["client_cpu_ms_per_request"] == pytest.approx(0.8)  # 4 ms over 5 sent
    assert (level["requests"], level["valid"], level["accuracy"]) == (4, 0.75, 50.0)
    assert level["generator"]["saturated"] is False


def test_a_busy_or_late_generator_says_so() -> None:
    busy = LevelRun(_samples([0.1] * 4), wall_s=1.0, cpu_s=0.9)
    health = generator_health(LevelSpec(concurrency=4), busy)
    assert health["saturated"] and "CPU" in health["why"]
    late = LevelRun(_samples([0.1] * 4), wall_s=1.0, cpu_s=0.01, lags=[0.2] * 4)
    health = generator_health(LevelSpec(rate=10.0), late)
    assert health["saturated"] and "late" in health["why"]
    fine = LevelRun(_samples([0.1] * 4), wall_s=1.0, cpu_s=0.01, lags=[0.001] * 4)
    assert not generator_health(LevelSpec(rate=10.0), fine)["saturated"]


def _one_client(model: Model, requests: int) -> LevelRun:
    """A closed loop of one client sending ``requests`` to ``model``."""

    async def go() -> LevelRun:
        dispatch = Dispatcher(model, timeout_s=30)
        try:
            return await closed_loop(dispatch, EXAMPLES, concurrency=1, requests=requests)
        finally:
            await dispatch.aclose()

    return asyncio.run(go())


def test_client_cpu_per_request_is_the_loop_threads_only() -> None:
    """CPU burnt on another thread (a server, a local model's worker) is not the
    generator's: only the event loop's thread is counted."""
    model = _model()

    async def burn_elsewhere(batch: list[Example]) -> list[Generation]:
        await asyncio.to_thread(lambda: sum(i * i for i in range(300_000)))
        return [Generation("{}") for _ in batch]

    model.generate = burn_elsewhere  # type: ignore[method-assign]

    start = time.process_time()
    run = _one_client(model, 5)
    total = time.process_time() - start
    assert total > 0.05 and run.cpu_s < total / 2


def test_the_loop_watcher_keeps_pace_with_slow_answers() -> None:
    """At a slow level the punctuality timer ticks about once per answer, not every
    50 ms: its wake-ups are the generator's own fixed cost, which at 0.3 answers a
    second used to read as 8 ms of client CPU per request."""
    model = _model()

    async def slow(batch: list[Example]) -> list[Generation]:
        await asyncio.sleep(0.4)
        return [Generation("{}") for _ in batch]

    model.generate = slow  # type: ignore[method-assign]

    run = _one_client(model, 5)
    every_50_ms = run.wall_s / 0.05  # about 40 ticks over the 2 s level
    assert 2 <= len(run.loop_lags) <= every_50_ms / 3
