"""The nested example project in ``examples/invoices``: schema inference, its data file
(labels that agree with the text), its generator and its project config."""

from __future__ import annotations

import json
from pathlib import Path

from fieldwise.config import load_config
from fieldwise.data.loading import load_examples
from fieldwise.data.splits import group_key, train_test_split
from fieldwise.tasks import load_task
from tests.tasks.examples import load_generator

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "invoices"
TASK = f"{EXAMPLE / 'task.py'}:INVOICES"


def test_nested_fields_are_inferred_from_the_schema() -> None:
    task = load_task(TASK)
    assert task.is_nested
    kinds = {s.path: (s.kind, s.metric.name, s.optional) for s in task.walk()}
    assert kinds["vendor"] == ("object", "object", False)
    assert kinds["vendor.country"] == ("label", "equal", True)
    assert kinds["vendor.vat_id"] == ("text", "exact", True)
    assert kinds["due_date"] == ("date", "date", True)
    assert kinds["line_items"] == ("records", "records", False)
    assert kinds["line_items[].description"] == ("text", "text_similarity", False)
    assert kinds["line_items[].sku"] == ("text", "exact", True)
    assert task.spec_at("line_items[].unit_price").metric.options.rel == 0.01
    assert (
        task.spec_at("total").metric.name == "number"
        and task.spec_at("total").metric.options.rel == 0.005
    )
    assert "gb" in task.spec_at("customer.country").labels and task.instructions


def test_data_loads_and_validates() -> None:
    task = load_task(TASK)
    ds = load_examples(task, EXAMPLE / "data.jsonl")
    assert len(ds) >= 150 and ds.labelled
    for ex in ds.examples:
        assert ex.gold is not None
        task.output_model.model_validate(ex.gold)
    golds = [ex.gold or {} for ex in ds.examples]
    assert any(g["due_date"] is None for g in golds) and any(g["due_date"] for g in golds)
    assert {len(g["line_items"]) for g in golds} >= {1, 2, 3, 4}
    assert any(i["sku"] is None for g in golds for i in g["line_items"])
    assert load_examples(task, "sample").fingerprint == ds.fingerprint
    train, test = train_test_split(ds.examples, 0.2, seed=0)
    assert not {group_key(e) for e in train} & {group_key(e) for e in test}


def test_labels_agree_with_text() -> None:
    for line in (EXAMPLE / "data.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        text = row["text"]
        for value in (row["invoice_number"], row["vendor"]["name"], row["customer"]["name"]):
            assert value in text
        assert (row["vendor"]["vat_id"] is None) or row["vendor"]["vat_id"] in text
        assert f"{row['total']:,.2f}" in text
        assert (row["due_date"] is None) == ("receipt" in text)
        for item in row["line_items"]:
            assert item["description"] in text
            assert f"{item['unit_price']:,.2f}" in text
            assert item["sku"] is None or item["sku"] in text


def test_config_resolves_relative_to_its_file() -> None:
    cfg = load_config(EXAMPLE / "fieldwise.yaml")
    assert load_task(cfg.resolve_task()).name == "invoices"
    assert Path(cfg.resolve(cfg.data.train) or "") == EXAMPLE / "data.jsonl"
    assert [m.spec for m in cfg.models] == ["baseline/auto"]


def test_generator_reproduces_the_data_file() -> None:
    rows = load_generator("invoices").build()
    built = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    assert built == (EXAMPLE / "data.jsonl").read_text(encoding="utf-8")
