"""``fieldwise align``: where each predicted (or gold) value is written in its text."""

from __future__ import annotations

import json
import math
import os
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from fieldwise.cli._common import err_console, refuse_to_overwrite
from fieldwise.errors import UserError

if TYPE_CHECKING:
    from fieldwise.tasks import Example, Task
    from fieldwise.trust.grounding import ModelGrounding


def align(
    task: str = typer.Option("isaf", "--task", "-t", help="Task name, module:attr or file.py."),
    data: str = typer.Option(..., "--data", "-d", help="The texts (and gold), as for score."),
    predictions: Path | None = typer.Option(
        None,
        "--predictions",
        "-p",
        help="{id, output} JSONL (predict's output, an export, an import). "
        "Omit it to align the gold labels of --data.",
    ),
    out: Path = typer.Option(..., "--out", "-o", help="JSONL: one line per row of --data."),
) -> None:
    """Find the evidence span of every value: one line per row,
    {"id", "parse", "evidence": {PATH: {"start", "end", "status"}}}.

    PATH is as in `score --json` with the record index filled in (line_items[2].sku; a
    label set's labels are province[0], province[1]); status is exact, normalised,
    fuzzy or none. Fields whose grounding is none (booleans, inferred labels) and null
    values get no entry; a row without a prediction, or whose output is not a JSON
    object, has an empty evidence and its parse status.
    """
    from fieldwise.data import load_examples
    from fieldwise.scoring.parse import parse_status
    from fieldwise.tasks import load_task
    from fieldwise.trust import Document, align_row

    refuse_to_overwrite([out], [data, str(predictions) if predictions else None], "--out")
    task_obj = load_task(task)
    examples = load_examples(task_obj, data).examples
    if predictions is None:
        if not all(ex.gold is not None for ex in examples):
            raise UserError(
                f"{data} has unlabelled rows and no --predictions was given",
                hint="pass --predictions to align a model's outputs",
            )
        answers: dict[str, str | None] = {ex.id: json.dumps(ex.gold) for ex in examples}
    else:
        answers = _read(predictions, {ex.id for ex in examples})
    counts: Counter[str] = Counter()
    tmp = out.with_name(out.name + ".tmp")
    out.parent.mkdir(parents=True, exist_ok=True)
    with tmp.open("w", encoding="utf-8") as fh:
        for ex in _progress(examples):
            status, value = parse_status(answers.get(ex.id))
            evidence = align_row(task_obj, Document(ex.text), value) if value else {}
            counts.update(e.status for e in evidence.values())
            line = {
                "id": ex.id,
                "parse": status,
                "evidence": {path: e.to_json() for path, e in evidence.items()},
            }
            fh.write(json.dumps(line, ensure_ascii=False) + "\n")
    os.replace(tmp, out)
    total = sum(counts.values())
    shown = ", ".join(f"{counts[s]} {s}" for s in ("exact", "normalised", "fuzzy", "none"))
    what = "gold" if predictions is None else "predicted"
    err_console.print(f"aligned {total} {what} values in {len(examples)} rows ({shown}) → {out}")


def _read(path: Path, known: set[str]) -> dict[str, str | None]:
    """Outputs by id (an id twice is an error: two models in one file cannot be told
    apart); an id not in the data is a warning (it has no text to align against)."""
    from fieldwise.store.imports import read_predictions

    outputs = read_predictions(path).outputs
    unknown = sum(example_id not in known for example_id in outputs)
    if unknown:
        err_console.print(f"[yellow]warning:[/] {unknown} predictions have ids not in --data")
    return outputs


def _progress(rows: list[Example]) -> Iterable[Example]:
    """The rows, with a bar on stderr when there are enough to wait for."""
    from rich.progress import track

    if len(rows) < 2000:
        return rows
    return track(rows, description="aligning", console=err_console, transient=True)


def grounding_of(
    task: Task,
    examples: list[Example],
    raw: list[str | None],
    profile: str,
    strip_fences: bool = False,
) -> tuple[ModelGrounding, int]:
    """The grounding metrics of raw outputs (row by row with ``examples``), correctness
    judged under ``profile`` (``score`` prints them beside the scores), and the rows they
    were computed on (past :data:`~fieldwise.trust.grounding.SAMPLE_ROWS`, a seeded
    random sample of that many, as in the report). An output in a code fence counts only
    with ``strip_fences``, as in scoring."""
    from fieldwise.scoring import get_profile
    from fieldwise.scoring.parse import parse_status
    from fieldwise.trust.grounding import grounding_scores, sample_rows

    rows = sample_rows(len(examples))
    read = ("ok", "fenced") if strip_fences else ("ok",)
    answers = [v if s in read else None for s, v in (parse_status(raw[i]) for i in rows)]
    grounding = grounding_scores(task, [examples[i] for i in rows], answers, get_profile(profile))
    return grounding, len(rows)


def print_grounding(grounding: ModelGrounding, rows: int, total: int) -> None:
    """Per aligned field: values, % grounded, % ungrounded and wrong."""
    from rich.table import Table

    from fieldwise.cli._common import console

    sampled = f" (a random sample of {rows:,} of {total:,} rows)" if rows < total else ""
    table = Table(title=f"grounding: values found in the text{sampled}", title_justify="left")
    for column in ("field", "grounding", "values", "grounded %", "hallucinated %"):
        table.add_column(column, justify="left" if column in ("field", "grounding") else "right")
    for path, f in grounding.fields.items():
        table.add_row(
            path, f.grounding, str(f.values), _pct(f.grounded_rate), _pct(f.hallucination_rate)
        )
    console.print(table)
    console.print(
        f"required fields: {_pct(grounding.grounded_rate)}% grounded, "
        f"{_pct(grounding.hallucination_rate)}% ungrounded and wrong"
    )


def _pct(value: float) -> str:
    return "—" if math.isnan(value) else f"{value * 100:.1f}"


def register(app: typer.Typer) -> None:
    app.command()(align)
