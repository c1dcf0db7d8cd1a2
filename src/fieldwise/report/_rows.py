"""The per-example table: gold beside every model's answer, wrong cells marked.

This is the bulk of the page (rows x models x fields cells), so each cell is a tiny
``(css class, text)`` pair and a correct answer identical to gold collapses to a dot:
the eye lands on the differences, and the HTML stays a few MB for 724 rows x 10 models.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fieldwise.report._values import STATUS_TEXT, Parsed, show
from fieldwise.scoring._types import ModelResult
from fieldwise.tasks._task import Example

TEXT_HEAD = 110
MAX_RAW = 4000
MAX_ERROR = 300

# Cell classes (short on purpose: ~100k cells): "" right and shown as gold, "d" right but
# written differently, "p" partial credit, "w" wrong, "n" not scored (abstained / no gold).
RIGHT, RIGHT_DIFFERENT, PARTIAL, WRONG, UNSCORED = "", "d", "p", "w", "n"


@dataclass
class ModelRow:
    model: int
    label: str
    status: str | None
    cells: list[tuple[str, str]]
    score: str
    raw: str | None
    error: str | None


@dataclass
class ExampleRow:
    index: int
    id: str
    head: str
    text: str
    wrong_models: str
    gold: list[str]
    models: list[ModelRow]
    records: list[Any] = field(default_factory=list)  # nested tasks: aligned records


def example_rows(
    examples: list[Example],
    fields: list[str],
    order: list[int],
    results: list[ModelResult],
    parsed: list[Parsed],
    matrices: list[np.ndarray],
) -> list[ExampleRow]:
    """One :class:`ExampleRow` per example; ``matrices[m]`` is model m's per-row scores
    with columns in ``fields`` order (NaN where the profile does not score the field)."""
    rows: list[ExampleRow] = []
    for i, ex in enumerate(examples):
        gold = ex.gold or {}
        gold_text = [show(gold[f]) if f in gold and gold[f] is not None else "—" for f in fields]
        model_rows = []
        wrong = []
        for m in order:
            row = _model_row(i, m, results[m], parsed[m], matrices[m][i], fields, gold_text)
            model_rows.append(row)
            if row.status is not None or any(c in (WRONG, PARTIAL) for c, _ in row.cells):
                wrong.append(str(m))
        text = ex.text
        head = text[:TEXT_HEAD].replace("\n", " ") + ("…" if len(text) > TEXT_HEAD else "")
        rows.append(ExampleRow(i, str(ex.id), head, text, " ".join(wrong), gold_text, model_rows))
    return rows


def _model_row(
    i: int,
    m: int,
    result: ModelResult,
    parsed: Parsed,
    scores: np.ndarray,
    fields: list[str],
    gold_text: list[str],
) -> ModelRow:
    status = parsed.statuses[i]
    raw = result.outputs[i]
    if raw is not None:
        raw = str(raw)  # a non-string output is data (scored invalid), never a crash
        if len(raw) > MAX_RAW:
            raw = raw[:MAX_RAW] + f"… ({len(raw) - MAX_RAW} more characters)"
    error = result.errors[i] if i < len(result.errors) else None
    if error is not None and len(error) > MAX_ERROR:
        error = error[:MAX_ERROR] + "…"
    cells: list[tuple[str, str]] = []
    if status == "ok":
        for j, name in enumerate(fields):
            value = parsed.value(i, name)
            cells.append(_cell(float(scores[j]), show(value), gold_text[j]))
    return ModelRow(
        m,
        result.label,
        None if status == "ok" else STATUS_TEXT[status],
        cells,
        _row_score(scores),
        raw,
        error,
    )


def _cell(score: float, text: str, gold: str) -> tuple[str, str]:
    if math.isnan(score):
        return UNSCORED, text
    if score >= 1.0:
        return (RIGHT, "·") if text == gold else (RIGHT_DIFFERENT, text)
    return (PARTIAL if score > 0.0 else WRONG), text


def _row_score(scores: Any) -> str:
    """Points on this row out of the fields scored (e.g. ``11.5/13``)."""
    valid = scores[~np.isnan(scores)]
    if valid.size == 0:
        return "—"
    total = float(valid.sum())
    points = f"{total:.0f}" if total == int(total) else f"{total:.1f}"
    return f"{points}/{valid.size}"
