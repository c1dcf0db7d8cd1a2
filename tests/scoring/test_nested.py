"""Nested scoring, rule by rule, against hand-computed values (docs/nested-schemas.md)."""

from __future__ import annotations

import json
import math
from typing import Annotated, Any

import numpy as np
import pytest
from pydantic import BaseModel

from fieldwise.scoring import ModelScore, score_outputs
from fieldwise.tasks import Metric, Task
from tests.nested_task import INVOICE, KEYED, invoice, item

NAN = math.nan


def run(task: Task, golds: list[dict[str, Any]], preds: list[Any]) -> dict[str, ModelScore]:
    """Score Python-object predictions (``None`` = no output at all), no bootstrap."""
    outputs = [p if p is None or isinstance(p, str) else json.dumps(p) for p in preds]
    return score_outputs(task, golds, outputs, n_boot=0)


def rows(score: ModelScore, path: str) -> list[float]:
    return score.path_rows[path].tolist()


def same(got: list[float], want: list[float]) -> bool:
    return bool(np.allclose(got, want, equal_nan=True))


class Cell(BaseModel):
    c1: int
    c2: int
    c3: int
    c4: int
    c5: int


class Grid(BaseModel):
    cells: list[Cell]


GRID = Task.from_model("grid", Grid)


def cells(*values: tuple[int, ...]) -> dict[str, Any]:
    return {"cells": [dict(zip(("c1", "c2", "c3", "c4", "c5"), v, strict=True)) for v in values]}


class Pair(BaseModel):
    a: str
    b: int


class Pairs(BaseModel):
    items: list[Pair]


PAIRS = Task.from_model("pairs", Pairs)


def pairs(*values: tuple[str, int]) -> dict[str, Any]:
    return {"items": [{"a": a, "b": b} for a, b in values]}


# --- records: edge cases -------------------------------------------------------------


@pytest.mark.parametrize(
    ("gold", "pred", "reference", "strict"),
    [
        ([], [], 1.0, 1.0),  # both empty
        ([], [{"a": "x", "b": 1}], 0.0, 0.0),  # gold empty, prediction not
        ([{"a": "x", "b": 1}], [], 0.0, 0.0),  # nothing predicted
        ([{"a": "x", "b": 1}], "x", 0.0, 0.0),  # not a list
        ([{"a": "x", "b": 1}], {"a": "x", "b": 1}, 0.0, 0.0),  # an object, not a list
        ([{"a": "x", "b": 1}], None, 0.0, NAN),  # null: the strict profile's abstention
        ([], None, 0.0, NAN),
    ],
)
def test_records_edge_cases(gold: Any, pred: Any, reference: float, strict: float) -> None:
    scores = run(PAIRS, [{"items": gold}], [{"items": pred}])
    assert same(scores["reference"].per_row[:, 0].tolist(), [reference])
    assert same(scores["strict"].per_row[:, 0].tolist(), [strict])


def test_missing_records_key_and_unparseable_output_score_zero() -> None:
    gold = pairs(("x", 1))
    for profile in ("reference", "strict"):
        got = run(PAIRS, [gold, gold], [{}, "not json"])[profile]
        assert got.per_row[:, 0].tolist() == [0.0, 0.0]
        assert rows(got, "items[].a") == [0.0, 0.0]


def test_similarity_exactly_at_the_threshold_matches() -> None:
    # s = mean(a right, b wrong) = 0.5: kept at the default threshold 0.5.
    gold, pred = pairs(("x", 1)), pairs(("x", 2))
    got = run(PAIRS, [gold], [pred])["reference"]
    assert got.per_row[0, 0] == 0.5  # TP 0.5, P = R = 0.5, F1 0.5
    assert got.records_rows["items"].tolist() == [[0.5, 0.5, 0.5]]
    assert rows(got, "items[].a") == [1.0] and rows(got, "items[].b") == [0.0]
    above = Task.from_model("p", Pairs, metrics={"items": Metric.records(match_threshold=0.51)})
    got = run(above, [gold], [pred])["reference"]
    assert got.per_row[0, 0] == 0.0
    assert rows(got, "items[].a") == [0.0]  # an unmatched gold record scores 0 on every leaf
    zero = Task.from_model("p", Pairs, metrics={"items": Metric.records(match_threshold=0.0)})
    got = run(zero, [pairs(("x", 1))], [pairs(("y", 2))])["reference"]
    assert got.per_row[0, 0] == 0.0  # s = 0 is never a match, whatever the threshold


