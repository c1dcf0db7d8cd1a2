"""``fieldwise store …`` and ``fieldwise import …``: what the store holds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich import box
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from fieldwise.cli._common import console, err_console, n_predictions, print_json, show_path

PROJECT = typer.Option(Path(".fieldwise"), "--project", help="Store directory.")
store_app = typer.Typer(help="Inspect and export the prediction store.", no_args_is_help=True)
import_app = typer.Typer(help="Import predictions made elsewhere.", no_args_is_help=True)


@store_app.command("runs")
def runs(
    project: Path = PROJECT,
    as_json: bool = typer.Option(False, "--json", help="Print the runs as one JSON list."),
) -> None:
    """List recorded runs."""
    from fieldwise.store import Store

    with Store(project) as store:
        recorded = store.runs()
    if as_json:
        print_json([{k: v for k, v in r.items() if not k.endswith("_json")} for r in recorded])
        return
    console.print(runs_table(recorded))
    shared = [
        f"{name} {values.pop()}"
        for name, key in (("dataset", "dataset_fingerprint"), ("git", "git_sha"))
        if len(values := {_short_value(key, r[key]) for r in recorded}) == 1
    ]
    if recorded and shared:
        console.print(f"every run: {', '.join(shared)}", highlight=False)


def runs_table(recorded: list[dict[str, Any]]) -> Table:
    """The runs as a table that fits 80 columns: numbers and times never cut, labels and
    specs wrapped rather than cut, paths shown relative to here or ``~``, and the dataset
    and commit as columns only when they differ between runs (else one line below)."""
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    varying = [
        (name, key)
        for name, key in (("dataset", "dataset_fingerprint"), ("git", "git_sha"))
        if len({r[key] for r in recorded}) > 1
    ]
    for col in ("id", "created", "status", "label", "spec", "rows", *(n for n, _ in varying)):
        numeric = col in ("id", "rows")
        table.add_column(
            col,
            justify="right" if numeric else "left",
            no_wrap=col not in ("label", "spec"),
            overflow="fold",
        )
    for r in recorded:
        table.add_row(
            str(r["id"]),
            _local_time(r["created_at"]),
            r["status"],
            Text(r["label"]),  # labels like name[key=value] are not markup
            Text(show_path(r["spec"])),
            str(r["n_examples"]),
            *(_short_value(key, r[key]) for _, key in varying),
        )
    return table


def _short_value(key: str, value: str | None) -> str:
    """Enough of a fingerprint or commit to tell runs apart."""
    return (value or "-")[: 8 if key == "git_sha" else 16]


def _local_time(stamp: str) -> str:
    """``2026-12-04 21:31`` in local time from the stored UTC ISO stamp."""
    import datetime as dt

    try:
        return dt.datetime.fromisoformat(stamp).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return stamp


@store_app.command("batches")
def batches(project: Path = PROJECT) -> None:
    """List provider batch jobs (``batch: true``); open ones are polled by the next run."""
    from fieldwise.store import Store

    with Store(project) as store:
        table = Table()
        for col in ("batch", "provider", "label", "requests", "status", "created", "finished"):
            # Ids and states are what a user acts on: never cut them short.
            table.add_column(col, no_wrap=col in ("batch", "status"), overflow="fold")
        for b in store.batches():
            table.add_row(
                b["id"],
                b["provider"],
                escape(b["label"]),
                str(b["n_requests"]),
                b["status"],
                b["created_at"],
                b["finished_at"] or "-",
            )
        console.print(table)


@store_app.command("models")
def models(project: Path = PROJECT) -> None:
    """List registered models (fine-tunes, imports) and the available backends."""
    from fieldwise.models import available_backends
    from fieldwise.store import Store

    with Store(project) as store:
        for m in store.models():
            console.print(escape(f"{m['label']}\t{m['spec']}\t{m['kind']}"), highlight=False)
    console.print(f"backends: {', '.join(available_backends())}")


@store_app.command("export")
def export(
    out: Path = typer.Option(..., "--out", help="Output .jsonl or .parquet."),
    model: list[str] = typer.Option(None, "--model", help="Only these model labels."),
    push_to_hub: str | None = typer.Option(None, "--push-to-hub", help="Also push as a Dataset."),
    project: Path = PROJECT,
) -> None:
    """Export stored predictions to JSONL/Parquet (and the Hub when online)."""
    from fieldwise.store import Store
    from fieldwise.store.transfer import export_predictions

    with Store(project) as store:
        n = export_predictions(store, out, model or None, push_to_hub)
    err_console.print(f"exported {n_predictions(n)} to {out}")


@import_app.command("jsonl")
def import_jsonl_cmd(
    path: Path = typer.Argument(..., help="JSONL of {id, output}."),
    name: str = typer.Option(..., "--name", help="Model label to store them under."),
    task: str = typer.Option("isaf", "--task", "-t"),
    data: str = typer.Option(..., "--data", "-d", help="The dataset the ids refer to."),
    replace: bool = typer.Option(
        False, "--replace", help="Replace a registered model of the same name."
    ),
    project: Path = PROJECT,
) -> None:
    """Import one model's outputs from {id, output} JSONL: a model of its own in the
    store, listed by `store runs`, scored by the next `run` on the same rows and
    comparable by name (`fieldwise compare NAME OTHER`)."""
    from fieldwise.data import load_examples
    from fieldwise.store import Store
    from fieldwise.store.imports import import_jsonl
    from fieldwise.tasks import load_task

    task_obj = load_task(task)
    ds = load_examples(task_obj, data)
    with Store(project) as store:
        store.save_dataset(task_obj.name, ds.fingerprint, ds.source, ds.examples)
        done = import_jsonl(store, name, path, ds, task_obj.name, replace=replace)
    err_console.print(f"imported {n_predictions(done.stored)} as '{name}' (run {done.run_id})")
    _warn_uncovered(done.without_prediction, done.dataset_rows, data, str(path))


def _warn_uncovered(missing: int, rows: int, data: str, source: str) -> None:
    if missing:
        err_console.print(
            f"[yellow]warning:[/] {missing} of {rows} rows of {data} have no prediction in "
            f"{source}; they score as missing output",
            highlight=False,
            soft_wrap=True,
        )


@import_app.command("dicts")
def import_dicts_cmd(
    source: str = typer.Argument(..., help="File or hub:OWNER/NAME[:SPLIT] with 'predictions'."),
    task: str = typer.Option("isaf", "--task", "-t"),
    data: str = typer.Option(..., "--data", "-d", help="The dataset the rows refer to."),
    project: Path = PROJECT,
) -> None:
    """Import rows carrying a per-row 'predictions' dict of model → raw output."""
    from fieldwise.data import load_examples
    from fieldwise.store import Store
    from fieldwise.store.imports import import_prediction_dicts, load_prediction_records
    from fieldwise.tasks import load_task

    task_obj = load_task(task)
    ds = load_examples(task_obj, data)
    with Store(project) as store:
        store.save_dataset(task_obj.name, ds.fingerprint, ds.source, ds.examples)
        done = import_prediction_dicts(
            store, load_prediction_records(source), ds, task_obj.name, source=source
        )
    for label, run in done.items():
        err_console.print(f"imported {n_predictions(run.stored)} as '{label}' (run {run.run_id})")
    missing = max(run.without_prediction for run in done.values())
    _warn_uncovered(missing, len(ds), data, source)


def register(app: typer.Typer) -> None:
    app.add_typer(store_app, name="store")
    app.add_typer(import_app, name="import")
