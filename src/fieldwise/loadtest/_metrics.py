"""What one load level measured, in the keys ``fieldwise loadtest --json`` prints.

Latency, TTFT and TPOT percentiles are over the measured requests that succeeded (a
failure has no latency worth ranking; it is counted in ``errors``), the level's warm-up
requests left out; throughput counts successful answers per second while the level's
load was fully applied, from the first measured send to the last send (see
``LevelRun.window``); goodput only those answered within the latency target. Validity
and accuracy are over every measured request, a failure counting as an invalid, wrong
answer, so a speed-up that costs answers shows. TPOT is (latency - TTFT) / (output
tokens - 1) per request.

Percentiles are numpy's default (linear interpolation between order statistics).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from fieldwise.loadtest._driver import LevelRun

SATURATED_BUSY = 0.7
"""Share of the level's wall time the generator's thread may spend on the CPU before
the generator, not the server, may be what limits the numbers."""
SATURATED_LAG_S = 0.05
"""A p99 lag over this saying the generator fell behind: open-loop arrivals sent late
(or a median send lag over one mean gap between arrivals: the offered rate was not the
one asked for), or the event loop's timer ticks firing late (answers read late, so
latencies read long)."""


@dataclass
class LevelSpec:
    """One level to run: a closed-loop concurrency or an open-loop rate."""

    concurrency: int | None = None
    rate: float | None = None

    @property
    def mode(self) -> str:
        return "closed" if self.rate is None else "open"


def percentiles(values: list[float], qs: tuple[int, ...]) -> dict[str, float | None]:
    """``{"p50": ..., ...}`` of ``values`` (``None`` each when there are none)."""
    if not values:
        return {f"p{q}": None for q in qs}
    found = np.percentile(np.asarray(values, dtype=float), list(qs))
    return {f"p{q}": round(float(v), 6) for q, v in zip(qs, found, strict=True)}


def summarise(
    level: LevelSpec,
    run: LevelRun,
    *,
    scores: tuple[float | None, float | None],
    latency_target_s: float | None = None,
) -> dict[str, Any]:
    """The JSON of one level; ``scores`` is (valid share, accuracy 0-100 or None)."""
    measured = run.measured
    ok = [s for s in measured if s.gen.error is None]
    n = len(measured)
    window, answered = run.window()
    wall = window if window > 0 else math.nan
    latencies = [s.latency_s for s in ok]
    ttfts = [s.gen.ttft_s for s in ok if s.gen.ttft_s is not None]
    tpots = [
        (s.latency_s - s.gen.ttft_s) / (s.gen.output_tokens - 1)
        for s in ok
        if s.gen.ttft_s is not None and s.gen.output_tokens and s.gen.output_tokens > 1
    ]
    out_tokens = sum(s.gen.output_tokens or 0 for s in answered)
    counted = any(s.gen.output_tokens for s in answered)
    valid, accuracy = scores
    out: dict[str, Any] = {
        "mode": level.mode,
        "concurrency": level.concurrency,
        "rate": level.rate,
        "requests": n,
        "throughput_docs_s": _num(len(answered) / wall),
        "output_tokens_s": _num(out_tokens / wall) if counted else None,
        "latency_s": percentiles(latencies, (50, 95, 99)),
        "ttft_s": percentiles(ttfts, (50, 95, 99)),
        "tpot_s": percentiles(tpots, (50, 95)),
        "errors": n - len(ok),
        "valid": None if valid is None else round(valid, 4),
        "accuracy": None if accuracy is None else round(accuracy, 2),
        "client_cpu_ms_per_request": _num(run.cpu_s * 1000 / len(run.samples))
        if run.samples
        else None,
        "warmup": run.warmup,
        "wall_s": round(run.wall_s, 4),
    }
    if latency_target_s is not None:
        good = sum(1 for s in answered if s.latency_s <= latency_target_s)
        out["goodput_docs_s"] = _num(good / wall)
        out["latency_target_s"] = latency_target_s
    out["generator"] = generator_health(level, run)
    return out


def generator_health(level: LevelSpec, run: LevelRun) -> dict[str, Any]:
    """Whether the load generator itself kept up (see the module constants)."""
    busy = run.cpu_s / run.wall_s if run.wall_s > 0 else 0.0
    reasons = []
    if busy > SATURATED_BUSY:
        reasons.append(f"its thread was on the CPU {busy:.0%} of the time")
    health: dict[str, Any] = {"busy": round(busy, 3)}
    loop = percentiles(run.loop_lags, (50, 99))
    health["loop_lag_s"] = loop
    if (loop["p99"] or 0.0) > SATURATED_LAG_S:
        reasons.append(f"its event loop ran late (p99 {(loop['p99'] or 0) * 1000:.0f} ms: "
                       "it or the machine was too busy to read answers on time)")  # fmt: skip
    if level.rate is not None:
        lag = percentiles(run.lags, (50, 99))
        health["lag_s"] = lag
        p50, p99 = lag["p50"] or 0.0, lag["p99"] or 0.0
        if p99 > SATURATED_LAG_S or p50 > 1.0 / level.rate:
            reasons.append(f"arrivals left late (send lag p50 {p50 * 1000:.1f} ms, p99 "
                           f"{p99 * 1000:.1f} ms)")  # fmt: skip
        if run.overflow:
            reasons.append("too many requests were in flight at once")
    health["saturated"] = bool(reasons)
    health["why"] = "; ".join(reasons)
    return health


def _num(value: float) -> float | None:
    return None if not math.isfinite(value) else round(value, 4)
