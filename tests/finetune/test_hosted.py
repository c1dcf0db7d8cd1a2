"""Hosted fine-tuning against a local fake of OpenAI's fine-tuning API over real HTTP.

The official ``openai`` client talks to the fake, so request shapes (multipart upload,
``method.supervised.hyperparameters``, auth header) are the SDK's real ones.
"""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from fieldwise.errors import UserError
from fieldwise.finetune.hosted import (
    HostedFinetuneConfig,
    is_hosted_config,
    load_hosted_config,
    run_hosted_finetune,
)
from fieldwise.finetune.providers import JobStatus, ProviderSettings
from fieldwise.finetune.providers._openai import OpenAIProvider

KEY = "sk-test-fake"


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Job records default to ./.fieldwise/hosted: keep them out of the checkout."""
    monkeypatch.chdir(tmp_path)


STATES = ["validating_files", "queued", "running", "running"]


class FakeFineTuning:
    """In-memory state of the fake service; ``fail_with`` makes every job fail."""

    def __init__(self, fail_with: str | None = None) -> None:
        self.fail_with = fail_with
        self.files: dict[str, dict[str, Any]] = {}
        self.jobs: dict[str, dict[str, Any]] = {}
        self.polls: dict[str, int] = {}
        self.requests: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def job_view(self, job_id: str, advance: bool) -> dict[str, Any]:
        job = self.jobs[job_id]
        if advance and job["status"] not in ("succeeded", "failed"):
            n = self.polls[job_id] = self.polls.get(job_id, 0) + 1
            if n < len(STATES):
                job["status"] = STATES[n]
                job["trained_tokens"] = 1000 * n if job["status"] == "running" else None
                job["events"].append(f"Job is {job['status']}")
            elif self.fail_with:
                job["status"] = "failed"
                job["error"] = {"code": "invalid_training_file", "message": self.fail_with}
                job["events"].append("Job failed")
            else:
                job["status"] = "succeeded"
                job["trained_tokens"] = 4321
                job["fine_tuned_model"] = f"ft:{job['model']}:org:{job['suffix']}:abc123"
                job["finished_at"] = int(time.time())
                job["events"].append("The job has successfully completed")
        return {k: v for k, v in job.items() if k != "events"}


def _handler(state: FakeFineTuning) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _authorised(self) -> bool:
            if self.headers.get("authorization") == f"Bearer {KEY}":
                return True
            self._send(401, {"error": {"message": "bad key", "type": "invalid_request_error"}})
            return False

        def do_POST(self) -> None:  # noqa: N802
            state.requests.append(("POST", self.path))
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            if not self._authorised():
                return
            with state.lock:
                if self.path == "/v1/files":
                    assert self.headers["content-type"].startswith("multipart/form-data")
                    file_id = f"file-{len(state.files) + 1}"
                    state.files[file_id] = {"raw": body}
                    self._send(
                        200,
                        {
                            "id": file_id,
                            "object": "file",
                            "bytes": len(body),
                            "created_at": int(time.time()),
                            "filename": "train.jsonl",
                            "purpose": "fine-tune",
                            "status": "processed",
                        },
                    )
                elif self.path == "/v1/fine_tuning/jobs":
                    req = json.loads(body)
                    if req["training_file"] not in state.files:
                        self._send(400, {"error": {"message": "no such file"}})
                        return
                    job_id = f"ftjob-{len(state.jobs) + 1}"
                    state.jobs[job_id] = {
                        "id": job_id,
                        "object": "fine_tuning.job",
                        "model": req["model"],
                        "created_at": int(time.time()),
                        "status": "validating_files",
                        "fine_tuned_model": None,
                        "finished_at": None,
                        "error": None,
                        "hyperparameters": req["method"]["supervised"]["hyperparameters"],
                        "organization_id": "org",
                        "result_files": [],
                        "seed": 1,
                        "trained_tokens": None,
                        "training_file": req["training_file"],
                        "validation_file": None,
                        "suffix": req.get("suffix"),
                        "method": req["method"],
                        "events": ["Created fine-tuning job"],
                    }
                    self._send(200, state.job_view(job_id, advance=False))
                else:
                    self._send(404, {"error": {"message": "not found"}})

        def do_GET(self) -> None:  # noqa: N802
            state.requests.append(("GET", self.path))
            if not self._authorised():
                return
            parts = self.path.split("?")[0].strip("/").split("/")
            with state.lock:
                if len(parts) < 4 or parts[3] not in state.jobs:
                    self._send(404, {"error": {"message": "no such job"}})
                elif len(parts) == 4:
                    self._send(200, state.job_view(parts[3], advance=True))
                else:
                    msgs = state.jobs[parts[3]]["events"]
                    events = [
                        {
                            "id": f"ev-{i}",
                            "object": "fine_tuning.job.event",
                            "level": "info",
                            "message": m,
                            "created_at": 1700000000 + i,
                            "type": "message",
                        }
                        for i, m in enumerate(msgs)
                    ]
                    self._send(200, {"object": "list", "data": events[::-1], "has_more": False})

    return Handler


def _serve(state: FakeFineTuning) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def fake() -> FakeFineTuning:
    return FakeFineTuning()


@pytest.fixture
def base_url(fake: FakeFineTuning) -> Iterator[str]:
    yield from _serve(fake)


@pytest.fixture
def train_file(tmp_path: Path) -> Path:
    path = tmp_path / "train.jsonl"
    rows = [
        {
            "messages": [
                {"role": "system", "content": "Extract."},
                {"role": "user", "content": f"report {i}"},
                {"role": "assistant", "content": json.dumps({"n": i})},
            ]
        }
        for i in range(12)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _config(base_url: str, train_file: Path, **extra: Any) -> HostedFinetuneConfig:
    settings: dict[str, Any] = {
        "provider": "openai",
        "base_model": "gpt-4o-mini-2024-07-18",
        "training_file": train_file,
        "suffix": "isaf",
        "hyperparameters": {"n_epochs": 3},
        "poll_interval_s": 0.01,
        "base_url": base_url,
    }
    return HostedFinetuneConfig(**{**settings, **extra})


def test_job_runs_to_completion_and_returns_model_spec(
    monkeypatch: pytest.MonkeyPatch,
    fake: FakeFineTuning,
    base_url: str,
    train_file: Path,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=120)
    result = run_hosted_finetune(
        _config(base_url, train_file, name="gpt4o-mini-isaf", output_dir=tmp_path / "rec"),
        console=console,
    )
    assert result.spec == "openai/ft:gpt-4o-mini-2024-07-18:org:isaf:abc123"
    assert result.kind == "finetune"
    assert result.label == "gpt4o-mini-isaf"
    assert result.job_id == "ftjob-1"
    assert result.trained_tokens == 4321
    # The upload carried the file's bytes; the job got the hyperparameters as sent.
    assert train_file.read_bytes() in fake.files["file-1"]["raw"]
    assert fake.jobs["ftjob-1"]["hyperparameters"] == {"n_epochs": 3}
    assert fake.jobs["ftjob-1"]["suffix"] == "isaf"
    # It polled until the job finished and showed every event exactly once.
    assert fake.polls["ftjob-1"] == len(STATES)
    log = out.getvalue()
    assert log.count("Job is queued") == 1
    assert "successfully completed" in log
    assert "secret" not in log and KEY not in log
    record = json.loads((tmp_path / "rec" / "hosted_model.json").read_text())
    assert record["spec"] == result.spec and record["kind"] == "finetune"


def test_failed_job_is_a_user_error(monkeypatch: pytest.MonkeyPatch, train_file: Path) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    state = FakeFineTuning(fail_with="Training file has 3 examples; at least 10 required")
    for url in _serve(state):
        with pytest.raises(UserError, match="ftjob-1 failed: Training file has 3 examples"):
            run_hosted_finetune(_config(url, train_file), progress=False)


def test_resume_waits_for_existing_job_without_uploading(
    monkeypatch: pytest.MonkeyPatch, fake: FakeFineTuning, base_url: str, train_file: Path
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    run_hosted_finetune(_config(base_url, train_file), progress=False)
    uploads = [r for r in fake.requests if r[0] == "POST"]
    config = HostedFinetuneConfig(
        provider="openai",
        base_model="gpt-4o-mini-2024-07-18",
        job_id="ftjob-1",
        base_url=base_url,
        poll_interval_s=0.01,
    )
    result = run_hosted_finetune(config, progress=False)
    assert result.spec.startswith("openai/ft:")
    assert [r for r in fake.requests if r[0] == "POST"] == uploads


def test_timeout_says_how_to_resume(
    monkeypatch: pytest.MonkeyPatch, base_url: str, train_file: Path
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    config = _config(base_url, train_file, timeout_s=0.001)
    config.poll_interval_s = 0.05
    with pytest.raises(UserError) as info:
        run_hosted_finetune(config, progress=False)
    assert "job_id: ftjob-1" in str(info.value)


def test_missing_or_wrong_key(
    monkeypatch: pytest.MonkeyPatch, base_url: str, train_file: Path
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(UserError, match="OPENAI_API_KEY is not set"):
        run_hosted_finetune(_config(base_url, train_file), progress=False)
    monkeypatch.setenv("MY_KEY", "wrong")
    with pytest.raises(UserError, match="rejected the API key") as info:
        run_hosted_finetune(_config(base_url, train_file, api_key_env="MY_KEY"), progress=False)
    assert "wrong" not in str(info.value)


def test_bad_inputs_fail_before_any_request(
    monkeypatch: pytest.MonkeyPatch,
    fake: FakeFineTuning,
    base_url: str,
    tmp_path: Path,
    train_file: Path,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"messages": [{"role": "user", "content": "hi"}]}\n', encoding="utf-8")
    with pytest.raises(UserError, match="no assistant message"):
        run_hosted_finetune(_config(base_url, bad), progress=False)
    bad.write_text("{not json\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"bad.jsonl:1: not valid JSON"):
        run_hosted_finetune(_config(base_url, bad), progress=False)
    cfg = _config(base_url, train_file)
    cfg.hyperparameters = {"epochs": 3}
    with pytest.raises(UserError, match="unknown OpenAI fine-tuning hyperparameter"):
        run_hosted_finetune(cfg, progress=False)
    cfg = _config(base_url, train_file, provider="nowhere")
    with pytest.raises(UserError, match="unknown fine-tuning provider 'nowhere'"):
        run_hosted_finetune(cfg, progress=False)
    assert fake.requests == []


def test_config_loading_and_detection(tmp_path: Path, train_file: Path) -> None:
    path = tmp_path / "hosted.yaml"
    path.write_text(
        f"provider: openai\nbase_model: gpt-4o-mini\ntraining_file: {train_file}\n"
        "suffix: isaf\nhyperparameters: {n_epochs: 2}\n",
        encoding="utf-8",
    )
    config = load_hosted_config(path)
    assert config.hyperparameters == {"n_epochs": 2} and config.label == "isaf"
    assert is_hosted_config({"provider": "openai", "base_model": "x"})
    assert not is_hosted_config({"base_model": "hf/tiny", "method": "lora"})
    assert config.training_file == train_file
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "h.yaml").write_text(
        "provider: openai\nbase_model: m\ntraining_file: ../train.jsonl\n", encoding="utf-8"
    )
    assert load_hosted_config(tmp_path / "sub" / "h.yaml").training_file == train_file
    with pytest.raises(UserError, match="training_file, or train"):
        load_hosted_config({"provider": "openai", "base_model": "x"})
    with pytest.raises(UserError, match="unknown key 'n_epoch'"):
        load_hosted_config({"base_model": "x", "training_file": "t", "n_epoch": 2})
    with pytest.raises(UserError, match="missing required key 'base_model'"):
        load_hosted_config({"training_file": "t"})


TOY_TASK = """
from pydantic import BaseModel
from fieldwise.tasks import Task

