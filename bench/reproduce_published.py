"""Does fieldwise's reference profile reproduce the published ISAF numbers?

Two checks, both through the real scoring code (``score_outputs``):

1. Aggregates. ``published_scores.json`` gives each model's per-field totals out of 724.
   For each model we build 724 synthetic outputs against 724 gold rows (the labelled
   dev rows, cycled) such that field j is right on exactly its published total of rows
   and wrong elsewhere, score them, and compare the aggregate with the published one
   to 2 decimals.
2. The row-0 vector: the 10 published raw outputs for isaf-test-0000 against its gold.

Run: ``PYTHONPATH=src python bench/reproduce_published.py [--data DIR]``
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path
from typing import Any

from fieldwise.scoring import score_outputs
from fieldwise.tasks import load_task

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "isaf"


def wrong_value(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, list):
        return ["__wrong__"]
    return "1900-01-01"


def synthetic_outputs(golds: list[dict[str, Any]], totals: dict[str, int]) -> list[str]:
    """Outputs right on field f for exactly the first ``totals[f]`` rows."""
    if not any(totals.values()):
        return ["1"] * len(golds)  # the published model with no usable output
    outputs = []
    for i, gold in enumerate(golds):
        pred = copy.deepcopy(gold)
        for field, total in totals.items():
            if i >= total:
                pred[field] = wrong_value(gold[field])
        outputs.append(json.dumps(pred))
    return outputs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    task = load_task("isaf")
    published = json.loads((args.data / "published_scores.json").read_text())
    rows = published["rows"]
    with (args.data / "dev.jsonl").open(encoding="utf-8") as lines:
        base = [json.loads(line) for line in lines if line.strip()]
    for row in base:
        row.pop("text", None)
    golds = [base[i % len(base)] for i in range(rows)]

    print("| model | published | fieldwise | match |\n| --- | ---: | ---: | --- |")
    failures = 0
    for model, want in sorted(published["aggregate_0_100"].items(), key=lambda kv: -kv[1]):
        totals = {f: published["per_field"][f][model] for f in published["fields"]}
        outputs = synthetic_outputs(golds, totals)
        ref = score_outputs(task, golds, outputs, profiles=("reference",), n_boot=0)["reference"]
        got_totals = {f: round(ref.fields[f] * rows) for f in totals}
        ok = round(ref.aggregate, 2) == round(want, 2) and got_totals == totals
        failures += not ok
        print(f"| {model} | {want:.2f} | {ref.aggregate:.2f} | {'yes' if ok else 'NO'} |")

    row0 = json.loads((args.data / "published_predictions_row0.json").read_text())
    with (args.data / "dev.jsonl").open(encoding="utf-8") as lines:
        gold0 = json.loads(next(lines))
    print("\nrow isaf-test-0000 (reference | strict aggregate, fields below 1 under reference):")
    print("| model | status | reference | strict | reference misses |")
    print("| --- | --- | ---: | ---: | --- |")
    for model, raw in row0["predictions"].items():
        scores = score_outputs(task, [gold0], [raw], n_boot=0)
        ref, strict = scores["reference"], scores["strict"]
        status = next(k for k, v in ref.validity.items() if v)
        misses = [f for f, v in ref.fields.items() if v < 1]
        missed = ", ".join(misses) if len(misses) < 13 else "all 13"
        print(f"| {model} | {status} | {ref.aggregate:.2f} | {strict.aggregate:.2f} | {missed} |")
    print(f"\n{'all aggregates reproduced' if not failures else f'{failures} MISMATCHES'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
