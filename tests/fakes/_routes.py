"""A small routed HTTP server on 127.0.0.1 for the fakes of hosted fine-tuning APIs.

Each fake registers ``(method, path regex) -> handler``; a handler gets a
:class:`Request` (method, path, query, headers, raw body, parsed JSON or multipart form)
and returns a :class:`Reply`. Every request is logged. A handler may ``hold`` a request
(block until released or the server stops) to model a service that made something but
has not answered yet: the window a ``kill -9`` lands in.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    match: re.Match[str]
    client_gone: Callable[[], bool] = lambda: False
    """Whether the client hung up (a held request whose client was killed)."""

    @property
    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, bytes]:
        """A multipart/form-data body as ``{name: bytes}``."""
        ctype = self.headers.get("content-type", "")
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"Content-Type: {ctype}\r\n\r\n".encode() + self.body
        )
        out = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            out[str(name)] = part.get_payload(decode=True) or b""
        return out


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None
    content_type: str = "application/json"


Handler = Callable[[Request], Reply]


class RoutedServer:
    """A threaded HTTP server dispatching on method and path regex."""

    def __init__(self) -> None:
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self.log: list[tuple[str, str]] = []
        self.errors: list[str] = []
        """Exceptions the handlers raised (a test can assert there were none)."""
        self.lock = threading.RLock()
        self.stopping = threading.Event()
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.app = self
        self._thread: threading.Thread | None = None

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        self.routes.append((method, re.compile(pattern + r"$"), handler))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def start(self) -> RoutedServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def requests(self, method: str | None = None, contains: str = "") -> list[tuple[str, str]]:
        with self.lock:
            return [r for r in self.log if (method is None or r[0] == method) and contains in r[1]]

    def hold(self, gate: threading.Event) -> None:
        """Block this request until ``gate`` is set or the server stops."""
        while not gate.wait(0.05):
            if self.stopping.is_set():
                return

    def dispatch(
        self,
        request_line: tuple[str, str, dict[str, str], bytes],
        client_gone: Callable[[], bool] = lambda: False,
    ) -> Reply:
        method, target, headers, body = request_line
        parts = urlsplit(target)
        with self.lock:
            self.log.append((method, parts.path))
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        for want, pattern, handler in self.routes:
            m = pattern.match(parts.path)
            if want == method and m:
                try:
                    req = Request(method, parts.path, query, headers, body, m, client_gone)
                    return handler(req)
                except Exception as exc:  # noqa: BLE001 - a fake's bug must show, not hang
                    self.errors.append(f"{method} {parts.path}: {exc!r}")
                    return Reply(500, {"error": {"message": f"fake failed: {exc!r}"}})
        return Reply(404, {"error": {"message": f"no route {method} {parts.path}"}})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    app: RoutedServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client killed mid-request is expected in these tests."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def _gone(self) -> bool:
        import select
        import socket

        try:
            ready, _, _ = select.select([self.connection], [], [], 0)
            return bool(ready) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        reply = self.server.app.dispatch((self.command, self.path, headers, body), self._gone)
        payload = reply.raw if reply.raw is not None else json.dumps(reply.body).encode()
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(payload)))
            for key, value in reply.headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(payload)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle  # noqa: N815


def chat_reply(body: dict[str, Any], content: str) -> dict[str, Any]:
    """An OpenAI chat-completions answer (for a fake that also serves the fine-tune)."""
    return {
        "id": "chatcmpl-ft",
        "object": "chat.completion",
        "created": 0,
        "model": body.get("model", "ft"),
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content},
             "finish_reason": "stop", "logprobs": None}
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }  # fmt: skip
