"""A run always exits: a failing or interrupted run stops every worker even when a
backend swallows its cancellation, and whatever a backend returns is stored as data."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import ClassVar

import pytest

from fieldwise.errors import UserError
from fieldwise.models import Generation, Model
from fieldwise.runner import RunSettings, run_model
from fieldwise.store import Store
from fieldwise.tasks import Example, Task
from tests.runner.helpers import docs


class Stubborn(Model):
    """Fails the run on ``[doc-000]``; every other call ignores being cancelled, as a
    backend that catches ``CancelledError`` (or ``wait_for`` on Python 3.11) can."""

    provider: ClassVar[str] = "stubborn"
    default_concurrency: ClassVar[int] = 4

    async def generate(self, batch: list[Example]) -> list[Generation]:
        if "[doc-000]" in batch[0].text:
            await asyncio.sleep(0.2)
            raise UserError("the key was rejected")
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(0.5)
        return [Generation('{"ok": 1}') for _ in batch]


class Garbage(Model):
    """Returns every wrong type a third-party backend could."""

    provider: ClassVar[str] = "garbage"

    async def generate(self, batch: list[Example]) -> list[Generation]:
        i = int(batch[0].id[1:])
        shapes: list[object] = [
            Generation([{"type": "text", "text": '{"a": 1}'}], input_tokens="7"),  # type: ignore[arg-type]
            Generation({"a": "x\ud800"}, output_tokens=10**30, finish_reason={"x": 1}),  # type: ignore[arg-type]
            Generation(42, latency_s=float("nan"), input_tokens=-3),  # type: ignore[arg-type]
            "not a generation",
        ]
        return [shapes[i % len(shapes)]]  # type: ignore[list-item]


@pytest.mark.timeout(30)
def test_a_failing_run_exits_although_a_worker_swallows_cancellation(
    isaf: Task, store: Store
) -> None:
    start = time.monotonic()
    with pytest.raises(UserError, match="rejected"):
        # No timeout (as for local models): the backend's coroutine is awaited directly.
        settings = RunSettings(timeout_s=None)
        run_model(Stubborn("m", isaf), docs(12), store, label="m", run_id=None, settings=settings)
    assert time.monotonic() - start < 10


@pytest.mark.timeout(30)
def test_any_generation_shape_is_stored_as_data(isaf: Task, store: Store) -> None:
    settings = RunSettings(tpm=60_000)
    outcome = run_model(
        Garbage("g", isaf), docs(4), store, label="g", run_id=None, settings=settings
    )
    rows = outcome.rows
    assert rows[0].output == '{"a": 1}' and rows[0].input_tokens == 7
    assert rows[1].output == '{"a": "x\ufffd"}' and rows[1].finish_reason is None
    assert rows[1].output_tokens is not None and rows[1].output_tokens <= 10**7
    assert rows[2].output == "42" and rows[2].input_tokens is None
    assert 0 <= (rows[2].latency_s or 0) < 5
    assert rows[3].output is None and "not a Generation" in (rows[3].error or "")
    stored = store.predictions_by_key([r.key for r in rows])
    assert [stored[r.key].output for r in rows] == [r.output for r in rows]
