"""What a scoring profile is: per-field, column-at-a-time scoring of predictions vs gold.

A profile scores one whole column (one field, every row) per call rather than one cell:
that keeps per-call overhead out of the inner loop, so scoring 10 models x 724 rows
costs about as much as parsing their outputs. Gold values are prepared once per field
(e.g. turned into frozensets) and reused for every model.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Iterable
from typing import Any, ClassVar, Final

import numpy as np

from fieldwise.tasks._task import FieldSpec, Task

__all__ = ["MISSING", "Gathered", "Memo", "Profile", "bools", "gather", "objects", "types_are"]


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
    """A 1-D object array of ``n`` JSON values, lists kept whole (never nested into 2-D).

    On object arrays ``a == b`` runs Python ``==`` per element inside numpy's C loop,
    several times faster than ``map(operator.eq, ...)`` into a new array.
    """
    return np.fromiter(values, dtype=object, count=n)


def types_are(values: np.ndarray, kind: type) -> np.ndarray:
    """Elementwise ``type(v) is kind`` (exact type: ``True`` is not an ``int`` here)."""
    return objects(map(type, values), len(values)) == kind


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


class Profile(ABC):
    """A way of scoring every field of a task.

    ``score`` returns one float per row: 1.0 right, 0.0 wrong, partial credit in between,
    or NaN for an abstention (neither right nor wrong). ``preds`` is a 1-D object array of
    the predicted value per row, :data:`MISSING` where the key was absent or the output
    did not parse;
    ``gold`` is whatever ``prepare_gold`` returned for that field. ``score`` must never
    raise on a prediction: any JSON value is data to score.
    """

    name: ClassVar[str]
    description: ClassVar[str] = ""
    require_grounding: bool = False
    """Option: score a value of a ``required``-grounding field that the aligner cannot find
    in the text as an abstention (docs/trust.md). On in the profile ``<name>+grounding``
    (``strict+grounding``), which :func:`~fieldwise.scoring.get_profile` derives."""

    def fields(self, task: Task) -> tuple[FieldSpec, ...]:
        """The fields this profile scores; by default every field not marked ``ignore``."""
        return task.scored_fields

    def abstains(self, preds: np.ndarray) -> np.ndarray | None:
        """Which top-level predictions are abstentions (neither right nor wrong), or ``None``
        when this profile has no abstention. Used for ``object`` and ``records`` fields,
        whose leaf metrics cannot say it; inside a nested value ``null`` is always a value.
        """
        return None

    def prepare_gold(self, spec: FieldSpec, values: list[Any]) -> Any:
        """Precompute whatever ``score`` needs from one gold column (default: as is)."""
        return values

    @abstractmethod
    def score(self, spec: FieldSpec, preds: np.ndarray, gold: Any) -> np.ndarray:
        """Score one column; returns a float64 array of ``len(preds)``."""

    def score_inside(self, spec: FieldSpec, preds: np.ndarray, gold: Any) -> np.ndarray:
        """Score a column of leaves inside nested values, where there is no abstention
        (``null`` is a value there, see docs/nested-schemas.md): NaN becomes 0. A profile
        whose ``score`` spends time finding abstentions can skip it here."""
        return np.nan_to_num(self.score(spec, preds, gold), copy=False, nan=0.0)

    def score_gathered(self, spec: FieldSpec, preds: Gathered, gold: Any) -> np.ndarray:
        """:meth:`score_inside` over record pairs; override to do per-value work once per
        predicted value instead of once per pair (the built-in profiles do)."""
        return self.score_inside(spec, preds.values(), gold)
