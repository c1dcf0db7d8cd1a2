"""Per-field confidence, calibrated and evaluated on rows it was not fitted on.

The rows of a labelled run are split once, by document group, into a *calibration*
share and a *held-out* rest (:func:`calibration_split`; the same split for every model
and field). For each model and scored path, on the calibration rows only:

1. each available signal (:mod:`fieldwise.trust.signals`) is calibrated (Platt or
   isotonic, :mod:`fieldwise.trust._calibrate`);
2. the signal whose calibrated confidence ranks errors best (lowest AURC on those rows)
   is chosen: the ``signal`` reported;
3. the threshold for the target risk is chosen (:func:`~fieldwise.trust._selective.
   choose_threshold`: risk at most r with 95% confidence).

Everything reported is then measured on the held-out rows alone: ECE, Brier score, AURC
and the risk-coverage curve of the chosen signal's confidence, and, at the chosen
threshold, the coverage and realised risk, each with a 95% interval that resamples whole
documents. A held-out row's own label never touches its threshold or calibration, so a
claim of "90% coverage at 2% risk" is a measurement, not a fit.

A value is *correct* when the profile gives it full credit; values the profile does not
score (no gold, or an abstention under an abstaining profile) are left out: they were
never accepted or rejected by a confidence.
"""

from __future__ import annotations

import math
import random
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fieldwise.scoring.stats import DEFAULT_RESAMPLES, Resamples
from fieldwise.trust._calibrate import Calibrator, Method, fit_calibrator
from fieldwise.trust._rates import Rate, rate
from fieldwise.trust._selective import (
    BINS,
    DELTA,
    aurc,
    brier,
    choose_threshold,
    ece,
    risk_coverage,
    weighted_metrics,
)
from fieldwise.trust.grounding import ModelGrounding
from fieldwise.trust.signals import SIGNALS

__all__ = [
    "ModelConfidence",
    "PathConfidence",
    "Policy",
    "TrustSettings",
    "calibration_split",
    "correct_values",
    "fit_policy",
    "model_confidence",
]

_LOGIT = {"logprob": True, "prob": True, "agreement": True, "grounding": False}


@dataclass(frozen=True)
class TrustSettings:
    """How confidence is calibrated and judged (``fieldwise trust`` options)."""

    risk: float = 0.05
    method: Method = "platt"
    share: float = 0.5
    """Share of rows (whole document groups) in the calibration split."""
    seed: int = 0
    resamples: int = DEFAULT_RESAMPLES
    delta: float = DELTA
    bins: int = BINS

    def to_json(self) -> dict[str, Any]:
        return {
            "risk": self.risk,
            "method": self.method,
            "calibration_share": self.share,
            "seed": self.seed,
            "resamples": self.resamples,
            "confidence_level": 1 - self.delta,
            "ece_bins": self.bins,
        }


def calibration_split(groups: Sequence[Hashable], share: float, seed: int = 0) -> np.ndarray:
    """``True`` for the rows of the calibration split: whole groups (documents) drawn in a
    seeded order until ``share`` of the rows is reached."""
    if not 0 < share < 1:
        raise ValueError(f"the calibration share must be between 0 and 1, got {share}")
    rows: dict[Hashable, list[int]] = {}
    for i, g in enumerate(groups):
        rows.setdefault(g, []).append(i)
    keys = sorted(rows, key=str)
    random.Random(seed).shuffle(keys)
    mask = np.zeros(len(groups), dtype=bool)
    target, taken = round(len(groups) * share), 0
    for key in keys:
        if taken >= target:
            break
        mask[rows[key]] = True
        taken += len(rows[key])
    return mask


