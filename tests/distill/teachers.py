"""Teachers served by the fake OpenAI-compatible server, with label noise planted on
chosen fields and rows: each answers a row with its gold label, changed by its noise."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fieldwise.data import load_examples
from fieldwise.data.splits import train_test_split
from fieldwise.tasks import Example, load_task
from tests.fakes.openai_server import Behaviour, FakeServer, _last_user_text

Noise = Callable[[str, dict[str, Any]], dict[str, Any]]

TASK = load_task("isaf")


def isaf_split() -> tuple[list[Example], list[Example]]:
    """The packaged ISAF sample: 185 rows to label (their labels unused), 60 gold rows."""
    examples = load_examples(TASK, "sample").examples
    train, test = train_test_split(examples, 60 / len(examples), seed=1)
    return train, test


def swap(field: str, old: str, new: str) -> Noise:
    """A systematic confusion: label ``old`` written as ``new`` wherever it occurs."""

    def noise(example_id: str, gold: dict[str, Any]) -> dict[str, Any]:
        values = gold[field]
        if old in values:
            gold = {**gold, field: sorted({new if v == old else v for v in values})}
        return gold

    return noise


def flip_rows(field: str, rows: set[str]) -> Noise:
    """A boolean field negated on the chosen rows (by id)."""

    def noise(example_id: str, gold: dict[str, Any]) -> dict[str, Any]:
        return {**gold, field: not gold[field]} if example_id in rows else gold

    return noise


def answer(example: Example, noises: list[Noise]) -> dict[str, Any]:
    gold = dict(example.gold or {})
    for noise in noises:
        gold = noise(example.id, gold)
    return gold


def teacher_server(examples: list[Example], noises: list[Noise]) -> FakeServer:
    """A fake server answering each prompt with the (noisy) label of the row it quotes."""
    by_text = {}
    for ex in examples:
        by_text.setdefault(ex.text, ex)

    def respond(body: dict[str, Any]) -> str:
        user = _last_user_text(body)
        matches = [ex for text, ex in by_text.items() if text in user]
        if not matches:
            return "I do not know this press release."
        ex = max(matches, key=lambda e: len(e.text))
        return json.dumps(answer(ex, noises))

    return FakeServer(Behaviour(respond=respond)).start()
