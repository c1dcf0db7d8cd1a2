"""Rate limiting and retry policy for calls to model backends."""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass


class RateLimiter:
    """Token-bucket limits on requests and tokens per minute (either may be ``None``).

    Each bucket holds at most ``burst_s`` seconds' worth of budget and starts full, so a
    run opens with a small burst and then settles at exactly the limit: providers enforce
    their per-minute limits over shorter windows too, and a whole minute's budget sent at
    once would only earn 429s. Token costs are estimated before a request and corrected
    with :meth:`settle` once the real usage is known; the token bucket may go negative,
    which makes later requests wait, so the long-run rate stays right. It never goes
    below one minute's budget in debt, so no single report of usage (a server claiming
    ``1e15`` tokens) can stall the run for more than about a minute.

    Waiters are served in arrival order (one lock, held while sleeping).
    """

    def __init__(
        self, rpm: float | None = None, tpm: float | None = None, burst_s: float = 1.0
    ) -> None:
        if (rpm is not None and rpm <= 0) or (tpm is not None and tpm <= 0):
            raise ValueError("rpm and tpm must be positive (or None for no limit)")
        self.rpm, self.tpm = rpm, tpm
        self._req_cap = max(1.0, (rpm or 0) * burst_s / 60)
        self._tok_cap = max(1.0, (tpm or 0) * burst_s / 60)
        self._requests = self._req_cap
        self._tokens = self._tok_cap
        self._stamp = time.monotonic()
        self._lock = asyncio.Lock()

    @property
    def active(self) -> bool:
        return bool(self.rpm or self.tpm)

    def _refill(self) -> None:
        now = time.monotonic()
        elapsed, self._stamp = now - self._stamp, now
        if self.rpm:
            self._requests = min(self._req_cap, self._requests + elapsed * self.rpm / 60)
        if self.tpm:
            self._tokens = min(self._tok_cap, self._tokens + elapsed * self.tpm / 60)

    def _wait_s(self, tokens: int) -> float:
        """Seconds until both buckets allow one request of ``tokens`` (0: go now)."""
        wait = 0.0
        if self.rpm and self._requests < 1:
            wait = (1 - self._requests) * 60 / self.rpm
        if self.tpm:
            need = min(float(tokens), self._tok_cap) - self._tokens
            if need > 0:
                wait = max(wait, need * 60 / self.tpm)
        return wait

    async def acquire(self, tokens: int = 0) -> None:
        """Wait for room for one request estimated at ``tokens`` tokens, then take it."""
        if not self.active:
            return
        async with self._lock:
            while True:
                self._refill()
                wait = self._wait_s(tokens)
                if wait <= 0:
                    break
                await asyncio.sleep(wait)
            if self.rpm:
                self._requests -= 1
            if self.tpm:
                self._tokens -= tokens

    def settle(self, estimated: int, actual: int | None) -> None:
        """Correct the token bucket once a request's real usage is known."""
        if self.tpm and actual is not None:
            debt_floor = -float(self.tpm)  # at most one minute's wait, whatever was claimed
            self._tokens = max(self._tokens + estimated - max(0, actual), debt_floor)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, honouring a server's ``Retry-After``.

    With a ``Retry-After`` hint the wait is the hint plus a little jitter (never less, so
    a server that asked for a pause gets it, and retries that were told the same thing do
    not arrive in one burst); without one it is uniform in [0, base * 2**attempt].
    """

    max_retries: int = 6
    base_s: float = 0.5
    max_s: float = 60.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        backoff = random.uniform(0, min(self.max_s, self.base_s * 2**attempt))
        if retry_after is not None:
            return min(self.max_s, max(retry_after, 0.0)) + backoff * 0.1
        return backoff
