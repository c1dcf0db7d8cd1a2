"""The main loop's commands: run, predict, train, score."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape
from rich.table import Table

from fieldwise.cli._common import (
    console,
    err_console,
    n_predictions,
    parse_options,
    print_json,
    refuse_to_overwrite,
    validated,
)
from fieldwise.cli._interrupt import watch_store
from fieldwise.errors import UserError

if TYPE_CHECKING:
    from fieldwise.scoring import ModelResult, ModelScore

OPTION_HELP = "Backend option as key=value (repeatable), e.g. --option temperature=0."
STRIP_FENCES_HELP = "Read the object inside ```json fences (strict profile; never reference)."
RAY_HELP = "Run hf/vllm models on Ray: 'auto' (RAY_ADDRESS, else a local instance) or ADDRESS."
RUN_FLAGS = {
    "bootstrap": "--bootstrap",
    "data.cv": "--cv",
    "data.limit": "--limit",
    "output": "--output",
}
"""Config fields that ``run`` options set, for one-line validation errors."""


def run(
    config: Path | None = typer.Option(
        None, "--config", "-c", help="Project config (YAML file, or a folder with fieldwise.yaml)."
    ),
    cv: int | None = typer.Option(None, "--cv", help="K-fold cross-validation on the train data."),
    output: str | None = typer.Option(None, "--output", "-o", help="Project/output directory."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Use only the first N rows."),
    bootstrap: int | None = typer.Option(
        None,
        "--bootstrap",
        min=0,
        help="Resamples shared by every interval and test (default 1000).",
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
    ray: str | None = typer.Option(None, "--ray", help=RAY_HELP),
    ood: Path | None = typer.Option(
        None, "--ood", help="Out-of-domain probes (fieldwise data ood) every model answers too."
    ),
) -> None:
    """Predict with every model, score and write the report.

    With no --config, ./fieldwise.yaml is used when there is one, else the offline demo."""
    from fieldwise.config import default_config, find_config, load_config
    from fieldwise.pipeline import run_project
    from fieldwise.report._summary import mean_coverage, valid_share

    config = config or find_config(Path.cwd())
    cfg = load_config(config) if config else default_config()
    updates: dict[str, object] = {}
    if output:
        updates["output"] = str(Path(output).resolve())
    if bootstrap is not None:
        updates["bootstrap"] = bootstrap
    if ood is not None:
        updates["ood"] = str(ood.resolve())
    data_updates: dict[str, object] = {}
    if cv is not None:
        data_updates["cv"] = cv
    if limit is not None:
        data_updates["limit"] = limit
    if data_updates:
        updates["data"] = {**cfg.data.model_dump(), **data_updates}
    if ray is not None:
        from fieldwise.plan import runs_on_ray
        from fieldwise.runner import RayExecutor

        # Every model whose backend can run on Ray goes there; the rest stay here.
        updates["models"] = [
            m.model_copy(update={"executor": "ray", "ray_address": ray}) if runs_on_ray(m) else m
            for m in cfg.models
        ]
        if all(m.executor != "ray" for m in updates["models"]):  # type: ignore[attr-defined]
            runs = " and ".join(RayExecutor().providers())
            raise UserError(f"--ray runs {runs} models, and the config has none")
    if updates:
        values = {**cfg.model_dump(), **updates, "base_dir": cfg.base_dir}
        cfg = validated(lambda: cfg.model_validate(values), RUN_FLAGS)
    if cfg.data.cv is not None and cfg.data.cv < 2:
        raise UserError("--cv needs K >= 2")
    watch_store(cfg.output_dir)
    result = run_project(cfg, console=err_console, quiet=quiet)
    table = Table(
        title=f"{result.task.name}: {len(result.test)} rows (95% CI)", title_justify="left"
    )
    table.add_column("model", no_wrap=True)
    table.add_column("kind")
    for profile in cfg.profiles:
        table.add_column(profile, justify="right", no_wrap=True)
    table.add_column("answered", justify="right")
    table.add_column("valid", justify="right")
    for res in sorted(result.results, key=lambda r: -r.scores[cfg.profiles[0]].aggregate):
        valid = valid_share(res.scores[cfg.profiles[0]])
        cells = []
        for profile in cfg.profiles:
            s = res.scores[profile]
            half = (s.aggregate_ci[1] - s.aggregate_ci[0]) / 2
            cells.append(f"{s.aggregate:.2f} ±{half:.1f}" if half == half else f"{s.aggregate:.2f}")
        # As in the report: the profile that counts abstentions sets the coverage.
        answered = min((mean_coverage(s) for s in res.scores.values()), default=float("nan"))
        shown = "-" if answered != answered else f"{answered:.0%}"
        valid_text = "-" if valid != valid else f"{valid:.0%}"
        # Labels are text, not markup: a variant's ``[output_mode=prompt]`` must show.
        table.add_row(escape(res.label), res.kind, *cells, shown, valid_text)
    err_console.print(table)
    _note_fenced(result.results, cfg.profiles[0], cfg.strip_fences)
    if len(result.results) > 1 and result.pairwise:
        _print_verdicts(result.pairwise)
    err_console.print("report:", style="bold")
    print(result.report_path)
    _exit_on_row_errors(result.results)


def _exit_on_row_errors(results: list[ModelResult]) -> None:
    """Exit 3, as ``predict`` does, when some predictions ended in errors: the report
    (already written) scores them as wrong, which a CI gate must not mistake for a model
    that answered badly."""
    counts = {r.label: int(r.stats.get("errors", 0)) for r in results}
    failed = {label: n for label, n in counts.items() if n}
    if failed:
        where = ", ".join(f"{label}: {n}" for label, n in failed.items())
        first = next((e for r in results for e in r.errors if e), "")
        note = "the report scores them as wrong; "
        _row_errors_exit("predictions ended in errors", f"{where}; ", first, note)


def _row_errors_exit(head: str, detail: str, first: str, note: str = "") -> None:
    """Print ``head (detail first: ERROR); note rerun to retry them`` and exit 3."""
    from fieldwise.cli import EXIT_ROW_ERRORS

    err_console.print(
        f"[red]error:[/] {escape(head)} ({escape(detail)}first: {escape(first)[:200]}); "
        f"{note}rerun to retry them",
        highlight=False,
        soft_wrap=True,
    )
    raise typer.Exit(EXIT_ROW_ERRORS)


def _note_fenced(results: list[ModelResult], profile: str, stripped: bool) -> None:
    """One line naming the models that wrapped JSON in code fences, and what it cost."""
    fenced = [(r.label, r.scores[profile].validity.get("fenced", 0)) for r in results]
    fenced = [(label, n) for label, n in fenced if n]
    if not fenced:
        return
    names = ", ".join(f"{label} {n}" for label, n in fenced)
    what = (
        "the strict profile read the object inside (strip_fences: true); reference scored them 0"
        if stripped
        else "they score 0; strip_fences: true in the config lets the strict profile read them"
    )
    err_console.print(
        f"fenced JSON outputs (```json ... ```): {names}; {what}", highlight=False, soft_wrap=True
    )


def _print_verdicts(data: dict[str, object]) -> None:
    """One line on what the pairwise tests found (details: fieldwise compare)."""
    rows = data["comparisons"]
    assert isinstance(rows, list)
    agg = [c for c in rows if c["target"] == "aggregate"]
    wins = sum(c["significant"] for c in agg)
    fields = sum(c["significant"] for c in rows if c["target"] != "aggregate")
    err_console.print(
        f"pairwise: {wins} of {len(agg)} model pairs differ significantly on the aggregate, "
        f"{fields} field differences survive Holm (fieldwise compare for the table)",
        highlight=False,
    )
    resolution = data.get("resolution")
    mde = resolution.get("aggregate") if isinstance(resolution, dict) else None
    if mde is not None:
        err_console.print(
            f"with {data['rows_scored']} rows, differences under {mde:.1f} points on the "
            "aggregate are not resolvable (80% power, α = 0.05)",
            highlight=False,
        )


def predict(
    model: str = typer.Option(..., "--model", "-m", help="Model spec, e.g. baseline/DIR."),
    task: str = typer.Option("isaf", "--task", "-t", help="Task name, module:attr or file.py."),
    data: str = typer.Option(..., "--data", "-d", help="Examples to predict (file or hub:...)."),
    out: Path = typer.Option(..., "--out", help="Write {id, output} JSONL here."),
    option: list[str] = typer.Option(None, "--option", help=OPTION_HELP),
    train_data: str | None = typer.Option(None, "--train", help="Train split for few-shot."),
    name: str | None = typer.Option(None, "--name", help="Label in the store (default: spec)."),
    project: Path = typer.Option(Path(".fieldwise"), "--project", help="Store directory."),
    concurrency: int | None = typer.Option(
        None, "--concurrency", min=1, help="Requests in flight."
    ),
    batch: bool = typer.Option(
        False, "--batch", help="Send the pending examples through the provider's batch API."
    ),
    batch_poll: float = typer.Option(30.0, "--batch-poll", help="Seconds between batch polls."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    ray: str | None = typer.Option(None, "--ray", help=RAY_HELP),
) -> None:
    """Predict with one model; outputs are cached in the store and written as JSONL."""
    from fieldwise.config import BatchConfig, ModelConfig
    from fieldwise.data import load_examples
    from fieldwise.pipeline import predict as run_predict
    from fieldwise.plan import plan_model
    from fieldwise.runner import make_progress
    from fieldwise.store import Store
    from fieldwise.tasks import load_task

    refuse_to_overwrite([out], [data, train_data], "--out")
    if batch_poll <= 0:
        raise UserError("--batch-poll must be positive")
    if not model.strip():
        raise UserError("--model is empty", hint="give a spec such as openai/gpt-4o-mini")
    mc = validated(
        lambda: ModelConfig(
            spec=model,
            name=name,
            options=parse_options(option),
            concurrency=concurrency,
            batch=BatchConfig(poll_s=batch_poll) if batch else False,
            **({"executor": "ray", "ray_address": ray} if ray is not None else {}),
        ),
        {"spec": "--model", "name": "--name", "concurrency": "--concurrency"},
    )
    plan = plan_model(mc)  # the backend, its executor and settings, checked before any load
    task_obj = load_task(task)
    dataset = load_examples(task_obj, data)
    train = load_examples(task_obj, train_data).examples if train_data else []
    from fieldwise._legacy import project_dir
    from fieldwise.tasks.named_prompts import resolve_prompt_option

    options = resolve_prompt_option(mc.options, project_dir(project))  # a named prompt's file
    model_obj = plan.model(task_obj, options=options)
    watch_store(project)
    with Store(project) as store:
        store.save_dataset(task_obj.name, dataset.fingerprint, dataset.source, dataset.examples)
        rows = run_predict(
            plan,
            model_obj,
            dataset.examples,
            store,
            dataset,
            train=train,
            config=mc.model_dump(),
            progress=None if quiet else make_progress(),
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as fh:
        for row in rows:
            rec = {"id": row.example_id, "output": row.output}
            if row.error:
                rec["error"] = row.error
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    failed = sum(r.error is not None for r in rows)
    err_console.print(
        f"wrote {n_predictions(len(rows))} to {out}" + (f" ({failed} failed)" if failed else "")
    )
    if failed:
        first = next(r.error for r in rows if r.error) or ""
        _row_errors_exit(f"{failed} of {len(rows)} rows ended in errors", "", first)


def train(
    provider: str = typer.Argument(..., help="Trainable model provider, e.g. baseline."),
    task: str = typer.Option("isaf", "--task", "-t", help="Task name, module:attr or file.py."),
    data: str = typer.Option(..., "--data", "-d", help="Labelled training data."),
    out: Path = typer.Option(..., "--out", help="Directory to save the model in."),
    option: list[str] = typer.Option(None, "--option", help=OPTION_HELP),
) -> None:
    """Train a trainable model (the embedded baseline) and save it without pickle."""
    from fieldwise.data import load_examples
    from fieldwise.pipeline import train_model
    from fieldwise.tasks import load_task

    task_obj = load_task(task)
    dataset = load_examples(task_obj, data)
    path = train_model(
        provider, task_obj, dataset.examples, out, parse_options(option), err_console
    )
    err_console.print(f"trained {provider} on {len(dataset)} rows; use --model {provider}/{path}")
    print(path)


def score(
    gold: str = typer.Option(..., "--gold", "-g", help="Labelled examples (JSONL etc)."),
    predictions: Path = typer.Option(..., "--predictions", "-p", help="{id, output} JSONL."),
    task: str = typer.Option("isaf", "--task", "-t", help="Task name, module:attr or file.py."),
    profile: str = typer.Option("reference", "--profile", help="Scoring profile."),
    require_grounding: bool = typer.Option(
        False,
        "--require-grounding",
        help="Score a required value not found in the text as an abstention "
        "(the profile becomes PROFILE+grounding).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    bootstrap: int = typer.Option(
        1000, "--bootstrap", min=0, help="Bootstrap resamples (0: none)."
    ),
    strip_fences: bool = typer.Option(False, "--strip-fences", help=STRIP_FENCES_HELP),
) -> None:
    """Score a predictions file against gold labels under one profile, with the grounding
    of its values (grounded rate, hallucination rate; see docs/trust.md)."""
    from fieldwise.cli.align import grounding_of, print_grounding
    from fieldwise.data import load_examples
    from fieldwise.data.splits import group_key
    from fieldwise.scoring import PROFILES, prepare_golds, score_outputs
    from fieldwise.scoring.profiles import GROUNDING_SUFFIX
    from fieldwise.scoring.stats import Resamples
    from fieldwise.tasks import load_task

    if profile.removesuffix(GROUNDING_SUFFIX) not in PROFILES:
        raise UserError(
            f"unknown profile '{profile}'",
            hint=f"use one of {sorted(PROFILES)}, optionally with {GROUNDING_SUFFIX}",
        )
    if require_grounding and not profile.endswith(GROUNDING_SUFFIX):
        profile += GROUNDING_SUFFIX
    task_obj = load_task(task)
    dataset = load_examples(task_obj, gold)
    if not dataset.labelled:
        raise UserError(f"{gold} has unlabelled rows; scoring needs gold labels")
    outputs = _read_predictions(predictions, {ex.id for ex in dataset.examples})
    golds = prepare_golds(
        task_obj, [ex.gold or {} for ex in dataset.examples], [ex.text for ex in dataset.examples]
    )
    raw = [outputs.get(ex.id) for ex in dataset.examples]
    groups = [group_key(ex) for ex in dataset.examples]
    boot = Resamples.for_rows(len(raw), bootstrap, 0, groups)
    result = score_outputs(
        task_obj, golds, raw, profiles=(profile,), resamples=boot, strip_fences=strip_fences
    )[profile]
    grounding, grounded_rows = grounding_of(
        task_obj, dataset.examples, raw, profile, strip_fences=strip_fences
    )
    if as_json:
        print_json(
            {**result.to_json(), "grounding": {**grounding.to_json(), "rows": grounded_rows}}
        )
        return
    table = Table(title=f"{profile} profile, {result.rows} rows", title_justify="left")
    table.add_column("field")
    table.add_column("score", justify="right")
    table.add_column("95% CI", justify="right")
    for name, value in result.fields.items():
        lo, hi = result.field_ci.get(name, (float("nan"), float("nan")))
        table.add_row(name, f"{value:.4f}", f"[{lo:.3f}, {hi:.3f}]")
    lo, hi = result.aggregate_ci
    table.add_row(
        "[bold]aggregate (0-100)", f"[bold]{result.aggregate:.2f}", f"[{lo:.2f}, {hi:.2f}]"
    )
    console.print(table)
    if task_obj.is_nested:
        _print_nested(result)
    print_grounding(grounding, grounded_rows, len(raw))
    console.print(f"validity: {result.validity}")


def _print_nested(result: ModelScore) -> None:
    """Leaf paths and records fields of a nested task, below the per-field table."""
    paths = Table(title="leaf paths", title_justify="left")
    paths.add_column("path")
    paths.add_column("score", justify="right")
    for path, value in result.paths.items():
        paths.add_row(path, f"{value:.4f}")
    console.print(paths)
    if result.records:
        recs = Table(title="records fields", title_justify="left")
        for column in ("field", "precision", "recall", "F1"):
            recs.add_column(column, justify="left" if column == "field" else "right")
        for path, stats in result.records.items():
            recs.add_row(path, *(f"{stats[k]:.4f}" for k in ("precision", "recall", "f1")))
        console.print(recs)


def _read_predictions(path: Path, known_ids: set[str]) -> dict[str, str | None]:
    from fieldwise.store.imports import read_prediction_lines

    outputs: dict[str, str | None] = {}
    unknown = 0
    for _, example_id, output in read_prediction_lines(path):
        unknown += example_id not in known_ids
        outputs[example_id] = output
    if unknown:
        err_console.print(
            f"[yellow]warning:[/] {unknown} predictions have ids not in the gold data"
        )
    return outputs


def register(app: typer.Typer) -> None:
    app.command()(run)
    app.command()(predict)
    app.command()(train)
    app.command()(score)
