"""``number``: the tolerance boundary is inclusive, decided on the numbers as written,
identically in the per-value, the column and the record-pair paths (issue 15 §2)."""

from __future__ import annotations

import json
from fractions import Fraction
from typing import Annotated, Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from fieldwise.metrics import VERBATIM, objects
from fieldwise.scoring import score_outputs
from fieldwise.tasks import Metric, Task


class Item(BaseModel):
    sku: str
    price: Annotated[float, Metric.number(rel=0.05)]
    weight: Annotated[float, Metric.number(abs=0.5)]


class Out(BaseModel):
    price: Annotated[float, Metric.number(rel=0.05)]
    weight: Annotated[float, Metric.number(abs=0.5)]
    items: list[Item]


TASK = Task.from_model("boundary", Out)

# (gold, prediction, right?) for rel=0.05 (price) and abs=0.5 (weight): the cases,
# their mirror images, and values just outside.
PRICES = [(1.2, 1.14, True), (1.2, 1.26, True), (1.14, 1.2, True), (1.2, 1.139, False)]
WEIGHTS = [(64.4, 63.9, True), (63.9, 64.4, True), (64.4, 64.9, True), (64.4, 63.89, False)]


def _scorer(path: str) -> Any:
    return TASK.spec_at(path).metric.scorer()


@pytest.mark.parametrize(("gold", "pred", "right"), PRICES + WEIGHTS)
def test_per_value(gold: float, pred: float, right: bool) -> None:
    path = "price" if (gold, pred, right) in PRICES else "weight"
    spec = TASK.spec_at(path)
    assert _scorer(path).score_value(spec, pred, gold, VERBATIM) == float(right)


def test_columns_and_record_pairs_under_both_profiles() -> None:
    golds, outputs, want = [], [], []
    for (gp, pp, rp), (gw, pw, rw) in zip(PRICES, WEIGHTS, strict=True):
        golds.append(
            {"price": gp, "weight": gw, "items": [{"sku": "a", "price": gp, "weight": gw}]}
        )
        outputs.append(
            json.dumps(
                {"price": pp, "weight": pw, "items": [{"sku": "a", "price": pp, "weight": pw}]}
            )
        )
        want.append((float(rp), float(rw)))
    for score in score_outputs(TASK, golds, outputs, n_boot=0).values():
        rows = score.path_rows
        assert list(zip(rows["price"], rows["weight"], strict=True)) == want
        assert list(zip(rows["items[].price"], rows["items[].weight"], strict=True)) == want


def _fraction(text: str) -> Fraction:
    return Fraction(text)


decimals = st.integers(-(10**6), 10**6).map(lambda n: f"{n / 100:.2f}")


@settings(max_examples=300, deadline=None)
@given(
    gold=decimals,
    step=st.integers(-300, 300),
    rel=st.sampled_from(["0", "0.05", "0.01", "0.1", "0.25"]),
    tol=st.sampled_from(["0", "0.5", "0.25", "0.01", "1.1"]),
)
def test_all_paths_agree_with_exact_arithmetic(gold: str, step: int, rel: str, tol: str) -> None:
    """Predictions around the boundary: the float column, the record pairs and the per-value
    path all equal the exact (rational) answer on the decimals as written."""
    g = Fraction(gold)
    bound = max(Fraction(rel) * abs(g), Fraction(tol))
    pred = g + bound + Fraction(step, 100)  # on, inside and outside the boundary
    pred_text = f"{float(pred)!r}"
    p = Fraction(pred_text)
    exact = abs(p - g) <= max(Fraction(rel) * max(abs(p), abs(g)), Fraction(tol))
    metric = Metric.number(rel=float(rel), abs=float(tol))
    scorer = metric.scorer()
    spec = TASK.spec_at("price")
    gold_v, pred_v = float(gold), float(pred_text)
    prepared = scorer.prepare_gold(spec, [gold_v], VERBATIM)
    column = scorer.score(spec, objects([pred_v], 1), prepared, VERBATIM)[0]
    assert scorer.score_value(spec, pred_v, gold_v, VERBATIM) == float(exact)
    assert column == float(exact)


def test_no_tolerance_means_equal_and_big_integers_stay_exact() -> None:
    scorer = Metric.number().scorer()
    spec = TASK.spec_at("price")
    golds = [3, 2**60, 1.5, 2.0]
    preds = [3.0, 2**60 + 1, 1.5000001, True]
    got = scorer.score(
        spec, objects(preds, 4), scorer.prepare_gold(spec, golds, VERBATIM), VERBATIM
    )
    assert got.tolist() == [1.0, 0.0, 0.0, 0.0]
    assert [
        scorer.score_value(spec, p, g, VERBATIM) for p, g in zip(preds, golds, strict=True)
    ] == got.tolist()
    assert np.isfinite(got).all()