def test_hungarian_maximises_the_total_not_the_first_pick() -> None:
    # s(g1, p1) = 0.8, s(g1, p2) = 0.6, s(g2, p1) = 0.6, s(g2, p2) = 0.
    # Greedy would take g1-p1 (total 0.8); the optimum is g1-p2 + g2-p1 = 1.2.
    gold = cells((1, 1, 1, 1, 1), (1, 1, 2, 2, 2))
    pred = cells((1, 1, 1, 1, 2), (3, 3, 1, 1, 1))
    got = run(GRID, [gold], [pred])["reference"]
    assert got.per_row[0, 0] == pytest.approx(2 * 1.2 / 4)
    assert got.records["cells"] == pytest.approx({"precision": 0.6, "recall": 0.6, "f1": 0.6})
    # g1 is matched to p2 (3,3,1,1,1), g2 to p1 (1,1,1,1,2): per-leaf means over gold records
    assert rows(got, "cells[].c1") == [0.5]  # g1.c1 1 vs 3, g2.c1 1 vs 1
    assert rows(got, "cells[].c3") == [0.5]  # g1.c3 1 vs 1, g2.c3 2 vs 1
    assert rows(got, "cells[].c5") == [1.0]  # both right


def test_order_of_predicted_records_does_not_matter() -> None:
    gold = cells((1, 2, 3, 4, 5), (6, 7, 8, 9, 10), (0, 0, 0, 0, 0))
    pred = cells((0, 0, 0, 0, 0), (6, 7, 8, 9, 10), (1, 2, 3, 4, 5))
    assert run(GRID, [gold], [pred])["strict"].per_row[0, 0] == 1.0


def test_non_object_element_counts_in_pred_and_matches_nothing() -> None:
    got = run(PAIRS, [pairs(("x", 1))], [{"items": [{"a": "x", "b": 1}, "junk", 3]}])
    ref = got["reference"]
    assert ref.records_rows["items"][0].tolist() == pytest.approx([1 / 3, 1.0, 0.5])
    assert ref.per_row[0, 0] == pytest.approx(0.5)  # 2 * 1 / (3 + 1)


def test_spurious_and_missed_records() -> None:
    gold = pairs(("x", 1), ("y", 2))
    got = run(PAIRS, [gold], [pairs(("y", 2), ("z", 9), ("w", 8))])["reference"]
    assert got.records_rows["items"][0].tolist() == pytest.approx([1 / 3, 0.5, 0.4])
    assert rows(got, "items[].a") == [0.5]  # x unmatched (0), y matched (1)


def test_key_leaves_must_be_exactly_equal() -> None:
    gold = invoice(line_items=[item("A-1", "bolts", 10, 1.0)])
    renamed = invoice(line_items=[item("A-2", "bolts", 10, 1.0)])
    # unkeyed: sku wrong, 4 of 5 leaves right -> s = 0.8, a match
    assert run(INVOICE, [gold], [renamed])["reference"].fields["line_items"] == pytest.approx(0.8)
    assert run(KEYED, [gold], [renamed])["reference"].fields["line_items"] == 0.0


def test_key_equality_is_typed() -> None:
    keyed = Task.from_model("p", Pairs, metrics={"items": Metric.records(key=("b",))})
    gold = pairs(("x", 1))
    for b in (1.0, True, "1"):
        pred = {"items": [{"a": "x", "b": b}]}
        assert run(keyed, [gold], [pred])["reference"].per_row[0, 0] == 0.0, b
    assert run(keyed, [gold], [gold])["reference"].per_row[0, 0] == 1.0


def test_rows_with_empty_gold_lists_leave_the_path_mean() -> None:
    golds = [pairs(), pairs(("x", 1))]
    got = run(PAIRS, golds, [pairs(), pairs(("x", 2))])["reference"]
    assert got.per_row[:, 0].tolist() == [1.0, 0.5]
    assert same(rows(got, "items[].b"), [NAN, 0.0])
    assert got.paths["items[].b"] == 0.0 and got.paths["items[].a"] == 1.0
    # precision undefined without predictions, recall without gold; F1 is the field score
    assert same(got.records_rows["items"][0].tolist(), [NAN, NAN, 1.0])


# --- objects ---------------------------------------------------------------------------


class Parcel(BaseModel):
    weight: Annotated[float, Metric.number(abs=0.1)]


class Shipment(BaseModel):
    carrier: str
    parcels: list[Parcel]


class Consignee(BaseModel):
    city: str
    zip: str | None = None


class Delivery(BaseModel):
    shipment: Shipment
    consignee: Consignee | None = None
    extras: list[Parcel] | None = None


DELIVERY = Task.from_model("delivery", Delivery)


def delivery(**kw: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "shipment": {"carrier": "DHL", "parcels": [{"weight": 1.0}, {"weight": 2.0}]},
        "consignee": {"city": "Lyon", "zip": None},
        "extras": None,
    }
    row.update(kw)
    return row


