"""Every ``data``, ``store`` and ``import`` command, run as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.cli.helpers import cli


def _jsonl(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture
def splits(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    code, _, err = cli(capsys, "data", "split", "--data", "sample", "--out-dir", str(tmp_path))
    assert code == 0, err
    return tmp_path


def test_info_split_and_leakage_check(splits: Path, capsys: pytest.CaptureFixture[str]) -> None:
    train, test = splits / "train.jsonl", splits / "test.jsonl"
    code, out, _ = cli(capsys, "data", "info", "--data", str(train), "--json")
    info = json.loads(out)
    assert code == 0 and info["labelled"] and info["rows"] == len(_jsonl(train))
    assert len(info["fingerprint"]) >= 12
    code, out, _ = cli(capsys, "data", "info", "--data", str(train))  # a table for people
    assert code == 0 and info["fingerprint"] in out and f"{info['rows']}" in out
    assert "labelled" in out and "yes" in out and not out.lstrip().startswith("{")
    args = ("data", "check", "--train", str(train), "--test", str(test))
    code, out, _ = cli(capsys, *args)
    assert code == 0 and out.startswith("clean: none of the")
    code, out, _ = cli(capsys, *args, "--json")
    assert code == 0 and json.loads(out)["clean"] is True
    # a test row copied into train is a leak: exit 4 (CI fails) and the row is named
    leaked = _jsonl(test)[0]
    with train.open("a") as fh:
        fh.write(json.dumps({**leaked, "id": "copied"}) + "\n")
    code, out, _ = cli(capsys, *args, "--json")
    assert code == 4 and leaked["id"] in json.dumps(json.loads(out)["exact"])
    code, out, _ = cli(capsys, *args)
    assert code == 4 and out.startswith("leaks: 1 of ") and leaked["id"] in out and "copied" in out


def test_audit_lists_label_quirks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = _jsonl(Path(__file__).parents[2] / "src/fieldwise/tasks/samples/isaf_sample.jsonl")
    rows = rows[:5]
    rows[0]["province"] = ["sar-e pul"]
    rows[1]["event_type"] = ["insurgentskilled;detention"]
    data = tmp_path / "quirky.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    code, out, err = cli(capsys, "data", "audit", "--data", str(data), "--json")
    assert code == 0, err
    issues = {(i["field"], i["kind"]): i for i in json.loads(out)}
    alias = issues[("province", "alias")]
    assert "sar-e pul" in alias["value"] and "sar_e_pul" in alias["suggestion"]
    joined = issues[("event_type", "joined_multi")]
    assert joined["example_ids"] == [rows[1]["id"]] and "detention" in joined["suggestion"]
    code, out, err = cli(capsys, "data", "audit", "--data", str(data))
    assert code == 0 and "sar-e pul" in out and "Traceback" not in err


def test_export_writes_every_row(splits: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_file = splits / "train.sharegpt.jsonl"
    code, _, err = cli(capsys, "data", "export", "--data", str(splits / "train.jsonl"),
                       "--format", "sharegpt", "--out", str(out_file))  # fmt: skip
    assert code == 0, err
    rows = _jsonl(out_file)
    assert len(rows) == len(_jsonl(splits / "train.jsonl"))
    assert rows[0]["conversations"][-1]["from"] == "gpt"
    code, _, err = cli(capsys, "data", "export", "--data", "sample", "--format", "nope",
                       "--out", str(out_file))  # fmt: skip
    assert code == 2 and "unknown export format" in err


def test_import_then_store_runs_models_and_export(
    splits: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    test = splits / "test.jsonl"
    gold = _jsonl(test)
    preds = tmp_path / "theirs.jsonl"
    preds.write_text("".join(json.dumps({"id": r["id"], "output": "{}"}) + "\n" for r in gold))
    project = str(tmp_path / "proj")
    code, _, err = cli(capsys, "import", "jsonl", str(preds), "--name", "theirs",
                       "--data", str(test), "--project", project)  # fmt: skip
    assert code == 0 and f"imported {len(gold)}" in err
    code, out, _ = cli(capsys, "store", "models", "--project", project)
    assert code == 0 and out.split()[:3] == ["theirs", "import/theirs", "imported"]
    assert "baseline" in out
    code, out, _ = cli(capsys, "store", "runs", "--project", project)
    assert code == 0
    for name in ("preds.jsonl", "preds.parquet"):
        code, _, err = cli(capsys, "store", "export", "--out", str(tmp_path / name),
                           "--project", project)  # fmt: skip
        assert code == 0, err
    assert len(_jsonl(tmp_path / "preds.jsonl")) == len(gold)
    frame = pd.read_parquet(tmp_path / "preds.parquet")
    assert len(frame) == len(gold) and set(frame["model"]) == {"theirs"}
