"""The strict profile: normalisation, set F1, type checks, abstention (ISAF task)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from fieldwise.scoring import score_outputs
from tests.scoring.helpers import DROP, ISAF, ISAF_GOLD, isaf_pred


def strict(output: str | None, gold: dict[str, Any] = ISAF_GOLD) -> dict[str, float]:
    return score_outputs(ISAF, [gold], [output], profiles=("strict",), n_boot=0)["strict"].fields


def test_perfect_prediction() -> None:
    assert set(strict(isaf_pred()).values()) == {1.0}


@pytest.mark.parametrize(
    ("field", "gold", "pred"),
    [
        ("province", ["sar-e pul"], ["sar_e_pul"]),  # alias on the gold side
        ("province", ["sar_e_pul"], "Sar-e Pul"),  # alias + case + bare string
        ("province", ["day_kundi"], ["Day Kundi"]),  # spacing variant of an enum label
        ("province", ["ghazni"], [" GHAZNI "]),
        ("target_group", ["criminal"], ["criminals"]),
        ("target_group", ["aq;taliban"], ["taliban", "aq"]),  # ';' splits
        ("target_group", [""], []),  # "no group named", three spellings
        ("target_group", [""], ["none"]),
        ("event_type", ["insurgentskilled;detention"], ["detention", "insurgents killed"]),
    ],
)
def test_normalisation_makes_equivalent_labels_match(field: str, gold: Any, pred: Any) -> None:
    assert strict(isaf_pred(**{field: pred}), {**ISAF_GOLD, field: gold})[field] == 1.0


def test_reference_does_not_normalise_the_same_labels() -> None:
    gold = {**ISAF_GOLD, "province": ["sar-e pul"]}
    out = score_outputs(ISAF, [gold], [isaf_pred(province=["sar_e_pul"])], n_boot=0)
    assert out["reference"].fields["province"] == 0.0
    assert out["strict"].fields["province"] == 1.0


@pytest.mark.parametrize(
    ("pred", "expected"),
    [
        (["insurgentskilled", "captureandkill"], 2 / 3),  # over-prediction costs
        (["captureandkill"], 0.0),
        ([], 0.0),
        (["insurgentskilled", "insurgentskilled"], 1.0),
        ([1], 0.0),  # non-string element: wrong type
        ({"insurgentskilled": 1}, 0.0),
        ([["insurgentskilled"]], 0.0),  # unhashable element
    ],
)
def test_set_f1(pred: Any, expected: float) -> None:
    assert strict(isaf_pred(event_type=pred))["event_type"] == pytest.approx(expected)


def test_set_f1_two_of_three() -> None:
    gold = {**ISAF_GOLD, "target_group": ["aq;taliban"]}
    assert strict(isaf_pred(target_group=["taliban", "haqqani"]), gold)[
        "target_group"
    ] == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("min_killed", 1, 1.0),
        ("min_killed", True, 0.0),  # a bool is not an int here
        ("min_killed", 1.0, 0.0),
        ("min_killed", "1", 0.0),
        ("min_leaders_killed", True, 0.0),
        ("killq", True, 1.0),
        ("killq", 1, 0.0),  # an int is not a bool
        ("killq", "true", 0.0),
        ("captureq", 0, 0.0),
        ("start_date", "2013-01-24", 1.0),
        ("start_date", " 2013-01-24\n", 1.0),
        ("start_date", "2013-1-24", 0.0),
        ("start_date", "24/01/2013", 0.0),
        ("start_date", "2013-01-24T00:00:00", 0.0),
        ("start_date", 20130124, 0.0),
    ],
)
def test_type_checks(field: str, value: Any, expected: float) -> None:
    assert strict(isaf_pred(**{field: value}))[field] == expected


def test_invalid_date_never_matches_even_if_gold_is_the_same_string() -> None:
    gold = {**ISAF_GOLD, "start_date": "2013-02-30"}
    assert strict(isaf_pred(start_date="2013-02-30"), gold)["start_date"] == 0.0


@pytest.mark.parametrize("abstain", [None, "unknown", " Unknown "])
@pytest.mark.parametrize("field", ["start_date", "province", "min_killed", "killq"])
def test_abstention_is_nan_and_lowers_coverage(field: str, abstain: Any) -> None:
    golds = [ISAF_GOLD] * 4
    outputs = [isaf_pred(**{field: abstain})] + [isaf_pred()] * 2 + [isaf_pred(**{field: "x"})]
    score = score_outputs(ISAF, golds, outputs, profiles=("strict",), n_boot=0)["strict"]
    j = score.field_names.index(field)
    assert math.isnan(score.per_row[0, j])
    assert score.fields[field] == pytest.approx(2 / 3)  # 2 right, 1 wrong, 1 abstained
    assert score.coverage[field] == 0.75
    assert score.coverage["airstrike"] == 1.0


def test_missing_key_and_unparseable_output_are_not_abstentions() -> None:
    golds = [ISAF_GOLD] * 2
    score = score_outputs(ISAF, golds, [isaf_pred(killq=DROP), "oops"], n_boot=0)["strict"]
    assert not np.isnan(score.per_row).any()
    assert score.fields["killq"] == 0.0
    assert score.coverage["killq"] == 1.0


def test_all_abstained_field_is_nan_and_left_out_of_the_aggregate() -> None:
    score = score_outputs(ISAF, [ISAF_GOLD], [isaf_pred(killq=None)], n_boot=0)["strict"]
    assert math.isnan(score.fields["killq"])
    assert score.coverage["killq"] == 0.0
    assert score.aggregate == 100.0  # mean over the 12 answered fields
