"""Record alignment memory is bounded (issue 15 §4: one row of 5,000 x 5,000 records took
3.7 GB): a prediction is aligned on at most ``MAX_PAIRS // |gold|`` of its records, and a
gold value over ``MAX_GOLD_RECORDS`` records is a one-line error."""

from __future__ import annotations

import json
import tracemalloc

import pytest

from fieldwise.errors import UserError
from fieldwise.scoring import prepare_golds, score_outputs
from fieldwise.scoring._pairs import MAX_GOLD_RECORDS, MAX_PAIRS
from tests.nested_task import INVOICE, invoice, item


def _items(prefix: str, n: int) -> list[dict[str, object]]:
    return [item(f"{prefix}{i}", f"thing number {i}", i % 7, 1.5 * i) for i in range(n)]


def _junk(n: int) -> list[dict[str, object]]:
    """Records like no gold record (every pair below the match threshold)."""
    return [item(f"junk{i}", "~", 999, 0.001, total=-1.0) for i in range(n)]


def _line_items_f1(
    gold_items: list[dict[str, object]], pred_items: list[dict[str, object]]
) -> float:
    gold = invoice(line_items=gold_items)
    pred = json.dumps(invoice(line_items=pred_items))
    scores = score_outputs(INVOICE, prepare_golds(INVOICE, [gold]), [pred], ("reference",))
    return scores["reference"].fields["line_items"]


@pytest.mark.slow
def test_a_huge_prediction_is_aligned_in_bounded_memory() -> None:
    gold = _items("S", MAX_GOLD_RECORDS)
    pred = gold + _junk(4 * MAX_GOLD_RECORDS)  # 5,000 records: 5M pairs unbounded
    tracemalloc.start()
    try:
        f1 = _line_items_f1(gold, pred)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 400 * 2**20, peak  # ~150 MB; all 5M pairs took ~750 MB
    assert f1 == pytest.approx(2 * 1000 / (1000 + 5000))  # every extra record counts in |P|


def test_records_past_the_pair_budget_are_never_matched() -> None:
    gold = _items("S", 400)
    budget = MAX_PAIRS // 400
    junk = _junk(budget)
    assert _line_items_f1(gold, junk + gold) == 0.0  # the right ones come too late
    assert _line_items_f1(gold, gold + junk) == pytest.approx(2 * 400 / (400 + 400 + budget))


def test_a_gold_value_over_the_limit_is_one_line() -> None:
    gold = _items("S", MAX_GOLD_RECORDS + 1)
    with pytest.raises(UserError, match=r"records field 'line_items': a gold value has 1,001"):
        _line_items_f1(gold, gold[:2])
