"""One process at a time per model and project: two ``predict`` runs must not pay twice.

Two processes predicting with the same model on one store would each read the same
"not yet done" keys and request every row twice. Each run therefore holds an advisory
lock (``flock``) on ``<project>/locks/<model hash>.lock`` while it predicts: a second
process waits (saying so once), then finds the first one's rows finished in the store
and requests only what is left. The OS releases the lock when a process dies, even by
``kill -9``, so a stale lock never blocks a later run. Where ``fcntl`` does not exist
(Windows) runs are not serialised.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


@contextlib.asynccontextmanager
async def model_lock(
    project_dir: Path, name: str, on_wait: Callable[[], None] | None = None
) -> AsyncIterator[None]:
    """Hold the lock named ``name`` in ``project_dir`` (polling, so the event loop and
    Ctrl-C stay responsive while another process holds it)."""
    if fcntl is None:
        yield
        return
    folder = project_dir / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        waited = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not waited and on_wait is not None:
                    on_wait()
                waited = True
                await asyncio.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
