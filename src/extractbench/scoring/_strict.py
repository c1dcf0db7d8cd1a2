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
- ``label`` / ``text``: a string equal to gold after the same normalisation (non-empty).
- Abstention: JSON ``null`` or the string ``"unknown"`` scores NaN: neither right nor
  wrong; it lowers ``coverage`` instead. A missing key, or an output that did not parse
  at all, is not an abstention and scores 0.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

import numpy as np

from extractbench.scoring._labels import LabelNormaliser, normaliser
from extractbench.scoring._profile import Profile
from extractbench.tasks._task import FieldSpec

__all__ = ["StrictProfile", "is_abstention", "iso_date"]

NAN = math.nan
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}")


def is_abstention(value: Any) -> bool:
    """``null`` or ``"unknown"`` (any case, any surrounding spaces)."""
    return value is None or (type(value) is str and value.strip().lower() == "unknown")


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


def _f1(pred: frozenset[str] | None, gold: frozenset[str] | None) -> float:
    if pred is None or gold is None:
        return 0.0
    if not pred and not gold:
        return 1.0
    return 2.0 * len(pred & gold) / (len(pred) + len(gold))


def _text(norm: LabelNormaliser, value: Any) -> str | None:
    return norm.one(value) if type(value) is str else None


class StrictProfile(Profile):
    """Normalised labels, F1 for sets, type checks, and abstention (see module docstring)."""

    name = "strict"
    description = "normalised labels, set F1, type checks; null/'unknown' = abstain"

    def prepare_gold(self, spec: FieldSpec, values: list[Any]) -> Any:
        kind = spec.kind
        if kind == "label_set":
            return [normaliser(spec).many(v) for v in values]
        if kind == "date":
            return [iso_date(v) for v in values]
        if kind == "label":
            norm = normaliser(spec)
            return [_text(norm, v) for v in values]
        if kind == "text":  # an empty gold text cannot be matched (as in ``exact``)
            norm = normaliser(spec)
            return [_text(norm, v) or None for v in values]
        return values

    def score(self, spec: FieldSpec, preds: list[Any], gold: Any) -> np.ndarray:
        kind = spec.kind
        n = len(preds)
        out: list[float]
        if kind == "label_set":
            many = normaliser(spec).many
            cache: dict[Any, frozenset[str] | None] = {}
            out = []
            for p, g in zip(preds, gold, strict=True):
                if _abstains(p):
                    out.append(NAN)
                    continue
                key = tuple(p) if type(p) is list else p
                try:
                    s = cache[key]
                except KeyError:
                    s = cache[key] = many(p)
                except TypeError:  # unhashable elements: wrong shape
                    s = None
                out.append(_f1(s, g))
        elif kind == "int":
            out = [
                NAN if _abstains(p) else float(type(p) is int and p == g)
                for p, g in zip(preds, gold, strict=True)
            ]
        elif kind == "bool":
            out = [
                NAN if _abstains(p) else float(type(p) is bool and p == g)
                for p, g in zip(preds, gold, strict=True)
            ]
        elif kind == "float":
            out = [
                NAN if _abstains(p) else float(_close(p, g))
                for p, g in zip(preds, gold, strict=True)
            ]
        elif kind == "date":
            out = [
                NAN if _abstains(p) else float(g is not None and iso_date(p) == g)
                for p, g in zip(preds, gold, strict=True)
            ]
        else:  # label, text
            norm = normaliser(spec)
            out = [
                NAN if _abstains(p) else float(g is not None and _text(norm, p) == g)
                for p, g in zip(preds, gold, strict=True)
            ]
        return np.array(out, dtype=np.float64) if out else np.zeros(n)


def _abstains(value: Any) -> bool:
    return value is None or (type(value) is str and is_abstention(value))


def _close(pred: Any, gold: Any) -> bool:
    if type(pred) not in (int, float) or type(gold) not in (int, float):
        return False
    return math.isclose(pred, gold, rel_tol=1e-6, abs_tol=1e-9)

