"""Selective prediction: how good a confidence is at telling right values from wrong ones.

Every function takes ``conf`` (a calibrated confidence per value, in [0, 1]) and
``correct`` (whether each value got full credit), both 1-D and NaN-free, and treats a
value as *accepted* when its confidence is at least a threshold.

- **ECE** (expected calibration error): values binned by confidence into ``bins`` equal
  widths over [0, 1] (a confidence of exactly 1 in the last bin); the mean over values of
  ``|accuracy of its bin - mean confidence of its bin|``.
- **Brier score**: the mean of ``(conf - correct)^2``.
- **Risk-coverage curve**: accepting the values at or above each distinct confidence, from
  the highest down: coverage (share accepted) and risk (share of those that are wrong).
- **AURC** (area under the risk-coverage curve): the mean, over k = 1..n, of the risk of
  the k most confident values. Values of equal confidence are accepted together, so
  inside a tie the k-th value is drawn at random: the risk used is its expectation,
  ``(errors before the tie + (k - before) x the tie's error rate) / k``.
- **Threshold at target risk r** (:func:`choose_threshold`): the lowest confidence t whose
  accepted values' risk is at most r *with 95% confidence*: the one-sided Clopper-Pearson
  upper bound of the error rate among the values at or above t must be <= r. Chosen on
  calibration values only; its realised risk and coverage are measured elsewhere.

:func:`weighted_metrics` recomputes the same numbers under bootstrap weights, for their
intervals.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

__all__ = [
    "BINS",
    "DELTA",
    "aurc",
    "brier",
    "choose_threshold",
    "ece",
    "risk_coverage",
    "upper_bound",
    "weighted_metrics",
]

BINS = 10
DELTA = 0.05
"""One minus the confidence that a chosen threshold's risk is at most the target."""


