"""Metrics are registered objects; profiles are policy that every metric scores under."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Annotated, Any, ClassVar

import numpy as np
import pytest
from pydantic import BaseModel

from fieldwise import registry
from fieldwise.errors import UserError
from fieldwise.metrics import LeafMetric, MetricParams
from fieldwise.scoring import PROFILES, Profile, register_profile, score_outputs
from fieldwise.tasks import Metric, Task


class Parity(LeafMetric):
    """Only the per-value rule: the column path loops over it."""

    name: ClassVar[str] = "test_parity"
    kinds: ClassVar[tuple[str, ...]] = ("int",)

    class Params(MetricParams):
        modulo: int = 2

    def score_value(self, field: Any, pred: Any, gold: Any, policy: Any) -> float:
        return float(pred % self.params.modulo == gold % self.params.modulo)


@pytest.fixture
def parity() -> Iterator[None]:
    registry.metrics.register("test_parity", Parity)
    yield
    registry.metrics.unregister("test_parity")


def _task(metric: Metric) -> Task:
    class Out(BaseModel):
        n: Annotated[int, metric]
        tags: list[str]

    return Task.from_model("t", Out)


def test_one_class_and_one_registration_make_a_metric(parity: None) -> None:
    task = _task(Metric("test_parity", modulo=3))
    golds = [{"n": 4, "tags": ["a"]}] * 4
    outputs = [json.dumps({"n": n, "tags": ["a"]}) for n in (7, 5, "x", None)]
    scores = score_outputs(task, golds, outputs, n_boot=0)
    # 7 % 3 == 4 % 3; 5 does not; a string raises inside the metric: 0, not a crash
    assert scores["reference"].path_rows["n"].tolist() == [1.0, 0.0, 0.0, 0.0]
    strict = scores["strict"].path_rows["n"]  # strict keeps the metric, adds abstention
    assert strict[:3].tolist() == [1.0, 0.0, 0.0] and np.isnan(strict[3])


def test_a_metric_without_a_scoring_rule_is_refused() -> None:
    with pytest.raises(TypeError, match="must implement score_value or score"):

        class Nothing(LeafMetric):
            name: ClassVar[str] = "nothing"


@pytest.mark.parametrize(
    ("metric", "message"),
    [
        (Metric("test_parity", modulo="x"), "metric 'test_parity' parameter 'modulo'"),
        (Metric("test_parity", base=2), "metric 'test_parity' has no parameter 'base'"),
        (Metric("number", rel=0.1), None),
        (Metric("number", rel=-0.1), "tolerances must be >= 0"),
        (Metric("date"), None),
    ],
)
def test_parameters_are_validated_at_task_load(
    parity: None, metric: Metric, message: str | None
) -> None:
    if message is None:
        assert _task(metric).field("n").metric == metric
        return
    with pytest.raises(UserError, match=f"field 'n': {message}"):
        _task(metric)


class LabelsOnly(Profile):
    """An old-style profile that scores label sets itself, and says so."""

    name: ClassVar[str] = "test-labels-only"
    metrics: ClassVar[frozenset[str] | None] = frozenset({"set_recall"})

    def score(self, spec: Any, preds: np.ndarray, gold: Any) -> np.ndarray:
        return np.ones(len(preds))


class Folded(Profile):
    """Policy only: the reference metrics, with labels normalised."""

    name: ClassVar[str] = "test-folded"
    normalise: ClassVar[bool] = True


@pytest.fixture
def profiles() -> Iterator[None]:
    register_profile(LabelsOnly)
    register_profile(Folded)
    yield
    PROFILES.pop(LabelsOnly.name)
    PROFILES.pop(Folded.name)


def test_a_profile_that_cannot_score_a_metric_refuses_the_task(profiles: None) -> None:
    task = _task(Metric("int_equal"))
    with pytest.raises(
        UserError,
        match="profile 'test-labels-only' cannot score field 'n' \\(metric 'int_equal'\\)",
    ):
        score_outputs(task, [{"n": 1, "tags": []}], ["{}"], profiles=(LabelsOnly.name,))


def test_a_policy_only_profile_scores_every_metric(profiles: None) -> None:
    task = _task(Metric("number", abs=1))
    golds = [{"n": 10, "tags": ["Fire", "shock"]}]
    out = json.dumps({"n": 11, "tags": ["fire ", "SHOCK", "extra"]})
    scores = score_outputs(task, golds, [out], profiles=("reference", Folded.name), n_boot=0)
    assert scores["reference"].fields == {"n": 1.0, "tags": 0.0}
    assert scores[Folded.name].fields == {"n": 1.0, "tags": 1.0}  # recall, normalised


def test_strict_rereads_the_lenient_metrics_by_kind() -> None:
    task = _task(Metric("equal"))
    golds = [{"n": 1, "tags": ["a"]}] * 3
    outputs = [
        json.dumps({"n": v, "tags": t})
        for v, t in ((True, ["a", "b"]), (1.0, ["A"]), (1, "unknown"))
    ]
    scores = score_outputs(task, golds, outputs, n_boot=0)
    assert scores["reference"].per_row.tolist() == [[1.0, 1.0], [1.0, 0.0], [1.0, 0.0]]
    strict = scores["strict"].per_row
    assert strict[:2].tolist() == [[0.0, 2 / 3], [0.0, 1.0]]  # a real int; set F1, normalised
    assert strict[2, 0] == 1.0 and np.isnan(strict[2, 1])  # "unknown" is an abstention


def test_a_profile_written_the_older_way_scores_nested_leaves_itself() -> None:
    class Halves(Profile):
        name: ClassVar[str] = "test-halves"

        def score(self, spec: Any, preds: np.ndarray, gold: Any) -> np.ndarray:
            assert len(gold) == len(preds) and not isinstance(gold, tuple)  # as given
            return np.full(len(preds), 0.5)

    class Inner(BaseModel):
        a: int
        b: str

    class Out(BaseModel):
        inner: Inner
        items: list[Inner]

    task = Task.from_model("t", Out)
    gold = {"inner": {"a": 1, "b": "x"}, "items": [{"a": 1, "b": "x"}]}
    register_profile(Halves)
    try:
        score = score_outputs(task, [gold], [json.dumps(gold)], profiles=(Halves.name,), n_boot=0)
    finally:
        PROFILES.pop(Halves.name)
    rows = score[Halves.name].path_rows
    assert rows["inner.a"].tolist() == [0.5] and rows["inner.b"].tolist() == [0.5]
    assert rows["items[].a"].tolist() == [0.5]  # one pair of similarity 0.5: kept at 0.5
