"""The runner: one code path from any model to stored predictions.

A :class:`RunJob` (model, examples, store, label, run id, settings, repeats) goes to
:func:`execute` with an :class:`Executor`: ``local`` (this process), ``batch`` (the
provider's batch API) or ``ray`` (a Ray cluster), registered in
:data:`fieldwise.registry.executors`. :func:`run_model` and :func:`run_model_async` are
the short forms for a local (or Ray) run.
"""

from __future__ import annotations

from typing import Any

from rich.progress import Progress

from fieldwise import registry
from fieldwise.models._model import Model
from fieldwise.runner._job import (
    Executor,
    Price,
    RunJob,
    RunOutcome,
    RunPlan,
    RunSettings,
    execute,
)
from fieldwise.runner._progress import Bar, make_progress
from fieldwise.runner._runner import LocalExecutor, run_model_async
from fieldwise.runner.limits import RateLimiter, RetryPolicy
from fieldwise.runner.ray_executor import RayExecutor, RayOptions
from fieldwise.store import Store
from fieldwise.tasks import Example

__all__ = [
    "Bar",
    "Executor",
    "LocalExecutor",
    "Price",
    "RateLimiter",
    "RayExecutor",
    "RayOptions",
    "RetryPolicy",
    "RunJob",
    "RunOutcome",
    "RunPlan",
    "RunSettings",
    "execute",
    "make_progress",
    "run_model",
    "run_model_async",
]

registry.executors.configure(check=Executor)
registry.executors.register("local", "fieldwise.runner._runner:LocalExecutor")
registry.executors.register("batch", "fieldwise.runner.batch:BatchExecutor")
registry.executors.register("ray", "fieldwise.runner.ray_executor:RayExecutor")


def run_model(
    model: Model,
    examples: list[Example],
    store: Store,
    *,
    progress: Progress | None = None,
    ray: RayOptions | None = None,
    **job: Any,
) -> RunOutcome:
    """Run ``model`` over ``examples`` in this process (on Ray with ``ray``), with a
    progress bar: :func:`execute` on a :class:`RunJob` of these and ``job`` (``label``,
    ``run_id``, ``settings``, ``repeats``). The model is closed afterwards."""
    executor: Executor = LocalExecutor() if ray is None else RayExecutor(ray)
    return execute(RunJob(model, examples, store, **job), executor, progress)
