"""``exact``: the prediction is non-empty and equals gold.

Verbatim (the reference profile) it is Python ``==`` on the JSON values. Under a profile
that normalises, a label or text field compares the normalised strings instead (case,
spaces, ``;``, the field's aliases); an empty gold text still matches nothing, while a
label may be the empty label.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from fieldwise.metrics._arrays import MISSING, Gathered, bools, not_null, objects
from fieldwise.metrics._base import LeafMetric, Policy
from fieldwise.metrics._labels import normaliser

if TYPE_CHECKING:
    from fieldwise.tasks._task import FieldSpec

_EMPTY: tuple[Any, ...] = (None, "", [], {})
_TEXTUAL = frozenset({"label", "text"})


def normalises(field: FieldSpec, policy: Policy) -> bool:
    """Whether ``policy`` compares this field's values as normalised labels."""
    return policy.normalise and field.kind in _TEXTUAL


def normalised_golds(field: FieldSpec, values: list[Any]) -> np.ndarray:
    """Gold labels/texts normalised (``None``: not a string, or an empty text)."""
    one = normaliser(field).one_cached
    keys = (one(v) for v in values)
    if field.kind == "text":
        keys = (k or None for k in keys)
    return objects(keys, len(values))


def normalised_hits(field: FieldSpec, preds: np.ndarray, gold: np.ndarray) -> np.ndarray:
    """Where the normalised prediction equals the (normalised, non-null) gold."""
    one = normaliser(field).one_cached
    return (objects(map(one, preds.tolist()), len(preds)) == gold) & not_null(gold)


def normalised_gathered(field: FieldSpec, preds: Gathered, gold: np.ndarray) -> np.ndarray:
    """:func:`normalised_hits` over record pairs, each predicted value normalised once."""
    one = normaliser(field).one_cached
    key = ("norm", field.labels, tuple(sorted(field.aliases.items())))
    normed = preds.per_value(key, lambda b: objects(map(one, b.tolist()), len(b)))
    return (normed == gold) & not_null(gold)  # type: ignore[no-any-return]


class NormalisingMetric(LeafMetric):
    """A metric that, under a profile that normalises, compares a label or text field as
    normalised strings, and otherwise as its subclass says (the ``verbatim_`` methods)."""

    def prepare_gold(self, field: FieldSpec, values: list[Any], policy: Policy) -> Any:
        if normalises(field, policy):
            return normalised_golds(field, values)
        return self.verbatim_gold(field, values, policy)

    def score(self, field: FieldSpec, preds: np.ndarray, gold: Any, policy: Policy) -> np.ndarray:
        if normalises(field, policy):
            return normalised_hits(field, preds, gold).astype(np.float64)
        return self.verbatim_hits(field, preds, gold, policy).astype(np.float64)

    def score_gathered(
        self, field: FieldSpec, preds: Gathered, gold: Any, policy: Policy
    ) -> np.ndarray:
        if normalises(field, policy):
            return normalised_gathered(field, preds, gold).astype(np.float64)
        return self.verbatim_gathered(field, preds, gold, policy).astype(np.float64)

    def verbatim_gold(self, field: FieldSpec, values: list[Any], policy: Policy) -> Any:
        return objects(values, len(values))

    def verbatim_hits(
        self, field: FieldSpec, preds: np.ndarray, gold: Any, policy: Policy
    ) -> np.ndarray:
        raise NotImplementedError

    def verbatim_gathered(
        self, field: FieldSpec, preds: Gathered, gold: Any, policy: Policy
    ) -> np.ndarray:
        return self.verbatim_hits(field, preds.values(), gold, policy)


class Exact(NormalisingMetric):
    name: ClassVar[str] = "exact"
    description: ClassVar[str] = "non-empty and equal to gold"
    cheap: ClassVar[bool] = True

    def verbatim_gold(self, field: FieldSpec, values: list[Any], policy: Policy) -> Any:
        ok = bools(v is not MISSING and v not in _EMPTY for v in values)
        return objects(values, len(values)), ok

    def verbatim_hits(
        self, field: FieldSpec, preds: np.ndarray, gold: Any, policy: Policy
    ) -> np.ndarray:
        values, ok = gold
        return (preds == values) & ok  # type: ignore[no-any-return]
