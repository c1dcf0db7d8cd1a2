"""Calibrated abstention: raw confidences become measured shares right, per field."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from fieldwise.data import load_examples, train_test_split
from fieldwise.models import create_model
from fieldwise.models.baseline import BaselineModel
from fieldwise.models.baseline._calibration import (
    calibrated,
    fit_calibration,
    load_calibration,
)
from fieldwise.tasks import Example, Task, load_task
from tests.finetune.mini_task import MINI, mini_examples


def test_bands_follow_how_often_the_field_is_right() -> None:
    examples = mini_examples(40)

    def train_and_predict(train: list[Example], held: list[Example]) -> list[dict[str, Any]]:
        # "people" is right exactly when its confidence is high; "city" always, at 1.0.
        rows = []
        for ex in held:
            gold = ex.gold or {}
            good = int(ex.id[1:]) % 2 == 0
            people = gold["people"] if good else -1
            rows.append({"people": (people, 0.9 if good else 0.2), "city": (gold["city"], 1.0)})
        return rows

    table = fit_calibration(MINI, examples, train_and_predict, k=4)
    assert calibrated(table, "people", 0.1) == 0.0
    assert calibrated(table, "people", 0.95) == 1.0
    assert table["city"] == [[1.0, 1.0]]  # tied confidences pool into one band
    shares = [share for _, share in table["people"]]
    assert shares == sorted(shares)
    assert calibrated({}, "people", 0.37) == 0.37  # no table: the raw confidence


@pytest.mark.slow
def test_abstaining_baseline_answers_what_it_gets_right(tmp_path: Path) -> None:
    isaf: Task = load_task("isaf")
    train, test = train_test_split(load_examples(isaf, "sample").examples, 0.3, seed=1)
    opts = BaselineModel.Options(calibration_folds=3)
    model_dir = BaselineModel.train(isaf, train, tmp_path / "m", opts)
    table = load_calibration(model_dir)
    assert set(table) == {f.name for f in isaf.scored_fields}

    def outputs(abstain: bool) -> list[dict[str, Any]]:
        # 0.7, not the default 0.5: on this small sample the count fields' lowest bands
        # are right 55-67% of the time, so a 0.5 bar may leave nothing to abstain on.
        opts = {"abstain": abstain, "abstain_below": 0.7}
        model = create_model(f"baseline/{model_dir}", isaf, opts)
        gens = asyncio.run(model.generate(test))
        return [json.loads(g.output or "{}") for g in gens]

    guessed, abstained = outputs(False), outputs(True)
    nulls = right_when_null = right_overall = cells = 0
    for ex, g, a in zip(test, guessed, abstained, strict=True):
        for spec in isaf.scored_fields:
            right = g[spec.name] == (ex.gold or {})[spec.name]
            cells += 1
            right_overall += right
            if a[spec.name] is None:
                nulls += 1
                right_when_null += right
            else:
                assert a[spec.name] == g[spec.name]  # abstention never changes an answer
    assert 0 < nulls < cells * 0.2
    # where it abstains it is wrong more often than on average
    assert right_when_null / nulls < right_overall / cells
