"""The one statistics module: shared resamples, intervals, paired tests, Holm, power.

Everything a run says about uncertainty comes from here, so the CLI, the report and the
Python API cannot disagree. The inputs are plain arrays: per-row scores in [0, 1], one
``(rows, columns)`` matrix per model, NaN where a cell is not scored (no gold, or the
model abstained under the strict profile). A column is a top-level field or, later, a
nested leaf path; nothing here knows which.

- :class:`Resamples` is a run's bootstrap: ``count`` seeded resamples of the rows, drawn
  by cluster when rows come in groups (a group column, or rows that repeat one text), so
  near-duplicate rows do not pass for independent evidence. Every interval and every
  test of a run uses the same object, hence the same draws.
- :func:`bootstrap_ci` gives one model's per-column and aggregate percentile intervals.
- :func:`pairwise` compares every pair of models on the aggregate and every column: the
  mean paired difference in points, its bootstrap interval, a p-value (exact McNemar for
  0/1 scores on independent rows, a paired sign-flip permutation test otherwise), Holm's
  correction across the whole family, and the minimum detectable difference at 80% power.
- :func:`holm_interval` gives each comparison the interval that matches its Holm verdict
  (it excludes 0 exactly when the corrected test is significant); the bootstrap interval
  is unadjusted and can exclude 0 beside a "not significant" verdict.

Abstentions: a pair is compared on the rows where *both* models have a score for that
column, so a model neither gains nor loses by abstaining here (coverage is reported next
to the scores instead); ``n`` says how many rows that was.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from itertools import combinations
from statistics import NormalDist
from typing import Any

import numpy as np

__all__ = [
    "AGGREGATE",
    "Comparison",
    "PairwiseTable",
    "RepeatSummary",
    "Resamples",
    "bootstrap_ci",
    "holm",
    "holm_interval",
    "mcnemar_p",
    "mean_over_repeats",
    "pairwise",
    "repeat_summary",
    "row_resamples",
    "sign_flip_p",
]

AGGREGATE = "aggregate"
DEFAULT_RESAMPLES = 1000
ALPHA = 0.05
POWER = 0.8
_Z_ALPHA = 1.959963984540054  # two-sided 5%
_Z_POWER = 0.8416212335729143  # 80% power
_CACHE_LIMIT = 4_000_000  # weight cells (16 MB of float32) worth keeping
_LARGE_LIMIT = 300_000_000
"""Cells of uint8 counts kept past ``_CACHE_LIMIT`` (300 MB)."""
_CHUNK = 200  # resamples per block when the weights are too big to keep
_BATCH_CELLS = 6_000_000  # rows x difference columns compared in one batch of pairs
EXACT_LIMIT = 16
"""Up to this many non-zero clusters the sign-flip p-value is exact (2^16 sign vectors)."""
_MIN_TAIL = 20
"""Below this many permuted statistics at least as extreme, ``count`` draws cannot resolve
the p-value, and it comes from the normal limit of the same sign-flip distribution."""


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
        """
        if self.count <= 0 or self.n == 0:
            return
        if self._kept is not None:
            yield self._kept
            return
        if self._kept_large is not None:
            for start in range(0, self.count, _CHUNK):
                weights = self._kept_large[start : start + _CHUNK].astype(np.float32)
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
        for start in range(0, self.count, _CHUNK):
            yield self._signs(rng, min(_CHUNK, self.count - start))

    def _signs(self, rng: np.random.Generator, k: int) -> np.ndarray:
        draws = rng.integers(0, 2, size=(k, self.n_clusters), dtype=np.int8)
        return (draws * 2 - 1).astype(np.float32)

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


