"""Equivalence: two one-sided tests (TOST) on paired differences, with a stated margin.

A paired test answers "is there a difference?"; retiring a model needs the other
question, "is the replacement no worse (and no better) than the old one by more than a
margin?". TOST (Schuirmann 1987) rejects both ``diff <= -margin`` and ``diff >= margin``
at level α; equivalently, the (1 − 2α) interval of the mean paired difference lies inside
``(-margin, margin)``. Three verdicts, after Lakens (2017, "Equivalence tests"):

- ``equivalent``: both one-sided tests reject (the 90% interval is inside the margin);
- ``worse``: not shown equivalent, and the usual two-sided paired test finds the new
  model worse (its 95% interval is below 0): there is evidence of a loss, and a loss
  beyond the margin is not ruled out;
- ``not shown equivalent``: anything else (too few rows to tell, or a gain larger than
  the margin).

The statistic is the paired t: the mean of the per-row differences over its standard
error, with ``df = clusters − 1``. Rows of one document group are one cluster (their
differences are summed first), the cluster-robust error of :mod:`.stats`, so repeated
texts are not counted as independent evidence. With one row per cluster this is the
textbook paired t-test (``scipy.stats.ttest_1samp`` on the differences, shifted by the
margin, gives the same p-values; the tests check it).

The default margin is the minimum detectable difference of the same comparison,
``(z_0.975 + z_0.8) × SE`` (80% power at a two-sided 5% level, as
:class:`~fieldwise.scoring.stats.Comparison` states it): the smallest difference this
test set could tell apart from none. It is reported beside every verdict so that a
reader sees what "equivalent" was allowed to hide.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy import stats as _scipy_stats

__all__ = ["Equivalence", "Verdict", "equivalence_table", "mde_margin", "tost"]

Verdict = Literal["equivalent", "not shown equivalent", "worse"]
_Z_MDE = 1.959963984540054 + 0.8416212335729143  # two-sided 5%, 80% power


@dataclass(frozen=True)
class Equivalence:
    """One TOST: the new model minus the old, in points (x 100) on a [0, 1] score."""

    target: str
    n: int
    diff: float
    se: float
    df: int
    margin: float
    margin_source: Literal["mde", "given"]
    lo: float
    """Lower end of the (1 − 2α) interval: the one TOST decides with (90% at α = 5%)."""
    hi: float
    lo_two_sided: float
    """The (1 − α) interval (95%) of the ordinary paired test."""
    hi_two_sided: float
    p_lower: float
    """p of H0: diff <= -margin."""
    p_upper: float
    """p of H0: diff >= +margin."""
    p_difference: float
    """Two-sided p of H0: diff == 0."""
    alpha: float
    verdict: Verdict

    @property
    def p(self) -> float:
        """The TOST p-value: the larger of the two one-sided ones."""
        return max(self.p_lower, self.p_upper)

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "n": self.n,
            "diff": _num(self.diff),
            "se": _num(self.se),
            "df": self.df,
            "margin": _num(self.margin),
            "margin_source": self.margin_source,
            "interval": [_num(self.lo), _num(self.hi)],
            "interval_level": round(1 - 2 * self.alpha, 4),
            "interval_two_sided": [_num(self.lo_two_sided), _num(self.hi_two_sided)],
            "p_tost": _num(self.p, 6),
            "p_lower": _num(self.p_lower, 6),
            "p_upper": _num(self.p_upper, 6),
            "p_difference": _num(self.p_difference, 6),
            "verdict": self.verdict,
        }


def mde_margin(se: float) -> float:
    """The minimum detectable difference for a paired difference with standard error
    ``se``: the default equivalence margin (NaN when ``se`` is unknown or 0)."""
    return _Z_MDE * se if se > 0 and not math.isnan(se) else math.nan


def tost(
    diffs: Sequence[float] | np.ndarray,
    margin: float | None = None,
    *,
    alpha: float = 0.05,
    clusters: Sequence[Any] | None = None,
    target: str = "aggregate",
) -> Equivalence:
    """TOST on per-row paired differences (new − old, NaN rows left out).

    ``margin`` in the same units as ``diffs`` (``None``: the minimum detectable
    difference, :func:`mde_margin`); ``clusters`` gives each row's group, rows of one
    group forming one independent unit.
    """
    if not 0 < alpha < 0.5:
        raise ValueError("alpha must be between 0 and 0.5")
    if margin is not None and not margin > 0:
        raise ValueError("the equivalence margin must be positive")
    d = np.asarray(diffs, dtype=np.float64)
    keep = ~np.isnan(d)
    groups = np.asarray(clusters, dtype=object)[keep] if clusters is not None else None
    d = d[keep]
    n = int(d.size)
    mean = float(d.mean()) if n else math.nan
    se, g = _cluster_se(d, groups, mean)
    df = max(0, g - 1)
    source: Literal["mde", "given"] = "given" if margin is not None else "mde"
    m = float(margin) if margin is not None else mde_margin(se)
    if n == 0 or g < 2 or math.isnan(se):
        return _undecided(target, n, mean, se, df, m, source, alpha)
    if se == 0.0:  # every cluster moved by the same amount: no sampling error to allow for
        return _exact(target, n, mean, df, m, source, alpha)
    t = _scipy_stats.t(df)
    p_lower = float(t.sf((mean + m) / se))
    p_upper = float(t.cdf((mean - m) / se))
    p_diff = float(2.0 * t.sf(abs(mean) / se))
    half = float(t.ppf(1.0 - alpha)) * se
    half2 = float(t.ppf(1.0 - alpha / 2.0)) * se
    lo2, hi2 = mean - half2, mean + half2
    return Equivalence(
        target, n, mean, se, df, m, source, mean - half, mean + half, lo2, hi2,
        p_lower, p_upper, p_diff, alpha, _verdict(max(p_lower, p_upper), hi2, alpha),
    )  # fmt: skip


def _verdict(p_tost: float, hi_two_sided: float, alpha: float) -> Verdict:
    if p_tost < alpha:
        return "equivalent"
    if hi_two_sided < 0:
        return "worse"
    return "not shown equivalent"


def _cluster_se(d: np.ndarray, groups: np.ndarray | None, mean: float) -> tuple[float, int]:
    """The cluster-robust SE of the mean and the number of clusters (as in stats.py)."""
    n = d.size
    if n == 0:
        return math.nan, 0
    if groups is None:
        sums, counts = d, np.ones(n)
    else:
        _, inverse = np.unique(groups.astype(str), return_inverse=True)
        sums = np.bincount(inverse, weights=d)
        counts = np.bincount(inverse).astype(np.float64)
    g = int(sums.size)
    if g < 2:
        return math.nan, g
    resid = sums - counts * mean
    return math.sqrt(float(resid @ resid) * g / (g - 1)) / n, g


def _undecided(
    target: str, n: int, mean: float, se: float, df: int, m: float, source: Any, alpha: float
) -> Equivalence:
    nan = math.nan
    return Equivalence(
        target, n, mean, se, df, m, source, nan, nan, nan, nan, nan, nan, nan, alpha,
        "not shown equivalent",
    )  # fmt: skip


def _exact(
    target: str, n: int, mean: float, df: int, m: float, source: Any, alpha: float
) -> Equivalence:
    """No spread at all: the difference is known exactly, so each test is decided. With
    no spread the minimum detectable difference is undefined (NaN); then only an exact
    zero is equivalent."""
    bound = 0.0 if math.isnan(m) else m
    p_lower = 0.0 if mean > -bound or mean == 0.0 else 1.0
    p_upper = 0.0 if mean < bound or mean == 0.0 else 1.0
    p_diff = 1.0 if mean == 0.0 else 0.0
    verdict: Verdict = (
        "equivalent"
        if p_lower == 0.0 and p_upper == 0.0
        else "worse"
        if mean < 0
        else "not shown equivalent"
    )
    return Equivalence(
        target, n, mean, 0.0, df, m, source, mean, mean, mean, mean,
        p_lower, p_upper, p_diff, alpha, verdict,
    )  # fmt: skip


def equivalence_table(
    new: np.ndarray,
    old: np.ndarray,
    columns: Sequence[str],
    *,
    margins: Mapping[str, float] | float | None = None,
    alpha: float = 0.05,
    clusters: Sequence[Any] | None = None,
) -> list[Equivalence]:
    """TOST on the aggregate and on every column of two ``(rows, columns)`` score
    matrices in [0, 1] (NaN: not scored), new against old, in points.

    The aggregate's per-row differences are :func:`~fieldwise.scoring.stats.
    paired_differences`'s (the mean of column means, as the leaderboard ranks by).
    ``margins``: one margin for every target, or one per target name (``aggregate`` and
    the columns), the rest defaulting to the minimum detectable difference.
    """
    from fieldwise.scoring.stats import AGGREGATE, paired_differences

    diffs = paired_differences(np.asarray(new, float), np.asarray(old, float), aggregate=True)
    targets = [AGGREGATE, *columns]
    out = []
    for j, target in enumerate(targets):
        margin = margins.get(target) if isinstance(margins, Mapping) else margins
        out.append(tost(diffs[:, j], margin, alpha=alpha, clusters=clusters, target=target))
    return out


def _num(value: float, digits: int = 4) -> float | None:
    return None if value is None or math.isnan(value) else round(float(value), digits)
