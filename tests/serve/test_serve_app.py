"""The OpenAI-compatible server on a tiny model with two LoRA adapters, over real HTTP.

The official ``openai`` client is the test client; references are computed with plain
transformers/peft ``generate`` (one prompt, no padding) so batching and adapter
switching are checked against an independent path.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("peft")

from fieldwise.errors import UserError  # noqa: E402
from fieldwise.serve import create_app, parse_adapters, running_server  # noqa: E402
from tests.serve.helpers import MAX_TOKENS, PROMPTS, SCHEMA_FORMAT, messages  # noqa: E402

_messages = messages


def _reference(models: dict[str, Path], adapter: str | None, text: str) -> str:
    """Greedy generation for one prompt with plain transformers (+ peft), unbatched."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(models["base"])
    model: Any = AutoModelForCausalLM.from_pretrained(models["base"])
    if adapter:
        model = PeftModel.from_pretrained(model, models[adapter])
    prompt = tok.apply_chat_template(_messages(text), add_generation_prompt=True, tokenize=False)
    ids = tok(prompt, return_tensors="pt", add_special_tokens=False)
    out = model.eval().generate(**ids, max_new_tokens=MAX_TOKENS, do_sample=False)
    new = out[0, ids["input_ids"].shape[1] :].tolist()
    if tok.eos_token_id in new:
        new = new[: new.index(tok.eos_token_id)]
    return str(tok.decode(new, skip_special_tokens=True))


def _ask(client: openai.OpenAI, model: str, text: str) -> str:
    reply = client.chat.completions.create(
        model=model,
        messages=_messages(text),
        max_tokens=MAX_TOKENS,
        temperature=0,  # type: ignore[arg-type]
    )
    assert reply.choices[0].finish_reason in ("stop", "length")
    return reply.choices[0].message.content or ""


def test_lists_base_and_adapters(client: openai.OpenAI) -> None:
    assert [m.id for m in client.models.list()] == ["tiny", "alpha", "beta"]


def test_each_adapter_answers_like_unbatched_generation(
    client: openai.OpenAI, models: dict[str, Path]
) -> None:
    answers = {name: _ask(client, name, PROMPTS[0]) for name in ("tiny", "alpha", "beta")}
    assert len(set(answers.values())) == 3, answers
    assert answers["tiny"] == _reference(models, None, PROMPTS[0])
    assert answers["alpha"] == _reference(models, "alpha", PROMPTS[0])
    assert answers["beta"] == _reference(models, "beta", PROMPTS[0])


def test_concurrent_requests_are_batched_and_match_sequential(
    client: openai.OpenAI, server: str
) -> None:
    jobs = [(name, text) for name in ("alpha", "beta") for text in PROMPTS]
    sequential = {job: _ask(client, *job) for job in jobs}
    before = httpx.get(f"{server}/stats").json()
    with ThreadPoolExecutor(len(jobs)) as pool:
        concurrent = dict(zip(jobs, pool.map(lambda job: _ask(client, *job), jobs), strict=True))
    after = httpx.get(f"{server}/stats").json()
    assert concurrent == sequential
    assert after["requests"] - before["requests"] == len(jobs)
    # Eight requests in one window, two adapters: far fewer generate calls than requests.
    assert after["batches"] - before["batches"] <= len(jobs) // 2
    assert after["max_batch_size_seen"] >= 3


def test_temperature_defaults_to_0_not_openais_1(
    client: openai.OpenAI, models: dict[str, Path]
) -> None:
    """docs/serving.md: a request without ``temperature`` is decoded greedily (OpenAI's
    API would sample at 1), so it answers what plain greedy ``generate`` gives, every time."""
    for text in PROMPTS[:2]:
        replies = {
            client.chat.completions.create(
                model="beta", messages=_messages(text), max_tokens=MAX_TOKENS
            )  # type: ignore[call-overload]
            .choices[0]
            .message.content
            for _ in range(2)
        }
        assert replies == {_reference(models, "beta", text)}


def test_batch_size_header(client: openai.OpenAI) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model="alpha",
        messages=_messages(PROMPTS[1]),
        max_tokens=2,  # type: ignore[arg-type]
    )
    assert raw.headers["x-fieldwise-batch-size"] == "1"
    reply = raw.parse()
    assert reply.usage is not None and reply.usage.completion_tokens <= 2


