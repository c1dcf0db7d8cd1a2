"""Calibration and the held-out evaluation: fitted on calibration rows only, never on the
rows it is judged on; the split keeps documents whole; the best-ranking signal wins."""

from __future__ import annotations

import numpy as np
import pytest

from fieldwise.trust._calibrate import fit_calibrator
from fieldwise.trust.confidence import (
    TrustSettings,
    calibration_split,
    correct_values,
    fit_policy,
    model_confidence,
)


def _data(n: int = 400, seed: int = 0) -> tuple[dict[str, dict[str, np.ndarray]], np.ndarray]:
    """A ``prob`` signal that is the true chance of being right, and a useless one."""
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.3, 1.0, n)
    right = (rng.uniform(0, 1, n) < p).astype(float)
    noise = rng.uniform(0, 1, n)
    return {"prob": {"f": p}, "agreement": {"f": noise}}, right


def test_platt_recovers_a_calibrated_signal_and_isotonic_is_monotone() -> None:
    table, right = _data(4000)
    p = table["prob"]["f"]
    platt = fit_calibrator(p, right, "platt", logit=True)
    a, b = platt.params
    assert a == pytest.approx(1.0, abs=0.15) and b == pytest.approx(0.0, abs=0.15)
    iso = fit_calibrator(p, right, "isotonic")
    grid = np.linspace(0, 1, 50)
    assert np.all(np.diff(iso(grid)) >= 0)


def test_values_without_the_signal_get_their_own_share_right() -> None:
    raw = np.array([0.9, 0.8, np.nan, np.nan, np.nan, np.nan])
    right = np.array([1, 1, 0, 0, 0, 1])
    cal = fit_calibrator(raw, right)
    # 1 of 4 right without a signal, plus one pseudo-count at the overall share
    # (3 + 1) / (6 + 2) = 0.5: (1 + 0.5) / (4 + 1) = 0.3
    assert cal(np.array([np.nan]))[0] == pytest.approx(0.3)


def test_the_split_keeps_groups_whole_and_is_seeded() -> None:
    groups = [f"doc{i // 3}" for i in range(300)]  # 100 documents of 3 rows
    mask = calibration_split(groups, 0.5, seed=1)
    for g in set(groups):
        rows = [mask[i] for i, x in enumerate(groups) if x == g]
        assert len(set(rows)) == 1
    assert 140 <= mask.sum() <= 160
    assert (calibration_split(groups, 0.5, seed=1) == mask).all()
    assert not (calibration_split(groups, 0.5, seed=2) == mask).all()


def test_the_signal_that_ranks_errors_best_is_chosen() -> None:
    table, right = _data()
    mask = calibration_split([str(i) for i in range(len(right))], 0.5)
    policy = fit_policy("f", table, right, mask, TrustSettings())
    assert policy.signal == "prob"
    assert policy.fitted["prob"][1] < policy.fitted["agreement"][1]


def test_threshold_and_calibration_are_fitted_on_calibration_rows_only() -> None:
    table, right = _data(600)
    groups = [str(i) for i in range(600)]
    mask = calibration_split(groups, 0.5)
    settings = TrustSettings(risk=0.1, resamples=200)
    first = model_confidence("m", table, {"f": right}, mask, settings, groups)
    # Change every held-out row: its signal and whether it is right.
    table2 = {k: {"f": v["f"].copy()} for k, v in table.items()}
    right2 = right.copy()
    held = ~mask
    table2["prob"]["f"][held] = 1.0 - table2["prob"]["f"][held]
    right2[held] = 1.0 - right2[held]
    second = model_confidence("m", table2, {"f": right2}, mask, settings, groups)
    a, b = first.paths["f"], second.paths["f"]
    assert a.policy.threshold is not None
    assert a.policy.threshold == b.policy.threshold
    assert a.policy.signal == b.policy.signal
    assert a.policy.calibrator == b.policy.calibrator
    # ... while what is measured on them changes.
    assert a.coverage is not None and b.coverage is not None
    assert (a.coverage.value, a.aurc) != (b.coverage.value, b.aurc)
    # A change to a calibration row does reach the fit.
    right3 = right.copy()
    right3[np.flatnonzero(mask)[:40]] = 0.0
    third = model_confidence("m", table, {"f": right3}, mask, settings, groups)
    assert third.paths["f"].policy.calibrator != a.policy.calibrator


def test_held_out_numbers_and_their_json() -> None:
    table, right = _data(600, seed=3)
    groups = [str(i // 2) for i in range(600)]
    mask = calibration_split(groups, 0.5)
    settings = TrustSettings(risk=0.15, resamples=300)
    model = model_confidence("m", table, {"f": right}, mask, settings, groups)
    path = model.paths["f"]
    out = model.to_json(settings.risk)["paths"]["f"]
    car = out["coverage_at_risk"]
    assert set(car) == {"risk", "threshold", "coverage", "realised_risk", "ci"}
    assert out["signal"] == "prob" and out["rows"]["held_out"] == int((~mask).sum())
    # The reported coverage is the held-out share at or above the calibration threshold.
    conf = path.policy.confidence({"prob": {"f": table["prob"]["f"][~mask]}})
    assert conf is not None
    accepted = conf >= car["threshold"]
    assert car["coverage"] == pytest.approx(accepted.mean(), abs=1e-6)
    assert car["realised_risk"] == pytest.approx(1 - right[~mask][accepted].mean(), abs=1e-6)
    lo, hi = car["ci"]["coverage"]
    assert lo <= car["coverage"] <= hi
    assert 0 <= out["ece"] <= 1 and 0 <= out["brier"] <= 1 and 0 <= out["aurc"] <= 1
    assert out["ci"]["aurc"][0] <= out["aurc"] <= out["ci"]["aurc"][1]
    assert out["curve"][-1][0] == 1.0


def test_unscored_values_are_left_out() -> None:
    got = correct_values({"f": np.array([1.0, 0.5, np.nan, 0.0])})["f"]
    assert got[:2].tolist() == [1.0, 0.0] and np.isnan(got[2]) and got[3] == 0.0
