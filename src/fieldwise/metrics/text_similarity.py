"""``text_similarity``: ``1 - Levenshtein distance / longer length`` in [0, 1].

Both strings are case-folded with whitespace runs collapsed first (both empty = 1); a
non-string on either side scores 0. The same under every profile.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from rapidfuzz.distance import Levenshtein

from fieldwise.metrics._arrays import Gathered, not_null, objects
from fieldwise.metrics._base import LeafMetric, Policy

if TYPE_CHECKING:
    from fieldwise.tasks._task import FieldSpec

__all__ = ["TextSimilarity", "text_key", "text_keys"]


def text_key(value: Any) -> str | None:
    """Case-folded with whitespace runs collapsed; ``None`` for a non-string."""
    return " ".join(value.casefold().split()) if type(value) is str else None


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


def _similarity(keys: np.ndarray, gkeys: np.ndarray) -> np.ndarray:
    out = ((keys == gkeys) & not_null(gkeys)).astype(np.float64)
    rows = np.flatnonzero(out < 1.0)
    sim = Levenshtein.normalized_similarity
    out[rows] = [
        0.0 if k is None or t is None else sim(t, k)
        for t, k in zip(keys[rows].tolist(), gkeys[rows].tolist(), strict=True)
    ]
    return out  # type: ignore[no-any-return]


class TextSimilarity(LeafMetric):
    name: ClassVar[str] = "text_similarity"
    description: ClassVar[str] = "normalised Levenshtein similarity, in [0, 1]"

    def cost(self, field: FieldSpec) -> int:
        return 3  # edit distances: scored last, on the pairs still in the running

    def prepare_gold(self, field: FieldSpec, values: list[Any], policy: Policy) -> Any:
        return text_keys(objects(values, len(values)))

    def score(self, field: FieldSpec, preds: np.ndarray, gold: Any, policy: Policy) -> np.ndarray:
        return _similarity(text_keys(preds), gold)

    def score_gathered(
        self, field: FieldSpec, preds: Gathered, gold: Any, policy: Policy
    ) -> np.ndarray:
        return _similarity(preds.per_value("text_keys", text_keys), gold)
