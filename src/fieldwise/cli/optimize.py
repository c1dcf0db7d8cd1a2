"""``fieldwise optimize``: search for a better prompt for one model and save it by name."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from fieldwise.cli._common import err_console, parse_options, print_json
from fieldwise.errors import UserError

if TYPE_CHECKING:
    from fieldwise.config import ModelConfig, ProjectConfig
    from fieldwise.optimize import OptimizeResult
    from fieldwise.runner import Price


def optimize(
    model: str = typer.Option(
        ..., "--model", "-m", help="Model spec (e.g. openai/gpt-4o), or a model name with -c."
    ),
    task: str | None = typer.Option(
        None, "--task", "-t", help="Task name, module:attr or file.py (default: isaf)."
    ),
    train: str | None = typer.Option(
        None, "--train", help="Training rows: few-shot pools and the failures reflected on."
    ),
    val: str | None = typer.Option(None, "--val", help="Validation rows: select the prompt."),
    budget: int | None = typer.Option(
        None, "--budget", help="Model calls the search may make (task model and optimiser)."
    ),
    seed: int | None = typer.Option(None, "--seed", help="Seed of the search (default 0)."),
    name: str | None = typer.Option(None, "--name", help="Save the prompt as NAME."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    config: Path | None = typer.Option(
        None, "--config", "-c", help="Project config: data, model entry and its optimize:."
    ),
    test: str | None = typer.Option(
        None, "--test", help="Test rows to check against (never given to the search)."
    ),
    optimizer: str | None = typer.Option(
        None, "--optimizer", help="Reflection model spec (default: the model itself)."
    ),
    option: list[str] = typer.Option(None, "--option", help="Model option key=value."),
    optimizer_option: list[str] = typer.Option(
        None, "--optimizer-option", help="Reflection model option key=value."
    ),
    price: str | None = typer.Option(
        None, "--price", help="The model's USD per 1M tokens as IN,OUT (for the estimate)."
    ),
    optimizer_price: str | None = typer.Option(
        None, "--optimizer-price", help="The optimiser's USD per 1M tokens as IN,OUT."
    ),
    minibatch: int | None = typer.Option(None, "--minibatch", help="Rows per probe (4)."),
    profile: str | None = typer.Option(None, "--profile", help="Scoring profile (reference)."),
    project: Path | None = typer.Option(
        None, "--project", help="Store directory (default .fieldwise, or the config's output)."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or plan."),
) -> None:
    """Search for a better prompt (instruction, rules, few-shot examples) and save it.

    Prints the budget (calls, tokens, cost) before spending anything; the result is a
    named, versioned prompt that a model entry uses with `prompt: NAME`."""
    from fieldwise.config import ModelConfig, load_config
    from fieldwise.data import load_examples
    from fieldwise.optimize import OptimizeSettings
    from fieldwise.optimize import optimize as run_optimize
    from fieldwise.plan import run_settings
    from fieldwise.runner import RunSettings
    from fieldwise.store import Store
    from fieldwise.tasks import load_task

    cfg = load_config(config) if config else None
    entry = _entry(cfg, model) if cfg else ModelConfig(spec=model)
    opt = entry.optimize
    budget = budget if budget is not None else (opt.budget if opt else None)
    if budget is None:
        raise UserError("--budget is required", hint="give --budget N (model calls)")
    task_obj = load_task(task or (cfg.resolve_task() if cfg else "isaf"))
    if cfg is not None:
        from fieldwise.optimize._project import validation_split
        from fieldwise.pipeline import _load_data

        if cfg.data.cv:
            raise UserError("optimize needs a held-out test split, not data.cv")
        train_rows, test_ds = _load_data(cfg, task_obj)
        test_rows = test_ds.examples
        if train:
            train_rows = load_examples(task_obj, train).examples
        if val:
            val_rows = load_examples(task_obj, val).examples
        else:
            train_rows, val_rows = validation_split(
                cfg,
                task_obj,
                train_rows,
                opt.val if opt else None,
                opt.val_size if opt else 0.3,
                seed if seed is not None else (opt.seed if opt else 0),
            )
    else:
        if not train or not val:
            raise UserError("--train and --val are required without --config")
        train_rows = load_examples(task_obj, train).examples
        val_rows = load_examples(task_obj, val).examples
        test_rows = load_examples(task_obj, test).examples if test else []
    if test and cfg is not None:
        test_rows = load_examples(task_obj, test).examples
    settings = OptimizeSettings(
        budget=budget,
        seed=seed if seed is not None else (opt.seed if opt else 0),
        minibatch=minibatch or (opt.minibatch if opt else 4),
        profile=profile or (opt.profile if opt else "reference"),
    )
    if settings.minibatch < 1:
        raise UserError("--minibatch must be at least 1")
    prompt_name = name or (entry.prompt_name if opt else None) or _default_name(entry)
    options = {k: v for k, v in {**entry.options, **parse_options(option)}.items()}
    if options.get("prompt") == "original":
        options.pop("prompt")
    settings_run = run_settings(entry)
    if price:
        settings_run = RunSettings(
            concurrency=settings_run.concurrency,
            rpm=settings_run.rpm,
            tpm=settings_run.tpm,
            timeout_s=settings_run.timeout_s,
            retry=settings_run.retry,
            price=_price(price, "--price"),
        )
    opt_price = _price(optimizer_price, "--optimizer-price") if optimizer_price else None
    if opt_price is None and opt and opt.optimizer_price:
        opt_price = _price(
            f"{opt.optimizer_price.input_per_mtok},{opt.optimizer_price.output_per_mtok}", "price"
        )
    opt_settings = RunSettings(price=opt_price) if (optimizer or opt_price) else None
    store_dir = project or (cfg.output_dir if cfg else Path(".fieldwise"))
    with Store(store_dir) as store:
        from fieldwise.tasks.named_prompts import resolve_prompt_option

        options = resolve_prompt_option(options, store.project_dir)
        result = run_optimize(
            task_obj,
            entry.spec,
            train_rows,
            val_rows,
            store=store,
            name=prompt_name,
            settings=settings,
            options=options,
            optimizer_spec=optimizer or (opt.optimizer if opt else None),
            optimizer_options={
                **(opt.optimizer_options if opt else {}),
                **parse_options(optimizer_option),
            },
            run_settings=settings_run,
            optimizer_run_settings=opt_settings,
            test=test_rows,
            console=err_console,
            quiet=quiet or as_json,
        )
    if as_json:
        print_json(result.to_json())
        return
    _print_result(result)
    print(result.saved.ref)


def _entry(cfg: ProjectConfig, model: str) -> ModelConfig:
    """The config's model entry named (or specced) ``model``: the base entry, whose
    variants the run expands."""
    found = [m for m in cfg.models if model in (m.variant_of or m.label, m.label, m.spec)]
    if not found:
        known = sorted({m.variant_of or m.label for m in cfg.models})
        raise UserError(f"no model '{model}' in the config", hint=f"models: {', '.join(known)}")
    mc = found[0]
    if mc.variant_of is not None:
        base = {k: v for k, v in mc.options.items() if k not in mc.variant}
        mc = mc.model_copy(update={"name": mc.variant_of, "options": base, "variant": {}})
    return mc


def _default_name(entry: ModelConfig) -> str:
    base = entry.name or entry.spec.partition("/")[2] or entry.spec
    return (re.sub(r"[^A-Za-z0-9_.-]+", "-", base).strip("-.") or "model") + "-opt"


def _price(text: str, option: str) -> Price:
    from fieldwise.runner import Price

    parts = text.split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != 2 or min(values) < 0:
        raise UserError(f"{option} must be IN,OUT (USD per 1M tokens), not '{text}'")
    return Price(values[0], values[1])


def _print_result(result: OptimizeResult) -> None:
    from fieldwise.optimize._budget import usd

    table = Table(title=f"candidates for {result.saved.ref}", title_justify="left")
    for col, just in (("id", "right"), ("parent", "right"), ("change", "left"),
                      ("val score", "right"), ("prompt tokens", "right")):  # fmt: skip
        table.add_column(col, justify=just)  # type: ignore[arg-type]
    for c in result.outcome.candidates:
        star = " *" if c.id == result.best.id else ""
        table.add_row(
            f"{c.id}{star}",
            "-" if c.parent is None else str(c.parent),
            c.change,
            f"{100 * c.val_score:.1f}",
            f"{c.prompt_tokens:.0f}",
        )
    err_console.print(table)
    b: dict[str, Any] = result.budget_json()
    err_console.print(
        f"calls: {b['calls_made']} made of {b['limit']} (estimated {b['calls_estimated']}; "
        f"{b['calls_cached']} from the store), {b['tokens']:,} tokens, cost {usd(b['cost'])}; "
        f"stopped: {result.outcome.stopped}",
        highlight=False,
    )
    err_console.print(
        f"saved {result.saved.ref} ({result.saved.path}); use it with prompt: {result.saved.name}",
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    app.command()(optimize)
