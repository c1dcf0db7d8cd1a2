"""Group commits: rows reach the store within the window, and a failed commit stops the run."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from fieldwise.runner._writer import StoreWriter
from fieldwise.store import PredictionRow, Store


def _count(project: Path) -> int:
    db = sqlite3.connect(project / "fieldwise.sqlite")
    try:
        return int(db.execute("SELECT count(*) FROM predictions").fetchone()[0])
    finally:
        db.close()


def test_rows_are_committed_within_the_window_and_in_groups(tmp_path: Path) -> None:
    commits: list[int] = []

    async def main(store: Store) -> None:
        original = store.save_predictions
        store.save_predictions = lambda run, label, rows: (  # type: ignore[method-assign]
            commits.append(len(rows)),
            original(run, label, rows),
        )
        writer = StoreWriter(store, None, "m", interval_s=0.05, max_rows=4)
        writer.add([PredictionRow("k0", "e0", "{}")])
        writer.add([PredictionRow("k1", "e1", "{}")])
        assert _count(tmp_path) == 0  # not yet: the group is still open
        await asyncio.sleep(0.2)
        assert _count(tmp_path) == 2  # another connection sees them: committed
        writer.add([PredictionRow(f"b{i}", f"b{i}", "{}") for i in range(5)])  # over max_rows
        assert _count(tmp_path) == 7
        writer.add([PredictionRow("last", "last", "{}")])
        writer.flush()
        assert _count(tmp_path) == 8

    with Store(tmp_path) as store:
        asyncio.run(main(store))
    assert commits == [2, 5, 1]


def test_a_failed_timed_commit_is_raised_by_the_next_call(tmp_path: Path) -> None:
    async def main(store: Store) -> None:
        writer = StoreWriter(store, None, "m", interval_s=0.01)
        store.close()  # every later commit fails
        writer.add([PredictionRow("k0", "e0", "{}")])
        await asyncio.sleep(0.1)
        with pytest.raises(sqlite3.ProgrammingError):
            writer.add([PredictionRow("k1", "e1", "{}")])

    asyncio.run(main(Store(tmp_path)))


def test_batched_keys_are_the_same_bytes_as_one_at_a_time() -> None:
    from fieldwise._hashing import prediction_key, prediction_keys
    from fieldwise.tasks import Example

    identity = {"provider": "openai", "name": "m", "options": {"t": 0.0, "ü": [1, None]}}
    texts = ["plain", 'quotes " and \\ back', "ünïcödé — \u2028 line sep", "tab\tnew\nline\x00"]
    examples = [Example(str(i), t) for i, t in enumerate(texts)]
    assert prediction_keys(identity, examples) == [prediction_key(identity, e) for e in examples]
