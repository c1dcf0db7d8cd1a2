"""Time the statistics of one run: every pair of 10 models on the aggregate and 13 fields.

10 models x 724 rows x 13 fields (the ISAF dev gold, synthetic outputs as in
``scoring_speed.py``), scored once without intervals; then, timed and repeated:

- ``pairwise``: 45 pairs x 14 targets = 630 comparisons, each with a paired bootstrap
  interval (2,000 shared resamples by default), a p-value (McNemar or sign-flip with
  2,000 shared sign draws), Holm across all 630, and the minimum detectable difference;
- ``+ per-model CIs``: also each model's field and aggregate intervals, both profiles,
  from the same resamples (what ``fieldwise run`` computes besides).

Each repeat builds its resamples afresh (by duplicate-text group, as a run does), so the
drawing is timed too. Run: ``PYTHONPATH=src python bench/stats_speed.py``.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from scoring_speed import DATA, MODELS, ROWS, perturb  # noqa: E402

from fieldwise.data.splits import normalise_text  # noqa: E402
from fieldwise.scoring import prepare_golds, score_outputs  # noqa: E402
from fieldwise.scoring.stats import Resamples, bootstrap_ci, pairwise  # noqa: E402
from fieldwise.tasks import load_task  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--resamples", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    task = load_task("isaf")
    with args.data.open(encoding="utf-8") as lines:
        rows = [json.loads(line) for line in lines if line.strip()]
    rows = [dict(rows[i % len(rows)]) for i in range(ROWS)]  # cycled: repeats form groups
    texts = [normalise_text(r.pop("text")) for r in rows]
    for r in rows:
        r.pop("id", None)
    golds = prepare_golds(task, rows)
    scores = []
    for m in range(MODELS):
        outs = [perturb(g, random.Random(m * 100_003 + i)) for i, g in enumerate(rows)]
        scores.append(score_outputs(task, golds, outs, n_boot=0))
    fields = scores[0]["reference"].field_names
    ref = {f"m{m}": s["reference"].per_row for m, s in enumerate(scores)}

    def family() -> object:
        boot = Resamples.for_rows(ROWS, args.resamples, 0, texts)
        return pairwise(ref, fields, boot)

    def everything() -> object:
        boot = Resamples.for_rows(ROWS, args.resamples, 0, texts)
        for s in scores:
            for profile in s.values():
                bootstrap_ci(profile.per_row, boot)
        return pairwise(ref, fields, boot)

    times: dict[str, list[float]] = {"pairwise": [], "+ per-model CIs": []}
    for _ in range(args.repeats):
        for name, fn in (("pairwise", family), ("+ per-model CIs", everything)):
            start = time.perf_counter()
            table = fn()
            times[name].append(time.perf_counter() - start)
    boot = Resamples.for_rows(ROWS, args.resamples, 0, texts)
    print(
        f"{MODELS} models x {ROWS} rows x {len(fields)} fields, {args.resamples} resamples, "
        f"{boot.n_clusters} text groups, {len(table.rows)} comparisons, repeats {args.repeats}"
    )
    for name, ts in times.items():
        median = statistics.median(ts)
        print(f"{name:16s} median {median:.3f} s  (min {min(ts):.3f}, max {max(ts):.3f})")
    tests = {t: sum(c.test == t for c in table.rows) for t in ("mcnemar", "sign-flip")}
    print(f"tests: {tests}; significant after Holm: {sum(c.significant for c in table.rows)}")
    print(table.resolution_text())


if __name__ == "__main__":
    main()
