"""Fireworks fine-tuning through the real ``fireworks-ai`` SDK against a fake of its API:
dataset upload, create under a caller-chosen id, poll with progress, failure, cancel,
kill -9 around the create without a second job, the cost, and the result run by name
(hosted, and the downloaded adapter as hf/)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from fieldwise import registry
from fieldwise.errors import UserError
from fieldwise.finetune.hosted import HostedFinetuneConfig, cancel_hosted_job, run_hosted_finetune
from fieldwise.models import create_model
from fieldwise.store import Store
from tests.cli.helpers import cli
from tests.fakes.fireworks_server import ACCOUNT, FakeFireworks
from tests.finetune.hosted_helpers import (
    chat_file,
    finetune_child,
    kill_when,
    peft_adapter,
    write_config,
)
from tests.finetune.mini_task import MINI, mini_examples

KEY = "fw_fakefakefakefakefakefake"


@pytest.fixture(scope="module")
def adapter_files(tiny_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    folder = peft_adapter(tiny_dir, tmp_path_factory.mktemp("lora") / "a")
    return {f.name: f.read_bytes() for f in folder.iterdir() if f.is_file()}


@pytest.fixture
def fake(adapter_files: dict[str, bytes]) -> Iterator[FakeFireworks]:
    server = FakeFireworks().start()
    server.files = adapter_files
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FIREWORKS_API_KEY", KEY)
    monkeypatch.setenv("FIREWORKS_ACCOUNT_ID", ACCOUNT)
    monkeypatch.chdir(tmp_path)


def _config(fake: FakeFireworks, tmp_path: Path, **extra: object) -> dict[str, object]:
    return {
        "provider": "fireworks",
        "base_model": "accounts/fireworks/models/llama-v3p1-8b-instruct",
        "name": "fw-isaf",
        "training_file": str(chat_file(tmp_path / "train.jsonl")),
        "suffix": "isaf",
        "hyperparameters": {"epochs": 2, "lora_rank": 8},
        "price_per_mtok": 0.5,
        "poll_interval_s": 0.01,
        "base_url": fake.url,
        **extra,
    }


def test_job_runs_and_its_model_runs_by_name(
    fake: FakeFireworks, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(tmp_path / "fw.yaml", _config(fake, tmp_path))
    code, out, err = cli(capsys, "finetune", str(path), "--project", str(tmp_path / "p"))
    assert code == 0, err
    hosted, hf, _vllm = [json.loads(line) for line in out.strip().splitlines()]
    (job_id,) = fake.jobs
    job = fake.jobs[job_id]
    dataset = next(iter(fake.datasets.values()))
    assert dataset["raw"] == (tmp_path / "train.jsonl").read_bytes()
    assert job["request"]["epochs"] == 2 and job["request"]["loraRank"] == 8
    assert job["request"]["baseModel"].endswith("llama-v3p1-8b-instruct")
    tokens = int(len(dataset["raw"]) // 4) * 2
    assert f"estimated cost ${tokens * 0.5 / 1e6:.4g} (tokens x price_per_mtok)" in err
    assert "cost: $1.25 (Fireworks' estimatedCost" in err and "100.0%" in err
    with Store(tmp_path / "p") as store:
        model = {m["label"]: m for m in store.models()}["fw-isaf"]
    if "fireworks" in registry.hosts.names():  # the named host: only what differs from it
        assert model["spec"] == hosted["spec"] == f"fireworks/accounts/{ACCOUNT}/models/{job_id}"
        assert model["options"] == {"base_url": f"{fake.url}/inference/v1"}
    else:
        assert model["spec"] == hosted["spec"] == f"openai/accounts/{ACCOUNT}/models/{job_id}"
        assert model["options"] == {
            "base_url": f"{fake.url}/inference/v1", "api_key_env": "FIREWORKS_API_KEY",
        }  # fmt: skip
    answer = asyncio.run(
        create_model(model["spec"], MINI, model["options"]).generate(mini_examples(1))
    )
    assert json.loads(answer[0].output or "") == {"answer": "fine-tuned"}
    local = create_model(hf["spec"], MINI, {"max_tokens": 4})
    assert len(asyncio.run(local.generate(mini_examples(1)))) == 1
    # the same data again is the same dataset and the same finished job: nothing new
    code, _, err = cli(capsys, "finetune", str(path), "--project", str(tmp_path / "p"))
    assert code == 0 and "already finished" in err
    assert len(fake.jobs) == 1 and len(fake.datasets) == 1 and fake.billed == [job_id]


def test_failure_cancel_and_a_new_job_after_failure(fake: FakeFireworks, tmp_path: Path) -> None:
    fake.fail = "trainer crashed"
    cfg = HostedFinetuneConfig(**_config(fake, tmp_path))  # type: ignore[arg-type]
    with pytest.raises(UserError, match="failed: trainer crashed"):
        run_hosted_finetune(cfg, progress=False)
    fake.fail, fake.steps = None, 100
    slow = HostedFinetuneConfig(**_config(fake, tmp_path, timeout_s=0.05))  # type: ignore[arg-type]
    with pytest.raises(UserError, match="keeps running|still"):
        run_hosted_finetune(slow, progress=False)
    assert len(fake.jobs) == 2  # the failed job is not adopted again: a new id
    job_id = cancel_hosted_job(slow)
    assert fake.jobs[job_id]["state"] == "JOB_STATE_CANCELLED"


def test_missing_account_and_bad_settings(
    fake: FakeFireworks, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FIREWORKS_ACCOUNT_ID")
    cfg = HostedFinetuneConfig(**_config(fake, tmp_path))  # type: ignore[arg-type]
    with pytest.raises(UserError, match="FIREWORKS_ACCOUNT_ID"):
        run_hosted_finetune(cfg, progress=False)
    bad = HostedFinetuneConfig(**_config(fake, tmp_path, hyperparameters={"epochs": "two"}))  # type: ignore[arg-type]
    with pytest.raises(UserError, match="epochs"):
        run_hosted_finetune(bad, progress=False)
    assert fake.jobs == {}


@pytest.mark.slow
@pytest.mark.parametrize("moment", ["during the create", "before the first poll"])
def test_kill_9_then_resume_makes_one_job(
    fake: FakeFireworks, tmp_path: Path, capsys: pytest.CaptureFixture[str], moment: str
) -> None:
    gate = threading.Event()
    if moment == "during the create":
        fake.hold_create = gate
        ready = lambda: bool(fake.jobs)  # noqa: E731
    else:
        fake.hold_poll = gate
        ready = lambda: any("supervisedFineTuningJobs/" in p for m, p in fake.log if m == "GET")  # noqa: E731
    path = write_config(tmp_path / "fw.yaml", _config(fake, tmp_path))
    env = {"FIREWORKS_API_KEY": KEY, "FIREWORKS_ACCOUNT_ID": ACCOUNT}
    kill_when(finetune_child(path, tmp_path / "p", env), ready)
    fake.hold_create = fake.hold_poll = None
    gate.set()
    code, out, err = cli(capsys, "finetune", str(path), "--project", str(tmp_path / "p"))
    assert code == 0, err
    assert len(fake.jobs) == 1 and len(fake.billed) == 1
    assert json.loads(out.splitlines()[0])["spec"].endswith(next(iter(fake.jobs)))
