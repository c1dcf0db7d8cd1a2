"""Scoring ``object`` and ``records`` fields (the rules are in docs/nested-schemas.md).

An object scores the mean of its scored children; a records field aligns gold and
predicted records one-to-one (Hungarian, on similarities below the field's threshold set
to 0) and scores the soft F1 of the kept pairs. Leaves keep their profile's metric.

Everything runs a column at a time, like the flat profiles: a records column becomes one
flat column of (gold record, predicted record) *pairs* for the whole dataset, every leaf
of the record is scored over all pairs in one profile call, and only the rows whose
above-threshold pairs are not already one-to-one go through ``linear_sum_assignment``.
Gold-side work (flattening gold lists, extracting children, each profile's gold
preparation) is cached on a :class:`GoldNode` tree and shared by every model; pred-side
work that no profile changes (extraction, pair indices) is shared by the profiles of one
model through :class:`PredCache`.

Per-path results are *sums* of leaf scores over the gold occurrences of the leaf in each
row; the matching counts of occurrences depend on gold alone (:meth:`GoldNode.counts`),
so an unmatched gold record simply adds nothing to the sum and lowers the mean.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import repeat
from typing import Any

import numpy as np

from fieldwise.scoring._pairs import Pairs, assign, make_pairs
from fieldwise.scoring._profile import (
    MISSING,
    Gathered,
    Memo,
    Profile,
    gather,
    is_null,
    objects,
    types_are,
)
from fieldwise.tasks._task import FieldSpec

__all__ = [
    "Alignment",
    "GoldNode",
    "NestedResult",
    "PredCache",
    "RecordCounts",
    "align_records",
    "score_nested",
]

_NULL, _NOT_LIST = -1, -2  # list "lengths" of a null and of any other non-list value


_take = gather


def _arrays(prepared: Any) -> Any:
    """A profile's prepared gold with its lists turned into object arrays, so that it can be
    gathered by pair index (``_take``) without a Python loop."""
    if isinstance(prepared, tuple):
        return tuple(_arrays(p) for p in prepared)
    if isinstance(prepared, list):
        return objects(prepared, len(prepared))
    return prepared


def _children(base: np.ndarray, name: str, absent: Any) -> np.ndarray:
    """Each value's ``name`` (``None`` when the key is omitted); ``absent`` for a non-object."""
    try:  # every value an object: no Python-level loop
        return objects(map(dict.get, base, repeat(name)), len(base))
    except TypeError:
        return objects((v.get(name) if type(v) is dict else absent for v in base), len(base))


