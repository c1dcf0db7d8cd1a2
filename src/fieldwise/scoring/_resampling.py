"""Resampling: a run's seeded (cluster) bootstrap and the percentile intervals from it.

:class:`Resamples` draws ``count`` resamples of the rows, by cluster when rows come in
groups (a group column, or rows that repeat one text), so near-duplicate rows do not pass
for independent evidence. Every interval and every test of a run uses the same object,
hence the same draws; :func:`bootstrap_ci` gives one model's per-column and aggregate
percentile intervals. Inputs are ``(rows, columns)`` score matrices, NaN where a cell is
not scored.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

import numpy as np

__all__ = [
    "DEFAULT_RESAMPLES",
    "Resamples",
    "bootstrap_ci",
    "nanpercentile",
    "one_thread",
    "resampled_means",
    "row_resamples",
    "tails",
]

DEFAULT_RESAMPLES = 1000
_CACHE_LIMIT = 4_000_000  # weight cells (16 MB of float32) worth keeping
_LARGE_LIMIT = 300_000_000
"""Cells of uint8 counts kept past ``_CACHE_LIMIT`` (300 MB)."""
_CHUNK = 200  # resamples per block when the weights are too big to keep


@dataclass(frozen=True, eq=False)
class Resamples:
    """A run's seeded bootstrap: ``count`` resamples of ``n`` rows, by cluster.

    ``clusters[i]`` is row i's cluster code (0..G-1); ``None`` makes each row its own
    cluster. A resample draws G clusters with replacement and keeps all rows of each,
    so its weights are "how often each row was drawn". The draws depend only on
    (n, count, seed, clusters): asking twice gives the same resamples.
    """

    n: int
    count: int = DEFAULT_RESAMPLES
    seed: int = 0
    clusters: np.ndarray | None = None

    @classmethod
    def for_rows(
        cls,
        n: int,
        count: int = DEFAULT_RESAMPLES,
        seed: int = 0,
        groups: Sequence[Hashable] | None = None,
    ) -> Resamples:
        """Resamples for ``n`` rows; ``groups[i]`` names row i's group (any hashable)."""
        if groups is None:
            return cls(n, max(0, count), seed)
        if len(groups) != n:
            raise ValueError(f"{len(groups)} group labels for {n} rows")
        codes: dict[Hashable, int] = {}
        clusters = np.fromiter((codes.setdefault(g, len(codes)) for g in groups), np.int64, n)
        if len(codes) == n:  # every row alone: the plain row bootstrap
            return cls(n, max(0, count), seed)
        return cls(n, max(0, count), seed, clusters)

    @property
    def n_clusters(self) -> int:
        return self.n if self.clusters is None else int(self.clusters.max(initial=-1)) + 1

    @property
    def clustered(self) -> bool:
        return self.clusters is not None

    def _draw(self, rng: np.random.Generator, k: int) -> np.ndarray:
        g = self.n_clusters
        # int32 indices when they fit: half the memory traffic of the bincount below.
        dtype: type[np.signedinteger[Any]] = np.int32 if k * g < 2**31 else np.int64
        idx = rng.integers(0, g, size=(k, g), dtype=dtype)
        idx += np.arange(0, k * g, g, dtype=dtype)[:, None]
        counts = np.bincount(idx.ravel(), minlength=k * g).reshape(k, g).astype(np.float32)
        return counts if self.clusters is None else counts[:, self.clusters]

    @cached_property
    def _kept(self) -> np.ndarray | None:
        if self.n * self.count > _CACHE_LIMIT or self.count == 0:
            return None
        weights = self._draw(np.random.default_rng(self.seed), self.count)
        weights.flags.writeable = False
        return weights

    def blocks(self) -> Iterator[np.ndarray]:
        """The resamples' row weights, ``(k, n)`` float32 blocks in a fixed order.

        float32 is exact for these counts and halves the cost of the products made with
        them; resampled means then carry ~1e-6 relative rounding, far below the
        bootstrap's own Monte Carlo error.

        A block is valid until the next one is asked for: past ``_CACHE_LIMIT`` the blocks
        are converted into one reused buffer (a fresh 80 MB array per block cost more
        in page faults than the conversion itself).
        """
        if self.count <= 0 or self.n == 0:
            return
        if self._kept is not None:
            yield self._kept
            return
        if self._kept_large is not None:
            buffer = np.empty((min(_CHUNK, self.count), self._kept_large.shape[1]), np.float32)
            for start in range(0, self.count, _CHUNK):
                counts = self._kept_large[start : start + _CHUNK]
                weights = buffer[: len(counts)]
                np.copyto(weights, counts, casting="unsafe")  # exact: small integers
                yield weights if self.clusters is None else weights[:, self.clusters]
            return
        rng = np.random.default_rng(self.seed)
        for start in range(0, self.count, _CHUNK):
            yield self._draw(rng, min(_CHUNK, self.count - start))

    @cached_property
    def _kept_large(self) -> np.ndarray | None:
        """Cluster counts for runs past ``_CACHE_LIMIT``, drawn once and kept as uint8
        (1 byte a cell: 100 MB for 100,000 rows x 1,000 resamples), so every model and
        profile scored with these resamples shares one draw instead of repeating it:
        at that size the draw, not the products, was most of scoring's time.

        Each resample is drawn as int32 indices and counted on its own (a 100,000-bin
        count stays in cache; one scatter over count x n bins did not), about 3x faster
        than :meth:`_draw`. Same distribution, other draws than that path would give.
        """
        g = self.n_clusters
        if self.count == 0 or g * self.count > _LARGE_LIMIT:
            return None
        rng = np.random.default_rng(self.seed)
        out = np.empty((self.count, g), dtype=np.uint8)
        for r in range(self.count):
            counts = np.bincount(rng.integers(0, g, size=g, dtype=np.int32), minlength=g)
            out[r] = np.minimum(counts, 255)  # a row drawn > 255 times: P ~ 0
        out.flags.writeable = False
        return out

    def sign_blocks(self) -> Iterator[np.ndarray]:
        """``(k, clusters)`` blocks of random ±1 signs for the sign-flip tests, ``count``
        rows in all, drawn from the run's seed (kept when small, like the weights)."""
        if self.count <= 0:
            return
        if self._kept_signs is not None:
            yield self._kept_signs
            return
        rng = np.random.default_rng([self.seed, 1])
        buffer = np.empty((min(_CHUNK, self.count), self.n_clusters), np.float32)
        for start in range(0, self.count, _CHUNK):  # valid until the next (see blocks)
            yield self._signs(rng, min(_CHUNK, self.count - start), buffer)

    def _signs(
        self, rng: np.random.Generator, k: int, buffer: np.ndarray | None = None
    ) -> np.ndarray:
        draws = rng.integers(0, 2, size=(k, self.n_clusters), dtype=np.int8)
        out = np.empty((k, self.n_clusters), np.float32) if buffer is None else buffer[:k]
        np.multiply(draws, 2, out=out, casting="unsafe")
        out -= 1.0
        return out

    @cached_property
    def _kept_signs(self) -> np.ndarray | None:
        if self.n_clusters * self.count > _CACHE_LIMIT or self.count == 0:
            return None
        signs = self._signs(np.random.default_rng([self.seed, 1]), self.count)
        signs.flags.writeable = False
        return signs

    @cached_property
    def _grouping(self) -> tuple[np.ndarray, np.ndarray]:
        assert self.clusters is not None
        order = np.argsort(self.clusters, kind="stable")
        starts = np.flatnonzero(np.r_[True, np.diff(self.clusters[order]) != 0])
        return order, starts

    def cluster_sums(self, values: np.ndarray) -> np.ndarray:
        """Sum rows of ``values`` (rows x k, no NaN) within each cluster, in code order."""
        if self.clusters is None:
            return values
        order, starts = self._grouping
        return np.add.reduceat(values[order], starts, axis=0)


