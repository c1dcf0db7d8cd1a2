"""Run a local model (``hf``, ``vllm``) over a corpus on a Ray cluster with Ray Data.

The driver (this process) keeps everything that makes runs resumable: it computes every
example's cache key, sends Ray only the examples not yet in the store, and alone writes
the predictions that stream back (grouped commits, as in the local runner), so the store,
the cache keys and resume work exactly as for a local run. Workers are a pool of Ray Data
actors (``map_batches`` with an actor class): each builds the backend once, loads the
weights once and runs its batched ``generate_sync`` on every batch it is given, so one
actor per GPU is one engine per GPU.

Failure: Ray restarts a dead actor and retries its batch (``max_restarts`` /
``max_task_retries``); if the job fails anyway, every prediction that came back before
the failure is already stored, and a rerun sends only the rest. A backend exception on a
batch is recorded as that batch's rows' error (retried by the next run), never a crash.

See ``docs/ray.md`` for multi-node use and what was verified.
"""

from __future__ import annotations

import time
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fieldwise.errors import UserError, require
from fieldwise.models._model import Generation, Model
from fieldwise.models._responses import clean_generation
from fieldwise.store import PredictionRow, Store
from fieldwise.store._lock import model_lock_sync
from fieldwise.tasks import Example, Task

RAY_PROVIDERS = ("hf", "vllm")
"""Backends with a batched ``generate_sync`` the workers can call."""


@dataclass(frozen=True)
class RayOptions:
    """Where and how wide: ``address`` is ``auto`` (a cluster named by ``RAY_ADDRESS`` or a
    running local one, else a new local instance) or ``ray://HOST:10001`` / ``HOST:6379``;
    ``workers`` actors each with ``gpus_per_worker`` GPUs (vLLM's tensor parallelism needs
    ``tensor_parallel_size`` GPUs per worker)."""

    address: str = "auto"
    workers: int = 1
    gpus_per_worker: float = 0.0
    cpus_per_worker: float = 1.0
    batch_size: int | None = None
    max_restarts: int = 3


class _Predictor:
    """One Ray actor: the backend built and loaded once, then called per batch."""

    def __init__(
        self, spec: str, task: Task, options: dict[str, Any], shots: list[Example]
    ) -> None:
        from fieldwise.models import create_model

        self.model = create_model(spec, task, options)
        self.model.shots = shots  # type: ignore[attr-defined]  # the driver's few-shot draw
        self.model.load()  # type: ignore[attr-defined]

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        examples = [
            Example(str(i), str(t)) for i, t in zip(batch["id"], batch["text"], strict=True)
        ]
        try:
            gens = self.model.generate_sync(examples)  # type: ignore[attr-defined]
            if len(gens) != len(examples):
                raise RuntimeError("backend returned the wrong number of outputs")
            outputs = [g.output for g in gens]
            errors = [g.error for g in gens]
            extra = [(g.latency_s, g.input_tokens, g.output_tokens, g.finish_reason) for g in gens]
        except Exception as exc:  # noqa: BLE001 - recorded per row, retried by the next run
            message = f"{type(exc).__name__}: {exc}"[:1000]
            outputs, errors = [None] * len(examples), [message] * len(examples)
            extra = [(None, None, None, None)] * len(examples)
        return {
            "key": list(batch["key"]),
            "output": outputs,
            "error": errors,
            "latency_s": [e[0] for e in extra],
            "input_tokens": [e[1] for e in extra],
            "output_tokens": [e[2] for e in extra],
            "finish_reason": [e[3] for e in extra],
        }


def check_ray_model(model: Model) -> None:
    """A model the Ray executor cannot run is an error, never a silent local run."""
    if model.provider not in RAY_PROVIDERS or not hasattr(model, "generate_sync"):
        raise UserError(
            f"the ray executor runs {' and '.join(RAY_PROVIDERS)} models, not {model.spec}",
            hint="drop --ray / executor: ray for this model",
        )


def connect(address: str) -> None:
    """Join (or start) the Ray instance; a running one in this process is reused."""
    require("ray", "ray")
    import ray

    if ray.is_initialized():
        return
    try:
        if address == "auto":
            ray.init(ignore_reinit_error=True, log_to_driver=False)
        else:
            ray.init(address=address, log_to_driver=False)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise UserError(f"cannot connect to Ray at {address}: {exc}") from exc


