"""TOST: known-answer vectors, an independent implementation (scipy's one-sample t-test on
shifted differences), clustering, the default margin and the three verdicts."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from fieldwise.scoring.stats import equivalence_table, mde_margin, tost


def test_known_answer_not_shown_equivalent() -> None:
    # d = 1..5: mean 3, sd sqrt(2.5), se 1/sqrt(2), df 4. Against a margin of 4:
    # t_upper = (3 - 4) / 0.7071 = -1.4142 -> P(T4 <= -1.4142) = 0.1151 (t table);
    # t_lower = (3 + 4) / 0.7071 = 9.8995 -> P(T4 >= 9.8995) = 0.000292.
    r = tost([1, 2, 3, 4, 5], 4.0)
    assert r.diff == pytest.approx(3.0)
    assert r.se == pytest.approx(1 / math.sqrt(2))
    assert r.df == 4
    assert r.p_upper == pytest.approx(0.1150998, abs=1e-6)
    assert r.p_lower == pytest.approx(0.0002922, abs=1e-6)
    assert r.p == r.p_upper
    # 90% interval: 3 +- t(0.95, 4) * se = 3 +- 2.131847 * 0.707107
    assert (r.lo, r.hi) == pytest.approx((1.4925567, 4.5074433), abs=1e-6)
    assert r.verdict == "not shown equivalent"  # the interval reaches past +4


def test_known_answer_equivalent() -> None:
    d = [0.5, -0.5, 1.0, -1.0, 0.0, 0.2, -0.2, 0.1, -0.1, 0.0]
    # mean 0, sd = sqrt(2.6 / 9) = 0.537484, se = 0.169967, df 9;
    # both one-sided tests: P(T9 >= 1 / 0.169967) = P(T9 >= 5.8835) = 0.000117
    r = tost(d, 1.0)
    assert r.diff == pytest.approx(0.0)
    assert r.se == pytest.approx(0.1699673, abs=1e-6)
    assert r.p_lower == pytest.approx(r.p_upper)
    assert r.p == pytest.approx(1.17e-4, rel=0.02)
    assert r.verdict == "equivalent"
    assert -1.0 < r.lo < r.hi < 1.0


def test_worse_needs_a_two_sided_loss_and_no_equivalence() -> None:
    loss = [-8.0, -12.0, -9.0, -11.0, -10.0, -10.5, -9.5, -10.0]
    assert tost(loss, 2.0).verdict == "worse"
    # the same loss within a wide margin is equivalent (and different): not "worse"
    assert tost(loss, 20.0).verdict == "equivalent"
    # a gain beyond the margin is not shown equivalent, never "worse"
    assert tost([-x for x in loss], 2.0).verdict == "not shown equivalent"


@pytest.mark.parametrize("seed", range(6))
def test_matches_scipy_one_sample_t_tests(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 200))
    d = rng.normal(rng.normal(0, 3), rng.uniform(0.5, 10), n)
    margin = float(rng.uniform(0.5, 8))
    r = tost(d, margin)
    lower = stats.ttest_1samp(d, -margin, alternative="greater")
    upper = stats.ttest_1samp(d, margin, alternative="less")
    two = stats.ttest_1samp(d, 0.0)
    assert r.p_lower == pytest.approx(lower.pvalue, rel=1e-9, abs=1e-15)
    assert r.p_upper == pytest.approx(upper.pvalue, rel=1e-9, abs=1e-15)
    assert r.p_difference == pytest.approx(two.pvalue, rel=1e-9, abs=1e-15)
    ci = two.confidence_interval(0.9)
    assert (r.lo, r.hi) == pytest.approx((ci.low, ci.high), rel=1e-9)
    assert (r.verdict == "equivalent") == (-margin < ci.low and ci.high < margin)


def test_equal_clusters_are_the_t_test_on_cluster_means() -> None:
    rng = np.random.default_rng(3)
    g, k = 12, 3
    d = rng.normal(1.0, 4.0, g * k)
    clusters = np.repeat(np.arange(g), k)
    r = tost(d, 5.0, clusters=clusters.tolist())
    means = d.reshape(g, k).mean(axis=1)
    ref = stats.ttest_1samp(means, 5.0, alternative="less")
    assert r.df == g - 1
    assert r.n == g * k
    assert r.p_upper == pytest.approx(ref.pvalue, rel=1e-9)
    assert r.se == pytest.approx(means.std(ddof=1) / math.sqrt(g))


def test_default_margin_is_the_minimum_detectable_difference() -> None:
    d = np.array([2.0, -1.0, 0.5, 3.0, -2.5, 1.0, 0.0, 1.5])
    r = tost(d)
    assert r.margin_source == "mde"
    assert r.margin == pytest.approx((1.959964 + 0.841621) * r.se, rel=1e-6)
    assert r.margin == pytest.approx(mde_margin(r.se))


def test_nan_rows_are_left_out_and_tiny_samples_undecided() -> None:
    r = tost([1.0, np.nan, 2.0, np.nan, 3.0], 5.0)
    assert r.n == 3
    one = tost([1.0, np.nan], 5.0)
    assert one.n == 1 and math.isnan(one.p) and one.verdict == "not shown equivalent"
    assert tost([], 1.0).verdict == "not shown equivalent"


def test_no_spread_decides_exactly() -> None:
    assert tost([0.0] * 10).verdict == "equivalent"  # identical on every row
    assert tost([-5.0] * 10, 2.0).verdict == "worse"
    assert tost([1.0] * 10, 2.0).verdict == "equivalent"
    assert tost([3.0] * 10, 2.0).verdict == "not shown equivalent"


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="margin"):
        tost([1.0, 2.0], 0.0)
    with pytest.raises(ValueError, match="alpha"):
        tost([1.0, 2.0], 1.0, alpha=0.7)


def test_table_per_field_and_aggregate_in_points() -> None:
    rng = np.random.default_rng(0)
    old = (rng.random((300, 3)) < 0.8).astype(float)
    new = old.copy()
    new[:, 2] = (rng.random(300) < 0.4).astype(float)  # field c collapses
    flips = rng.choice(300, 6, replace=False)
    new[flips, 0] = 1 - new[flips, 0]  # field a barely moves
    rows = equivalence_table(new, old, ["a", "b", "c"], margins=5.0)
    by = {r.target: r for r in rows}
    assert list(by) == ["aggregate", "a", "b", "c"]
    assert by["b"].verdict == "equivalent" and by["b"].diff == 0.0
    assert by["a"].verdict == "equivalent"
    assert by["c"].verdict == "worse"
    assert by["c"].diff == pytest.approx((new[:, 2].mean() - old[:, 2].mean()) * 100)
    # the aggregate is the mean of the column differences
    mean_cols = np.mean([by[c].diff for c in "abc"])
    assert by["aggregate"].diff == pytest.approx(mean_cols)
    per_target = equivalence_table(new, old, ["a", "b", "c"], margins={"c": 50.0})
    assert {r.target: r.margin_source for r in per_target}["c"] == "given"
    assert {r.target: r.margin_source for r in per_target}["a"] == "mde"
    assert by["c"].to_json()["verdict"] == "worse"
