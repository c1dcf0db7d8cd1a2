"""Percentile bootstrap CIs over rows, vectorised as one matrix product per model.

A resample is a vector of row counts (how often each row was drawn), so every field's
resampled total for every resample is ``counts @ per_row``: one BLAS call instead of a
Python loop. The counts depend only on (rows, resamples, seed), so they are built once
and shared by every model and profile. Sharing them also makes the intervals *paired*:
two models scored on the same rows see the same resamples.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

import numpy as np

__all__ = ["bootstrap_ci"]

_CACHE_LIMIT = 4_000_000  # cells (32 MB of float64) worth keeping between calls
_CHUNK = 200  # resamples per block when the matrix is too big to keep
_LARGE_LIMIT = 300_000_000  # cells kept as uint8 (300 MB) for sizes past _CACHE_LIMIT


def _counts(rng: np.random.Generator, n: int, n_boot: int) -> np.ndarray:
    """How often each row is drawn in each resample (float32: exact for these counts).

    float32 halves the cost of the products below; the resampled means then carry
    ~1e-6 relative rounding, far below the bootstrap's own Monte Carlo error.
    """
    idx = rng.integers(0, n, size=(n_boot, n))
    idx += (np.arange(n_boot) * n)[:, None]
    counts = np.bincount(idx.ravel(), minlength=n_boot * n).reshape(n_boot, n)
    return counts.astype(np.float32)


@lru_cache(maxsize=4)
def _cached_counts(n: int, n_boot: int, seed: int) -> np.ndarray:
    counts = _counts(np.random.default_rng(seed), n, n_boot)
    counts.flags.writeable = False
    return counts


@lru_cache(maxsize=1)
def _large_counts(n: int, n_boot: int, seed: int) -> np.ndarray:
    """Counts for large inputs, drawn once and kept as uint8 (1 byte a cell: 100 MB for
    100,000 rows x 1,000 resamples), so the 2 profiles x M models of one scoring call
    share one draw instead of repeating it, the dominant cost at that size.

    Each resample is drawn as int32 indices and counted row by row (a 100,000-bin count
    stays in cache; one scatter over n_boot x n bins did not): ~3x faster than
    :func:`_counts`. Same distribution, different draws, so large inputs' CIs are not
    bit-identical to what the small-input path would give them.
    """
    rng = np.random.default_rng(seed)
    out = np.empty((n_boot, n), dtype=np.uint8)
    for r in range(n_boot):
        counts = np.bincount(rng.integers(0, n, size=n, dtype=np.int32), minlength=n)
        out[r] = np.minimum(counts, 255)  # P(a row drawn > 255 times) is nil
    out.flags.writeable = False
    return out


def _count_blocks(n: int, n_boot: int, seed: int) -> Iterator[np.ndarray]:
    if n * n_boot <= _CACHE_LIMIT:
        yield _cached_counts(n, n_boot, seed)
        return
    if n * n_boot <= _LARGE_LIMIT:
        counts = _large_counts(n, n_boot, seed)
        for start in range(0, n_boot, _CHUNK):
            yield counts[start : start + _CHUNK].astype(np.float32)
        return
    rng = np.random.default_rng(seed)
    for start in range(0, n_boot, _CHUNK):
        yield _counts(rng, n, min(_CHUNK, n_boot - start))


def _one_thread() -> contextlib.AbstractContextManager[Any]:
    """Run BLAS single-threaded: these products are small, and on a busy 2-core machine
    a multi-threaded OpenBLAS waiting on a descheduled thread was 5x slower."""
    global _CONTROLLER
    if _CONTROLLER is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # a scikit-learn dependency, so normally present
            _CONTROLLER = False
        else:
            _CONTROLLER = ThreadpoolController()
    if _CONTROLLER is False:
        return contextlib.nullcontext()
    return _CONTROLLER.limit(limits=1, user_api="blas")  # type: ignore[no-any-return]


_CONTROLLER: Any = None


def bootstrap_ci(
    per_row: np.ndarray, n_boot: int = 1000, seed: int = 0, level: float = 0.95
) -> tuple[list[tuple[float, float]], tuple[float, float]]:
    """CIs for each column's mean (NaN cells ignored) and for the 0-100 aggregate.

    The aggregate of a resample is the mean of its defined field means x 100, exactly as
    the point estimate is computed. Returns NaN bounds when ``n_boot`` is 0.
    """
    n, n_fields = per_row.shape
    nan_pair = (float("nan"), float("nan"))
    if n_boot <= 0 or n == 0 or n_fields == 0:
        return [nan_pair] * n_fields, nan_pair
    valid = ~np.isnan(per_row)
    all_valid = bool(valid.all())
    # One product gives every resample's field totals and (with NaNs) answered counts.
    rhs = per_row if all_valid else np.hstack([np.where(valid, per_row, 0.0), valid])
    rhs = rhs.astype(np.float32)
    blocks = []
    with _one_thread():
        for counts in _count_blocks(n, n_boot, seed):
            blocks.append(counts @ rhs)
    totals = np.vstack(blocks).astype(np.float64)
    if all_valid:
        means = totals / n
    else:
        sums, denom = totals[:, :n_fields], totals[:, n_fields:]
        means = np.divide(sums, denom, out=np.full_like(sums, np.nan), where=denom > 0)
    tail = (1.0 - level) / 2.0 * 100.0
    q = [tail, 100.0 - tail]
    if not np.isnan(means).any():
        field_q = _percentiles(means, q)
        agg_q = _percentiles((means.mean(axis=1) * 100.0)[:, None], q)[:, 0]
    else:  # a resample drew only abstentions for some field
        defined = ~np.isnan(means)
        n_def = defined.sum(axis=1)
        agg_sum = np.where(defined, means, 0.0).sum(axis=1)
        agg = np.divide(agg_sum, n_def, out=np.full(len(means), np.nan), where=n_def > 0)
        field_q = _nanpercentile(means, q)
        agg_q = _nanpercentile(agg[:, None] * 100.0, q)[:, 0]
    fields = [(float(field_q[0, j]), float(field_q[1, j])) for j in range(n_fields)]
    return fields, (float(agg_q[0]), float(agg_q[1]))


def _percentiles(values: np.ndarray, q: list[float]) -> np.ndarray:
    """Column percentiles, numpy's default "linear" method, via one sort.

    Same numbers as ``np.percentile(values, q, axis=0)`` at a fraction of its cost on
    these small (resamples x fields) arrays.
    """
    ordered = np.sort(values, axis=0)
    pos = np.asarray(q) / 100.0 * (len(ordered) - 1)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, len(ordered) - 1)
    frac = (pos - lo)[:, None]
    return ordered[lo] + (ordered[hi] - ordered[lo]) * frac


def _nanpercentile(values: np.ndarray, q: list[float]) -> np.ndarray:
    """``np.nanpercentile`` without its warning for all-NaN columns (they give NaN)."""
    out = np.full((len(q), values.shape[1]), np.nan)
    for j in range(values.shape[1]):
        col = values[:, j]
        col = col[~np.isnan(col)]
        if col.size:
            out[:, j] = _percentiles(col[:, None], q)[:, 0]
    return out
