"""Serve a local base model and its LoRA adapters behind an OpenAI-compatible API.

``fieldwise serve --base PATH --adapter NAME=DIR ...`` answers
``POST /v1/chat/completions`` for the base model and every adapter (the request's
``model`` field picks one), batching concurrent requests. Any OpenAI client, including
fieldwise's own ``openai`` backend with ``base_url``, can then evaluate the adapters.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from fieldwise.serve._app import ApiError, ServeApp, make_server
from fieldwise.serve._batcher import Batcher
from fieldwise.serve._engine import Completion, CompletionRequest, Engine

__all__ = [
    "ApiError",
    "Completion",
    "CompletionRequest",
    "Engine",
    "ServeApp",
    "create_app",
    "make_server",
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
    base_name: str | None = None,
    device: str | None = None,
    tokenizer: str | None = None,
) -> ServeApp:
    """Load the model and adapters and start the batching worker (call ``close()`` after)."""
    engine = Engine(base_model, adapters, base_name=base_name, device=device, tokenizer=tokenizer)
    batcher = Batcher(engine, max_batch_size=max_batch_size, batch_window_ms=batch_window_ms)
    return ServeApp(engine, batcher)


@contextlib.contextmanager
def running_server(app: ServeApp, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve ``app`` on a background thread; yields the ``.../v1`` base URL for clients."""
    server = make_server(app, host, port)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def serve(
    host: str,
    port: int,
    base_model: str,
    adapters: dict[str, str] | None = None,
    *,
    max_batch_size: int = 8,
    batch_window_ms: float = 15,
    base_name: str | None = None,
    device: str | None = None,
    tokenizer: str | None = None,
) -> None:
    """Run the server in the foreground until Ctrl-C."""
    from rich.console import Console

    console = Console(stderr=True)
    app = create_app(
        base_model,
        adapters,
        max_batch_size=max_batch_size,
        batch_window_ms=batch_window_ms,
        base_name=base_name,
        device=device,
        tokenizer=tokenizer,
    )
    server = make_server(app, host, port)
    url = f"http://{host}:{server.server_address[1]}/v1"
    console.print(f"serving {', '.join(app.engine.names)} at {url} on {app.engine.device}")
    console.print(f"evaluate with: OPENAI_BASE_URL={url} and model spec openai/<name>")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        console.print("stopping")
    finally:
        server.server_close()
        app.close()
