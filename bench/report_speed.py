"""How long ``write_report`` takes, and how big the page is, for 724 rows x 10 models.

Gold rows come from the shared ISAF dev file (cycled to 724 rows); each synthetic model
answers with the gold JSON perturbed at its own error rate, plus some invalid JSON and
missing outputs, so every section of the report has real work to do.

    PYTHONPATH=src python bench/report_speed.py [--rows 724] [--models 10] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from pathlib import Path

from fieldwise.report import write_report
from fieldwise.scoring import prepare_golds, score_outputs
from fieldwise.scoring._types import ModelResult
from fieldwise.tasks import Example, load_task

DEV = Path(__file__).resolve().parents[2] / "shared" / "data" / "isaf" / "dev.jsonl"
KINDS = ("finetune", "api", "baseline", "imported")


def perturb(gold: dict, rate: float, rng: random.Random) -> str | None:
    roll = rng.random()
    if roll < rate * 0.05:
        return None
    if roll < rate * 0.1:
        return "```json\n" + json.dumps(gold) + "\n```"
    out = dict(gold)
    for key, value in gold.items():
        if rng.random() >= rate:
            continue
        if isinstance(value, bool):
            out[key] = not value
        elif isinstance(value, int):
            out[key] = value + rng.choice((1, -1, 2))
        elif isinstance(value, list):
            out[key] = value + ["kabul"] if rng.random() < 0.5 else value[1:]
        elif key == "start_date":
            out[key] = value[:-2] + f"{(int(value[-2:]) % 28) + 1:02d}"
    return json.dumps(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=724)
    ap.add_argument("--models", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--data", type=Path, default=DEV, help="ISAF rows (default: shared dev)")
    args = ap.parse_args()
    task = load_task("isaf")
    lines = [
        json.loads(line)
        for line in args.data.read_text(encoding="utf-8").split("\n")
        if line.strip()
    ]
    examples = []
    for i in range(args.rows):
        row = dict(lines[i % len(lines)])
        text = row.pop("text")
        examples.append(Example(f"{row.pop('id')}-{i}", text, row))
    golds = [ex.gold or {} for ex in examples]
    table = prepare_golds(task, golds)
    rng = random.Random(0)
    results = []
    for m in range(args.models):
        rate = 0.02 + 0.04 * m
        outputs = [perturb(g, rate, rng) for g in golds]
        scores = score_outputs(task, table, outputs)
        results.append(
            ModelResult(
                f"model-{m}",
                f"fake/model-{m}",
                KINDS[m % 4],
                outputs,
                [None] * len(outputs),
                scores,
                {"latency_s_mean": 0.5 + m, "cost_usd": 0.01 * m},
            )
        )
    times, cpu = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            path = write_report(task, examples, results, Path(tmp), meta={"task": "isaf"})
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        size = path.stat().st_size
        charts = sum(p.stat().st_size for p in (Path(tmp) / "charts").glob("*.png"))
    print(f"rows={args.rows} models={args.models} runs={[round(t, 2) for t in times]}")
    print(
        f"median {statistics.median(times):.2f} s (CPU {statistics.median(cpu):.2f} s); "
        f"html {size / 1e6:.2f} MB; "
        f"charts {charts / 1e3:.0f} kB"
    )


if __name__ == "__main__":
    main()
