"""Known answers for the statistics module: McNemar, sign-flip, Holm, cluster bootstrap."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from fieldwise.scoring.stats import (
    AGGREGATE,
    Resamples,
    bootstrap_ci,
    holm,
    mcnemar_p,
    pairwise,
    sign_flip_p,
)


def _brute_force_p(d: np.ndarray) -> float:
    observed = abs(d.sum())
    hits = sum(
        abs(np.dot(signs, d)) >= observed - 1e-12
        for signs in itertools.product((-1.0, 1.0), repeat=len(d))
    )
    return hits / 2 ** len(d)


def test_mcnemar_by_hand() -> None:
    # 2 rows only a gets right, 8 only b: P(X <= 2 | Bin(10, 1/2)) = (1 + 10 + 45) / 1024.
    assert mcnemar_p(2, 8) == pytest.approx(2 * 56 / 1024)
    assert mcnemar_p(8, 2) == pytest.approx(2 * 56 / 1024)
    assert mcnemar_p(5, 5) == 1.0
    assert mcnemar_p(0, 0) == 1.0
    assert mcnemar_p(0, 12) == pytest.approx(2 / 4096)


def test_pairwise_uses_mcnemar_on_01_scores() -> None:
    # 30 rows: both right on 20; a alone right on 2, b alone right on 8.
    a = np.array([1.0] * 20 + [1.0] * 2 + [0.0] * 8)[:, None]
    b = np.array([1.0] * 20 + [0.0] * 2 + [1.0] * 8)[:, None]
    table = pairwise({"a": a, "b": b}, ["f"], Resamples(30, 500), aggregate=False)
    (row,) = table.rows
    assert row.test == "mcnemar"
    assert row.p == pytest.approx(2 * 56 / 1024)
    assert row.diff == pytest.approx(-20.0)  # 6 rows of 30, in points
    assert row.lo < row.diff < row.hi


def test_sign_flip_matches_brute_force_enumeration() -> None:
    d = np.array([0.9, -0.2, 0.5, 0.3, 0.0, 0.7, -0.4, 0.25, 0.6, 0.1])
    assert sign_flip_p(d) == pytest.approx(_brute_force_p(d[d != 0]))
    # Past the exact limit the shared random signs estimate the same p.
    rng = np.random.default_rng(3)
    d = rng.normal(0.15, 1.0, size=17)
    signs = (rng.integers(0, 2, size=(40_000, 17)) * 2 - 1).astype(np.float32)
    exact = _brute_force_p(d)
    assert 0.05 < exact < 0.95
    assert sign_flip_p(d, signs) == pytest.approx(exact, abs=0.01)
    assert sign_flip_p(d, signs, exact_limit=17) == pytest.approx(exact)


def test_sign_flip_on_01_differences_is_mcnemar() -> None:
    d = np.array([1.0] * 3 + [-1.0] * 9)
    assert sign_flip_p(d) == pytest.approx(mcnemar_p(3, 9))


def test_holm_on_a_known_list() -> None:
    # Sorted: 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 -> max(0.06, 0.04).
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    out = holm([0.01, math.nan, 0.02])
    assert out[0] == pytest.approx(0.02) and math.isnan(out[1]) and out[2] == pytest.approx(0.02)


def test_cluster_bootstrap_is_wider_than_row_bootstrap_on_clustered_data() -> None:
    rng = np.random.default_rng(0)
    per_cluster = rng.random(80)
    groups = np.repeat(np.arange(80), 6)  # each document labelled six times
    scores = (per_cluster[groups] + rng.normal(0, 0.02, groups.size)).clip(0, 1)[:, None]
    n = len(scores)
    rows = Resamples.for_rows(n, 2000, 0)
    clusters = Resamples.for_rows(n, 2000, 0, groups.tolist())
    assert clusters.clustered and clusters.n_clusters == 80 and not rows.clustered
    (row_ci,), _ = bootstrap_ci(scores, rows)
    (cluster_ci,), _ = bootstrap_ci(scores, clusters)
    width = lambda ci: ci[1] - ci[0]  # noqa: E731
    assert width(cluster_ci) > 1.8 * width(row_ci)  # about sqrt(6) = 2.4 in theory
    mean = float(scores.mean())
    assert cluster_ci[0] < mean < cluster_ci[1]


def test_groups_of_one_are_the_row_bootstrap() -> None:
    r = Resamples.for_rows(5, 10, 1, ["a", "b", "c", "d", "e"])
    assert not r.clustered
    again = Resamples.for_rows(5, 10, 1)
    assert np.array_equal(next(r.blocks()), next(again.blocks()))


def test_aggregate_difference_is_the_difference_of_aggregates() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.random((200, 4)), rng.random((200, 4))
    a[:10, 2] = np.nan  # no gold for these cells: NaN for both models
    b[:10, 2] = np.nan
    table = pairwise({"a": a, "b": b}, list("wxyz"), Resamples(200, 300))
    agg = table.get("a", "b", AGGREGATE)
    assert agg is not None
    expected = (np.nanmean(a, axis=0).mean() - np.nanmean(b, axis=0).mean()) * 100
    assert agg.diff == pytest.approx(expected)
    flipped = table.get("b", "a", "x")
    assert flipped is not None and flipped.diff == pytest.approx(-table.get("a", "b", "x").diff)


def test_abstentions_leave_rows_out_of_that_pair() -> None:
    a = np.array([[1.0], [np.nan], [1.0], [0.0]])
    b = np.array([[0.0], [1.0], [np.nan], [0.0]])
    (row,) = pairwise({"a": a, "b": b}, ["f"], Resamples(4, 0), aggregate=False).rows
    assert row.n == 2 and row.diff == pytest.approx(50.0)


def test_minimum_detectable_difference_matches_the_formula() -> None:
    rng = np.random.default_rng(2)
    n = 400
    a = rng.normal(0.5, 0.1, (n, 1))
    b = a - rng.normal(0.0, 0.2, (n, 1))
    (row,) = pairwise({"a": a, "b": b}, ["f"], Resamples(n, 200), aggregate=False).rows
    expected = (1.959964 + 0.841621) * 20.0 / math.sqrt(n)  # sd 0.2 = 20 points
    assert row.mde == pytest.approx(expected, rel=0.1)
    assert not row.significant and row.outcome == "tie"


def test_a_real_difference_survives_holm_and_a_null_one_does_not() -> None:
    rng = np.random.default_rng(4)
    n = 724
    truth = rng.random((n, 3))
    a = (rng.random((n, 3)) < 0.6 + 0.2 * truth).astype(float)
    b = a.copy()
    flip = rng.random(n) < 0.15
    b[flip, 0] = 0.0  # b is worse on field x only
    table = pairwise({"a": a, "b": b}, list("xyz"), Resamples(n, 1000))
    assert table.get("a", "b", "x").outcome == "win"
    assert table.get("b", "a", "x").outcome == "loss"
    assert table.get("a", "b", "y").outcome == "tie"
    assert "with 724 rows" in table.resolution_text()
    data = table.to_json()
    assert data["correction"] == "holm" and len(data["comparisons"]) == 4


def test_repeat_summary_and_mean_over_repeats() -> None:
    from fieldwise.scoring.stats import mean_over_repeats, repeat_summary

    r1 = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, np.nan], [1.0, 1.0]])
    r2 = np.array([[1.0, 1.0], [0.0, 1.0], [0.0, np.nan], [1.0, np.nan]])
    mean = mean_over_repeats([r1, r2])
    assert mean[:, 0].tolist() == [1.0, 0.0, 0.5, 1.0]
    assert mean[3, 1] == 1.0 and np.isnan(mean[2, 1])
    summary = repeat_summary([r1, r2])
    assert summary.repeats == 2
    assert summary.mean[0] == pytest.approx((0.75 + 0.5) / 2)
    assert summary.spread[0] == pytest.approx(np.std([0.75, 0.5], ddof=1))
    assert summary.consistency[0] == pytest.approx(3 / 4)  # row 2 differs
    assert summary.consistency[1] == pytest.approx(1 / 2)  # rows 0, 1 scored twice; row 0 differs


def test_cluster_sums_and_large_runs_use_blocks() -> None:
    rng = np.random.default_rng(5)
    groups = rng.integers(0, 40, size=300).tolist()
    boot = Resamples.for_rows(300, 50, 0, groups)
    values = rng.random((300, 3))
    expected = np.zeros((boot.n_clusters, 3))
    assert boot.clusters is not None
    np.add.at(expected, boot.clusters, values)
    assert np.allclose(boot.cluster_sums(values), expected)
    # Too big to keep: weights and signs come in blocks, the same ones every time.
    big = Resamples(5000, 900, 3)
    blocks = [b.copy() for b in big.blocks()]
    assert sum(len(b) for b in blocks) == 900 and len(blocks) > 1
    assert all(np.array_equal(x, y) for x, y in zip(blocks, big.blocks(), strict=True))
    assert sum(len(s) for s in big.sign_blocks()) == 900
