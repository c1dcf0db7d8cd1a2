"""What a student learned from its teacher, field by field.

On rows with human gold, for each scored top-level field:

- **accuracy** of teacher and student: the field's score against gold (the profile's
  metric), with the usual bootstrap intervals;
- **agreement**: the student's answer scored against the teacher's (as if the teacher
  were gold), averaged over the rows where the teacher's answer loads as a label;
- **inherited-error rate**: the share of rows where the teacher is wrong (score < 1
  against gold) *and* the student gives the teacher's answer (agreement 1): the student
  wrong exactly where, and exactly how, the teacher was. Its denominator is every row
  scored on that field, so it reads like an error rate and is at most the teacher's.

Rows where a field has no gold, or the teacher's answer is not a label, are left out of
that field's rates (the counts say how many were used).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fieldwise.scoring import ModelScore, prepare_golds, score_outputs
from fieldwise.scoring.stats import Resamples
from fieldwise.tasks import Example, Task

__all__ = ["Measures", "measure", "teacher_golds"]


@dataclass
class Measures:
    """One student against its teacher on the gold rows."""

    fields: list[str]
    agreement: dict[str, float]
    inherited: dict[str, float]
    rows: dict[str, int]
    """Per field: rows that had gold and a valid teacher label (the rates' denominator)."""
    agreement_all: float = math.nan
    """Rows where the student agrees with the teacher on every field."""
    extra: dict[str, Any] = field(default_factory=dict)


def teacher_golds(
    task: Task, examples: list[Example], outputs: list[str | None]
) -> list[dict[str, Any] | None]:
    """Each output loaded as a gold label of ``task`` (``None`` where it does not load:
    not JSON, a scored field missing, a value of the wrong type)."""
    from fieldwise.data.loading import row_to_example
    from fieldwise.errors import UserError
    from fieldwise.scoring.parse import parse_status

    out: list[dict[str, Any] | None] = []
    for i, (ex, raw) in enumerate(zip(examples, outputs, strict=True)):
        status, value = parse_status(raw)
        if status != "ok" or value is None:
            out.append(None)
            continue
        row = {**value, task.id_column: ex.id, task.text_column: ex.text}
        try:
            label = row_to_example(task, row, f"label of {ex.id}", i).gold
        except UserError:
            label = None
        out.append(label)
    return out


def score(
    task: Task,
    gold: list[Example],
    outputs: list[str | None],
    profile: str,
    resamples: Resamples,
) -> ModelScore:
    table = prepare_golds(task, [ex.gold or {} for ex in gold])
    return score_outputs(task, table, outputs, (profile,), resamples=resamples)[profile]


def measure(
    task: Task,
    gold: list[Example],
    teacher_outputs: list[str | None],
    student_outputs: list[str | None],
    teacher_score: ModelScore,
    profile: str,
) -> Measures:
    """Agreement and inherited errors of the student (see the module docstring)."""
    labels = teacher_golds(task, gold, teacher_outputs)
    valid = np.array([g is not None for g in labels])
    names = teacher_score.field_names
    agree = np.full((len(gold), len(names)), np.nan)
    if valid.any():
        idx = np.flatnonzero(valid)
        table = prepare_golds(task, [labels[i] or {} for i in idx])
        scored = score_outputs(
            task, table, [student_outputs[i] for i in idx], (profile,), n_boot=0
        )[profile]
        agree[idx] = _by_field(scored, names)
    right = teacher_score.per_row
    both = ~np.isnan(agree) & ~np.isnan(right)
    teacher_wrong = np.where(both, right < 1.0, False)
    copies = np.where(both, agree >= 1.0, False)
    out = Measures(names, {}, {}, {})
    for j, name in enumerate(names):
        n = int(both[:, j].sum())
        out.rows[name] = n
        defined = ~np.isnan(agree[:, j])
        out.agreement[name] = float(agree[defined, j].mean()) if defined.any() else math.nan
        out.inherited[name] = (
            float((teacher_wrong[:, j] & copies[:, j]).sum() / n) if n else math.nan
        )
    full = ~np.isnan(agree).all(axis=1)
    if full.any():
        out.agreement_all = float(np.all(np.nan_to_num(agree[full], nan=1.0) >= 1.0, axis=1).mean())
    return out


def _by_field(scored: ModelScore, names: list[str]) -> np.ndarray:
    """``scored.per_row`` with its columns in the order of ``names``."""
    col = {n: j for j, n in enumerate(scored.field_names)}
    return np.column_stack([scored.per_row[:, col[n]] for n in names])