def test_object_is_the_mean_of_its_children_and_a_child_records_scores_its_f1() -> None:
    pred = delivery(shipment={"carrier": "DHL", "parcels": [{"weight": 1.05}]})
    got = run(DELIVERY, [delivery()], [pred])["reference"]
    # parcels: TP 1, |pred| 1, |gold| 2 -> F1 2/3; shipment = (1 + 2/3) / 2
    assert got.fields["shipment"] == pytest.approx(5 / 6)
    assert got.paths["shipment.carrier"] == 1.0
    assert got.paths["shipment.parcels[].weight"] == 0.5
    assert got.records["shipment.parcels"] == pytest.approx(
        {"precision": 1.0, "recall": 0.5, "f1": 2 / 3}
    )
    assert got.aggregate == pytest.approx((5 / 6 + 1 + 1) / 3 * 100)


@pytest.mark.parametrize("bad", ["DHL", 3, ["DHL"], None])
def test_a_non_object_prediction_scores_zero(bad: Any) -> None:
    got = run(DELIVERY, [delivery()], [delivery(shipment=bad)])
    assert got["reference"].fields["shipment"] == 0.0
    assert got["reference"].paths["shipment.carrier"] == 0.0
    strict = got["strict"].fields["shipment"]
    assert math.isnan(strict) if bad is None else strict == 0.0


def test_omitted_keys_inside_an_object_read_as_null() -> None:
    got = run(DELIVERY, [delivery()], [delivery(consignee={"city": "Lyon"})])
    for profile in ("reference", "strict"):
        assert got[profile].fields["consignee"] == 1.0  # zip: null vs omitted (null)
        assert got[profile].paths["consignee.zip"] == 1.0


def test_null_is_a_value() -> None:
    golds = [delivery(), delivery(), delivery(consignee={"city": "Lyon", "zip": "69001"})]
    preds = [
        delivery(consignee={"city": "Lyon", "zip": "69001"}),  # gold null, pred not: 0
        delivery(consignee=None),  # optional object: gold object, pred null
        delivery(consignee={"city": "Lyon", "zip": None}),  # gold value, pred null: 0
    ]
    got = run(DELIVERY, golds, preds)
    ref, strict = got["reference"], got["strict"]
    assert rows(ref, "consignee.zip") == [0.0, 0.0, 0.0]
    assert same(rows(strict, "consignee.zip"), [0.0, NAN, 0.0])
    assert ref.per_row[:, 1].tolist() == [0.5, 0.0, 0.5]
    # a top-level null is the strict profile's abstention, and then leaves are unscored
    assert same(strict.per_row[:, 1].tolist(), [0.5, NAN, 0.5])
    assert same(rows(strict, "consignee.city"), [1.0, NAN, 1.0])


def test_null_optional_gold_objects_and_records() -> None:
    golds = [delivery(consignee=None, extras=None)] * 3
    preds = [
        delivery(consignee=None, extras=None),
        delivery(consignee={"city": "Lyon"}, extras=[]),
        delivery(),  # consignee object vs gold null
    ]
    for profile in ("reference", "strict"):
        got = run(DELIVERY, golds, preds)[profile]
        assert got.per_row[:, 1].tolist() == [1.0, 0.0, 0.0]  # consignee
        assert got.per_row[:, 2].tolist() == [1.0, 0.0, 1.0]  # extras
        # under a null gold object its leaves have no gold: left out
        assert same(rows(got, "consignee.city"), [NAN, NAN, NAN])


def test_gold_without_a_required_nested_field_is_unscored() -> None:
    got = run(DELIVERY, [delivery(shipment=None), delivery()], [delivery(), delivery()])
    ref = got["reference"]
    assert same(ref.per_row[:, 0].tolist(), [NAN, 1.0])
    assert same(rows(ref, "shipment.carrier"), [NAN, 1.0])


def test_strict_profile_normalises_labels_inside_objects() -> None:
    pred = invoice(vendor={"name": "Acme Widgets GmbH", "country": " DE ", "vat_id": "DE123456789"})
    got = run(INVOICE, [invoice()], [pred])
    assert got["reference"].paths["vendor.country"] == 0.0
    assert got["strict"].paths["vendor.country"] == 1.0


# --- records inside records -------------------------------------------------------------


class Part(BaseModel):
    id: str


class Line(BaseModel):
    sku: str
    parts: list[Part]


class Order(BaseModel):
    lines: list[Line]


ORDER = Task.from_model("order", Order)


def line(sku: str, *parts: str) -> dict[str, Any]:
    return {"sku": sku, "parts": [{"id": p} for p in parts]}


