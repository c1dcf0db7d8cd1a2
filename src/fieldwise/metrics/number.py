"""``number``: a JSON number within the field's tolerance of gold, boundary included.

``|p - g| <= max(rel * max(|p|, |g|), abs)``, as ``math.isclose`` reads it; with no
tolerance a number must equal gold (``3 == 3.0``; two integers too large for a float to
tell apart are compared exactly). A boolean is not a number; anything else scores 0.

The boundary is decided on the numbers as they were written, not on their binary
floats: ``64.4`` vs ``63.9`` with ``abs=0.5`` is a match although ``64.4 - 63.9`` is
``0.5000000000000071`` in floating point. Columns are compared in floats, and only the
values within a few ulps of the boundary are decided again in exact decimal arithmetic on
each float's shortest representation (what the JSON text said), the same function that
scores a single value, so the per-value and the vectorised paths always agree.
"""

from __future__ import annotations

import math
from decimal import Decimal, localcontext
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from pydantic import field_validator

from fieldwise.metrics._arrays import Gathered, objects, types_are
from fieldwise.metrics._base import LeafMetric, MetricParams, Policy

if TYPE_CHECKING:
    from fieldwise.tasks._task import FieldSpec

__all__ = ["Number", "floats", "within"]

_EXACT_FLOAT = 2.0**53
_SLACK = 16 * float(np.finfo(np.float64).eps)
"""Relative band around the boundary where the float comparison may disagree with the
exact one (it is off by a few ulps at most); values inside it are decided exactly."""


def _exact(value: int | float) -> Decimal:
    return Decimal(value) if type(value) is int else Decimal(repr(value))


def within(pred: int | float, gold: int | float, rel: float, tol: float) -> bool:
    """``|p - g| <= max(rel * max(|p|, |g|), abs)`` on the decimal values written (each
    float read as its shortest representation), boundary included."""
    if not all(type(v) is int or math.isfinite(v) for v in (pred, gold)):
        return bool(pred == gold)  # inf == inf; nan never
    with localcontext() as ctx:
        ctx.prec = 80
        p, g = _exact(pred), _exact(gold)
        bound = max(_exact(rel) * max(abs(p), abs(g)), _exact(tol))
        return abs(p - g) <= bound


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


class Number(LeafMetric):
    name: ClassVar[str] = "number"
    kinds: ClassVar[tuple[str, ...]] = ("int", "float")
    description: ClassVar[str] = "within max(rel * max(|p|, |g|), abs) of gold, inclusive"
    cheap: ClassVar[bool] = True

    class Params(MetricParams):
        rel: float = 0.0
        """Relative tolerance, of the larger magnitude (``0.01``: within 1 %)."""
        abs: float = 0.0
        """Absolute tolerance (``0.5``: within 0.50)."""

        @field_validator("rel", "abs")
        @classmethod
        def _non_negative(cls, value: float) -> float:
            if not value >= 0:
                raise ValueError("tolerances must be >= 0")
            return value

    def prepare_gold(self, field: FieldSpec, values: list[Any], policy: Policy) -> Any:
        """Gold as (raw values, float values, is-a-JSON-number mask); the raw values only
        where some are integers too large for a float (else ``None``)."""
        raw = objects(values, len(values))
        g, ok = floats(raw)
        with np.errstate(invalid="ignore"):
            big = bool((np.abs(g[ok]) >= _EXACT_FLOAT).any())
        return (raw if big else None), g, ok

    def score_value(self, field: FieldSpec, pred: Any, gold: Any, policy: Policy) -> float:
        if type(pred) not in (int, float) or type(gold) not in (int, float):
            return 0.0
        rel, tol = self.params.rel, self.params.abs
        return float(within(pred, gold, rel, tol) if rel or tol else pred == gold)

    def score(self, field: FieldSpec, preds: np.ndarray, gold: Any, policy: Policy) -> np.ndarray:
        return self._hits(preds, *floats(preds), gold)

    def score_gathered(
        self, field: FieldSpec, preds: Gathered, gold: Any, policy: Policy
    ) -> np.ndarray:
        p, ok = preds.per_value("floats", floats)
        return self._hits(preds, p, ok, gold)

    def _hits(
        self, preds: np.ndarray | Gathered, p: np.ndarray, p_ok: np.ndarray, gold: Any
    ) -> np.ndarray:
        """Scores given the predictions' :func:`floats` (the raw values are looked at only
        near the boundary, or for integers too large for a float to tell apart)."""
        raw, g, g_ok = gold
        both = p_ok & g_ok
        rel, tol = self.params.rel, self.params.abs
        with np.errstate(invalid="ignore", over="ignore"):
            hit = both & (p == g)
            if rel or tol:
                diff = np.abs(p - g)
                bound = np.maximum(rel * np.maximum(np.abs(p), np.abs(g)), tol)
                hit |= both & (diff <= bound)
                band = _SLACK * (np.abs(p) + np.abs(g) + bound)
                near = np.flatnonzero(both & (np.abs(diff - bound) <= band))
                if len(near):
                    values = _raw(preds)[near].tolist()
                    golds = (g if raw is None else raw)[near].tolist()
                    hit[near] = [within(a, b, rel, tol) for a, b in zip(values, golds, strict=True)]
            else:  # beyond 2**53 floats round: equal floats need equal Python numbers
                big = np.flatnonzero(hit & (np.abs(g) >= _EXACT_FLOAT)) if raw is not None else ()
                if len(big):
                    hit[big] = _raw(preds)[big] == raw[big]
        return hit.astype(np.float64)


def _raw(preds: np.ndarray | Gathered) -> np.ndarray:
    return preds if isinstance(preds, np.ndarray) else preds.values()
