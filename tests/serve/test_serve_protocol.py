"""HTTP as real clients (and broken ones) speak it: routing, framing, refused fields, limits."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.serve.helpers import RawConnection, chat_body

pytest.importorskip("torch")


def _root(server: str) -> str:
    return server.removesuffix("/v1")


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE", "OPTIONS", "HEAD"])
def test_unknown_route_is_json_404_for_any_method(server: str, method: str) -> None:
    reply = httpx.request(method, f"{_root(server)}/v2/nothing")
    assert reply.status_code == 404
    if method != "HEAD":
        assert reply.headers["content-type"] == "application/json"
        assert reply.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", "/v1/chat/completions", "POST"),
        ("PUT", "/v1/chat/completions", "POST"),
        ("POST", "/v1/models", "GET"),
        ("DELETE", "/health", "GET"),
    ],
)
def test_wrong_method_is_405_with_allow(server: str, method: str, path: str, allowed: str) -> None:
    reply = httpx.request(method, f"{_root(server)}{path}")
    assert reply.status_code == 405
    assert allowed in reply.headers["allow"].split(", ")
    assert reply.json()["error"]["message"].startswith(f"{method} is not allowed")


def test_options_and_head_answer_without_html(server: str) -> None:
    options = httpx.options(f"{server}/chat/completions")
    assert options.status_code == 204 and "POST" in options.headers["allow"]
    head = httpx.head(f"{server}/models")
    assert head.status_code == 200 and head.headers["content-type"] == "application/json"
    head_post_only = httpx.head(f"{server}/chat/completions")
    assert head_post_only.status_code == 405
    assert "text/html" not in head_post_only.headers.get("content-type", "")


def test_chunked_body_is_read_and_keep_alive_stays_in_sync(server: str) -> None:
    body = json.dumps(chat_body(max_tokens=2)).encode()
    half = len(body) // 2
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:half], body[half:]))
    with RawConnection(server) as conn:
        conn.send(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n" + chunked + b"0\r\n\r\n"
            # A second request pipelined on the same connection must get its own answer.
            b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n"
        )
        status, _, first = conn.response()
        assert status == 200, first
        assert json.loads(first)["object"] == "chat.completion"
        status, _, second = conn.response()
        assert (status, json.loads(second)["status"]) == (200, "ok")


@pytest.mark.parametrize("length", [b"abc", b"-5", b"5, 7"])
def test_bad_content_length_gets_an_http_400(server: str, length: bytes) -> None:
    with RawConnection(server) as conn:
        conn.send(b"POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\nContent-Length: ")
        conn.send(length + b"\r\n\r\n{}")
        status, _, _ = conn.response()
    assert status == 400


def test_body_shorter_than_content_length_times_out_with_408(
    server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fieldwise.serve import _app

    monkeypatch.setattr(_app, "BODY_TIMEOUT_S", 0.5)
    with RawConnection(server, timeout=10) as conn:
        conn.send(b"POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n{}")
        status, _, body = conn.response()
    assert status == 408 and "Content-Length" in json.loads(body)["error"]["message"]


def test_declared_oversized_body_is_413(server: str) -> None:
    with RawConnection(server) as conn:
        conn.send(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999999\r\n\r\n"
        )
        status, _, _ = conn.response()
    assert status == 413


@pytest.mark.parametrize(
    ("body", "needle"),
    [(b"[" * 100_000, "nested too deeply"), (b'{"n": ' + b"9" * 5000 + b"}", "not valid JSON")],
)
def test_hostile_json_is_400_and_the_connection_survives(
    server: str, body: bytes, needle: str
) -> None:
    with RawConnection(server) as conn:
        conn.send(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n%s"
            % (len(body), body)
        )
        status, _, reply = conn.response()
        assert status == 400 and needle in json.loads(reply)["error"]["message"]
        conn.send(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
        assert conn.response()[0] == 200


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"logprobs": "yes"}, "logprobs"),
        ({"logprobs": True, "stream": True}, "logprobs"),
        ({"top_logprobs": 3}, "top_logprobs"),
        ({"presence_penalty": 0.5}, "presence_penalty"),
        ({"frequency_penalty": -1}, "frequency_penalty"),
        ({"seed": 7, "temperature": 0.8}, "seed"),
        ({"n": 2}, "n"),
        ({"logit_bias": {"5": 10}}, "logit_bias"),
        ({"tools": [{"type": "function", "function": {"name": "f"}}]}, "tools"),
        ({"top_k": 5}, "top_k"),
        ({"stream_options": {"chunk_size": 3}}, "stream_options"),
        ({"messages": [{"role": "tool", "content": "x"}]}, "messages[0]"),
    ],
)
def test_unsupported_fields_are_400_naming_the_field(
    server: str, extra: dict[str, Any], param: str
) -> None:
    reply = httpx.post(f"{server}/chat/completions", json={**chat_body(max_tokens=1), **extra})
    assert reply.status_code == 400, reply.text
    error = reply.json()["error"]
    assert error["param"] == param and param.split("[")[0] in error["message"]


def test_fields_that_ask_for_nothing_are_accepted(server: str) -> None:
    """What clients send by default (logprobs false, zero penalties, seed when greedy...)."""
    body = chat_body(
        max_tokens=1,
        logprobs=False,
        presence_penalty=0,
        frequency_penalty=0.0,
        seed=3,
        n=1,
        user="someone",
        tools=[],
        stream=False,
        messages=[{"role": "developer", "content": "Be brief."}, {"role": "user", "content": "hi"}],
    )
    reply = httpx.post(f"{server}/chat/completions", json=body)
    assert reply.status_code == 200, reply.text


def test_absurd_max_tokens_is_capped_at_the_context(serve_app: Any) -> None:
    from fieldwise.serve._protocol import parse_chat

    app_engine = serve_app.engine
    call = parse_chat(json.dumps(chat_body(max_tokens=2**63)).encode(), app_engine)
    context = app_engine.context_length
    assert context is not None
    n_prompt = app_engine.prompt_length(call.request.messages)
    assert call.request.max_tokens == context - n_prompt


def test_prompt_longer_than_the_context_is_400(server: str) -> None:
    long_text = " ".join(["insurgents"] * 5000)
    reply = httpx.post(f"{server}/chat/completions", json=chat_body(text=long_text))
    assert reply.status_code == 400
    error = reply.json()["error"]
    assert error["code"] == "context_length_exceeded" and "4096" in error["message"]
