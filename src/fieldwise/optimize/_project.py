"""Prompt optimisation inside a project run (``optimize:`` and ``prompt:`` on model entries).

Before any model predicts, each entry with ``optimize:`` has its prompt searched for (once
per prompt name) on the project's training rows only: ``optimize.val`` (or a group-aware
``val_size`` share of data.train) selects, the rest feeds examples and failures, and the
test rows are checked against both and never given to the search. The entry runs as two
variants, ``prompt=original`` and ``prompt=NAME``, so the report pairs them field by
field. A rerun replays the stored calls and saves nothing new when the prompt is the same.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console

from fieldwise.config import ModelConfig, PriceConfig, ProjectConfig
from fieldwise.data import load_examples
from fieldwise.data.splits import group_key, train_test_split
from fieldwise.errors import UserError
from fieldwise.optimize._run import OptimizeSettings, optimize
from fieldwise.report._optimize import PromptUse
from fieldwise.runner import Price, RunSettings
from fieldwise.store import Store
from fieldwise.tasks import Example, Task
from fieldwise.tasks.named_prompts import load_prompt, resolve_prompt_option


def optimise_entries(
    config: ProjectConfig,
    task: Task,
    train: list[Example],
    test: list[Example],
    store: Store,
    console: Console,
    quiet: bool,
    run_settings: Callable[[ModelConfig], RunSettings],
) -> None:
    """Run every ``optimize:`` of the config (before predicting), once per name, with
    each model's ``run_settings`` (limits and price)."""
    done: set[str] = set()
    for mc in config.models:
        name = mc.prompt_name
        if mc.optimize is None or name is None or mc.variant.get("prompt") != name:
            continue
        if name in done:
            continue
        done.add(name)
        if config.data.cv:
            raise UserError(
                f"model '{mc.label}': optimize needs a held-out test split, not --cv",
                hint="drop data.cv, or run fieldwise optimize on its own",
            )
        opt = mc.optimize
        opt_train, val = validation_split(config, task, train, opt.val, opt.val_size, opt.seed)
        options = {k: v for k, v in mc.options.items() if k != "prompt"}
        optimize(
            task,
            mc.spec,
            opt_train,
            val,
            store=store,
            name=name,
            settings=OptimizeSettings(
                budget=opt.budget, seed=opt.seed, minibatch=opt.minibatch, profile=opt.profile
            ),
            options=options,
            optimizer_spec=opt.optimizer,
            optimizer_options=opt.optimizer_options,
            run_settings=run_settings(mc),
            optimizer_run_settings=_optimizer_settings(mc),
            test=test,
            console=console,
            quiet=quiet,
        )


def validation_split(
    config: ProjectConfig,
    task: Task,
    train: list[Example],
    val_source: str | None,
    val_size: float,
    seed: int,
) -> tuple[list[Example], list[Example]]:
    """(optimiser training rows, validation rows): a file, or a share of ``train``."""
    if val_source:
        val = load_examples(task, config.resolve(val_source) or val_source).examples
        keys = {group_key(ex) for ex in val}
        return [ex for ex in train if group_key(ex) not in keys], val
    labelled = [ex for ex in train if ex.gold is not None]
    if len(labelled) < 4:
        raise UserError(
            "optimize needs labelled training rows (data.train) to split off validation"
        )
    return train_test_split(labelled, val_size, seed)


def _optimizer_settings(mc: ModelConfig) -> RunSettings | None:
    opt = mc.optimize
    if opt is None or (opt.optimizer is None and opt.optimizer_price is None):
        return None
    return RunSettings(price=_price(opt.optimizer_price))


def _price(price: PriceConfig | None) -> Price | None:
    return None if price is None else Price(price.input_per_mtok, price.output_per_mtok)


def prompt_options(
    mc: ModelConfig, options: dict[str, Any], project_dir: Path, test: list[Example]
) -> dict[str, Any]:
    """The entry's options with its named prompt resolved to the saved file, refusing a
    prompt that shows any of the rows it is about to be tested on."""
    out = resolve_prompt_option(options, project_dir, switch="prompt" in mc.variant)
    path = out.get("prompt")
    if isinstance(path, str):
        saved = load_prompt(Path(path))
        keys = {group_key(ex): ex.id for ex in test}
        shown = [
            keys[k]
            for k in (group_key(s.example()) for s in saved.spec.shots.examples)
            if k in keys
        ]
        if shown:
            raise UserError(
                f"model '{mc.label}': prompt {saved.ref} shows {len(shown)} of the test rows "
                f"(e.g. {shown[0]}) as examples; its scores would be leaked",
                hint="optimise on rows kept apart from data.test",
            )
    return out


def prompt_uses(models: list[ModelConfig], project_dir: Path) -> list[PromptUse]:
    """The saved prompts the run's models used (for the report), in model order."""
    uses = []
    for mc in models:
        ref = mc.options.get("prompt")
        if not isinstance(ref, str) or ref == "original":
            continue
        path = resolve_prompt_option({"prompt": ref}, project_dir)["prompt"]
        uses.append(PromptUse(mc.label, load_prompt(Path(path)), _price(mc.price)))
    return uses
