"""The OpenAI-compatible backend: request shapes per output mode, keys, identity, errors."""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import enum
import json
import logging
import random
from typing import Any

import pytest
from pydantic import BaseModel

from fieldwise.errors import UserError
from fieldwise.models import RetryableError, create_model, get_backend
from fieldwise.models.openai_backend import (
    APIRequestError,
    OpenAIModel,
    make_strict,
    map_status_error,
    output_schema,
    parse_completion,
    retry_after_s,
)
from fieldwise.tasks import Example, Task, load_task
from tests.fakes.openai_server import FakeServer
from tests.fakes.openai_server import fake_openai as fake_openai  # noqa: F401 - fixture
from tests.fakes.schema_instances import instance

DOC = Example("e1", "On 3 May 2011 coalition forces detained two insurgents in Kandahar.")


@pytest.fixture
def isaf() -> Task:
    return load_task("isaf")


def _send(server: FakeServer, task: Task, **options: Any) -> tuple[str | None, dict[str, Any]]:
    model = create_model("openai/some-model", task, {"base_url": server.url, **options})

    async def main() -> str | None:
        try:
            return (await model.generate([DOC]))[0].output
        finally:
            await model.aclose()

    output = asyncio.run(main())
    body = server.log[-1].body
    assert body is not None
    return output, body


def test_registry_resolves_the_backend(isaf: Task) -> None:
    assert get_backend("openai") is OpenAIModel
    with pytest.raises(UserError, match="bad option 'output_mode'"):
        create_model("openai/x", isaf, {"base_url": "http://127.0.0.1:1/v1", "output_mode": "xml"})
    with pytest.raises(UserError, match="bad option 'api_key'"):
        create_model("openai/x", isaf, {"api_key": "sk-no"})  # keys are never options


def test_prompt_mode_sends_plain_messages(fake_openai: FakeServer, isaf: Task) -> None:
    output, body = _send(fake_openai, isaf, temperature=0.3, max_tokens=77, seed=7)
    assert json.loads(output or "")["echo"] == DOC.text[:40]
    assert body["model"] == "some-model"
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert body["messages"][-1]["content"] == DOC.text
    assert (body["temperature"], body["max_tokens"], body["seed"]) == (0.3, 77, 7)
    assert not {"response_format", "tools", "tool_choice", "max_completion_tokens"} & set(body)


def test_json_object_mode(fake_openai: FakeServer, isaf: Task) -> None:
    _, body = _send(fake_openai, isaf, output_mode="json_object")
    assert body["response_format"] == {"type": "json_object"}


def test_json_schema_mode_sends_a_strict_schema(fake_openai: FakeServer, isaf: Task) -> None:
    _, body = _send(fake_openai, isaf, output_mode="json_schema")
    spec = body["response_format"]
    assert spec["type"] == "json_schema"
    assert spec["json_schema"]["name"] == "isaf" and spec["json_schema"]["strict"] is True
    schema = spec["json_schema"]["schema"]
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == set(schema["properties"]) == {f.name for f in isaf.fields}
    assert schema["$defs"]["Province"]["enum"][0] == "badakhshan"


def test_tools_mode_forces_one_function_and_returns_its_arguments(
    fake_openai: FakeServer, isaf: Task
) -> None:
    fake_openai.behaviour.reply = lambda text: '{"min_captured": 2}'
    output, body = _send(fake_openai, isaf, output_mode="tools", strict=False)
    assert output == '{"min_captured": 2}'
    (tool,) = body["tools"]
    assert tool["type"] == "function" and tool["function"]["name"] == "isaf"
    assert tool["function"]["parameters"] == isaf.json_schema()
    assert tool["function"]["strict"] is False
    assert body["tool_choice"] == {"type": "function", "function": {"name": "isaf"}}


def test_extra_body_reaches_the_server(fake_openai: FakeServer, isaf: Task) -> None:
    _, body = _send(fake_openai, isaf, extra_body={"adapter_id": "org/lora", "top_k": 5})
    assert body["adapter_id"] == "org/lora" and body["top_k"] == 5