def _resampled_means(values: np.ndarray, resamples: Resamples) -> np.ndarray:
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
    with _one_thread():
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
    means = _resampled_means(per_row, resamples)
    q = _tails(level)
    if not np.isnan(means).any():
        field_q = _percentiles(means, q)
        agg_q = _percentiles((means.mean(axis=1) * 100.0)[:, None], q)[:, 0]
    else:  # a resample drew only abstentions for some column
        defined = ~np.isnan(means)
        n_def = defined.sum(axis=1)
        agg_sum = np.where(defined, means, 0.0).sum(axis=1)
        agg = np.divide(agg_sum, n_def, out=np.full(len(means), np.nan), where=n_def > 0)
        field_q = _nanpercentile(means, q)
        agg_q = _nanpercentile(agg[:, None] * 100.0, q)[:, 0]
    fields = [(float(field_q[0, j]), float(field_q[1, j])) for j in range(k)]
    return fields, (float(agg_q[0]), float(agg_q[1]))


# -- tests ------------------------------------------------------------------------------


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
        with _one_thread():
            permuted = signs @ sums.astype(np.float32)
    return _sign_flip(sums, permuted, exact_limit)


def _sign_flip(sums: np.ndarray, permuted: np.ndarray | None, exact_limit: int) -> float:
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


# -- every pair ---------------------------------------------------------------------------


@dataclass
class Comparison:
    """Model ``a`` minus model ``b`` on one target (the aggregate or one column), in points
    (0-100). ``p_holm`` is adjusted across the whole table; ``mde`` is the smallest
    difference this test set detects with 80% power at α = 0.05.

    ``lo``/``hi`` is the unadjusted 95% bootstrap interval; ``lo_holm``/``hi_holm`` the
    interval at the level Holm tested this comparison at (``level_holm``, see
    :func:`holm_interval`), which agrees with the verdict. ``se`` is the cluster-robust
    standard error of ``diff`` (the one behind ``mde``)."""

    a: str
    b: str
    target: str
    n: int
    diff: float
    lo: float
    hi: float
    p: float
    test: str
    mde: float
    p_holm: float = math.nan
    alpha: float = ALPHA
    se: float = math.nan
    lo_holm: float = math.nan
    hi_holm: float = math.nan
    level_holm: float = math.nan

    @property
    def significant(self) -> bool:
        return not math.isnan(self.p_holm) and self.p_holm < self.alpha

    @property
    def outcome(self) -> str:
        """``win``/``loss`` for ``a`` when significant after correction, else ``tie``."""
        if not self.significant:
            return "tie"
        return "win" if self.diff > 0 else "loss"

    @property
    def resolvable(self) -> bool:
        """Whether the observed difference is at least the minimum detectable one."""
        return not math.isnan(self.mde) and abs(self.diff) >= self.mde

    def flipped(self) -> Comparison:
        return Comparison(
            self.b,
            self.a,
            self.target,
            self.n,
            -self.diff,
            -self.hi,
            -self.lo,
            self.p,
            self.test,
            self.mde,
            self.p_holm,
            self.alpha,
            self.se,
            -self.hi_holm,
            -self.lo_holm,
            self.level_holm,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "a": self.a,
            "b": self.b,
            "target": self.target,
            "n": self.n,
            "diff": _num(self.diff, 4),
            "ci": [_num(self.lo, 4), _num(self.hi, 4)],
            "ci_holm": [_num(self.lo_holm, 4), _num(self.hi_holm, 4)],
            "ci_holm_level": _num(self.level_holm, 6),
            "p": _num(self.p, 6),
            "p_holm": _num(self.p_holm, 6),
            "test": self.test,
            "significant": self.significant,
            "outcome": self.outcome,
            "mde": _num(self.mde, 4),
        }


