"""The report's nested parts: a score tree per nested field, records P/R/F1 with
intervals, gold records aligned beside predicted ones, and errors per leaf path.

A nested field's one number hides which part is wrong; these views say which leaf, which
record, and what the model wrote instead. Everything here is derived from the scores and
from one re-alignment of each model's records (``scoring.align_records``), so what the
report shows is exactly what was scored.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fieldwise.report._analysis import FieldErrors, Miss, cell_patterns, tally
from fieldwise.report._summary import heat
from fieldwise.report._values import RECORD_TEXT, Parsed, pct, show, typed
from fieldwise.scoring import MISSING, get_profile
from fieldwise.scoring._nested import Alignment, GoldNode, align_records
from fieldwise.scoring._profile import objects
from fieldwise.scoring._types import ModelResult
from fieldwise.scoring.stats import Resamples, bootstrap_ci
from fieldwise.tasks._task import Example, FieldSpec, Task

__all__ = [
    "NestedViews",
    "RecordsBlock",
    "TreeNode",
    "nested_views",
    "record_intervals",
]


def record_intervals(rows: np.ndarray, resamples: Resamples) -> list[tuple[float, float]]:
    """95% intervals for the means of the per-row precision, recall and F1 columns, on the
    report's shared resamples (so they match every other interval on the page)."""
    return bootstrap_ci(rows, resamples)[0]


@dataclass
class TreeLeaf:
    name: str
    path: str
    metric: str
    cells: list[tuple[str, str]]  # (text, style) per model, leaderboard order


@dataclass
class RecordStats:
    label: str
    values: list[tuple[str, str]]  # (precision|recall|F1 text, its interval)


@dataclass
class TreeNode:
    """One object or records field: its own score per model, its leaves, its children."""

    name: str
    path: str
    kind: str
    depth: int
    cells: list[tuple[str, str]]
    leaves: list[TreeLeaf] = field(default_factory=list)
    children: list[TreeNode] = field(default_factory=list)
    records: list[RecordStats] = field(default_factory=list)


@dataclass
class AlignedRow:
    mark: str  # "" matched exactly, "p" matched in part, "w" missed or spurious
    gold: str
    pred: str
    note: str


@dataclass
class RecordsBlock:
    """One model's alignment of one records field on one example."""

    path: str
    label: str
    summary: str
    rows: list[AlignedRow]


@dataclass
class NestedViews:
    trees: list[TreeNode]
    leaf_errors: dict[str, list[tuple[str, str, list[tuple[int, FieldErrors]]]]]
    blocks: dict[int, list[RecordsBlock]]


def nested_views(
    task: Task,
    examples: list[Example],
    results: list[ModelResult],
    order: list[int],
    parsed: list[Parsed],
    profile: str,
    fields: list[str],
    resamples: Resamples,
    shown: set[int] | None = None,
) -> NestedViews:
    """Everything the report shows about the nested fields among ``fields``; record
    alignments only for the rows in ``shown`` (default all), the ones the page lists."""
    specs = [s for s in task.fields if s.name in fields and not s.is_leaf]
    scores = [results[i].scores[profile] for i in order]
    trees = [_tree(spec, scores, 0, resamples) for spec in specs]
    blocks: dict[int, list[RecordsBlock]] = defaultdict(list)
    leaf_errors: dict[str, list[tuple[str, str, list[tuple[int, FieldErrors]]]]] = {}
    scorer = get_profile(profile)
    for spec in specs:
        golds = [(ex.gold or {}).get(spec.name) for ex in examples]
        gold = GoldNode(spec, objects(golds, len(golds)))
        per_leaf: dict[str, list[tuple[int, FieldErrors]]] = defaultdict(list)
        for i in order:
            preds = parsed[i].column(spec.name)
            aligned = align_records(scorer, spec, objects(preds, len(preds)), gold)
            for path, rows in aligned.items():
                for r, alignment in enumerate(rows):
                    if shown is not None and r not in shown:
                        continue
                    block = _block(
                        task.spec_at(path), path, results[i].label, golds, preds, r, alignment
                    )
                    if block is not None:
                        blocks[r].append(block)
            for leaf in spec.leaves():
                per_leaf[leaf.path].append(
                    (
                        i,
                        _leaf_errors(
                            task, leaf, golds, preds, parsed[i], results[i], profile, aligned
                        ),
                    )
                )
        leaf_errors[spec.name] = [
            (path, task.spec_at(path).metric.name, errs) for path, errs in per_leaf.items()
        ]
    return NestedViews(trees, leaf_errors, dict(blocks))


