"""The packaged ISAF sample: it loads, validates against the schema, and its labels agree
with its own text (the checks a hand-written label file most often fails)."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import re
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from fieldwise.data.loading import load_examples
from fieldwise.data.splits import group_key, train_test_split
from fieldwise.tasks.isaf import ISAF, PROVINCE_ALIASES, IsafEvent

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ISAF.sample_path
MONTHS = {
    m: i
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1
    )
}
HEADER_DATE = re.compile(r"\(([A-Z][a-z]+)\.? (\d{1,2}), (\d{4})\)")
NO_SHOTS = re.compile(r"no shots|not fire|without firing|without a shot|no shot", re.I)


@pytest.fixture(scope="module")
def rows() -> list[dict[str, Any]]:
    assert SAMPLE is not None and SAMPLE.is_file()
    with SAMPLE.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def test_size_ids_and_shape(rows: list[dict[str, Any]]) -> None:
    assert 200 <= len(rows) <= 300
    ids = [r["id"] for r in rows]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"sample-\d{4}", i) for i in ids)
    expected = {"id", "text"} | {f.name for f in ISAF.fields}
    assert all(set(r) == expected for r in rows)


def test_every_row_validates_against_the_schema(rows: list[dict[str, Any]]) -> None:
    for r in rows:
        event = IsafEvent.model_validate({k: v for k, v in r.items() if k not in ("id", "text")})
        assert event.start_date.isoformat() == r["start_date"]


def test_loads_through_the_data_loader(rows: list[dict[str, Any]]) -> None:
    ds = load_examples(ISAF, "sample")
    assert len(ds) == len(rows) and ds.labelled and not ds.skipped


def test_dates_in_range_and_not_after_the_release(rows: list[dict[str, Any]]) -> None:
    checked = 0
    for r in rows:
        day = dt.date.fromisoformat(r["start_date"])
        assert dt.date(2009, 1, 1) <= day <= dt.date(2013, 12, 31), r["id"]
        m = HEADER_DATE.search(r["text"])
        if m:
            released = dt.date(int(m[3]), MONTHS[m[1][:3].lower()], int(m[2]))
            assert 0 <= (released - day).days <= 7, r["id"]
            checked += 1
    assert checked > len(rows) // 2


def test_counts_and_flags_agree(rows: list[dict[str, Any]]) -> None:
    for r in rows:
        rid = r["id"]
        assert r["killq"] == (r["min_killed"] > 0), rid
        assert r["captureq"] == (r["min_captured"] > 0), rid
        assert r["min_leaders_killed"] <= r["min_killed"], rid
        assert r["min_leaders_captured"] <= r["min_captured"], rid
        assert r["airstrike"] == ("airstrike" in r["event_type"]), rid
        if "detention" in r["event_type"] or "captureandkill" in r["event_type"]:
            assert r["captureq"], rid
        if {"insurgentskilled", "captureandkill"} & set(r["event_type"]):
            assert r["killq"], rid
        if r["noshotsfired"]:
            assert NO_SHOTS.search(r["text"]), rid
        assert r["target_group"] == [""] or "" not in r["target_group"], rid
        assert len(set(r["province"])) == len(r["province"]), rid


def test_every_labelled_province_is_named_in_the_text(rows: list[dict[str, Any]]) -> None:
    spellings: dict[str, set[str]] = {"paktya": {"paktiya"}}  # ISAF's own spelling
    for alias, canonical in PROVINCE_ALIASES.items():
        spellings.setdefault(canonical, set()).add(alias)
    for r in rows:
        text = r["text"].lower()
        for prov in r["province"]:
            names = {prov.replace("_", " "), prov} | spellings.get(prov, set())
            assert any(n in text for n in names), (r["id"], prov)


def test_duplicated_texts_share_labels_and_stay_together(rows: list[dict[str, Any]]) -> None:
    by_text: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_text.setdefault(r["text"], []).append(r)
    dupes = [group for group in by_text.values() if len(group) > 1]
    assert 3 <= len(dupes) <= 6
    for group in dupes:
        labels = [{k: v for k, v in r.items() if k != "id"} for r in group]
        assert all(lab == labels[0] for lab in labels)
    train, test = train_test_split(load_examples(ISAF, "sample").examples, 0.2, seed=0)
    assert not {group_key(e) for e in train} & {group_key(e) for e in test}


def test_label_variety_resembles_the_published_data(rows: list[dict[str, Any]]) -> None:
    n = len(rows)
    events = Counter(e for r in rows for e in r["event_type"])
    groups = Counter(g for r in rows for g in r["target_group"])
    assert events.most_common(1)[0][0] == "detention"
    assert set(events) == set(ISAF.field("event_type").labels)
    assert {"taliban", "haqqani", "imu", "hig", "aq", "let", ""} <= set(groups)
    assert 0.6 < sum(r["captureq"] for r in rows) / n < 0.9
    assert 0.15 < sum(r["killq"] for r in rows) / n < 0.45
    assert 0.6 < sum(r["killcaptureraid"] for r in rows) / n < 0.9
    assert sum(r["airstrike"] for r in rows) >= 8
    assert sum(r["noshotsfired"] for r in rows) >= 20
    assert sum(len(r["province"]) > 1 for r in rows) >= 10
    assert len({r["start_date"][:4] for r in rows}) == 5
    assert sum(r["min_leaders_captured"] > 0 for r in rows) >= 20


def _generator() -> ModuleType:
    path = ROOT / "scripts" / "make_isaf_sample.py"
    spec = importlib.util.spec_from_file_location("make_isaf_sample", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    saved_path = list(sys.path)
    sys.modules[spec.name] = module  # dataclasses look their module up while decorating
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
        sys.path[:] = saved_path
    return module


def test_generator_reproduces_the_packaged_file() -> None:
    assert SAMPLE is not None
    built = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in _generator().build())
    assert built == SAMPLE.read_text(encoding="utf-8")
