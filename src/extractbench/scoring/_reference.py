"""The reference profile: reproduces the published ISAF numbers exactly.

Rules (from the published evaluation; see ``/docs`` and ``FieldSpec.metric``):

- ``exact``: 1 if the prediction is non-empty and equals gold.
- ``set_equal``: a bare string counts as a one-element list; 1 if the sets are equal.
- ``set_recall``: |pred ∩ gold| / |gold|; extra predictions cost nothing. When the gold
  set is empty (never the case in the published data, where "none" is ``[""]``) there is
  nothing to recall, so the score falls back to set equality: 1 only if the prediction is
  empty too. A vacuous 1.0 would hand every model a free point.
- ``equal``: Python ``==`` after JSON parsing, so ``1 == true`` and ``1 == 1.0``.
- ``int_equal``: like ``equal`` but only a JSON integer can score. JSON ``true`` is a
  boolean, not a count, so a bool prediction scores 0 here even though Python's
  ``True == 1``; floats (``1.0``) and strings (``"1"``) score 0 too.
- ``ignore``: never scored.

A missing key, or a value of the wrong shape (a number where a list is due, a list of
lists that cannot form a set) scores 0. Labels are compared verbatim: no case folding,
no ``;`` splitting, no aliases: quirks count as errors, as they did when published.
"""

from __future__ import annotations

from operator import eq
from typing import Any

import numpy as np

from extractbench.scoring._profile import MISSING, Profile
from extractbench.tasks._task import FieldSpec

__all__ = ["ReferenceProfile", "as_set"]

_EMPTY = (None, "", [], {})


def as_set(value: Any) -> frozenset[Any] | None:
    """A bare string as a one-element set, a list of hashables as a set, else ``None``."""
    if type(value) is str:
        return frozenset((value,))
    if type(value) is list:
        try:
            return frozenset(value)
        except TypeError:
            return None
    return None


def _recall(pred: frozenset[Any] | None, gold: frozenset[Any] | None) -> float:
    if pred is None or gold is None:
        return 0.0
    if not gold:
        return 0.0 if pred else 1.0
    return len(pred & gold) / len(gold)


class ReferenceProfile(Profile):
    """Scores exactly as the published ISAF comparison did (see module docstring)."""

    name = "reference"
    description = "reproduces the published ISAF numbers (lenient: 1 == true, extras free)"

    def prepare_gold(self, spec: FieldSpec, values: list[Any]) -> Any:
        if spec.metric in ("set_equal", "set_recall"):
            return [as_set(v) for v in values]
        if spec.metric == "exact":
            ok = np.array([v is not MISSING and v not in _EMPTY for v in values], dtype=bool)
            return values, ok
        return values

    def score(self, spec: FieldSpec, preds: list[Any], gold: Any) -> np.ndarray:
        metric = spec.metric
        n = len(preds)
        if metric == "equal":
            return np.fromiter(map(eq, preds, gold), dtype=np.float64, count=n)
        if metric == "int_equal":
            return np.fromiter(
                [type(p) is int and p == g for p, g in zip(preds, gold, strict=True)],
                dtype=np.float64,
                count=n,
            )
        if metric == "exact":
            values, ok = gold
            hit = np.fromiter(map(eq, preds, values), dtype=bool, count=n)
            return (hit & ok).astype(np.float64)
        if metric == "set_equal":
            sets = [as_set(p) for p in preds]
            return np.fromiter(
                [p is not None and p == g for p, g in zip(sets, gold, strict=True)],
                dtype=np.float64,
                count=n,
            )
        if metric == "set_recall":
            return np.fromiter(map(_recall, map(as_set, preds), gold), dtype=np.float64, count=n)
        if metric == "ignore":
            return np.full(n, np.nan)
        raise ValueError(f"unknown reference metric {metric!r} for field {spec.name!r}")
