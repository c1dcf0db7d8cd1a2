"""Run a local-weight model (a backend declaring ``runs_on_ray``: ``hf``, ``vllm``) over a
corpus on a Ray cluster with Ray Data.

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

import asyncio
import json
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from fieldwise.errors import UserError, require
from fieldwise.models._model import Generation, Model
from fieldwise.models._responses import clean_generation
from fieldwise.runner._job import Executor, RunJob, RunOutcome, RunPlan, result_row
from fieldwise.runner._progress import Bar
from fieldwise.store import PredictionRow
from fieldwise.tasks import Example, Task

if TYPE_CHECKING:
    from fieldwise.config import ModelConfig


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
        self.model.load()

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        examples = [
            Example(str(i), str(t)) for i, t in zip(batch["id"], batch["text"], strict=True)
        ]
        try:
            gens = self.model.generate_sync(examples)
            if len(gens) != len(examples):
                raise RuntimeError("backend returned the wrong number of outputs")
            outputs = [g.output for g in gens]
            errors = [g.error for g in gens]
            extra: list[tuple[Any, ...]] = [
                (g.latency_s, g.input_tokens, g.output_tokens, g.finish_reason) for g in gens
            ]
            signals = [json.dumps(g.signals) if g.signals else None for g in gens]
        except Exception as exc:  # noqa: BLE001 - recorded per row, retried by the next run
            message = f"{type(exc).__name__}: {exc}"[:1000]
            outputs, errors = [None] * len(examples), [message] * len(examples)
            extra = [(None, None, None, None)] * len(examples)
            signals = [None] * len(examples)
        return {
            "key": list(batch["key"]),
            "output": outputs,
            "error": errors,
            "latency_s": [e[0] for e in extra],
            "input_tokens": [e[1] for e in extra],
            "output_tokens": [e[2] for e in extra],
            "finish_reason": [e[3] for e in extra],
            "signals": signals,
        }


def _signals(value: Any) -> Any:
    """A worker's signals, sent as JSON text (``clean_generation`` checks them)."""
    text = _opt_str(value)
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


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


class RayExecutor(Executor):
    """On a Ray cluster: for backends that declare ``runs_on_ray`` (``hf``, ``vllm``)."""

    name: ClassVar[str] = "ray"
    capability: ClassVar[str | None] = "runs_on_ray"

    def __init__(self, options: RayOptions | None = None) -> None:
        self.options = options or RayOptions()

    @classmethod
    def from_config(cls, config: ModelConfig) -> Executor:
        return cls(
            RayOptions(
                address=config.ray_address,
                workers=config.ray_workers,
                gpus_per_worker=config.ray_gpus_per_worker,
            )
        )

    def refusal(self, label: str, backend: type[Model]) -> UserError:
        return UserError(
            f"the ray executor runs {' and '.join(self.providers())} models, not "
            f"{backend.provider} ('{label}')",
            hint="drop --ray / executor: ray for this model",
        )

    def run(self, job: RunJob, bar: Bar) -> RunOutcome:
        """Predict every example not yet stored on Ray workers."""
        try:
            plan = job.plan(bar.advance)
            failed = 0
            if plan.pending:
                failed = _run_pending(job, plan, self.options, bar.advance)
            return plan.outcome(failed)
        finally:
            asyncio.run(job.model.aclose())


def _run_pending(
    job: RunJob, plan: RunPlan, options: RayOptions, on_progress: Callable[[int], None]
) -> int:
    model, store, pending, done = job.model, job.store, plan.pending, plan.done
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
                        signals=_signals(batch["signals"][i]),
                    )
                )
                row = result_row(key, by_key[key].id, gen, None)
                rows.append(row)
                done[key] = row
                failed += row.error is not None
                finished += plan.copies[key]
            # The driver alone writes: grouped commits, at most ~0.1 s behind the stream.
            if time.monotonic() - last_commit >= 0.1 or len(rows) >= 512:
                store.save_predictions(job.run_id, job.label, rows)
                rows, last_commit = [], time.monotonic()
            on_progress(finished)
    finally:
        if rows:
            store.save_predictions(job.run_id, job.label, rows)
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
