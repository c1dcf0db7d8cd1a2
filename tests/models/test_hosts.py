"""Named OpenAI-compatible hosts: ``together/MODEL`` and any registered host run on the
OpenAI backend with the host's base URL, key variable and quirks, through the real SDK
path against the fake server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fieldwise import registry
from fieldwise.errors import UserError
from fieldwise.models import create_model, get_backend
from fieldwise.models.hosts import Host
from fieldwise.runner import run_model
from fieldwise.store import Store
from fieldwise.tasks import Task, load_task
from tests.fakes.openai_server import FakeServer
from tests.fakes.openai_server import fake_openai as fake_openai  # noqa: F401 - fixture
from tests.runner.helpers import docs

TOGETHER_KEY = "tg-test-key-0123456789abcdef"


@pytest.fixture
def isaf() -> Task:
    return load_task("isaf")


def _requests(model_spec: str, server: FakeServer, task: Task, tmp_path: Path, **opts: object):  # type: ignore[no-untyped-def]
    model = create_model(model_spec, task, {"base_url": server.url, **opts})
    with Store(tmp_path / "project") as store:
        out = run_model(model, docs(2), store, label="m")
    assert out.failed == 0
    return server.snapshot()


def test_together_runs_with_its_own_key_token_limit_and_schema_dialect(
    fake_openai: FakeServer, isaf: Task, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOGETHER_API_KEY", TOGETHER_KEY)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-not-for-together-0000000000")
    sent = _requests(
        "together/meta-llama/Llama-3.3-70B", fake_openai, isaf, tmp_path, output_mode="json_schema"
    )
    assert {r.auth for r in sent} == {f"Bearer {TOGETHER_KEY}"}
    body = sent[0].body
    assert body is not None and body["model"] == "meta-llama/Llama-3.3-70B"
    assert "max_tokens" in body and "max_completion_tokens" not in body
    # A plain dialect: the task's schema as it is, not OpenAI's strict rewrite.
    schema = body["response_format"]["json_schema"]
    assert schema["strict"] is False and schema["schema"] == isaf.json_schema()


def test_a_host_is_its_own_model_and_knows_its_address(
    isaf: Task, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOGETHER_API_KEY", TOGETHER_KEY)
    monkeypatch.setenv("FIREWORKS_API_KEY", "fw-test-key-0123456789abcdef")
    together = create_model("together/m", isaf)
    fireworks = create_model("fireworks/accounts/x/models/m", isaf)
    assert together.base_url == "https://api.together.xyz/v1"  # type: ignore[attr-defined]
    assert fireworks.base_url == "https://api.fireworks.ai/inference/v1"  # type: ignore[attr-defined]
    assert together.spec == "together/m" and together.identity()["provider"] == "together"
    assert (
        together.identity()
        != create_model(
            "openai/m",
            isaf,
            {"base_url": "https://api.together.xyz/v1", "api_key_env": "TOGETHER_API_KEY"},
        ).identity()
    )
    assert get_backend("together").batch_api is None  # no batch API is claimed for it
    monkeypatch.delenv("TOGETHER_API_KEY")
    with pytest.raises(UserError, match="no API key") as err:
        create_model("together/m", isaf)
    assert "TOGETHER_API_KEY" in str(err.value.hint)


def test_openai_quirks_apply_at_openai_only(isaf: Task, monkeypatch: pytest.MonkeyPatch) -> None:
    from fieldwise.tasks import Example

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-0000000000000000000000")
    ex = Example("e", "text")
    official = create_model("openai/gpt-x", isaf, {"output_mode": "json_schema"})
    body = official.request(ex)  # type: ignore[attr-defined]
    assert "max_completion_tokens" in body and body["response_format"]["json_schema"]["strict"]
    local = create_model("openai/m", isaf, {"base_url": "http://127.0.0.1:9/v1"})
    assert "max_tokens" in local.request(ex)  # type: ignore[attr-defined]


@pytest.fixture
def my_host(fake_openai: FakeServer) -> Iterator[Host]:
    host = Host(
        "myhost",
        fake_openai.url,
        "MYHOST_KEY",
        token_limit_param="max_completion_tokens",
        schema_dialect="strict",
        batch=True,
    )
    registry.hosts.register("myhost", host)
    try:
        yield host
    finally:
        registry.hosts.unregister("myhost")


def test_any_compatible_host_is_one_registration(
    my_host: Host,
    fake_openai: FakeServer,
    isaf: Task,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MYHOST_KEY", "mh-test-key-0123456789abcdef")
    model = create_model("myhost/some-model", isaf, {"output_mode": "json_schema"})
    with Store(tmp_path / "project") as store:
        assert run_model(model, docs(1), store, label="m").failed == 0
    [sent] = fake_openai.snapshot()
    assert sent.auth == "Bearer mh-test-key-0123456789abcdef"
    assert sent.body is not None and "max_completion_tokens" in sent.body  # at its own address
    assert sent.body["response_format"]["json_schema"]["strict"] is True
    assert get_backend("myhost").batch_api == "openai"  # its batch API is OpenAI's


def test_an_unknown_provider_lists_the_hosts_too() -> None:
    with pytest.raises(UserError, match="unknown model provider 'nowhere'") as err:
        get_backend("nowhere")
    assert "together" in str(err.value.hint) and "openai" in str(err.value.hint)
