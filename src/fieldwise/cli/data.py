"""``fieldwise data …``: inspect, split, audit and export datasets."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from fieldwise.cli._common import console, err_console, print_json, refuse_to_overwrite
from fieldwise.errors import UserError

if TYPE_CHECKING:
    from fieldwise.data.splits import LeakageReport

data_app = typer.Typer(help="Inspect, split, audit and export datasets.", no_args_is_help=True)

TASK = typer.Option("isaf", "--task", "-t", help="Task name, module:attr or file.py.")
DATA = typer.Option(..., "--data", "-d", help="Local file, 'sample', or hub:OWNER/NAME[:SPLIT].")


@data_app.command("info")
def info(
    task: str = TASK,
    data: str = DATA,
    skip_invalid: bool = typer.Option(False, "--skip-invalid", help="Skip and count bad rows."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Row count, fingerprint and label status of a dataset."""
    from fieldwise.cli._common import show_path
    from fieldwise.data import load_examples
    from fieldwise.tasks import load_task

    ds = load_examples(load_task(task), data, skip_invalid=skip_invalid)
    facts = {
        "source": ds.source,
        "rows": len(ds),
        "fingerprint": ds.fingerprint,
        "labelled": ds.labelled,
        "skipped": len(ds.skipped),
    }
    for msg in ds.skipped[:10]:
        err_console.print(f"skipped: {msg}", highlight=False, markup=False)
    if as_json:
        print_json(facts)
        return
    table = Table(show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for name, value in facts.items():
        shown = show_path(str(value)) if name == "source" else value
        table.add_row(name, "yes" if value is True else "no" if value is False else str(shown))
    console.print(table)


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
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Leakage check: test texts that also appear (or nearly) in train. Exits 4 on leaks,
    so it can gate CI."""
    from fieldwise.cli import EXIT_FINDINGS
    from fieldwise.data import check_leakage, load_examples
    from fieldwise.tasks import load_task

    if not 0 < threshold <= 1:
        raise UserError(f"--threshold must be in (0, 1], got {threshold:g}")
    task_obj = load_task(task)
    test_rows = load_examples(task_obj, test).examples
    report = check_leakage(load_examples(task_obj, train).examples, test_rows, threshold)
    if as_json:
        print_json({"exact": report.exact, "near": report.near, "clean": report.clean})
    else:
        _print_leaks(report, len(test_rows), threshold)
    if not report.clean:
        raise typer.Exit(EXIT_FINDINGS)


LEAKS_SHOWN = 20
"""Pairs listed in the table; ``--json`` gives them all."""


def _print_leaks(report: LeakageReport, n_test: int, threshold: float) -> None:
    if report.clean:
        console.print(
            f"clean: none of the {n_test} test texts appears in train "
            f"(exactly, or with Jaccard similarity >= {threshold:g})"
        )
        return
    console.print(
        f"leaks: {len(report.exact)} of {n_test} test rows repeat a train text and "
        f"{len(report.near)} nearly do (Jaccard >= {threshold:g})",
        highlight=False,
    )
    pairs = [(t, tr, "exact", "1") for t, tr in report.exact]
    pairs += [(t, tr, "near", f"{sim:.2f}") for t, tr, sim in report.near]
    table = Table()
    for column in ("test id", "train id", "match", "similarity"):
        table.add_column(column, justify="right" if column == "similarity" else "left")
    for row in pairs[:LEAKS_SHOWN]:
        table.add_row(*row)
    console.print(table)
    if len(pairs) > LEAKS_SHOWN:
        console.print(f"... and {len(pairs) - LEAKS_SHOWN} more (--json lists every pair)")


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


@data_app.command("ood")
def ood(
    task: str = TASK,
    data: str = DATA,
    out: Path = typer.Option(..., "--out", "-o", help="The probes, as JSONL."),
    perturbed: int = typer.Option(
        50, "--perturbed", min=0, help="Removed and changed probes to make (each)."
    ),
    seed: int = typer.Option(0, "--seed"),
) -> None:
    """Out-of-domain probes: the shipped off-topic texts, plus test texts with a value's
    sentence removed (answer: none) or the value rewritten (answer: the new value).

    Run them with `ood: FILE` in fieldwise.yaml or `fieldwise run --ood FILE`."""
    from fieldwise.data import load_examples
    from fieldwise.tasks import load_task
    from fieldwise.trust.ood import build_probes, write_probes

    refuse_to_overwrite([out], [data], "--out")
    task_obj = load_task(task)
    ds = load_examples(task_obj, data)
    if not any(ex.gold for ex in ds.examples) and perturbed:
        err_console.print(
            f"[yellow]warning:[/] {data} has no labels: only off-topic probes (perturbations "
            "edit a labelled value)"
        )
    probes = build_probes(task_obj, ds.examples, perturbed=perturbed, seed=seed)
    write_probes(out, probes)
    kinds = {k: sum(p.probe == k for p in probes) for k in ("offtopic", "removed", "changed")}
    err_console.print(
        f"wrote {kinds['offtopic']} off-topic, {kinds['removed']} removed and "
        f"{kinds['changed']} changed probes → {out}"
    )
    if kinds["removed"] < perturbed or kinds["changed"] < perturbed:
        err_console.print(
            f"note: asked for {perturbed} of each; {data} had fewer rows whose required "
            "values could be edited and checked"
        )


def register(app: typer.Typer) -> None:
    app.add_typer(data_app, name="data")
