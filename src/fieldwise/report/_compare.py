"""The report's comparisons: the pairwise matrix, field-by-field outcomes, variants, repeats.

All numbers come from :mod:`fieldwise.scoring.stats`; this module only lays them out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from fieldwise.report._summary import level_text
from fieldwise.report._values import column
from fieldwise.scoring._types import ModelResult
from fieldwise.scoring.stats import AGGREGATE, Comparison, PairwiseTable, Resamples, pairwise
from fieldwise.scoring.stats import repeat_summary as summarise_repeats

__all__ = ["Cell", "comparison_table", "field_rows", "matrix", "repeat_rows", "variant_rows"]


@dataclass
class Cell:
    text: str
    css: str
    title: str


def score_matrix(result: ModelResult, profile: str, fields: list[str]) -> np.ndarray:
    """Per-row scores with columns in ``fields`` order (NaN where a field is not scored)."""
    score = result.scores[profile]
    out = np.full((score.per_row.shape[0], len(fields)), np.nan)
    for j, name in enumerate(fields):
        col = column(score, name)
        if col is not None:
            out[:, j] = col
    return out


def comparison_table(
    results: list[ModelResult], profile: str, fields: list[str], resamples: Resamples
) -> PairwiseTable:
    """Every pair of models on the aggregate and every field, Holm across all of them."""
    return pairwise({r.label: score_matrix(r, profile, fields) for r in results}, fields, resamples)


def _cell(c: Comparison | None) -> Cell:
    if c is None or math.isnan(c.diff):
        return Cell("—", "tie", "")
    marks = {"win": "▲", "loss": "▼", "tie": ""}
    adjusted = (
        ""
        if math.isnan(c.lo_holm)
        else f"{level_text(c.level_holm)} CI [{c.lo_holm:.2f}, {c.hi_holm:.2f}] (Holm-adjusted), "
    )
    boot = "" if math.isnan(c.lo) else f"unadjusted 95% bootstrap CI [{c.lo:.2f}, {c.hi:.2f}], "
    title = (
        f"{c.a} − {c.b} on {c.target}: {c.diff:+.2f} points, {adjusted}{boot}"
        f"p = {c.p:.3g} ({c.test}), Holm p = {c.p_holm:.3g}, n = {c.n}"
        + ("" if math.isnan(c.mde) else f", minimum detectable {c.mde:.2f}")
    )
    return Cell(f"{marks[c.outcome]}{c.diff:+.1f}", c.outcome, title)


def matrix(table: PairwiseTable, labels: list[str]) -> list[tuple[str, list[Cell]]]:
    """Row model minus column model on the aggregate, in leaderboard order."""
    return [
        (a, [Cell("", "self", "") if a == b else _cell(table.get(a, b)) for b in labels])
        for a in labels
    ]


def field_rows(
    table: PairwiseTable, labels: list[str], fields: list[str]
) -> list[tuple[str, str, list[Cell]]]:
    """Each pair (better-ranked model first): its aggregate and per-field cells."""
    rows = []
    for i, a in enumerate(labels):
        for b in labels[i + 1 :]:
            cells = [_cell(table.get(a, b, t)) for t in [AGGREGATE, *fields]]
            rows.append((a, b, cells))
    return rows


def variant_rows(
    results: list[ModelResult], table: PairwiseTable, fields: list[str]
) -> list[dict[str, Any]]:
    """For each pair of sibling variants that differ in one switch: its paired effect."""
    groups: dict[str, list[ModelResult]] = {}
    for r in results:
        if r.variant_of is not None:
            groups.setdefault(r.variant_of, []).append(r)
    out = []
    for base, members in groups.items():
        for i, x in enumerate(members):
            for y in members[i + 1 :]:
                changed = [k for k in x.variant if x.variant.get(k) != y.variant.get(k)]
                if len(changed) != 1:
                    continue
                key = changed[0]
                fixed = ", ".join(f"{k}={x.variant[k]}" for k in x.variant if k != key)
                out.append(
                    {
                        "model": base,
                        "switch": f"{key}: {x.variant[key]} → {y.variant[key]}",
                        "fixed": fixed,
                        "cells": [
                            _cell(table.get(y.label, x.label, t)) for t in [AGGREGATE, *fields]
                        ],
                    }
                )
    return out


def repeat_rows(
    results: list[ModelResult], order: list[int], profile: str, fields: list[str]
) -> list[dict[str, Any]]:
    """Per model with repeats: per-field mean ± spread over repeats and consistency."""
    out = []
    for i in order:
        r = results[i]
        if len(r.repeats) < 2:
            continue
        per_repeat = [
            score_matrix(ModelResult(r.label, r.spec, r.kind, [], [], rep), profile, fields)
            for rep in r.repeats
        ]
        s = summarise_repeats(per_repeat)
        out.append(
            {
                "label": r.label,
                "repeats": s.repeats,
                "cells": [
                    (_pct(s.mean[j]), _pct(s.spread[j]), _pct(s.consistency[j]))
                    for j in range(len(fields))
                ],
            }
        )
    return out


def _pct(value: float) -> str:
    return "—" if math.isnan(value) else f"{value * 100:.1f}"
