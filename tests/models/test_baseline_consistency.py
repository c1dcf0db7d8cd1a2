"""The baseline keeps a yes/no field and its count consistent when training shows they agree."""

from __future__ import annotations

import json

import numpy as np

from fieldwise.models.baseline._pipeline import _paired_fields, _reconcile
from fieldwise.tasks import Example
from fieldwise.tasks.isaf import ISAF


def _row(killed: int, killq: bool, captured: int, captureq: bool) -> dict:
    return {"min_killed": killed, "killq": killq, "min_captured": captured, "captureq": captureq}


def test_pairs_are_learned_from_agreeing_gold_values() -> None:
    golds = [_row(k, k > 0, c, c % 2 == 0) for k in (0, 1, 2) for c in range(8)]
    examples = [Example(id=str(i), text="t", gold=g) for i, g in enumerate(golds)]
    # killq always agrees with min_killed > 0; captureq is unrelated to min_captured.
    assert _paired_fields(ISAF, examples) == [["killq", "min_killed"]]


def test_the_surer_head_wins_and_the_count_follows() -> None:
    rows = [
        {"killq": (False, 0.6), "min_killed": (2, 0.9)},  # the count is surer: flag flips
        {"killq": (True, 0.95), "min_killed": (0, 0.55)},  # the flag is surer: count moves
        {"killq": (True, 0.8), "min_killed": (1, 0.7)},  # already consistent: kept
    ]
    votes = [
        {"0": 0.05, "2": 0.9, "1": 0.05},
        {"0": 0.55, "3": 0.3, "1": 0.15},
        {"1": 0.7, "0": 0.3},
    ]
    _reconcile(rows, "killq", "min_killed", np.array([0.4, 0.95, 0.8]), votes)
    assert [r["killq"][0] for r in rows] == [True, True, True]
    assert [r["min_killed"][0] for r in rows] == [2, 3, 1]
    assert all(0.5 <= r["killq"][1] <= 1.0 for r in rows)
    json.dumps(rows)  # values stay plain JSON
