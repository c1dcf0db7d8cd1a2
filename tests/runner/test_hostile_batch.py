"""Hostile cases for the batch path (issue 21), through the real ``openai`` and
``anthropic`` SDKs against the fake batch server: a key echoed in a per-request error,
a results file with a line cut short, a create slower than the timeout, a run killed
while its create is in flight and rerun at once, one killed while it downloads the
results, and two processes (or a Ray run) on one store. (``test_batch_cli.py`` kills a
run while it polls; ``test_batch.py`` covers an upload left without a batch.)"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from fieldwise.models import Generation, Model, content_hash
from fieldwise.models._model import prediction_keys
from fieldwise.runner import RayExecutor, RetryPolicy, RunJob, RunSettings, execute
from fieldwise.runner.batch import BatchSettings, run_batch_async
from fieldwise.store import PredictionRow, Store
from fieldwise.store._lock import model_lock_sync
from fieldwise.tasks import Example, Task
from tests.fakes.batch_server import FakeBatchServer
from tests.runner.helpers import docs, marker
from tests.runner.test_batch import PROVIDERS, batch_model, sent

ROOT = Path(__file__).resolve().parents[2]
SECRET = "fw-hostile-secret-0123456789"
"""Not shaped like any provider's key: only the registered-secret redaction can catch it."""
FAST = BatchSettings(poll_s=0.02)
QUICK = RunSettings(retry=RetryPolicy(max_retries=3, base_s=0.01, max_s=0.05))


def _run(model: Model, examples: list[Example], store: Store, **batch: Any) -> Any:
    settings = BatchSettings(poll_s=0.02, **batch)
    return asyncio.run(run_batch_async(RunJob(model, examples, store, "m", None, QUICK), settings))


def _store_bytes(project: Path) -> bytes:
    return b"".join(p.read_bytes() for p in project.rglob("*") if p.is_file())


def _cli_predict(
    tmp_path: Path, server: FakeBatchServer, provider: str = "openai", n: int = 6
) -> subprocess.Popen[str]:
    """``fieldwise predict --batch`` in a child process, with the key in its environment."""
    data = tmp_path / "docs.jsonl"
    if not data.exists():
        data.write_text("".join(json.dumps({"id": e.id, "text": e.text}) + "\n" for e in docs(n)))
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ANTHROPIC_"))}
    key_env = "OPENAI_API_KEY" if provider == "openai" else "ANTHROPIC_API_KEY"
    env = {**clean, "PYTHONPATH": str(ROOT / "src"), key_env: SECRET}
    model, url = ("openai/fake-model", server.url)
    if provider == "anthropic":
        model, url = ("anthropic/claude-fake", server.root)
    out = tmp_path / f"preds-{time.monotonic_ns()}.jsonl"
    cmd = [
        sys.executable, "-m", "fieldwise.cli", "predict", "--model", model,
        "--data", str(data), "--out", str(out), "--project", str(tmp_path / "project"),
        "--option", f"base_url={url}", "--batch", "--batch-poll", "0.05", "--quiet",
    ]  # fmt: skip
    return subprocess.Popen(
        cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _out_file(child: subprocess.Popen[str]) -> Path:
    args = child.args
    assert isinstance(args, list)
    return Path(str(args[args.index("--out") + 1]))


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_key_echoed_in_a_request_error_is_redacted_everywhere(
    provider: str, fake_batches: FakeBatchServer, tmp_path: Path
) -> None:
    fake_batches.behaviour.echo_key = True
    fake_batches.behaviour.fail = {marker(1)}
    child = _cli_predict(tmp_path, fake_batches, provider)
    _, stderr = child.communicate(timeout=120)
    assert child.returncode == 3, stderr  # rows ended in errors, the rest written
    assert any(SECRET in a for a in fake_batches.auth), "the fake did not see the key"
    rows = [json.loads(line) for line in _out_file(child).read_text().splitlines()]
    [failed] = [r for r in rows if "error" in r]
    assert failed["id"] == "e1" and "context too long" in failed["error"]
    assert "[REDACTED]" in failed["error"]
    assert SECRET not in _out_file(child).read_text()
    assert SECRET not in stderr
    assert SECRET.encode() not in _store_bytes(tmp_path / "project")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_malformed_results_line_is_that_rows_error_and_the_batch_closes(
    provider: str, fake_batches: FakeBatchServer, isaf: Task, store: Store
) -> None:
    fake_batches.behaviour.malformed = {marker(2)}
    out = _run(batch_model(provider, fake_batches, isaf), docs(5), store)
    errors = {r.example_id: r.error for r in out.rows if r.error}
    assert list(errors) == ["e2"] and "malformed result line" in (errors["e2"] or "")
    assert all(r.output for r in out.rows if r.example_id != "e2")
    assert not store.open_batches(store.batches()[0]["model_hash"]), "the batch is stuck"

    # The next run sends only the bad row, in a new batch, and stores it.
    fake_batches.behaviour.malformed = set()
    again = _run(batch_model(provider, fake_batches, isaf), docs(5), store)
    assert (again.computed, again.cached, again.failed) == (1, 4, 0)
    assert [len(b) for b in sent(fake_batches)] == [5, 1]


def test_a_create_slower_than_the_timeout_is_found_not_paid_twice(
    fake_batches: FakeBatchServer, isaf: Task, store: Store
) -> None:
    fake_batches.behaviour.create_delay_s = 1.5  # the batch exists only after 1.5 s
    model = batch_model("openai", fake_batches, isaf, timeout_s=0.3)
    out = _run(model, docs(4), store)
    assert out.failed == 0 and all(r.output for r in out.rows)
    assert fake_batches.creates_received == 1, "a create was retried blindly"
    [made] = fake_batches.created()
    assert [b["id"] for b in store.batches()] == [made.id]


def test_a_create_that_made_nothing_is_sent_again_once_confirm_time_passes(
    fake_batches: FakeBatchServer, isaf: Task, store: Store
) -> None:
    fake_batches.behaviour.create_status = [500]  # refused, but a 500 may hide a batch
    start = time.monotonic()
    out = _run(batch_model("openai", fake_batches, isaf), docs(3), store, confirm_s=0.5)
    assert out.failed == 0 and len(fake_batches.created()) == 1
    assert time.monotonic() - start >= 0.5, "created again before the confirm time"
    assert len(fake_batches.files) == 2  # one upload (reused), one output file


@pytest.mark.slow
def test_kill_9_during_the_create_and_an_immediate_rerun_pay_once(
    fake_batches: FakeBatchServer, tmp_path: Path
) -> None:
    fake_batches.behaviour.create_delay_s = 6.0  # still making the batch when the rerun starts
    child = _cli_predict(tmp_path, fake_batches)
    deadline = time.monotonic() + 60
    while not fake_batches.creates_received:
        assert child.poll() is None, child.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.01)
    child.kill()
    child.communicate(timeout=30)
    assert not fake_batches.created()

    rerun = _cli_predict(tmp_path, fake_batches)  # at once: the first create is in flight
    _, stderr = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, stderr
    assert fake_batches.creates_received == 1, "the rerun created a second batch"
    [made] = fake_batches.created()
    rows = [json.loads(line) for line in _out_file(rerun).read_text().splitlines()]
    assert len(rows) == 6 and all(r["output"] for r in rows)
    with Store(tmp_path / "project") as store:
        assert [b["id"] for b in store.batches()] == [made.id]


