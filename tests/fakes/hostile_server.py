"""A hostile OpenAI-compatible / Anthropic server: every shape a real server got wrong.

Built on :class:`tests.fakes.openai_server.FakeServer` (a real HTTP server on loopback,
so the real SDKs parse what it sends): :func:`hostile` returns a ``Behaviour.raw``
callback that answers every request in one named mode, byte for byte. The modes are the
classes of issue 12 (content parts, tool arguments as objects, usage that is a string,
negative or 1e15, missing choices, lone surrogates, an error body echoing the API key,
a slow drip, a truncated body, a wrong content type, JSON nested too deep) plus their
neighbours; :func:`completion_bytes` sends any JSON value as a completion, for the
property-style tests.

Run one from a shell to try the CLI against it by hand::

    python -m tests.fakes.hostile_server content_parts
"""

from __future__ import annotations

import argparse
import contextlib
import json
from collections.abc import Callable
from typing import Any

from tests.fakes.openai_server import Behaviour, FakeServer, RawReply, _last_user_text

SECRET_KEY = "sk-hostile-0123456789abcdefSECRET"
"""The key tests put in the environment; no byte of it may reach the store or output."""

Responder = Callable[[dict[str, Any], str | None], RawReply]


def _echo(body: dict[str, Any]) -> str:
    return json.dumps({"echo": _last_user_text(body)[:30]})


def completion(
    message: Any = None, *, usage: Any = None, choices: Any = None, finish: Any = "stop"
) -> dict[str, Any]:
    """A chat completion around ``message`` (or with ``choices`` given whole)."""
    if choices is None:
        choices = [{"index": 0, "message": message, "finish_reason": finish}]
    out: dict[str, Any] = {
        "id": "chatcmpl-hostile",
        "object": "chat.completion",
        "created": 0,
        "model": "hostile",
        "choices": choices,
    }
    if usage is not None:
        out["usage"] = usage
    return out


def completion_bytes(value: Any) -> RawReply:
    """Any JSON value as a 200 ``application/json`` reply."""
    return RawReply(200, json.dumps(value, allow_nan=True).encode())


def _json(status: int, value: Any, **kw: Any) -> Responder:
    return lambda body, auth: RawReply(status, json.dumps(value).encode(), **kw)


def _message(make: Callable[[dict[str, Any]], Any], **kw: Any) -> Responder:
    """A 200 whose assistant message is ``make(request body)``."""
    return lambda body, auth: completion_bytes(completion(make(body), **kw))


def _content(make: Callable[[dict[str, Any]], Any], **kw: Any) -> Responder:
    return _message(lambda b: {"role": "assistant", "content": make(b)}, **kw)


def _tool_args(make: Callable[[dict[str, Any]], Any]) -> Responder:
    def message(body: dict[str, Any]) -> dict[str, Any]:
        call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": make(body)}}
        return {"role": "assistant", "content": None, "tool_calls": [call]}

    return _message(message, finish="tool_calls")


def _usage(usage: Any) -> Responder:
    return _content(_echo, usage=usage)


def _key_echo(status: int) -> Responder:
    """An error body that repeats the ``Authorization`` header and the bare key, as
    misconfigured gateways and some providers' 4xx validators do."""

    def respond(body: dict[str, Any], auth: str | None) -> RawReply:
        key = (auth or "").removeprefix("Bearer ")
        message = f"bad request from {auth}; key={key}; x-api-key: {key}"
        payload = {"error": {"message": message, "type": "invalid", "param": key}}
        return RawReply(status, json.dumps(payload).encode())

    return respond


def _raw(status: int, data: bytes, **kw: Any) -> Responder:
    return lambda body, auth: RawReply(status, data, **kw)


