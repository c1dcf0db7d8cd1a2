"""How fast is scoring compared with merely parsing the outputs?

Builds 724 gold rows by cycling the real labelled rows in ../shared/data/isaf/dev.jsonl,
makes 10 synthetic "models" whose outputs are perturbed JSON of those golds (plus some
garbage, fenced, non-object, empty and abstaining outputs), and times:

- ``json.loads`` of all 7,240 outputs (the floor: any scorer must at least parse);
- scoring all 10 models under both profiles without a bootstrap, and with 1,000 resamples.

Targets: each scoring run < 1 s and <= 3x the ``json.loads`` time.
Run: ``PYTHONPATH=src python bench/scoring_speed.py [--data PATH] [--repeats 15]``
(``--synthetic`` builds ISAF-shaped golds from the enums where the data is absent.)
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fieldwise.scoring import prepare_golds, score_outputs
from fieldwise.scoring.stats import row_resamples
from fieldwise.tasks import load_task

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "isaf" / "dev.jsonl"
ROWS, MODELS = 724, 10


def load_golds(path: Path) -> list[dict[str, Any]]:
    base = []
    with path.open(encoding="utf-8") as lines:  # not splitlines(): texts hold U+2028
        rows = [json.loads(line) for line in lines if line.strip()]
    for row in rows:
        row.pop("text", None)
        row.pop("id", None)
        base.append(row)
    return [base[i % len(base)] for i in range(ROWS)]


def synthetic_golds() -> list[dict[str, Any]]:
    """ISAF-shaped gold rows from the task's enums, for machines without the real data."""
    from fieldwise.tasks.isaf import EVENT_TYPES, PROVINCES, TARGET_GROUPS

    rng = random.Random(0)
    rows = []
    for _ in range(ROWS):
        killed, captured = rng.choice([0, 0, 1, 2, 3]), rng.choice([0, 1, 2, 3, 5])
        rows.append(
            {
                "name": str(rng.randint(1, 9)),
                "start_date": f"201{rng.randint(0, 3)}-{rng.randint(1, 12):02d}-"
                f"{rng.randint(1, 28):02d}",
                "event_type": [rng.choice(EVENT_TYPES)],
                "province": [rng.choice(PROVINCES)],
                "target_group": [rng.choice(TARGET_GROUPS)],
                "min_killed": killed,
                "min_captured": captured,
                "killq": killed > 0,
                "captureq": captured > 0,
                "killcaptureraid": rng.random() < 0.3,
                "airstrike": rng.random() < 0.1,
                "noshotsfired": rng.random() < 0.1,
                "min_leaders_killed": min(killed, rng.choice([0, 0, 1])),
                "min_leaders_captured": min(captured, rng.choice([0, 0, 1])),
            }
        )
    return rows


def perturb(gold: dict[str, Any], rng: random.Random) -> str | None:
    """One synthetic output: mostly a slightly wrong copy of the gold, sometimes junk."""
    roll = rng.random()
    if roll < 0.03:
        return "Sorry, I cannot help with that."
    if roll < 0.05:
        return "```json\n" + json.dumps(gold) + "\n```"
    if roll < 0.06:
        return rng.choice(["1", "[]", '"text"'])
    if roll < 0.07:
        return rng.choice([None, "", "\n\n"])
    pred = dict(gold)
    for _ in range(rng.randint(0, 3)):
        key = rng.choice(list(pred))
        value = pred[key]
        if isinstance(value, bool):
            pred[key] = not value
        elif isinstance(value, int):
            pred[key] = rng.choice([value + 1, str(value), float(value), None])
        elif isinstance(value, list):
            pred[key] = rng.choice([value + ["taliban"], value[0] if value else "", ["unknown"]])
        elif key == "start_date":
            pred[key] = rng.choice(["2013-02-30", "unknown", value])
        if rng.random() < 0.1:
            pred.pop(key, None)
    return json.dumps(pred, indent=rng.choice([None, 2]))


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    """(wall, CPU) seconds for one call. CPU time is the steadier number on a shared box."""
    row_resamples.cache_clear()  # every run pays for its own resampling
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def scoring_cases(
    task: Any, golds: list[dict[str, Any]], outputs: list[list[str | None]]
) -> dict[str, Callable[[], Any]]:
    """The floor (``json.loads`` of every output) and scoring every model under both
    profiles without and with a 1,000-resample bootstrap (gold prepared once per run)."""
    flat = [o for model in outputs for o in model]

    def loads_only() -> None:
        for raw in flat:
            try:  # noqa: SIM105 (contextlib.suppress would slow the baseline down)
                json.loads(raw)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                pass

    def score(n_boot: int) -> Callable[[], Any]:
        def run() -> Any:
            table = prepare_golds(task, golds)
            return [score_outputs(task, table, out, n_boot=n_boot) for out in outputs]

        return run

    return {
        "json.loads only": loads_only,
        "score, both profiles, no bootstrap": score(0),
        "score, both profiles, 1000 resamples": score(1000),
    }


def measure(
    cases: dict[str, Callable[[], object]], repeats: int
) -> dict[str, list[tuple[float, float]]]:
    """(wall, CPU) per run of every case, interleaved so each ratio compares like with like."""
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in cases}
    for _ in range(repeats):
        for name, fn in cases.items():
            runs[name].append(timed(fn))
    return runs


def print_runs(runs: dict[str, list[tuple[float, float]]], base: str = "json.loads only") -> None:
    """Medians, and median ratios to the ``base`` case's run of the same round."""
    floor = runs[base]
    print(f"{'case':38s} {'wall ms':>8s} {'cpu ms':>8s} {'ratio wall':>10s} {'ratio cpu':>9s}")
    for name, times in runs.items():
        wall = statistics.median(t[0] for t in times)
        cpu = statistics.median(t[1] for t in times)
        r_wall = statistics.median(t[0] / b[0] for t, b in zip(times, floor, strict=True))
        r_cpu = statistics.median(t[1] / b[1] for t, b in zip(times, floor, strict=True))
        print(f"{name:38s} {wall * 1e3:8.1f} {cpu * 1e3:8.1f} {r_wall:9.2f}x {r_cpu:8.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument(
        "--synthetic", action="store_true", help="enum-built golds instead of dev.jsonl"
    )
    args = parser.parse_args()
    task = load_task("isaf")
    golds = synthetic_golds() if args.synthetic else load_golds(args.data)
    outputs = [
        [perturb(g, random.Random(m * 100_003 + i)) for i, g in enumerate(golds)]
        for m in range(MODELS)
    ]
    flat = [o for model in outputs for o in model]

    def score_dicts() -> object:  # no shared GoldTable: golds prepared per model
        return [score_outputs(task, golds, out, n_boot=0) for out in outputs]

    cases = scoring_cases(task, golds, outputs)
    cases["score, no bootstrap, dict golds"] = score_dicts
    runs = measure(cases, args.repeats)
    print(f"outputs: {len(flat)} ({MODELS} models x {ROWS} rows), repeats: {args.repeats}")
    print_runs(runs)
    score = cases["score, both profiles, no bootstrap"]
    ref = score()[0]["reference"]  # type: ignore[index]
    print(f"model 0 reference aggregate {ref.aggregate:.2f}, validity {ref.validity}")


if __name__ == "__main__":
    main()