def test_unknown_model_is_openai_style_404(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as info:
        _ask(client, "gamma", PROMPTS[0])
    body: Any = info.value.body
    assert body["code"] == "model_not_found" and "gamma" in body["message"]


@pytest.mark.parametrize(
    ("payload", "param"),
    [
        ({"model": "alpha"}, "messages"),
        ({"model": "alpha", "messages": [{"role": "robot", "content": "x"}]}, "messages[0]"),
        (
            {"model": "alpha", "messages": [{"role": "user", "content": "x"}], "max_tokens": 0},
            "max_tokens",
        ),
        (
            {"model": "alpha", "messages": [{"role": "user", "content": "x"}], "temperature": 9},
            "temperature",
        ),
        (
            {"model": "alpha", "messages": [{"role": "user", "content": "x"}], "stream": "yes"},
            "stream",
        ),
        (
            {
                "model": "alpha",
                "messages": [{"role": "user", "content": "x"}],
                "tools": [{"type": "function", "function": {"name": "f"}}],
            },
            "tools",
        ),
    ],
)
def test_malformed_requests_are_400(server: str, payload: dict[str, Any], param: str) -> None:
    reply = httpx.post(f"{server}/chat/completions", json=payload)
    assert reply.status_code == 400
    assert reply.json()["error"]["param"] == param


def test_non_json_body_is_400(server: str) -> None:
    reply = httpx.post(
        f"{server}/chat/completions", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert reply.status_code == 400
    assert "not valid JSON" in reply.json()["error"]["message"]


def test_json_schema_response_format_constrains_output(client: openai.OpenAI) -> None:
    pytest.importorskip("xgrammar")
    for model in ("tiny", "beta"):  # random weights: only the grammar makes this valid JSON
        reply = client.chat.completions.create(
            model=model,
            messages=_messages(PROMPTS[0]),  # type: ignore[arg-type]
            response_format=SCHEMA_FORMAT,
            max_tokens=80,
        )
        value = json.loads(reply.choices[0].message.content or "")
        assert value["province"] in ("kabul", "helmand")
        assert isinstance(value["airstrike"], bool)
        assert reply.choices[0].finish_reason == "stop"


def test_base_only_app_without_xgrammar(
    models: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from fieldwise.serve import _constrain

    monkeypatch.setattr(_constrain, "available", lambda: False)
    app = create_app(str(models["base"]), {}, device="cpu", base_name="base")
    try:
        with running_server(app) as url:
            body: dict[str, Any] = {
                "model": "base",
                "messages": _messages(PROMPTS[0]),
                "max_tokens": 3,
            }
            reply = httpx.post(f"{url}/chat/completions", json=body)
            assert reply.status_code == 200 and reply.headers["x-fieldwise-batch-size"] == "1"
            assert reply.json()["usage"]["completion_tokens"] <= 3
            body["response_format"] = SCHEMA_FORMAT
            reply = httpx.post(f"{url}/chat/completions", json=body)
            assert reply.status_code == 400
            assert "fieldwise[constrained]" in reply.json()["error"]["message"]
            assert httpx.get(f"{url}/nothing").status_code == 404
    finally:
        app.close()


def test_parse_adapters() -> None:
    assert parse_adapters(["a=/x", "b = /y"]) == {"a": "/x", "b": "/y"}
    with pytest.raises(UserError, match="NAME=DIR"):
        parse_adapters(["justapath"])


def test_missing_adapter_dir_is_user_error(models: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no adapter_config.json"):
        create_app(str(models["base"]), {"x": str(tmp_path)})


def test_fieldwise_openai_backend_evaluates_an_adapter(server: str) -> None:
    """The project's own ``openai`` backend, pointed at the server, runs an adapter."""
    import asyncio

    from fieldwise.models import create_model
    from fieldwise.tasks import Example, load_task

    task = load_task("isaf")
    for mode in ["prompt", "json_schema"] if _has_xgrammar() else ["prompt"]:
        options = {"base_url": server, "output_mode": mode, "max_tokens": 8}
        model = create_model("openai/alpha", task, options)
        (generation,) = asyncio.run(model.generate([Example("e1", PROMPTS[0])]))
        assert generation.error is None and generation.output is not None
        if mode == "json_schema":
            assert generation.output.startswith('{"name":"')  # compact, as fine-tunes are trained


def _has_xgrammar() -> bool:
    import importlib.util

    return importlib.util.find_spec("xgrammar") is not None


def test_many_simultaneous_connections_are_accepted(server: str) -> None:
    """A burst of new connections must queue, not be reset (listen backlog)."""

    def ping(_: int) -> int:
        with httpx.Client() as fresh:  # a new TCP connection each
            return fresh.get(f"{server.removesuffix('/v1')}/health").status_code

    with ThreadPoolExecutor(64) as pool:
        assert set(pool.map(ping, range(128))) == {200}


def test_openai_backend_nested_strict_schema_through_xgrammar(server: str) -> None:
    """The strict-mode rewrite of a nested schema ($defs, nullable objects, a list of
    records) compiles on the server, and every constrained output validates."""
    pytest.importorskip("xgrammar")
    import asyncio

    from fieldwise.models import create_model
    from fieldwise.tasks import Example
    from tests.models.nested_small import NESTED_SMALL_TASK, Incident

    options = {"base_url": server, "output_mode": "json_schema", "max_tokens": 160}
    model = create_model("openai/tiny", NESTED_SMALL_TASK, options)
    assert model.request(Example("e", "x"))["response_format"]["json_schema"]["strict"] is True
    gens = asyncio.run(model.generate([Example(f"e{i}", p) for i, p in enumerate(PROMPTS)]))
    for gen in gens:
        assert gen.error is None and gen.finish_reason == "stop"
        Incident.model_validate_json(gen.output or "")
