"""``fieldwise review export|import``: send a run's doubtful values to a person and read
the corrections back as a new gold version (docs/confidence.md, "Review queue")."""

from __future__ import annotations

from pathlib import Path

import typer

from fieldwise.cli._common import console, err_console, print_json
from fieldwise.cli.trust import RISK_HELP
from fieldwise.errors import UserError

review_app = typer.Typer(
    help="Review queue: export a run's low-confidence and ungrounded values; import the "
    "corrections as a new gold version.",
    no_args_is_help=True,
)


@review_app.command("export")
def export(
    ref: str = typer.Argument(..., help="Run id or model name from the store."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for the review files."),
    project: Path = typer.Option(Path(".fieldwise"), "--project", help="Store directory."),
    calibrate_on: str | None = typer.Option(
        None,
        "--calibrate-on",
        help="A labelled run of the same model to calibrate on (default: the run itself; "
        "needed when it ran on unlabelled rows).",
    ),
    profile: str = typer.Option("reference", "--profile", help="Scoring profile."),
    risk: float = typer.Option(0.05, "--risk", help=RISK_HELP),
    method: str = typer.Option("platt", "--calibration", help="platt or isotonic."),
    task: str | None = typer.Option(None, "--task", "-t", help="Task, when not the recorded one."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
) -> None:
    """Write the run's values below their field's confidence threshold (at --risk) and
    the values of required fields found nowhere in their text: review.csv, review.jsonl
    (fill in 'corrected', or 'accept' with yes) and labelstudio.json + labelstudio.xml
    (a Label Studio project with the evidence highlighted)."""
    from fieldwise.cli.trust import _settings
    from fieldwise.review.queue import export_review
    from fieldwise.scoring import PROFILES
    from fieldwise.store import Store

    if profile not in PROFILES:
        raise UserError(f"unknown profile '{profile}'", hint=f"use one of {sorted(PROFILES)}")
    settings = _settings(risk, method, 0.5, 0, 0)
    with Store(project) as store:
        items, files, unreached = export_review(
            store, ref, out, profile=profile, settings=settings, calibrate_on=calibrate_on,
            task=task,
        )  # fmt: skip
    low = sum("low_confidence" in it.reasons for it in items)
    ungrounded = sum("ungrounded" in it.reasons for it in items)
    summary = {
        "items": len(items),
        "low_confidence": low,
        "ungrounded": ungrounded,
        "rows": len({it.id for it in items}),
        "no_threshold": unreached,
        "files": {k: str(v) for k, v in files.items()},
    }
    if as_json:
        print_json(summary)
        return
    console.print(
        f"{len(items)} values to review in {summary['rows']} rows ({low} below their "
        f"field's threshold, {ungrounded} not found in their text)"
    )
    if unreached:
        err_console.print(
            f"[yellow]note:[/] for {', '.join(unreached)} no threshold keeps the risk under "
            f"{risk:.0%} with 95% confidence on the labelled rows: every value is listed "
            "(more labelled rows, or a higher --risk, narrows the queue)"
        )
    for path in files.values():
        console.print(f"  {path}")


@review_app.command("import")
def import_(
    file: Path = typer.Argument(..., help="review.csv / review.jsonl, or a Label Studio export."),
    out: Path = typer.Option(..., "--out", "-o", help="JSONL for the corrected dataset."),
    project: Path = typer.Option(Path(".fieldwise"), "--project", help="Store directory."),
    task: str | None = typer.Option(None, "--task", "-t", help="Task, when not the recorded one."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
) -> None:
    """Apply the reviewed values to the run's dataset: a new gold version (new
    fingerprint, stored and written to --out), with every run of the old version
    recorded on it too (same predictions, scored against the corrected gold)."""
    from fieldwise.cli._common import refuse_to_overwrite
    from fieldwise.review.corrections import apply_corrections, read_corrections
    from fieldwise.store import Store

    refuse_to_overwrite([out], [str(file)], "--out")
    corrections = read_corrections(file)
    with Store(project) as store:
        result = apply_corrections(store, corrections, out, task)
    summary = {
        "dataset": result.fingerprint,
        "previous": result.previous,
        "out": str(result.out),
        "corrected": result.corrected,
        "confirmed": result.confirmed,
        "rows_changed": result.rows,
        "runs": {str(k): v for k, v in result.runs.items()},
    }
    if as_json:
        print_json(summary)
        return
    if result.fingerprint == result.previous:
        err_console.print("[yellow]note:[/] the reviewed values equal the gold: nothing changed")
    console.print(
        f"dataset {result.fingerprint} (was {result.previous}): {result.corrected} values "
        f"corrected, {result.confirmed} confirmed, {result.rows} rows changed → {result.out}"
    )
    if result.runs:
        pairs = ", ".join(f"{old} → {new}" for old, new in result.runs.items())
        first_new = next(iter(result.runs.values()))
        console.print(
            f"runs recorded on the corrected gold (same predictions): {pairs}; e.g. "
            f"fieldwise trust {first_new}, or fieldwise compare {first_new} RUN to set them "
            "beside a run made on the corrected data"
        )


def register(app: typer.Typer) -> None:
    app.add_typer(review_app, name="review")
