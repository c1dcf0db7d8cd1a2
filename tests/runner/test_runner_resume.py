"""A run killed mid-way (``kill -9`` or Ctrl-C) resumes without recomputing anything."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fieldwise.models import create_model
from fieldwise.runner import RunSettings, run_model
from fieldwise.store import Store
from fieldwise.tasks import Task
from tests.fakes.openai_server import FakeServer
from tests.runner.helpers import docs, marker

ROOT = Path(__file__).resolve().parents[2]
N = 24


def _start_child(url: str, project: Path, n: int = N, repeats: int = 1) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    args = [url, str(project), str(n), str(repeats)]
    return subprocess.Popen(
        [sys.executable, "-m", "tests.runner.child_predict", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _stored(project: Path) -> dict[str, int]:
    with Store(project) as store:
        rows = store.db.execute(
            "SELECT example_id, count(*), sum(error IS NOT NULL) FROM predictions GROUP BY 1"
        ).fetchall()
    assert all(r[2] == 0 for r in rows), "an interrupted request must not be stored as an error"
    return {r[0]: r[1] for r in rows}


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_killed_run_resumes_without_recomputing(
    fake_openai: FakeServer, isaf: Task, tmp_path: Path, sig: signal.Signals
) -> None:
    fake_openai.behaviour.latency_s = 0.3
    project = tmp_path / "project"
    child = _start_child(fake_openai.url, project)
    deadline = time.monotonic() + 30
    while sum(r.finished is not None for r in fake_openai.snapshot()) < 8:
        assert child.poll() is None, child.communicate()
        assert time.monotonic() < deadline, "the child never got going"
        time.sleep(0.02)
    time.sleep(0.15)  # mid-way through the next wave of 4 requests
    in_flight = {r.text for r in fake_openai.snapshot() if r.finished is None}
    child.send_signal(sig)
    _, stderr = child.communicate(timeout=30)
    assert child.returncode != 0
    if sig == signal.SIGINT:
        assert "KeyboardInterrupt" in stderr or child.returncode in (130, -signal.SIGINT)

    first = _stored(project)
    assert 4 <= len(first) < N
    assert all(count == 1 for count in first.values())
    finished_on_server = {r.text for r in fake_openai.snapshot() if r.finished is not None}
    examples = docs(N)
    by_id = {e.id: e for e in examples}
    assert {by_id[i].text for i in first} <= finished_on_server
    assert in_flight and not {by_id[i].text for i in first} & in_flight
    requests_before = len(fake_openai.snapshot())

    fake_openai.behaviour.latency_s = 0.0
    model = create_model("openai/fake-model", isaf, {"base_url": fake_openai.url})
    with Store(project) as store:
        out = run_model(
            model, examples, store, label="m", run_id=None, settings=RunSettings(concurrency=4)
        )
    assert (out.cached, out.computed, out.failed) == (len(first), N - len(first), 0)
    assert len(fake_openai.snapshot()) - requests_before == N - len(first)
    for i, ex in enumerate(examples):
        if ex.id in first:
            assert len(fake_openai.requests_for(marker(i))) == 1, f"{ex.id} was recomputed"
    final = _stored(project)
    assert sorted(final) == sorted(by_id) and set(final.values()) == {1}


@pytest.mark.slow
def test_killed_repeated_run_finishes_only_the_missing_repeats(
    fake_openai: FakeServer, isaf: Task, tmp_path: Path
) -> None:
    n, repeats = 6, 3
    fake_openai.behaviour.latency_s = 0.3
    project = tmp_path / "project"
    child = _start_child(fake_openai.url, project, n, repeats)
    deadline = time.monotonic() + 30
    while sum(r.finished is not None for r in fake_openai.snapshot()) < 8:
        assert child.poll() is None, child.communicate()
        assert time.monotonic() < deadline, "the child never got going"
        time.sleep(0.02)
    time.sleep(0.15)
    child.send_signal(signal.SIGKILL)
    child.communicate(timeout=30)
    first = _stored(project)
    done = sum(first.values())
    assert 4 <= done < n * repeats
    assert all(count <= repeats for count in first.values())
    with Store(project) as store:
        keys_before = {r[0] for r in store.db.execute("SELECT key FROM predictions")}
    requests_before = len(fake_openai.snapshot())

    fake_openai.behaviour.latency_s = 0.0
    model = create_model("openai/fake-model", isaf, {"base_url": fake_openai.url})
    with Store(project) as store:
        out = run_model(
            model,
            docs(n),
            store,
            label="m",
            run_id=None,
            settings=RunSettings(concurrency=4),
            repeats=repeats,
        )
        keys_after = {r[0] for r in store.db.execute("SELECT key FROM predictions")}
    assert (out.cached, out.computed, out.failed) == (done, n * repeats - done, 0)
    assert len(fake_openai.snapshot()) - requests_before == n * repeats - done
    assert keys_before <= keys_after and len(keys_after) == n * repeats
    assert len(out.repeats) == repeats and all(len(rows) == n for rows in out.repeats)
    assert [r.example_id for r in out.repeats[2]] == [e.id for e in docs(n)]
    assert _stored(project) == {e.id: repeats for e in docs(n)}