def correct_values(path_rows: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per scored path, 1.0 where a row's value got full credit, 0.0 where it did not,
    NaN where it was not scored (``ModelScore.path_rows``)."""
    out = {}
    for path, scores in path_rows.items():
        s = np.asarray(scores, dtype=np.float64)
        out[path] = np.where(np.isnan(s), np.nan, (s >= 1.0 - 1e-9).astype(np.float64))
    return out


@dataclass(frozen=True)
class Policy:
    """For one path: the signal chosen, its calibrator and the threshold at the target
    risk, all fitted on calibration rows (``threshold`` ``None``: accept nothing)."""

    path: str
    signal: str | None
    calibrator: Calibrator | None
    threshold: float | None
    fitted: dict[str, tuple[Calibrator, float]] = field(default_factory=dict, repr=False)
    """Every signal's calibrator and its AURC on the calibration rows."""

    def confidence(self, table: Mapping[str, Mapping[str, np.ndarray]]) -> np.ndarray | None:
        """The calibrated confidence of every row's value (``None``: no signal)."""
        if self.signal is None or self.calibrator is None:
            return None
        return self.calibrator(table[self.signal][self.path])

    def accepts(self, conf: np.ndarray) -> np.ndarray:
        if self.threshold is None:
            return np.zeros(len(conf), dtype=bool)
        return np.asarray(conf >= self.threshold)


def fit_policy(
    path: str,
    table: Mapping[str, Mapping[str, np.ndarray]],
    correct: np.ndarray,
    rows: np.ndarray,
    settings: TrustSettings,
) -> Policy:
    """Choose and fit on ``rows`` (a boolean mask) only: see the module, steps 1-3."""
    use = rows & ~np.isnan(correct)
    y = correct[use]
    fitted: dict[str, tuple[Calibrator, float]] = {}
    for name in SIGNALS:
        column = table.get(name, {}).get(path)
        if column is None or np.isnan(column[use]).all() or not len(y):
            continue
        cal = fit_calibrator(column[use], y, settings.method, _LOGIT[name])
        fitted[name] = (cal, aurc(cal(column[use]), y))
    if not fitted:
        return Policy(path, None, None, None, fitted)
    best = min(fitted, key=lambda n: (fitted[n][1], SIGNALS.index(n)))
    cal = fitted[best][0]
    conf = cal(table[best][path][use])
    threshold = choose_threshold(conf, y, settings.risk, settings.delta)
    return Policy(path, best, cal, threshold, fitted)


@dataclass
class PathConfidence:
    """One path's held-out evaluation (see the module)."""

    path: str
    policy: Policy
    calibration_rows: int
    held_out_rows: int
    accuracy: float = math.nan
    ece: float = math.nan
    brier: float = math.nan
    aurc: float = math.nan
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)
    coverage: Rate | None = None
    realised_risk: Rate | None = None
    curve: list[list[float]] = field(default_factory=list)
    signal_aurc: dict[str, float] = field(default_factory=dict)
    """Each available signal's held-out AURC (its own calibration): which ranks best."""
    grounding: dict[str, Any] = field(default_factory=dict)

    def to_json(self, risk: float) -> dict[str, Any]:
        pol = self.policy
        return {
            **self.grounding,
            "signal": pol.signal,
            "rows": {"calibration": self.calibration_rows, "held_out": self.held_out_rows},
            "accuracy": _num(self.accuracy),
            "ece": _num(self.ece),
            "brier": _num(self.brier),
            "aurc": _num(self.aurc),
            "ci": {k: [_num(lo), _num(hi)] for k, (lo, hi) in self.intervals.items()},
            "coverage_at_risk": {
                "risk": risk,
                "threshold": None if pol.threshold is None else round(pol.threshold, 6),
                "coverage": _num(self.coverage.value) if self.coverage else None,
                "realised_risk": _num(self.realised_risk.value) if self.realised_risk else None,
                "ci": {
                    "coverage": _ci(self.coverage),
                    "realised_risk": _ci(self.realised_risk),
                },
            },
            "signals": {
                name: {
                    "aurc": _num(self.signal_aurc.get(name, math.nan)),
                    "calibration_aurc": _num(a),
                }
                for name, (_, a) in pol.fitted.items()
            },
            "curve": self.curve,
        }


def _num(x: float) -> float | None:
    return None if x is None or math.isnan(x) else round(float(x), 6)


def _ci(r: Rate | None) -> list[float | None]:
    return [None, None] if r is None else [_num(r.lo), _num(r.hi)]


