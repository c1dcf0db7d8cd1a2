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

from fieldwise.scoring._profile import Gathered, objects, types_are
from fieldwise.tasks._task import FieldSpec

__all__ = [
    "floats",
    "gathered_scores",
    "is_null",
    "iso_dates",
    "not_null",
    "number_of_floats",
    "similarity_of_keys",
    "text_keys",
    "iso_date",
    "nulls_are_values",
    "number_scores",
    "prepare_numbers",
    "prepare_dates",
    "prepare_texts",
    "similarity_scores",
    "text_key",
]

_ISO = re.compile(r"\d{4}-\d{2}-\d{2}")
_EXACT_FLOAT = 2.0**53
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


def prepare_numbers(values: list[Any]) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """Gold as (raw values, float values, is-a-JSON-number mask) for :func:`number_scores`;
    the raw values only where some are integers too large for a float (else ``None``)."""
    raw = objects(values, len(values))
    g, ok = floats(raw)
    with np.errstate(invalid="ignore"):
        exact = bool((np.abs(g[ok]) >= _EXACT_FLOAT).any())
    return (raw if exact else None), g, ok


def floats(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Float values of the JSON numbers in an object array (booleans are not numbers)."""
    ok = types_are(values, float) | types_are(values, int)
    out = np.zeros(len(values))
    if ok.any():
        try:
            out[ok] = values[ok].astype(np.float64)
        except OverflowError:  # an integer beyond float range: compare one by one
            out[ok] = [float(v) if abs(v) < 1e308 else math.inf for v in values[ok].tolist()]
    return out, ok


def number_scores(spec: FieldSpec, preds: np.ndarray, gold: Any) -> np.ndarray:
    """1 where a JSON number (not a boolean) is within the field's tolerance of gold.

    Tolerance is ``math.isclose``'s: ``|p - g| <= max(rel * max(|p|, |g|), abs)``, so with
    neither set a number must equal gold (``3 == 3.0``; compared as Python numbers, so two
    large integers that round to the same float still differ). ``gold`` comes from
    :func:`prepare_numbers`.
    """
    return number_of_floats(spec, preds, *floats(preds), gold)


def number_of_floats(
    spec: FieldSpec, preds: np.ndarray | Gathered, p: np.ndarray, p_ok: np.ndarray, gold: Any
) -> np.ndarray:
    """:func:`number_scores` given the predictions' :func:`floats` (the raw values are
    only looked at for integers too large for a float to tell apart)."""
    raw, g, g_ok = gold
    both = p_ok & g_ok
    with np.errstate(invalid="ignore", over="ignore"):
        hit = both & (p == g)
        rel, tol = spec.rel_tol, spec.abs_tol
        if rel or tol:
            bound = np.maximum(rel * np.maximum(np.abs(p), np.abs(g)), tol)
            hit |= both & (np.abs(p - g) <= bound)
        else:  # beyond 2**53 floats round: equal floats need equal Python numbers
            big = np.flatnonzero(hit & (np.abs(g) >= _EXACT_FLOAT)) if raw is not None else ()
            if len(big):
                values = preds if isinstance(preds, np.ndarray) else preds.values()
                hit[big] = values[big] == raw[big]
    return hit.astype(np.float64)


def prepare_texts(values: list[Any]) -> np.ndarray:
    """Gold for :func:`similarity_scores`: the normalised strings (``None``: not a string)."""
    return text_keys(objects(values, len(values)))


def text_keys(values: np.ndarray) -> np.ndarray:
    """:func:`text_key` of every value; a string seen before is normalised once."""
    seen: dict[str, str] = {}

    def key_of(v: Any) -> str | None:
        if type(v) is not str:
            return None
        t = seen.get(v)
        if t is None:
            t = seen[v] = " ".join(v.casefold().split())
        return t

    return objects(map(key_of, values.tolist()), len(values))


def similarity_scores(preds: np.ndarray, gold: np.ndarray) -> np.ndarray:
    """``1 - Levenshtein distance / longer length`` of the normalised strings (both empty:
    1); a non-string on either side scores 0."""
    return similarity_of_keys(text_keys(preds), gold)


def similarity_of_keys(keys: np.ndarray, gkeys: np.ndarray) -> np.ndarray:
    """:func:`similarity_scores` from the predictions' :func:`text_keys`."""
    out = ((keys == gkeys) & not_null(gkeys)).astype(np.float64)
    rows = np.flatnonzero(out < 1.0)
    sim = Levenshtein.normalized_similarity
    out[rows] = [
        0.0 if k is None or t is None else sim(t, k)
        for t, k in zip(keys[rows].tolist(), gkeys[rows].tolist(), strict=True)
    ]
    return out


def iso_dates(values: np.ndarray) -> np.ndarray:
    """:func:`iso_date` of every value (``None`` where it is not a valid date)."""
    return objects(map(iso_date, values.tolist()), len(values))


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


def not_null(values: np.ndarray) -> np.ndarray:
    """Elementwise ``v is not None`` over an object array (one C loop)."""
    return np.asarray(values != None, dtype=bool)  # noqa: E711 (elementwise, by design)


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


def gathered_scores(spec: FieldSpec, preds: Gathered, gold: Any) -> np.ndarray | None:
    """Pair-level scores of the metrics every built-in profile scores alike (``number``,
    ``text_similarity``), per-value work done once per predicted value; ``None`` for
    any other metric."""
    if spec.metric == "number":
        p, ok = preds.per_value("floats", floats)
        return number_of_floats(spec, preds, p, ok, gold)
    if spec.metric == "text_similarity":
        return similarity_of_keys(preds.per_value("text_keys", text_keys), gold)
    return None