@dataclass
class PairwiseTable:
    """Every pair of models on every target, with Holm across all of them."""

    models: list[str]
    targets: list[str]
    rows: list[Comparison]
    n: int
    clusters: int
    resamples: int
    seed: int
    alpha: float = ALPHA
    _index: dict[tuple[str, str, str], Comparison] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._index = {(c.a, c.b, c.target): c for c in self.rows}

    def get(self, a: str, b: str, target: str = AGGREGATE) -> Comparison | None:
        """``a`` minus ``b`` on ``target`` (the stored row, flipped when stored b-a)."""
        found = self._index.get((a, b, target))
        if found is not None:
            return found
        other = self._index.get((b, a, target))
        return other.flipped() if other is not None else None

    def resolution(self, target: str = AGGREGATE) -> float:
        """Median over pairs of the minimum detectable difference on ``target`` (points)."""
        mdes = [c.mde for c in self.rows if c.target == target and not math.isnan(c.mde)]
        return float(np.median(mdes)) if mdes else math.nan

    def resolution_text(self, target: str = AGGREGATE) -> str:
        """The run-level power line, e.g. "with 724 rows, differences under 1.8 points…"."""
        mde = self.resolution(target)
        if math.isnan(mde):
            return ""
        grouped = f" in {self.clusters} groups" if self.clusters != self.n else ""
        pairs = sum(c.target == target for c in self.rows)
        over = f" (median over {pairs} pairs)" if pairs > 1 else ""
        return (
            f"with {self.n} rows{grouped}, differences under {mde:.1f} points on the {target} "
            f"are not resolvable{over}: smaller than what a paired test detects with "
            f"{POWER:.0%} power at α = {self.alpha:g}"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "models": self.models,
            "targets": self.targets,
            "rows_scored": self.n,
            "clusters": self.clusters,
            "resamples": self.resamples,
            "seed": self.seed,
            "alpha": self.alpha,
            "correction": "holm",
            "resolution": {t: _num(self.resolution(t), 4) for t in self.targets},
            "comparisons": [c.to_json() for c in self.rows],
        }