class Out(BaseModel):
    city: str
    count: int

TASK = Task.from_model("toy", Out)
"""


def test_exports_task_data_on_the_fly(
    monkeypatch: pytest.MonkeyPatch, fake: FakeFineTuning, base_url: str, tmp_path: Path
) -> None:
    pytest.importorskip("fieldwise.data.export")
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    (tmp_path / "toy.py").write_text(TOY_TASK, encoding="utf-8")
    rows = [
        {"id": f"r{i}", "text": f"{i} people met in Kabul", "city": "Kabul", "count": i}
        for i in range(3)
    ]
    data = tmp_path / "toy.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    config = HostedFinetuneConfig(
        base_model="gpt-4o-mini",
        task=f"{tmp_path / 'toy.py'}:TASK",
        train=str(data),
        suffix="toy",
        poll_interval_s=0.01,
        base_url=base_url,
        output_dir=tmp_path / "out",
    )
    result = run_hosted_finetune(config, progress=False)
    assert result.spec == "openai/ft:gpt-4o-mini:org:toy:abc123"
    exported = (tmp_path / "out" / "toy-train.openai-chat.jsonl").read_text(encoding="utf-8")
    assert exported.encode() in fake.files["file-1"]["raw"]
    first = json.loads(exported.splitlines()[0])
    assert first["messages"][-1] == {"role": "assistant", "content": '{"city":"Kabul","count":0}'}
    assert "0 people met in Kabul" in first["messages"][-2]["content"]


def test_cli_runs_the_hosted_job_and_registers_the_model(
    monkeypatch: pytest.MonkeyPatch,
    base_url: str,
    train_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import yaml

    from fieldwise.cli import main
    from fieldwise.store import Store

    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.chdir(tmp_path)
    config = {
        "provider": "openai", "base_model": "gpt-4o-mini-2024-07-18", "name": "mini-isaf",
        "training_file": str(train_file), "suffix": "isaf", "poll_interval_s": 0.01,
        "base_url": base_url,
    }  # fmt: skip
    (tmp_path / "hosted.yaml").write_text(yaml.safe_dump(config))
    with pytest.raises(SystemExit) as done:
        main(["finetune", "hosted.yaml", "--quiet"])
    assert done.value.code in (0, None)
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed == {
        "label": "mini-isaf",
        "spec": "openai/ft:gpt-4o-mini-2024-07-18:org:isaf:abc123",
        "kind": "finetune",
    }
    with Store(tmp_path / ".fieldwise") as store:
        (model,) = store.models()
    assert (model["label"], model["spec"], model["kind"]) == (
        "mini-isaf",
        printed["spec"],
        "finetune",
    )
    # What the model needs to run is registered with it, for run to reload.
    assert model["options"] == {"base_url": base_url}
    assert KEY not in (tmp_path / ".fieldwise" / "fieldwise.sqlite").read_bytes().decode(
        "utf-8", "ignore"
    )


def test_a_model_name_that_is_a_path_stays_inside_the_output_folder(
    monkeypatch: pytest.MonkeyPatch, fake: FakeFineTuning, base_url: str, tmp_path: Path
) -> None:
    """Hostile suite: the exported file is named after the model; ``../`` in the name
    must not write outside ``output_dir``."""
    pytest.importorskip("fieldwise.data.export")
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    (tmp_path / "toy.py").write_text(TOY_TASK, encoding="utf-8")
    data = tmp_path / "toy.jsonl"
    row = {"id": "r0", "text": "2 people met in Kabul", "city": "Kabul", "count": 2}
    data.write_text(json.dumps(row) + "\n", encoding="utf-8")
    out = tmp_path / "deep" / "out"
    config = HostedFinetuneConfig(
        base_model="gpt-4o-mini",
        name="../../escaped",
        task=f"{tmp_path / 'toy.py'}:TASK",
        train=str(data),
        suffix="toy",
        poll_interval_s=0.01,
        base_url=base_url,
        output_dir=out,
    )
    run_hosted_finetune(config, progress=False)
    assert not list(tmp_path.glob("escaped*")) and not list((tmp_path / "deep").glob("escaped*"))
    assert [p.name for p in out.glob("*-train.openai-chat.jsonl")] == [
        "_.._escaped-train.openai-chat.jsonl"
    ]


def test_a_provider_declares_its_training_format(tmp_path: Path) -> None:
    from fieldwise.finetune.hosted import check_training_file
    from fieldwise.finetune.providers import RunnableSpec

    rows = tmp_path / "pc.jsonl"
    rows.write_text(json.dumps({"prompt": "Text: x", "completion": "{}"}) + "\n")
    assert check_training_file(rows, "prompt-completion") == 1
    with pytest.raises(UserError, match="expected .*messages"):
        check_training_file(rows, "openai-chat")  # the same file is not chat
    rows.write_text(json.dumps({"prompt": "Text: x"}) + "\n")
    with pytest.raises(UserError, match="not a prompt-completion row"):
        check_training_file(rows, "prompt-completion")

    class Other(OpenAIProvider):
        spec_prefix = "together"
        default_key_env = "TOGETHER_API_KEY"

    provider = object.__new__(Other)
    provider.settings = ProviderSettings(api_key_env="MY_TOGETHER_KEY")
    done = JobStatus("j1", "succeeded", "succeeded", fine_tuned_model="me/llama-ft")
    assert provider.result_spec(done) == RunnableSpec(
        "together/me/llama-ft", {"api_key_env": "MY_TOGETHER_KEY"}
    )
