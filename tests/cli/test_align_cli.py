"""``fieldwise align`` end to end: files in, one evidence line per row out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.helpers import cli

ROOT = Path(__file__).resolve().parents[2]
NESTED = f"{ROOT / 'tests' / 'nested_task.py'}:INVOICE"

TEXT_A = "Invoice INV-1001 from Acme Widgets GmbH, issued 5 March 2024.\nA-1 bolts: 4 x 0.25"
# "Invoice " 0-8, "INV-1001" 8-16, " from " 16-22, "Acme Widgets GmbH" 22-39, ", issued "
# 39-48, "5 March 2024" 48-60, "." 60, "\n" 61; line 2 starts at 62: "A-1" 62-65, " bolts: "
# 65-73 ("bolts" 66-71), "4" 73-74, " x " 74-77, "0.25" 77-81
TEXT_B = "Rechnung Nr. 77 von Globex."


def _gold(number: str, name: str, items: list[dict[str, object]]) -> dict[str, object]:
    return {
        "number": number,
        "issued": "2024-03-05",
        "currency": "EUR",
        "vendor": {"name": name, "country": "de", "vat_id": None},
        "line_items": items,
        "po_number": None,
        "note": "",
    }


def _write(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    item = {"sku": "A-1", "description": "bolts", "quantity": 4, "unit_price": 0.25, "total": 1.0}
    data = _write(
        tmp_path / "data.jsonl",
        [
            {"id": "a", "text": TEXT_A, **_gold("INV-1001", "Acme Widgets GmbH", [item])},
            {"id": "b", "text": TEXT_B, **_gold("77", "Globex", [])},
        ],
    )
    made_up = {**item, "sku": "Z-9", "quantity": 40}
    preds = _write(
        tmp_path / "preds.jsonl",
        [
            {
                "id": "a",
                "output": json.dumps(_gold("inv 1001", "Acme Widgets Ltd", [made_up])),
            },
            {"id": "b", "output": "I could not find an invoice."},
        ],
    )
    return data, preds


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_aligns_each_prediction_line_by_line(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, preds = files
    out = tmp_path / "evidence.jsonl"
    code, _, err = cli(
        capsys, "align", "--task", NESTED, "--data", str(data), "--predictions", str(preds),
        "--out", str(out),
    )  # fmt: skip
    assert code == 0, err
    first, second = _lines(out)
    assert first["id"] == "a" and first["parse"] == "ok"
    assert first["evidence"] == {
        "number": {"start": 8, "end": 16, "status": "normalised"},
        "issued": {"start": 48, "end": 60, "status": "normalised"},
        # 2 of 3 words: under the 0.75 coverage a fuzzy match needs
        "vendor.name": {"start": None, "end": None, "status": "none"},
        "line_items[0].sku": {"start": None, "end": None, "status": "none"},
        "line_items[0].description": {"start": 66, "end": 71, "status": "exact"},
        "line_items[0].quantity": {"start": None, "end": None, "status": "none"},
        "line_items[0].unit_price": {"start": 77, "end": 81, "status": "exact"},
        "line_items[0].total": {"start": None, "end": None, "status": "none"},
        "currency": {"start": None, "end": None, "status": "none"},
        # a two-letter code is found only through aliases the task declares
        "vendor.country": {"start": None, "end": None, "status": "none"},
    }
    assert second == {"id": "b", "parse": "invalid_json", "evidence": {}}
    assert "aligned 10 predicted values in 2 rows" in err


def test_without_predictions_it_aligns_the_gold(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, _ = files
    out = tmp_path / "gold.jsonl"
    code, _, err = cli(capsys, "align", "--task", NESTED, "--data", str(data), "--out", str(out))
    assert code == 0, err
    first, second = _lines(out)
    assert first["evidence"]["line_items[0].quantity"] == {  # type: ignore[index]
        "start": 73,
        "end": 74,
        "status": "exact",
    }
    assert second["evidence"] == {
        "number": {"start": 13, "end": 15, "status": "exact"},
        "issued": {"start": None, "end": None, "status": "none"},
        "vendor.name": {"start": 20, "end": 26, "status": "exact"},
        "currency": {"start": None, "end": None, "status": "none"},
        "vendor.country": {"start": None, "end": None, "status": "none"},
    }


def test_imported_prediction_files_work_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An import-shaped line (output as a JSON object, not a string) on the ISAF task."""
    text = "KABUL, Afghanistan (March 3, 2011)\nForces detained two men in Kandahar province."
    data = _write(tmp_path / "d.jsonl", [{"id": "r1", "text": text}])
    output = {"province": ["kandahar", "helmand"], "min_captured": 2, "killq": False}
    preds = _write(
        tmp_path / "p.jsonl", [{"id": "r1", "output": output}, {"id": "zz", "output": None}]
    )
    out = tmp_path / "e.jsonl"
    code, _, err = cli(
        capsys, "align", "--data", str(data), "--predictions", str(preds), "--out", str(out)
    )
    assert code == 0, err
    assert "1 predictions have ids not in --data" in err
    (line,) = _lines(out)
    assert line["evidence"] == {
        "province[0]": {"start": 62, "end": 70, "status": "normalised"},
        "province[1]": {"start": None, "end": None, "status": "none"},
        "min_captured": {"start": 51, "end": 54, "status": "normalised"},
    }


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--predictions", "nope.jsonl"], "predictions file not found"),
        (["--predictions", "dup.jsonl"], "id 'a' repeats line 1"),
        ([], "has unlabelled rows and no --predictions"),
        (["--predictions", "dup.jsonl", "--out", "texts.jsonl"], "would be overwritten"),
    ],
)
def test_bad_input_is_a_one_line_error(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    extra: list[str],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    _write(tmp_path / "texts.jsonl", [{"id": "a", "text": "some text"}])
    _write(tmp_path / "dup.jsonl", [{"id": "a", "output": "{}"}, {"id": "a", "output": "{}"}])
    args = ["align", "--data", "texts.jsonl", "--out", "o.jsonl", *extra]
    code, _, err = cli(capsys, *args)
    assert code == 2 and message in err and "Traceback" not in err
