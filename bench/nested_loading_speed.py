"""Loading nested gold: rows per second for JSONL and Parquet, against ``json.loads``.

Every nested value is validated by the schema's Pydantic type and dumped back into the
canonical shape, which costs more than the flat path's per-field checks. This measures
how much, on the invoices example repeated to ``--rows`` rows (about 3 line items each),
and the flat ISAF sample repeated the same way for comparison.

    python bench/nested_loading_speed.py --rows 10000
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fieldwise.data import load_examples
from fieldwise.tasks import Task, load_task

ROOT = Path(__file__).resolve().parents[1]


def _rows(task: Task, source: str | Path, n: int) -> list[dict[str, Any]]:
    base = [
        {"id": ex.id, "text": ex.text, **(ex.gold or {})}
        for ex in load_examples(task, source).examples
    ]
    return [{**base[i % len(base)], "id": f"r{i}"} for i in range(n)]


def _median(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    import pyarrow as pa
    import pyarrow.parquet as pq

    tasks = {
        "invoices (nested)": (
            load_task(f"{ROOT / 'examples/invoices/task.py'}:INVOICES"),
            ROOT / "examples/invoices/data.jsonl",
        ),
        "isaf (flat)": (load_task("isaf"), "sample"),
    }
    with tempfile.TemporaryDirectory() as tmp:
        for name, (task, source) in tasks.items():
            rows = _rows(task, source, args.rows)
            jsonl = Path(tmp) / "d.jsonl"
            jsonl.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
            parquet = Path(tmp) / "d.parquet"
            pq.write_table(pa.Table.from_pylist(rows), parquet)
            lines = jsonl.read_text(encoding="utf-8").splitlines()
            base = _median(lambda lines=lines: [json.loads(x) for x in lines], args.repeats)
            for label, path in (("jsonl", jsonl), ("parquet", parquet)):
                took = _median(lambda t=task, p=path: load_examples(t, p), args.repeats)
                print(
                    f"{name:18} {label:8} {args.rows / took:9,.0f} rows/s "
                    f"({took:.2f} s, {took / base:.1f}x json.loads of the lines)"
                )


if __name__ == "__main__":
    main()
