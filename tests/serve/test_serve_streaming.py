"""``stream: true`` through the official ``openai`` client, cancellation and time limits."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.serve.helpers import PROMPTS, SCHEMA_FORMAT, chat_body, messages

openai = pytest.importorskip("openai")
pytest.importorskip("torch")

FORMATS: dict[str, Any] = {
    "json_schema": SCHEMA_FORMAT,
    "json_object": {"type": "json_object"},
}


def _stream(client: Any, **kwargs: Any) -> list[Any]:
    return list(client.chat.completions.create(stream=True, temperature=0, **kwargs))


def _whole(client: Any, **kwargs: Any) -> Any:
    return client.chat.completions.create(temperature=0, **kwargs)


@pytest.mark.parametrize("model", ["tiny", "alpha"])
def test_stream_matches_the_whole_answer(client: Any, model: str) -> None:
    ask = {"model": model, "messages": messages(PROMPTS[1]), "max_tokens": 12}
    chunks = _stream(client, **ask)
    whole = _whole(client, **ask)
    assert chunks[0].choices[0].delta.role == "assistant"
    pieces = [c.choices[0].delta.content for c in chunks[1:-1]]
    assert len(pieces) >= 2  # token by token, not one blob at the end
    assert "".join(p or "" for p in pieces) == whole.choices[0].message.content
    assert chunks[-1].choices[0].finish_reason == whole.choices[0].finish_reason
    assert all(c.usage is None for c in chunks)
    assert len({c.id for c in chunks}) == 1 and chunks[0].object == "chat.completion.chunk"


def test_include_usage_adds_a_last_chunk_with_usage(client: Any) -> None:
    ask = {"model": "beta", "messages": messages(PROMPTS[2]), "max_tokens": 9}
    chunks = _stream(client, stream_options={"include_usage": True}, **ask)
    whole = _whole(client, **ask)
    *body, last = chunks
    assert last.choices == [] and last.usage is not None
    assert last.usage.model_dump() == whole.usage.model_dump()
    assert all(c.usage is None for c in body)
    assert body[-1].choices[0].finish_reason == whole.choices[0].finish_reason


@pytest.mark.parametrize("kind", ["json_schema", "json_object"])
def test_stream_with_response_format_is_constrained(client: Any, kind: str) -> None:
    pytest.importorskip("xgrammar")
    chunks = _stream(
        client,
        model="beta" if kind == "json_schema" else "tiny",
        messages=messages(PROMPTS[0]),
        response_format=FORMATS[kind],
        max_tokens=80 if kind == "json_schema" else 12,
        stream_options={"include_usage": True},
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    if kind == "json_object":  # any object: random weights may never close its strings
        assert text.startswith("{")
        return
    value = json.loads(text)
    assert value["province"] in ("kabul", "helmand") and isinstance(value["airstrike"], bool)
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


def test_stop_strings_are_never_streamed(client: Any) -> None:
    ask = {"model": "tiny", "messages": messages(PROMPTS[3]), "max_tokens": 20}
    full = _whole(client, **ask).choices[0].message.content
    assert len(full) > 4
    stop = full[2:4]  # a stop string that the unconstrained answer certainly contains
    chunks = _stream(client, stop=[stop], **ask)
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks[1:])
    assert streamed == _whole(client, stop=[stop], **ask).choices[0].message.content
    assert stop not in streamed and chunks[-1].choices[0].finish_reason == "stop"


def test_raw_event_stream_format(server: str) -> None:
    body = chat_body(model="alpha", max_tokens=3, stream=True)
    with httpx.stream("POST", f"{server}/chat/completions", json=body) as reply:
        assert reply.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in reply.iter_lines() if line]
    assert all(line.startswith("data: ") for line in lines)
    assert lines[-1] == "data: [DONE]"
    events = [json.loads(line[6:]) for line in lines[:-1]]
    assert events[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert events[-1]["choices"][0]["finish_reason"] in ("stop", "length")


def _wait_for(predicate: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def _stats(server: str) -> dict[str, Any]:
    return dict(httpx.get(f"{server}/stats").json())


def test_client_disconnect_stops_a_stream(server: str) -> None:
    before = _stats(server)
    body = chat_body(max_tokens=2**63, stream=True)  # capped at the context: ~4,000 tokens
    with httpx.stream("POST", f"{server}/chat/completions", json=body) as reply:
        lines = reply.iter_lines()
        assert json.loads(next(lines)[6:])["choices"][0]["delta"]["role"] == "assistant"
        piece = json.loads(next(line for line in lines if line)[6:])
        assert piece["choices"][0]["delta"]["content"]
    # Leaving the block closed the connection after one piece: the row must end soon.
    assert _wait_for(lambda: _stats(server)["cancelled"] > before["cancelled"], 20)
    started = time.monotonic()
    reply = httpx.post(f"{server}/chat/completions", json=chat_body(max_tokens=2), timeout=60)
    assert reply.status_code == 200 and time.monotonic() - started < 15


def test_client_disconnect_stops_a_plain_request(server: str) -> None:
    before = _stats(server)
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{server}/chat/completions", json=chat_body(max_tokens=2**63), timeout=0.5)
    assert _wait_for(lambda: _stats(server)["cancelled"] > before["cancelled"], 20)
    assert _stats(server)["timed_out"] == before["timed_out"]


@pytest.fixture(scope="module")
def strict_server(models: dict[str, Path]) -> Iterator[str]:
    """A server whose requests may hold the batcher for one second at most."""
    from fieldwise.serve import create_app, running_server

    app = create_app(str(models["base"]), {}, device="cpu", base_name="tiny", max_request_s=1.0)
    try:
        with running_server(app) as url:
            yield url
    finally:
        app.close()


def test_a_huge_max_tokens_does_not_stall_other_requests(strict_server: str) -> None:
    url = f"{strict_server}/chat/completions"

    def hog() -> dict[str, Any]:
        return dict(httpx.post(url, json=chat_body(max_tokens=2**63), timeout=120).json())

    with ThreadPoolExecutor(1) as pool:
        hogging = pool.submit(hog)
        time.sleep(0.3)  # the hog's batch is running; this one queues behind it
        started = time.monotonic()
        reply = httpx.post(url, json=chat_body(text="quick", max_tokens=2), timeout=120)
        waited = time.monotonic() - started
        hog_reply = hogging.result()
    assert reply.status_code == 200
    # Without the limit the hog runs ~4,000 tokens (a minute here); with it, about 1 s.
    assert waited < 15, waited
    assert hog_reply["choices"][0]["finish_reason"] == "length"
    assert hog_reply["usage"]["completion_tokens"] < 4000
    assert _stats(strict_server)["timed_out"] >= 1
    health = httpx.get(f"{strict_server.removesuffix('/v1')}/health")
    assert health.status_code == 200
