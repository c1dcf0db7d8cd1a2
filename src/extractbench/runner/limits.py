"""Rate limiting and retry policy for calls to model backends."""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass


class RateLimiter:
    """Token-bucket limits on requests and tokens per minute (either may be ``None``).

    ``acquire`` waits until both buckets have room; buckets refill continuously, so a
    burst up to one minute's budget is allowed and the long-run rate is the limit.
    """

    def __init__(self, rpm: float | None = None, tpm: float | None = None) -> None:
        self.rpm, self.tpm = rpm, tpm
        self._requests = float(rpm or 0)
        self._tokens = float(tpm or 0)
        self._stamp = time.monotonic()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = time.monotonic()
        elapsed, self._stamp = now - self._stamp, now
        if self.rpm:
            self._requests = min(self.rpm, self._requests + elapsed * self.rpm / 60)
        if self.tpm:
            self._tokens = min(self.tpm, self._tokens + elapsed * self.tpm / 60)

    async def acquire(self, tokens: int = 0) -> None:
        if not self.rpm and not self.tpm:
            return
        async with self._lock:
            while True:
                self._refill()
                need_r = 1 - self._requests if self.rpm else 0
                need_t = min(tokens, self.tpm or 0) - self._tokens if self.tpm else 0
                if need_r <= 0 and need_t <= 0:
                    if self.rpm:
                        self._requests -= 1
                    if self.tpm:
                        self._tokens -= min(tokens, self.tpm)
                    return
                wait = max(
                    need_r * 60 / self.rpm if self.rpm and need_r > 0 else 0,
                    need_t * 60 / self.tpm if self.tpm and need_t > 0 else 0,
                )
                await asyncio.sleep(wait)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, honouring a server's ``Retry-After``."""

    max_retries: int = 6
    base_s: float = 0.5
    max_s: float = 60.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        backoff = random.uniform(0, min(self.max_s, self.base_s * 2**attempt))
        if retry_after is not None:
            return min(self.max_s, max(retry_after, 0.0)) + backoff * 0.1
        return backoff
