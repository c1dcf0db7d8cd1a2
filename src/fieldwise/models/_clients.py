"""An SDK client per event loop, shared by the HTTP API backends.

An async SDK client's pooled connections belong to the event loop that opened them, so a
second ``asyncio.run`` over the same model (a rerun, a test, the CLI after a notebook)
must get a client of its own instead of reusing dead connections.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Generic, TypeVar

C = TypeVar("C")


class PerLoopClient(Generic[C]):
    """Builds the client lazily, once per running event loop."""

    def __init__(self, factory: Callable[[], C]) -> None:
        self._factory = factory
        self._client: C | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def get(self) -> C:
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            self._loop = loop
            self._client = self._factory()
        return self._client

    async def aclose(self) -> None:
        client, self._client = self._client, None
        closer: Any = getattr(client, "close", None)
        if closer is not None:
            await closer()
