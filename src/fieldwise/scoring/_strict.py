"""The strict profile: what a careful reader of the output would accept.

Where the reference profile is lenient (``1 == true``, extra labels free, spelling quirks
fatal), this one normalises labels on both sides, scores label sets by F1 so
over-prediction costs, checks types, and lets a model abstain.

- Label sets: lowercase/strip, ``;`` splits, the field's aliases and space/hyphen/underscore
  variants of enum labels; empty labels dropped (so ``[""]`` == ``[]``); F1 of the two
  sets, 1 when both are empty. A non-list/non-string, or a non-string element, scores 0.
- ``int``: a real JSON integer (not ``true``, not ``1.0``, not ``"1"``) equal to gold.
- ``bool``: a real JSON boolean equal to gold.
- ``float``: any JSON number (not a boolean) within 1e-6 relative tolerance of gold.
- ``date``: a valid ISO ``YYYY-MM-DD`` string (surrounding spaces allowed) equal to gold.
- Fields whose metric is ``number``, ``text_similarity`` or ``date`` are scored by that
  metric (they carry the schema's own tolerances), with abstention as below.
- ``label`` / ``text``: a string equal to gold after the same normalisation (non-empty).
- Abstention: JSON ``null`` or the string ``"unknown"`` scores NaN: neither right nor
  wrong; it lowers ``coverage`` instead. A missing key, or an output that did not parse
  at all, is not an abstention and scores 0.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from fieldwise.scoring._labels import LabelNormaliser, normaliser
from fieldwise.scoring._leaf import (
    date_hits,
    gathered_scores,
    is_null,
    iso_date,
    iso_dates,
    not_null,
    number_scores,
    prepare_dates,
    prepare_numbers,
    prepare_texts,
    similarity_scores,
)
from fieldwise.scoring._profile import Gathered, Profile, bools, objects, types_are
from fieldwise.tasks._task import FieldSpec

__all__ = ["StrictProfile", "is_abstention", "iso_date"]

NAN = math.nan


def is_abstention(value: Any) -> bool:
    """``null`` or ``"unknown"`` (any case, any surrounding spaces)."""
    return value is None or (type(value) is str and value.strip().lower() == "unknown")


_UNMATCHABLE = object()
"""Stands for a gold value of the wrong type: no prediction equals it."""


def _f1(pred: frozenset[str] | None, gold: frozenset[str] | None) -> float:
    if pred is None or gold is None:
        return 0.0
    if not pred and not gold:
        return 1.0
    return 2.0 * len(pred & gold) / (len(pred) + len(gold))


def _text(norm: LabelNormaliser, value: Any) -> str | None:
    return norm.one(value) if type(value) is str else None


def _abstentions(preds: np.ndarray, rows: np.ndarray) -> list[int]:
    """Which of ``rows`` abstained: ``null``, or a string reading "unknown"."""
    return [
        i
        for i, p in zip(rows.tolist(), preds[rows].tolist(), strict=True)
        if p is None or (type(p) is str and p.strip().lower() == "unknown")
    ]


class StrictProfile(Profile):
    """Normalised labels, F1 for sets, type checks, and abstention (see module docstring)."""

    name = "strict"
    description = "normalised labels, set F1, type checks; null/'unknown' = abstain"
    accepts_fenced = True  # with strip_fences: a careful reader would strip the fence

    def abstains(self, preds: np.ndarray) -> np.ndarray | None:
        return bools(map(is_abstention, preds.tolist()))

    def prepare_gold(self, spec: FieldSpec, values: list[Any]) -> Any:
        kind, n = spec.kind, len(values)
        if spec.metric == "number":
            return prepare_numbers(values)
        if spec.metric == "text_similarity":
            return prepare_texts(values)
        if kind == "date" or spec.metric == "date":
            return prepare_dates(values)
        if kind == "label_set":
            many = normaliser(spec).many_cached
            sets = [many(v) for v in values]
            usable = bools(
                s is not None and not (type(v) is str and is_abstention(v))
                for s, v in zip(sets, values, strict=True)
            )
            return objects(values, n), sets, usable
        if kind == "bool":
            return objects((v if type(v) is bool else _UNMATCHABLE for v in values), n)
        if kind == "label":
            norm = normaliser(spec)
            return [_text(norm, v) for v in values]
        if kind == "text":  # an empty gold text cannot be matched (as in ``exact``)
            norm = normaliser(spec)
            return [_text(norm, v) or None for v in values]
        return objects(values, n)

    def score(self, spec: FieldSpec, preds: np.ndarray, gold: Any) -> np.ndarray:
        return self._score(spec, preds, gold, abstain=True)

    def score_inside(self, spec: FieldSpec, preds: np.ndarray, gold: Any) -> np.ndarray:
        return self._score(spec, preds, gold, abstain=False)

    def score_gathered(self, spec: FieldSpec, preds: Gathered, gold: Any) -> np.ndarray:
        out = gathered_scores(spec, preds, gold)
        if out is not None:
            return out
        kind = "date" if spec.metric == "date" else spec.kind
        if kind in ("int", "bool"):
            exact = int if kind == "int" else bool
            is_kind = preds.per_value(("type", exact), lambda b: types_are(b, exact))
            return ((preds.values() == gold) & is_kind).astype(np.float64)
        if kind == "date":
            return (preds.per_value("iso", iso_dates) == gold).astype(np.float64)
        if kind in ("label", "text"):
            one = normaliser(spec).one_cached
            key = ("norm", spec.labels, tuple(sorted(spec.aliases.items())))
            normed = preds.per_value(key, lambda b: objects(map(one, b.tolist()), len(b)))
            return ((normed == gold) & not_null(gold)).astype(np.float64)
        return self.score_inside(spec, preds.values(), gold)

    def _score(self, spec: FieldSpec, preds: np.ndarray, gold: Any, abstain: bool) -> np.ndarray:
        kind = spec.kind
        if spec.metric in ("number", "text_similarity"):
            if spec.metric == "number":
                out = number_scores(spec, preds, gold)
            else:
                out = similarity_scores(preds, gold)
            if abstain:
                out[_abstentions(preds, np.flatnonzero(out < 1.0))] = np.nan
            return out
        if spec.metric == "date":
            kind = "date"
        if kind == "label_set":
            return self._label_sets(spec, preds, gold, abstain)
        if kind == "int":
            hit = (preds == gold) & types_are(preds, int)
        elif kind == "bool":
            hit = (preds == gold) & types_are(preds, bool)
        elif kind == "date":  # e.g. " 2013-01-24 ": valid once stripped
            hit = date_hits(preds, gold)
        elif kind == "float":
            hit = bools(map(_close, preds, gold))
        else:  # label, text
            one = normaliser(spec).one_cached
            n = len(preds)
            golds = gold if isinstance(gold, np.ndarray) else objects(gold, n)
            hit = (objects(map(one, preds.tolist()), n) == golds) & ~is_null(golds)
        out = hit.astype(np.float64)
        if abstain:  # a right answer is never an abstention: only the misses need a look
            out[_abstentions(preds, np.flatnonzero(~hit))] = np.nan
        return out

    @staticmethod
    def _label_sets(spec: FieldSpec, preds: np.ndarray, gold: Any, abstain: bool) -> np.ndarray:
        raw, sets, usable = gold
        # Fast path in C: a prediction identical to a well-formed gold value scores 1.
        out = ((preds == raw) & usable).astype(np.float64)
        many = normaliser(spec).many_cached
        rows = np.flatnonzero(out == 0.0)
        out[rows] = [
            NAN
            if abstain and (p is None or (type(p) is str and p.strip().lower() == "unknown"))
            else _f1(many(p), sets[i])
            for i, p in zip(rows.tolist(), preds[rows].tolist(), strict=True)
        ]
        return out


def _close(pred: Any, gold: Any) -> bool:
    if type(pred) not in (int, float) or type(gold) not in (int, float):
        return False
    return math.isclose(pred, gold, rel_tol=1e-6, abs_tol=1e-9)