def test_records_inside_records() -> None:
    gold = {"lines": [line("A", "p1", "p2"), line("B", "p3")]}
    pred = {"lines": [line("A", "p1")]}
    got = run(ORDER, [gold], [pred])["reference"]
    # A-A: sku 1, parts F1 2*1/(1+2) = 2/3 -> s = 5/6; B unmatched -> lines F1 2*(5/6)/3
    assert got.fields["lines"] == pytest.approx(5 / 9)
    assert got.paths["lines[].sku"] == 0.5
    assert got.paths["lines[].parts[].id"] == pytest.approx(1 / 3)  # p1 1, p2 0, p3 0


# --- leaf metrics --------------------------------------------------------------------


class Leaves(BaseModel):
    rel: Annotated[float, Metric.number(rel=0.01)]
    tol: Annotated[float, Metric.number(abs=0.5)]
    plain: Annotated[int, Metric.number()]
    name: Annotated[str, Metric.text_similarity()]
    day: Annotated[str, Metric.date()]


LEAVES = Task.from_model("leaves", Leaves)
LEAF_GOLD = {"rel": 100.0, "tol": 1.0, "plain": 3, "name": "kitten", "day": "2024-03-05"}


@pytest.mark.parametrize(
    ("field", "pred", "want"),
    [
        ("rel", 100.9, 1.0),
        ("rel", 101.5, 0.0),
        ("rel", "100", 0.0),
        ("rel", True, 0.0),
        ("tol", 1.5, 1.0),  # |diff| = 0.5: the tolerance itself is inside
        ("tol", 1.51, 0.0),
        ("plain", 3.0, 1.0),
        ("plain", 4, 0.0),
        ("name", "sitting", 4 / 7),  # Levenshtein 3, longer length 7
        ("name", "  KITTEN ", 1.0),
        ("name", 7, 0.0),
        ("day", " 2024-03-05 ", 1.0),
        ("day", "2024-3-5", 0.0),
        ("day", "2024-03-06", 0.0),
    ],
)
def test_leaf_metrics(field: str, pred: Any, want: float) -> None:
    got = run(LEAVES, [LEAF_GOLD], [{**LEAF_GOLD, field: pred}])
    for profile in ("reference", "strict"):
        assert got[profile].fields[field] == pytest.approx(want), profile


def test_large_integers_are_compared_exactly() -> None:
    gold = {**LEAF_GOLD, "plain": 2**60}
    got = run(LEAVES, [gold, gold], [{**gold, "plain": 2**60 + 1}, gold])  # equal as floats
    assert got["reference"].path_rows["plain"].tolist() == [0.0, 1.0]
    items = Task.from_model("p", Pairs, metrics={"items[].b": "number"})
    got = run(items, [pairs(("x", 2**60))], [pairs(("x", 2**60 + 1))])["strict"]
    assert rows(got, "items[].b") == [0.0]


def test_text_similarity_both_empty_and_whitespace() -> None:
    gold = {**LEAF_GOLD, "name": ""}
    got = run(LEAVES, [gold, {**LEAF_GOLD, "name": "a  b"}], [gold, {**LEAF_GOLD, "name": "A b"}])
    assert got["reference"].path_rows["name"].tolist() == [1.0, 1.0]


def test_json_keeps_fields_and_adds_paths_and_records() -> None:
    payload = run(INVOICE, [invoice()], [invoice()])["reference"].to_json()
    assert payload["aggregate"] == 100.0
    assert set(payload["fields"]) == {
        "number",
        "issued",
        "currency",
        "vendor",
        "line_items",
        "po_number",
    }
    assert payload["paths"]["line_items[].unit_price"] == 1.0
    assert list(payload["paths"]) == [s.path for s in INVOICE.leaves()]
    assert payload["records"] == {"line_items": {"precision": 1.0, "recall": 1.0, "f1": 1.0}}


def test_matching_agrees_with_a_plain_hungarian_on_random_rows() -> None:
    """Shortcuts in the matcher (pruning, unique maxima) never change an F1."""
    from scipy.optimize import linear_sum_assignment

    rng = np.random.default_rng(7)
    golds, preds, want = [], [], []
    for _ in range(300):
        g = rng.integers(0, 3, size=(int(rng.integers(0, 5)), 5))
        p = rng.integers(0, 3, size=(int(rng.integers(0, 5)), 5))
        golds.append(cells(*map(tuple, g.tolist())))
        preds.append(cells(*map(tuple, p.tolist())))
        if len(g) == 0:
            want.append(1.0 if len(p) == 0 else 0.0)
            continue
        if len(p) == 0:
            want.append(0.0)
            continue
        sim = (g[:, None, :] == p[None, :, :]).mean(axis=2)
        sim[sim < 0.5] = 0.0
        r, c = linear_sum_assignment(sim, maximize=True)
        want.append(2 * sim[r, c].sum() / (len(g) + len(p)))
    got = run(GRID, golds, preds)["reference"].per_row[:, 0]
    assert np.allclose(got, want)
