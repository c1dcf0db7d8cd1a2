"""``optimize()``: check the data, plan the budget, search, save the named prompt.

No leakage, by construction and by check: training rows feed the few-shot pools and the
failures the optimiser model reads; validation rows only select (their scores, never their
text, reach a decision); test rows are never given to the search at all, and when the
caller passes them (``test=``) they are checked against the training and validation rows
(same text or group, or a near duplicate) before anything is spent, and against the saved
prompt's examples after. The record saved with the prompt says what was checked.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rich.console import Console

from fieldwise.data import fingerprint_examples
from fieldwise.data.splits import check_leakage, group_key
from fieldwise.errors import UserError
from fieldwise.models import create_model, parse_spec
from fieldwise.models._prompted import PromptedModel
from fieldwise.optimize._budget import BudgetPlan, plan_budget, usd
from fieldwise.optimize._evaluate import Evaluator, Spend
from fieldwise.optimize._feedback import RowResult
from fieldwise.optimize._propose import reflective_prompt
from fieldwise.optimize._search import Candidate, SearchOutcome, search
from fieldwise.runner import RunSettings
from fieldwise.store import Store
from fieldwise.tasks import Example, Task
from fieldwise.tasks.named_prompts import (
    REPLACED_OPTIONS,
    PromptSpec,
    SavedPrompt,
    Shot,
    ShotPolicy,
    check_name,
    save_prompt,
)
from fieldwise.tasks.prompts import load_template, render_target, select_few_shot


@dataclass(frozen=True)
class OptimizeSettings:
    budget: int
    seed: int = 0
    minibatch: int = 4
    profile: str = "reference"
    max_pool: int = 2000
    """At most this many training rows are kept as a nearest-neighbour pool."""


@dataclass
class OptimizeResult:
    saved: SavedPrompt
    plan: BudgetPlan
    spend: Spend
    outcome: SearchOutcome

    @property
    def best(self) -> Candidate:
        return self.outcome.best

    def budget_json(self) -> dict[str, Any]:
        return {
            "calls_estimated": self.plan.calls,
            "calls_made": self.spend.calls,
            "tokens": self.spend.tokens,
            "cost": None if self.spend.cost is None else round(self.spend.cost, 6),
            "limit": self.plan.budget,
            "calls_cached": self.spend.cached,
            "task_calls": self.spend.task_calls,
            "optimizer_calls": self.spend.optimizer_calls,
            "tokens_estimated": self.plan.tokens,
            "cost_estimated": None if self.plan.cost is None else round(self.plan.cost, 6),
        }

    def to_json(self) -> dict[str, Any]:
        """What ``fieldwise optimize --json`` prints (the issue's keys first)."""
        return {
            "prompt": self.saved.name,
            "budget": self.budget_json(),
            "candidates": [c.to_json() for c in self.outcome.candidates],
            "best": self.best.id,
            "version": self.saved.version,
            "hash": self.saved.hash,
            "path": str(self.saved.path),
            "stopped": self.outcome.stopped,
        }


def optimize(
    task: Task,
    model_spec: str,
    train: Sequence[Example],
    val: Sequence[Example],
    *,
    store: Store,
    name: str,
    settings: OptimizeSettings,
    options: dict[str, Any] | None = None,
    optimizer_spec: str | None = None,
    optimizer_options: dict[str, Any] | None = None,
    run_settings: RunSettings | None = None,
    optimizer_run_settings: RunSettings | None = None,
    test: Sequence[Example] = (),
    console: Console | None = None,
    quiet: bool = False,
) -> OptimizeResult:
    """Search for a better prompt for ``model_spec`` and save it as ``name``."""
    check_name(name)
    console = console or Console(stderr=True)
    train, val = _labelled(train, "training"), _labelled(val, "validation")
    data = check_no_leakage(train, val, list(test))
    options = dict(options or {})
    model = _prompted(create_model(model_spec, task, options), "model")
    seed_spec = original_spec(model, task, train)
    base = {k: v for k, v in options.items() if k not in (*REPLACED_OPTIONS, "prompt")}
    model = _prompted(create_model(model_spec, task, {**base, "prompt": seed_spec}), "model")
    opt_spec, opt_options = _optimizer(model_spec, base, optimizer_spec, optimizer_options)
    optimizer = _prompted(
        create_model(opt_spec, task, {**opt_options, "template": "reflect"}), "optimizer"
    )
    run_settings = run_settings or RunSettings()
    optimizer_run_settings = optimizer_run_settings or (
        run_settings if opt_spec == model_spec else RunSettings()
    )
    plan = plan_budget(
        settings.budget,
        len(val),
        min(settings.minibatch, len(train)),
        _task_tokens(model, task, train),
        _reflection_tokens(model, task, seed_spec, train, settings.minibatch),
        run_settings.price,
        optimizer_run_settings.price,
    )
    if not quiet:
        _say_plan(console, name, model_spec, opt_spec, data, plan)
    spend = Spend(settings.budget)
    ev = Evaluator(
        task,
        model,
        optimizer,
        store,
        run_settings,
        optimizer_run_settings,
        settings.profile,
        f"optimize:{name}",
        spend,
    )
    outcome = _run_search(ev, seed_spec, train, val, settings, console, quiet)
    best = outcome.best.spec
    leaked = _shared_with(best, list(test))
    if leaked:  # cannot happen: shots come from training rows checked above
        raise RuntimeError(f"the optimised prompt shows test rows {leaked[:3]}")
    record = {
        "model": model_spec,
        "optimizer": opt_spec,
        "task": task.name,
        "profile": settings.profile,
        "seed": settings.seed,
        "minibatch": settings.minibatch,
        "budget": {
            "limit": settings.budget,
            "calls_estimated": plan.calls,
            "calls_made": spend.calls,
            "calls_cached": spend.cached,
            "tokens": spend.tokens,
            "cost": spend.cost,
            "cost_estimated": plan.cost,
        },
        "data": data,
        "candidates": [c.to_json() for c in outcome.candidates],
        "best": outcome.best.id,
        "steps": outcome.steps,
        "proposals": outcome.proposals,
        "accepted": outcome.accepted,
        "stopped": outcome.stopped,
        "log": outcome.log,
        "optimised": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    saved = save_prompt(store.project_dir, name, best, record)
    return OptimizeResult(saved, plan, spend, outcome)


def _labelled(rows: Sequence[Example], what: str) -> list[Example]:
    labelled = [ex for ex in rows if ex.gold is not None]
    if not labelled:
        raise UserError(f"the {what} rows have no labels; optimisation needs labelled rows")
    return labelled


def check_no_leakage(
    train: list[Example], val: list[Example], test: list[Example]
) -> dict[str, Any]:
    """Refuse data where validation repeats training or test repeats either (same text
    or group, or a near duplicate); return what was checked, for the record."""
    overlap = check_leakage(train, val)
    if overlap.exact:
        raise UserError(
            f"{len(overlap.exact)} validation rows repeat a training row "
            f"(e.g. {overlap.exact[0][0]}): selection would reward memorised examples",
            hint="split train and validation by document group (fieldwise data split)",
        )
    for what, rows in (("training", train), ("validation", val)):
        leak = check_leakage(rows, test) if test else None
        if leak is not None and not leak.clean:
            first = (leak.exact or leak.near)[0]
            raise UserError(
                f"{len(leak.exact) + len(leak.near)} test rows repeat or nearly repeat "
                f"{what} rows (e.g. test {first[0]} ~ {what} {first[1]}): the optimiser "
                "must never see a test row",
                hint="take the optimiser's rows from the training split only",
            )
    return {
        "train": {"rows": len(train), "fingerprint": fingerprint_examples(train)},
        "val": {"rows": len(val), "fingerprint": fingerprint_examples(val)},
        "test": {
            "rows_checked": len(test),
            "fingerprint": fingerprint_examples(test) if test else None,
            "shared_with_optimiser": 0,
        },
    }


def _shared_with(spec: PromptSpec, test: list[Example]) -> list[str]:
    keys = {group_key(ex): ex.id for ex in test}
    return [keys[k] for k in (group_key(s.example()) for s in spec.shots.examples) if k in keys]


def _prompted(model: Any, role: str) -> PromptedModel:
    if not isinstance(model, PromptedModel):
        raise UserError(
            f"the {role} {model.spec} does not read a prompt, so there is nothing to optimise",
            hint="optimise a prompted model: openai/, anthropic/, hf/, vllm/ or simulated/",
        )
    return model


def original_spec(model: PromptedModel, task: Task, train: list[Example]) -> PromptSpec:
    """The model's own prompt as a candidate: a named prompt it already uses, else its
    template with the task's rules and its few-shot draw (from the training rows)."""
    if model.prompt_spec is not None:
        return model.prompt_spec
    opts = model.prompt_options
    shots = select_few_shot(train, opts.few_shot, opts.few_shot_seed)
    policy = ShotPolicy(
        source="original" if shots else "none",
        k=len(shots),
        examples=tuple(Shot.of(ex) for ex in shots),
    )
    return PromptSpec(template=load_template(opts.template).source, shots=policy)


def _optimizer(
    model_spec: str,
    base: dict[str, Any],
    spec: str | None,
    options: dict[str, Any] | None,
) -> tuple[str, dict[str, Any]]:
    """The reflection model: as given, else the task model itself (a simulated model's
    counterpart is the simulated optimiser)."""
    if spec:
        return spec, dict(options or {})
    provider, name = parse_spec(model_spec)
    if provider == "simulated":
        keep = {k: base[k] for k in ("conventions",) if k in base}
        return f"simulated-optimizer/{name}", {**keep, **(options or {})}
    return model_spec, {**base, **(options or {})}


def _task_tokens(model: PromptedModel, task: Task, rows: list[Example]) -> tuple[float, float]:
    """Tokens in and out of one task call under the original prompt (four characters a
    token), measured on a few training rows."""
    sample = rows[:8]
    chars_in = [sum(len(m["content"]) for m in model.messages(ex)) for ex in sample]
    chars_out = [len(render_target(task, ex.gold or {})) for ex in sample]
    return sum(chars_in) / len(sample) / 4, sum(chars_out) / len(sample) / 4


def _reflection_tokens(
    model: PromptedModel, task: Task, spec: PromptSpec, rows: list[Example], m: int
) -> tuple[float, float]:
    fake = [RowResult(ex, render_target(task, ex.gold or {}), 0.5) for ex in rows[:m]]
    prompt = reflective_prompt(task, spec, "rules", fake)
    return len(prompt) / 4, max(200.0, len(task.instructions) / 4 * 1.5)


def _say_plan(
    console: Console, name: str, model: str, optimizer: str, data: dict[str, Any], plan: BudgetPlan
) -> None:
    test = data["test"]["rows_checked"]
    console.print(
        f"optimize {name}: {model} (optimiser {optimizer}); "
        f"{data['train']['rows']} training rows feed examples and failures, "
        f"{data['val']['rows']} validation rows select"
        + (f", {test} test rows checked: none shared" if test else ", no test rows given"),
        highlight=False,
    )
    console.print(
        f"budget: {plan.budget} calls; estimate {plan.calls} calls "
        f"({plan.task_calls} to the model, {plan.optimizer_calls} to the optimiser), "
        f"~{plan.tokens:,} tokens, {usd(plan.cost)}",
        highlight=False,
    )
    for warning in plan.warnings:
        console.print(f"[yellow]warning:[/] {warning}", highlight=False)


def _run_search(
    ev: Evaluator,
    seed: PromptSpec,
    train: list[Example],
    val: list[Example],
    settings: OptimizeSettings,
    console: Console,
    quiet: bool,
) -> SearchOutcome:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    progress = Progress(
        TextColumn("optimize"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("calls · {task.fields[status]}"),
        console=console,
        disable=quiet,
    )
    bar = progress.add_task("calls", total=settings.budget, status="")
    best = [-math.inf]

    def on_candidate(c: Candidate) -> None:
        best[0] = max(best[0], c.val_score)
        progress.update(bar, status=f"{c.id + 1} candidates, best val {best[0]:.3f}")

    ev.on_calls = lambda n: progress.advance(bar, n)

    async def main() -> SearchOutcome:
        try:
            return await search(
                ev,
                seed,
                train,
                val,
                minibatch=settings.minibatch,
                rng=random.Random(settings.seed),
                max_pool=settings.max_pool,
                on_candidate=on_candidate,
            )
        finally:
            await ev.model.aclose()
            await ev.optimizer.aclose()

    with progress:
        return asyncio.run(main())
