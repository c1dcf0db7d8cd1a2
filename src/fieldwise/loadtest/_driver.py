"""The load generator: closed loop at a concurrency, open loop at a Poisson rate.

Requests reach the model through its one interface, :meth:`Model.generate`, the way a
server sees them: a backend that answers one request per call (every HTTP backend) gets
each request the moment it is sent, however many are in flight; a backend that batches
in process (``hf``, ``vllm``, the baseline) gets whatever is waiting, up to its batch
size, from as many dispatchers as its ``default_concurrency``, as a serving engine
would batch concurrent requests. Nothing is cached or retried: a failure is counted.

Closed loop: ``concurrency`` clients, each sending its next request when the previous
one is answered, so the offered load adapts to the server (this measures capacity).
Open loop: arrivals at seeded exponential gaps (a Poisson process of ``rate`` per
second) regardless of answers, so queueing shows as latency growth. Each arrival's
send time is compared with its schedule: that lag, and the share of wall time the
event loop's own thread spent on the CPU, say whether the generator kept up.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from fieldwise.errors import UserError
from fieldwise.models._model import Generation, Model
from fieldwise.models._responses import clean_generation
from fieldwise.tasks import Example

MAX_IN_FLIGHT = 100_000
"""Open-loop requests outstanding at once before the generator counts as saturated."""


@dataclass
class Sample:
    """One request: when it was sent (``perf_counter`` seconds), answered, and what came
    back. ``scheduled`` is its open-loop arrival time (``None`` in a closed loop)."""

    index: int
    example: Example
    sent: float
    done: float
    gen: Generation
    scheduled: float | None = None

    @property
    def latency_s(self) -> float:
        return self.done - self.sent


@dataclass
class LevelRun:
    """A level's samples (warm-up ones first, by index), its wall time and the
    generator's own CPU time, both over every request sent, warm-up included."""

    samples: list[Sample]
    wall_s: float
    cpu_s: float
    warmup: int = 0
    lags: list[float] = field(default_factory=list)
    """Open loop: how late each measured arrival was sent, against its schedule."""
    overflow: bool = False
    loop_lags: list[float] = field(default_factory=list)
    """How late the event loop's timer ticks fired while the level ran."""

    @property
    def measured(self) -> list[Sample]:
        """The requests the level's numbers describe (the warm-up ones left out)."""
        return self.samples[self.warmup :]

    def window(self) -> tuple[float, list[Sample]]:
        """The steady part of the level and the successful answers that came in it.

        It runs from the first measured send to the last send, while the level's load
        was fully applied (warm-up answers arriving in it count: the server did that
        work under the load); the drain after the last send, when fewer and fewer
        requests are in flight, would understate a closed loop's capacity. A level
        whose sends all left at once (fewer requests than clients) falls back to the
        first measured send to the last answer."""
        measured = self.measured
        if not measured:
            return 0.0, []
        start = min(s.sent for s in measured)
        end = max(s.sent for s in self.samples)
        inside = [s for s in self.samples if start <= s.done <= end and s.gen.error is None]
        if end - start <= 0 or not inside:
            end = max(s.done for s in self.samples)
            inside = [s for s in self.samples if s.done >= start and s.gen.error is None]
        return end - start, inside


class Dispatcher:
    """Sends requests to ``model`` as a server would receive them (see module doc)."""

    def __init__(self, model: Model, timeout_s: float | None) -> None:
        self.model = model
        self.timeout_s = timeout_s
        self.batched = model.max_batch_size > 1
        self._queue: asyncio.Queue[tuple[Example, asyncio.Future[Generation]]] | None = None
        self._workers: list[asyncio.Task[None]] = []

    async def send(self, example: Example) -> Generation:
        if not self.batched:
            return (await self._call([example]))[0]
        if self._queue is None:
            self._queue = asyncio.Queue()
            workers = max(1, self.model.default_concurrency)
            self._workers = [asyncio.create_task(self._batcher()) for _ in range(workers)]
        future: asyncio.Future[Generation] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((example, future))
        return await future

    async def _batcher(self) -> None:
        assert self._queue is not None
        while True:
            items = [await self._queue.get()]
            while len(items) < self.model.max_batch_size and not self._queue.empty():
                items.append(self._queue.get_nowait())
            try:
                gens = await self._call([ex for ex, _ in items])
            except BaseException as exc:
                for _, future in items:
                    if not future.done():
                        future.set_exception(exc)
                if isinstance(exc, asyncio.CancelledError):
                    raise
                continue
            for (_, future), gen in zip(items, gens, strict=True):
                if not future.done():
                    future.set_result(gen)

    async def _call(self, batch: list[Example]) -> list[Generation]:
        """One ``generate`` call; any failure but a :class:`UserError` (a rejected key,
        an unknown model: every request would fail alike) is each request's error."""
        try:
            gens = await asyncio.wait_for(self.model.generate(batch), timeout=self.timeout_s)
            if not isinstance(gens, list) or len(gens) != len(batch):
                raise ValueError("backend returned the wrong number of outputs")
            return [clean_generation(g) for g in gens]
        except UserError:
            raise
        except TimeoutError:
            return [Generation(None, error=f"timed out after {self.timeout_s:g}s")] * len(batch)
        except Exception as exc:  # noqa: BLE001 - a failed request is a measurement
            return [Generation(None, error=f"{type(exc).__name__}: {exc}"[:500])] * len(batch)

    async def aclose(self) -> None:
        for task in self._workers:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers, self._queue = [], None


