"""Stopping the CLI: SIGTERM (``kill``, ``docker stop``, a CI timeout) is handled like
Ctrl-C. The run is marked ``interrupted`` (it stayed ``running`` for good before), the
command says how much was stored, and exits 143 (SIGTERM) or 130 (Ctrl-C)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fieldwise.store import Store
from tests.fakes.openai_server import Behaviour, FakeServer
from tests.runner.helpers import docs

ROOT = Path(__file__).resolve().parents[2]
N = 24


def _start(args: list[str], cwd: Path, url: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
        "OPENAI_BASE_URL": url,
        "OPENAI_API_KEY": "sk-test",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "fieldwise.cli", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _stop_mid_run(child: subprocess.Popen[str], server: FakeServer, sig: int) -> str:
    """Wait until a few rows are answered, send ``sig``, and return the child's stderr."""
    deadline = time.monotonic() + 60
    while sum(r.finished is not None for r in server.snapshot()) < 4:
        assert child.poll() is None, child.communicate()
        assert time.monotonic() < deadline, "the child never got going"
        time.sleep(0.02)
    child.send_signal(sig)
    _, err = child.communicate(timeout=60)
    return err


def _runs(project: Path) -> list[dict[str, object]]:
    with Store(project) as store:
        return store.runs()


def _stored(project: Path) -> int:
    with Store(project) as store:
        return int(store.db.execute("SELECT count(*) FROM predictions").fetchone()[0])


@pytest.mark.slow
@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    ("sig", "code", "word"),
    [(signal.SIGTERM, 143, "terminated"), (signal.SIGINT, 130, "interrupted")],
)
def test_predict_stopped_by_a_signal_marks_the_run_and_says_what_was_kept(
    tmp_path: Path, sig: int, code: int, word: str
) -> None:
    server = FakeServer(Behaviour(latency_s=0.25)).start()
    try:
        data = tmp_path / "docs.jsonl"
        data.write_text("".join(json.dumps({"id": e.id, "text": e.text}) + "\n" for e in docs(N)))
        args = ["predict", "--model", "openai/m", "--data", str(data), "--quiet"]
        args += ["--out", str(tmp_path / "p.jsonl"), "--project", "proj", "--concurrency", "2"]
        child = _start(args, tmp_path, server.url)
        err = _stop_mid_run(child, server, sig)
    finally:
        server.stop()
    assert child.returncode == code, err
    assert "Traceback" not in err
    kept = _stored(tmp_path / "proj")
    assert 1 <= kept < N
    # the line states exactly what the store holds, and a rerun is what resumes
    assert f"{word}: openai/m: {kept} of {N} stored; rerun to resume" in err, err
    [run] = _runs(tmp_path / "proj")
    assert run["status"] == "interrupted" and run["finished_at"]


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_run_terminated_marks_its_run_interrupted(tmp_path: Path) -> None:
    """``fieldwise run`` (the pipeline, a baseline trained first) under SIGTERM."""
    server = FakeServer(Behaviour(latency_s=0.25)).start()
    # Unique texts, so that every row is its own stored prediction.
    sample = (ROOT / "src/fieldwise/tasks/samples/isaf_sample.jsonl").read_text().splitlines()
    rows = [json.loads(line) for line in sample]
    rows = [{**row, "text": f"[{i}] {row['text']}"} for i, row in enumerate(rows)]
    (tmp_path / "all.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[:60]))
    (tmp_path / "fieldwise.yaml").write_text(
        "data: {train: all.jsonl}\n"
        "bootstrap: 0\n"
        "models:\n"
        "  - {name: api, spec: openai/m, concurrency: 2}\n"
    )
    try:
        child = _start(["run", "--quiet"], tmp_path, server.url)
        err = _stop_mid_run(child, server, signal.SIGTERM)
    finally:
        server.stop()
    assert child.returncode == 143, err
    [run] = _runs(tmp_path / ".fieldwise")
    assert run["status"] == "interrupted"
    found = re.search(r"terminated: api: (\d+) of (\d+) stored; rerun to resume", err)
    assert found is not None, err
    assert int(found.group(1)) == _stored(tmp_path / ".fieldwise")
    assert int(found.group(2)) == run["n_examples"]
