"""``date``: both sides read as the same ISO ``YYYY-MM-DD`` date.

Spaces around the prediction are allowed; an invalid date (``2021-02-30``), another
format or a non-string scores 0, and an invalid gold date matches nothing. The same under
every profile.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from fieldwise.metrics._arrays import Gathered, objects
from fieldwise.metrics._base import LeafMetric, Policy

if TYPE_CHECKING:
    from fieldwise.tasks._task import FieldSpec

__all__ = ["Date", "iso_date", "iso_dates"]

_ISO = re.compile(r"\d{4}-\d{2}-\d{2}")
_UNMATCHABLE = object()
"""Stands for a gold value that is not a valid date: no prediction equals it."""


def iso_date(value: Any) -> str | None:
    """The canonical ``YYYY-MM-DD`` string, or ``None`` if ``value`` is not a valid date."""
    if isinstance(value, dt.date):
        return value.strftime("%Y-%m-%d")
    if type(value) is not str:
        return None
    text = value.strip()
    if not _ISO.fullmatch(text):
        return None
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return None
    return text


def iso_dates(values: np.ndarray) -> np.ndarray:
    """:func:`iso_date` of every value (``None`` where it is not a valid date)."""
    return objects(map(iso_date, values.tolist()), len(values))


class Date(LeafMetric):
    name: ClassVar[str] = "date"
    description: ClassVar[str] = "the same ISO YYYY-MM-DD date"
    cheap: ClassVar[bool] = True

    def prepare_gold(self, field: FieldSpec, values: list[Any], policy: Policy) -> Any:
        return objects(
            (d if (d := iso_date(v)) is not None else _UNMATCHABLE for v in values), len(values)
        )

    def score(self, field: FieldSpec, preds: np.ndarray, gold: Any, policy: Policy) -> np.ndarray:
        hit = preds == gold
        rows = np.flatnonzero(~hit)
        hit[rows] = [
            type(p) is str and iso_date(p) == g
            for p, g in zip(preds[rows].tolist(), gold[rows].tolist(), strict=True)
        ]
        return hit.astype(np.float64)  # type: ignore[no-any-return]

    def score_gathered(
        self, field: FieldSpec, preds: Gathered, gold: Any, policy: Policy
    ) -> np.ndarray:
        return (preds.per_value("iso", iso_dates) == gold).astype(np.float64)  # type: ignore[no-any-return]
