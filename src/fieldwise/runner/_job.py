"""One run job, the executor protocol, and the one place a job is executed.

A :class:`RunJob` is everything a run of one model needs (the model, the examples, the
store, the label, the run id, the settings, the repeats) in one frozen object, so no
function passes that list along by hand. An :class:`Executor` is how the job's pending
predictions get computed: in this process (``local``), through the provider's batch API
(``batch``) or on a Ray cluster (``ray``). Executors are registered in
:data:`fieldwise.registry.executors` and chosen once per model from its config and from
what its backend class declares it can do (``Executor.capability``).

:func:`execute` is the one path every executor runs through: it checks the executor
can run the model, shows the model's bar, and holds the model's lock (``store/_lock.py``)
for the whole run, so two processes never pay for the same rows whichever executor
each uses.
"""

from __future__ import annotations

import sys
import time
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, ClassVar

from rich.progress import Progress

from fieldwise import registry
from fieldwise._hashing import content_hash, prediction_keys
from fieldwise.errors import UserError
from fieldwise.models._model import Generation, Model
from fieldwise.pricing import Price
from fieldwise.runner._progress import Bar, model_bar
from fieldwise.runner.limits import RetryPolicy
from fieldwise.store import PredictionRow, Store
from fieldwise.store._lock import model_lock, model_lock_sync
from fieldwise.tasks import Example

if TYPE_CHECKING:
    from contextlib import AbstractAsyncContextManager, AbstractContextManager

    from fieldwise.config import ModelConfig


MAX_PLANNED = 5_000_000
"""The most predictions (rows x repeats) one run plans: every one is keyed and looked up
in memory before the first request, about 400 bytes each (issue 15: ``repeats:
1000000000`` planned for minutes at 900 MB before sending a request)."""


@dataclass(frozen=True)
class RunSettings:
    """How hard to push a backend; none of these change outputs (so none are in keys).

    ``timeout_s`` bounds one ``generate`` call (one request for API models; ``None``: no
    limit, e.g. for slow local models); ``concurrency`` defaults to the backend's
    ``default_concurrency``.
    """

    concurrency: int | None = None
    rpm: float | None = None
    tpm: float | None = None
    timeout_s: float | None = 120.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    price: Price | None = None
    estimated_tokens_per_request: int = 1000


@dataclass
class RunOutcome:
    """Predictions aligned with the examples, plus what this call actually computed."""

    rows: list[PredictionRow]
    computed: int
    cached: int
    failed: int
    wall_s: float
    repeats: list[list[PredictionRow]] = field(default_factory=list)
    """Every repeat's rows (``repeats[0]`` is ``rows``) when run with ``repeats`` > 1."""


def result_row(
    key: str, example_id: str, gen: Generation, price: Price | None, latency: bool = True
) -> PredictionRow:
    """The stored row of one result (its cost at ``price``; ``latency`` off where the
    executor has no per-request time, a batch), with the backend's confidence signals
    (stored apart, ``store.save_predictions``)."""
    return PredictionRow(
        key,
        example_id,
        gen.output,
        gen.error,
        gen.latency_s if latency else None,
        gen.input_tokens,
        gen.output_tokens,
        price.cost(gen) if price is not None and gen.error is None else None,
        gen.finish_reason,
        gen.signals,
    )


@dataclass(frozen=True)
class RunJob:
    """One model over a dataset: what every executor is given, whole."""

    model: Model
    examples: Sequence[Example]
    store: Store
    label: str
    run_id: int | None = None
    settings: RunSettings = field(default_factory=RunSettings)
    repeats: int = 1
    """Predict each example this many times (sampled decoding), each repeat under its
    own key (see ``prediction_key``)."""

    def __post_init__(self) -> None:
        if self.repeats < 1:
            raise UserError(f"repeats must be at least 1, got {self.repeats}")
        if self.total > MAX_PLANNED:
            raise UserError(
                f"{self.repeats:,} repeats of {len(self.examples):,} rows are "
                f"{self.total:,} predictions; one run plans at most {MAX_PLANNED:,}",
                hint="lower repeats, or predict the rows in parts (--limit)",
            )

    @property
    def total(self) -> int:
        return len(self.examples) * self.repeats

    def plan(self, on_progress: Callable[[int], None] | None = None) -> RunPlan:
        """Look every example (each repeat under its own key) up in the store, reporting
        the cached ones as progress."""
        identity = self.model.identity()
        examples = list(self.examples)
        keyed = [
            (key, ex)
            for r in range(self.repeats)
            for key, ex in zip(prediction_keys(identity, examples, r), examples, strict=True)
        ]
        keys = [key for key, _ in keyed]
        done = self.store.finished(keys)
        cached = sum(1 for k in keys if k in done)
        if on_progress is not None and cached:
            on_progress(cached)
        pending: dict[str, Example] = {}
        for key, ex in keyed:
            if key not in done and key not in pending:
                pending[key] = ex
        return RunPlan(keyed, self.repeats, Counter(keys), done, cached, pending)

    @property
    def lock_name(self) -> str:
        """One lock per model identity and project, whatever the executor."""
        return content_hash(self.model.identity())[:32]

    def locked(self, on_wait: Callable[[], None] | None) -> AbstractAsyncContextManager[None]:
        """Hold the model's lock (async callers: the online and batch engines' API)."""
        return model_lock(self.store.project_dir, self.lock_name, on_wait)

    def locked_sync(self) -> AbstractContextManager[None]:
        """Hold the model's lock, saying once on stderr if another process has it."""
        return model_lock_sync(self.store.project_dir, self.lock_name, self.announce_wait)

    def announce_wait(self) -> None:
        print(
            f"{self.label}: another process is predicting with this model on "
            f"{self.store.project_dir}; waiting for it (its rows will not be requested again)",
            file=sys.stderr,
            flush=True,
        )


