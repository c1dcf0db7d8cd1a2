"""Nested gold through the data stage: JSONL, Parquet structs and CSV cells load into one
canonical shape, bad values name file, line and leaf path, exports round-trip, and the
prompt shows the nested schema."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from fieldwise.data import check_leakage, load_examples
from fieldwise.data.export import FORMATS, export_examples, read_export
from fieldwise.errors import UserError
from fieldwise.tasks import Example, load_task
from fieldwise.tasks.prompts import render_messages, render_target
from tests.nested_task import INVOICE, Invoice, invoice, item


def _rows() -> list[dict[str, Any]]:
    first = invoice()
    del first["vendor"]["vat_id"]  # omitted optional keys load as null
    del first["po_number"]
    second = invoice(number="INV-2", po_number="PO-7", line_items=[item("Z-9", "glue", 2, 3.5)])
    second["vendor"] = {"country": "fr", "name": "Colle SARL", "vat_id": None}  # any key order
    return [
        {"id": "a", "text": "Invoice INV-1001 from Acme Widgets GmbH", **first},
        {"id": "b", "text": "Invoice INV-2 from Colle SARL, PO-7", **second},
    ]


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_jsonl_nested_gold_is_canonical_and_validates(tmp_path: Path) -> None:
    ds = load_examples(INVOICE, _write_jsonl(tmp_path / "d.jsonl", _rows()))
    first, second = (ex.gold for ex in ds.examples)
    assert first is not None and second is not None
    assert first["vendor"] == {"name": "Acme Widgets GmbH", "country": "de", "vat_id": None}
    assert first["po_number"] is None
    assert list(second["vendor"]) == ["name", "country", "vat_id"]  # schema order
    assert second["line_items"] == [item("Z-9", "glue", 2, 3.5)]
    for gold in (first, second):
        Invoice.model_validate(gold)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r["line_items"][0].update(unit_price="cheap"), r"'line_items\[0\]\.unit_price'"),
        (lambda r: r["vendor"].pop("name"), r"'vendor\.name': field required, got nothing"),
        (lambda r: r["vendor"].update(country="xx"), r"'vendor\.country': input should be"),
        (
            lambda r: r.update(line_items={"sku": "A"}),
            r"'line_items': input should be a valid list",
        ),
    ],
)
def test_bad_nested_gold_names_file_line_and_leaf(
    tmp_path: Path, change: Any, message: str
) -> None:
    rows = _rows()
    change(rows[1])
    path = _write_jsonl(tmp_path / "bad.jsonl", rows)
    with pytest.raises(UserError, match=rf"bad\.jsonl:2: field {message}") as info:
        load_examples(INVOICE, path)
    assert "\n" not in str(info.value)


def test_parquet_structs_and_lists_of_structs_load_like_jsonl(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    rows = _rows()
    for row in rows:  # Parquet has real dates; every struct has all its keys
        row["issued"] = dt.date.fromisoformat(row["issued"])
        row["vendor"].setdefault("vat_id", None)
        row.setdefault("po_number", None)
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "d.parquet")
    parquet = load_examples(INVOICE, tmp_path / "d.parquet")
    jsonl = load_examples(INVOICE, _write_jsonl(tmp_path / "d.jsonl", _rows()))
    assert [e.gold for e in parquet.examples] == [e.gold for e in jsonl.examples]


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in row.items()}
            )
    return path


def test_csv_nested_cells_load_as_json_and_plain_text_is_an_error(tmp_path: Path) -> None:
    rows = [{**r, "po_number": r.get("po_number") or "", "note": ""} for r in _rows()]
    ds = load_examples(INVOICE, _write_csv(tmp_path / "ok.csv", rows))
    assert ds.examples[1].gold is not None
    assert ds.examples[1].gold["line_items"] == [item("Z-9", "glue", 2, 3.5)]
    rows[1]["vendor"] = "Colle SARL"
    with pytest.raises(UserError, match=r"bad\.csv:3: field 'vendor': expected an object") as info:
        load_examples(INVOICE, _write_csv(tmp_path / "bad.csv", rows))
    assert "as JSON" in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("fmt", FORMATS)
def test_exports_round_trip_nested_targets(tmp_path: Path, fmt: str) -> None:
    ds = load_examples(INVOICE, _write_jsonl(tmp_path / "d.jsonl", _rows()))
    out = tmp_path / f"{fmt}.jsonl"
    assert export_examples(INVOICE, ds.examples, fmt, out, eos_token="</s>") == 2
    records = read_export(out, fmt, eos_token="</s>")
    for ex, record in zip(ds.examples, records, strict=True):
        target = json.loads(record.target)
        assert target == ex.gold
        assert list(target["vendor"]) == ["name", "country", "vat_id"]
        Invoice.model_validate(target)
        assert record.messages[-1]["content"].endswith(ex.text + "\n\n") or (
            record.messages[-1]["content"] == ex.text
        )


def test_target_fills_omitted_nested_keys_with_null_in_schema_order() -> None:
    gold = invoice(vendor={"country": "de", "name": "Acme"})
    target = json.loads(render_target(INVOICE, gold))
    assert target["vendor"] == {"name": "Acme", "country": "de", "vat_id": None}
    assert list(target) == list(Invoice.model_fields)


def test_prompt_renders_nested_fields_indented() -> None:
    system = render_messages(INVOICE, Example("x", "text"))[0]["content"]
    assert '- "vendor" (object), with these fields:\n  - "name" (string)' in system
    assert '  - "vat_id" (string or null): VAT number, null when not printed' in system
    assert '- "line_items" (list of objects). Each item has these fields:\n  - "sku"' in system
    assert '- "po_number" (string or null)' in system
    flat = render_messages(load_task("isaf"), Example("x", "text"))[0]["content"]
    assert "these fields:\n  -" not in flat and "  - " not in flat


def test_leakage_check_runs_on_nested_tasks(tmp_path: Path) -> None:
    ds = load_examples(INVOICE, _write_jsonl(tmp_path / "d.jsonl", _rows()))
    report = check_leakage(ds.examples[:1], ds.examples)
    assert report.exact == [("a", "a")] and not report.near


def test_audit_reports_nested_leaves_by_path() -> None:
    from fieldwise.scoring import audit_labels

    ok = invoice()
    quirky = invoice(vendor={"name": "Acme", "country": "DE", "vat_id": None})
    quirky["line_items"][1]["quantity"] = "100"
    listless = invoice(line_items={"sku": "A-1"}, po_number=None)
    issues = audit_labels(INVOICE, [{"id": "ok", **ok}, {"id": "q", **quirky}, listless])
    found = {(i.field, i.kind, i.value): i for i in issues}
    assert set(found) == {
        ("vendor.country", "alias", "'DE'"),
        ("line_items[].quantity", "wrong_type", "'100'"),
        ("line_items", "wrong_type", "{'sku': 'A-1'}"),
    }
    assert found[("vendor.country", "alias", "'DE'")].suggestion == "'de'"
    assert found[("line_items[].quantity", "wrong_type", "'100'")].example_ids == ["q"]
    assert audit_labels(INVOICE, [ok]) == []  # nulls of optional fields are not issues