@lru_cache(maxsize=4)
def row_resamples(n: int, count: int = DEFAULT_RESAMPLES, seed: int = 0) -> Resamples:
    """Plain row resamples, kept between calls: scoring ten models one call at a time
    with the same (n, count, seed) then draws the weights once."""
    return Resamples(n, max(0, count), seed)


def resampled_means(values: np.ndarray, resamples: Resamples) -> np.ndarray:
    """``(count, k)`` resampled column means of ``values`` (rows x k), NaN cells ignored.

    One product per block gives every resample's column totals and, beside them, the
    rows each resample counts: one column of ones for the complete columns (it varies
    with cluster sizes), plus the valid-cell counts of the columns that have NaN.
    """
    valid = ~np.isnan(values)
    k = values.shape[1]
    partial = np.flatnonzero(~valid.all(axis=0))
    rhs = np.hstack(
        [np.where(valid, values, 0.0), valid[:, partial], np.ones((len(values), 1))]
    ).astype(np.float32)
    with one_thread():
        totals = np.vstack([w @ rhs for w in resamples.blocks()]).astype(np.float64)
    sums = totals[:, :k]
    denom = np.repeat(totals[:, -1:], k, axis=1)
    denom[:, partial] = totals[:, k : k + len(partial)]
    return np.divide(sums, denom, out=np.full_like(sums, np.nan), where=denom > 0)


