"""Rate limits and retry delays, measured on the clock and on the fake server's log."""

from __future__ import annotations

import asyncio
import time

import pytest

from fieldwise.models import Generation
from fieldwise.runner import RateLimiter, RetryPolicy, RunSettings, run_model_async
from fieldwise.store import Store
from fieldwise.tasks import Example, Task
from tests.fakes.openai_server import FakeServer
from tests.runner.helpers import docs, openai_model


def test_rpm_is_enforced_against_the_server(
    fake_openai: FakeServer, isaf: Task, store: Store
) -> None:
    rpm, n = 1200.0, 40  # 20/s after an opening burst of 20 (one second's budget)
    model = openai_model(fake_openai, isaf)
    sends: list[float] = []
    generate = model.generate

    async def timed(batch: list[Example]) -> list[Generation]:
        sends.append(time.monotonic())
        return await generate(batch)

    async def main() -> None:
        # Warm up pooled connections first so that connection setup does not delay the
        # opening burst at the server.
        await asyncio.gather(*(generate([Example("w", "warm-up")]) for _ in range(16)))
        model.generate = timed  # type: ignore[method-assign]
        try:
            await run_model_async(
                model,
                docs(n),
                store,
                label="m",
                run_id=None,
                settings=RunSettings(concurrency=16, rpm=rpm),
            )
        finally:
            await model.aclose()

    asyncio.run(main())
    rate, burst = rpm / 60, 20
    # What the limiter controls, the send times: no window holds more than the burst plus
    # the rate times its length.
    assert len(sends) == n
    for i in range(n):
        for j in range(i + 1, n):
            assert j - i + 1 <= burst + rate * (sends[j] - sends[i]) + 1, (i, j)
    # What the server sees: after the burst, arrivals come no faster than the limit
    # (arrival jitter on a busy machine can bunch a few, never the whole run).
    arrivals = sorted(r.started for r in fake_openai.log if r.text != "warm-up")
    assert len(arrivals) == n
    steady = arrivals[burst + 2 :]
    expected = (len(steady) - 1) / rate
    span = steady[-1] - steady[0]
    assert expected * 0.8 <= span <= expected * 3, (span, expected)


def test_tpm_waits_for_tokens_and_settles_to_real_usage() -> None:
    async def main() -> tuple[float, float]:
        limiter = RateLimiter(tpm=600_000)  # 10k tokens/s, bucket of 10k
        start = time.monotonic()
        for _ in range(12):
            await limiter.acquire(1000)
        slow = time.monotonic() - start
        for _ in range(4):
            limiter.settle(1000, 10)  # the requests were much cheaper than estimated
        start = time.monotonic()
        await limiter.acquire(1000)
        return slow, time.monotonic() - start

    slow, refunded = asyncio.run(main())
    assert 0.15 <= slow <= 0.6  # 12k tokens: 10k at once, 2k at 10k/s
    assert refunded < 0.05


def test_no_limits_never_wait() -> None:
    async def main() -> float:
        limiter = RateLimiter()
        start = time.monotonic()
        for _ in range(1000):
            await limiter.acquire(10**6)
        return time.monotonic() - start

    assert asyncio.run(main()) < 0.1


def test_bad_limits_are_rejected() -> None:
    with pytest.raises(ValueError):
        RateLimiter(rpm=0)


def test_retry_delay_honours_retry_after_and_backs_off() -> None:
    policy = RetryPolicy(max_retries=5, base_s=0.5, max_s=10.0)
    for attempt in range(5):
        hinted = policy.delay(attempt, retry_after=0.7)
        assert 0.7 <= hinted <= 0.7 + 0.1 * min(10.0, 0.5 * 2**attempt)
        plain = policy.delay(attempt)
        assert 0 <= plain <= min(10.0, 0.5 * 2**attempt)
    assert policy.delay(0, retry_after=3600) <= 10.0 + 0.05
    delays = {round(policy.delay(3), 6) for _ in range(20)}
    assert len(delays) > 10, "backoff is jittered"


def test_absurd_reported_usage_cannot_stall_the_limiter() -> None:
    limiter = RateLimiter(tpm=60_000)
    limiter.settle(1000, 10**15)  # one server claiming a quadrillion tokens
    limiter.settle(1000, 10**15)
    wait = limiter._wait_s(1000)
    assert 0 < wait <= 61, wait  # at most one minute's budget of debt
    limiter.settle(1000, -(10**15))  # negative usage refunds no more than the estimate
    assert wait - 1.01 <= limiter._wait_s(1000) < wait


def test_a_plan_past_the_bound_is_refused_before_any_work(
    fake_openai: FakeServer, isaf: Task, store: Store
) -> None:
    """Issue 15: repeats: 1000000000 planned for minutes at 900 MB. Now one line, at once."""
    from fieldwise.errors import UserError
    from fieldwise.runner._job import MAX_PLANNED

    rows = docs(10_000)
    started = time.monotonic()
    with pytest.raises(UserError, match=r"10,000,000 predictions; one run plans at most"):
        asyncio.run(
            run_model_async(
                openai_model(fake_openai, isaf), rows, store, label="m", run_id=None, repeats=1000
            )
        )
    assert time.monotonic() - started < 5 and MAX_PLANNED < 10_000_000
    assert fake_openai.log == []
