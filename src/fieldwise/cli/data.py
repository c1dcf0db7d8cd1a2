"""``fieldwise data …``: inspect, split, audit and export datasets."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from fieldwise.cli._common import console, err_console, print_json, refuse_to_overwrite
from fieldwise.errors import UserError

data_app = typer.Typer(help="Inspect, split, audit and export datasets.", no_args_is_help=True)

TASK = typer.Option("isaf", "--task", "-t", help="Task name, module:attr or file.py.")
DATA = typer.Option(..., "--data", "-d", help="Local file, 'sample', or hub:OWNER/NAME[:SPLIT].")


@data_app.command("info")
def info(
    task: str = TASK,
    data: str = DATA,
    skip_invalid: bool = typer.Option(False, "--skip-invalid", help="Skip and count bad rows."),
) -> None:
    """Row count, fingerprint and label status of a dataset."""
    from fieldwise.data import load_examples
    from fieldwise.tasks import load_task

    ds = load_examples(load_task(task), data, skip_invalid=skip_invalid)
    print_json(
        {
            "source": ds.source,
            "rows": len(ds),
            "fingerprint": ds.fingerprint,
            "labelled": ds.labelled,
            "skipped": len(ds.skipped),
        }
    )
    for msg in ds.skipped[:10]:
        err_console.print(f"skipped: {msg}")


@data_app.command("split")
def split(
    task: str = TASK,
    data: str = DATA,
    out_dir: Path = typer.Option(..., "--out-dir", help="Writes train.jsonl and test.jsonl."),
    test_size: float = typer.Option(0.2, "--test-size"),
    seed: int = typer.Option(0, "--seed"),
    group: str | None = typer.Option(
        None, "--group", help="Column naming each row's document group (as data.group)."
    ),
) -> None:
    """Group-aware train/test split: rows with the same text (or group) stay together.

    The same split `fieldwise run` evaluates on when a config gives data.train alone
    (with the same --test-size, --seed and --group as data.test_size, seed and group)."""
    from fieldwise.data import load_examples, train_test_split, write_jsonl
    from fieldwise.tasks import load_task

    refuse_to_overwrite([out_dir / "train.jsonl", out_dir / "test.jsonl"], [data], "--out-dir")
    task_obj = load_task(task)
    ds = load_examples(task_obj, data, group_column=group)
    train, test = train_test_split(ds.examples, test_size, seed)
    column = group or task_obj.group_column  # kept, so the parts split the same way again
    for name, part in (("train", train), ("test", test)):
        write_jsonl(
            out_dir / f"{name}.jsonl",
            [
                {
                    "id": e.id,
                    "text": e.text,
                    **(e.gold or {}),
                    **({column: e.group} if column else {}),
                }
                for e in part
            ],
        )
    err_console.print(f"train {len(train)} rows, test {len(test)} rows → {out_dir}")


@data_app.command("check")
def check(
    task: str = TASK,
    train: str = typer.Option(..., "--train", help="Train data."),
    test: str = typer.Option(..., "--test", help="Test data."),
    threshold: float = typer.Option(0.8, "--threshold", help="Near-duplicate Jaccard threshold."),
) -> None:
    """Leakage check: test texts that also appear (or nearly) in train. Exits 1 on leaks."""
    from fieldwise.data import check_leakage, load_examples
    from fieldwise.tasks import load_task

    task_obj = load_task(task)
    report = check_leakage(
        load_examples(task_obj, train).examples, load_examples(task_obj, test).examples, threshold
    )
    print_json({"exact": report.exact, "near": report.near, "clean": report.clean})
    if not report.clean:
        raise typer.Exit(1)


@data_app.command("audit")
def audit(
    task: str = TASK,
    data: str = DATA,
    as_json: bool = typer.Option(False, "--json", help="Print the issues as JSON."),
) -> None:
    """List label quirks: values outside the schema, ';'-joined values, aliases, types."""
    from fieldwise.data import load_examples
    from fieldwise.scoring import audit_labels
    from fieldwise.tasks import load_task

    task_obj = load_task(task)
    issues = audit_labels(task_obj, load_examples(task_obj, data).examples)
    if as_json:
        print_json([issue.to_json() for issue in issues])
        return
    table = Table(title=f"{len(issues)} label issues", title_justify="left")
    for column in ("field", "problem", "value", "rows", "fix", "examples"):
        table.add_column(column)
    for issue in issues:
        table.add_row(
            issue.field,
            issue.kind,
            issue.value,
            str(issue.count),
            issue.suggestion or "",
            ", ".join(issue.example_ids[:3]),
        )
    console.print(table)


@data_app.command("export")
def export(
    task: str = TASK,
    data: str = DATA,
    fmt: str = typer.Option(
        ...,
        "--format",
        "-f",
        help="sharegpt, openai-chat, template-free, prompt-completion or alpaca.",
    ),
    out: Path = typer.Option(..., "--out", help="Output JSONL file."),
    template: str | None = typer.Option(None, "--template", help="Prompt template name or file."),
) -> None:
    """Export labelled examples to a fine-tuning format (same prompts as inference)."""
    from fieldwise.data import load_examples
    from fieldwise.data.export import export_examples, get_format
    from fieldwise.tasks import load_task
    from fieldwise.tasks.prompts import load_template

    get_format(fmt)  # an unknown format fails before any data is read
    task_obj = load_task(task)
    ds = load_examples(task_obj, data)
    if not ds.labelled:
        raise UserError(f"{data} is not labelled; exports need targets")
    n = export_examples(task_obj, ds.examples, fmt, out, template=load_template(template))
    err_console.print(f"wrote {n} {fmt} rows to {out}")


def register(app: typer.Typer) -> None:
    app.add_typer(data_app, name="data")
