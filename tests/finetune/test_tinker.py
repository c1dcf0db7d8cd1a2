"""Tinker LoRA training through the real ``tinker`` SDK against a fake of its API: the
training loop runs here (forward_backward in protobuf, optim_step, checkpoints), with
progress, failure, cancel, kill -9 before the first step and mid-training (resumed from
the last checkpoint) without paying for a token twice, the cost from tokens sent, and
the result run by name (Tinker's OpenAI-compatible API, and the exported adapter)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from fieldwise.errors import UserError
from fieldwise.finetune.hosted import HostedFinetuneConfig, cancel_hosted_job, run_hosted_finetune
from fieldwise.models import create_model
from fieldwise.store import Store
from tests.cli.helpers import cli
from tests.fakes.tinker_server import FakeTinker
from tests.finetune.hosted_helpers import (
    chat_file,
    finetune_child,
    kill_when,
    peft_adapter,
    write_config,
)
from tests.finetune.mini_task import MINI, mini_examples

KEY = "tml-fakefakefakefakefakefakefake"
ROWS, BATCH, EPOCHS = 12, 4, 2
STEPS = ROWS // BATCH * EPOCHS


@pytest.fixture(scope="module")
def adapter_files(tiny_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    folder = peft_adapter(tiny_dir, tmp_path_factory.mktemp("lora") / "a")
    return {f.name: f.read_bytes() for f in folder.iterdir() if f.is_file()}


@pytest.fixture
def fake(adapter_files: dict[str, bytes]) -> Iterator[FakeTinker]:
    server = FakeTinker().start()
    server.adapter_files = adapter_files
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TINKER_API_KEY", KEY)
    monkeypatch.setenv("TINKER_TELEMETRY", "0")
    monkeypatch.chdir(tmp_path)


def _config(fake: FakeTinker, tmp_path: Path, tiny_dir: Path, **extra: object) -> dict[str, object]:
    return {
        "provider": "tinker",
        "base_model": "Qwen/Qwen3-8B",
        "name": "tinker-isaf",
        "training_file": str(chat_file(tmp_path / "train.jsonl", ROWS)),
        "suffix": "isaf",
        "hyperparameters": {
            "n_epochs": EPOCHS, "batch_size": BATCH, "lora_rank": 8, "checkpoint_every": 2,
            "tokenizer": str(tiny_dir), "learning_rate": 1e-4,
        },
        "price_per_mtok": 0.4,
        "base_url": fake.url,
        **extra,
    }  # fmt: skip


def test_training_loop_checkpoints_costs_and_runs_by_name(
    fake: FakeTinker, tmp_path: Path, tiny_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(tmp_path / "tinker.yaml", _config(fake, tmp_path, tiny_dir))
    code, out, err = cli(capsys, "finetune", str(path), "--project", str(tmp_path / "p"))
    assert code == 0, err
    assert fake.errors == []
    hosted, hf, _ = [json.loads(line) for line in out.strip().splitlines()]
    assert fake.steps == STEPS and KEY in fake.keys_seen
    assert len([c for c in fake.checkpoints if "/weights/" in c]) == STEPS // 2
    tokens = fake.billed_tokens
    assert f"estimated cost ${tokens * 0.4 / 1e6:.4g}" in err  # the estimate counted right
    assert f"cost: ${tokens * 0.4 / 1e6:.4g} (tokens sent x price_per_mtok)" in err
    assert f"step {STEPS}/{STEPS}" in err and "100.0%" in err
    # every session this process opened was ended (no heartbeats left running)
    assert fake.finished == dict.fromkeys(fake.sessions, "success")
    with Store(tmp_path / "p") as store:
        model = {m["label"]: m for m in store.models()}["tinker-isaf"]
    assert (
        model["spec"]
        == hosted["spec"]
        == "openai/tinker://sess-1:train:0/sampler_weights/isaf-final"
    )
    assert model["options"]["base_url"] == f"{fake.url}/oai/api/v1"
    runnable = create_model(model["spec"], MINI, model["options"])
    answer = asyncio.run(runnable.generate(mini_examples(1)))[0]
    assert json.loads(answer.output or "") == {"answer": "fine-tuned"}
    local = create_model(hf["spec"], MINI, {"max_tokens": 4})
    assert len(asyncio.run(local.generate(mini_examples(1)))) == 1


def test_failure_and_cancel(fake: FakeTinker, tmp_path: Path, tiny_dir: Path) -> None:
    fake.fail_forward = "sequence longer than the model's context"
    cfg = HostedFinetuneConfig(**_config(fake, tmp_path, tiny_dir))  # type: ignore[arg-type]
    with pytest.raises(UserError, match="failed: .*sequence longer than the model's context"):
        run_hosted_finetune(cfg, progress=False)
    fake.fail_forward = None
    slow = HostedFinetuneConfig(**_config(fake, tmp_path, tiny_dir, timeout_s=0.001))  # type: ignore[arg-type]
    with pytest.raises(UserError, match="still step"):
        run_hosted_finetune(slow, progress=False)
    steps = fake.steps
    cancel_hosted_job(slow)
    with pytest.raises(UserError, match="already cancelled"):
        cancel_hosted_job(slow)
    assert fake.steps == steps  # nothing trained after the cancel


def test_tokenizer_is_needed_offline(fake: FakeTinker, tmp_path: Path, tiny_dir: Path) -> None:
    settings = _config(fake, tmp_path, tiny_dir)
    settings["hyperparameters"] = {"n_epochs": 1, "tokenizer": str(tmp_path / "nowhere")}
    with pytest.raises(UserError, match="cannot load the tokenizer"):
        run_hosted_finetune(HostedFinetuneConfig(**settings), progress=False)  # type: ignore[arg-type]
    bad = {**settings, "hyperparameters": {"batch_size": 0}}
    with pytest.raises(UserError, match="batch_size must be positive"):
        run_hosted_finetune(HostedFinetuneConfig(**bad), progress=False)  # type: ignore[arg-type]


@pytest.mark.slow
@pytest.mark.parametrize("held", [1, 3], ids=["before the first step", "after checkpoint 1"])
def test_kill_9_then_resume_pays_each_token_once(
    fake: FakeTinker, tmp_path: Path, tiny_dir: Path, capsys: pytest.CaptureFixture[str], held: int
) -> None:
    gate = threading.Event()
    fake.hold_forward, fake.hold_from = gate, held
    path = write_config(tmp_path / "tinker.yaml", _config(fake, tmp_path, tiny_dir))
    env = {"TINKER_API_KEY": KEY, "TINKER_TELEMETRY": "0"}
    kill_when(finetune_child(path, tmp_path / "p", env), lambda: fake.forwards >= held)
    fake.hold_forward = None
    gate.set()
    code, out, err = cli(capsys, "finetune", str(path), "--project", str(tmp_path / "p"))
    assert code == 0, err
    assert fake.steps == STEPS  # every step ran once: nothing repeated, nothing skipped
    full = fake.billed_tokens
    if held == 1:
        assert "started a fresh LoRA run (nothing was trained)" in err
    else:
        assert "resumed at step 2 from tinker://sess-1:train:0/weights/isaf-step-000002" in err
    # one training's tokens, as the estimate counted them
    record = json.loads(next((tmp_path / "p" / "hosted").glob("tinker-*.json")).read_text())
    assert record["provider_state"]["tokens_sent"] == full
    assert record["estimate_usd"] == pytest.approx(full * 0.4 / 1e6)  # = one full training
    assert json.loads(out.splitlines()[0])["spec"].endswith("sampler_weights/isaf-final")
