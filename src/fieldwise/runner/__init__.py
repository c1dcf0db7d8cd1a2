"""The runner: one code path from any model to stored predictions."""

from __future__ import annotations

import asyncio
import time

from rich.progress import Progress

from fieldwise.models._model import Model
from fieldwise.runner._progress import make_progress, model_bar
from fieldwise.runner._runner import (
    Price,
    RunOutcome,
    RunSettings,
    announce_wait,
    run_model_async,
)
from fieldwise.runner.limits import RateLimiter, RetryPolicy
from fieldwise.runner.ray_executor import RayOptions, run_model_ray
from fieldwise.store import Store
from fieldwise.tasks import Example

__all__ = [
    "Price",
    "RateLimiter",
    "RayOptions",
    "RetryPolicy",
    "RunOutcome",
    "RunSettings",
    "make_progress",
    "run_model",
    "run_model_async",
]


def run_model(
    model: Model,
    examples: list[Example],
    store: Store,
    *,
    label: str,
    run_id: int | None,
    settings: RunSettings | None = None,
    progress: Progress | None = None,
    ray: RayOptions | None = None,
    repeats: int = 1,
) -> RunOutcome:
    """Synchronous wrapper around :func:`run_model_async` with a progress bar.

    Ctrl-C cancels the requests in flight (raising ``KeyboardInterrupt``); everything
    finished so far is already stored. The model is closed afterwards either way. With
    ``ray``, the examples run on Ray workers instead (:func:`run_model_ray`).
    """
    total = len(examples) * repeats
    with model_bar(progress, label, total) as task_id:
        first = True
        shown_at = 0.0

        def advance(n: int) -> None:
            nonlocal first, shown_at
            if progress is None or task_id is None:
                return
            if first:
                # The first call may be a jump over cached rows: start the rate and ETA
                # after it instead of counting it as speed.
                first = False
                progress.reset(task_id, total=total, completed=n, rate="")
                # reset() clears the finished time; update() sets it again when all are
                # done, so a fully cached model's clock stops instead of running on.
                progress.update(task_id, completed=n)
                return
            progress.advance(task_id, n)
            # The rate text changes at the display's refresh rate, not per request: looking
            # the speed up walks the task's samples, a cost paid thousands of times a run.
            now = time.monotonic()
            if now - shown_at >= 0.1:
                shown_at = now
                speed = next(t.speed for t in progress.tasks if t.id == task_id)
                progress.update(task_id, rate=f"{speed:.1f}/s" if speed else "")

        if ray is not None:
            try:
                return run_model_ray(  # type: ignore[no-any-return]
                    model,
                    examples,
                    store,
                    label=label,
                    run_id=run_id,
                    options=ray,
                    on_progress=advance,
                    on_wait=announce_wait(label, store),
                    repeats=repeats,
                )
            finally:
                asyncio.run(model.aclose())

        async def main() -> RunOutcome:
            try:
                return await run_model_async(
                    model,
                    examples,
                    store,
                    label=label,
                    run_id=run_id,
                    settings=settings,
                    on_progress=advance,
                    on_wait=announce_wait(label, store),
                    repeats=repeats,
                )
            finally:
                await model.aclose()

        return asyncio.run(main())
