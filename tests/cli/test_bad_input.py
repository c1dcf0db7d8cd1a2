"""Bad input from the command line: one line on stderr naming what to fix, exit 2, never a
traceback (issue 15 §3: each of these was a raw exception with exit 1, or a box)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.helpers import cli

SAMPLE_ROW = {"id": "a", "text": "Kabul (Jan. 1, 2012) An ISAF patrol detained two suspects."}


def _one_line_exit_2(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    code, out, err = cli(capsys, *args)
    assert code == 2, (code, err)
    assert "Traceback" not in err and "ValidationError" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


@pytest.fixture
def docs_file(tmp_path: Path) -> Path:
    path = tmp_path / "docs.jsonl"
    path.write_text(json.dumps(SAMPLE_ROW) + "\n")
    return path


def _predict(docs: Path, *extra: str) -> list[str]:
    out = docs.parent / "p.jsonl"
    return ["predict", "--data", str(docs), "--out", str(out), *extra]


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--model", ""], "--model is empty"),
        (["--model", "  "], "--model is empty"),
        (["--model", "openai/m", "--concurrency", "-5"], "'--concurrency'"),
        (["--model", "openai/m", "--concurrency", "0"], "'--concurrency'"),
        (["--model", "openai/m", "--batch-poll", "0"], "--batch-poll must be positive"),
        (["--modle", "openai/m"], "No such option: --modle"),
        ([], "Missing option '--model'"),
    ],
)
def test_predict_options(
    docs_file: Path, capsys: pytest.CaptureFixture[str], extra: list[str], expected: str
) -> None:
    line = _one_line_exit_2(capsys, *_predict(docs_file, *extra))
    assert expected in line


@pytest.mark.parametrize(
    "args",
    [
        ["run", "--bootstrap", "-5"],
        ["run", "--limit", "0"],
        ["score", "--gold", "sample", "--predictions", "p.jsonl", "--bootstrap", "-5"],
        ["compare", "1", "2", "--bootstrap", "-5"],
    ],
)
def test_out_of_range_numbers(
    args: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(Path(__file__).parent)  # no fieldwise.yaml, no .fieldwise here
    line = _one_line_exit_2(capsys, *args)
    assert f"'{args[args.index('--limit' if '--limit' in args else '--bootstrap')]}'" in line


@pytest.mark.parametrize(
    ("yaml", "expected"),
    [
        ("base_dir: /tmp\n", "base_dir: not a config key"),
        ("data:\n  tain: x.jsonl\n", "data.tain: unknown key (did you mean 'train'?)"),
        ("modles: []\n", "modles: unknown key (did you mean 'models'?)"),
        (
            "models:\n  - spec: openai/x\n    concurency: 3\n",
            "models.0.concurency: unknown key (did you mean 'concurrency'?)",
        ),
        ("bootstrap: -5\n", "bootstrap: Input should be greater than or equal to 0"),
        ("profiles: []\n", "profiles: List should have at least 1 item"),
    ],
)
def test_config_mistakes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], yaml: str, expected: str
) -> None:
    config = tmp_path / "fieldwise.yaml"
    config.write_text(yaml)
    line = _one_line_exit_2(capsys, "run", "-c", str(config))
    assert f"{config}: {expected}" in line


def test_import_jsonl_of_a_binary_file_names_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    binary = tmp_path / "preds.jsonl"
    binary.write_bytes(b"\x7fELF\x02\x01\x01\x00\xd0\xff\xfe\n")
    args = ["import", "jsonl", str(binary), "--name", "x", "--data", "sample"]
    line = _one_line_exit_2(capsys, *args, "--project", str(tmp_path / "p"))
    assert f"{binary}:1:" in line and "not UTF-8" in line


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"id": "a", "predictions": {}}\n[1, 2]\n', " row 2: expected an object, got list"),
        ('"just a string"\n', " row 1: expected an object, got str"),
        ('{"id": "a", "predictions": {}}\n{bad\n', ":2: invalid JSON"),
    ],
)
def test_import_dicts_bad_lines_name_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, expected: str
) -> None:
    source = tmp_path / "dicts.jsonl"
    source.write_text(content)
    args = ["import", "dicts", str(source), "--data", "sample", "--project", str(tmp_path / "p")]
    assert f"{source}{expected}" in _one_line_exit_2(capsys, *args)


@pytest.mark.parametrize(
    ("name", "content", "hint"),
    [
        ("rows.csv", "jsonl", "rows.csv looks like JSONL, not .csv: rename it to rows.jsonl"),
        ("rows.parquet", "jsonl", "looks like JSONL, not .parquet: rename it to rows.jsonl"),
        ("rows.jsonl", "csv", "rows.jsonl looks like CSV, not .jsonl: rename it to rows.csv"),
        ("rows.json", "jsonl", "rows.json looks like JSONL, not .json: rename it to rows.jsonl"),
    ],
)
def test_a_file_in_another_format_gets_a_hint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, content: str, hint: str
) -> None:
    rows = [SAMPLE_ROW, {**SAMPLE_ROW, "id": "b"}]
    path = tmp_path / name
    if content == "jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    else:
        path.write_text("id,text\n" + "".join(f'{r["id"]},"{r["text"]}"\n' for r in rows))
    line = _one_line_exit_2(capsys, "data", "info", "--data", str(path))
    assert str(path) in line and hint in line


def test_a_file_in_its_own_format_gets_no_hint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text(json.dumps(SAMPLE_ROW) + "\n" + json.dumps({"id": "b"}) + "\n")
    line = _one_line_exit_2(capsys, "data", "info", "--data", str(path))
    assert ":2: field 'text'" in line and "looks like" not in line


@pytest.mark.parametrize(
    ("content", "expected"),
    [('{"r": 8,', "not valid JSON"), ("[1]", "expected a JSON object, got list")],
)
def test_serve_names_a_corrupt_adapter_config_before_loading_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, expected: str
) -> None:
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(content)
    args = ["serve", "--base", str(tmp_path / "no-such-base"), "--adapter", f"x={adapter}"]
    line = _one_line_exit_2(capsys, *args)
    assert f"adapter 'x': {adapter / 'adapter_config.json'}: {expected}" in line


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("fieldwise.tasks.isaf:isaf", "has no attribute 'isaf' (did you mean 'ISAF'?)"),
        ("fieldwise.tasks.isaf:PROVINCES", "is a list, not a fieldwise Task"),
    ],
)
def test_task_that_is_not_one(
    docs_file: Path, capsys: pytest.CaptureFixture[str], spec: str, expected: str
) -> None:
    args = ["data", "info", "--data", str(docs_file), "--task", spec]
    assert expected in _one_line_exit_2(capsys, *args)
