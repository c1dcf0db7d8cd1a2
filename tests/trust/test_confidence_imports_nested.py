"""Confidence for an imported model on a nested task: the file's ``confidence`` column
(object paths and per-record paths) reaches ``fieldwise trust`` through ``imports:`` in a
project run and from the store, records leaves included."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from fieldwise.config import ImportConfig, ProjectConfig
from fieldwise.pipeline import run_project
from tests.cli.helpers import cli

INVOICES = Path(__file__).resolve().parents[2] / "examples" / "invoices"


def _predictions(path: Path) -> tuple[set[str], set[str]]:
    """Gold outputs, except every third invoice names another vendor and every fourth a
    wrong first SKU; those values carry a low ``confidence``, the others a high one."""
    wrong_vendor, wrong_sku = set(), set()
    lines = []
    for i, line in enumerate((INVOICES / "data.jsonl").read_text(encoding="utf-8").splitlines()):
        row = json.loads(line)
        out = {k: v for k, v in row.items() if k not in ("id", "text")}
        conf = {"vendor.name": 0.97}
        if i % 3 == 0:
            out["vendor"] = {**out["vendor"], "name": "Nobody Trading Co"}
            conf["vendor.name"] = 0.3
            wrong_vendor.add(row["id"])
        for k in range(len(out["line_items"])):
            conf[f"line_items[{k}].sku"] = 0.95
        if i % 4 == 0 and out["line_items"]:
            out["line_items"][0] = {**out["line_items"][0], "sku": "ZZ-WRONG"}
            conf["line_items[0].sku"] = 0.2
            wrong_sku.add(row["id"])
        lines.append(json.dumps({"id": row["id"], "output": json.dumps(out), "confidence": conf}))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return wrong_vendor, wrong_sku


def _least_aurc(n: int, right: int) -> float:
    """AURC when every error is ranked below every right value."""
    return sum((k - right) / k for k in range(right + 1, n + 1)) / n


@pytest.mark.slow
def test_imported_confidence_on_a_nested_task(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong_vendor, wrong_sku = _predictions(tmp_path / "theirs.jsonl")
    cfg = ProjectConfig(
        task=f"{INVOICES / 'task.py'}:INVOICES",
        data={"train": str(INVOICES / "data.jsonl"), "test_size": 0.5},  # type: ignore[arg-type]
        models=[],
        imports=[ImportConfig(path=str(tmp_path / "theirs.jsonl"), name="theirs")],
        bootstrap=0,
        output=str(tmp_path / "out"),
        base_dir=tmp_path,
    )
    run = run_project(cfg, console=Console(file=io.StringIO()), quiet=True)
    (result,) = run.results
    assert result.signals is not None and all(s and "prob" in s for s in result.signals)

    store = ("--project", str(tmp_path / "out"))
    code, _, err = cli(capsys, "trust", "theirs", *store)
    # The run recorded the task's name; a task from a file must be named again.
    assert code == 2 and "--task" in err and "Traceback" not in err
    code, out, err = cli(
        capsys, "trust", "theirs", "--json", *store, "--task", cfg.task,
        "--risk", "0.2", "--bootstrap", "0",
    )  # fmt: skip
    assert code == 0, err
    paths = json.loads(out)["models"]["theirs"]["paths"]
    for path, wrong in (("vendor.name", wrong_vendor), ("line_items[].sku", wrong_sku)):
        got = paths[path]
        assert got["signal"] == "prob", path
        n = got["rows"]["held_out"]
        right = round(n * got["accuracy"])
        assert 0 < n - right <= len(wrong), path  # some of the planted errors are held out
        # The low confidences single out exactly the planted errors.
        assert got["aurc"] == pytest.approx(_least_aurc(n, right), abs=1e-6), path
        car = got["coverage_at_risk"]
        assert car["threshold"] is not None and car["realised_risk"] == 0.0, path
        assert car["coverage"] == pytest.approx(right / n, abs=1e-6), path
    assert wrong_vendor and wrong_sku

    # Review: the planted SKU errors are queued as records-leaf values; accepting one
    # makes the model's value the gold of that record in a new dataset version.
    code, out, err = cli(
        capsys, "review", "export", "theirs", *store, "--task", cfg.task, "--risk", "0.2",
        "--out", str(tmp_path / "rq"), "--json",
    )  # fmt: skip
    assert code == 0, err
    with (tmp_path / "rq" / "review.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    skus = [r for r in rows if r["path"] == "line_items[].sku"]
    assert skus and {r["id"] for r in skus} <= wrong_sku
    assert all("ZZ-WRONG" in r["value"] for r in skus)
    skus[0]["accept"] = "yes"
    reviewed = tmp_path / "reviewed.csv"
    with reviewed.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(skus[:1])
    code, out, err = cli(
        capsys, "review", "import", str(reviewed), *store, "--task", cfg.task,
        "--out", str(tmp_path / "gold2.jsonl"), "--json",
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["rows_changed"] == 1
    new = {r["id"]: r for r in map(json.loads, (tmp_path / "gold2.jsonl").read_text().splitlines())}
    assert new[skus[0]["id"]]["line_items"][0]["sku"] == "ZZ-WRONG"
