"""The commands the issues name, run as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fieldwise.data import load_examples, train_test_split, write_jsonl
from fieldwise.tasks import load_task
from tests.cli.helpers import cli

ISAF = load_task("isaf")


@pytest.fixture(scope="module")
def split_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("split")
    ds = load_examples(ISAF, "sample")
    train, test = train_test_split(ds.examples, 0.25, seed=0)
    for name, part in (("train", train), ("test", test)):
        write_jsonl(
            folder / f"{name}.jsonl", [{"id": e.id, "text": e.text, **e.gold} for e in part]
        )
    return folder / "train.jsonl", folder / "test.jsonl"


def test_run_without_arguments_writes_a_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = cli(capsys, "run", "--quiet", "--bootstrap", "200")
    assert code == 0, err
    report = Path(out.strip().splitlines()[-1])
    assert report.is_file() and report.name == "report.html"
    assert report.is_relative_to(tmp_path / ".fieldwise")
    html = report.read_text()
    assert "baseline" in html and "baseline-abstain" in html
    # the guessing and the abstaining model share one trained model
    assert len(list((tmp_path / ".fieldwise" / "models").iterdir())) == 1
    # a second run reuses the trained model and every cached prediction; with progress
    # bars on, stdout is still the report path alone (REPORT=$(fieldwise run) works)
    code, out2, err2 = cli(capsys, "run", "--bootstrap", "0")
    assert code == 0 and Path(out2.strip()).is_file() and len(out2.splitlines()) == 1
    assert "baseline-abstain" in err2 and "━" in err2  # the table and the bars: stderr


def test_train_predict_score_exact_commands(
    split_files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    train, test = split_files
    model_dir = tmp_path / "model"
    code, _, err = cli(
        capsys, "train", "baseline", "--task", "isaf", "--data", str(train), "--out", str(model_dir)
    )
    assert code == 0, err
    preds = tmp_path / "preds.jsonl"
    code, _, err = cli(
        capsys,
        "predict",
        "--model",
        f"baseline/{model_dir}",
        "--task",
        "isaf",
        "--data",
        str(test),
        "--out",
        str(preds),
        "--project",
        str(tmp_path / "proj"),
        "--quiet",
    )
    assert code == 0, err
    lines = [json.loads(line) for line in preds.read_text().splitlines()]
    assert len(lines) == len(test.read_text().splitlines())
    assert all(set(rec) >= {"id", "output"} for rec in lines)
    code, out, err = cli(
        capsys,
        "score",
        "--task",
        "isaf",
        "--gold",
        str(test),
        "--predictions",
        str(preds),
        "--profile",
        "reference",
        "--json",
    )
    assert code == 0, err
    result = json.loads(out)
    assert result["rows"] == len(lines)
    assert 0 <= result["aggregate"] <= 100
    assert set(result["fields"]) == {f.name for f in ISAF.scored_fields}
    assert all(0 <= v <= 1 for v in result["fields"].values())
    # the trained model is better than chance on its own task
    assert result["aggregate"] > 50


def test_score_of_garbage_predictions_is_zero_not_a_crash(
    split_files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, test = split_files
    ids = [json.loads(line)["id"] for line in test.read_text().splitlines()]
    preds = tmp_path / "garbage.jsonl"
    garbage = ["", None, "not json", "[1, 2]", '{"start_date": [', "```json\n{}\n```"]
    preds.write_text(
        "".join(
            json.dumps({"id": i, "output": garbage[n % len(garbage)]}) + "\n"
            for n, i in enumerate(ids)
        )
    )
    code, out, err = cli(
        capsys, "score", "--gold", str(test), "--predictions", str(preds), "--json"
    )
    assert code == 0, err
    assert json.loads(out)["aggregate"] == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["score", "--gold", "missing.jsonl", "--predictions", "p.jsonl"], "not found"),
        (
            ["predict", "--model", "nonsense", "--data", "sample", "--out", "x.jsonl"],
            "bad model spec",
        ),
        (
            ["predict", "--model", "nope/x", "--data", "sample", "--out", "x.jsonl"],
            "unknown model provider",
        ),
        (
            ["train", "baseline", "--task", "nosuchtask", "--data", "sample", "--out", "m"],
            "unknown task",
        ),
        (["run", "-c", "missing.yaml"], "config file not found"),
        (
            ["score", "--gold", "sample", "--predictions", "p.jsonl", "--profile", "lenient"],
            "unknown profile",
        ),
    ],
)
def test_user_errors_are_one_line(
    args: list[str],
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = cli(capsys, *args)
    assert code == 2
    assert message in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_console_script_entry_point_exit_codes(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2] / "src")}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "fieldwise.cli",
            "data",
            "info",
            "--data",
            str(tmp_path / "none.jsonl"),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert (
        proc.returncode == 2
        and "data file not found" in proc.stderr
        and "Traceback" not in proc.stderr
    )
    proc = subprocess.run(
        [sys.executable, "-m", "fieldwise.cli", "data", "info", "--data", "sample", "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["labelled"] is True