def _truncated(body: dict[str, Any], auth: str | None) -> RawReply:
    data = json.dumps(completion({"role": "assistant", "content": _echo(body)})).encode()
    return RawReply(200, data[: len(data) // 2], length=len(data))


def _drip(body: dict[str, Any], auth: str | None) -> RawReply:
    data = json.dumps(completion({"role": "assistant", "content": _echo(body)})).encode()
    return RawReply(200, data, drip_s=0.05, chunk=max(1, len(data) // 8))


DEEP = 100_000

MODES: dict[str, Responder] = {
    # message.content in shapes the API reference does not promise
    "content_parts": _content(lambda b: [{"type": "text", "text": _echo(b)}]),
    "content_parts_mixed": _content(
        lambda b: [
            {"type": "text", "text": _echo(b)[:5]},
            {"type": "image_url", "image_url": {"url": "x"}},
            "stray",
            7,
            {"type": "text", "text": _echo(b)[5:]},
            {"type": "text", "text": None},
        ]
    ),
    "content_object": _content(lambda b: {"echo": "an object, not a string"}),
    "content_number": _content(lambda b: 42),
    "content_bool": _content(lambda b: True),
    "content_null": _content(lambda b: None),
    "tool_args_object": _tool_args(lambda b: json.loads(_echo(b))),
    "tool_args_number": _tool_args(lambda b: 3.5),
    "tool_calls_garbage": _message(lambda b: {"role": "assistant", "tool_calls": "yes"}),
    "tool_calls_list_of_junk": _message(
        lambda b: {"role": "assistant", "tool_calls": [1, None, {"function": "f"}]}
    ),
    # lone surrogates: as a character in the content, and as an escape inside its JSON
    "surrogate_char": _raw(
        200, b'{"choices": [{"message": {"content": "{\\"a\\": \\"x\\ud800y\\"}"}}]}'
    ),
    "surrogate_escape": _raw(
        200, b'{"choices": [{"message": {"content": "{\\"echo\\": \\"x\\\\ud800y\\"}"}}]}'
    ),
    "surrogate_in_finish": _raw(
        200, b'{"choices": [{"message": {"content": "{}"}, "finish_reason": "\\udfff"}]}'
    ),
    # usage
    "usage_string": _usage({"prompt_tokens": "12", "completion_tokens": "many"}),
    "usage_negative": _usage({"prompt_tokens": -5, "completion_tokens": -1_000_000}),
    "usage_absurd": _usage({"prompt_tokens": 10, "completion_tokens": 1e15}),
    "usage_absurd_int": _usage({"prompt_tokens": 10**18, "completion_tokens": 10**30}),
    "usage_float": _usage({"prompt_tokens": 12.7, "completion_tokens": 3.0}),
    "usage_nan": _raw(
        200,
        b'{"choices": [{"message": {"content": "{}"}}], '
        b'"usage": {"prompt_tokens": NaN, "completion_tokens": Infinity}}',
    ),
    "usage_bool": _usage({"prompt_tokens": True, "completion_tokens": False}),
    "usage_list": _usage([1, 2]),
    "usage_string_whole": _usage("lots"),
    # choices
    "no_choices": _json(200, {"id": "x", "object": "chat.completion"}),
    "empty_choices": lambda b, a: completion_bytes(completion(choices=[])),
    "choices_null": lambda b, a: completion_bytes(completion(choices=None) | {"choices": None}),
    "choices_object": lambda b, a: completion_bytes(completion(choices={"0": {}})),
    "choice_not_object": lambda b, a: completion_bytes(completion(choices=["hi", 3])),
    "message_null": _message(lambda b: None),
    "message_string": _message(lambda b: "just text"),
    "finish_object": _content(_echo, finish={"why": "stop"}),
    # the body as a whole
    "top_level_list": _json(200, [1, 2, 3]),
    "top_level_null": _raw(200, b"null"),
    "top_level_string": _json(200, "hello"),
    "error_with_200": _json(200, {"error": {"message": "upstream failed"}}),
    "wrong_content_type": _raw(
        200, b"<html><body>Bad gateway</body></html>", content_type="text/html"
    ),
    "json_as_text_plain": lambda b, a: RawReply(
        200, json.dumps(completion({"content": _echo(b)})).encode(), content_type="text/plain"
    ),
    "empty_body": _raw(200, b""),
    "not_json": _raw(200, b"this is not json"),
    "deep_nesting": _raw(200, b"[" * DEEP + b"]" * DEEP),
    "deep_content": _content(lambda b: "[" * DEEP + "]" * DEEP),
    "huge_int": _raw(200, b'{"choices": [], "usage": {"prompt_tokens": ' + b"9" * 5000 + b"}}"),
    "truncated": _truncated,
    "slow_drip": _drip,
    # errors echoing the key
    **{f"key_echo_{s}": _key_echo(s) for s in (400, 401, 403, 404, 422, 429, 500)},
}
"""Every hostile mode by name (OpenAI chat-completions shapes)."""

RETRIED = {"truncated", "key_echo_429", "key_echo_500"}
"""Modes the runner retries (connection errors, 429/5xx) before recording an error."""

STOPS_RUN = {"key_echo_401", "key_echo_403", "key_echo_404"}
"""Modes that stop the whole run with a one-line user error."""


def anthropic_message(content: Any, usage: Any = None, stop: Any = "end_turn") -> dict[str, Any]:
    return {
        "id": "msg_hostile",
        "type": "message",
        "role": "assistant",
        "model": "hostile",
        "content": content,
        "stop_reason": stop,
        "usage": usage if usage is not None else {"input_tokens": 3, "output_tokens": 4},
    }


ANTHROPIC_MODES: dict[str, Responder] = {
    "text_not_string": _json(200, anthropic_message([{"type": "text", "text": {"a": 1}}])),
    "tool_input_string": _json(
        200, anthropic_message([{"type": "tool_use", "id": "t", "name": "f", "input": "{}"}])
    ),
    "content_not_list": _json(200, anthropic_message("hello")),
    "content_null": _json(200, anthropic_message(None)),
    "blocks_junk": _json(200, anthropic_message([1, None, "x", {"type": "text"}])),
    "usage_string": _json(200, anthropic_message([], {"input_tokens": "1", "output_tokens": "x"})),
    "usage_absurd": _json(200, anthropic_message([], {"input_tokens": 1, "output_tokens": 1e15})),
    "surrogate": _raw(
        200,
        b'{"type": "message", "role": "assistant", "content": '
        b'[{"type": "text", "text": "\\ud800"}], "stop_reason": "\\udc00"}',
    ),
    **{f"key_echo_{s}": _key_echo(s) for s in (400, 401, 404, 422, 429, 500)},
}
"""Hostile Messages API replies (``/v1/messages``)."""


def hostile(mode: str) -> Responder:
    """The responder for one named mode of :data:`MODES` or ``anthropic:`` + a name of
    :data:`ANTHROPIC_MODES`."""
    if mode.startswith("anthropic:"):
        return ANTHROPIC_MODES[mode.removeprefix("anthropic:")]
    return MODES[mode]


def main(argv: list[str] | None = None) -> None:
    """Serve one mode in the foreground and print the base URL."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=sorted(MODES) + [f"anthropic:{m}" for m in ANTHROPIC_MODES])
    args = parser.parse_args(argv)
    server = FakeServer(Behaviour(raw=hostile(args.mode)))
    print(server.url, flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server._httpd.serve_forever(poll_interval=0.05)


if __name__ == "__main__":
    main()
