"""One process at a time per model and project: two ``predict`` runs must not pay twice.

Two processes predicting with the same model on one store would each read the same
"not yet done" keys and request every row twice. Each run therefore holds an advisory
lock (``flock``) on ``<project>/locks/<model hash>.lock`` while it predicts, whichever
executor runs it (in this process, through a batch API or on Ray): a second process
waits (saying so once), then finds the first one's rows finished in the store and
requests only what is left. The OS releases the lock when a process dies, even by
``kill -9``, so a stale lock never blocks a later run. Where ``fcntl`` does not exist
(Windows) runs are not serialised.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

POLL_S = 0.1


class _Lock:
    """The lock file of one model in one project, tried without blocking."""

    def __init__(self, project_dir: Path, name: str, on_wait: Callable[[], None] | None) -> None:
        folder = project_dir / "locks"
        folder.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(folder / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        self.on_wait = on_wait
        self.waited = self.held = False

    def try_acquire(self) -> bool:
        assert fcntl is not None
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not self.waited and self.on_wait is not None:
                self.on_wait()
            self.waited = True
            return False
        self.held = True
        return True

    def close(self) -> None:
        """Release the lock if held, and close the file (also after Ctrl-C while waiting)."""
        assert fcntl is not None
        try:
            if self.held:
                fcntl.flock(self.fd, fcntl.LOCK_UN)
        finally:
            os.close(self.fd)


@contextlib.contextmanager
def _opened(
    project_dir: Path, name: str, on_wait: Callable[[], None] | None
) -> Iterator[_Lock | None]:
    """The lock file, closed (and released) afterwards; ``None`` where there is no flock."""
    if fcntl is None:
        yield None
        return
    lock = _Lock(project_dir, name, on_wait)
    try:
        yield lock
    finally:
        lock.close()


@contextlib.asynccontextmanager
async def model_lock(
    project_dir: Path, name: str, on_wait: Callable[[], None] | None = None
) -> AsyncIterator[None]:
    """Hold the lock named ``name`` in ``project_dir`` (polling, so the event loop and
    Ctrl-C stay responsive while another process holds it)."""
    with _opened(project_dir, name, on_wait) as lock:
        while lock is not None and not lock.try_acquire():
            await asyncio.sleep(POLL_S)
        yield


@contextlib.contextmanager
def model_lock_sync(
    project_dir: Path, name: str, on_wait: Callable[[], None] | None = None
) -> Iterator[None]:
    """:func:`model_lock` for a caller without an event loop (the Ray driver)."""
    with _opened(project_dir, name, on_wait) as lock:
        while lock is not None and not lock.try_acquire():
            time.sleep(POLL_S)
        yield
