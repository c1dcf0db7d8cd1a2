"""ECE, Brier, AURC, the risk-coverage curve and the threshold at a target risk, on
vectors small enough to compute by hand (the arithmetic is in each comment)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fieldwise.trust._selective import (
    aurc,
    brier,
    choose_threshold,
    ece,
    risk_coverage,
    upper_bound,
    weighted_metrics,
)


def test_ece_by_hand() -> None:
    conf = np.array([0.95, 0.85, 0.85, 0.25])
    right = np.array([1, 1, 0, 0])
    # bin 9: |0.95 - 1| x 1 = 0.05; bin 8: |0.85 - 0.5| x 2 = 0.70; bin 2: |0.25 - 0| x 1
    # = 0.25; (0.05 + 0.70 + 0.25) / 4 = 0.25
    assert ece(conf, right) == pytest.approx(0.25)
    # A confidence of exactly 1 is in the last bin, not past it.
    assert ece(np.array([1.0, 1.0]), np.array([1, 0])) == pytest.approx(0.5)
    assert math.isnan(ece(np.zeros(0), np.zeros(0)))


def test_brier_by_hand() -> None:
    conf = np.array([0.95, 0.85, 0.85, 0.25])
    right = np.array([1, 1, 0, 0])
    # (0.05^2 + 0.15^2 + 0.85^2 + 0.25^2) / 4 = (0.0025 + 0.0225 + 0.7225 + 0.0625) / 4
    assert brier(conf, right) == pytest.approx(0.2025)


def test_aurc_without_ties_by_hand() -> None:
    conf = np.array([0.6, 0.9, 0.7, 0.8])  # order: 0.9 (right), 0.8 (wrong), 0.7, 0.6
    right = np.array([0, 1, 1, 0])
    # risks of the top 1..4: 0/1, 1/2, 1/3, 2/4; mean = (0 + 0.5 + 0.3333 + 0.5) / 4
    assert aurc(conf, right) == pytest.approx((0 + 1 / 2 + 1 / 3 + 2 / 4) / 4)


def test_aurc_with_a_tie_takes_the_expected_order() -> None:
    conf = np.array([0.9, 0.8, 0.8, 0.6])
    right = np.array([1, 0, 1, 0])
    # The tie at 0.8 holds one error in two: top 2 expects 0.5 errors (risk 0.25), top 3
    # one (1/3); top 1: 0, top 4: 2/4. Mean (0 + 0.25 + 0.3333 + 0.5) / 4 = 0.2708
    assert aurc(conf, right) == pytest.approx((0 + 0.25 + 1 / 3 + 0.5) / 4)
    # Swapping which tied value is wrong changes nothing.
    assert aurc(conf, np.array([1, 1, 0, 0])) == pytest.approx(aurc(conf, right))


def test_a_perfect_ranking_has_the_least_aurc() -> None:
    right = np.array([1, 1, 1, 0, 0])
    good, bad = np.array([5, 4, 3, 2, 1.0]) / 5, np.array([1, 2, 3, 4, 5.0]) / 5
    # perfect: risks 0, 0, 0, 1/4, 2/5 → (0.25 + 0.4) / 5 = 0.13
    assert aurc(good, right) == pytest.approx(0.13)
    assert aurc(bad, right) > aurc(good, right)


def test_risk_coverage_curve_by_hand() -> None:
    curve = risk_coverage(np.array([0.9, 0.8, 0.8, 0.6]), np.array([1, 0, 1, 0]))
    assert curve.thresholds.tolist() == [0.9, 0.8, 0.6]
    assert curve.coverage.tolist() == [0.25, 0.75, 1.0]
    assert curve.risk.tolist() == pytest.approx([0.0, 1 / 3, 0.5])
    assert curve.points() == [[0.25, 0.0], [0.75, 0.333333], [1.0, 0.5]]


def test_upper_bound_by_hand() -> None:
    # No errors: 1 - 0.05^(1/n); 60 values: 1 - exp(ln 0.05 / 60) = 0.048703
    assert upper_bound(0, 60) == pytest.approx(0.048703, abs=1e-6)
    assert upper_bound(0, 58) == pytest.approx(0.050340, abs=1e-6)
    assert upper_bound(5, 5) == 1.0 and upper_bound(0, 0) == 1.0
    # Clopper-Pearson with errors: the beta quantile (scipy), above the observed rate.
    assert 0.1 < upper_bound(10, 100) < 0.2


def test_threshold_at_target_risk_by_hand() -> None:
    # 60 values at 0.9, all right; 40 at 0.5, half wrong. At 0.9: 0 of 60 wrong, bound
    # 0.0487 <= 0.05; at 0.5: 20 of 100, bound > 0.2. So 0.9.
    conf = np.r_[np.full(60, 0.9), np.full(40, 0.5)]
    right = np.r_[np.ones(60), np.ones(20), np.zeros(20)]
    assert choose_threshold(conf, right, 0.05) == 0.9
    # 58 right values are too few to certify 5% (bound 0.0503): accept nothing.
    assert choose_threshold(conf[2:], right[2:], 0.05) is None
    # At 30% risk even the lowest threshold qualifies: 20 of 100, bound ~0.28.
    assert choose_threshold(conf, right, 0.30) == 0.5


def test_weighted_metrics_match_the_plain_ones_under_unit_weights() -> None:
    rng = np.random.default_rng(0)
    conf, right = rng.uniform(0, 1, 50), (rng.uniform(0, 1, 50) < 0.7).astype(float)
    got = weighted_metrics(conf, right, [np.ones((2, 50))])
    assert got["ece"] == pytest.approx([ece(conf, right)] * 2)
    assert got["brier"] == pytest.approx([brier(conf, right)] * 2)
    assert got["aurc"] == pytest.approx([aurc(conf, right)] * 2)  # no ties here
