"""No command silently loses a user's file, registration or money."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fieldwise.store import Store
from tests.cli.helpers import cli
from tests.fakes.openai_server import Behaviour, FakeServer
from tests.runner.helpers import docs, marker

ROOT = Path(__file__).resolve().parents[2]


def _docs_file(path: Path, n: int = 4) -> Path:
    path.write_text("".join(json.dumps({"id": e.id, "text": e.text}) + "\n" for e in docs(n)))
    return path


def test_predict_refuses_to_write_over_its_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _docs_file(tmp_path / "d.jsonl")
    before = data.read_bytes()
    for out in (data, tmp_path / "." / "d.jsonl"):
        code, _, err = cli(
            capsys, "predict", "--model", "baseline/x", "--data", str(data), "--out", str(out)
        )
        assert code == 2 and "is the input file" in err, err
    assert data.read_bytes() == before


def test_split_refuses_to_write_over_its_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = cli(capsys, "data", "split", "--data", "sample", "--out-dir", str(tmp_path))
    assert code == 0, err
    train = tmp_path / "train.jsonl"
    before = train.read_bytes()
    code, _, err = cli(capsys, "data", "split", "--data", str(train), "--out-dir", str(tmp_path))
    assert code == 2 and "is the input file" in err, err
    assert train.read_bytes() == before


def test_import_refuses_to_replace_a_registered_finetune(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _docs_file(tmp_path / "d.jsonl", 2)
    preds = tmp_path / "p.jsonl"
    preds.write_text("".join(json.dumps({"id": e.id, "output": "{}"}) + "\n" for e in docs(2)))
    project = tmp_path / "project"
    with Store(project) as store:
        store.register_model("mine", "hf/base:adapters/mine", "finetune")
    args = ("import", "jsonl", str(preds), "--name", "mine", "--data", str(data))
    code, _, err = cli(capsys, *args, "--project", str(project))
    assert code == 2 and "already registered as hf/base:adapters/mine" in err, err
    with Store(project) as store:
        assert store.models()[0]["spec"] == "hf/base:adapters/mine"
    code, _, err = cli(capsys, *args, "--project", str(project), "--replace")
    assert code == 0, err
    code, _, err = cli(capsys, *args, "--project", str(project))  # an import may be redone
    assert code == 0, err


@pytest.mark.timeout(120)
def test_two_processes_on_one_store_request_each_row_once(tmp_path: Path) -> None:
    server = FakeServer(Behaviour(latency_s=0.05)).start()
    n = 24
    # The store exists first: two processes migrating a brand-new store at once is a
    # separate race (see docs/reliability.md), not the double spend tested here.
    Store(tmp_path / "p").close()
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"}
    cmd = [
        sys.executable,
        "-m",
        "tests.runner.child_predict",
        server.url,
        str(tmp_path / "p"),
        str(n),
    ]
    try:
        procs = [
            subprocess.Popen(
                cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
            for _ in range(2)
        ]
        results = [p.communicate(timeout=100) for p in procs]
    finally:
        server.stop()
    for proc, (out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
        assert "finished" in out
    counts = [len(server.requests_for(marker(i))) for i in range(n)]
    assert counts == [1] * n, counts
