"""Shared data for the optimisation tests: the ISAF sample split three ways by group."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fieldwise.data import load_examples
from fieldwise.data.splits import train_test_split
from fieldwise.tasks import Example, Task, load_task


@pytest.fixture(scope="session")
def isaf() -> Task:
    return load_task("isaf")


@pytest.fixture(scope="session")
def splits(isaf: Task) -> tuple[list[Example], list[Example], list[Example]]:
    """(train, val, test): test is 30% of the sample, val 25% of the rest."""
    rows = load_examples(isaf, "sample").examples
    rest, test = train_test_split(rows, 0.3, 0)
    train, val = train_test_split(rest, 0.25, 1)
    return train, val, test


def write_rows(path: Path, rows: list[Example]) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for ex in rows:
            fh.write(json.dumps({"id": ex.id, "text": ex.text, **(ex.gold or {})}) + "\n")
    return path
