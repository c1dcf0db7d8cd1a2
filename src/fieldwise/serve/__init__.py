"""Serve a local base model and its LoRA adapters behind an OpenAI-compatible API.

``fieldwise serve --base PATH --adapter NAME=DIR ...`` answers
``POST /v1/chat/completions`` for the base model and every adapter (the request's
``model`` field picks one), batching concurrent requests. Any OpenAI client, including
fieldwise's own ``openai`` backend with ``base_url``, can then evaluate the adapters.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

from fieldwise.errors import require

require("starlette", "serve")
require("uvicorn", "serve")

from fieldwise.serve._app import ServeApp  # noqa: E402
from fieldwise.serve._batcher import DEFAULT_MAX_REQUEST_S, Batcher  # noqa: E402
from fieldwise.serve._compile import (  # noqa: E402
    DEFAULT_MAX_WAITING,
    DEFAULT_TIMEOUT_S,
    DEFAULT_WORKERS,
    CompilePool,
)
from fieldwise.serve._constrain import SchemaLimits  # noqa: E402
from fieldwise.serve._engine import (  # noqa: E402
    Completion,
    CompletionRequest,
    Engine,
    check_adapter_name,
)
from fieldwise.serve._protocol import ApiError  # noqa: E402

__all__ = [
    "DEFAULT_MAX_REQUEST_S",
    "ApiError",
    "CompilePool",
    "Completion",
    "CompletionRequest",
    "Engine",
    "SchemaLimits",
    "ServeApp",
    "create_app",
    "parse_adapters",
    "running_server",
    "serve",
]


def parse_adapters(items: list[str]) -> dict[str, str]:
    """``["NAME=DIR", ...]`` from the command line into a mapping; UserError on bad items."""
    from fieldwise.errors import UserError

    adapters: dict[str, str] = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or not name.strip() or not path.strip():
            raise UserError(f"bad --adapter '{item}'", hint="write --adapter NAME=DIR")
        check_adapter_name(name.strip())
        if name in adapters:
            raise UserError(f"adapter name '{name}' given twice")
        adapters[name.strip()] = path.strip()
    return adapters


def create_app(
    base_model: str,
    adapters: dict[str, str] | None = None,
    *,
    max_batch_size: int = 8,
    batch_window_ms: float = 15,
    max_request_s: float = DEFAULT_MAX_REQUEST_S,
    base_name: str | None = None,
    device: str | None = None,
    tokenizer: str | None = None,
    schema_limits: SchemaLimits | None = None,
    compile_workers: int = DEFAULT_WORKERS,
    compile_queue: int = DEFAULT_MAX_WAITING,
    compile_timeout_s: float = DEFAULT_TIMEOUT_S,
) -> ServeApp:
    """Load the model and adapters and start the batching worker (call ``close()`` after).

    ``max_request_s`` bounds the generation time of any one request, and so how long a
    batch can keep later requests waiting; a row cut by it ends with ``length``.
    ``schema_limits`` bound what a ``response_format`` may ask for; ``compile_workers``
    threads compile schemas, ``compile_queue`` more may wait, each for at most
    ``compile_timeout_s`` in the queue and as long compiling (see ``serve/_compile.py``).
    """
    engine = Engine(base_model, adapters, base_name=base_name, device=device, tokenizer=tokenizer)
    batcher = Batcher(
        engine,
        max_batch_size=max_batch_size,
        batch_window_ms=batch_window_ms,
        max_request_s=max_request_s,
    )
    compiles = CompilePool(
        lambda fmt: engine.constrainer().compile(fmt),
        workers=compile_workers,
        max_waiting=compile_queue,
        timeout_s=compile_timeout_s,
    )
    return ServeApp(engine, batcher, compiles, schema_limits)


def _listen(host: str, port: int) -> socket.socket:
    """A bound listening socket, so port 0 resolves before the server starts."""
    from fieldwise.errors import UserError

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family, backlog=1024)
    except OSError as exc:
        raise UserError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def _uvicorn(app: ServeApp, **options: Any) -> Any:
    import uvicorn

    from fieldwise.serve._http import HeaderTimeoutProtocol

    config = uvicorn.Config(
        app.asgi,
        http=HeaderTimeoutProtocol,  # slow request headers are cut off (slowloris)
        lifespan="off",
        log_level="warning",
        access_log=False,
        # Clients such as openai's reuse pooled connections after long pauses between
        # requests; a short keep-alive makes them race the server's close.
        timeout_keep_alive=75,
        timeout_graceful_shutdown=5,
        **options,
    )
    return uvicorn.Server(config)


def _base_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{f'[{host}]' if ':' in host else host}:{port}/v1"


@contextlib.contextmanager
def running_server(app: ServeApp, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve ``app`` on a background thread; yields the ``.../v1`` base URL for clients."""
    sock = _listen(host, port)
    server = _uvicorn(app)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        if not server.started:
            raise RuntimeError("the server did not start")
        yield _base_url(sock)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def serve(
    host: str,
    port: int,
    base_model: str,
    adapters: dict[str, str] | None = None,
    **options: Any,
) -> None:
    """Run the server in the foreground until Ctrl-C; ``options`` are :func:`create_app`'s."""
    from rich.console import Console

    console = Console(stderr=True)
    sock = _listen(host, port)
    app = create_app(base_model, adapters, **options)
    url = _base_url(sock)
    console.print(f"serving {', '.join(app.engine.names)} at {url} on {app.engine.device}")
    console.print(f"evaluate with: OPENAI_BASE_URL={url} and model spec openai/<name>")
    try:
        # uvicorn stops on Ctrl-C or SIGTERM, then re-raises the signal once it is done.
        _uvicorn(app).run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        console.print("stopping")
        sock.close()
        app.close()