@dataclass
class ModelConfidence:
    """Per scored path, its :class:`PathConfidence`; the model's grounding beside it."""

    label: str
    paths: dict[str, PathConfidence]
    grounding: ModelGrounding | None = None
    rows: dict[str, Any] = field(default_factory=dict)
    """Rows used, in the calibration split and held out; ``sampled`` past 5,000 rows."""

    def to_json(self, risk: float) -> dict[str, Any]:
        g = self.grounding
        return {
            "rows": self.rows,
            "grounded_rate": _num(g.grounded_rate) if g else None,
            "hallucination_rate": _num(g.hallucination_rate) if g else None,
            "paths": {p: c.to_json(risk) for p, c in self.paths.items()},
        }


def model_confidence(
    label: str,
    table: Mapping[str, Mapping[str, np.ndarray]],
    correct: Mapping[str, np.ndarray],
    calibration: np.ndarray,
    settings: TrustSettings,
    groups: Sequence[Hashable] | None = None,
    grounding: ModelGrounding | None = None,
) -> ModelConfidence:
    """Fit on ``calibration`` rows, measure on the others (see the module).

    ``table``: :func:`~fieldwise.trust.signals.signal_table`'s signals; ``correct``:
    :func:`correct_values`; ``groups``: each row's document group (for the intervals)."""
    held = ~calibration
    held_idx = np.flatnonzero(held)
    boot = Resamples.for_rows(
        len(held_idx),
        settings.resamples,
        settings.seed,
        None if groups is None else [groups[int(i)] for i in held_idx],
    )
    paths = {}
    for path, y_all in correct.items():
        policy = fit_policy(path, table, y_all, calibration, settings)
        result = PathConfidence(
            path,
            policy,
            int((calibration & ~np.isnan(y_all)).sum()),
            int((held & ~np.isnan(y_all)).sum()),
            grounding=_path_grounding(grounding, path),
        )
        _evaluate(result, table, y_all[held_idx], held_idx, boot, settings)
        paths[path] = result
    rows = {
        "used": len(calibration),
        "calibration": int(calibration.sum()),
        "held_out": len(held_idx),
    }
    return ModelConfidence(label, paths, grounding, rows)


def _path_grounding(grounding: ModelGrounding | None, path: str) -> dict[str, Any]:
    stats = grounding.fields.get(path) if grounding is not None else None
    if stats is None:
        return {"grounded_rate": None, "hallucination_rate": None}
    return {
        "grounded_rate": _num(stats.grounded_rate),
        "hallucination_rate": _num(stats.hallucination_rate),
    }


def _evaluate(
    result: PathConfidence,
    table: Mapping[str, Mapping[str, np.ndarray]],
    y_held: np.ndarray,
    held_idx: np.ndarray,
    boot: Resamples,
    settings: TrustSettings,
) -> None:
    defined = ~np.isnan(y_held)
    y = y_held[defined]
    if not len(y):
        return
    result.accuracy = float(y.mean())
    for name, (cal, _) in result.policy.fitted.items():
        result.signal_aurc[name] = aurc(cal(table[name][result.path][held_idx][defined]), y)
    held_table = {k: {result.path: v[result.path][held_idx]} for k, v in table.items()}
    conf_all = result.policy.confidence(held_table)
    if conf_all is None:
        return
    conf = conf_all[defined]
    result.ece = ece(conf, y, settings.bins)
    result.brier = brier(conf, y)
    result.aurc = aurc(conf, y)
    result.curve = risk_coverage(conf, y).points()
    where = np.flatnonzero(defined)
    blocks = (w[:, where] for w in boot.blocks())
    for name, values in weighted_metrics(conf, y, blocks, settings.bins).items():
        values = values[~np.isnan(values)]
        if len(values):
            lo, hi = np.percentile(values, [2.5, 97.5])
            result.intervals[name] = (float(lo), float(hi))
    accepted = np.zeros(len(y_held))
    accepted[where] = result.policy.accepts(conf)
    wrong = np.where(defined, 1.0 - np.nan_to_num(y_held), 0.0)
    result.coverage = rate(accepted, defined.astype(np.float64), resamples=boot)
    result.realised_risk = rate(accepted * wrong, accepted, resamples=boot)
