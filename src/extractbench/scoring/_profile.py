"""What a scoring profile is: per-field, column-at-a-time scoring of predictions vs gold.

A profile scores one whole column (one field, every row) per call rather than one cell:
that keeps per-call overhead out of the inner loop, so scoring 10 models x 724 rows
costs about as much as parsing their outputs. Gold values are prepared once per field
(e.g. turned into frozensets) and reused for every model.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar, Final

import numpy as np

from extractbench.tasks._task import FieldSpec, Task

__all__ = ["MISSING", "Profile"]


class _Missing:
    """Sentinel for a key absent from a prediction (or gold) object."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"

    def __reduce__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()
"""Stands for "no such key": never equal to any JSON value."""


class Profile(ABC):
    """A way of scoring every field of a task.

    ``score`` returns one float per row: 1.0 right, 0.0 wrong, partial credit in between,
    or NaN for an abstention (neither right nor wrong). ``preds`` holds the predicted
    value per row, :data:`MISSING` where the key was absent or the output did not parse;
    ``gold`` is whatever ``prepare_gold`` returned for that field.
    """

    name: ClassVar[str]
    description: ClassVar[str] = ""

    def fields(self, task: Task) -> tuple[FieldSpec, ...]:
        """The fields this profile scores; by default every field not marked ``ignore``."""
        return task.scored_fields

    def prepare_gold(self, spec: FieldSpec, values: list[Any]) -> Any:
        """Precompute whatever ``score`` needs from one gold column (default: as is)."""
        return values

    @abstractmethod
    def score(self, spec: FieldSpec, preds: list[Any], gold: Any) -> np.ndarray:
        """Score one column; returns a float64 array of ``len(preds)``."""
