"""Together fine-tuning through the real ``together`` SDK against a fake of its API:
upload, price estimate, create, poll with progress, failure, cancel, kill -9 (during the
create, and between the create and the first poll) without paying twice, resume, the
billed cost, and the result run by name (hosted, and the downloaded adapter as hf/)."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from fieldwise import registry
from fieldwise.errors import UserError
from fieldwise.finetune.hosted import (
    HostedFinetuneConfig,
    cancel_hosted_job,
    run_hosted_finetune,
)
from fieldwise.finetune.jobs import JobRecord
from fieldwise.models import create_model
from fieldwise.store import Store
from tests.cli.helpers import cli
from tests.fakes.together_server import PRICE_PER_TOKEN_NANO, FakeTogether
from tests.finetune.hosted_helpers import (
    chat_file,
    finetune_child,
    kill_when,
    pack,
    peft_adapter,
    write_config,
)
from tests.finetune.mini_task import MINI, mini_examples

KEY = "tgp_v1_fakefakefakefakefakefake"


@pytest.fixture(scope="module")
def adapter(tiny_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return pack(peft_adapter(tiny_dir, tmp_path_factory.mktemp("lora") / "a"))


@pytest.fixture
def fake(adapter: bytes) -> Iterator[FakeTogether]:
    server = FakeTogether(adapter=adapter).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TOGETHER_API_KEY", KEY)
    monkeypatch.chdir(tmp_path)


def _config(fake: FakeTogether, tmp_path: Path, **extra: object) -> dict[str, object]:
    return {
        "provider": "together",
        "base_model": "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference",
        "name": "llama-isaf",
        "training_file": str(chat_file(tmp_path / "train.jsonl")),
        "suffix": "isaf",
        "hyperparameters": {"n_epochs": 2, "lora_r": 8},
        "poll_interval_s": 0.01,
        "base_url": fake.url,
        **extra,
    }


def test_job_runs_with_estimate_progress_cost_and_runs_by_name(
    fake: FakeTogether, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(tmp_path / "together.yaml", _config(fake, tmp_path))
    code, out, err = cli(capsys, "finetune", str(path), "--project", str(tmp_path / "p"))
    assert code == 0, err
    printed = [json.loads(line) for line in out.strip().splitlines()]
    hosted, hf, vllm = printed
    job = fake.jobs["ft-0001"]
    # the SDK's own upload handshake carried the file; the job got the settings
    assert fake.files["file-1"]["raw"] == (tmp_path / "train.jsonl").read_bytes()
    assert job["request"]["n_epochs"] == 2 and job["request"]["suffix"] == "isaf"
    assert job["request"]["training_type"] == {
        **job["request"]["training_type"], "type": "Lora", "lora_r": 8,
    }  # fmt: skip
    # the estimate was asked before the create; the billed price came after
    calls = [p for _, p in fake.log]
    assert calls.index("/v1/fine-tunes/estimate-price") < calls.index("/v1/fine-tunes")
    billed = job["tokens"] * PRICE_PER_TOKEN_NANO / 1e9
    assert f"estimated cost ${billed:.4g} (Together's estimate)" in err
    assert f"cost: ${billed:.4g} (billed)" in err
    assert "100.0%" in err and "Step 3 done" in err and KEY not in err
    record = JobRecord.load(next((tmp_path / "p" / "hosted").glob("together-*.json")))
    assert record.state == "succeeded" and record.cost_usd == pytest.approx(billed)
    # the hosted model runs by name: registered with its host's base URL and key variable
    with Store(tmp_path / "p") as store:
        registered = {m["label"]: m for m in store.models()}
    model = registered["llama-isaf"]
    assert hosted["spec"] == model["spec"] and model["spec"].endswith("isaf-ft-0001")
    if "together" in registry.hosts.names():  # the named host: only what differs from it
        assert model["spec"].startswith("together/")
        assert model["options"] == {"base_url": f"{fake.url}/v1"}
    else:
        assert model["options"]["api_key_env"] == "TOGETHER_API_KEY"
        assert model["options"]["base_url"] == f"{fake.url}/v1"
    runnable = create_model(model["spec"], MINI, model["options"])
    import asyncio

    answer = asyncio.run(runnable.generate(mini_examples(1)))[0]
    assert json.loads(answer.output or "") == {"answer": "fine-tuned"}
    # the downloaded adapter, self-served: hf/BASE:ADAPTER loads and generates
    assert hf["label"] == "llama-isaf-hf" and vllm["spec"].startswith("vllm/")
    local = create_model(hf["spec"], MINI, {"max_tokens": 4})
    assert len(asyncio.run(local.generate(mini_examples(2)))) == 2
    # a rerun pays for nothing: the finished job's model is reused
    code, out, err = cli(capsys, "finetune", str(path), "--project", str(tmp_path / "p"))
    assert code == 0 and "already finished" in err
    assert list(fake.jobs) == ["ft-0001"] and fake.billed == ["ft-0001"]


def test_failed_job_is_one_line_and_a_rerun_starts_a_new_job(
    fake: FakeTogether, tmp_path: Path
) -> None:
    fake.fail = "CUDA out of memory at step 3"
    cfg = HostedFinetuneConfig(**_config(fake, tmp_path))  # type: ignore[arg-type]
    with pytest.raises(UserError, match="ft-0001 failed: CUDA out of memory at step 3"):
        run_hosted_finetune(cfg, progress=False)
    fake.fail = None
    result = run_hosted_finetune(cfg, progress=False)
    assert result.job_id == "ft-0002"
    assert [p for m, p in fake.log if m == "POST" and p == "/v1/files"] == [
        "/v1/files"
    ]  # upload reused


def test_cancel_stops_the_job(fake: FakeTogether, tmp_path: Path) -> None:
    fake.steps = 50
    cfg = HostedFinetuneConfig(**_config(fake, tmp_path, timeout_s=0.05))  # type: ignore[arg-type]
    with pytest.raises(UserError, match="rerun the same command") as info:
        run_hosted_finetune(cfg, progress=False)
    assert "--cancel" in (info.value.hint or "")
    out = io.StringIO()
    assert cancel_hosted_job(cfg, console=Console(file=out)) == "ft-0001"
    assert fake.jobs["ft-0001"]["status"] == "cancelled"
    assert "cancelled" in out.getvalue()
    with pytest.raises(UserError, match="already cancelled"):
        cancel_hosted_job(cfg)
    assert fake.billed == []


def test_bad_hyperparameters_fail_before_any_request(fake: FakeTogether, tmp_path: Path) -> None:
    cfg = HostedFinetuneConfig(**_config(fake, tmp_path, hyperparameters={"epochs": 2}))  # type: ignore[arg-type]
    with pytest.raises(UserError, match="unknown Together fine-tuning hyperparameter"):
        run_hosted_finetune(cfg, progress=False)
    cfg = HostedFinetuneConfig(**_config(fake, tmp_path, max_cost_usd=1e-9))  # type: ignore[arg-type]
    with pytest.raises(UserError, match="above max_cost_usd"):
        run_hosted_finetune(cfg, progress=False)
    assert fake.jobs == {}


@pytest.mark.slow
@pytest.mark.parametrize("moment", ["during the create", "before the first poll"])
def test_kill_9_then_resume_pays_once(
    fake: FakeTogether, tmp_path: Path, capsys: pytest.CaptureFixture[str], moment: str
) -> None:
    gate = threading.Event()
    if moment == "during the create":
        fake.hold_create = gate  # the job exists; its id never reaches the client
        ready = lambda: bool(fake.jobs)  # noqa: E731
    else:
        fake.hold_poll = gate  # the id is answered; the first poll hangs
        ready = lambda: any(p.startswith("/v1/fine-tunes/ft-") for _, p in fake.log)  # noqa: E731
    path = write_config(tmp_path / "together.yaml", _config(fake, tmp_path))
    child = finetune_child(path, tmp_path / "p", {"TOGETHER_API_KEY": KEY})
    kill_when(child, ready)
    fake.hold_create = fake.hold_poll = None
    gate.set()
    code, out, err = cli(capsys, "finetune", str(path), "--project", str(tmp_path / "p"))
    assert code == 0, err
    if moment == "during the create":
        assert "adopted job ft-0001" in err
    assert list(fake.jobs) == ["ft-0001"]  # one job made, one paid for
    assert fake.billed == ["ft-0001"]
    assert [p for m, p in fake.log if m == "POST" and p == "/v1/fine-tunes"] == ["/v1/fine-tunes"]
    assert json.loads(out.splitlines()[0])["spec"].endswith("ft-0001")
