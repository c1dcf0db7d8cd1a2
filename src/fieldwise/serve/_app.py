"""The OpenAI-compatible HTTP surface, as a Starlette app served by uvicorn.

HTTP itself (keep-alive, chunked bodies, malformed framing, HEAD) is uvicorn's job; this
module maps routes to the engine. Validation runs on a worker thread (it tokenizes the
prompt and measures a schema against the limits), a ``response_format`` is compiled by
the :class:`~fieldwise.serve._compile.CompilePool` (never on a request thread), then the
request goes to the :class:`~fieldwise.serve._batcher.Batcher`. From the compile on, the
response watches the connection, so a client that goes away drops its queued compile or
cancels its row instead of holding the batch. ``/health`` answers 503 ``saturated``
while the compile pool can take no new schema.
Every error, routing ones included, uses OpenAI's
``{"error": {"message", "type", "param", "code"}}`` shape so SDK clients raise their
usual exception types (404 → ``NotFoundError``, 400 → ``BadRequestError``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Mapping
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from fieldwise.serve._batcher import Batcher, Ticket
from fieldwise.serve._compile import CompilePool
from fieldwise.serve._constrain import SchemaLimits
from fieldwise.serve._engine import Engine
from fieldwise.serve._protocol import MAX_BODY_BYTES, ApiError, ChatCall, parse_chat, resolve_model

log = logging.getLogger(__name__)
# A client that announces more body than it sends would otherwise hold its connection open.
BODY_TIMEOUT_S = 30.0


def _error(exc: ApiError, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        exc.body(), status_code=exc.status, headers={**exc.headers(), **(headers or {})}
    )


class ServeApp:
    """The engine, its batcher, the schema compile pool and the ASGI app (``.asgi``)."""

    def __init__(
        self,
        engine: Engine,
        batcher: Batcher,
        compiles: CompilePool | None = None,
        limits: SchemaLimits | None = None,
    ) -> None:
        self.engine = engine
        self.batcher = batcher
        self.compiles = compiles or CompilePool(lambda fmt: engine.constrainer().compile(fmt))
        self.limits = limits or SchemaLimits()
        routes = [
            Route("/v1/chat/completions", self._chat, methods=["POST", "OPTIONS"]),
            Route("/v1/models", self._models, methods=["GET", "OPTIONS"]),
            Route("/v1/models/{name:path}", self._model, methods=["GET", "OPTIONS"]),
            Route("/v1/stats", self._stats, methods=["GET", "OPTIONS"]),
            Route("/health", self._health, methods=["GET", "OPTIONS"]),
            Route("/v1/health", self._health, methods=["GET", "OPTIONS"]),
        ]
        self.asgi = Starlette(
            routes=routes,
            exception_handlers={
                HTTPException: self._http_error,
                ApiError: lambda _, exc: _error(exc),  # type: ignore[arg-type, return-value]
                Exception: self._server_error,
            },
        )

    def close(self) -> None:
        self.compiles.close()
        self.batcher.close()

    # Routing errors, in OpenAI's error shape rather than Starlette's plain text.
    async def _http_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        method, path = request.method, request.url.path
        if exc.status_code == 404:
            error = ApiError(404, f"no route {method} {path}", code="not_found")
        elif exc.status_code == 405:
            allow = (exc.headers or {}).get("Allow", "")
            error = ApiError(405, f"{method} is not allowed on {path}; use {allow}")
        else:
            error = ApiError(exc.status_code, str(exc.detail))
        return _error(error, exc.headers)

    async def _server_error(self, request: Request, exc: Exception) -> Response:
        log.exception("request %s %s failed", request.method, request.url.path)
        return _error(ApiError(500, f"server error: {exc}", type_="server_error"))

    @staticmethod
    def _options(request: Request, allow: str) -> Response | None:
        if request.method == "OPTIONS":
            return Response(status_code=204, headers={"Allow": allow})
        return None

    async def _health(self, request: Request) -> Response:
        """200 ``ok``, or 503 ``saturated`` while a new schema would be refused, so a load
        balancer or readiness probe sends traffic elsewhere."""
        if reply := self._options(request, "GET, HEAD, OPTIONS"):
            return reply
        saturated = self.compiles.saturated
        body = {
            "status": "saturated" if saturated else "ok",
            "compile": self.compiles.stats(),
            "queued": self.batcher.queued,
        }
        return JSONResponse(body, status_code=503 if saturated else 200)

    async def _stats(self, request: Request) -> Response:
        if reply := self._options(request, "GET, HEAD, OPTIONS"):
            return reply
        return JSONResponse({**self.batcher.stats(), "compile": self.compiles.stats()})

    async def _models(self, request: Request) -> Response:
        data = [self._describe(n) for n in self.engine.names]
        return self._options(request, "GET, HEAD, OPTIONS") or JSONResponse(
            {"object": "list", "data": data}
        )

    async def _model(self, request: Request) -> Response:
        if reply := self._options(request, "GET, HEAD, OPTIONS"):
            return reply
        name = request.path_params["name"]
        resolve_model(self.engine, name)
        return JSONResponse(self._describe(name))

    def _describe(self, name: str) -> dict[str, Any]:
        parent = None if name == self.engine.base_name else self.engine.base_name
        return {
            "id": name,
            "object": "model",
            "created": 0,
            "owned_by": "fieldwise",
            "parent": parent,
        }

    async def _chat(self, request: Request) -> Response:
        if reply := self._options(request, "POST, OPTIONS"):
            return reply
        body = await _read_body(request)
        call = await run_in_threadpool(parse_chat, body, self.engine, self.limits)
        return _Answer(self.batcher, self.compiles, call)


async def _read_body(request: Request) -> bytes:
    """The whole body (chunked or not): 413 past :data:`MAX_BODY_BYTES`, 408 if it stalls."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise ApiError(413, f"request body over {MAX_BODY_BYTES} bytes")
    chunks, size = [], 0
    try:
        with anyio.fail_after(BODY_TIMEOUT_S):
            async for chunk in request.stream():
                size += len(chunk)
                if size > MAX_BODY_BYTES:
                    raise ApiError(413, f"request body over {MAX_BODY_BYTES} bytes")
                chunks.append(chunk)
    except ClientDisconnect:
        raise ApiError(400, "the client closed the connection mid-body") from None
    except TimeoutError:
        raise ApiError(
            408,
            f"the request body did not arrive within {BODY_TIMEOUT_S:g} s "
            "(is Content-Length larger than the body?)",
        ) from None
    return b"".join(chunks)