@dataclass
class RunPlan:
    """What a run has to do: every (repeat, example)'s key, what is stored, what is
    pending. Shared by every executor, so all resume alike."""

    keyed: list[tuple[str, Example]]
    """Repeat-major: every example for repeat 0, then for repeat 1, and so on."""
    repeats: int
    copies: Counter[str]
    done: dict[str, PredictionRow]
    cached: int
    pending: dict[str, Example]
    started: float = field(default_factory=time.perf_counter)

    def outcome(self, failed: int, missing: str = "no result") -> RunOutcome:
        """One list of rows per repeat, in example order. Repeated texts share one stored
        row, each example still gets its own id; a key with no row (an executor that
        ended early) gets an error row saying ``missing``."""
        rows = []
        for key, ex in self.keyed:
            row = self.done.get(key) or PredictionRow(key, ex.id, None, missing)
            rows.append(row if row.example_id == ex.id else replace(row, example_id=ex.id))
        n = len(rows) // self.repeats
        by_repeat = [rows[r * n : (r + 1) * n] for r in range(self.repeats)]
        wall = time.perf_counter() - self.started
        return RunOutcome(by_repeat[0], len(self.pending), self.cached, failed, wall, by_repeat)


class Executor(ABC):
    """How a job's pending predictions are computed (see the module docstring).

    ``capability`` names the backend class attribute that says a backend can run here
    (``batch_api``, ``runs_on_ray``; ``None``: every backend can); :meth:`refusal` is the
    error when it cannot. :meth:`run` is called with the model's lock held."""

    name: ClassVar[str]
    capability: ClassVar[str | None] = None
    bar_suffix: ClassVar[str] = ""

    @classmethod
    def from_config(cls, config: ModelConfig) -> Executor:
        """The executor a model entry asks for, with its settings from the entry."""
        return cls()

    def supports(self, backend: type[Model]) -> bool:
        return self.capability is None or bool(getattr(backend, self.capability, None))

    def refusal(self, label: str, backend: type[Model]) -> UserError:
        return UserError(
            f"model '{label}' cannot run on the {self.name} executor: provider "
            f"'{backend.provider}' does not declare {self.capability}",
            hint=f"providers that do: {', '.join(self.providers()) or 'none installed'}",
        )

    def providers(self) -> list[str]:
        """The installed backends this executor can run (for error messages)."""
        from fieldwise.models import get_backend

        found = []
        for name in registry.models.names():
            try:
                if self.supports(get_backend(name)):
                    found.append(name)
            except UserError:  # its dependencies are not installed
                continue
        return found

    def check(self, label: str, backend: type[Model]) -> None:
        """Refuse, before anything is trained or sent, a model this executor cannot run:
        never a silent fallback to another executor."""
        if not self.supports(backend):
            raise self.refusal(label, backend)

    @abstractmethod
    def run(self, job: RunJob, bar: Bar) -> RunOutcome:
        """Predict every pending example of ``job``, store the rows, close the model."""


def execute(job: RunJob, executor: Executor, progress: Progress | None = None) -> RunOutcome:
    """Run ``job`` on ``executor`` with a progress bar, holding the model's lock.

    Ctrl-C stops the run (raising ``KeyboardInterrupt``); everything finished so far is
    already stored, and the next run computes only the rest."""
    executor.check(job.label, type(job.model))
    description = job.label + executor.bar_suffix
    with model_bar(progress, description, job.total) as bar, job.locked_sync():
        return executor.run(job, bar)