def _tree(spec: FieldSpec, scores: list[Any], depth: int, resamples: Resamples) -> TreeNode:
    if depth == 0:
        cells = [heat(s.fields.get(spec.name, math.nan)) for s in scores]
    elif spec.kind == "records":
        cells = [heat(s.records.get(spec.path, {}).get("f1", math.nan)) for s in scores]
    else:
        cells = [("", "") for _ in scores]
    node = TreeNode(spec.name, spec.path, spec.kind, depth, cells)
    for child in spec.scored_children:
        if child.is_leaf:
            node.leaves.append(
                TreeLeaf(
                    child.name,
                    child.path,
                    child.metric.name,
                    [heat(s.paths.get(child.path, math.nan)) for s in scores],
                )
            )
        else:
            node.children.append(_tree(child, scores, depth + 1, resamples))
    if spec.kind == "records":
        node.records = [_record_stats(s, spec.path, resamples) for s in scores]
    return node


def _record_stats(score: Any, path: str, resamples: Resamples) -> RecordStats:
    rows = score.records_rows.get(path)
    means = score.records.get(path, {})
    if rows is None:
        return RecordStats(score.profile, [("—", "")] * 3)
    intervals = record_intervals(rows, resamples)
    values = []
    for (lo, hi), metric in zip(intervals, ("precision", "recall", "f1"), strict=True):
        ci = "" if math.isnan(lo) else f"[{lo * 100:.1f}, {hi * 100:.1f}]"
        values.append((pct(means.get(metric, math.nan)), ci))
    return RecordStats(score.profile, values)


def _at(value: Any, path: str, top: str) -> Any:
    """The value at ``path`` below the top-level value of ``top`` (MISSING if absent)."""
    parts = path[len(top) :].lstrip(".").split(".") if path != top else []
    for part in parts:
        if type(value) is not dict:
            return MISSING
        value = value.get(part)
    return value


def _record_text(record: Any) -> str:
    if type(record) is not dict:
        return typed(record)
    return " · ".join(f"{k}: {show(v, RECORD_TEXT)}" for k, v in record.items())


def _block(
    spec: FieldSpec,
    path: str,
    label: str,
    golds: list[Any],
    preds: list[Any],
    row: int,
    alignment: Alignment,
) -> RecordsBlock | None:
    """The aligned records of one row, or ``None`` when every record matched exactly."""
    top = path.split(".", 1)[0].removesuffix("[]")
    gold_list = _at(golds[row], path, top)
    pred_list = _at(preds[row], path, top)
    if not alignment or all(g is not None and p is not None and s >= 1.0 for g, p, s in alignment):
        return None
    rows = []
    matched = missed = spurious = 0
    for g, p, s in alignment:
        gtext = _record_text(gold_list[g]) if g is not None else ""
        ptext = _record_text(pred_list[p]) if p is not None else ""
        if g is not None and p is not None:
            matched += 1
            rows.append(AlignedRow("" if s >= 1.0 else "p", gtext, ptext, f"{s:.2f}"))
        elif g is not None:
            missed += 1
            rows.append(AlignedRow("w", gtext, "", "missed"))
        else:
            spurious += 1
            rows.append(AlignedRow("w", "", ptext, "spurious"))
    summary = f"{matched} matched, {missed} missed, {spurious} spurious"
    return RecordsBlock(path, label, summary, rows)


def _leaf_errors(
    task: Task,
    leaf: FieldSpec,
    golds: list[Any],
    preds: list[Any],
    parsed: Parsed,
    result: ModelResult,
    profile: str,
    aligned: dict[str, list[Alignment]],
) -> FieldErrors:
    """Wrong and partly right rows of one leaf path, with its most common error patterns.

    Under a records field, a pattern is a matched pair whose leaf values differ or a gold
    record no prediction matched; deeper lists only count rows.
    """
    top = leaf.path.split(".", 1)[0].split("[]", 1)[0]
    owner, _, rest = leaf.path.rpartition("[].")

    def patterns_of(r: int) -> list[Miss]:
        status = parsed.statuses[r]
        if not owner:  # a leaf of objects only
            return cell_patterns(
                leaf, status, _at(preds[r], leaf.path, top), _at(golds[r], leaf.path, top)
            )
        if status != "ok":
            return cell_patterns(leaf, status, MISSING, None)
        if owner in aligned and "[]" not in rest:
            return _pair_patterns(leaf, owner, rest, top, golds[r], preds[r], aligned[owner][r])
        return []

    scores = result.scores[profile].path_rows.get(leaf.path)
    return tally(leaf.path, scores, len(golds), patterns_of, per_record=bool(owner))


def _pair_patterns(
    leaf: FieldSpec, owner: str, rest: str, top: str, gold: Any, pred: Any, alignment: Alignment
) -> list[Miss]:
    """One miss per gold record: its leaf's value error, or why it matched nothing."""
    gold_list, pred_list = _at(gold, owner, top), _at(pred, owner, top)
    unmatched = Miss(
        "gold record not matched"
        if type(pred_list) is list and pred_list
        else f"no records predicted (the list is {typed(pred_list)})"
    )
    out = []
    for g, p, _ in alignment:
        if g is None:
            continue
        if p is None:
            out.append(unmatched)
            continue
        gv, pv = _at(gold_list[g], rest, ""), _at(pred_list[p], rest, "")
        if gv != pv or type(gv) is not type(pv):
            out.extend(cell_patterns(leaf, "ok", pv, gv))
    return out