def bootstrap_ci(
    per_row: np.ndarray, resamples: Resamples, level: float = 0.95
) -> tuple[list[tuple[float, float]], tuple[float, float]]:
    """Percentile CIs for each column's mean (NaN cells ignored) and the 0-100 aggregate.

    The aggregate of a resample is the mean of its defined column means x 100, exactly as
    the point estimate is computed. NaN bounds when there are no resamples.
    """
    n, k = per_row.shape
    nan_pair = (math.nan, math.nan)
    if resamples.count <= 0 or n == 0 or k == 0:
        return [nan_pair] * k, nan_pair
    if resamples.n != n:
        raise ValueError(f"resamples are for {resamples.n} rows, scores have {n}")
    means = resampled_means(per_row, resamples)
    q = tails(level)
    if not np.isnan(means).any():
        field_q = _percentiles(means, q)
        agg_q = _percentiles((means.mean(axis=1) * 100.0)[:, None], q)[:, 0]
    else:  # a resample drew only abstentions for some column
        defined = ~np.isnan(means)
        n_def = defined.sum(axis=1)
        agg_sum = np.where(defined, means, 0.0).sum(axis=1)
        agg = np.divide(agg_sum, n_def, out=np.full(len(means), np.nan), where=n_def > 0)
        field_q = nanpercentile(means, q)
        agg_q = nanpercentile(agg[:, None] * 100.0, q)[:, 0]
    fields = [(float(field_q[0, j]), float(field_q[1, j])) for j in range(k)]
    return fields, (float(agg_q[0]), float(agg_q[1]))


def tails(level: float) -> list[float]:
    tail = (1.0 - level) / 2.0 * 100.0
    return [tail, 100.0 - tail]


def _percentiles(values: np.ndarray, q: list[float]) -> np.ndarray:
    """Column percentiles, numpy's default "linear" method, via one sort.

    Same numbers as ``np.percentile(values, q, axis=0)`` at a fraction of its cost on
    these small (resamples x columns) arrays.
    """
    ordered = np.sort(values, axis=0)
    pos = np.asarray(q) / 100.0 * (len(ordered) - 1)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, len(ordered) - 1)
    frac = (pos - lo)[:, None]
    return ordered[lo] + (ordered[hi] - ordered[lo]) * frac


def nanpercentile(values: np.ndarray, q: list[float]) -> np.ndarray:
    """Column percentiles ignoring NaN; all-NaN columns give NaN, without a warning."""
    bad = np.isnan(values).any(axis=0)
    out = np.full((len(q), values.shape[1]), np.nan)
    if (~bad).any():
        out[:, ~bad] = _percentiles(values[:, ~bad], q)
    for j in np.flatnonzero(bad):
        col = values[:, j]
        col = col[~np.isnan(col)]
        if col.size:
            out[:, j] = _percentiles(col[:, None], q)[:, 0]
    return out


def one_thread() -> contextlib.AbstractContextManager[Any]:
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
