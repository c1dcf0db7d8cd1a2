"""The Ray executor on a local Ray instance with the tiny hf model: same outputs as a local
run, resume through the store, and a worker killed mid-job."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fieldwise.errors import UserError
from fieldwise.models import create_model
from fieldwise.runner import RayOptions, RunOutcome, run_model
from fieldwise.store import Store
from fieldwise.tasks import Example
from tests.cli.helpers import cli
from tests.models.conftest import SMALL_TASK, TEXTS
from tests.models.conftest import tiny_model_dir as tiny_model_dir  # noqa: F401 - fixture

ray = pytest.importorskip("ray")
ROOT = Path(__file__).resolve().parents[2]
OPTIONS = {"max_tokens": 6, "batch_size": 2}


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    # Workers import fieldwise from this checkout, as an installed package would be found.
    path = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": path}},
    )
    try:
        yield
    finally:
        ray.shutdown()


def _examples(n: int) -> list[Example]:
    return [Example(f"e{i}", f"{TEXTS[i % len(TEXTS)]} (#{i})") for i in range(n)]


def _stored(project: Path) -> dict[str, int]:
    db = sqlite3.connect(project / "fieldwise.sqlite")
    try:
        rows = db.execute(
            "SELECT example_id, count(*) FROM predictions WHERE error IS NULL GROUP BY 1"
        ).fetchall()
    finally:
        db.close()
    return {r[0]: r[1] for r in rows}


def _on_ray(spec: str, examples: list[Example], store: Store) -> RunOutcome:
    model = create_model(spec, SMALL_TASK, OPTIONS)
    return run_model(model, examples, store, label="m", run_id=None, ray=RayOptions(batch_size=2))


@pytest.mark.slow
def test_ray_run_matches_a_local_run_and_resumes(
    local_ray: None, tiny_model_dir: Path, tmp_path: Path
) -> None:
    spec = f"hf/{tiny_model_dir}"
    examples = _examples(6)
    with Store(tmp_path / "local") as store:
        local = run_model(
            create_model(spec, SMALL_TASK, OPTIONS), examples, store, label="m", run_id=None
        )
    with Store(tmp_path / "ray") as store:
        out = _on_ray(spec, examples, store)
        assert (out.computed, out.cached, out.failed) == (6, 0, 0)
        assert [r.output for r in out.rows] == [r.output for r in local.rows]
        assert [r.key for r in out.rows] == [r.key for r in local.rows]  # same cache keys
        again = _on_ray(spec, examples + _examples(8)[6:], store)
        assert (again.computed, again.cached) == (2, 6)  # only the new rows went to Ray


def _kill_a_worker_once_rows_are_stored(project: Path, killed: list[int]) -> None:
    import psutil

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not killed:
        if _stored(project):
            for proc in psutil.process_iter(["cmdline"]):
                if "MapBatches(_Predictor)" in " ".join(proc.info["cmdline"] or []):
                    os.kill(proc.pid, signal.SIGKILL)
                    killed.append(proc.pid)
                    return
        time.sleep(0.05)


@pytest.mark.slow
def test_a_worker_killed_mid_job_loses_nothing(
    local_ray: None, tiny_model_dir: Path, tmp_path: Path
) -> None:
    spec = f"hf/{tiny_model_dir}"
    examples = _examples(24)
    project = tmp_path / "project"
    killed: list[int] = []
    killer = threading.Thread(target=_kill_a_worker_once_rows_are_stored, args=(project, killed))
    with Store(project) as store:
        killer.start()
        try:
            out = _on_ray(spec, examples, store)
            first_failed = False
        except Exception:  # noqa: BLE001 - either outcome is allowed; both are checked
            first_failed = True
        killer.join()
        assert killed, "the job finished before a worker could be killed"
        stored = _stored(project)
        assert set(stored.values()) <= {1}
        if first_failed:  # what finished is kept, and a rerun computes only the rest
            out = _on_ray(spec, examples, store)
            assert out.cached == len(stored) and out.computed == len(examples) - len(stored)
        assert out.failed == 0
    final = _stored(project)
    assert sorted(final) == sorted(e.id for e in examples) and set(final.values()) == {1}


def test_only_local_models_run_on_ray(tmp_path: Path) -> None:
    model = create_model("openai/gpt-x", SMALL_TASK, {"base_url": "http://127.0.0.1:9/v1"})
    with Store(tmp_path) as store, pytest.raises(UserError, match="runs hf and vllm"):
        run_model(model, _examples(1), store, label="m", run_id=None, ray=RayOptions())


@pytest.mark.slow
def test_predict_on_the_command_line_with_ray(
    local_ray: None, tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "rows.jsonl"
    data.write_text("".join(json.dumps({"id": e.id, "text": e.text}) + "\n" for e in _examples(4)))
    args = ["predict", "--task", "tests.models.conftest:SMALL_TASK"]
    args += ["--model", f"hf/{tiny_model_dir}", "--data", str(data), "-q", "--ray", "auto"]
    args += ["--out", str(tmp_path / "out.jsonl"), "--project", str(tmp_path / "p")]
    args += ["--option", "max_tokens=6", "--option", "batch_size=2"]
    code, _, err = cli(capsys, *args)
    assert code == 0, err
    lines = (tmp_path / "out.jsonl").read_text().splitlines()
    assert [json.loads(line)["id"] for line in lines] == [f"e{i}" for i in range(4)]
    assert _stored(tmp_path / "p") == {f"e{i}": 1 for i in range(4)}


def test_the_ray_flag_refuses_models_it_cannot_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "rows.jsonl"
    data.write_text(json.dumps({"id": "a", "text": "Kabul: two detained."}) + "\n")
    code, _, err = cli(
        capsys, "predict", "--model", "openai/gpt-x", "--option", "base_url=http://127.0.0.1:9/v1",
        "--data", str(data), "--out", str(tmp_path / "o.jsonl"), "--project", str(tmp_path / "p"),
        "--ray", "auto",
    )  # fmt: skip
    # Every backend declaring runs_on_ray is named (hf, vllm, and lora: a kind of hf).
    assert code != 0 and "the ray executor runs hf and vllm" in err and "Traceback" not in err
    assert "not openai" in err
    config = tmp_path / "fieldwise.yaml"
    config.write_text(f"models:\n  - spec: baseline/auto\ndata:\n  train: {data}\n")
    code, _, err = cli(capsys, "run", "-c", str(config), "--ray", "auto", "-q")
    assert code != 0 and "--ray runs hf and vllm" in err and "the config has none" in err
