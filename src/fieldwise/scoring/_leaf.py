"""Leaf metrics shared by every profile: ``number``, ``text_similarity`` and ``date``.

Each works on a whole column like the rest of scoring: gold is prepared once (normalised
strings, canonical dates), then every prediction is compared against it. A prediction of
the wrong JSON type scores 0; none of them ever raises on a model's output.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

import numpy as np
from rapidfuzz.distance import Levenshtein

from fieldwise.scoring._profile import bools, objects, types_are
from fieldwise.tasks._task import FieldSpec

__all__ = [
    "is_null",
    "iso_date",
    "nulls_are_values",
    "number_scores",
    "prepare_dates",
    "prepare_texts",
    "similarity_scores",
    "text_key",
]

_ISO = re.compile(r"\d{4}-\d{2}-\d{2}")
_NUMBER = (int, float)
_UNMATCHABLE = object()
"""Stands for a gold value of the wrong type: no prediction equals it."""


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


def text_key(value: Any) -> str | None:
    """Case-folded with whitespace runs collapsed; ``None`` for a non-string."""
    return " ".join(value.casefold().split()) if type(value) is str else None


def number_scores(spec: FieldSpec, preds: np.ndarray, gold: np.ndarray) -> np.ndarray:
    """1 where a JSON number (not a boolean) is within the field's tolerance of gold.

    Tolerance is ``math.isclose``'s: ``|p - g| <= max(rel * max(|p|, |g|), abs)``, so with
    neither set a number must equal gold (``3 == 3.0``).
    """
    rel, tol = spec.rel_tol, spec.abs_tol

    def close(p: Any, g: Any) -> bool:
        return (
            type(p) in _NUMBER
            and type(g) in _NUMBER
            and math.isclose(p, g, rel_tol=rel, abs_tol=tol)
        )

    return bools(map(close, preds.tolist(), gold.tolist())).astype(np.float64)


def prepare_texts(values: list[Any]) -> tuple[np.ndarray, list[str | None]]:
    """Raw gold (for the identical-string fast path) and its normalised strings."""
    return objects(values, len(values)), [text_key(v) for v in values]


def similarity_scores(preds: np.ndarray, gold: tuple[np.ndarray, list[str | None]]) -> np.ndarray:
    """``1 - Levenshtein distance / longer length`` of the normalised strings (both empty:
    1); a non-string on either side scores 0."""
    raw, keys = gold
    out = ((preds == raw) & bools(k is not None for k in keys)).astype(np.float64)
    sim = Levenshtein.normalized_similarity
    rows = np.flatnonzero(out < 1.0)
    out[rows] = [
        0.0 if (k := keys[i]) is None or (t := text_key(p)) is None else sim(t, k)
        for i, p in zip(rows.tolist(), preds[rows].tolist(), strict=True)
    ]
    return out


def prepare_dates(values: list[Any]) -> np.ndarray:
    """Gold as canonical ISO strings; an invalid gold date can match nothing."""
    return objects(
        (d if (d := iso_date(v)) is not None else _UNMATCHABLE for v in values), len(values)
    )


def date_hits(preds: np.ndarray, gold: np.ndarray) -> np.ndarray:
    """Where a prediction reads as the same ISO date as gold (spaces around it allowed)."""
    hit = preds == gold
    rows = np.flatnonzero(~hit)
    hit[rows] = [
        type(p) is str and iso_date(p) == g
        for p, g in zip(preds[rows].tolist(), gold[rows].tolist(), strict=True)
    ]
    return hit


def is_null(values: np.ndarray) -> np.ndarray:
    """Elementwise ``v is None`` over an object array."""
    return types_are(values, type(None))


def nulls_are_values(out: np.ndarray, preds: np.ndarray, gold_null: np.ndarray) -> np.ndarray:
    """Score ``null`` as a value where gold is ``null``: 1 for a ``null`` prediction, else 0.

    Applied after a profile's own metric, so it overrides both a strict abstention and a
    metric (``exact``) that would refuse an empty gold value.
    """
    if gold_null.any():
        out[gold_null] = is_null(preds[gold_null])
    return out