LOOP_TICK_S = 0.05
"""How often, at most, the event loop's own punctuality is sampled while a level runs."""
LOOP_TICK_MAX_S = 1.0
"""How seldom, at least: at slow levels the ticks follow the answers' pace instead, so
the watcher costs about one timer wake-up per answer, not twenty a second (on the shared
2-core box that fixed cost read 8 ms per request at 0.3 requests/s)."""


async def _measured(
    body: Callable[[], Awaitable[None]], loop_lags: list[float], answered: Callable[[], int]
) -> tuple[float, float]:
    """Wall and event-loop-thread CPU seconds spent running ``body``, with how late a
    timer fired meanwhile (``loop_lags``): a loop that runs late delays every answer it
    reads, whether its own work or a busy machine is the cause, and its CPU time alone
    would not show the second. The timer's period is the mean gap between answers so
    far (``answered()`` counts them), kept between ``LOOP_TICK_S`` and
    ``LOOP_TICK_MAX_S``."""

    async def watch() -> None:
        while True:
            elapsed = time.perf_counter() - wall0
            tick = min(LOOP_TICK_MAX_S, max(LOOP_TICK_S, elapsed / (answered() + 1)))
            due = time.perf_counter() + tick
            await asyncio.sleep(tick)
            loop_lags.append(max(0.0, time.perf_counter() - due))

    wall0, cpu0 = time.perf_counter(), time.thread_time()
    watcher = asyncio.create_task(watch())
    try:
        await body()
    finally:
        watcher.cancel()
    return time.perf_counter() - wall0, time.thread_time() - cpu0


async def closed_loop(
    dispatch: Dispatcher,
    examples: list[Example],
    concurrency: int,
    requests: int,
    tick: Callable[[], None] | None = None,
    warmup: int = 0,
) -> LevelRun:
    """``concurrency`` clients replay ``examples`` in order (cycling) until ``warmup``
    plus ``requests`` have been sent, the first ``warmup`` unmeasured (they open the
    connections and fill the pipeline); ``tick`` is called as each is answered."""
    samples: list[Sample] = []
    requests += warmup
    next_index = 0

    async def client() -> None:
        nonlocal next_index
        while next_index < requests:
            i = next_index
            next_index += 1
            example = examples[i % len(examples)]
            sent = time.perf_counter()
            gen = await dispatch.send(example)
            samples.append(Sample(i, example, sent, time.perf_counter(), gen))
            if tick is not None:
                tick()

    async def body() -> None:
        await asyncio.gather(*(client() for _ in range(max(1, min(concurrency, requests)))))

    loop_lags: list[float] = []
    wall, cpu = await _measured(body, loop_lags, samples.__len__)
    samples.sort(key=lambda s: s.index)
    return LevelRun(samples, wall, cpu, warmup, loop_lags=loop_lags)


async def open_loop(
    dispatch: Dispatcher,
    examples: list[Example],
    rate: float,
    requests: int,
    seed: int = 0,
    tick: Callable[[], None] | None = None,
    warmup: int = 0,
) -> LevelRun:
    """Send ``warmup`` plus ``requests`` at Poisson arrivals of ``rate`` per second
    (seeded gaps), each as its own task whatever is still in flight; the first
    ``warmup`` arrivals are unmeasured."""
    requests += warmup
    rng = random.Random(seed)
    samples: list[Sample] = []
    lags: list[float] = []
    overflow = False

    async def one(i: int, scheduled: float) -> None:
        example = examples[i % len(examples)]
        sent = time.perf_counter()
        gen = await dispatch.send(example)
        samples.append(Sample(i, example, sent, time.perf_counter(), gen, scheduled))
        if tick is not None:
            tick()

    async def body() -> None:
        nonlocal overflow
        tasks: set[asyncio.Task[None]] = set()
        start = time.perf_counter()
        offset = 0.0
        for i in range(requests):
            offset += rng.expovariate(rate)
            scheduled = start + offset
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            lags.append(max(0.0, time.perf_counter() - scheduled))
            if len(tasks) >= MAX_IN_FLIGHT:
                overflow = True
                await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            task = asyncio.create_task(one(i, scheduled))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        try:
            await asyncio.gather(*tasks)
        except BaseException:
            for task in tasks:
                task.cancel()
            raise

    loop_lags: list[float] = []
    wall, cpu = await _measured(body, loop_lags, samples.__len__)
    samples.sort(key=lambda s: s.index)
    return LevelRun(samples, wall, cpu, warmup, lags[warmup:], overflow, loop_lags)
