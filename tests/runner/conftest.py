"""Fixtures for runner tests: the fake OpenAI and batch servers, a store and the ISAF task."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fieldwise.store import Store
from fieldwise.tasks import Task, load_task
from tests.fakes.batch_server import fake_batches  # noqa: F401 - re-exported fixture
from tests.fakes.openai_server import fake_openai  # noqa: F401 - re-exported fixture


@pytest.fixture
def isaf() -> Task:
    return load_task("isaf")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "project") as s:
        yield s
