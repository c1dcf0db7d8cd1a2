"""Repeats: how stable a model is across repeated sampled runs of the same rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["RepeatSummary", "mean_over_repeats", "repeat_summary"]


@dataclass
class RepeatSummary:
    """How stable a model is across repeated sampled runs, per column.

    ``mean`` is the mean of the per-repeat column means, ``spread`` their standard
    deviation across repeats (ddof 1), and ``consistency`` the share of rows, among those
    scored in every repeat, on which all repeats got the same score.
    """

    repeats: int
    mean: np.ndarray
    spread: np.ndarray
    consistency: np.ndarray


def mean_over_repeats(per_repeat: Sequence[np.ndarray]) -> np.ndarray:
    """The per-row mean over repeats (NaN only where every repeat is NaN): what the
    pairwise tests compare for a model with repeats."""
    stack = np.stack(list(per_repeat))
    valid = ~np.isnan(stack)
    count = valid.sum(axis=0)
    total = np.where(valid, stack, 0.0).sum(axis=0)
    return np.divide(total, count, out=np.full(stack.shape[1:], np.nan), where=count > 0)


def repeat_summary(per_repeat: Sequence[np.ndarray]) -> RepeatSummary:
    """Summarise ``(rows, columns)`` score matrices, one per repeat."""
    stack = np.stack(list(per_repeat))
    valid = ~np.isnan(stack)
    count = valid.sum(axis=1)
    totals = np.where(valid, stack, 0.0).sum(axis=1)
    means = np.divide(totals, count, out=np.full(count.shape, np.nan), where=count > 0)
    defined = (~np.isnan(means)).sum(axis=0)
    summed = np.where(np.isnan(means), 0.0, means).sum(axis=0)
    mean = np.divide(summed, defined, out=np.full(defined.shape, np.nan), where=defined > 0)
    dev = np.where(np.isnan(means), 0.0, means - np.nan_to_num(mean))
    spread = np.where(
        defined > 1, np.sqrt((dev**2).sum(axis=0) / np.maximum(defined - 1, 1)), np.nan
    )
    everywhere = valid.all(axis=0)
    same = (stack == stack[:1]).all(axis=0) & everywhere
    rows = everywhere.sum(axis=0)
    consistency = np.divide(same.sum(axis=0), rows, out=np.full(rows.shape, np.nan), where=rows > 0)
    return RepeatSummary(len(stack), mean, spread, consistency)
