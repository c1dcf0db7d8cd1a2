"""The progress display every long job shares: one bar per model, on one display."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext

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
    """The progress display used for every long job: bar, count, rate and ETA."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        transient=transient,
    )


@contextmanager
def model_bar(progress: Progress | None, description: str, total: int) -> Iterator[TaskID | None]:
    """A bar for one model's run on ``progress`` (``None``: no display, no bar).

    A display the caller already started (one bar per model of a project) must stay up
    afterwards, so it is started and stopped here only when the caller did not."""
    if progress is None:
        yield None
        return
    ctx: AbstractContextManager[object] = nullcontext()
    if not progress.live.is_started:
        ctx = progress
    with ctx:
        # The bar's text column renders markup: a variant's ``[key=value]`` must show.
        yield progress.add_task(escape(description), total=total, rate="")
