"""Distinct (gold, pred) cells: the untagged fast count and the tagged one agree with a
row-by-row count, and 1, 1.0 and True never share a cell."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from fieldwise.report._cells import cells
from fieldwise.scoring import MISSING


def _by_row(golds: list[Any], preds: list[Any], statuses: list[str]) -> Counter[Any]:
    return Counter(
        ((type(g), g), (type(p), p, s == "ok"))
        for g, p, s in zip(golds, preds, statuses, strict=True)
    )


CASES = {
    "labels": (["a", "b", None, "a"], ["a", "c", "a", MISSING], ["ok", "ok", "ok", "missing"]),
    "ints": ([1, 2, 2, None, 3], [1, 2, 3, 0, None], ["ok"] * 5),
    "bools": ([True, False, True], [True, None, False], ["ok", "ok", "invalid_json"]),
    "mixed numbers": ([1, 1, True, 1.0, 2], [True, 1.0, 1, 1, 2], ["ok"] * 5),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_cells_match_a_row_by_row_count(case: str) -> None:
    golds, preds, statuses = CASES[case]
    counted, originals = cells(golds, preds, statuses)
    assert counted == _by_row(golds, preds, statuses)
    assert originals == {}
    keys = {(g[0], p[0]) for g, p in counted}
    if case == "mixed numbers":  # the same value in three types: three different cells
        assert (int, bool) in keys and (int, float) in keys and (bool, int) in keys
