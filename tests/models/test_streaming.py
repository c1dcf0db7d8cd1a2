"""Streamed chat completions: events assembled into the same output, and TTFT measured."""

from __future__ import annotations

import asyncio
import json

import pytest

from fieldwise.errors import UserError
from fieldwise.models import create_model
from fieldwise.models._stream import StreamAssembler, StreamError
from fieldwise.tasks import Example, load_task
from tests.fakes.latency_server import REPLY, running


def _event(delta: dict, **extra: object) -> bytes:
    chunk = {"choices": [{"index": 0, "delta": delta, **extra}]}
    return b"data: " + json.dumps(chunk).encode() + b"\n\n"


def test_events_split_anywhere_add_up_to_the_completion() -> None:
    stream = (
        _event({"role": "assistant", "content": ""})
        + _event({"content": '{"a": '})
        + _event({"content": "1}"}, finish_reason="stop")
        + b'data: {"choices": [], "usage": {"prompt_tokens": 7, "completion_tokens": 3}}\n\n'
        + b"data: [DONE]\n\n"
    )
    for size in (1, 3, 17, len(stream)):
        s = StreamAssembler()
        for i in range(0, len(stream), size):
            s.feed(stream[i : i + size])
        s.close()
        done = s.completion()
        assert done["choices"][0]["message"]["content"] == '{"a": 1}'
        assert done["choices"][0]["finish_reason"] == "stop"
        assert done["usage"] == {"prompt_tokens": 7, "completion_tokens": 3}
        assert s.done and s.first_token_at is not None


def test_a_role_only_chunk_is_not_the_first_token() -> None:
    s = StreamAssembler()
    s.feed(_event({"role": "assistant", "content": ""}))
    assert s.first_token_at is None
    s.feed(_event({"content": "x"}))
    assert s.first_token_at is not None


def test_tool_call_arguments_stream_in_pieces() -> None:
    s = StreamAssembler()
    call = {"index": 0, "function": {"name": "isaf", "arguments": '{"k"'}}
    s.feed(_event({"tool_calls": [call]}))
    s.feed(_event({"tool_calls": [{"index": 0, "function": {"arguments": ": 2}"}}]}))
    s.close()
    message = s.completion()["choices"][0]["message"]
    assert message["tool_calls"][0]["function"] == {"name": "isaf", "arguments": '{"k": 2}'}


def test_error_events_and_garbage_are_errors() -> None:
    s = StreamAssembler()
    with pytest.raises(StreamError, match="overloaded"):
        s.feed(b'data: {"error": {"message": "overloaded"}}\n\n')
    with pytest.raises(StreamError, match="malformed"):
        StreamAssembler().feed(b"data: {not json\n\n")
    empty = StreamAssembler()
    empty.feed(b"data: [DONE]\n\n")
    with pytest.raises(StreamError, match="no completion"):
        empty.completion()


@pytest.mark.parametrize("transport", ["auto", "sdk"])
def test_streamed_requests_measure_time_to_first_token(transport: str) -> None:
    task = load_task("isaf")
    with running(ttft_median=0.15, tpot=0.01, tokens=10, sigma=0.0001) as url:
        options = {"base_url": url, "stream": True, "transport": transport}
        model = create_model("openai/fake", task, options)

        async def go() -> list:
            try:  # the second request: the first also pays for the client's set-up
                await model.generate([Example("a", "[q=0.5] text")])
                return await model.generate([Example("a", "[q=0.5] text")])
            finally:
                await model.aclose()

        (gen,) = asyncio.run(go())
    assert gen.error is None and json.loads(gen.output or "") == REPLY
    assert gen.output_tokens == 10 and gen.finish_reason == "stop"
    assert gen.ttft_s is not None and 0.14 <= gen.ttft_s <= 0.3
    # 9 more tokens 10 ms apart after the first
    assert gen.latency_s - gen.ttft_s >= 0.085


def test_streaming_is_not_part_of_the_cache_key() -> None:
    task = load_task("isaf")
    plain = create_model("openai/x", task, {"base_url": "http://127.0.0.1:9/v1"})
    streamed = create_model("openai/x", task, {"base_url": "http://127.0.0.1:9/v1", "stream": True})
    assert plain.identity() == streamed.identity()


def test_http_errors_while_streaming_keep_their_meaning(fake_openai_401: str) -> None:
    task = load_task("isaf")
    model = create_model("openai/x", task, {"base_url": fake_openai_401, "stream": True})
    with pytest.raises(UserError):
        asyncio.run(model.generate([Example("a", "t")]))


@pytest.fixture
def fake_openai_401():  # type: ignore[no-untyped-def]
    from tests.fakes.openai_server import Behaviour, FakeServer

    server = FakeServer(Behaviour(script=["401"] * 5)).start()
    try:
        yield server.url
    finally:
        server.stop()
