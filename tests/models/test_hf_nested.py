"""A nested schema through the hf backend with xgrammar: every output validates."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from fieldwise.models import create_model
from fieldwise.models.hf import HFModel
from tests.models.conftest import examples
from tests.models.nested_small import NESTED_SMALL_TASK, Incident

pytest.importorskip("torch")
pytest.importorskip("transformers")


@pytest.mark.slow
def test_constrained_nested_outputs_validate(tiny_model_dir: Path) -> None:
    pytest.importorskip("xgrammar")
    model = create_model(
        f"hf/{tiny_model_dir}", NESTED_SMALL_TASK, {"max_tokens": 160, "constrained": True}
    )
    assert isinstance(model, HFModel)
    gens = asyncio.run(model.generate(examples(4)))
    for gen in gens:
        assert gen.finish_reason == "stop"
        value = Incident.model_validate_json(gen.output or "")
        assert 1 <= len(value.actors) <= 2  # the list of records was really written
