"""Error analysis: patterns, confusion tables and the paired difference behind "why"."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from fieldwise.report._analysis import (
    Miss,
    cell_patterns,
    confusion,
    field_errors,
    set_table,
)
from fieldwise.report._values import Parsed, show, typed
from fieldwise.scoring import MISSING
from fieldwise.scoring.stats import Resamples, pairwise
from tests.report.helpers import TASK


def parsed(values: Sequence[object], name: str) -> Parsed:
    return Parsed(["ok"] * len(values), [{name: v} for v in values])


def texts(misses: list[Miss]) -> list[str]:
    return [m.pattern for m in misses]


def test_patterns_name_what_went_wrong() -> None:
    tags, day, count = TASK.field("tags"), TASK.field("day"), TASK.field("count")
    assert texts(cell_patterns(tags, "ok", ["a", "c"], ["a", "b"])) == ["missing b", "extra c"]
    assert texts(cell_patterns(tags, "ok", "b", ["a"])) == ["missing a", "extra b"]
    assert cell_patterns(tags, "ok", 3, ["a"]) == [Miss("not a list", "3")]
    assert texts(cell_patterns(day, "ok", "2020-01-03", "2020-01-04")) == ["1 day early"]
    assert texts(cell_patterns(day, "ok", "2020-01-07", "2020-01-04")) == ["3 days late"]
    assert texts(cell_patterns(day, "ok", "Jan 4", "2020-01-04")) == [
        'gold "2020-01-04" → pred "Jan 4"'
    ]
    assert cell_patterns(count, "ok", "2", 2) == [Miss('gold 2 → pred "2"', rare=True)]
    assert texts(cell_patterns(count, "ok", MISSING, 2)) == ["field missing from output"]
    assert texts(cell_patterns(count, "invalid_json", MISSING, 2)) == [
        "no usable output (invalid JSON)"
    ]
    # A null prediction is one kind of miss whatever the gold value; the value is detail.
    assert cell_patterns(day, "ok", None, "2020-01-04") == [
        Miss("predicted null", '"2020-01-04"', of="gold")
    ]
    assert cell_patterns(count, "ok", 3, None) == [
        Miss("a value where gold is null", "3", of="predicted")
    ]


def test_field_errors_counts_and_ranks_patterns() -> None:
    spec = TASK.field("count")
    golds = [1, 1, 1, 2, 0]
    preds = [2, 2, 1, 3, None]
    scores = np.array([0.0, 0.0, 1.0, 0.0, np.nan])
    fe = field_errors(spec, golds, parsed(preds, "count"), scores)
    assert (fe.wrong, fe.partial, fe.unscored) == (3, 0, 1)
    assert fe.patterns[0].text == "gold 1 → pred 2"
    assert fe.patterns[0].count == 2 and fe.patterns[0].rows == [0, 1]
    assert fe.confusion is not None
    assert sum(map(sum, fe.confusion.counts)) == len(golds)


def test_confusion_pools_rare_values() -> None:
    golds = list(range(20))
    table = confusion(golds, golds, parsed(golds, "x"), np.ones(20))
    assert table.gold[-1] == "other" and len(table.gold) == 8
    assert table.pred == table.gold  # the same values named on both axes
    assert sum(map(sum, table.counts)) == 20
    assert table.counts[0][0] == 1  # the diagonal survives pooling
    assert table.counts[-1][-1] == 13 and table.css(7, 7) == "ok"  # pooled, yet right
    assert table.wrong_total == 0


def test_set_table_counts_misses_and_extras() -> None:
    rows = set_table([["a"], ["a", "b"], ["b"]], [["a", "c"], ["a"], MISSING])
    by_label = {r.label: r for r in rows}
    assert (by_label["b"].gold, by_label["b"].missed) == (2, 2)
    assert (by_label["c"].predicted, by_label["c"].extra) == (1, 1)
    assert "a" not in by_label  # never wrong, so not listed


def test_paired_difference_is_centred_on_the_gap() -> None:
    rng = np.random.default_rng(1)
    a = (rng.random((400, 3)) < 0.9).astype(float)
    b = a.copy()
    b[:40, 0] = 0.0  # b loses up to 40 rows on one field
    table = pairwise({"a": a, "b": b, "c": a.copy()}, ["x", "y", "z"], Resamples(400, 300))
    lead = table.get("a", "b")
    assert lead is not None
    expected = (a.mean(axis=0) - b.mean(axis=0)).mean() * 100
    assert np.isclose(lead.diff, expected)
    assert 0 < lead.lo <= lead.diff <= lead.hi
    same = table.get("a", "c")
    assert same is not None and (same.diff, same.lo, same.hi, same.p) == (0.0, 0.0, 0.0, 1.0)


def test_values_render_compactly() -> None:
    assert show(["helmand", "kabul"]) == "helmand, kabul"
    assert show([""]) == '""' and show([]) == "[]"
    assert show(True) == "true" and show(None) == "null" and show(MISSING) == "(missing)"
    assert show("x" * 100).endswith("…") and len(show("x" * 100)) == 40
    assert typed("2") == '"2"' and typed(2) == "2" and typed('a"b') == '"a\\"b"'
