"""Column helpers every metric and profile shares: object arrays of JSON values.

Scoring works a whole column (one field, every row) per call rather than one cell: that
keeps per-call overhead out of the inner loop. On object arrays ``a == b`` runs Python
``==`` per element inside numpy's C loop, several times faster than a Python loop.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import Any, Final

import numpy as np

__all__ = [
    "MISSING",
    "Gathered",
    "Memo",
    "bools",
    "gather",
    "is_null",
    "not_null",
    "objects",
    "types_are",
]


class _Missing:
    """Sentinel for a key absent from a prediction (or gold) object."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"

    def __reduce__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()
"""Stands for "no such key": never equal to any JSON value."""


def bools(values: Iterable[Any]) -> np.ndarray:
    """A bool array from an iterable of bools (list first: ~2x faster than ``fromiter``)."""
    return np.array(list(values), dtype=bool)


def objects(values: Iterable[Any], n: int) -> np.ndarray:
    """A 1-D object array of ``n`` JSON values, lists kept whole (never nested into 2-D)."""
    return np.fromiter(values, dtype=object, count=n)


def types_are(values: np.ndarray, kind: type) -> np.ndarray:
    """Elementwise ``type(v) is kind`` (exact type: ``True`` is not an ``int`` here)."""
    return objects(map(type, values), len(values)) == kind


def not_null(values: np.ndarray) -> np.ndarray:
    """Elementwise ``v is not None`` over an object array (one C loop)."""
    return np.asarray(values != None, dtype=bool)  # noqa: E711 (elementwise, by design)


def is_null(values: np.ndarray) -> np.ndarray:
    """Elementwise ``v is None`` over an object array."""
    return types_are(values, type(None))


def gather(values: Any, idx: np.ndarray | None) -> Any:
    """``values[idx]`` for an array or (recursively) a tuple of arrays; all if no ``idx``
    (``None`` stays ``None``)."""
    if idx is None or values is None:
        return values
    if isinstance(values, tuple):
        return tuple(gather(v, idx) for v in values)
    return values[idx]


class Memo:
    """Results keyed by the identity of the arrays they were computed from.

    ``anchor`` is kept alive with the result, so that a key's ids cannot be reused by a
    new array while the memo lives (it lives for one model's scoring).
    """

    def __init__(self) -> None:
        self._store: dict[tuple[Any, ...], tuple[Any, Any]] = {}

    def get(self, key: tuple[Any, ...], anchor: Any, make: Callable[[], Any]) -> Any:
        hit = self._store.get(key)
        if hit is None:
            hit = self._store[key] = (anchor, make())
        return hit[1]


class Gathered:
    """The predictions of a column of (gold, predicted) record pairs: ``base[idx]``.

    Each predicted value meets every gold record of its row, so per-value work (types,
    numbers, normalised strings) is done once on ``base`` with :meth:`per_value` and
    gathered per pair; results are shared by every profile scoring the same model.
    """

    __slots__ = ("base", "idx", "_memo")

    def __init__(self, base: np.ndarray, idx: np.ndarray, memo: Memo) -> None:
        self.base, self.idx, self._memo = base, idx, memo

    def values(self) -> np.ndarray:
        return self.base[self.idx]  # type: ignore[no-any-return]

    def per_value(self, name: Hashable, fn: Callable[[np.ndarray], Any]) -> Any:
        """``fn(base)`` (computed once per base and ``name``), gathered by pair."""
        base = self.base
        return gather(self._memo.get((name, id(base)), base, lambda: fn(base)), self.idx)
