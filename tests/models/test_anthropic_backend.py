"""The Anthropic backend: request/response mapping (always) and, when the optional
``anthropic`` SDK is installed, real HTTP against the fake server's ``/v1/messages``."""

from __future__ import annotations

import asyncio
import importlib.util
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from fieldwise.errors import MissingDependency
from fieldwise.models import RetryableError, create_model
from fieldwise.models.anthropic_backend import AnthropicOptions, build_request, parse_message
from fieldwise.runner import RetryPolicy, RunSettings, run_model_async
from fieldwise.store import Store
from fieldwise.tasks import Example, Task, load_task
from fieldwise.tasks.prompts import render_messages
from tests.fakes.openai_server import FakeServer
from tests.fakes.openai_server import fake_openai as fake_openai  # noqa: F401 - fixture

DOC = Example("e1", "[doc-000] Coalition forces detained two insurgents in Kandahar.")


@pytest.fixture
def isaf() -> Task:
    return load_task("isaf")


def test_missing_sdk_explains_the_extra(isaf: Task, monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "anthropic" else real(name)
    )
    with pytest.raises(MissingDependency) as info:
        create_model("anthropic/claude-x", isaf)
    assert "pip install 'fieldwise[anthropic]'" in str(info.value)


def test_request_moves_the_system_prompt_and_forces_the_tool(isaf: Task) -> None:
    messages = render_messages(isaf, DOC)
    plain = build_request("claude-x", isaf, messages, AnthropicOptions(max_tokens=99))
    assert plain["system"] == messages[0]["content"]
    assert plain["messages"] == [{"role": "user", "content": DOC.text}]
    assert plain["max_tokens"] == 99 and "tools" not in plain and "extra_body" not in plain
    warm = build_request("claude-x", isaf, messages, AnthropicOptions(temperature=0.0))
    assert warm["extra_body"] == {"temperature": 0.0}
    tools = build_request("claude-x", isaf, messages, AnthropicOptions(output_mode="tools"))
    assert tools["tools"][0]["input_schema"] == isaf.json_schema()
    assert tools["tool_choice"] == {"type": "tool", "name": "isaf"}


def test_parse_prefers_the_tool_input_over_text() -> None:
    usage = SimpleNamespace(input_tokens=10, output_tokens=3)
    tool = SimpleNamespace(type="tool_use", input={"min_killed": 1})
    text = SimpleNamespace(type="text", text="Here you go")
    gen = parse_message(
        SimpleNamespace(content=[text, tool], usage=usage, stop_reason="tool_use"), 0.2
    )
    assert json.loads(gen.output or "") == {"min_killed": 1}
    assert (gen.input_tokens, gen.output_tokens, gen.finish_reason) == (10, 3, "tool_use")
    only_text = parse_message(SimpleNamespace(content=[text], usage=None, stop_reason="x"), 0)
    assert only_text.output == "Here you go" and only_text.input_tokens is None
    with pytest.raises(ValueError):
        parse_message(object(), 0.0)


def _anthropic_model(server: FakeServer, task: Task, **options: Any) -> Any:
    pytest.importorskip("anthropic")
    base = server.url.removesuffix("/v1")
    return create_model("anthropic/claude-fake", task, {"base_url": base, **options})


def test_tools_mode_over_http(fake_openai: FakeServer, isaf: Task) -> None:
    model = _anthropic_model(fake_openai, isaf, output_mode="tools", temperature=0.2)
    fake_openai.behaviour.reply = lambda text: '{"min_captured": 2}'

    async def main() -> Any:
        try:
            return (await model.generate([DOC]))[0]
        finally:
            await model.aclose()

    gen = asyncio.run(main())
    assert json.loads(gen.output) == {"min_captured": 2} and gen.finish_reason == "tool_use"
    entry = fake_openai.log[-1]
    assert entry.path == "/v1/messages" and entry.body is not None
    assert entry.body["tool_choice"] == {"type": "tool", "name": "isaf"}
    assert "Return exactly one JSON object" in entry.body["system"]
    assert entry.body["temperature"] == 0.2


def test_429_and_500_are_retried_by_the_runner(
    fake_openai: FakeServer, isaf: Task, tmp_path: Path
) -> None:
    model = _anthropic_model(fake_openai, isaf)
    fake_openai.behaviour.retry_after_s = (0.2, 0.2)
    fake_openai.behaviour.faults = {"[doc-000]": ["429", "500"]}

    async def main() -> Any:
        with Store(tmp_path) as store:
            try:
                return await run_model_async(
                    model,
                    [DOC],
                    store,
                    label="c",
                    run_id=None,
                    settings=RunSettings(retry=RetryPolicy(base_s=0.01)),
                )
            finally:
                await model.aclose()

    out = asyncio.run(main())
    assert out.failed == 0 and json.loads(out.rows[0].output or "")["echo"]
    tries = fake_openai.requests_for("[doc-000]")
    assert [t.fault for t in tries] == ["429", "500", "ok"]
    assert tries[1].started - tries[0].started >= 0.2


def test_rate_limit_carries_retry_after(fake_openai: FakeServer, isaf: Task) -> None:
    model = _anthropic_model(fake_openai, isaf)
    fake_openai.behaviour.retry_after_s = (0.7, 0.7)
    fake_openai.behaviour.script = ["429"]

    async def main() -> None:
        try:
            await model.generate([DOC])
        finally:
            await model.aclose()

    with pytest.raises(RetryableError) as info:
        asyncio.run(main())
    assert info.value.retry_after == pytest.approx(0.7)
