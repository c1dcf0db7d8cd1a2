"""The OpenAI-compatible HTTP surface: ``/v1/chat/completions``, ``/v1/models``, stats.

Built on the standard library's threading HTTP server so serving needs no extra web
framework: each connection gets a thread that validates the request, submits it to the
:class:`~fieldwise.serve._batcher.Batcher` and blocks on its future. Errors use
OpenAI's ``{"error": {"message", "type", "param", "code"}}`` shape so SDK clients raise
their usual exception types (404 → ``NotFoundError``, 400 → ``BadRequestError``).
"""

from __future__ import annotations

import json
import math
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from fieldwise.serve._batcher import Batcher
from fieldwise.serve._constrain import ConstraintError
from fieldwise.serve._engine import CompletionRequest, Engine

MAX_BODY_BYTES = 16 * 1024 * 1024
DEFAULT_MAX_TOKENS = 256
Response = tuple[int, dict[str, str], dict[str, Any]]


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        type_: str = "invalid_request_error",
    ) -> None:
        super().__init__(message)
        self.status, self.param, self.code, self.type = status, param, code, type_

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "message": str(self),
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }


def _number(body: dict[str, Any], key: str, default: float, lo: float, hi: float) -> float:
    value = body.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ApiError(400, f"'{key}' must be a number", param=key)
    if not lo <= value <= hi:
        raise ApiError(400, f"'{key}' must be between {lo:g} and {hi:g}", param=key)
    return float(value)


def _messages(raw: Any) -> list[dict[str, str]]:
    if not isinstance(raw, list) or not raw:
        raise ApiError(400, "'messages' must be a non-empty list", param="messages")
    out = []
    for i, msg in enumerate(raw):
        where = f"messages[{i}]"
        if not isinstance(msg, dict) or msg.get("role") not in ("system", "user", "assistant"):
            raise ApiError(400, f"{where} needs a role of system, user or assistant", param=where)
        content = msg.get("content")
        if isinstance(content, list):  # content parts: only text is supported
            if not all(isinstance(p, dict) and p.get("type") == "text" for p in content):
                raise ApiError(400, f"{where}: only text content parts are supported", param=where)
            content = "".join(str(p.get("text", "")) for p in content)
        if not isinstance(content, str):
            raise ApiError(400, f"{where}.content must be a string", param=where)
        out.append({"role": str(msg["role"]), "content": content})
    return out