def run_model_ray(
    model: Model,
    examples: list[Example],
    store: Store,
    *,
    label: str,
    run_id: int | None,
    options: RayOptions,
    on_progress: Callable[[int], None] | None = None,
    on_wait: Callable[[], None] | None = None,
    repeats: int = 1,
) -> Any:
    """Predict every example not yet stored on Ray workers; return a ``RunOutcome``.
    Holds the model's lock, as every executor does (``store/_lock.py``)."""
    from fieldwise.runner._runner import RunOutcome, lock_name, plan_run

    check_ray_model(model)
    with model_lock_sync(store.project_dir, lock_name(model), on_wait):
        started = time.perf_counter()
        plan = plan_run(model, examples, store, on_progress, repeats)
        failed = 0
        if plan.pending:
            failed = _run_pending(
                model, plan.pending, store, label, run_id, options, plan.done, plan.copies,
                on_progress,
            )  # fmt: skip
        by_repeat = plan.rows()
    wall = time.perf_counter() - started
    return RunOutcome(by_repeat[0], len(plan.pending), plan.cached, failed, wall, by_repeat)


def _run_pending(
    model: Model,
    pending: dict[str, Example],
    store: Store,
    label: str,
    run_id: int | None,
    options: RayOptions,
    done: dict[str, PredictionRow],
    copies: Counter[str],
    on_progress: Callable[[int], None] | None,
) -> int:
    connect(options.address)
    import logging

    import ray

    # The driver shows its own progress bar; Ray Data's bars and INFO lines would garble it.
    ray.data.DataContext.get_current().enable_progress_bars = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)

    items = [{"key": k, "id": ex.id, "text": ex.text} for k, ex in pending.items()]
    batch_size = options.batch_size or max(1, model.max_batch_size)
    source = ray.data.from_items(items, override_num_blocks=max(1, len(items) // batch_size))
    opts = model.options.model_dump()
    with warnings.catch_warnings():
        # Ray 2.5x warns that extra remote args (max_restarts) will move; they still
        # apply, and without them a batch that always kills its worker would loop forever.
        warnings.simplefilter("ignore")
        ds = source.map_batches(
            _Predictor,
            fn_constructor_kwargs={
                "spec": model.spec,
                "task": model.task,
                "options": opts,
                "shots": list(getattr(model, "shots", [])),
            },
            batch_size=batch_size,
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=options.workers),
            num_gpus=options.gpus_per_worker or None,
            num_cpus=options.cpus_per_worker,
            max_restarts=options.max_restarts,
            max_task_retries=options.max_restarts,
        )
    by_key = dict(pending)
    failed = 0
    rows: list[PredictionRow] = []
    last_commit = time.monotonic()
    try:
        for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):
            finished = 0
            for i, key in enumerate(batch["key"]):
                key = str(key)
                # Cleaned as the local runner cleans every result: the error redacted.
                gen = clean_generation(
                    Generation(
                        _opt_str(batch["output"][i]),
                        _opt_str(batch["error"][i]),
                        _opt_num(batch["latency_s"][i], float) or 0.0,
                        _opt_num(batch["input_tokens"][i], int),
                        _opt_num(batch["output_tokens"][i], int),
                        _opt_str(batch["finish_reason"][i]),
                    )
                )
                row = PredictionRow(
                    key,
                    by_key[key].id,
                    gen.output,
                    gen.error,
                    gen.latency_s or None,
                    gen.input_tokens,
                    gen.output_tokens,
                    None,
                    gen.finish_reason,
                )
                rows.append(row)
                done[key] = row
                failed += row.error is not None
                finished += copies[key]
            # The driver alone writes: grouped commits, at most ~0.1 s behind the stream.
            if time.monotonic() - last_commit >= 0.1 or len(rows) >= 512:
                store.save_predictions(run_id, label, rows)
                rows, last_commit = [], time.monotonic()
            if on_progress:
                on_progress(finished)
    finally:
        if rows:
            store.save_predictions(run_id, label, rows)
    missing = [k for k in pending if k not in done]
    if missing:
        raise UserError(f"the Ray job returned no result for {len(missing)} examples")
    return failed


def _opt_str(value: Any) -> str | None:
    """Arrow turns a column of ``None`` into NaN on the way back: both mean "none"."""
    if value is None or isinstance(value, str):
        return value
    return None if value != value else str(value)  # NaN of any float type


def _opt_num(value: Any, kind: type) -> Any:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if number != number else kind(number)
