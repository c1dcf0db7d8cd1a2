"""Fixtures: a tiny random Llama model whose tokenizer covers the mini task's prompts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fieldwise.finetune.tiny import build_tiny_model
from fieldwise.tasks import Example, Task
from fieldwise.tasks.prompts import render_messages, render_target
from tests.finetune.mini_task import MINI, mini_examples

MINI_TASK_SPEC = f"{Path(__file__).parent / 'mini_task.py'}:MINI"


@pytest.fixture(scope="session")
def mini_task() -> Task:
    return MINI


@pytest.fixture(scope="session")
def examples() -> list[Example]:
    return mini_examples(8)


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    texts = []
    for ex in mini_examples(8):
        texts += [m["content"] for m in render_messages(MINI, ex)]
        assert ex.gold is not None
        texts.append(render_target(MINI, ex.gold))
    out = tmp_path_factory.mktemp("tiny") / "model"
    return build_tiny_model(out, texts, vocab_size=500, hidden_size=32)


@pytest.fixture
def train_file(tmp_path: Path, examples: list[Example]) -> Path:
    path = tmp_path / "train.jsonl"
    rows = [{"id": e.id, "text": e.text, **(e.gold or {})} for e in examples]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path