class ServeApp:
    """Routes requests to the engine through the batcher; usable without a socket."""

    def __init__(self, engine: Engine, batcher: Batcher) -> None:
        self.engine = engine
        self.batcher = batcher

    def close(self) -> None:
        self.batcher.close()

    def handle(self, method: str, path: str, body: bytes) -> Response:
        """Answer one request: (status, extra headers, JSON body)."""
        path = path.split("?", 1)[0].rstrip("/")
        try:
            if path == "/v1/chat/completions":
                if method != "POST":
                    raise ApiError(405, "use POST for /v1/chat/completions")
                return self.chat(body)
            if method != "GET":
                raise ApiError(405, f"use GET for {path}")
            if path == "/v1/models":
                return (
                    200,
                    {},
                    {"object": "list", "data": [self._model(n) for n in self.engine.names]},
                )
            if path.startswith("/v1/models/"):
                name = path[len("/v1/models/") :]
                self._resolve(name)
                return 200, {}, self._model(name)
            if path == "/v1/stats":
                return 200, {}, self.batcher.stats()
            if path in ("/health", "/v1/health"):
                return 200, {}, {"status": "ok"}
            raise ApiError(404, f"no route {method} {path}", code="not_found")
        except ApiError as exc:
            return exc.status, {}, exc.body()

    def _model(self, name: str) -> dict[str, Any]:
        parent = None if name == self.engine.base_name else self.engine.base_name
        return {
            "id": name,
            "object": "model",
            "created": 0,
            "owned_by": "fieldwise",
            "parent": parent,
        }

    def _resolve(self, name: Any) -> None:
        if not isinstance(name, str) or not name:
            raise ApiError(400, "'model' must be a model name", param="model")
        try:
            self.engine.resolve(name)
        except KeyError:
            raise ApiError(
                404,
                f"The model '{name}' does not exist; served: {', '.join(self.engine.names)}",
                param="model",
                code="model_not_found",
            ) from None

    def parse(self, body: bytes) -> CompletionRequest:
        """Validate a chat-completion body (OpenAI semantics) into a request."""
        try:
            data = json.loads(body or b"null")
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ApiError(400, f"request body is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise ApiError(400, "request body must be a JSON object")
        self._resolve(data.get("model"))
        if data.get("stream"):
            raise ApiError(400, "streaming is not supported by this server", param="stream")
        if data.get("tools") or data.get("functions"):
            raise ApiError(
                400,
                "tool calls are not supported; ask for response_format json_schema instead",
                param="tools",
            )
        if data.get("n", 1) != 1:
            raise ApiError(400, "only n=1 is supported", param="n")
        max_tokens = data.get("max_completion_tokens", data.get("max_tokens"))
        if max_tokens is None:
            max_tokens = DEFAULT_MAX_TOKENS
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
            raise ApiError(400, "'max_tokens' must be a positive integer", param="max_tokens")
        stop = data.get("stop") or []
        stop = [stop] if isinstance(stop, str) else stop
        if not isinstance(stop, list) or not all(isinstance(s, str) and s for s in stop):
            raise ApiError(400, "'stop' must be a string or a list of strings", param="stop")
        request = CompletionRequest(
            model=data["model"],
            messages=_messages(data.get("messages")),
            max_tokens=max_tokens,
            temperature=_number(data, "temperature", 0.0, 0.0, 2.0),
            top_p=_number(data, "top_p", 1.0, 0.0, 1.0),
            stop=stop,
            response_format=self._response_format(data.get("response_format")),
        )
        return request

    def _response_format(self, raw: Any) -> dict[str, Any] | None:
        if raw is None:
            return None
        if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
            raise ApiError(
                400, "'response_format' must be an object with a type", param="response_format"
            )
        if raw["type"] == "text":
            return None
        try:
            self.engine.constrainer().compile(raw)
        except ConstraintError as exc:
            raise ApiError(400, str(exc), param="response_format") from None
        return raw

    def chat(self, body: bytes) -> Response:
        request = self.parse(body)
        try:
            result = self.batcher.submit(request).result()
        except Exception as exc:
            raise ApiError(500, f"generation failed: {exc}", type_="server_error") from None
        done = result.completion
        payload = {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": done.text},
                    "finish_reason": done.finish_reason,
                    "logprobs": None,
                }
            ],
            "usage": {
                "prompt_tokens": done.prompt_tokens,
                "completion_tokens": done.completion_tokens,
                "total_tokens": done.prompt_tokens + done.completion_tokens,
            },
        }
        return 200, {"x-fieldwise-batch-size": str(result.batch_size)}, payload


def make_handler(app: ServeApp) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "fieldwise-serve"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass  # request lines would drown the server's own output

        def _dispatch(self, method: str) -> None:
            length = int(self.headers.get("content-length") or 0)
            headers: dict[str, str]
            if length > MAX_BODY_BYTES:
                status, headers, payload = 413, {}, ApiError(413, "request too large").body()
                self.close_connection = True
            else:
                body = self.rfile.read(length) if length else b""
                status, headers, payload = app.handle(method, self.path, body)
            data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802
            self._dispatch("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._dispatch("POST")

    return Handler


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default listen backlog of 5 resets connections when a client opens
    # dozens at once, which is exactly the load batching is for.
    request_queue_size = 1024


def make_server(app: ServeApp, host: str = "127.0.0.1", port: int = 8000) -> Server:
    """A threading HTTP server for ``app`` bound to ``host:port`` (0 = any free port)."""
    return Server((host, port), make_handler(app))
