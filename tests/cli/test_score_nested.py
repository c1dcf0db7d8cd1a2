"""``fieldwise score`` on a nested task: ``--json`` keeps rows/aggregate/fields and adds
every leaf path and each records field's precision/recall/F1; the table shows them too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.helpers import cli
from tests.nested_task import invoice, item

TASK = str(Path(__file__).resolve().parents[1] / "nested_task.py") + ":INVOICE"


def _files(tmp_path: Path) -> tuple[Path, Path]:
    golds = [invoice(number=f"INV-{i}") for i in range(3)]
    gold = tmp_path / "gold.jsonl"
    gold.write_text(
        "".join(
            json.dumps({"id": str(i), "text": f"invoice {i}", **g}) + "\n"
            for i, g in enumerate(golds)
        )
    )
    preds = [
        golds[0],
        {**golds[1], "line_items": [item("A-1", "steel bolts, 10 mm", 100, 0.25)]},
        "not json",
    ]
    pred = tmp_path / "pred.jsonl"
    pred.write_text(
        "".join(
            json.dumps({"id": str(i), "output": p if isinstance(p, str) else json.dumps(p)}) + "\n"
            for i, p in enumerate(preds)
        )
    )
    return gold, pred


def test_score_json_has_paths_and_records(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gold, pred = _files(tmp_path)
    code, out, err = cli(
        capsys, "score", "-g", str(gold), "-p", str(pred), "-t", TASK, "--json", "--bootstrap", "0"
    )
    assert code == 0, err
    payload = json.loads(out)
    assert payload["rows"] == 3
    assert payload["fields"]["line_items"] == pytest.approx((1 + 0.5 + 0) / 3)  # F1 2/(1+3)
    assert payload["paths"]["line_items[].sku"] == pytest.approx((1 + 1 / 3 + 0) / 3)
    assert payload["paths"]["vendor.name"] == pytest.approx(2 / 3)
    assert payload["records"]["line_items"]["recall"] == pytest.approx((1 + 1 / 3 + 0) / 3)
    assert payload["records"]["line_items"]["precision"] == 1.0  # the unparsed row has none


def test_score_table_lists_paths(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gold, pred = _files(tmp_path)
    code, out, err = cli(capsys, "score", "-g", str(gold), "-p", str(pred), "-t", TASK)
    assert code == 0, err
    assert "line_items[].unit_price" in out and "records fields" in out
