"""``equal`` and ``int_equal``: the prediction equals gold.

``equal`` verbatim is Python ``==`` after JSON parsing, so ``1 == true`` and ``1 ==
1.0``, as the published ISAF scorer did. Under a profile with ``strict_types`` the
prediction must also have the field's JSON type: an ``int`` field takes only integers, a
``bool`` field only booleans (and a gold value that is not a boolean matches nothing), a
label or text field is compared as normalised strings when the profile normalises.
``int_equal`` is always typed: only a JSON integer can score (``true``, ``1.0`` and
``"1"`` score 0).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from fieldwise.metrics._arrays import Gathered, objects, types_are
from fieldwise.metrics._base import LeafMetric, Policy
from fieldwise.metrics.exact import NormalisingMetric

if TYPE_CHECKING:
    from fieldwise.tasks._task import FieldSpec

_UNMATCHABLE = object()
"""Stands for a gold value of the wrong type: no prediction equals it."""

_JSON_TYPE: dict[str, type | tuple[type, ...]] = {
    "int": int,
    "bool": bool,
    "float": (int, float),
    "label": str,
    "text": str,
    "date": str,
    "label_set": list,
}


def _typed(values: np.ndarray, wanted: type | tuple[type, ...]) -> np.ndarray:
    """Elementwise: the exact JSON type is ``wanted`` (a bool is never an int)."""
    if isinstance(wanted, type):
        return types_are(values, wanted)
    kinds = objects(map(type, values), len(values))
    return np.logical_or.reduce([kinds == t for t in wanted])  # type: ignore[no-any-return]


class Equal(NormalisingMetric):
    name: ClassVar[str] = "equal"
    description: ClassVar[str] = "equal to gold (Python ==; typed under strict_types)"
    cheap: ClassVar[bool] = True

    def verbatim_gold(self, field: FieldSpec, values: list[Any], policy: Policy) -> Any:
        if policy.strict_types and field.kind == "bool":
            return objects((v if type(v) is bool else _UNMATCHABLE for v in values), len(values))
        return objects(values, len(values))

    def verbatim_hits(
        self, field: FieldSpec, preds: np.ndarray, gold: Any, policy: Policy
    ) -> np.ndarray:
        hit = preds == gold
        if policy.strict_types:
            hit &= _typed(preds, _JSON_TYPE[field.kind])
        return hit  # type: ignore[no-any-return]

    def verbatim_gathered(
        self, field: FieldSpec, preds: Gathered, gold: Any, policy: Policy
    ) -> np.ndarray:
        hit = preds.values() == gold
        if policy.strict_types:
            wanted = _JSON_TYPE[field.kind]
            hit &= preds.per_value(("type", wanted), lambda b: _typed(b, wanted))
        return hit  # type: ignore[no-any-return]


class IntEqual(LeafMetric):
    name: ClassVar[str] = "int_equal"
    description: ClassVar[str] = "a JSON integer equal to gold"
    cheap: ClassVar[bool] = True

    def score(self, field: FieldSpec, preds: np.ndarray, gold: Any, policy: Policy) -> np.ndarray:
        return ((preds == gold) & types_are(preds, int)).astype(np.float64)  # type: ignore[no-any-return]

    def score_gathered(
        self, field: FieldSpec, preds: Gathered, gold: Any, policy: Policy
    ) -> np.ndarray:
        is_int = preds.per_value(("type", int), lambda b: types_are(b, int))
        return ((preds.values() == gold) & is_int).astype(np.float64)  # type: ignore[no-any-return]
