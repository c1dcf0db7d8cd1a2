"""Hostile input files: each is a one-line error naming file, line and field (exit 2),
never a traceback; big but legal files load."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fieldwise.data import load_examples
from fieldwise.store import Store
from fieldwise.tasks import load_task
from tests.cli.helpers import cli

ISAF = load_task("isaf")


def _error(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    code, _, err = cli(capsys, *args)
    assert code == 2, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err


def _info(capsys: pytest.CaptureFixture[str], path: Path) -> str:
    return _error(capsys, "data", "info", "--data", str(path))


GOOD = json.dumps({"id": "a", "text": "hello"})
_first = load_examples(ISAF, "sample").examples[0]
SAMPLE = {"id": _first.id, "text": _first.text, **(_first.gold or {})}


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        (
            "latin1.jsonl",
            GOOD.encode() + b'\n{"id": "b", "text": "caf\xe9"}\n',
            r":2:\d+: not UTF-8",
        ),
        ("latin1.csv", b'id,text\na,ok\nb,"caf\xe9"\n', r":3:\d+: not UTF-8"),
        ("deep.jsonl", GOOD.encode() + b"\n" + b"[" * 100_000 + b"\n", r":2: JSON nested too deep"),
        (
            "bigint.jsonl",
            b'{"id": "a", "text": "x", "count": ' + b"9" * 5000 + b"}\n",
            r":1: unreadable JSON value \(Exceeds the limit",
        ),
        (
            "ragged.csv",
            b"id,text\na,ok\nb,ok,extra\n",
            r"ragged.csv:3: 3 cells but the header has 2",
        ),
        ("short.csv", b"id,text\na\n", r"short.csv:2: 1 cell but the header has 2"),
        (
            "multiline.csv",
            b'id,text\na,"line one\nline two\nline three"\nb,ok,extra\n',
            r"multiline.csv:5: 3 cells",
        ),
        ("scalars.json", b'[1, "two"]', r"scalars.json\[0\]: expected a JSON object, got int"),
        (
            "bigint_label.jsonl",
            json.dumps({**SAMPLE, "min_killed": "9" * 5000}).encode() + b"\n",
            r":1: field 'min_killed': expected an integer of at most 4300 digits",
        ),
    ],
    ids=lambda v: v if isinstance(v, str) and v.count(".") == 1 and len(v) < 30 else "",
)
def test_bad_data_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, content: bytes, expected: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    err = _info(capsys, path)
    assert str(path) in err
    import re

    assert re.search(expected, err), err


def test_csv_cells_over_128_kib_load(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    big = "word " * 60_000  # 300 KB in one cell
    path.write_text(f'id,text\na,"{big}"\nb,short\n', encoding="utf-8")
    examples = load_examples(ISAF, path).examples
    assert [len(e.text) for e in examples] == [len(big), 5]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"task: isaf\noutput: \xff\n", r"fieldwise.yaml:2:\d+: not UTF-8"),
        (b"task: isaf\n1: x\n", r"fieldwise.yaml:2: key 1 under '\(top level\)' is not a string"),
        (
            b"data:\n  train: sample\n  [a]: x\n",
            r"invalid YAML: .*unhashable key .*line 3, column 3",
        ),
        (
            b"data:\n  train: sample\n  2: x\n",
            r"fieldwise.yaml:3: key 2 under 'data' is not a string",
        ),
    ],
)
def test_bad_yaml_configs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, expected: str
) -> None:
    import re

    (tmp_path / "fieldwise.yaml").write_bytes(content)
    err = _error(capsys, "run", "--config", str(tmp_path), "--quiet")
    assert re.search(expected, err), err


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("x = 1\nraise RuntimeError('no config here')\n", r"line 2: RuntimeError: no config here"),
        ("import sys\nsys.exit(0)\n", r"line 2: calls sys.exit\(0\) while being imported"),
        ("import sys\nsys.exit()\n", r"calls sys.exit\(None\)"),
        ("import no_such_module_xyz\n", r"line 1: ModuleNotFoundError"),
    ],
)
def test_task_files_that_fail_on_import(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str, expected: str
) -> None:
    import re

    task = tmp_path / "my_task.py"
    task.write_text(body)
    err = _error(capsys, "data", "info", "--task", str(task), "--data", "sample")
    assert "my_task.py" in err and re.search(expected, err), err


def test_import_dicts_with_non_string_outputs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "d.jsonl"
    data.write_text(GOOD + "\n")
    rows = tmp_path / "rows.jsonl"
    outputs = {"obj": {"a": 1}, "num": 3, "lst": [1], "none": None, "text": "{}"}
    rows.write_text(json.dumps({"id": "a", "text": "hello", "predictions": outputs}) + "\n")
    project = tmp_path / "p"
    code, _, err = cli(
        capsys, "import", "dicts", str(rows), "--data", str(data), "--project", str(project)
    )
    assert code == 0, err
    with Store(project) as store:
        stored = {
            r["label"]: r["output"] for lab in outputs for r in store.predictions_for_label(lab)
        }
    assert stored == {"obj": '{"a": 1}', "num": "3", "lst": "[1]", "none": None, "text": "{}"}
