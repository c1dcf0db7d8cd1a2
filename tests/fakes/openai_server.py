"""A fake OpenAI-compatible (and Anthropic messages) HTTP server for tests and benchmarks.

It is a real HTTP server on ``127.0.0.1:0`` so that the real ``openai`` client, httpx
connection pooling, timeouts and retries are exercised end to end. Faults are injected
per request, either scripted (``script``: in arrival order; ``faults``: per document,
matched by a substring of the last user message, so concurrent tests stay deterministic)
or at random with a seeded RNG (``p_429``, ``p_500``, ``p_hang``, ``p_malformed``).

Every request is logged (path, JSON body, last user text, fault, start/end time and the
``Authorization`` header) so tests can assert what was sent and how often.

Use it as the ``fake_openai`` pytest fixture (import it into a conftest or test module),
or as a separate process for benchmarks: ``python -m tests.fakes.openai_server --latency
0.2`` prints its base URL and serves ``GET /_log`` with the request log as JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

FAULTS = ("ok", "429", "500", "hang", "malformed", "text", "400", "401")
"""``text``: a 200 whose assistant message is prose, not JSON (garbage is data);
``malformed``: a 200 whose body is truncated JSON; ``hang``: no answer for ``hang_s``."""

LEAKY_401 = "Incorrect API key provided: sk-abc***xyz"
"""What a real 401 says; the backend must not repeat it (it echoes part of the key)."""

GARBAGE_TEXT = "Sorry, I cannot help with that request."


def echo_reply(text: str) -> str:
    """The default assistant content: a small JSON object derived from the input."""
    return json.dumps({"echo": text[:40]})


@dataclass
class Behaviour:
    """What the server does; mutable between (or during) requests."""

    latency_s: float = 0.0
    p_429: float = 0.0
    p_500: float = 0.0
    p_hang: float = 0.0
    p_malformed: float = 0.0
    retry_after_s: tuple[float, float] = (0.2, 1.0)
    retry_after_header: str = "retry-after"
    """``retry-after`` (seconds), ``retry-after-ms`` or ``""`` for no hint."""
    hang_s: float = 30.0
    reply: Callable[[str], str] = echo_reply
    respond: Callable[[dict[str, Any]], str] | None = None
    """When set, the assistant content comes from the whole request body instead of
    ``reply`` (e.g. a random instance of the JSON schema it sent)."""
    script: list[str] = field(default_factory=list)
    faults: dict[str, list[str]] = field(default_factory=dict)
    seed: int = 0
    vllm_version: str | None = None
    """When set, ``GET /v1/models`` says ``owned_by: vllm`` and ``GET /version`` answers
    this version, as a vLLM server does."""
    raw: Callable[[dict[str, Any], str | None], RawReply] | None = None
    """When set, answers every completion request with ``raw(body, authorization)``
    byte for byte (see ``tests/fakes/hostile_server.py``), bypassing ``fault``."""
    token_logprob: Callable[[str, int, bytes], float] = lambda content, at, token: -0.01
    """The log-probability reported for a token (``token``: bytes ``at`` offset ``at`` of
    ``content``'s UTF-8) when a request asks for ``logprobs``. Tokens are 3-byte slices,
    so some split a character, as real servers' byte-level tokens do."""


@dataclass
class RawReply:
    """An exact HTTP answer: status, body bytes and headers, optionally dripped.

    ``length`` overrides ``Content-Length`` (a larger value makes a truncated body);
    ``drip_s`` sends the body one chunk at a time with that pause in between."""

    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    length: int | None = None
    drip_s: float = 0.0
    chunk: int = 16


@dataclass
class LoggedRequest:
    path: str
    body: dict[str, Any] | None
    text: str
    fault: str
    started: float
    finished: float | None = None
    auth: str | None = None


class FakeServer:
    """A threaded HTTP server speaking ``/v1/chat/completions`` and ``/v1/messages``."""

    def __init__(self, behaviour: Behaviour | None = None) -> None:
        self.behaviour = behaviour or Behaviour()
        self.log: list[LoggedRequest] = []
        self._lock = threading.Lock()
        self._rng = random.Random(self.behaviour.seed)
        self._stop = threading.Event()
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.fake = self
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """The base URL to give an OpenAI-compatible client (ends in ``/v1``)."""
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> FakeServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def requests_for(self, marker: str) -> list[LoggedRequest]:
        """Logged completion requests whose last user message contains ``marker``."""
        with self._lock:
            return [r for r in self.log if marker in r.text]

    def snapshot(self) -> list[LoggedRequest]:
        """A copy of the log, safe to iterate while requests are still arriving."""
        with self._lock:
            return list(self.log)

    def _choose_fault(self, text: str) -> str:
        b = self.behaviour
        with self._lock:
            if b.script:
                return b.script.pop(0)
            for marker, queue in b.faults.items():
                if marker in text and queue:
                    return queue.pop(0)
            roll = self._rng.random()
            for fault, p in (
                ("429", b.p_429),
                ("500", b.p_500),
                ("hang", b.p_hang),
                ("malformed", b.p_malformed),
            ):
                if roll < p:
                    return fault
                roll -= p
            return "ok"

    def _record(self, entry: LoggedRequest) -> None:
        with self._lock:
            self.log.append(entry)

    def _retry_after(self) -> float:
        lo, hi = self.behaviour.retry_after_s
        with self._lock:
            return self._rng.uniform(lo, hi)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    fake: FakeServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up mid-reply (a run stopping at a 401) is expected here;
        the default would print a server-side traceback into the test's stderr."""


def _last_user_text(body: dict[str, Any]) -> str:
    for message in reversed(body.get("messages") or []):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, list):
                return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
            return str(content)
    return ""


