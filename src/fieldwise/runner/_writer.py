"""Group commits of finished predictions, with a bounded window of exposure.

One SQLite transaction per finished request costs more CPU than the rest of the runner's
per-request work put together at high concurrency, so rows are committed in groups: a
group is committed ``interval_s`` (0.1 s) after its first row finished, or at once when it
reaches ``max_rows``, and whatever is pending is committed when the run ends, fails or is
cancelled (Ctrl-C). The guarantee: a prediction whose request finished more than
``interval_s`` before the process was killed (``kill -9``, power kept) is in the store;
only the last fraction of a second can be lost, and a lost prediction is simply computed
again by the next run (nothing is ever half-written: each group is one transaction). The
store runs SQLite in WAL mode with ``synchronous=NORMAL``, so a committed group survives the
process dying; after an operating-system crash or power loss the last commits may be lost
too (SQLite's documented trade-off for that mode).
"""

from __future__ import annotations

import asyncio

from fieldwise.store import PredictionRow, Store


class StoreWriter:
    """Buffers rows for :meth:`Store.save_predictions`; use from one event loop."""

    def __init__(
        self,
        store: Store,
        run_id: int | None,
        label: str,
        interval_s: float = 0.1,
        max_rows: int = 512,
    ) -> None:
        self.store, self.run_id, self.label = store, run_id, label
        self.interval_s, self.max_rows = interval_s, max_rows
        self._pending: list[PredictionRow] = []
        self._timer: asyncio.TimerHandle | None = None
        self._failure: BaseException | None = None

    def add(self, rows: list[PredictionRow]) -> None:
        """Queue rows; raises if an earlier timed commit failed (the run must stop)."""
        if self._failure is not None:
            raise self._failure
        self._pending.extend(rows)
        if len(self._pending) >= self.max_rows:
            self.flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.interval_s, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        try:
            self.flush()
        except Exception as exc:  # noqa: BLE001 - re-raised by the next add() or flush()
            self._failure = exc

    def flush(self) -> None:
        """Commit everything pending now (one transaction)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._failure is not None:
            failure, self._failure = self._failure, None
            raise failure
        rows, self._pending = self._pending, []
        if rows:
            self.store.save_predictions(self.run_id, self.label, rows)
