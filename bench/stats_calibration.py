"""Check the paired tests under no difference: rejection rates should be near 5%.

Each trial draws two models from the same distribution (120 rows; a 0/1 field, another
0/1 field and a partial-credit field; plus a clustered case with 40 groups of 3 rows
whose scores are shared within a group), runs :func:`pairwise` and records whether
p < 0.05 and whether the aggregate's 95% interval covers 0.
Run: ``PYTHONPATH=src python bench/stats_calibration.py [--trials 300]``.
"""

from __future__ import annotations

import argparse

import numpy as np

from fieldwise.scoring.stats import Resamples, pairwise


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=300)
    args = parser.parse_args()
    rng = np.random.default_rng(7)
    n, trials = 120, args.trials
    groups = np.repeat(np.arange(40), 3)
    hits = {"aggregate (sign-flip)": 0, "0/1 field (McNemar)": 0, "clustered (sign-flip)": 0}
    covered = 0
    for t in range(trials):
        base = rng.random((n, 3))
        a = (rng.random((n, 3)) < base).astype(float)
        b = (rng.random((n, 3)) < base).astype(float)
        a[:, 2], b[:, 2] = rng.random(n), rng.random(n)
        table = pairwise({"a": a, "b": b}, list("xyz"), Resamples(n, 300, t))
        agg, field = table.get("a", "b"), table.get("a", "b", "x")
        assert agg is not None and field is not None
        hits["aggregate (sign-flip)"] += agg.p < 0.05
        hits["0/1 field (McNemar)"] += field.p < 0.05
        covered += agg.lo <= 0 <= agg.hi
        ca = np.repeat(rng.random(40), 3)[:, None]
        cb = np.repeat(rng.random(40), 3)[:, None]
        boot = Resamples.for_rows(n, 300, t, groups.tolist())
        clustered = pairwise({"a": ca, "b": cb}, ["f"], boot, aggregate=False).rows[0]
        hits["clustered (sign-flip)"] += clustered.p < 0.05
    for name, count in hits.items():
        print(f"{name:24s} rejects {count / trials:.3f} at alpha 0.05")
    print(f"aggregate 95% CI covers 0 in {covered / trials:.3f} of trials")


if __name__ == "__main__":
    main()
