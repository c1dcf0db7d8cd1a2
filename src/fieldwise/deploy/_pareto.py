"""Pareto dominance: which models no other model beats on both accuracy and a cost.

A model is dominated when another is at least as accurate and at most as costly (in
dollars, or in seconds of latency) and strictly better on one of the two. The models
left undominated are the frontier: the only ones worth deploying for some budget.
A model whose cost is unknown is not placed at all (never at 0).
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def dominated(costs: Sequence[float | None], gains: Sequence[float | None]) -> list[bool | None]:
    """Per point: ``True`` dominated, ``False`` on the frontier, ``None`` not placed
    (cost or gain unknown). Lower ``costs`` and higher ``gains`` are better."""
    known = [
        c is not None and g is not None and not math.isnan(c) and not math.isnan(g)
        for c, g in zip(costs, gains, strict=True)
    ]
    out: list[bool | None] = []
    for i, ok in enumerate(known):
        if not ok:
            out.append(None)
            continue
        ci, gi = float(costs[i]), float(gains[i])  # type: ignore[arg-type]
        beaten = False
        for j, other in enumerate(known):
            if j == i or not other:
                continue
            cj, gj = float(costs[j]), float(gains[j])  # type: ignore[arg-type]
            if cj <= ci and gj >= gi and (cj < ci or gj > gi):
                beaten = True
                break
        out.append(beaten)
    return out


def frontier(labels: Sequence[str], flags: Sequence[bool | None]) -> list[str]:
    """The labels on the frontier, in the given order."""
    return [label for label, flag in zip(labels, flags, strict=True) if flag is False]
