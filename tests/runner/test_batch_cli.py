"""``fieldwise predict --batch`` in a subprocess, killed with SIGKILL between creating the
batch and downloading it; and ``batch: true`` in a project config through ``run``."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fieldwise.cli import app
from fieldwise.config import ProjectConfig
from fieldwise.pipeline import run_project
from fieldwise.store import Store
from tests.fakes.batch_server import FakeBatchServer
from tests.runner.helpers import docs

ROOT = Path(__file__).resolve().parents[2]
SECRET = "sk-test-never-stored-4242"


def _predict(
    tmp_path: Path, url: str, model: str = "openai/fake-model", wait: bool = True
) -> subprocess.Popen[str]:
    data = tmp_path / "docs.jsonl"
    if not data.exists():
        data.write_text("".join(json.dumps({"id": e.id, "text": e.text}) + "\n" for e in docs(6)))
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ANTHROPIC_"))}
    env = {**clean, "PYTHONPATH": str(ROOT / "src"), "OPENAI_API_KEY": SECRET}
    cmd = [
        sys.executable, "-m", "fieldwise.cli", "predict", "--model", model,
        "--data", str(data), "--out", str(tmp_path / "preds.jsonl"),
        "--project", str(tmp_path / "project"), "--option", f"base_url={url}",
        "--batch", "--batch-poll", "0.05", "--quiet",
    ]  # fmt: skip
    return subprocess.Popen(
        cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _stored_batch_ids(db_path: Path) -> list[str]:
    try:
        with sqlite3.connect(db_path, timeout=5) as db:
            return [r[0] for r in db.execute("SELECT id FROM batches")]
    except sqlite3.OperationalError:  # not created yet
        return []


def _kill_when(child: subprocess.Popen[str], ready: Callable[[], bool]) -> None:
    """SIGKILL the child as soon as ``ready()``; fail if it exits or stalls first."""
    deadline = time.monotonic() + 60
    while not ready():
        assert child.poll() is None, child.communicate()
        assert time.monotonic() < deadline, "the child never got that far"
        time.sleep(0.02)
    child.kill()
    child.communicate(timeout=30)
    assert child.returncode == -9


@pytest.mark.slow
def test_kill_9_after_the_batch_is_stored_resumes_it_without_a_second_batch(
    fake_batches: FakeBatchServer, tmp_path: Path
) -> None:
    fake_batches.behaviour.processing_s = 120
    child = _predict(tmp_path, fake_batches.url)
    db_path = tmp_path / "project" / "fieldwise.sqlite"
    _kill_when(child, lambda: bool(_stored_batch_ids(db_path) and fake_batches.polls))
    [created] = fake_batches.created()
    assert _stored_batch_ids(db_path) == [created.id]
    with Store(tmp_path / "project") as store:
        assert store.db.execute("SELECT count(*) FROM predictions").fetchone()[0] == 0

    fake_batches.behaviour.processing_s = 0
    rerun = _predict(tmp_path, fake_batches.url)
    _, stderr = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, stderr
    assert [b.id for b in fake_batches.created()] == [created.id], "paid twice"
    rows = [json.loads(line) for line in (tmp_path / "preds.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == [f"e{i}" for i in range(6)]
    assert all(r["output"] and "error" not in r for r in rows)
    # The key went to the server, and nowhere else.
    assert fake_batches.auth and all(a == f"Bearer {SECRET}" for a in fake_batches.auth)
    assert SECRET not in stderr
    for path in (tmp_path / "project").rglob("*"):
        assert not path.is_file() or SECRET.encode() not in path.read_bytes()


@pytest.mark.slow
def test_kill_9_while_the_batch_is_being_created_adopts_it_on_the_rerun(
    fake_batches: FakeBatchServer, tmp_path: Path
) -> None:
    fake_batches.behaviour.create_delay_s = 2.0  # the create is in flight when the kill lands
    child = _predict(tmp_path, fake_batches.url)
    db_path = tmp_path / "project" / "fieldwise.sqlite"
    _kill_when(child, lambda: bool(_stored_batch_ids(db_path) and fake_batches.creates_received))
    deadline = time.monotonic() + 60
    [placeholder] = _stored_batch_ids(db_path)
    assert placeholder.startswith("upload:") and not fake_batches.created()
    while not fake_batches.created():  # the provider goes on and makes the batch
        assert time.monotonic() < deadline
        time.sleep(0.05)

    fake_batches.behaviour.create_delay_s = 0
    rerun = _predict(tmp_path, fake_batches.url)
    _, stderr = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, stderr
    [made] = fake_batches.created()
    assert _stored_batch_ids(db_path) == [made.id], "paid twice"
    rows = [json.loads(line) for line in (tmp_path / "preds.jsonl").read_text().splitlines()]
    assert len(rows) == 6 and all(r["output"] for r in rows)


def test_batch_on_a_backend_without_one_is_a_one_line_error(tmp_path: Path) -> None:
    child = _predict(tmp_path, "http://127.0.0.1:9/v1", model="baseline/nowhere")
    _, stderr = child.communicate(timeout=60)
    assert child.returncode == 2
    assert "no batch API" in stderr and "Traceback" not in stderr


def test_batch_true_in_a_project_config_runs_through_run(
    fake_batches: FakeBatchServer, tmp_path: Path
) -> None:
    cfg = ProjectConfig(
        data={"train": "sample", "limit": 40},  # type: ignore[arg-type]
        models=[
            {  # type: ignore[list-item]
                "spec": "openai/fake-model",
                "name": "batched",
                "options": {"base_url": fake_batches.url},
                "batch": {"poll_s": 0.02, "max_requests": 5},
                "price": {"input_per_mtok": 2.0, "output_per_mtok": 2.0},
            }
        ],
        bootstrap=0,
        output=str(tmp_path / "project"),
        base_dir=tmp_path,
    )
    result = run_project(cfg, quiet=True)
    assert result.report_path.exists()
    [res] = result.results
    n = len(result.test.examples)
    assert res.errors == [None] * n
    assert len(fake_batches.created()) == -(-n // 5)
    with Store(tmp_path / "project") as store:
        rows = store.predictions_for_label("batched")
        assert len(rows) == n
        assert all(
            r["cost_usd"] == pytest.approx((r["input_tokens"] + r["output_tokens"]) / 1e6)
            for r in rows
        )
        assert {b["status"] for b in store.batches()} == {"completed"}
        first = store.batches()[0]["id"]
    listing = CliRunner().invoke(app, ["store", "batches", "--project", str(tmp_path / "project")])
    assert listing.exit_code == 0 and first in listing.output and "completed" in listing.output
