"""``fieldwise distill`` and ``fieldwise migrate``: train from a model's own labels."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from fieldwise.cli._common import console, err_console, print_json
from fieldwise.errors import UserError

if TYPE_CHECKING:
    from fieldwise.config import ProjectConfig
    from fieldwise.distill import DistillResult, MigrateResult

CONFIG = typer.Option(
    None,
    "--config",
    "-c",
    help="Project config whose model entries (options, prices) the names refer to "
    "(default ./fieldwise.yaml when there is one).",
)
PROJECT = typer.Option(
    None, "--project", help="Store directory (default: the config's output, else .fieldwise)."
)


def _project(config: Path | None, project: Path | None) -> tuple[ProjectConfig | None, Path]:
    from fieldwise.config import find_config, load_config

    path = config or find_config(Path.cwd())
    cfg = load_config(path) if path else None
    store = project or (cfg.output_dir if cfg else Path(".fieldwise"))
    return cfg, store


def distill(
    teacher: list[str] = typer.Option(
        ..., "--teacher", help="Teacher model (name or spec); repeat for several teachers."
    ),
    student: str = typer.Option(
        ...,
        "--student",
        help="Student: baseline/auto (offline), a lora/auto entry, or a fine-tuning YAML.",
    ),
    task: str = typer.Option("isaf", "--task", "-t", help="Task name, module:attr or file.py."),
    data: str = typer.Option(..., "--data", "-d", help="Unlabeled texts for the teacher."),
    gold: str | None = typer.Option(None, "--gold", help="Held-out human labels to score on."),
    filters: str = typer.Option(
        "valid", "--filter", help="Label filters, comma-separated: valid, agree, confidence."
    ),
    samples: int = typer.Option(
        1, "--samples", min=1, help="Labels per teacher and row (set temperature > 0)."
    ),
    profile: str = typer.Option("reference", "--profile", help="Scoring profile."),
    ablate: bool | None = typer.Option(
        None,
        "--ablate/--no-ablate",
        help="Train one student per filter left out (default: only for local students).",
    ),
    bootstrap: int = typer.Option(1000, "--bootstrap", min=0, help="Bootstrap resamples."),
    seed: int = typer.Option(0, "--seed"),
    config: Path | None = CONFIG,
    project: Path | None = PROJECT,
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Label texts with teacher model(s), filter the labels, train a student on them, and
    show student, teacher and gold per field: accuracy, agreement, inherited errors."""
    from fieldwise.distill import DistillSettings, run_distill
    from fieldwise.distill._filters import parse_filters
    from fieldwise.runner import make_progress
    from fieldwise.scoring import check_profiles
    from fieldwise.tasks import load_task

    task_obj = load_task(task)
    check_profiles(task_obj, [profile])
    names = parse_filters(filters)
    cfg, store = _project(config, project)
    settings = DistillSettings(
        task=task_obj, teachers=list(teacher), student=student, data=data, gold=gold,
        filters=names, samples=samples, profile=profile, ablate=ablate,
        bootstrap=bootstrap, seed=seed, output=store, project=cfg,
    )  # fmt: skip
    result = run_distill(settings, console=err_console, progress=None if quiet else make_progress())
    if as_json:
        print_json(result.to_json())
        return
    _show_distill(result)


def _show_distill(result: DistillResult) -> None:
    m = result.student.measures
    title = (
        f"distill: {result.rows} rows of {result.evaluated_on}; trained on {result.kept} kept "
        f"labels (dropped: {_dropped(result.dropped)})"
    )
    table = Table(title=title, title_justify="left")
    table.add_column("field")
    for name in ("gold rows", "teacher", "student", "agreement", "inherited"):
        table.add_column(name, justify="right")
    for name in result.without:
        table.add_column(f"no {name}: student / inherited", justify="right")
    t, s = result.teacher_score, result.student.score
    for f in m.fields:
        cells = [
            f,
            str(m.rows[f]),
            _pct(t.fields.get(f) if t else None),
            _pct(s.fields.get(f) if s else None),
            _pct(m.agreement[f]),
            _pct(m.inherited[f]),
        ]
        for run in result.without.values():
            acc = run.score.fields.get(f) if run.score else None
            cells.append(f"{_pct(acc)} / {_pct(run.measures.inherited[f])}")
        table.add_row(*cells)
    if t and s:
        table.add_row(
            "aggregate", "", f"{t.aggregate:.1f}", f"{s.aggregate:.1f}", "", "",
            *[f"{r.score.aggregate:.1f}" if r.score else "-" for r in result.without.values()],
        )  # fmt: skip
    console.print(table)
    if result.report_path:
        console.print(f"report: {result.report_path}")


