"""Every model call the optimiser makes goes through the runner, and is counted here.

The task model and the optimiser model are each built once; trying a prompt switches the
task model's prompt in place (:meth:`PromptedModel.use_prompt`). Calls go through
:func:`~fieldwise.runner.run_model_async`, so they are cached by prompt content and
input, stored as they finish, rate-limited, retried and priced like any run: a killed
optimisation rerun with the same seed replays the stored answers and carries on.

A *call* is one request to a model through the runner, whether the store answered it
(``cached``) or the model did; an evaluation the optimiser already holds in memory is not
requested again and is not a call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from fieldwise.errors import UserError
from fieldwise.models import Model
from fieldwise.models._prompted import PromptedModel
from fieldwise.optimize._feedback import RowResult, score_rows
from fieldwise.runner import RunSettings, run_model_async
from fieldwise.store import PredictionRow, Store
from fieldwise.tasks import Example, Task
from fieldwise.tasks.named_prompts import PromptSpec


@dataclass
class Spend:
    """What the optimisation has used, by model; tokens and cost over distinct requests
    (a request answered twice from the store is paid once)."""

    limit: int
    task_calls: int = 0
    optimizer_calls: int = 0
    cached: int = 0
    tokens: int = 0
    cost: float | None = 0.0
    _seen: set[str] = field(default_factory=set, repr=False)

    @property
    def calls(self) -> int:
        return self.task_calls + self.optimizer_calls

    @property
    def remaining(self) -> int:
        return self.limit - self.calls

    def add(self, rows: list[PredictionRow], cached: int, priced: bool, optimizer: bool) -> None:
        if optimizer:
            self.optimizer_calls += len(rows)
        else:
            self.task_calls += len(rows)
        self.cached += cached
        for row in rows:
            if row.key in self._seen:
                continue
            self._seen.add(row.key)
            self.tokens += (row.input_tokens or 0) + (row.output_tokens or 0)
            if not priced:
                self.cost = None
            elif self.cost is not None:
                self.cost += row.cost_usd or 0.0


@dataclass
class Evaluator:
    """Runs prompts on rows (task model) and reflection prompts (optimiser model)."""

    task: Task
    model: PromptedModel
    optimizer: PromptedModel
    store: Store
    settings: RunSettings
    optimizer_settings: RunSettings
    profile: str
    label: str
    spend: Spend
    on_calls: Callable[[int], None] | None = None
    _memo: dict[tuple[str, str], RowResult] = field(default_factory=dict, repr=False)

    async def evaluate(self, spec: PromptSpec, rows: list[Example]) -> list[RowResult]:
        """Each row answered under ``spec`` and scored (rows already evaluated under this
        prompt are not requested again)."""
        key = spec.content_hash()
        todo = [ex for ex in rows if (key, ex.id) not in self._memo]
        if todo:
            self.model.use_prompt(spec)
            found = await self._run(self.model, todo, self.settings, optimizer=False)
            scored = score_rows(self.task, todo, [r.output for r in found], self.profile)
            for ex, row, (mean, fields) in zip(todo, found, scored, strict=True):
                error = row.error if row.output is None else None
                self._memo[(key, ex.id)] = RowResult(
                    ex,
                    row.output,
                    0.0 if error else mean,
                    {} if error else fields,
                    row.input_tokens,
                    row.output_tokens,
                    error,
                )
        return [self._memo[(key, ex.id)] for ex in rows]

    async def reflect(self, prompt: str, n: int) -> str | None:
        """The optimiser model's answer to one reflection prompt."""
        example = Example(f"reflection-{n}", prompt)
        (row,) = await self._run(self.optimizer, [example], self.optimizer_settings, True)
        return row.output

    async def _run(
        self, model: Model, rows: list[Example], settings: RunSettings, optimizer: bool
    ) -> list[PredictionRow]:
        outcome = await run_model_async(
            model, rows, self.store, label=self.label, run_id=None, settings=settings
        )
        self.spend.add(outcome.rows, outcome.cached, settings.price is not None, optimizer)
        if self.on_calls:
            self.on_calls(len(rows))
        if outcome.failed == len(rows) and not optimizer and len(rows) > 1:
            first = next((r.error for r in outcome.rows if r.error), "")
            raise UserError(
                f"every request to {model.spec} failed while optimising; the last error: "
                f"{first[:300]}",
                hint="fix the model (key, server, options) and rerun: stored answers are kept",
            )
        return outcome.rows