@pytest.mark.slow
@pytest.mark.parametrize("provider", PROVIDERS)
def test_kill_9_while_the_results_download_and_the_rerun_fetches_them_again(
    provider: str, fake_batches: FakeBatchServer, tmp_path: Path
) -> None:
    fake_batches.behaviour.download_delay_s = 5.0  # the kill lands while the results travel
    child = _cli_predict(tmp_path, fake_batches, provider)
    deadline = time.monotonic() + 60
    while not fake_batches.downloads:
        assert child.poll() is None, child.communicate()
        assert time.monotonic() < deadline, "the child never downloaded the results"
        time.sleep(0.01)
    child.kill()
    child.communicate(timeout=30)
    [made] = fake_batches.created()
    with Store(tmp_path / "project") as store:
        assert store.db.execute("SELECT count(*) FROM predictions").fetchone()[0] == 0
        assert [b["id"] for b in store.batches()] == [made.id]

    fake_batches.behaviour.download_delay_s = 0
    rerun = _cli_predict(tmp_path, fake_batches, provider)
    _, stderr = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, stderr
    assert fake_batches.creates_received == 1, "the rerun paid for a second batch"
    assert fake_batches.downloads >= 2, "the rerun did not fetch the results again"
    rows = [json.loads(line) for line in _out_file(rerun).read_text().splitlines()]
    assert [r["id"] for r in rows] == [f"e{i}" for i in range(6)]
    assert all(r["output"] and "error" not in r for r in rows)
    with Store(tmp_path / "project") as store:
        assert not store.open_batches(store.batches()[0]["model_hash"])


@pytest.mark.slow
def test_two_batch_processes_on_one_store_pay_once(
    fake_batches: FakeBatchServer, tmp_path: Path
) -> None:
    fake_batches.behaviour.processing_s = 1.0
    (tmp_path / "project").mkdir()
    Store(tmp_path / "project").close()  # both open an existing store (see test_no_data_loss)
    first, second = _cli_predict(tmp_path, fake_batches), _cli_predict(tmp_path, fake_batches)
    results = [p.communicate(timeout=120) for p in (first, second)]
    assert [p.returncode for p in (first, second)] == [0, 0], results
    assert sum(len(b.requests) for b in fake_batches.created()) == 6, "paid twice"
    for child in (first, second):
        rows = [json.loads(line) for line in _out_file(child).read_text().splitlines()]
        assert [r["id"] for r in rows] == [f"e{i}" for i in range(6)]
        assert all(r["output"] for r in rows)
    assert any("waiting for it" in err for _, err in results)


class _RayReady(Model):
    """A backend the Ray executor accepts, whose rows the test stores up front."""

    provider = "ray-ready"
    runs_on_ray = True

    async def generate(self, batch: list[Example]) -> list[Generation]:
        raise AssertionError("everything is stored: nothing may be generated")

    def generate_sync(self, batch: list[Example]) -> list[Generation]:
        raise AssertionError("everything is stored: nothing may be generated")


def test_the_ray_executor_takes_the_model_lock(
    isaf: Task, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = _RayReady("tiny", isaf)
    examples = docs(3)
    keys = prediction_keys(model.identity(), examples)
    rows = [PredictionRow(k, ex.id, "{}") for k, ex in zip(keys, examples, strict=True)]
    store.save_predictions(None, "m", rows)
    waited = threading.Event()
    outcome: list[Any] = []
    monkeypatch.setattr(RunJob, "announce_wait", lambda self: waited.set())

    def ray_run() -> None:
        job = RunJob(model, examples, store, "m")
        outcome.append(execute(job, RayExecutor()))

    name = content_hash(model.identity())[:32]
    with model_lock_sync(store.project_dir, name):  # another process predicting
        thread = threading.Thread(target=ray_run)
        thread.start()
        assert waited.wait(10), "the Ray run did not wait for the lock"
        time.sleep(0.3)
        assert not outcome, "the Ray run went on while another held the lock"
    thread.join(10)
    [done] = outcome
    assert (done.computed, done.cached) == (0, 3)
