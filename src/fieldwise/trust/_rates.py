"""Rates with bootstrap intervals: k of n, where rows of one document resample together.

A grounded rate or an out-of-domain hallucination rate pools values over rows (a row may
hold several values), so its interval resamples rows, not values: the run's clustered
bootstrap (:class:`~fieldwise.scoring.stats.Resamples`), applied to per-row numerators and
denominators, and the ratio of their resampled sums.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from fieldwise.scoring.stats import DEFAULT_RESAMPLES, Resamples

__all__ = ["Rate", "rate"]


@dataclass(frozen=True)
class Rate:
    """``hits`` of ``n`` (``value``; NaN when ``n`` is 0) with a 95% interval."""

    hits: float
    n: float
    lo: float = math.nan
    hi: float = math.nan

    @property
    def value(self) -> float:
        return self.hits / self.n if self.n else math.nan

    def to_json(self) -> dict[str, Any]:
        def num(x: float) -> float | None:
            return None if math.isnan(x) else round(x, 6)

        return {
            "rate": num(self.value),
            "hits": self.hits,
            "n": self.n,
            "ci": [num(self.lo), num(self.hi)],
        }


def rate(
    hits: Sequence[float] | np.ndarray,
    totals: Sequence[float] | np.ndarray,
    groups: Sequence[Hashable] | None = None,
    resamples: Resamples | None = None,
    seed: int = 0,
) -> Rate:
    """Σ hits / Σ totals over rows, with a 95% percentile interval from ``resamples``
    (default: 1,000 draws of the rows, by ``groups`` when given)."""
    num = np.asarray(hits, dtype=np.float64)
    den = np.asarray(totals, dtype=np.float64)
    k, n = float(num.sum()), float(den.sum())
    if not n:
        return Rate(k, n)
    if resamples is None:
        resamples = Resamples.for_rows(len(num), DEFAULT_RESAMPLES, seed, groups)
    if resamples.n != len(num):
        raise ValueError(f"resamples are for {resamples.n} rows, not {len(num)}")
    rhs = np.stack([num, den], axis=1).astype(np.float32)
    sums = [w @ rhs for w in resamples.blocks()]
    if not sums:
        return Rate(k, n)
    both = np.vstack(sums).astype(np.float64)
    ratios = both[both[:, 1] > 0, 0] / both[both[:, 1] > 0, 1]
    if not ratios.size:
        return Rate(k, n)
    lo, hi = np.percentile(ratios, [2.5, 97.5])
    return Rate(k, n, float(lo), float(hi))
