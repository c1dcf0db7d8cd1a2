"""Label sets: ``set_equal``, ``set_recall`` and ``set_f1``.

A bare string counts as a one-element set. Verbatim (the reference profile) the labels
are compared as written; under a profile that normalises, both sides go through the
field's label normaliser: case and spaces, ``;``-joined labels split, aliases and
space/hyphen/underscore variants of the schema's labels, empty labels dropped (so
``[""]`` equals ``[]``). A value of the wrong shape (a number, a list of lists, a
non-string label when normalising) scores 0.

- ``set_equal``: 1 if the sets are equal.
- ``set_recall``: |pred ∩ gold| / |gold|; extra predictions cost nothing. When the gold
  set is empty there is nothing to recall, so it falls back to set equality (a vacuous 1.0
  would hand every model a free point).
- ``set_f1``: 2 |pred ∩ gold| / (|pred| + |gold|): over-prediction costs; both empty = 1.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import repeat
from operator import is_not
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from fieldwise.metrics._arrays import bools, objects
from fieldwise.metrics._base import LeafMetric, Policy
from fieldwise.metrics._labels import normaliser

if TYPE_CHECKING:
    from fieldwise.tasks._task import FieldSpec

__all__ = ["SetEqual", "SetF1", "SetRecall", "as_set"]

Labels = frozenset[Any]

_UNMATCHABLE: Labels = frozenset({object()})
"""Stands for a gold set of the wrong shape: no prediction can equal or overlap it."""


def as_set(value: Any) -> Labels | None:
    """A bare string as a one-element set, a list of hashables as a set, else ``None``."""
    if type(value) is str:
        return frozenset((value,))
    if type(value) is list:
        try:
            return frozenset(value)
        except TypeError:
            return None
    return None


def _reader(field: FieldSpec, policy: Policy) -> Callable[[Any], Labels | None]:
    return normaliser(field).many_cached if policy.normalise else as_set


class _SetMetric(LeafMetric):
    """Shared by the three: gold read into sets once, a fast path for identical values."""

    @staticmethod
    def compare(pred: Labels | None, gold: Labels) -> float:
        raise NotImplementedError

    def prepare_gold(self, field: FieldSpec, values: list[Any], policy: Policy) -> Any:
        read = _reader(field, policy)
        sets = [_UNMATCHABLE if s is None else s for s in map(read, values)]
        usable = bools(map(is_not, sets, repeat(_UNMATCHABLE)))
        return objects(values, len(values)), objects(sets, len(sets)), usable

    def score(self, field: FieldSpec, preds: np.ndarray, gold: Any, policy: Policy) -> np.ndarray:
        raw, sets, usable = gold
        # Fast path in C: a prediction identical to a well-formed gold value scores 1.
        out = ((preds == raw) & usable).astype(np.float64)
        read, compare = _reader(field, policy), self.compare
        rows = np.flatnonzero(out == 0.0)
        out[rows] = [
            compare(read(p), g)
            for p, g in zip(preds[rows].tolist(), sets[rows].tolist(), strict=True)
        ]
        return out  # type: ignore[no-any-return]

    def score_value(self, field: FieldSpec, pred: Any, gold: Any, policy: Policy) -> float:
        read = _reader(field, policy)
        gold_set = read(gold)
        return self.compare(read(pred), _UNMATCHABLE if gold_set is None else gold_set)


class SetEqual(_SetMetric):
    name: ClassVar[str] = "set_equal"
    description: ClassVar[str] = "the same set of labels"

    @staticmethod
    def compare(pred: Labels | None, gold: Labels) -> float:
        return 1.0 if pred == gold else 0.0


class SetRecall(_SetMetric):
    name: ClassVar[str] = "set_recall"
    description: ClassVar[str] = "share of gold labels predicted (extras are free)"

    @staticmethod
    def compare(pred: Labels | None, gold: Labels) -> float:
        if pred is None:
            return 0.0
        if not gold:
            return 0.0 if pred else 1.0
        return len(pred & gold) / len(gold)


class SetF1(_SetMetric):
    name: ClassVar[str] = "set_f1"
    description: ClassVar[str] = "F1 of the label sets (extras cost)"

    @staticmethod
    def compare(pred: Labels | None, gold: Labels) -> float:
        if pred is None:
            return 0.0
        if not pred and not gold:
            return 1.0
        return 2.0 * len(pred & gold) / (len(pred) + len(gold))
