from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fieldwise.data import load_examples
from fieldwise.errors import UserError
from fieldwise.tasks import load_task

ISAF = load_task("isaf")

ROW = {
    "id": "a1",
    "text": "KABUL, Afghanistan (Jan. 5, 2011) A security force detained two insurgents.",
    "name": "x",
    "start_date": "2011-01-04",
    "event_type": ["detention"],
    "province": ["kabul"],
    "target_group": ["taliban"],
    "min_killed": 0,
    "min_captured": 2,
    "killq": False,
    "captureq": True,
    "killcaptureraid": False,
    "airstrike": False,
    "noshotsfired": False,
    "min_leaders_killed": 0,
    "min_leaders_captured": 0,
}


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_jsonl_roundtrip_and_fingerprint_stable(tmp_path: Path) -> None:
    rows = [ROW, {**ROW, "id": "a2", "text": ROW["text"] + " More."}]
    ds = load_examples(ISAF, write_jsonl(tmp_path / "d.jsonl", rows))
    assert [e.id for e in ds.examples] == ["a1", "a2"]
    assert ds.labelled and ds.examples[0].gold["min_captured"] == 2
    again = load_examples(ISAF, write_jsonl(tmp_path / "e.jsonl", rows))
    assert again.fingerprint == ds.fingerprint
    changed = load_examples(
        ISAF, write_jsonl(tmp_path / "f.jsonl", [ROW, {**rows[1], "min_killed": 1}])
    )
    assert changed.fingerprint != ds.fingerprint


def test_parquet_and_csv(tmp_path: Path) -> None:
    pq.write_table(pa.Table.from_pylist([ROW]), tmp_path / "d.parquet")
    assert load_examples(ISAF, tmp_path / "d.parquet").examples[0].gold == {
        k: v for k, v in ROW.items() if k not in ("id", "text")
    }
    with (tmp_path / "d.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(ROW))
        writer.writeheader()
        writer.writerow(
            {k: json.dumps(v) if isinstance(v, list | bool) else v for k, v in ROW.items()}
        )
    gold = load_examples(ISAF, tmp_path / "d.csv").examples[0].gold
    assert gold["province"] == ["kabul"] and gold["captureq"] is True and gold["min_captured"] == 2


def test_malformed_row_names_file_line_and_field(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "bad.jsonl", [ROW, {**ROW, "id": "b", "min_killed": "many"}])
    with pytest.raises(UserError, match=r"bad\.jsonl:2: field 'min_killed'"):
        load_examples(ISAF, path)
    ds = load_examples(ISAF, path, skip_invalid=True)
    assert len(ds) == 1 and len(ds.skipped) == 1


def test_invalid_json_line_and_missing_label(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(ROW) + "\n{not json\n")
    with pytest.raises(UserError, match=r":2: invalid JSON"):
        load_examples(ISAF, path)
    partial = {k: v for k, v in ROW.items() if k != "airstrike"}
    with pytest.raises(UserError, match="field 'airstrike': missing label"):
        load_examples(ISAF, write_jsonl(tmp_path / "p.jsonl", [partial]))


def test_unlabelled_rows_and_generated_ids(tmp_path: Path) -> None:
    ds = load_examples(ISAF, write_jsonl(tmp_path / "u.jsonl", [{"text": "hello"}, {"text": "b"}]))
    assert not ds.labelled and [e.id for e in ds.examples] == ["row-00001", "row-00002"]


def test_duplicate_ids_rejected(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="duplicate id"):
        load_examples(ISAF, write_jsonl(tmp_path / "d.jsonl", [ROW, ROW]))


def test_missing_file_and_unknown_type(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="not found"):
        load_examples(ISAF, tmp_path / "nope.jsonl")
    (tmp_path / "x.xml").write_text("<a/>")
    with pytest.raises(UserError, match="unsupported"):
        load_examples(ISAF, tmp_path / "x.xml")


def test_hub_loader_maps_raw_columns(tmp_path: Path) -> None:
    """The real hub path (datasets.load_dataset) on a local folder in the hub's raw shape."""
    raw = {
        "text": ROW["text"],
        "StartDate": "2011-01-04",
        "eventtype": "detention,insurgentskilled",
        "province": "kabul",
        "targetgroup": "",
        "minkilled": "1",
        "mincaptured": "2",
        "killq": "true",
        "captureq": "true",
        "killcaptureraid": "false",
        "airstrike": "false",
        "noshotsfired": "false",
        "minleaderskilled": "0",
        "minleaderscaptured": "1",
        "name": "headline",
    }
    folder = tmp_path / "isafpressreleases"
    folder.mkdir()
    write_jsonl(folder / "test.jsonl", [raw, {**raw, "text": "Another release."}])
    ds = load_examples(ISAF, f"hub:{folder}:test")
    gold = ds.examples[0].gold
    assert gold["event_type"] == ["detention", "insurgentskilled"]
    assert gold["target_group"] == [""]
    assert gold["killq"] is True and gold["killcaptureraid"] is False
    assert gold["min_captured"] == 2 and gold["min_leaders_captured"] == 1
    assert ds.examples[1].id == "test-00001"


def test_packaged_sample_loads() -> None:
    ds = load_examples(ISAF, "sample")
    assert len(ds) >= 100 and ds.labelled
