"""Scoring and the report at corpus scale: 100,000 rows x 3 models (ISAF-shaped).

Gold rows are the real ISAF dev rows cycled to ``--rows`` (each with its own id); each
model's outputs are the gold JSON perturbed at its own error rate, with some fenced
(invalid) and missing outputs, as in ``bench/report_speed.py``. Timed: ``score_outputs``
for every model (both profiles, default 1,000 bootstrap resamples), then ``write_report``
(HTML, charts, the disagreement-limited per-example section and the full-data export);
sizes of everything written.

    PYTHONPATH=src python bench/scale_report.py [--rows 100000] [--models 3]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from report_speed import DEV, KINDS, perturb  # noqa: E402

if not DEV.is_file():  # a worktree one level deeper than the main checkout
    DEV = Path("/work/shared/data/isaf/dev.jsonl")

from fieldwise.report import write_report  # noqa: E402
from fieldwise.scoring import prepare_golds, score_outputs  # noqa: E402
from fieldwise.scoring._types import ModelResult  # noqa: E402
from fieldwise.tasks import Example, load_task  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--models", type=int, default=3)
    ap.add_argument("--bootstrap", type=int, default=1000)
    args = ap.parse_args()
    task = load_task("isaf")
    lines = [json.loads(line) for line in DEV.open(encoding="utf-8") if line.strip()]
    examples = []
    for i in range(args.rows):
        row = dict(lines[i % len(lines)])
        text = row.pop("text")
        row.pop("id")
        examples.append(Example(f"row-{i:06d}", text, row))
    golds = [ex.gold or {} for ex in examples]
    rng = random.Random(0)
    outputs = [[perturb(g, 0.02 + 0.06 * m, rng) for g in golds] for m in range(args.models)]
    t0, c0 = time.perf_counter(), time.process_time()
    table = prepare_golds(task, golds)
    scores = [score_outputs(task, table, out, n_boot=args.bootstrap) for out in outputs]
    scoring_s, scoring_cpu = time.perf_counter() - t0, time.process_time() - c0
    results = [
        ModelResult(
            f"model-{m}",
            f"fake/model-{m}",
            KINDS[m % 4],
            out,
            [None] * len(out),
            s,
            {"latency_s_mean": 0.5 + m},
        )
        for m, (out, s) in enumerate(zip(outputs, scores, strict=True))
    ]
    with tempfile.TemporaryDirectory() as tmp:
        t0, c0 = time.perf_counter(), time.process_time()
        path = write_report(task, examples, results, Path(tmp), meta={"task": "isaf"})
        report_s, report_cpu = time.perf_counter() - t0, time.process_time() - c0
        sizes = {
            p.relative_to(tmp).as_posix(): p.stat().st_size
            for p in Path(tmp).rglob("*")
            if p.is_file() and not p.name.endswith(".png")
        }
        html = path.read_text(encoding="utf-8")
        note = html[html.find('class="rows-note"') :][:400]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "rows": args.rows,
                "models": args.models,
                "bootstrap": args.bootstrap,
                "scoring_s": round(scoring_s, 2),
                "scoring_cpu_s": round(scoring_cpu, 2),
                "report_s": round(report_s, 2),
                "report_cpu_s": round(report_cpu, 2),
                "files_bytes": sizes,
                "peak_rss_mib": round(peak),
                "note": note.split(">", 1)[-1].split("</", 1)[0].strip(),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