def test_official_api_gets_max_completion_tokens(
    isaf: Task, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    official = create_model("openai/gpt-4o-mini", isaf, {"max_tokens": 50})
    assert official.base_url == "https://api.openai.com/v1"  # type: ignore[attr-defined]
    request = official.request(DOC)  # type: ignore[attr-defined]
    assert request["max_completion_tokens"] == 50 and "max_tokens" not in request


def test_missing_key_is_a_user_error_except_for_local_servers(
    fake_openai: FakeServer, isaf: Task, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(UserError, match="set OPENAI_API_KEY or the api_key_env option"):
        create_model("openai/gpt-4o", isaf)
    with pytest.raises(UserError, match="set TOGETHER_API_KEY"):
        create_model(
            "openai/m",
            isaf,
            {"base_url": "https://api.together.xyz/v1", "api_key_env": "TOGETHER_API_KEY"},
        )
    monkeypatch.setenv("OPENAI_BASE_URL", fake_openai.url)
    model = create_model("openai/local", isaf)  # localhost from the environment: no key needed

    async def main() -> None:
        await model.generate([DOC])
        await model.aclose()

    asyncio.run(main())
    assert fake_openai.log[-1].auth == "Bearer not-needed"


def test_identity_has_the_host_but_no_key_or_timeouts(
    isaf: Task, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FW_KEY", "fw-secret-value")
    base = {"base_url": "https://api.fireworks.ai/inference/v1/", "api_key_env": "FW_KEY"}
    a = create_model("openai/llama", isaf, base)
    b = create_model("openai/llama", isaf, {**base, "timeout_s": 5, "api_key_env": "FW_KEY"})
    assert a.identity() == b.identity()
    ident = a.identity()
    assert ident["options"]["base_url"] == "https://api.fireworks.ai/inference/v1"
    assert "fw-secret-value" not in json.dumps(ident) and "api_key_env" not in ident["options"]
    assert "timeout_s" not in ident["options"] and ident["prompt"]
    other_host = create_model("openai/llama", isaf, {**base, "base_url": "http://127.0.0.1:9/v1"})
    tools = create_model("openai/llama", isaf, {**base, "output_mode": "tools"})
    assert len({json.dumps(m.identity(), sort_keys=True) for m in (a, other_host, tools)}) == 3


class Colour(enum.Enum):
    RED = "red"


class Inner(BaseModel):
    colour: Colour = Colour.RED


class Loose(BaseModel):
    inner: Inner
    note: str | None = None
    count: int = 0


class FreeForm(BaseModel):
    extra: dict[str, int]


def test_make_strict_closes_objects_and_requires_every_property() -> None:
    strict = make_strict(Loose.model_json_schema())
    assert strict["additionalProperties"] is False
    assert strict["required"] == ["inner", "note", "count"]
    # nullable exactly where the Pydantic type is: ``int = 0`` must not accept null
    assert strict["properties"]["count"]["type"] == "integer"
    assert strict["properties"]["note"]["anyOf"][1] == {"type": "null"}
    assert "default" not in json.dumps(strict)
    inner = strict["$defs"]["Inner"]
    assert inner["additionalProperties"] is False and inner["required"] == ["colour"]
    free = Task.from_model("free", FreeForm, metrics={"extra": "ignore"})  # unscorable type
    schema, strict_ok = output_schema(free, strict=True)
    assert strict_ok is False and schema == FreeForm.model_json_schema()


def test_retry_after_parsing() -> None:
    assert retry_after_s({"retry-after-ms": "250"}) == 0.25
    assert retry_after_s({"Retry-After": "2"}) == 2.0
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30)
    parsed = retry_after_s({"retry-after": email.utils.format_datetime(later, usegmt=True)})
    assert parsed is not None and 25 <= parsed <= 31
    assert retry_after_s({"retry-after": "soon"}) is None
    assert retry_after_s({}) is None


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (429, RetryableError),
        (500, RetryableError),
        (503, RetryableError),
        (408, RetryableError),
        (401, UserError),
        (403, UserError),
        (404, UserError),
        (400, APIRequestError),
        (422, APIRequestError),
    ],
)
def test_status_mapping(status: int, kind: type[Exception]) -> None:
    exc = map_status_error(
        status, "Error code: 1 - sk-abc***xyz", {"retry-after": "1.5"}, "openai/m", "https://h/v1"
    )
    assert type(exc) is kind
    if kind is RetryableError:
        assert isinstance(exc, RetryableError) and exc.retry_after == 1.5
    if status in (401, 403):
        assert "sk-abc" not in str(exc)


