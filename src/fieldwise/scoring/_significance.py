"""Significance: paired tests and Holm's correction for a family of them.

Exact McNemar for 0/1 scores on independent rows, a paired sign-flip permutation test
otherwise (exact up to :data:`EXACT_LIMIT` non-zero clusters, else drawn, with the normal
limit in the far tail), and Holm's step-down adjustment across the whole family.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from fieldwise.scoring._resampling import one_thread

__all__ = ["EXACT_LIMIT", "holm", "mcnemar_p", "sign_flip", "sign_flip_p"]

EXACT_LIMIT = 16
"""Up to this many non-zero clusters the sign-flip p-value is exact (2^16 sign vectors)."""
_MIN_TAIL = 20
"""Below this many permuted statistics at least as extreme, ``count`` draws cannot resolve
the p-value, and it comes from the normal limit of the same sign-flip distribution."""


def mcnemar_p(wins: int, losses: int) -> float:
    """Exact two-sided McNemar p-value: discordant pairs ``wins`` (a right, b wrong) and
    ``losses`` (the reverse) are Binomial(wins + losses, 1/2) under no difference."""
    m = wins + losses
    if m == 0:
        return 1.0
    k = min(wins, losses)
    j = np.arange(k + 1)
    log_terms = _log_comb(m, j) - m * math.log(2.0)
    tail = float(np.exp(log_terms).sum())
    return min(1.0, 2.0 * tail)


def _log_comb(m: int, j: np.ndarray) -> np.ndarray:
    lg = np.vectorize(math.lgamma, otypes=[float])
    return math.lgamma(m + 1) - lg(j + 1) - lg(m - j + 1)


def sign_flip_p(
    sums: np.ndarray, signs: np.ndarray | None = None, exact_limit: int = EXACT_LIMIT
) -> float:
    """Two-sided paired sign-flip permutation p-value for the total of ``sums``.

    ``sums`` are per-cluster sums of paired differences (per-row differences when rows
    are independent); ``signs`` are random sign vectors over the same clusters, one per
    row. Under no difference each cluster's sign is a fair coin. With at most
    ``exact_limit`` non-zero clusters every sign vector is enumerated (exact); otherwise
    the draws estimate p as (1 + hits) / (1 + draws), and in the far tail, which the
    draws cannot resolve, the normal limit of the same distribution (mean 0, variance
    the sum of squares) gives it. For 0/1 scores on independent rows this is McNemar's
    test (the discordant rows are the non-zero ones).
    """
    sums = np.asarray(sums, dtype=np.float64)
    permuted = None
    if signs is not None and len(signs) and np.count_nonzero(sums) > exact_limit:
        with one_thread():
            permuted = signs @ sums.astype(np.float32)
    return sign_flip(sums, permuted, exact_limit)


def sign_flip(sums: np.ndarray, permuted: np.ndarray | None, exact_limit: int) -> float:
    """:func:`sign_flip_p` given the permuted totals (``signs @ sums``), if any."""
    nz = sums[sums != 0]
    if nz.size == 0:
        return 1.0
    observed = abs(float(nz.sum()))
    tol = 1e-6 * float(np.abs(nz).sum())
    if nz.size <= exact_limit:
        return float((np.abs(_all_signs(nz.size) @ nz) >= observed - tol).mean())
    normal = math.erfc(observed / math.sqrt(float(nz @ nz)) / math.sqrt(2.0))
    if permuted is None:
        return normal
    hits = int((np.abs(permuted) >= observed - tol).sum())
    return normal if hits < _MIN_TAIL else (hits + 1) / (len(permuted) + 1)


@lru_cache(maxsize=EXACT_LIMIT + 1)
def _all_signs(m: int) -> np.ndarray:
    """Every one of the 2^m sign vectors over m clusters, as rows."""
    flips = (((np.arange(2**m)[:, None] >> np.arange(m)) & 1) * 2 - 1).astype(np.float64)
    flips.flags.writeable = False
    return flips


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-adjusted p-values (step-down, monotone, capped at 1); NaN stays NaN and does
    not count towards the family size."""
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    idx = np.flatnonzero(~np.isnan(p))
    if idx.size == 0:
        return out.tolist()
    order = idx[np.argsort(p[idx], kind="stable")]
    m = idx.size
    adjusted = np.maximum.accumulate(p[order] * (m - np.arange(m)))
    out[order] = np.minimum(adjusted, 1.0)
    return out.tolist()
