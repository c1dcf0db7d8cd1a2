"""The interval shown beside a Holm verdict agrees with it: it excludes 0 exactly when the
corrected test is significant (issue 15: an unadjusted bootstrap CI [0.2, 1.4] printed
beside "Holm-adjusted p 0.875: not a significant lead")."""

from __future__ import annotations

import math

import numpy as np

from fieldwise.scoring.stats import Resamples, holm_interval, pairwise


def _excludes_zero(lo: float, hi: float) -> bool:
    return lo > 0.0 or hi < 0.0


def test_the_reported_case_shows_an_interval_that_includes_zero() -> None:
    # 49 rows, 13 fields; the runner-up misses 5 rows of one field the leader gets.
    n, k = 49, 13
    a = np.ones((n, k))
    b = a.copy()
    b[:5, 0] = 0.0
    table = pairwise({"a": a, "b": b}, [f"f{j}" for j in range(k)], Resamples(n, 1000))
    lead = table.get("a", "b")
    assert lead is not None
    assert math.isclose(lead.p, 0.0625) and math.isclose(lead.p_holm, 0.875)
    assert lead.lo > 0.0  # the unadjusted bootstrap interval excludes 0: the contradiction
    assert not lead.significant
    assert lead.lo_holm < 0.0 < lead.hi_holm  # the interval matching the verdict does not
    assert math.isclose(lead.level_holm, 1 - 0.05 / 14)  # Holm tested it at α/14
    flipped = table.get("b", "a")
    assert flipped is not None and (flipped.lo_holm, flipped.hi_holm) == (
        -lead.hi_holm,
        -lead.lo_holm,
    )
    data = lead.to_json()
    assert data["ci_holm"][0] < 0 < data["ci_holm"][1] and data["ci_holm_level"] > 0.996


def test_interval_and_verdict_agree_on_every_comparison() -> None:
    """Random tables of every shape the report meets (0/1 and partial credit, clustered
    rows, abstentions, real and null differences): never an interval on one side of 0
    beside a tie, nor one straddling 0 beside a win or a loss."""
    rng = np.random.default_rng(7)
    checked = wins = 0
    for trial in range(40):
        n = int(rng.integers(15, 160))
        cols = int(rng.integers(1, 5))
        base = rng.random((n, cols))
        scores = {}
        for m in range(3):
            shift = rng.choice([0.0, 0.05, 0.3]) * m
            values = (base + rng.normal(0, 0.3, (n, cols)) < 0.6 + shift).astype(float)
            if trial % 3 == 1:  # partial credit
                values = np.clip(values * rng.choice([0.5, 1.0], (n, cols)), 0, 1)
            if trial % 4 == 2:  # abstentions
                values[rng.random((n, cols)) < 0.1] = np.nan
            scores[f"m{m}"] = values
        groups = None if trial % 2 else [i // 3 for i in range(n)]
        resamples = Resamples.for_rows(n, 200, trial, groups)
        table = pairwise(scores, [f"c{j}" for j in range(cols)], resamples)
        for c in table.rows:
            if math.isnan(c.p) or math.isnan(c.lo_holm):
                continue
            checked += 1
            wins += c.significant
            assert _excludes_zero(c.lo_holm, c.hi_holm) == c.significant, c
    assert checked > 300 and 20 < wins < checked - 20  # both verdicts were exercised


def test_edge_cases() -> None:
    # Nothing tested: no interval.
    assert all(math.isnan(x) for x in holm_interval(math.nan, math.nan, math.nan, 1.0))
    # A family of one is the plain 95% level; significance and exclusion agree.
    lo, hi, level = holm_interval(2.0, 0.01, 0.01, 0.5)
    assert math.isclose(level, 0.95) and lo > 0
    # p = 1 gives no scale: the robust standard error does, around the difference.
    lo, hi, _ = holm_interval(0.0, 1.0, 1.0, 0.4, family=10)
    assert lo < 0 < hi and math.isclose(-lo, hi)
    # A p-value that underflowed to 0 is significant at Holm's strictest level.
    lo, hi, level = holm_interval(5.0, 0.0, 0.0, 0.5, family=20)
    assert lo > 0 and math.isclose(level, 1 - 0.05 / 20)
    # Holm p capped at 1: the strictest level, which still straddles 0.
    lo, hi, level = holm_interval(1.0, 0.2, 1.0, 0.5, family=8)
    assert lo < 0 < hi and math.isclose(level, 1 - 0.05 / 8)
