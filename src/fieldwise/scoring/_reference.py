"""The reference profile: reproduces the published ISAF numbers exactly.

The published evaluation's rules, per ``FieldSpec.metric``:

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
- ``number``: a JSON number (not a boolean) within the field's tolerance of gold.
- ``text_similarity``: normalised Levenshtein similarity of case-folded,
  whitespace-collapsed strings, in [0, 1].
- ``date``: the same ISO date as gold.
- ``ignore``: never scored.

A missing key, or a value of the wrong shape (a number where a list is due, a list of
lists that cannot form a set) scores 0. Labels are compared verbatim: no case folding,
no ``;`` splitting, no aliases: quirks count as errors, as they did when published.
"""

from __future__ import annotations

from itertools import repeat
from operator import is_not
from typing import Any

import numpy as np

from fieldwise.scoring._leaf import (
    date_hits,
    gathered_scores,
    iso_dates,
    number_scores,
    prepare_dates,
    prepare_numbers,
    prepare_texts,
    similarity_scores,
)
from fieldwise.scoring._profile import MISSING, Gathered, Profile, bools, objects, types_are
from fieldwise.tasks._task import FieldSpec

__all__ = ["ReferenceProfile", "as_set"]

_EMPTY: tuple[Any, ...] = (None, "", [], {})


_UNMATCHABLE: frozenset[Any] = frozenset({object()})
"""Stands for a gold set of the wrong shape: no prediction can equal or overlap it."""


def _is_int(values: np.ndarray) -> np.ndarray:
    return types_are(values, int)


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


def _recall(pred: frozenset[Any] | None, gold: frozenset[Any]) -> float:
    if pred is None:
        return 0.0
    if not gold:
        return 0.0 if pred else 1.0
    return len(pred & gold) / len(gold)


def _set_equal(pred: frozenset[Any] | None, gold: frozenset[Any]) -> float:
    return 1.0 if pred == gold else 0.0


class ReferenceProfile(Profile):
    """Scores exactly as the published ISAF comparison did (see module docstring).

    Each metric compares whole object-array columns (numpy runs Python ``==`` per cell
    in C); only cells that miss the fast path get a Python-level look.
    """

    name = "reference"
    description = "reproduces the published ISAF numbers (lenient: 1 == true, extras free)"
    accepts_fenced = False  # never: the published numbers read fenced outputs as invalid

    def prepare_gold(self, spec: FieldSpec, values: list[Any]) -> Any:
        n = len(values)
        if spec.metric in ("set_equal", "set_recall"):
            sets = [_UNMATCHABLE if s is None else s for s in map(as_set, values)]
            usable = bools(map(is_not, sets, repeat(_UNMATCHABLE)))
            return objects(values, n), sets, usable
        if spec.metric == "exact":
            ok = bools(v is not MISSING and v not in _EMPTY for v in values)
            return objects(values, n), ok
        if spec.metric == "number":
            return prepare_numbers(values)
        if spec.metric == "text_similarity":
            return prepare_texts(values)
        if spec.metric == "date":
            return prepare_dates(values)
        return objects(values, n)

    def score_gathered(self, spec: FieldSpec, preds: Gathered, gold: Any) -> np.ndarray:
        out = gathered_scores(spec, preds, gold)
        if out is not None:
            return out
        if spec.metric == "int_equal":
            is_int = preds.per_value(("type", int), _is_int)
            return ((preds.values() == gold) & is_int).astype(np.float64)
        if spec.metric == "date":
            return (preds.per_value("iso", iso_dates) == gold).astype(np.float64)
        return self.score_inside(spec, preds.values(), gold)  # the rest run in C anyway

    def score(self, spec: FieldSpec, preds: np.ndarray, gold: Any) -> np.ndarray:
        metric = spec.metric
        if metric == "equal":
            return (preds == gold).astype(np.float64)
        if metric == "int_equal":
            return ((preds == gold) & types_are(preds, int)).astype(np.float64)
        if metric == "exact":
            values, ok = gold
            return ((preds == values) & ok).astype(np.float64)
        if metric in ("set_equal", "set_recall"):
            raw, sets, usable = gold
            # Fast path in C: a prediction identical to a well-formed gold scores 1.
            out = ((preds == raw) & usable).astype(np.float64)
            score = _recall if metric == "set_recall" else _set_equal
            rows = np.flatnonzero(out == 0.0)
            out[rows] = [
                score(as_set(p), sets[i])
                for i, p in zip(rows.tolist(), preds[rows].tolist(), strict=True)
            ]
            return out
        if metric == "number":
            return number_scores(spec, preds, gold)
        if metric == "text_similarity":
            return similarity_scores(preds, gold)
        if metric == "date":
            return date_hits(preds, gold).astype(np.float64)
        if metric == "ignore":
            return np.full(len(preds), np.nan)
        raise ValueError(f"unknown reference metric {metric!r} for field {spec.name!r}")