def migrate(
    old: str = typer.Option(..., "--from", help="The retiring model (name or spec)."),
    new: str = typer.Option(
        ..., "--to", help="Fine-tuning YAML (local LoRA or hosted), or baseline/auto."
    ),
    data: str = typer.Option(..., "--data", "-d", help="The corpus the old model labels."),
    gold: str | None = typer.Option(None, "--gold", help="Human-labelled test rows."),
    task: str = typer.Option("isaf", "--task", "-t", help="Task name, module:attr or file.py."),
    keep_agreeing: bool = typer.Option(
        False,
        "--keep-agreeing",
        help="Train only on corpus rows where the old model matches their human label "
        "(rows without one are kept).",
    ),
    margin: float | None = typer.Option(
        None,
        "--margin",
        help="Equivalence margin in points (default: the minimum detectable difference).",
    ),
    alpha: float = typer.Option(0.05, "--alpha", help="Level of each one-sided test."),
    profile: str = typer.Option("reference", "--profile", help="Scoring profile."),
    bootstrap: int = typer.Option(1000, "--bootstrap", min=0, help="Bootstrap resamples."),
    seed: int = typer.Option(0, "--seed"),
    config: Path | None = CONFIG,
    project: Path | None = PROJECT,
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Record a retiring model's outputs on a corpus, train an open model on them, and test
    whether the replacement is equivalent (TOST per field and on the aggregate)."""
    from fieldwise.distill import MigrateSettings, run_migrate
    from fieldwise.runner import make_progress
    from fieldwise.scoring import check_profiles
    from fieldwise.tasks import load_task

    if margin is not None and not margin > 0:
        raise UserError("--margin must be a positive number of points")
    if not 0 < alpha < 0.5:
        raise UserError("--alpha must be between 0 and 0.5")
    task_obj = load_task(task)
    check_profiles(task_obj, [profile])
    cfg, store = _project(config, project)
    settings = MigrateSettings(
        task=task_obj, old=old, new=new, data=data, gold=gold, keep_agreeing=keep_agreeing,
        margin=margin, alpha=alpha, profile=profile, bootstrap=bootstrap, seed=seed,
        output=store, project=cfg,
    )  # fmt: skip
    result = run_migrate(settings, console=err_console, progress=None if quiet else make_progress())
    if as_json:
        print_json(result.to_json())
        return
    _show_migrate(result)


def _show_migrate(result: MigrateResult) -> None:
    level = round((1 - 2 * result.equivalence[0].alpha) * 100)
    title = (
        f"migrate {result.old.label} -> {result.new_entry.label}: {result.rows} rows, "
        f"against {result.reference}; trained on {result.trained} of the old model's answers"
    )
    table = Table(title=title, title_justify="left")
    for name, justify in (
        ("target", "left"), ("n", "right"), ("old", "right"), ("new", "right"),
        ("new - old", "right"), (f"{level}% CI", "right"), ("margin", "right"),
        ("p (TOST)", "right"), ("verdict", "left"),
    ):  # fmt: skip
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for e in result.equivalence:
        old = result.old_score.aggregate / 100 if e.target == "aggregate" else None
        new = result.new_score.aggregate / 100 if e.target == "aggregate" else None
        if e.target != "aggregate":
            old, new = result.old_score.fields.get(e.target), result.new_score.fields.get(e.target)
        if math.isnan(e.margin):
            margin = "- (no spread)"
        else:
            margin = f"{e.margin:.1f}" + (" (MDE)" if e.margin_source == "mde" else "")
        table.add_row(
            e.target, str(e.n), _pct(old), _pct(new), _num(e.diff),
            f"[{_num(e.lo)}, {_num(e.hi)}]", margin, _p(e.p), e.verdict,
        )  # fmt: skip
    console.print(table)
    console.print(
        "differences in points; margin: the minimum detectable difference (MDE) unless "
        "--margin; 'equivalent': the interval lies inside +-margin; 'worse': shown lower "
        "(95% CI below 0) and not equivalent; no spread: the two agree on every row"
    )
    if result.report_path:
        console.print(f"report: {result.report_path}")


def _pct(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{100 * value:.1f}"


def _num(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:+.1f}"


def _p(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.3g}"


def _dropped(dropped: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in dropped.items()) or "none"


def register(app: typer.Typer) -> None:
    app.command("distill")(distill)
    app.command("migrate")(migrate)
