"""Error analysis: what each model gets wrong on each field, and how often.

Scores say *how much* a model misses; these tables say *what*: a confusion table for
fields with few values (labels, booleans, small counts), per-label misses and extras for
label sets, and the most common error patterns with links to the rows behind them.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fieldwise.report._values import STATUS_TEXT, Parsed, typed
from fieldwise.scoring import MISSING
from fieldwise.tasks._task import FieldSpec

TOP_PATTERNS = 5
LINKS_PER_PATTERN = 6
CONFUSION_SIZE = 7
NO_OUTPUT = "(no object)"


@dataclass
class Pattern:
    text: str
    count: int
    rows: list[int]


@dataclass
class Confusion:
    """Gold (rows) x predicted (columns) counts over every row, rare values pooled."""

    gold: list[str]
    pred: list[str]
    counts: list[list[int]]


@dataclass
class SetRow:
    label: str
    gold: int
    predicted: int
    missed: int
    extra: int


@dataclass
class FieldErrors:
    """One model's errors on one field under the ranking profile."""

    name: str
    wrong: int
    partial: int
    unscored: int
    patterns: list[Pattern]
    confusion: Confusion | None = None
    set_rows: list[SetRow] = field(default_factory=list)


def field_errors(
    spec: FieldSpec, golds: list[Any], parsed: Parsed, scores: np.ndarray | None
) -> FieldErrors:
    """Analyse one model's column of predictions for ``spec`` against the gold column."""
    preds = [parsed.value(i, spec.name) for i in range(len(golds))]
    result = tally(
        spec.name,
        scores,
        len(golds),
        lambda i: cell_patterns(spec, parsed.statuses[i], preds[i], golds[i]),
    )
    if spec.kind in ("label", "bool", "int"):
        result.confusion = confusion(golds, preds, parsed)
    elif spec.kind == "label_set":
        result.set_rows = set_table(golds, preds)
    return result


def tally(
    name: str, scores: np.ndarray | None, rows: int, patterns_of: Callable[[int], list[str]]
) -> FieldErrors:
    """Count wrong, partly right and unscored rows; name the errors of the ones not fully
    right with ``patterns_of(row)`` and keep the most common patterns."""
    patterns: dict[str, list[int]] = defaultdict(list)
    wrong = partial = unscored = 0
    for i in range(rows):
        s = float("nan") if scores is None else float(scores[i])
        if math.isnan(s):
            unscored += 1
            continue
        if s >= 1.0:
            continue
        if s > 0.0:
            partial += 1
        else:
            wrong += 1
        for text in patterns_of(i):
            patterns[text].append(i)
    ranked = sorted(patterns.items(), key=lambda kv: (-len(kv[1]), kv[0]))[:TOP_PATTERNS]
    return FieldErrors(
        name,
        wrong,
        partial,
        unscored,
        [Pattern(t, len(rows), rows[:LINKS_PER_PATTERN]) for t, rows in ranked],
    )


def cell_patterns(spec: FieldSpec, status: str, pred: Any, gold: Any) -> list[str]:
    """Name what went wrong in one cell (a set error can name several labels)."""
    if status != "ok":
        return [f"no usable output ({STATUS_TEXT[status]})"]
    if pred is MISSING:
        return ["field missing from output"]
    if gold is None:
        return [f"no gold → pred {typed(pred)}"]
    if spec.kind == "label_set":
        gold_set, pred_set = as_labels(gold), as_labels(pred)
        if pred_set is None:
            return [f"not a list: {typed(pred)}"]
        if gold_set is not None:
            found = [f"missing {_label(x)}" for x in sorted(gold_set - pred_set)]
            found += [f"extra {_label(x)}" for x in sorted(pred_set - gold_set)]
            if found:
                return found
    if spec.kind == "date":
        days = _days_off(gold, pred)
        if days is not None:
            unit = "day" if abs(days) == 1 else "days"
            return [f"{abs(days)} {unit} {'late' if days > 0 else 'early'}"]
    return [f"gold {typed(gold)} → pred {typed(pred)}"]


def as_labels(value: Any) -> set[str] | None:
    """A label set as the reference profile sees it: a bare string is one label."""
    if isinstance(value, str):
        return {value}
    if isinstance(value, list):
        return {v if isinstance(v, str) else typed(v) for v in value}
    return None


def _label(value: str) -> str:
    return value if value else '""'


def _days_off(gold: Any, pred: Any) -> int | None:
    try:
        g = dt.date.fromisoformat(str(gold).strip())
        p = dt.date.fromisoformat(pred.strip()) if isinstance(pred, str) else None
    except ValueError:
        return None
    return None if p is None or p == g else (p - g).days


def confusion(golds: list[Any], preds: list[Any], parsed: Parsed) -> Confusion:
    """Count (gold, pred) pairs over all rows; values beyond the most common pool in 'other'."""
    gold_keys = [typed(g) if g is not None else "(none)" for g in golds]
    pred_keys = [NO_OUTPUT if parsed.statuses[i] != "ok" else typed(p) for i, p in enumerate(preds)]
    gold_top = [k for k, _ in Counter(gold_keys).most_common(CONFUSION_SIZE)]
    pred_counts = Counter(pred_keys)
    pred_top = [k for k in gold_top if k in pred_counts]
    for k, _ in pred_counts.most_common():
        if len(pred_top) >= CONFUSION_SIZE:
            break
        if k not in pred_top:
            pred_top.append(k)
    g_index = {k: n for n, k in enumerate(gold_top)}
    p_index = {k: n for n, k in enumerate(pred_top)}
    g_other, p_other = len(gold_top), len(pred_top)
    counts = [[0] * (p_other + 1) for _ in range(g_other + 1)]
    for g, p in zip(gold_keys, pred_keys, strict=True):
        counts[g_index.get(g, g_other)][p_index.get(p, p_other)] += 1
    gold_names, pred_names = gold_top + ["other"], pred_top + ["other"]
    if not any(row[p_other] for row in counts):
        pred_names.pop()
        counts = [row[:-1] for row in counts]
    if not any(counts[g_other]):
        gold_names.pop()
        counts.pop()
    return Confusion(gold_names, pred_names, counts)


def set_table(golds: list[Any], preds: list[Any], limit: int = 12) -> list[SetRow]:
    """Per label: how often it is gold, predicted, missed and added; most errors first."""
    tally: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for gold, pred in zip(golds, preds, strict=True):
        gold_set = as_labels(gold) or set()
        pred_set = as_labels(pred) if pred is not MISSING else set()
        pred_set = pred_set or set()
        for x in gold_set:
            tally[x][0] += 1
        for x in pred_set:
            tally[x][1] += 1
        for x in gold_set - pred_set:
            tally[x][2] += 1
        for x in pred_set - gold_set:
            tally[x][3] += 1
    rows = [SetRow(_label(k), *v) for k, v in tally.items() if v[2] or v[3]]
    rows.sort(key=lambda r: (-(r.missed + r.extra), -r.gold, r.label))
    return rows[:limit]
