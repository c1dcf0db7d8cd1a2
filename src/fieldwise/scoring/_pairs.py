"""Record alignment: every (gold record, predicted record) pair of a column, and the
one-to-one assignment that maximises their total similarity (docs/nested-schemas.md).

Pairs are laid out flat for the whole dataset, row after row, so that each leaf of the
record is scored over all pairs in one profile call (``_nested.py``); only rows whose
above-threshold pairs are not already one-to-one go through ``linear_sum_assignment``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from fieldwise.errors import UserError
from fieldwise.scoring._profile import gather

__all__ = ["MAX_GOLD_RECORDS", "MAX_PAIRS", "Pairs", "assign", "make_pairs"]

MAX_PAIRS = 1_000_000
"""Most (gold, predicted) record pairs one records value is aligned over: about 150 MB
and 2 s at 1,000 x 1,000 (5,000 x 5,000 took 3.7 GB). A prediction longer than
``MAX_PAIRS // len(gold)`` records is aligned on its first that many; the rest count in
``|P|`` and match nothing (docs/nested-schemas.md, "Size limit")."""
MAX_GOLD_RECORDS = 1_000
"""Most gold records one records value may hold; more is a one-line error."""


@dataclass
class Pairs:
    """Every (gold record, predicted record) pair of the rows where both lists are non-empty."""

    active: np.ndarray  # indices of those rows
    cell: np.ndarray  # per pair: position in ``active``
    gi: np.ndarray  # per pair: gold element index
    pj: np.ndarray  # per pair: predicted element index
    starts: np.ndarray  # per active row: its first pair
    rows: np.ndarray  # per active row: gold records
    cols: np.ndarray  # per active row: predicted records
    rid: np.ndarray  # per pair: its gold record, numbered over all active rows
    cid: np.ndarray  # per pair: its predicted record, likewise


def make_pairs(
    p_offs: np.ndarray,
    pidx: np.ndarray | None,
    g_offs: np.ndarray,
    gidx: np.ndarray | None,
    pl: np.ndarray,
    gl: np.ndarray,
    path: str = "",
) -> Pairs:
    """The pairs of the rows where both lists are non-empty, given each value's list
    length (``pl``/``gl``, negative for a non-list) and the offset of its first element in
    the flat element arrays (``p_offs``/``g_offs``, gathered by ``pidx``/``gidx``).

    Bounded in memory: see :data:`MAX_PAIRS` and :data:`MAX_GOLD_RECORDS` (``path`` names
    the records field in the error)."""
    active = np.flatnonzero((gl > 0) & (pl > 0))
    rows, cols = gl[active], pl[active]
    if len(rows) and rows.max() > MAX_GOLD_RECORDS:
        raise UserError(
            f"records field '{path}': a gold value has {int(rows.max()):,} records; "
            f"fieldwise aligns at most {MAX_GOLD_RECORDS:,} per value",
            hint="split such documents (see docs/nested-schemas.md, Size limit)",
        )
    # A prediction's records past the pair budget are never aligned (counted, unmatched).
    cols = np.minimum(cols, MAX_PAIRS // np.maximum(rows, 1))
    sizes = rows * cols
    starts = np.zeros(len(active), dtype=np.int64)
    if len(active) > 1:
        np.cumsum(sizes[:-1], out=starts[1:])
    cell = np.repeat(np.arange(len(active)), sizes)
    k = np.arange(int(sizes.sum())) - starts[cell]
    width = cols[cell]
    r, c = k // width, k % width
    g_off = gather(g_offs, gidx)[active]
    p_off = gather(p_offs, pidx)[active]
    row_start = np.concatenate(([0], np.cumsum(rows)[:-1])) if len(active) else rows
    col_start = np.concatenate(([0], np.cumsum(cols)[:-1])) if len(active) else cols
    return Pairs(
        active=active,
        cell=cell,
        gi=g_off[cell] + r,
        pj=p_off[cell] + c,
        starts=starts,
        rows=rows,
        cols=cols,
        rid=row_start[cell] + r,
        cid=col_start[cell] + c,
    )


def assign(sim: np.ndarray, pairs: Pairs) -> np.ndarray:
    """Which pairs the maximum-total one-to-one assignment keeps (similarity > 0).

    Two shortcuts keep most rows out of the Hungarian algorithm, both exact: where every
    gold and predicted record has at most one pair above 0, that set is the optimum; and
    where each gold record's best pair is unique and no two share a predicted record,
    taking them reaches the upper bound (the sum of row maxima), so it is optimal too.
    """
    pos = sim > 0.0
    matched = pos.copy()
    idx = np.flatnonzero(pos)
    rid, cid = pairs.rid[idx], pairs.cid[idx]
    n_rows, n_cols = int(pairs.rows.sum()), int(pairs.cols.sum())
    clash = (np.bincount(rid, minlength=n_rows)[rid] > 1) | (
        np.bincount(cid, minlength=n_cols)[cid] > 1
    )
    if not clash.any():
        return matched
    idx, rid, cid = idx[clash], rid[clash], cid[clash]
    best = np.zeros(n_rows)
    np.maximum.at(best, rid, sim[idx])
    top = sim[idx] == best[rid]
    matched[idx] = top
    cells = pairs.cell[idx]
    ties = np.bincount(rid[top], minlength=n_rows)[rid[top]] > 1
    shared = np.bincount(cid[top], minlength=n_cols)[cid[top]] > 1
    for c in np.unique(cells[top][ties | shared]).tolist():
        start, rows, cols = int(pairs.starts[c]), int(pairs.rows[c]), int(pairs.cols[c])
        block = sim[start : start + rows * cols].reshape(rows, cols)
        r, k = linear_sum_assignment(block, maximize=True)
        keep = np.zeros(rows * cols, dtype=bool)
        keep[r * cols + k] = True
        matched[start : start + rows * cols] = keep & (block.ravel() > 0.0)
    return matched
