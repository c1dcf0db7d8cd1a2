"""Small builders shared by the runner tests."""

from __future__ import annotations

from fieldwise.models import Model, create_model
from fieldwise.tasks import Example, Task
from tests.fakes.openai_server import FakeServer


def docs(n: int) -> list[Example]:
    """``n`` unlabelled examples whose texts carry a unique ``[doc-NNN]`` marker."""
    return [
        Example(f"e{i}", f"[doc-{i:03d}] Coalition forces detained {i} suspects.") for i in range(n)
    ]


def marker(i: int) -> str:
    return f"[doc-{i:03d}]"


def openai_model(server: FakeServer, task: Task, **options: object) -> Model:
    return create_model("openai/fake-model", task, {"base_url": server.url, **options})
