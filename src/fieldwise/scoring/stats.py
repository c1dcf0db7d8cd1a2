"""The one statistics module: shared resamples, intervals, paired tests, Holm, power.

Split by meaning: resampling and intervals in ``_resampling.py``, the paired tests and
Holm in ``_significance.py``, equivalence (TOST) in ``_equivalence.py``, repeats in
``_repeats.py``, and the comparison table of every pair of models here. Every public name
is importable from here.

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

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from statistics import NormalDist
from typing import Any

import numpy as np

from fieldwise.scoring._equivalence import Equivalence, equivalence_table, mde_margin, tost
from fieldwise.scoring._repeats import RepeatSummary, mean_over_repeats, repeat_summary
from fieldwise.scoring._resampling import (
    DEFAULT_RESAMPLES,
    Resamples,
    bootstrap_ci,
    nanpercentile,
    one_thread,
    resampled_means,
    row_resamples,
    tails,
)
from fieldwise.scoring._significance import EXACT_LIMIT, holm, mcnemar_p, sign_flip, sign_flip_p

__all__ = [
    "AGGREGATE",
    "DEFAULT_RESAMPLES",
    "Comparison",
    "Equivalence",
    "PairwiseTable",
    "RepeatSummary",
    "Resamples",
    "bootstrap_ci",
    "equivalence_table",
    "holm",
    "holm_interval",
    "mcnemar_p",
    "mde_margin",
    "mean_over_repeats",
    "pairwise",
    "repeat_summary",
    "row_resamples",
    "sign_flip_p",
    "tost",
]

AGGREGATE = "aggregate"
ALPHA = 0.05
POWER = 0.8
_Z_ALPHA = 1.959963984540054  # two-sided 5%
_Z_POWER = 0.8416212335729143  # 80% power
_BATCH_CELLS = 6_000_000  # rows x difference columns compared in one batch of pairs


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
        cis = nanpercentile(resampled_means(diffs, resamples), tails(0.95))
        rhs = sums.astype(np.float32)
        with one_thread():
            permuted = np.vstack([block @ rhs for block in resamples.sign_blocks()])
    out = []
    # One contiguous row per target: a column of the (clusters, targets) arrays is strided.
    sums_t, counts_t = np.ascontiguousarray(sums.T), np.ascontiguousarray(counts.T)
    for c in range(diffs.shape[1]):
        n = int(n_valid[c])
        se = math.nan if n == 0 else _se(sums_t[c], counts_t[c], point[c], n)
        if n == 0:
            p, test = math.nan, "none"
        elif binary[c] and not resamples.clustered:
            d = diffs[valid[:, c], c]
            p, test = mcnemar_p(int((d > 0).sum()), int((d < 0).sum())), "mcnemar"
        else:
            p = sign_flip(sums_t[c], None if permuted is None else permuted[:, c], EXACT_LIMIT)
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


def _num(value: float, digits: int) -> float | None:
    return None if value is None or math.isnan(value) else round(float(value), digits)
