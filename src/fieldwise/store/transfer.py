"""Move predictions out of the store: JSONL, Parquet, a Hub dataset.

(Bringing outputs in is :mod:`fieldwise.store.imports`.)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fieldwise.errors import UserError
from fieldwise.store._store import Store

__all__ = ["export_predictions", "export_rows", "to_hf_dataset"]


def export_rows(store: Store, labels: list[str] | None = None) -> list[dict[str, Any]]:
    """Flat prediction rows (one per model × example) for JSONL/Parquet/Dataset export."""
    rows = []
    for label in labels or store.labels():
        for rec in store.predictions_for_label(label):
            rows.append(
                {
                    "model": label,
                    "id": rec["example_id"],
                    "output": rec["output"],
                    "error": rec["error"],
                    "latency_s": rec["latency_s"],
                    "input_tokens": rec["input_tokens"],
                    "output_tokens": rec["output_tokens"],
                    "cost_usd": rec["cost_usd"],
                    "run_id": rec["run_id"],
                }
            )
    return rows


def export_predictions(
    store: Store, out: Path, labels: list[str] | None = None, push_to_hub: str | None = None
) -> int:
    """Write predictions to ``.jsonl`` or ``.parquet``; optionally push a Dataset to the Hub."""
    rows = export_rows(store, labels)
    if not rows:
        raise UserError("no predictions to export", hint="run `fieldwise run` or `predict` first")
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pylist(rows), out)
    elif out.suffix in (".jsonl", ".ndjson"):
        with out.open("w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    else:
        raise UserError(f"unsupported export type '{out.suffix}'", hint="use .jsonl or .parquet")
    if push_to_hub:
        to_hf_dataset(rows).push_to_hub(push_to_hub)
    return len(rows)


def to_hf_dataset(rows: list[dict[str, Any]]) -> Any:
    """A ``datasets.Dataset`` of prediction rows (for ``push_to_hub`` or further analysis)."""
    import datasets

    return datasets.Dataset.from_list(rows)
