"""The progress display every long job shares: one bar per model, on one display."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


def make_progress(transient: bool = False) -> Progress:
    """The progress display used for every long job: bar, count, rate and ETA. It draws
    on stderr: stdout carries results (``REPORT=$(fieldwise run)`` must hold a path)."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        transient=transient,
        console=Console(stderr=True),
    )


class Bar:
    """One model's bar, as the executors report to it (a no-op without a display).

    :meth:`advance` counts rows as they finish (the online runner, Ray); :meth:`show`
    sets the count and a note at once (the batch runner: batch ids and states)."""

    def __init__(self, progress: Progress | None, task_id: TaskID | None, total: int) -> None:
        self.progress, self.task_id, self.total = progress, task_id, total
        self._first = True
        self._shown_at = 0.0

    def advance(self, n: int) -> None:
        progress, task_id = self.progress, self.task_id
        if progress is None or task_id is None:
            return
        if self._first:
            # The first call may be a jump over cached rows: start the rate and ETA
            # after it instead of counting it as speed.
            self._first = False
            progress.reset(task_id, total=self.total, completed=n, rate="")
            # reset() clears the finished time; update() sets it again when all are
            # done, so a fully cached model's clock stops instead of running on.
            progress.update(task_id, completed=n)
            return
        progress.advance(task_id, n)
        # The rate text changes at the display's refresh rate, not per request: looking
        # the speed up walks the task's samples, a cost paid thousands of times a run.
        now = time.monotonic()
        if now - self._shown_at >= 0.1:
            self._shown_at = now
            speed = next(t.speed for t in progress.tasks if t.id == task_id)
            progress.update(task_id, rate=f"{speed:.1f}/s" if speed else "")

    def show(self, completed: int, note: str) -> None:
        if self.progress is not None and self.task_id is not None:
            self.progress.update(self.task_id, completed=completed, rate=note[:60])


NO_BAR = Bar(None, None, 0)


@contextmanager
def model_bar(progress: Progress | None, description: str, total: int) -> Iterator[Bar]:
    """A bar for one model's run on ``progress`` (``None``: no display, a no-op bar).

    A display the caller already started (one bar per model of a project) must stay up
    afterwards, so it is started and stopped here only when the caller did not."""
    if progress is None:
        yield NO_BAR
        return
    ctx: AbstractContextManager[object] = nullcontext()
    if not progress.live.is_started:
        ctx = progress
    with ctx:
        # The bar's text column renders markup: a variant's ``[key=value]`` must show.
        task_id = progress.add_task(escape(description), total=total, rate="")
        yield Bar(progress, task_id, total)
