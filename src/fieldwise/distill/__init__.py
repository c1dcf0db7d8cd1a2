"""Train from a model's labels: distil a teacher into a student, or migrate off a
retiring model, and measure what carried over.

- :func:`run_distill` (``fieldwise distill``): teachers label unlabeled rows, the labels
  are filtered, a student is trained on what is kept, and the report shows student,
  teacher and human gold per field: accuracy, agreement, inherited errors, and the effect
  of each filter.
- :func:`run_migrate` (``fieldwise migrate``): the retiring model's outputs on the corpus
  become training data for an open model; an equivalence test (TOST) says whether the
  replacement is equivalent, not shown equivalent, or worse.

Everything a model predicts here goes through the runner and store (resumable, priced),
and every trained model is cached by the rows it learned from.
"""

from __future__ import annotations

from fieldwise.distill.distill import DistillResult, DistillSettings, run_distill
from fieldwise.distill.migrate import MigrateResult, MigrateSettings, run_migrate

__all__ = [
    "DistillResult",
    "DistillSettings",
    "MigrateResult",
    "MigrateSettings",
    "run_distill",
    "run_migrate",
]