def _prompt_chars(body: dict[str, Any]) -> int:
    return len(json.dumps(body.get("messages", []))) + len(str(body.get("system", "")))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms ACK stall
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        """Silence the default per-request stderr line."""

    def _send(self, status: int, payload: bytes, headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            # One write for headers and body: two small writes can stall on delayed ACKs.
            self._headers_buffer.extend([b"\r\n", payload])
            self.flush_headers()
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _send_raw(self, reply: RawReply) -> None:
        length = len(reply.body) if reply.length is None else reply.length
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(length))
            for key, value in reply.headers.items():
                self.send_header(key, value)
            self.end_headers()
            if reply.drip_s <= 0:
                self.wfile.write(reply.body)
            else:
                for i in range(0, len(reply.body), reply.chunk):
                    self.wfile.write(reply.body[i : i + reply.chunk])
                    self.wfile.flush()
                    if self.server.fake._stop.wait(reply.drip_s):
                        break
            self.wfile.flush()
            if length != len(reply.body):
                self.close_connection = True
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        fake = self.server.fake
        if self.path.rstrip("/").endswith("/_log"):
            with fake._lock:  # bodies left out: the log stays small for big benchmarks
                rows = [{**asdict(r), "body": None} for r in fake.log]
            self._send(200, json.dumps(rows).encode())
        elif self.path.rstrip("/").endswith("/models"):
            owner = "vllm" if fake.behaviour.vllm_version else "fake"
            models = {"object": "list", "data": [{"id": "fake", "owned_by": owner}]}
            self._send(200, json.dumps(models).encode())
        elif self.path == "/version" and fake.behaviour.vllm_version:
            self._send(200, json.dumps({"version": fake.behaviour.vllm_version}).encode())
        else:
            self._send(404, b'{"error": {"message": "not found"}}')

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        fake = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw)
        except json.JSONDecodeError:
            self._send(400, b'{"error": {"message": "request body is not JSON"}}')
            return
        text = _last_user_text(body)
        fault = fake._choose_fault(text)
        entry = LoggedRequest(
            self.path, body, text, fault, time.time(), auth=self.headers.get("Authorization")
        )
        fake._record(entry)
        anthropic = self.path.rstrip("/").endswith("/messages")
        if fake.behaviour.raw is not None:
            entry.fault = "raw"
            self._send_raw(fake.behaviour.raw(body, entry.auth))
        elif fault == "429":
            self._rate_limited(fake, anthropic)
        elif fault == "500":
            self._send(500, b'{"error": {"message": "internal error", "type": "server_error"}}')
        elif fault == "400":
            self._send(400, b'{"error": {"message": "context too long", "type": "invalid"}}')
        elif fault == "401":
            self._send(401, json.dumps({"error": {"message": LEAKY_401}}).encode())
        elif fault == "hang":
            fake._stop.wait(fake.behaviour.hang_s)
            self._send(504, b'{"error": {"message": "too late"}}')
        elif fault == "malformed":
            self._sleep(fake)
            self._send(200, b'{"id": "chatcmpl-x", "choices": [{"message": {"content": "tr')
        else:
            self._sleep(fake)
            respond = fake.behaviour.respond
            content = (
                GARBAGE_TEXT
                if fault == "text"
                else respond(body)
                if respond is not None
                else fake.behaviour.reply(text)
            )
            payload = (
                _anthropic_reply(body, content)
                if anthropic
                else _openai_reply(body, content, fake.behaviour.token_logprob)
            )
            self._send(200, json.dumps(payload).encode())
        entry.finished = time.time()

    def _sleep(self, fake: FakeServer) -> None:
        if fake.behaviour.latency_s > 0:
            fake._stop.wait(fake.behaviour.latency_s)

    def _rate_limited(self, fake: FakeServer, anthropic: bool) -> None:
        wait = fake._retry_after()
        header = fake.behaviour.retry_after_header
        headers = {}
        if header == "retry-after-ms":
            headers[header] = str(int(wait * 1000))
        elif header:
            headers[header] = f"{wait:.3f}"
        if anthropic:
            body = {"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}}
        else:
            body = {"error": {"message": "slow down", "type": "rate_limit_error"}}
        self._send(429, json.dumps(body).encode(), headers)


def _usage(body: dict[str, Any], content: str) -> tuple[int, int]:
    return max(1, _prompt_chars(body) // 4), max(1, len(content) // 4)


def _logprobs(content: str, logprob: Callable[[str, int, bytes], float]) -> dict[str, Any]:
    """OpenAI's ``logprobs`` object: ``content`` as tokens of 3 bytes each."""
    data = content.encode("utf-8")
    return {
        "content": [
            {
                "token": data[i : i + 3].decode("utf-8", "replace"),
                "logprob": logprob(content, i, data[i : i + 3]),
                "bytes": list(data[i : i + 3]),
                "top_logprobs": [],
            }
            for i in range(0, len(data), 3)
        ]
    }


def _openai_reply(
    body: dict[str, Any], content: str, logprob: Callable[[str, int, bytes], float] | None = None
) -> dict[str, Any]:
    prompt, completion = _usage(body, content)
    finish = "stop"
    limit = body.get("max_tokens") or body.get("max_completion_tokens")
    if isinstance(limit, int) and completion > limit:  # cut off, as a real server does
        content, completion, finish = content[: limit * 4], limit, "length"
    message: dict[str, Any] = {"role": "assistant", "content": content}
    tool_choice = body.get("tool_choice")
    if body.get("tools") and isinstance(tool_choice, dict):
        name = tool_choice.get("function", {}).get("name", "extract")
        message = {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": name, "arguments": content},
                }
            ],
        }
        finish = "tool_calls" if finish == "stop" else finish
    logprobs = None
    if body.get("logprobs") and message.get("content") is not None:
        logprobs = _logprobs(content, logprob or (lambda c, at, t: -0.01))
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "fake"),
        "choices": [
            {"index": 0, "message": message, "finish_reason": finish, "logprobs": logprobs}
        ],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        },
    }