class _Answer(Response):
    """Submits one chat call and answers it, whole or as server-sent events.

    It is an ASGI response rather than an endpoint's return value so that it can listen
    for ``http.disconnect`` while the batcher works and cancel the request's row.
    """

    def __init__(self, batcher: Batcher, compiles: CompilePool, call: ChatCall) -> None:
        self.batcher = batcher
        self.compiles = compiles
        self.call = call
        self.id = f"chatcmpl-{uuid.uuid4().hex}"
        self.created = int(time.time())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        ticket: Ticket | None = None
        try:
            async with anyio.create_task_group() as group:
                group.start_soon(_cancel_on_disconnect, receive, group.cancel_scope)
                try:
                    await self._compile()
                except ApiError as exc:
                    await _error(exc)(scope, _no_receive, send)
                    group.cancel_scope.cancel()
                    return
                ticket, events = self._submit()
                if self.call.stream:
                    await self._stream(send, ticket, events)
                else:
                    response = await self._whole(ticket, events)
                    await response(scope, _no_receive, send)
                group.cancel_scope.cancel()
        finally:
            if ticket is not None:
                ticket.cancel()  # no-op once it has finished

    async def _compile(self) -> None:
        """The request's grammar from the compile pool (cancelled if the client leaves)."""
        request, key = self.call.request, self.call.format_key
        if request.response_format is not None and key is not None:
            request.grammar = await self.compiles.grammar(key, request.response_format)

    def _submit(self) -> tuple[Ticket, asyncio.Queue[str | None]]:
        loop = asyncio.get_running_loop()
        events: asyncio.Queue[str | None] = asyncio.Queue()

        def put(item: str | None) -> None:  # from the worker thread
            loop.call_soon_threadsafe(events.put_nowait, item)

        ticket = self.batcher.submit(self.call.request, put if self.call.stream else None)
        ticket.future.add_done_callback(lambda _: put(None))
        return ticket, events

    async def _whole(self, ticket: Ticket, events: asyncio.Queue[str | None]) -> Response:
        while await events.get() is not None:
            pass
        try:
            result = ticket.future.result()
        except Exception as exc:
            return _error(ApiError(500, f"generation failed: {exc}", type_="server_error"))
        done = result.completion
        payload = {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.call.request.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": done.text},
                    "finish_reason": done.finish_reason,
                    "logprobs": _logprobs(done.logprobs) if self.call.request.logprobs else None,
                }
            ],
            "usage": _usage(done.prompt_tokens, done.completion_tokens),
        }
        headers = {"x-fieldwise-batch-size": str(result.batch_size)}
        return JSONResponse(payload, headers=headers)

    async def _stream(self, send: Send, ticket: Ticket, events: asyncio.Queue[str | None]) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/event-stream; charset=utf-8"),
                    (b"cache-control", b"no-cache"),
                    (b"x-accel-buffering", b"no"),
                ],
            }
        )

        async def event(data: Any, more: bool = True) -> None:
            text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
            body = f"data: {text}\n\n".encode()
            await send({"type": "http.response.body", "body": body, "more_body": more})

        await event(self._chunk({"role": "assistant", "content": ""}))
        while (piece := await events.get()) is not None:
            await event(self._chunk({"content": piece}))
        try:
            done = ticket.future.result().completion
        except Exception as exc:  # headers are sent: report in-band, as OpenAI does
            await event(ApiError(500, f"generation failed: {exc}", type_="server_error").body())
            await event("[DONE]", more=False)
            return
        await event(self._chunk({}, done.finish_reason))
        if self.call.include_usage:
            usage = _usage(done.prompt_tokens, done.completion_tokens)
            await event({**self._chunk({}), "choices": [], "usage": usage})
        await event("[DONE]", more=False)

    def _chunk(self, delta: dict[str, str], finish: str | None = None) -> dict[str, Any]:
        chunk: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.call.request.model,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        if self.call.include_usage:
            chunk["usage"] = None
        return chunk


def _logprobs(tokens: list[tuple[str, float]] | None) -> dict[str, Any]:
    """OpenAI's ``logprobs`` object; ``bytes`` are each piece's UTF-8, so a client can
    place every token in the text."""
    return {
        "content": [
            {"token": t, "logprob": lp, "bytes": list(t.encode("utf-8")), "top_logprobs": []}
            for t, lp in tokens or []
        ]
    }


def _usage(prompt: int, completion: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


async def _cancel_on_disconnect(receive: Receive, scope: anyio.CancelScope) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    scope.cancel()


async def _no_receive() -> dict[str, Any]:
    raise RuntimeError("a finished request has nothing more to receive")