def pairwise(
    scores: Mapping[str, np.ndarray],
    columns: Sequence[str],
    resamples: Resamples,
    *,
    alpha: float = ALPHA,
    aggregate: bool = True,
    pairs: Sequence[tuple[str, str]] | None = None,
) -> PairwiseTable:
    """Compare every pair of models (or the given ``pairs``) on the aggregate and on each
    of ``columns``; ``scores[model]`` is that model's ``(rows, columns)`` score matrix.

    The aggregate difference is the mean of the column differences (the aggregate is the
    mean of column means), written as one per-row difference so that the same bootstrap
    and sign-flip machinery applies to it. All differences are in points (x 100).
    """
    models = list(scores)
    for name in models:
        shape = scores[name].shape
        if shape != (resamples.n, len(columns)):
            raise ValueError(f"{name}: scores {shape}, expected {(resamples.n, len(columns))}")
    targets = ([AGGREGATE] if aggregate else []) + list(columns)
    chosen = list(pairs) if pairs is not None else list(combinations(models, 2))
    rows: list[Comparison] = []
    # Batches of pairs small enough that their difference columns stay within a budget.
    per_batch = max(1, _BATCH_CELLS // max(1, resamples.n * len(targets)))
    for start in range(0, len(chosen), per_batch):
        batch = chosen[start : start + per_batch]
        rows.extend(_compare(batch, scores, targets, resamples, alpha, aggregate))
    family = sum(not math.isnan(c.p) for c in rows)
    for c, p in zip(rows, holm([c.p for c in rows]), strict=True):
        c.p_holm = p
        c.lo_holm, c.hi_holm, c.level_holm = holm_interval(c.diff, c.p, p, c.se, alpha, family)
    return PairwiseTable(
        models, targets, rows, resamples.n, resamples.n_clusters, resamples.count,
        resamples.seed, alpha,
    )  # fmt: skip


def paired_differences(a: np.ndarray, b: np.ndarray, aggregate: bool = True) -> np.ndarray:
    """Per-row differences a - b in points, one column per target (aggregate first).

    NaN where either model has no score. The aggregate column weighs column j's
    difference by 1 / (defined columns x rows compared on j), scaled so that its mean over
    the rows with any comparison equals the mean of the column mean differences.
    """
    diffs = (a - b) * 100.0
    if not aggregate:
        return diffs
    valid = ~np.isnan(diffs)
    n_j = valid.sum(axis=0)
    defined = n_j > 0
    agg = np.full(len(diffs), np.nan)
    rows = valid.any(axis=1)
    if defined.any():
        weights = np.where(defined, 1.0 / np.maximum(n_j, 1), 0.0) / defined.sum()
        agg[rows] = (np.where(valid, diffs, 0.0)[rows] @ weights) * rows.sum()
    return np.column_stack([agg, diffs])


def _compare(
    pairs: list[tuple[str, str]],
    scores: Mapping[str, np.ndarray],
    targets: list[str],
    resamples: Resamples,
    alpha: float,
    aggregate: bool,
) -> list[Comparison]:
    """Compare a batch of pairs: their difference columns side by side, so each block of
    resamples and the sign draws meet them in one product."""
    k = len(targets)
    diffs = np.hstack([paired_differences(scores[a], scores[b], aggregate) for a, b in pairs])
    binary = [x for a, b in pairs for x in _binary_columns(scores[a], scores[b], aggregate)]
    valid = ~np.isnan(diffs)
    n_valid = valid.sum(axis=0)
    filled = np.where(valid, diffs, 0.0)
    point = np.divide(
        filled.sum(axis=0), n_valid, out=np.full(diffs.shape[1], np.nan), where=n_valid > 0
    )
    cis: np.ndarray = np.full((2, diffs.shape[1]), np.nan)
    permuted = None
    sums = resamples.cluster_sums(filled)
    counts = resamples.cluster_sums(valid.astype(np.float64))
    if resamples.count > 0:
        cis = _nanpercentile(_resampled_means(diffs, resamples), _tails(0.95))
        rhs = sums.astype(np.float32)
        with _one_thread():
            permuted = np.vstack([block @ rhs for block in resamples.sign_blocks()])
    out = []
    for c in range(diffs.shape[1]):
        n = int(n_valid[c])
        se = math.nan if n == 0 else _se(sums[:, c], counts[:, c], point[c], n)
        if n == 0:
            p, test = math.nan, "none"
        elif binary[c] and not resamples.clustered:
            d = diffs[valid[:, c], c]
            p, test = mcnemar_p(int((d > 0).sum()), int((d < 0).sum())), "mcnemar"
        else:
            p = _sign_flip(sums[:, c], None if permuted is None else permuted[:, c], EXACT_LIMIT)
            test = "sign-flip"
        # No variation at all (e.g. the two models agree on every row): nothing to scale by.
        mde = (_Z_ALPHA + _Z_POWER) * se if se > 0 else math.nan
        a, b = pairs[c // k]
        lo, hi = float(cis[0, c]), float(cis[1, c])
        out.append(
            Comparison(
                a, b, targets[c % k], n, float(point[c]), lo, hi, p, test, mde, alpha=alpha, se=se
            )
        )
    return out


def _binary_columns(a: np.ndarray, b: np.ndarray, aggregate: bool) -> list[bool]:
    """Per target: whether both models' scores there are all 0 or 1 (McNemar applies)."""

    def is01(m: np.ndarray) -> np.ndarray:
        return np.all(np.isnan(m) | (m == 0.0) | (m == 1.0), axis=0)

    cols = (is01(a) & is01(b)).tolist()
    return ([False] if aggregate else []) + cols


def _se(sums: np.ndarray, counts: np.ndarray, mean: float, n: int) -> float:
    """The cluster-robust standard error of the mean paired difference (rows are
    independent clusters of one); the minimum detectable difference is
    (z_0.975 + z_0.8) x this."""
    used = counts > 0
    g = int(used.sum())
    if g < 2:
        return math.nan
    resid = sums[used] - counts[used] * mean
    return math.sqrt(float(resid @ resid) * g / (g - 1)) / n


def holm_interval(
    diff: float, p: float, p_holm: float, se: float, alpha: float = ALPHA, family: int = 1
) -> tuple[float, float, float]:
    """The interval for ``diff`` that matches its Holm verdict: ``(lo, hi, level)``.

    Holm tests the k-th smallest of ``family`` p-values at α / (family − k + 1), and its
    adjusted p is the largest such scaled p up to k; so ``α · p / p_holm`` is the level
    this comparison was in effect tested at, and ``1 − α · p / p_holm`` the matching
    confidence level (95% for a family of one). When ``p_holm`` was capped at 1 that
    ratio understates Holm's level, and the strictest one, α / ``family``, is used.

    The interval is test-based (Altman & Bland, BMJ 2011, "How to obtain the confidence
    interval from a P value"): the standard error implied by the test's own p-value,
    ``|diff| / z(1 − p/2)``, times ``z(1 − tail/2)``. It therefore excludes 0 exactly
    when ``p_holm < α``, the verdict, which no bootstrap percentile interval can promise
    (with a handful of discordant rows, all one way, every resample is ≥ 0). Where the
    p-value gives no scale (no difference, or p = 1) the cluster-robust ``se`` does; a
    p-value that underflowed to 0 is taken as tested at Holm's strictest level,
    α / ``family``. NaN when nothing was tested.
    """
    if math.isnan(diff) or math.isnan(p) or math.isnan(p_holm):
        return math.nan, math.nan, math.nan
    if p <= 0.0:  # beyond double precision: significant at any level
        return _normal_interval(diff, se, alpha / max(1, family))
    tail = alpha / max(1, family) if p_holm >= 1.0 else min(1.0, alpha * p / p_holm)
    scale = se
    if diff != 0.0 and p < 1.0:
        scale = abs(diff) / -NormalDist().inv_cdf(p / 2.0)  # lower tail: exact for tiny p
    return _normal_interval(diff, scale, tail)


def _normal_interval(diff: float, se: float, tail: float) -> tuple[float, float, float]:
    """``diff ± z(1 − tail/2) · se`` and its level; NaN bounds when ``se`` is unknown."""
    if math.isnan(se):
        return math.nan, math.nan, 1.0 - tail
    half = -NormalDist().inv_cdf(tail / 2.0) * se
    return diff - half, diff + half, 1.0 - tail


# -- repeats -----------------------------------------------------------------------------


@dataclass
class RepeatSummary:
    """How stable a model is across repeated sampled runs, per column.

    ``mean`` is the mean of the per-repeat column means, ``spread`` their standard
    deviation across repeats (ddof 1), and ``consistency`` the share of rows, among those
    scored in every repeat, on which all repeats got the same score.
    """

    repeats: int
    mean: np.ndarray
    spread: np.ndarray
    consistency: np.ndarray


def mean_over_repeats(per_repeat: Sequence[np.ndarray]) -> np.ndarray:
    """The per-row mean over repeats (NaN only where every repeat is NaN): what the
    pairwise tests compare for a model with repeats."""
    stack = np.stack(list(per_repeat))
    valid = ~np.isnan(stack)
    count = valid.sum(axis=0)
    total = np.where(valid, stack, 0.0).sum(axis=0)
    return np.divide(total, count, out=np.full(stack.shape[1:], np.nan), where=count > 0)


def repeat_summary(per_repeat: Sequence[np.ndarray]) -> RepeatSummary:
    """Summarise ``(rows, columns)`` score matrices, one per repeat."""
    stack = np.stack(list(per_repeat))
    valid = ~np.isnan(stack)
    count = valid.sum(axis=1)
    totals = np.where(valid, stack, 0.0).sum(axis=1)
    means = np.divide(totals, count, out=np.full(count.shape, np.nan), where=count > 0)
    defined = (~np.isnan(means)).sum(axis=0)
    summed = np.where(np.isnan(means), 0.0, means).sum(axis=0)
    mean = np.divide(summed, defined, out=np.full(defined.shape, np.nan), where=defined > 0)
    dev = np.where(np.isnan(means), 0.0, means - np.nan_to_num(mean))
    spread = np.where(
        defined > 1, np.sqrt((dev**2).sum(axis=0) / np.maximum(defined - 1, 1)), np.nan
    )
    everywhere = valid.all(axis=0)
    same = (stack == stack[:1]).all(axis=0) & everywhere
    rows = everywhere.sum(axis=0)
    consistency = np.divide(same.sum(axis=0), rows, out=np.full(rows.shape, np.nan), where=rows > 0)
    return RepeatSummary(len(stack), mean, spread, consistency)


# -- helpers ------------------------------------------------------------------------------


def _tails(level: float) -> list[float]:
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


def _nanpercentile(values: np.ndarray, q: list[float]) -> np.ndarray:
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


def _num(value: float, digits: int) -> float | None:
    return None if value is None or math.isnan(value) else round(float(value), digits)


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
