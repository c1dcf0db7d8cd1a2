"""Each reference metric's rules and edge cases, one field at a time (tiny task)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from fieldwise.scoring import score_outputs
from tests.scoring.helpers import DROP, TINY, TINY_GOLD, tiny_pred


def ref(output: str | None, gold: dict[str, Any] = TINY_GOLD) -> dict[str, float]:
    return score_outputs(TINY, [gold], [output], profiles=("reference",), n_boot=0)[
        "reference"
    ].fields


def test_perfect_prediction_scores_one_everywhere_and_ignore_is_unscored() -> None:
    fields = ref(tiny_pred())
    assert fields == dict.fromkeys(["day", "tags", "all_tags", "count", "leaders", "flag"], 1.0)
    assert "title" not in fields


@pytest.mark.parametrize(
    ("value", "expected"),
    [("2020-02-29", 1.0), ("2020-02-28", 0.0), ("", 0.0), (None, 0.0), (DROP, 0.0), ([], 0.0)],
)
def test_exact(value: Any, expected: float) -> None:
    assert ref(tiny_pred(day=value))["day"] == expected


def test_exact_empty_gold_never_matches() -> None:
    assert ref(tiny_pred(day=""), {**TINY_GOLD, "day": ""})["day"] == 0.0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (["a", "b"], 1.0),
        (["b", "a", "a"], 1.0),  # order and duplicates do not matter
        (["a"], 0.0),
        (["a", "b", "c"], 0.0),  # set equality: extras cost
        ("a", 0.0),
        ([["a"], "b"], 0.0),  # unhashable element: wrong shape
        ({"a": 1, "b": 2}, 0.0),  # a dict is not a list, even if its keys match
        (1, 0.0),
        (DROP, 0.0),
    ],
)
def test_set_equal(value: Any, expected: float) -> None:
    assert ref(tiny_pred(all_tags=value))["all_tags"] == expected


def test_set_equal_bare_string_is_one_element_list() -> None:
    gold = {**TINY_GOLD, "all_tags": ["a"]}
    assert ref(tiny_pred(all_tags="a"), gold)["all_tags"] == 1.0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (["a", "b"], 1.0),
        (["a", "b", "c", "zzz"], 1.0),  # over-prediction is free
        (["a"], 0.5),
        ("b", 0.5),  # bare string counts as a one-element list
        (["A", "B"], 0.0),  # no case folding
        (["a;b"], 0.0),  # no splitting
        ([], 0.0),
        ([{"x": 1}], 0.0),
        (None, 0.0),
    ],
)
def test_set_recall(value: Any, expected: float) -> None:
    assert ref(tiny_pred(tags=value))["tags"] == expected


def test_set_recall_gold_empty_string_label() -> None:
    gold = {**TINY_GOLD, "tags": [""]}  # ISAF's "no group named"
    assert ref(tiny_pred(tags=[""]), gold)["tags"] == 1.0
    assert ref(tiny_pred(tags=["", "a"]), gold)["tags"] == 1.0
    assert ref(tiny_pred(tags=[]), gold)["tags"] == 0.0


def test_set_recall_empty_gold_set_falls_back_to_equality() -> None:
    gold = {**TINY_GOLD, "tags": []}
    assert ref(tiny_pred(tags=[]), gold)["tags"] == 1.0
    assert ref(tiny_pred(tags=["a"]), gold)["tags"] == 0.0


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("count", 1, 1.0),
        ("count", True, 1.0),  # Python ==: 1 == true
        ("count", 1.0, 1.0),
        ("count", "1", 0.0),
        ("count", 2, 0.0),
        ("count", None, 0.0),
        ("flag", True, 1.0),
        ("flag", 1, 1.0),  # 1 == true again, the other way round
        ("flag", "true", 0.0),
        ("flag", DROP, 0.0),
    ],
)
def test_equal(field: str, value: Any, expected: float) -> None:
    assert ref(tiny_pred(**{field: value}))[field] == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1, 1.0), (2, 0.0), (True, 0.0), (1.0, 0.0), ("1", 0.0), ([1], 0.0), (DROP, 0.0)],
)
def test_int_equal_needs_a_json_integer(value: Any, expected: float) -> None:
    assert ref(tiny_pred(leaders=value))["leaders"] == expected


@pytest.mark.parametrize("output", [None, "", "not json", '```json\n{"day": 1}\n```', "[]", "7"])
def test_unparseable_output_scores_zero_on_every_field(output: str | None) -> None:
    assert set(ref(output).values()) == {0.0}


def test_extra_keys_are_ignored() -> None:
    assert set(ref(tiny_pred(extra={"deep": [1, 2]})).values()) == {1.0}


def _oracle(metric: str, pred: Any, gold: Any) -> float:
    """The reference rules written the slow, obvious way, one cell at a time."""

    def as_set(v: Any) -> set[Any] | None:
        if isinstance(v, str):
            v = [v]
        if not isinstance(v, list):
            return None
        try:
            return set(v)
        except TypeError:
            return None

    if metric == "exact":
        return float(pred not in (None, "", [], {}) and pred == gold)
    if metric == "equal":
        return float(pred == gold)
    if metric == "int_equal":
        return float(type(pred) is int and pred == gold)
    p, g = as_set(pred), as_set(gold)
    if p is None or g is None:
        return 0.0
    if metric == "set_equal":
        return float(p == g)
    return len(p & g) / len(g) if g else float(not p)


def test_vectorised_reference_matches_a_cell_by_cell_oracle() -> None:
    import json
    import random

    rng = random.Random(0)
    pool: list[Any] = [
        ["a"], ["a", "b"], ["b", "a", "c"], "a", "", [], [""], ["a", ["x"]], 1, 1.0, True,
        False, 0, "1", None, {"a": 1}, "2020-02-29", "2020-02-28", [1], ["A"],
    ]  # fmt: skip
    specs = [s for s in TINY.fields if s.scored]
    golds, outputs = [], []
    for _ in range(300):
        gold = {s.name: rng.choice(pool) for s in specs}
        pred = {s.name: rng.choice(pool) for s in specs if rng.random() < 0.9}
        golds.append(gold)
        outputs.append(json.dumps(pred))
    score = score_outputs(TINY, golds, outputs, profiles=("reference",), n_boot=0)["reference"]
    for i, (gold, out) in enumerate(zip(golds, outputs, strict=True)):
        pred = json.loads(out)
        for j, spec in enumerate(specs):
            want = _oracle(spec.metric.name, pred.get(spec.name, object()), gold[spec.name])
            if gold[spec.name] is None:  # no gold, no score
                assert np.isnan(score.per_row[i, j])
            else:
                assert score.per_row[i, j] == want, (spec.name, pred.get(spec.name), gold)
