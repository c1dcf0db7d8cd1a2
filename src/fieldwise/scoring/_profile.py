"""What a scoring profile is: a policy that every field's metric scores under.

A profile scores nothing itself. Each field's :class:`~fieldwise.tasks.Metric` (a
registered :class:`~fieldwise.metrics.LeafMetric`) does, a whole column per call; the
profile says how: whether labels are normalised, whether a value must have the field's
JSON type, whether a top-level ``null``/``"unknown"`` is an abstention, and which of the
lenient equality metrics it re-reads by the field's kind. A new metric therefore works
under every profile, and a profile that cannot score a task's metric says so when the
task meets it (:meth:`Profile.check`), never by falling back to some other rule.

Gold values are prepared once per field and profile, and reused for every model.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from fieldwise.errors import UserError
from fieldwise.metrics import LeafMetric
from fieldwise.metrics._arrays import (
    MISSING,
    Gathered,
    Memo,
    bools,
    gather,
    is_null,
    objects,
    types_are,
)
from fieldwise.tasks._task import FieldSpec, Metric, Task

__all__ = [
    "MISSING",
    "Gathered",
    "Memo",
    "Profile",
    "bools",
    "gather",
    "is_abstention",
    "is_null",
    "nulls_are_values",
    "objects",
    "types_are",
]


def is_abstention(value: Any) -> bool:
    """``null`` or ``"unknown"`` (any case, any surrounding spaces)."""
    return value is None or (type(value) is str and value.strip().lower() == "unknown")


def nulls_are_values(out: np.ndarray, preds: np.ndarray, gold_null: np.ndarray) -> np.ndarray:
    """Score ``null`` as a value where gold is ``null``: 1 for a ``null`` prediction, else 0.

    Applied after a profile's own metric, so it overrides both a strict abstention and a
    metric (``exact``) that would refuse an empty gold value.
    """
    if gold_null.any():
        out[gold_null] = is_null(preds[gold_null])
    return out


class Profile:
    """A way of scoring every field of a task: policy only (see the module docstring).

    Subclass it and set the policy attributes, then register it (``register_profile``).
    ``score`` returns one float per row: 1.0 right, 0.0 wrong, partial credit in between,
    or NaN for an abstention (neither right nor wrong). ``preds`` is a 1-D object array of
    the predicted value per row, :data:`MISSING` where the key was absent or the output
    did not parse; ``gold`` is whatever ``prepare_gold`` returned for that field. Scoring
    never raises on a prediction: any JSON value is data to score.
    """

    name: ClassVar[str]
    description: ClassVar[str] = ""
    accepts_fenced: ClassVar[bool] = False
    """Whether this profile scores the object inside a fenced output (```` ```json ``` ````)
    when the user opts in with ``strip_fences``; otherwise such an output is unparseable."""
    normalise: ClassVar[bool] = False
    """Labels compared after normalisation (case, spaces, ``;`` splits, aliases)."""
    strict_types: ClassVar[bool] = False
    """A value must have the field's JSON type (``1`` is not ``true``)."""
    abstain: ClassVar[bool] = False
    """A top-level ``null`` or ``"unknown"`` that is not right is an abstention (NaN)."""
    require_grounding: bool = False
    """A value of a ``required``-grounding field that the aligner cannot find in the text
    is an abstention (docs/trust.md). On in the profile ``<name>+grounding``
    (``strict+grounding``), which :func:`~fieldwise.scoring.get_profile` derives."""
    by_kind: ClassVar[Mapping[str, Metric]] = {}
    """Field kind → the metric used instead of a declared one in :attr:`rereads`."""
    rereads: ClassVar[frozenset[str]] = frozenset()
    """Declared metrics this profile does not take at their word, scoring the field by
    its kind (:attr:`by_kind`) instead."""
    metrics: ClassVar[frozenset[str] | None] = None
    """The metrics this profile can score (``None``: every registered one). A subclass
    that overrides :meth:`score` for some metrics only must list them here, so that any
    other is an error when the task meets the profile."""

    _scores_itself: ClassVar[bool] = False
    """A subclass written the older way, with its own :meth:`score`: its gold stays as
    given unless it prepares it, and nested leaves go through its ``score`` too."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._scores_itself = cls.score is not Profile.score

    def metric(self, spec: FieldSpec) -> LeafMetric:
        """The metric object that scores ``spec`` under this profile."""
        declared = spec.metric
        if declared.name in self.rereads:
            declared = self.by_kind.get(spec.kind, declared)
        scorer: LeafMetric = declared.scorer()
        return scorer

    def check(self, task: Task) -> None:
        """Refuse a task with a field this profile cannot score (one line naming it)."""
        if self.metrics is None:
            return
        for spec in task.leaves():
            name = self.metric(spec).name
            if name not in self.metrics:
                raise UserError(
                    f"scoring profile '{self.name}' cannot score field '{spec.path}' "
                    f"(metric '{name}')",
                    hint=f"it scores {', '.join(sorted(self.metrics))}",
                )

    def fields(self, task: Task) -> tuple[FieldSpec, ...]:
        """The fields this profile scores; by default every field not marked ``ignore``."""
        return task.scored_fields

    def abstains(self, preds: np.ndarray) -> np.ndarray | None:
        """Which top-level predictions are abstentions (neither right nor wrong), or ``None``
        when this profile has no abstention. Used for ``object`` and ``records`` fields,
        whose leaf metrics cannot say it; inside a nested value ``null`` is always a value.
        """
        return bools(map(is_abstention, preds.tolist())) if self.abstain else None

    def prepare_gold(self, spec: FieldSpec, values: list[Any]) -> Any:
        """Precompute whatever ``score`` needs from one gold column."""
        if self._scores_itself:
            return values
        return self.metric(spec).prepare_gold(spec, values, self)

    def score(self, spec: FieldSpec, preds: np.ndarray, gold: Any) -> np.ndarray:
        """Score one top-level column; returns a float64 array of ``len(preds)``."""
        out = self.metric(spec).score(spec, preds, gold, self)
        if self.abstain:  # a right answer is never an abstention: only misses need a look
            rows = np.flatnonzero(out < 1.0)
            pairs = zip(rows.tolist(), preds[rows].tolist(), strict=True)
            out[[i for i, p in pairs if is_abstention(p)]] = np.nan
        return out

    def score_inside(self, spec: FieldSpec, preds: np.ndarray, gold: Any) -> np.ndarray:
        """Score a column of leaves inside nested values, where there is no abstention
        (``null`` is a value there, see docs/nested-schemas.md)."""
        if self._scores_itself:
            out = self.score(spec, preds, gold)
        else:
            out = self.metric(spec).score(spec, preds, gold, self)
        return np.nan_to_num(out, copy=False, nan=0.0)

    def score_gathered(self, spec: FieldSpec, preds: Gathered, gold: Any) -> np.ndarray:
        """:meth:`score_inside` over record pairs, per-value work once per predicted value."""
        if self._scores_itself:
            return self.score_inside(spec, preds.values(), gold)
        out = self.metric(spec).score_gathered(spec, preds, gold, self)
        return np.nan_to_num(out, copy=False, nan=0.0)