def _anthropic_reply(body: dict[str, Any], content: str) -> dict[str, Any]:
    prompt, completion = _usage(body, content)
    tool_choice = body.get("tool_choice")
    blocks: list[dict[str, Any]]
    if body.get("tools") and isinstance(tool_choice, dict) and tool_choice.get("type") == "tool":
        try:
            arguments = json.loads(content)
        except json.JSONDecodeError:
            arguments = {"raw": content}
        blocks = [
            {"type": "tool_use", "id": "toolu_1", "name": tool_choice["name"], "input": arguments}
        ]
        stop = "tool_use"
    else:
        blocks = [{"type": "text", "text": content}]
        stop = "end_turn"
    return {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": body.get("model", "fake"),
        "content": blocks,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {"input_tokens": prompt, "output_tokens": completion},
    }


@pytest.fixture
def fake_openai() -> Iterator[FakeServer]:
    """A running :class:`FakeServer` with default behaviour (instant, valid JSON replies)."""
    server = FakeServer().start()
    try:
        yield server
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> None:
    """Serve in the foreground (for benchmarks): print the base URL, then serve forever."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--p429", type=float, default=0.0)
    parser.add_argument("--retry-after", type=float, nargs=2, default=(0.2, 1.0))
    parser.add_argument("--p500", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    behaviour = Behaviour(
        latency_s=args.latency,
        p_429=args.p429,
        p_500=args.p500,
        retry_after_s=tuple(args.retry_after),
        seed=args.seed,
    )
    server = FakeServer(behaviour)
    print(server.url, flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server._httpd.serve_forever(poll_interval=0.05)


if __name__ == "__main__":
    main()
