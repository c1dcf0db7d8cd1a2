"""``object``, ``records`` and ``ignore``: the metrics that are structure, not comparison.

An ``object`` field scores the mean of its scored children and a ``records`` field aligns
gold and predicted records one-to-one and scores their soft F1 (``scoring/_nested.py``,
rules in docs/nested-schemas.md); ``ignore`` is never scored. They are registered like
any metric so that a schema names them the same way and a typo gets the same error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from pydantic import field_validator

from fieldwise.errors import UserError
from fieldwise.metrics._base import LEAF_KINDS, LeafMetric, MetricParams

if TYPE_CHECKING:
    from fieldwise.tasks._task import FieldSpec

__all__ = ["Ignore", "ObjectMetric", "RecordsMetric"]


class ObjectMetric(LeafMetric):
    name: ClassVar[str] = "object"
    kinds: ClassVar[tuple[str, ...]] = ("object",)
    description: ClassVar[str] = "a nested model: the mean of its scored children"
    nested: ClassVar[bool] = True


class RecordsMetric(LeafMetric):
    name: ClassVar[str] = "records"
    kinds: ClassVar[tuple[str, ...]] = ("records",)
    description: ClassVar[str] = "a list of models: aligned one-to-one, then soft F1"
    nested: ClassVar[bool] = True

    class Params(MetricParams):
        key: tuple[str, ...] = ()
        """Leaves (paths relative to the record) that must be exactly equal for two
        records to be aligned."""
        match_threshold: float = 0.5
        """Pairs less similar than this are never aligned (a pair exactly at it is)."""

        @field_validator("match_threshold")
        @classmethod
        def _in_unit(cls, value: float) -> float:
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"match_threshold must be in [0, 1], got {value}")
            return value

    def check(self, field: FieldSpec) -> None:
        """A key must name a leaf of the record itself (relative path, not under a list)."""
        for key in self.params.key:
            node = field
            for part in key.split("."):
                try:
                    node = node.child(part)
                except KeyError:
                    raise UserError(f"key '{key}' is not a field of its records") from None
                if node.kind == "records":
                    break
            if not node.is_leaf:
                raise UserError(f"key '{key}' must name a leaf, not a {node.kind}")


class Ignore(LeafMetric):
    name: ClassVar[str] = "ignore"
    kinds: ClassVar[tuple[str, ...]] = (*LEAF_KINDS, "object", "records")
    description: ClassVar[str] = "shown, never scored"
    nested: ClassVar[bool] = True
