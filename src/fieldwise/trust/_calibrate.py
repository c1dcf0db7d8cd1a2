"""Calibration: a raw signal (a probability, an agreement share, a grounding tier) mapped
to "how often is a value right at this signal", fitted on calibration rows.

Two methods, both monotone (more signal never means less often right):

- ``platt`` (the default): a logistic fit of correctness on the signal (on its logit when
  the signal is a probability), with Platt's smoothed targets ``(k + 1) / (k + 2)`` and
  ``1 / (m + 2)`` instead of 1 and 0, so a signal that separates the calibration rows
  perfectly still gets finite, believable probabilities. Two parameters: stable on the
  few hundred rows a calibration split usually has, and strictly monotone, so it keeps
  the signal's ranking.
- ``isotonic``: pool-adjacent-violators over the sorted signal, predicted as a step
  function (each value gets the share right of the block its signal falls in). More
  flexible, coarser (ties) and hungrier for rows.

A value without the signal (no tokens for it, a null that has no evidence, a single
repeat) is not dropped: it gets the share right of the calibration values that had no
signal either (with one pseudo-count towards the overall share), so every value gets a
calibrated confidence and rows are never silently left out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

__all__ = ["METHODS", "Calibrator", "fit_calibrator"]

Method = Literal["platt", "isotonic"]
METHODS: tuple[Method, ...] = ("platt", "isotonic")
_EPS = 1e-6


@dataclass(frozen=True)
class Calibrator:
    """A fitted map from raw signal to probability right (see the module)."""

    method: Method
    logit: bool
    """Platt on ``logit(signal)`` (signals that are probabilities) or on the signal."""
    params: tuple[float, ...]
    """Platt: ``(a, b)`` in ``sigmoid(a * x + b)``; isotonic: block upper edges then
    block values, half each."""
    missing: float
    """The probability given to a value without the signal."""

    def __call__(self, raw: np.ndarray) -> np.ndarray:
        x = np.asarray(raw, dtype=np.float64)
        out = np.full(x.shape, self.missing)
        have = ~np.isnan(x)
        if not have.any() or not self.params:
            return out
        if self.method == "platt":
            a, b = self.params
            z = _logit(x[have]) if self.logit else x[have]
            out[have] = 1.0 / (1.0 + np.exp(-(a * z + b)))
        else:
            half = len(self.params) // 2
            edges, values = np.array(self.params[:half]), np.array(self.params[half:])
            at = np.minimum(np.searchsorted(edges, x[have], side="left"), half - 1)
            out[have] = values[at]
        return out


def _logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(p, _EPS, 1 - _EPS)
    return np.log(q / (1 - q))


def fit_calibrator(
    raw: np.ndarray, correct: np.ndarray, method: Method = "platt", logit: bool = True
) -> Calibrator:
    """Fit on calibration values: ``raw`` signal (NaN: none) and ``correct`` (0/1)."""
    if method not in METHODS:
        raise ValueError(f"unknown calibration method '{method}'")
    x = np.asarray(raw, dtype=np.float64)
    y = np.asarray(correct, dtype=np.float64)
    have = ~np.isnan(x)
    overall = (y.sum() + 1.0) / (len(y) + 2.0)
    lacking = y[~have]
    missing = float((lacking.sum() + overall) / (len(lacking) + 1.0))
    if have.sum() < 2:
        return Calibrator(method, logit, (), missing)
    if method == "platt":
        z = _logit(x[have]) if logit else x[have]
        return Calibrator(method, logit, _platt(z, y[have]), missing)
    return Calibrator(method, logit, _isotonic(x[have], y[have]), missing)


def _platt(z: np.ndarray, y: np.ndarray, iterations: int = 100) -> tuple[float, float]:
    """Platt (1999) with Lin, Lin & Weng's (2007) Newton steps, on smoothed targets."""
    pos = float(y.sum())
    neg = len(y) - pos
    t = np.where(y > 0.5, (pos + 1.0) / (pos + 2.0), 1.0 / (neg + 2.0))
    a, b = 0.0, math.log((pos + 1.0) / (neg + 1.0))
    scale = float(np.std(z)) or 1.0  # Newton on a standardised input, undone at the end
    mean = float(np.mean(z))
    u = (z - mean) / scale

    def loss(a_: float, b_: float) -> float:
        f = a_ * u + b_
        return float(np.sum(np.logaddexp(0.0, f) - t * f))

    current = loss(a, b)
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(a * u + b)))
        g = np.array([np.sum((p - t) * u), np.sum(p - t)])
        w = p * (1 - p)
        h = np.array([[np.sum(w * u * u), np.sum(w * u)], [np.sum(w * u), np.sum(w)]])
        h += np.eye(2) * 1e-12
        step = np.linalg.solve(h, g)
        size = 1.0
        while size > 1e-10:  # backtracking: Newton may overshoot on near-separable data
            na, nb = a - size * step[0], b - size * step[1]
            new = loss(na, nb)
            if new <= current:
                break
            size /= 2
        if size <= 1e-10:
            break
        a, b, previous, current = na, nb, current, new
        if abs(previous - current) < 1e-10 * max(1.0, abs(current)):
            break
    return a / scale, b - a * mean / scale


def _isotonic(x: np.ndarray, y: np.ndarray) -> tuple[float, ...]:
    """Pool adjacent violators over ``x`` sorted (ties pooled first): block upper edges
    and block means."""
    order = np.argsort(x, kind="stable")
    xs, ys = x[order], y[order]
    uniq, start = np.unique(xs, return_index=True)
    sums = np.add.reduceat(ys, start)
    counts = np.diff(np.r_[start, len(xs)]).astype(np.float64)
    blocks: list[list[float]] = []  # [upper edge, sum, count]
    for edge, s, n in zip(uniq, sums, counts, strict=True):
        blocks.append([float(edge), float(s), float(n)])
        while len(blocks) > 1 and blocks[-2][1] / blocks[-2][2] > blocks[-1][1] / blocks[-1][2]:
            e, s2, n2 = blocks.pop()
            blocks[-1] = [e, blocks[-1][1] + s2, blocks[-1][2] + n2]
    edges = [b[0] for b in blocks]
    values = [b[1] / b[2] for b in blocks]
    return (*edges, *values)