def _lengths(base: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per value: list length (or ``_NULL``/``_NOT_LIST``), offset of its first element in
    the flat element array, and that array."""
    lens = np.fromiter(
        (len(v) if type(v) is list else (_NULL if v is None else _NOT_LIST) for v in base.tolist()),
        dtype=np.int64,
        count=len(base),
    )
    sizes = np.maximum(lens, 0)
    offs = np.zeros(len(base), dtype=np.int64)
    if len(base) > 1:
        np.cumsum(sizes[:-1], out=offs[1:])
    flat = [e for v in base.tolist() if type(v) is list for e in v]
    return lens, offs, objects(flat, len(flat))


class GoldNode:
    """Gold values of one field at one depth (one value per row, or per gold record), with
    everything derived from them cached: children, list layout, per-profile preparations
    and how many times each leaf occurs."""

    def __init__(self, spec: FieldSpec, base: np.ndarray, *, element: bool = False) -> None:
        self.spec = spec
        self.base = base
        self.element = element  # the records' elements, scored as objects
        self.is_dict = types_are(base, dict)
        self.is_null = is_null(base)
        self.has_null = bool(self.is_null.any())
        self._children: dict[str, GoldNode] = {}
        self._prepared: dict[str, Any] = {}
        self._counts: dict[str, np.ndarray] | None = None
        self._elements: GoldNode | None = None
        if spec.kind == "records" and not element:
            self.lens, self.offs, elems = _lengths(base)
            self._elements = GoldNode(spec, elems, element=True)

    @property
    def elements(self) -> GoldNode:
        assert self._elements is not None
        return self._elements

    def child(self, spec: FieldSpec) -> GoldNode:
        node = self._children.get(spec.name)
        if node is None:
            node = self._children[spec.name] = GoldNode(spec, _children(self.base, spec.name, None))
        return node

    def prepared(self, profile: Profile) -> Any:
        """This leaf's gold as ``profile`` prepares it (computed once per profile)."""
        got = self._prepared.get(profile.name)
        if got is None:
            got = self._prepared[profile.name] = _arrays(
                profile.prepare_gold(self.spec, self.base.tolist())
            )
        return got

    def counts(self) -> dict[str, np.ndarray]:
        """Leaf path → how many gold occurrences of that leaf each value holds.

        A leaf of an object occurs once when the gold object is present (``null`` leaf
        values included: ``null`` is a value) and not at all under a ``null`` object; a
        leaf under a records field once per gold record.
        """
        if self._counts is not None:
            return self._counts
        out: dict[str, np.ndarray] = {}
        if self.spec.kind == "records" and not self.element:
            cell = np.repeat(np.arange(len(self.base)), np.maximum(self.lens, 0))
            for path, per_elem in self.elements.counts().items():
                out[path] = np.bincount(cell, weights=per_elem, minlength=len(self.base))
        else:
            present = self.is_dict.astype(np.float64)
            for child in self.spec.scored_children:
                if child.is_leaf:
                    out[child.path] = present
                else:
                    out.update(self.child(child).counts())
        self._counts = out
        return out


@dataclass
class RecordCounts:
    """Per row, for one records field: soft true positives, predicted and gold record counts,
    the field's F1 (its score) and whether the row has a gold list at all."""

    tp: np.ndarray
    n_pred: np.ndarray
    n_gold: np.ndarray
    f1: np.ndarray
    present: np.ndarray

    def masked(self, keep: np.ndarray) -> RecordCounts:
        zero = np.where(keep, 1.0, 0.0)
        return RecordCounts(
            self.tp * zero,
            self.n_pred * zero,
            self.n_gold * zero,
            self.f1 * zero,
            self.present & keep,
        )


@dataclass
class NestedResult:
    """One nested column scored: per-value scores, per-leaf-path sums of leaf scores over
    gold occurrences, and the records fields' counts (records not inside another list)."""

    scores: np.ndarray
    sums: dict[str, np.ndarray] = field(default_factory=dict)
    records: dict[str, RecordCounts] = field(default_factory=dict)
    abstained: np.ndarray | None = None


class PredCache(Memo):
    """Pred-side work shared by every profile scoring one model's outputs."""

    def children(self, base: np.ndarray, name: str) -> np.ndarray:
        return self.get(("child", id(base), name), base, lambda: _children(base, name, MISSING))  # type: ignore[no-any-return]

    def is_dict(self, base: np.ndarray) -> np.ndarray:
        return self.get(("dict", id(base)), base, lambda: types_are(base, dict))  # type: ignore[no-any-return]

    def lengths(self, base: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.get(("lens", id(base)), base, lambda: _lengths(base))  # type: ignore[no-any-return]


def score_nested(
    profile: Profile,
    spec: FieldSpec,
    preds: np.ndarray,
    gold: GoldNode,
    cache: PredCache | None = None,
) -> NestedResult:
    """Score one top-level ``object`` or ``records`` column under ``profile``.

    A profile's abstention (the strict profile's ``null``) applies to the whole field at
    the top level only, where gold is not ``null``: those rows score NaN.
    """
    scorer = _Scorer(profile, cache or PredCache())
    if spec.kind == "object":
        result = scorer.object(spec, preds, None, gold, None)
    else:
        result = scorer.records(spec, preds, None, gold, None)
    abstained = profile.abstains(preds)
    if abstained is not None:
        abstained &= ~gold.is_null
        if abstained.any():
            result.scores[abstained] = np.nan
            result.abstained = abstained
    return result


Alignment = list[tuple[int | None, int | None, float]]
"""One row's records alignment: (gold index, predicted index, similarity) per matched
pair, ``(g, None, 0)`` per missed gold record and ``(None, p, 0)`` per spurious one."""


def align_records(
    profile: Profile, spec: FieldSpec, preds: np.ndarray, gold: GoldNode
) -> dict[str, list[Alignment]]:
    """How each row's records were aligned, for every records field in one top-level
    ``object``/``records`` column that is not inside another list (for the report)."""
    scorer = _Scorer(profile, PredCache(), keep={})
    if spec.kind == "object":
        scorer.object(spec, preds, None, gold, None)
    else:
        scorer.records(spec, preds, None, gold, None)
    assert scorer.keep is not None
    out: dict[str, list[Alignment]] = {}
    for path, (pairs, sim, matched, pl, gl) in scorer.keep.items():
        rows: list[Alignment] = [[] for _ in range(len(pl))]
        k = np.arange(len(pairs.cell)) - pairs.starts[pairs.cell]
        width = pairs.cols[pairs.cell]
        for c, r, p, s in zip(
            pairs.cell[matched].tolist(),
            (k // width)[matched].tolist(),
            (k % width)[matched].tolist(),
            sim[matched].tolist(),
            strict=True,
        ):
            rows[int(pairs.active[c])].append((r, p, s))
        for i, row in enumerate(rows):
            used_g = {g for g, _, _ in row}
            used_p = {p for _, p, _ in row}
            row.sort(key=lambda t: t[0] if t[0] is not None else -1)
            row.extend((g, None, 0.0) for g in range(max(int(gl[i]), 0)) if g not in used_g)
            row.extend((None, p, 0.0) for p in range(max(int(pl[i]), 0)) if p not in used_p)
        out[path] = rows
    return out


class _Scorer:
    def __init__(
        self, profile: Profile, cache: PredCache, keep: dict[str, Any] | None = None
    ) -> None:
        self.profile = profile
        self.cache = cache
        self.keep = keep  # records path -> its matching, when asked (row level only)

    def leaf(
        self,
        spec: FieldSpec,
        pbase: np.ndarray,
        pidx: np.ndarray | None,
        gold: GoldNode,
        gidx: np.ndarray | None,
    ) -> np.ndarray:
        prepared = _take(gold.prepared(self.profile), gidx)
        if pidx is None:
            out = self.profile.score_inside(spec, pbase, prepared)
        else:
            out = self.profile.score_gathered(spec, Gathered(pbase, pidx, self.cache), prepared)
        g_null = _take(gold.is_null, gidx) if gold.has_null else None
        if g_null is not None and g_null.any():  # null is a value: right only against null
            out[g_null] = is_null(pbase[g_null] if pidx is None else pbase[pidx[g_null]])
        return out

    def object(
        self,
        spec: FieldSpec,
        pbase: np.ndarray,
        pidx: np.ndarray | None,
        gold: GoldNode,
        gidx: np.ndarray | None,
        floor: float | None = None,
        alive: np.ndarray | None = None,
    ) -> NestedResult:
        """Mean of the scored children per value.

        With a ``floor`` (a records field's match threshold, scoring pairs), a pair whose
        best possible mean has fallen below it is dropped before the next child is
        scored: it will be set to 0 and never matched, so its exact score cannot matter.
        Children are scored cheapest first so that the costly ones see the fewest pairs.
        ``alive`` marks pairs already ruled out (e.g. by a key leaf).
        """
        children = sorted(spec.scored_children, key=_cost)
        p_dict = _take(self.cache.is_dict(pbase), pidx)
        n, k = len(p_dict), max(len(children), 1)
        total = np.zeros(n)
        result = NestedResult(total)
        rows: np.ndarray | None = None  # indices still scored; None: all of them
        if floor is not None:
            live = p_dict if alive is None else p_dict & alive
            rows = np.flatnonzero(live)
        for i, child in enumerate(children):
            sub_p, sub_g = _subset(pidx, rows), _subset(gidx, rows)
            cbase = self.cache.children(pbase, child.name)
            cgold = gold.child(child)
            if child.is_leaf:
                score = self.leaf(child, cbase, sub_p, cgold, sub_g)
                result.sums[child.path] = _spread(score, rows, n)
            else:
                score_of = self.object if child.kind == "object" else self.records
                sub = score_of(child, cbase, sub_p, cgold, sub_g)
                score = sub.scores
                result.sums.update({p: _spread(v, rows, n) for p, v in sub.sums.items()})
                result.records.update(sub.records)  # only at row level (no floor)
            if rows is None:
                total += score
            else:
                total[rows] += score
                best = (total[rows] + (len(children) - i - 1)) / k
                rows = rows[(best >= floor) & (best > 0.0)]
        total /= k
        if rows is not None:
            dead = np.ones(n, dtype=bool)
            dead[rows] = False
            total[dead] = 0.0
        total[~p_dict] = 0.0
        g_dict = _take(gold.is_dict, gidx)
        if not g_dict.all():
            g_null = _take(gold.is_null, gidx)
            total[~g_dict] = 0.0
            total[g_null] = is_null(_take(pbase, pidx)[g_null])
            keep = g_dict.astype(np.float64)
            result.sums = {k: v * keep for k, v in result.sums.items()}
            result.records = {k: v.masked(g_dict) for k, v in result.records.items()}
        return result

    def records(
        self,
        spec: FieldSpec,
        pbase: np.ndarray,
        pidx: np.ndarray | None,
        gold: GoldNode,
        gidx: np.ndarray | None,
    ) -> NestedResult:
        p_lens_all, _, pelems = self.cache.lengths(pbase)
        pl = _take(p_lens_all, pidx)
        gl = _take(gold.lens, gidx)
        n = len(pl)
        scores = np.zeros(n)
        g_null, g_empty = gl == _NULL, gl == 0
        scores[g_null] = pl[g_null] == _NULL
        scores[g_empty] = pl[g_empty] == 0
        result = NestedResult(scores)
        n_gold = np.maximum(gl, 0).astype(np.float64)
        n_pred = np.maximum(pl, 0).astype(np.float64)
        tp = np.zeros(n)
        pairs = self._pairs(pbase, pidx, gold, gidx, pl, gl)
        if len(pairs.active):
            keyed: np.ndarray | None = None
            for key in spec.key:
                same = self._same_key(key, pelems, pairs.pj, gold.elements, pairs.gi)
                keyed = same if keyed is None else keyed & same
            pair = self.object(
                spec, pelems, pairs.pj, gold.elements, pairs.gi, spec.match_threshold, keyed
            )
            sim = pair.scores
            sim[sim < spec.match_threshold] = 0.0
            matched = assign(sim, pairs)
            if self.keep is not None and pidx is None:
                self.keep[spec.path] = (pairs, sim, matched, pl, gl)
            cell = pairs.cell[matched]
            a = len(pairs.active)
            tp[pairs.active] = np.bincount(cell, weights=sim[matched], minlength=a)
            act = pairs.active
            scores[act] = 2.0 * tp[act] / (n_gold[act] + n_pred[act])
            for path, values in pair.sums.items():
                full = np.zeros(n)
                full[act] = np.bincount(cell, weights=values[matched], minlength=a)
                result.sums[path] = full
        elif self.keep is not None and pidx is None:
            self.keep[spec.path] = (pairs, np.zeros(0), np.zeros(0, dtype=bool), pl, gl)
        for path in gold.elements.counts():
            result.sums.setdefault(path, np.zeros(n))
        result.records[spec.path] = RecordCounts(tp, n_pred, n_gold, scores.copy(), gl >= 0)
        return result

    def _pairs(
        self,
        pbase: np.ndarray,
        pidx: np.ndarray | None,
        gold: GoldNode,
        gidx: np.ndarray | None,
        pl: np.ndarray,
        gl: np.ndarray,
    ) -> Pairs:
        key = ("pairs", id(pbase), id(pidx), id(gold), id(gidx))
        anchor = (pbase, pidx, gold, gidx)
        return self.cache.get(  # type: ignore[no-any-return]
            key,
            anchor,
            lambda: make_pairs(
                self.cache.lengths(pbase)[1], pidx, gold.offs, gidx, pl, gl, gold.spec.path
            ),
        )

    def _same_key(
        self, key: str, pbase: np.ndarray, pidx: np.ndarray, gold: GoldNode, gidx: np.ndarray
    ) -> np.ndarray:
        """Per pair: the key leaf is exactly equal (same JSON type and value) on both sides."""
        node, spec = gold, gold.spec
        for part in key.split("."):
            spec = spec.child(part)
            pbase = self.cache.children(pbase, part)
            node = node.child(spec)
        p, g = pbase[pidx], node.base[gidx]
        same_type = objects(map(type, p.tolist()), len(p)) == objects(map(type, g.tolist()), len(g))
        return np.asarray(same_type & (p == g), dtype=bool)


def _subset(idx: np.ndarray | None, rows: np.ndarray | None) -> np.ndarray | None:
    if rows is None:
        return idx
    return rows if idx is None else idx[rows]


def _spread(values: np.ndarray, rows: np.ndarray | None, n: int) -> np.ndarray:
    """Values computed for ``rows`` only, as a full-length array (0 elsewhere)."""
    if rows is None:
        return values
    out = np.zeros(n)
    out[rows] = values
    return out


def _cost(spec: FieldSpec) -> int:
    """Rough cost rank of scoring a child over many pairs: nested fields last, leaves as
    their declared metric says (order never changes a result beyond float rounding: the
    mean is the same)."""
    if spec.kind == "records":
        return 5
    if spec.kind == "object":
        return 4
    cost: int = spec.metric.scorer().cost(spec)
    return cost
