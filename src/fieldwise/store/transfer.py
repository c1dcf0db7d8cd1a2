"""Move predictions in and out of the store.

Imports let outputs made elsewhere (another team's JSONL, a Hub dataset with a per-row
``predictions`` dict as the published ISAF comparison used) sit beside our own models
and be scored and reported the same way.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fieldwise._hashing import prediction_key
from fieldwise.data.splits import normalise_text
from fieldwise.errors import UserError
from fieldwise.store._store import PredictionRow, Store
from fieldwise.tasks import Example


def import_identity(label: str) -> dict[str, Any]:
    """The identity under which imported outputs are keyed (no model to re-run)."""
    return {"provider": "import", "name": label}


def _match(examples: list[Example]) -> tuple[dict[str, Example], dict[str, Example]]:
    return {e.id: e for e in examples}, {normalise_text(e.text): e for e in examples}


def check_label_free(store: Store, labels: list[str], replace: bool = False) -> None:
    """Refuse to import under the label of a registered model that is not an import (a
    fine-tune's registration would be replaced by the file's outputs) unless ``replace``."""
    taken = {m["label"]: m["spec"] for m in store.models()}
    for label in labels:
        spec = taken.get(label)
        if spec is not None and spec != f"import/{label}" and not replace:
            raise UserError(
                f"'{label}' is already registered as {spec}; importing would replace it",
                hint="choose another --name, or pass --replace to replace it",
            )


def import_jsonl(
    store: Store, label: str, path: Path, examples: list[Example], replace: bool = False
) -> int:
    """Import ``{"id", "output"}`` lines (``output`` a raw string or null) as model ``label``
    (refusing a label registered to another model unless ``replace``)."""
    check_label_free(store, [label], replace)
    by_id, _ = _match(examples)
    rows: list[PredictionRow] = []
    ident = import_identity(label)
    for where, example_id, output in read_prediction_lines(path):
        example = by_id.get(example_id)
        if example is None:
            raise UserError(f"{where}: id '{example_id}' is not in the dataset")
        rows.append(PredictionRow(prediction_key(ident, example), example.id, output))
    store.register_model(label, f"import/{label}", "imported", {"source": str(path)})
    store.save_predictions(None, label, rows)
    return len(rows)


def read_prediction_lines(path: Path) -> Iterator[tuple[str, str, str | None]]:
    """``(where, id, output)`` for each ``{"id", "output"}`` line of a predictions JSONL,
    ``where`` being ``path:line`` for error messages; the output as raw text (see
    :func:`_as_output`)."""
    if not path.is_file():
        raise UserError(f"predictions file not found: {path}")
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            where = f"{path}:{lineno}"
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise UserError(f"{where}: invalid JSON ({exc.msg})") from exc
            if not isinstance(rec, dict) or "id" not in rec:
                raise UserError(f"{where}: expected an object with 'id' and 'output'")
            yield where, str(rec["id"]), _as_output(rec.get("output"), f"{where}: output")


def import_prediction_dicts(
    store: Store,
    records: list[dict[str, Any]],
    examples: list[Example],
    *,
    source: str,
    kinds: dict[str, str] | None = None,
) -> dict[str, int]:
    """Import rows shaped like the published comparison: ``text`` (or ``id``) plus a
    ``predictions`` dict of model name → raw output. Returns rows imported per model."""
    by_id, by_text = _match(examples)
    per_model: dict[str, list[PredictionRow]] = {}
    for i, rec in enumerate(records):
        example = by_id.get(str(rec.get("id"))) or by_text.get(
            normalise_text(str(rec.get("text", "")))
        )
        if example is None:
            continue
        preds = rec.get("predictions")
        if isinstance(preds, str):
            preds = json.loads(preds)
        if not isinstance(preds, dict):
            raise UserError(f"{source} row {i + 1}: 'predictions' must be a dict of model → output")
        for label, output in preds.items():
            output = _as_output(output, f"{source} row {i + 1}: predictions.{label}")
            ident = import_identity(label)
            per_model.setdefault(label, []).append(
                PredictionRow(prediction_key(ident, example), example.id, output)
            )
    if not per_model:
        raise UserError(f"no rows of {source} match the dataset (by id or text)")
    check_label_free(store, list(per_model))
    for label, rows in per_model.items():
        kind = (kinds or {}).get(label, "imported")
        store.register_model(label, f"import/{label}", kind, {"source": source})
        store.save_predictions(None, label, rows)
    return {label: len(rows) for label, rows in per_model.items()}


def _as_output(value: Any, where: str) -> str | None:
    """An imported output as raw text: strings as they are, JSON values (a model that
    answered with an object) as their JSON text, as if the model had written it."""
    if value is None or isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        raise UserError(f"{where}: not text or JSON ({type(value).__name__})") from None


def load_prediction_records(source: str) -> list[dict[str, Any]]:
    """Rows from a local JSONL/Parquet file or ``hub:OWNER/NAME[:SPLIT]``."""
    if source.startswith("hub:"):
        import datasets

        name, sep, split = source[4:].rpartition(":")
        if not sep:
            name, split = source[4:], "test"
        try:
            return [dict(r) for r in datasets.load_dataset(name, split=split)]
        except Exception as exc:  # noqa: BLE001
            raise UserError(f"cannot load '{name}' split '{split}': {exc}") from exc
    path = Path(source)
    if not path.is_file():
        raise UserError(f"file not found: {path}")
    if path.suffix == ".parquet":
        from fieldwise.data._parquet import parquet_rows

        return list(parquet_rows(path))
    try:
        return [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}: invalid JSON line ({exc.msg})") from exc


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