def _check(conf: np.ndarray, correct: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    c = np.asarray(conf, dtype=np.float64)
    y = np.asarray(correct, dtype=np.float64)
    if c.shape != y.shape or c.ndim != 1:
        raise ValueError("conf and correct must be 1-D arrays of one length")
    if np.isnan(c).any():
        raise ValueError("conf holds NaN")
    return c, y


def _bin_of(conf: np.ndarray, bins: int) -> np.ndarray:
    return np.minimum((conf * bins).astype(np.int64), bins - 1)


def ece(conf: np.ndarray, correct: np.ndarray, bins: int = BINS) -> float:
    """Expected calibration error (see the module); NaN for no values."""
    c, y = _check(conf, correct)
    if not len(c):
        return math.nan
    which = _bin_of(np.clip(c, 0.0, 1.0), bins)
    gap = np.bincount(which, c - y, minlength=bins)  # per bin: n x (mean conf - accuracy)
    return float(np.abs(gap).sum() / len(c))


def brier(conf: np.ndarray, correct: np.ndarray) -> float:
    c, y = _check(conf, correct)
    return float(np.mean((c - y) ** 2)) if len(c) else math.nan


@dataclass(frozen=True)
class Curve:
    """Per distinct confidence, highest first: the threshold, coverage and risk."""

    thresholds: np.ndarray
    coverage: np.ndarray
    risk: np.ndarray
    accepted: np.ndarray
    errors: np.ndarray

    def points(self, most: int = 60) -> list[list[float]]:
        """``[coverage, risk]`` pairs, thinned to about ``most`` for JSON and charts (the
        first and last are always kept)."""
        n = len(self.coverage)
        keep = sorted({0, n - 1, *np.linspace(0, n - 1, min(n, most)).round().astype(int)})
        return [
            [round(float(self.coverage[i]), 6), round(float(self.risk[i]), 6)] for i in keep if n
        ]


def risk_coverage(conf: np.ndarray, correct: np.ndarray) -> Curve:
    """The risk-coverage curve (see the module)."""
    c, y = _check(conf, correct)
    order = np.argsort(-c, kind="stable")
    c, errs = c[order], 1.0 - y[order]
    last = np.r_[c[1:] != c[:-1], True] if len(c) else np.zeros(0, dtype=bool)
    accepted = np.flatnonzero(last) + 1.0
    errors = np.cumsum(errs)[last] if len(c) else np.zeros(0)
    return Curve(
        c[last], accepted / max(1, len(c)), errors / np.maximum(accepted, 1), accepted, errors
    )


def aurc(conf: np.ndarray, correct: np.ndarray) -> float:
    """Area under the risk-coverage curve, ties as the module says; NaN for no values."""
    c, y = _check(conf, correct)
    if not len(c):
        return math.nan
    curve = risk_coverage(c, y)
    total, before_n, before_e = 0.0, 0.0, 0.0
    for n_at, e_at in zip(curve.accepted, curve.errors, strict=True):
        size, errs = n_at - before_n, e_at - before_e
        k = np.arange(before_n + 1, n_at + 1)
        total += float(np.sum((before_e + (k - before_n) * errs / size) / k))
        before_n, before_e = n_at, e_at
    return total / len(c)


def upper_bound(errors: int, n: int, delta: float = DELTA) -> float:
    """One-sided ``1 - delta`` Clopper-Pearson upper bound of an error rate (``1 -
    delta ** (1 / n)`` with no errors)."""
    return float(_upper_bounds(np.array([errors]), np.array([n]), delta)[0])


def _upper_bounds(errors: np.ndarray, n: np.ndarray, delta: float) -> np.ndarray:
    """:func:`upper_bound` for arrays: the beta quantile ``Beta(e + 1, n - e)`` at ``1 -
    delta`` (scipy.special's inverse incomplete beta, one vectorised call; scipy.stats
    would add half a second of import to every report)."""
    e, m = np.asarray(errors, dtype=np.float64), np.asarray(n, dtype=np.float64)
    out = np.ones(len(e))
    none = (e == 0) & (m > 0)
    out[none] = 1.0 - delta ** (1.0 / m[none])
    some = (e > 0) & (e < m)
    if some.any():
        from scipy.special import betaincinv

        out[some] = betaincinv(e[some] + 1.0, m[some] - e[some], 1.0 - delta)
    return out


def choose_threshold(
    conf: np.ndarray, correct: np.ndarray, risk: float, delta: float = DELTA
) -> float | None:
    """The lowest confidence whose accepted values have risk <= ``risk`` at ``1 - delta``
    confidence (see the module); ``None`` when no threshold does (accept nothing)."""
    curve = risk_coverage(conf, correct)
    bounds = _upper_bounds(np.round(curve.errors), curve.accepted, delta)
    ok = np.flatnonzero(bounds <= risk)
    return float(curve.thresholds[ok[-1]]) if len(ok) else None


def weighted_metrics(
    conf: np.ndarray, correct: np.ndarray, weights: Iterable[np.ndarray], bins: int = BINS
) -> dict[str, np.ndarray]:
    """ECE, Brier and AURC under each row of each ``(k, n)`` weight block (a bootstrap
    resample: how often each value is drawn), for percentile intervals. Ties are broken
    by position here: with weights, the exact tie expectation is not worth its cost."""
    c, y = _check(conf, correct)
    order = np.argsort(-c, kind="stable")
    which = _bin_of(np.clip(c, 0.0, 1.0), bins)
    onehot = np.zeros((len(c), bins), dtype=np.float64)
    onehot[np.arange(len(c)), which] = 1.0
    gap = onehot * (c - y)[:, None]
    sq, err = (c - y) ** 2, 1.0 - y
    err_sorted = err[order].astype(np.float32)
    out: dict[str, list[np.ndarray]] = {"ece": [], "brier": [], "aurc": []}
    for block in weights:
        w = np.asarray(block, dtype=np.float64)
        total = w.sum(axis=1)
        ok = total > 0
        safe = np.where(ok, total, 1.0)
        out["ece"].append(np.where(ok, np.abs(w @ gap).sum(axis=1) / safe, np.nan))
        out["brier"].append(np.where(ok, (w @ sq) / safe, np.nan))
        # Values down the rows (most confident first), resamples across; float32 holds
        # the draw counts exactly.
        ws = np.ascontiguousarray(np.asarray(block, dtype=np.float32).T)[order]
        cum_w = _running_sums(ws)
        cum_e = _running_sums(ws * err_sorted[:, None])
        risk = np.divide(cum_e, cum_w, out=np.zeros_like(cum_e), where=cum_w > 0)
        area = np.einsum("ij,ij->j", ws, risk, dtype=np.float64)
        out["aurc"].append(np.where(ok, area / safe, np.nan))
    return {k: np.concatenate(v) if v else np.zeros(0) for k, v in out.items()}


def _running_sums(values: np.ndarray) -> np.ndarray:
    """``np.cumsum(values, axis=0)``, the same additions in the same order, as one vector
    add per row: numpy accumulates down the columns of a C-ordered array one element at
    a time, 3-4x slower than adding whole rows (and the bootstrap makes 1,000 columns)."""
    out = np.empty_like(values)
    if len(values):
        out[0] = values[0]
    add = np.add
    for i in range(1, len(values)):
        add(out[i - 1], values[i], out=out[i])
    return out
