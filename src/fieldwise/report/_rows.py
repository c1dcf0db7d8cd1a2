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

from fieldwise.report._values import RECORD_TEXT, STATUS_TEXT, Parsed, show
from fieldwise.scoring import MISSING
from fieldwise.scoring._types import ModelResult
from fieldwise.tasks._task import Example

TEXT_HEAD = 110
MAX_RAW = 4000
MAX_ERROR = 300
MAX_SHOWN = 2000
"""Rows the per-example section shows at most. Past this the page would grow by ~1 kB
per row and model (a 100,000-row, 3-model page: ~300 MB, beyond what a browser opens),
so it keeps the rows where the models disagree most and the export holds every row."""

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


@dataclass
class Selection:
    """Which rows the per-example section shows, and why."""

    indices: list[int]
    total: int
    disagreeing: int
    """Rows where the models' per-field results differ (one model: where it is not fully
    right)."""

    @property
    def limited(self) -> bool:
        return len(self.indices) < self.total


def select_rows(
    parsed: list[Parsed], matrices: list[np.ndarray], cap: int | None = None
) -> Selection:
    """Every row when there are at most ``cap``; else the ``cap`` rows where the models
    disagree most (largest spread of row points, then most fields in dispute), in order.

    With one model, "disagree" means with gold: the rows it gets least right.
    """
    cap = MAX_SHOWN if cap is None else cap
    n = matrices[0].shape[0]
    if n <= cap:
        return Selection(list(range(n)), n, -1)
    ok = np.array([[s == "ok" for s in p.statuses] for p in parsed])  # models x rows
    stack = np.stack(matrices)  # models x rows x fields, NaN = not scored
    filled = np.where(np.isnan(stack), -1.0, stack)
    filled[~ok] = -2.0  # no object: unlike any scored answer
    if len(matrices) == 1:
        lost = np.where(filled[0] >= 0, 1.0 - filled[0], 0.0).sum(axis=1) + (~ok[0]) * 100
        differs = lost > 0
        rank = lost
    else:
        disputed = (filled != filled[0]).any(axis=0).sum(axis=1)  # fields in dispute per row
        points = np.where(stack >= 0, stack, 0.0).sum(axis=2)  # NaN compares false: 0 points
        points[~ok] = 0.0
        differs = disputed > 0
        rank = (points.max(axis=0) - points.min(axis=0)) * 1000 + disputed
    candidates = np.flatnonzero(differs)
    if candidates.size > cap:
        keep = np.argsort(-rank[candidates], kind="stable")[:cap]
        candidates = np.sort(candidates[keep])
    return Selection([int(i) for i in candidates], n, int(differs.sum()))


def example_rows(
    examples: list[Example],
    fields: list[str],
    order: list[int],
    results: list[ModelResult],
    parsed: list[Parsed],
    matrices: list[np.ndarray],
    indices: list[int] | None = None,
) -> list[ExampleRow]:
    """One :class:`ExampleRow` per example shown (``indices``, default all);
    ``matrices[m]`` is model m's per-row scores with columns in ``fields`` order (NaN
    where the profile does not score the field)."""
    rows: list[ExampleRow] = []
    for i in range(len(examples)) if indices is None else indices:
        ex = examples[i]
        gold = ex.gold or {}
        golds = [gold.get(f) for f in fields]
        gold_text = ["—" if g is None else nested_text(g) for g in golds]
        model_rows = []
        wrong = []
        for m in order:
            row = _model_row(i, m, results[m], parsed[m], matrices[m][i], fields, golds, gold_text)
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
    golds: list[Any],
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
            text = nested_text(value, golds[j], gold_text[j])
            cells.append(_cell(float(scores[j]), text, gold_text[j]))
    return ModelRow(
        m,
        result.label,
        None if status == "ok" else STATUS_TEXT[status],
        cells,
        _row_score(scores),
        raw,
        error,
    )


def nested_text(value: Any, gold: Any = None, gold_text: str = "") -> str:
    """A cell's text. A nested value read as a whole is cut before the leaf that is
    wrong, so: an object shows its leaves (``name: X · country: ch``) and, next to a gold
    object, only the leaves that differ from it (``country: null``; the gold text when
    none does); a list of records shows how many there are (aligned below the row)."""
    if type(value) is dict:
        if type(gold) is dict:
            diffs = [f"{path}: {_leaf_text(v)}" for path, v in _leaf_diffs(value, gold)]
            return " · ".join(diffs) if diffs else gold_text
        return " · ".join(f"{k}: {_leaf_text(v)}" for k, v in _leaves(value))
    return _records(value) or show(value)


def _records(value: Any) -> str:
    if type(value) is list and value and all(type(v) is dict for v in value):
        return f"{len(value)} record{'s' if len(value) != 1 else ''}"
    return ""


def _leaf_text(value: Any) -> str:
    return _records(value) or show(value, RECORD_TEXT)


def _leaves(value: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for key, v in value.items():
        if type(v) is dict:
            out += _leaves(v, f"{prefix}{key}.")
        else:
            out.append((f"{prefix}{key}", v))
    return out


def _leaf_diffs(pred: dict[str, Any], gold: dict[str, Any]) -> list[tuple[str, Any]]:
    """The leaves of ``pred`` that differ from ``gold`` (a key gold has and ``pred``
    lacks shows as ``(missing)``), in gold's order, then ``pred``'s extra keys."""
    mine, theirs = dict(_leaves(pred)), dict(_leaves(gold))
    out = []
    for path in [*theirs, *(p for p in mine if p not in theirs)]:
        v, g = mine.get(path, MISSING), theirs.get(path, MISSING)
        if type(v) is not type(g) or v != g:
            out.append((path, v))
    return out


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