def test_a_completion_without_choices_is_an_error() -> None:
    with pytest.raises(ValueError, match="no choices"):
        parse_completion(object(), 0.1)


def _generate_and_close(model: Any, docs: list[Example]) -> list[Any]:
    async def main() -> list[Any]:
        try:
            return list(await model.generate(docs))
        finally:
            await model.aclose()

    return asyncio.run(main())


def test_outputs_cut_at_max_tokens_warn_once(
    fake_openai: FakeServer, isaf: Task, caplog: pytest.LogCaptureFixture
) -> None:
    docs = [DOC, Example("e2", "A long enough text " * 5)]
    model = create_model("openai/m", isaf, {"base_url": fake_openai.url, "max_tokens": 2})
    with caplog.at_level(logging.WARNING):
        gens = _generate_and_close(model, docs)
        asyncio.run(model.aclose())
    assert [g.finish_reason for g in gens] == ["length", "length"]
    warnings = [r.getMessage() for r in caplog.records if "hit max_tokens" in r.getMessage()]
    assert warnings == [
        "openai/m: 2 of 2 outputs hit max_tokens and were cut off; raise max_tokens"
    ]
    caplog.clear()
    roomy = create_model("openai/m", isaf, {"base_url": fake_openai.url})
    with caplog.at_level(logging.WARNING):
        assert [g.finish_reason for g in _generate_and_close(roomy, docs)] == ["stop", "stop"]
    assert not [r for r in caplog.records if "hit max_tokens" in r.getMessage()]


@pytest.mark.parametrize(("version", "key"), [("0.32.0", "structured_outputs"), ("0.8.5", None)])
def test_a_vllm_host_gets_a_compact_grammar_instead_of_response_format(
    fake_openai: FakeServer, isaf: Task, version: str, key: str | None
) -> None:
    from xgrammar.testing import _is_grammar_accept_string as accepts

    fake_openai.behaviour.vllm_version = version
    _, body = _send(fake_openai, isaf, output_mode="json_schema")
    assert "response_format" not in body
    grammar = body[key]["grammar"] if key else body["guided_grammar"]
    # The task's JSON in fine-tuning's compact layout, and no free whitespace anywhere.
    answer = instance(output_schema(isaf, True)[0], random.Random(0))
    assert accepts(grammar, json.dumps(answer, separators=(",", ":")))
    assert not accepts(grammar, json.dumps(answer))
    assert not accepts(grammar, " " + json.dumps(answer, separators=(",", ":")))
    model = create_model(
        "openai/some-model", isaf, {"base_url": fake_openai.url, "output_mode": "json_schema"}
    )
    assert model.identity()["json_layout"] == "compact"


def test_json_layout_server_and_other_hosts_keep_response_format(
    fake_openai: FakeServer, isaf: Task
) -> None:
    _, plain = _send(fake_openai, isaf, output_mode="json_schema")
    options = {"base_url": fake_openai.url, "output_mode": "json_schema"}
    plain_identity = create_model("openai/some-model", isaf, options).identity()
    assert "json_layout" not in plain_identity  # no cached prediction changes key
    fake_openai.behaviour.vllm_version = "0.32.0"
    _, kept = _send(fake_openai, isaf, output_mode="json_schema", json_layout="server")
    assert plain["response_format"] == kept["response_format"]
    _, any_object = _send(fake_openai, isaf, output_mode="json_object")
    assert "response_format" not in any_object
    from xgrammar.testing import _is_grammar_accept_string as accepts

    grammar = any_object["structured_outputs"]["grammar"]
    assert accepts(grammar, '{"a":[1,{"b":null}]}') and not accepts(grammar, '{"a": 1}')
    assert not accepts(grammar, "[1]")


def test_a_host_that_cannot_be_asked_is_not_vllm(isaf: Task) -> None:
    from fieldwise.models._vllm_json import vllm_version

    assert vllm_version("http://127.0.0.1:9/v1", "x", timeout_s=2) is None  # nothing listens
    model = create_model(
        "openai/m", isaf, {"base_url": "http://127.0.0.1:9/v1", "output_mode": "json_schema"}
    )
    assert "json_layout" not in model.identity()  # the key is the same as before the check
