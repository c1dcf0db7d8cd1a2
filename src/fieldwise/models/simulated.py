"""Simulated models for offline prompt work: a prompted model and an optimiser model.

Like inspect_ai's ``mockllm``, these let a config, a test or a demo run end to end with
no network and no weights, and unlike a fixed mock they respond to the prompt in
documented ways, so that prompt optimisation has something real to find.

``simulated/NAME``, a prompted model. It renders the same messages as every prompted
backend (template, rules, few-shot examples, named prompt) and answers each labelled row
from its gold answer, changed by these rules (docs/optimize.md has them with examples):

1. *Conventions* (``models/_simulated_world.py``): on a row whose text contains one of a
   convention's trigger phrases, the convention's fields get the naive reading (e.g. 0
   for "a couple detained") unless the system prompt states the convention or a
   few-shot example in the prompt contains the same trigger phrase.
2. *Base error*: each other scored top-level field is wrong with probability
   ``base_error`` (a plausible wrong value of its kind), drawn from the row's text, the
   field and ``seed``: hard rows are hard for every prompt.
3. *Layout*: with few-shot examples, it copies their answers' layout (bare compact JSON,
   or fenced when they are fenced); with none, a ``layout_error`` share of rows (drawn
   from the text) is answered as prose around a fenced JSON block, which the reference
   profile scores 0.
4. A row without a label is answered with every field ``null``; tokens are counted as
   one per four characters, in and out.

``simulated-optimizer/NAME``, the reflection model. It reads the optimiser's reflection
prompt (the current text in the first fenced block, then examples with ``Feedback:``
lines ``- FIELD: predicted X, gold Y``), and knows the task's conventions, written and
hidden. It adds the statement of the convention most supported by the failures (a
failing field the convention decides, on an input containing one of its triggers) that
the current text does not state yet, and answers the whole text in one fenced block;
with nothing to add it answers the text unchanged.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from collections import Counter
from typing import Any, ClassVar

from pydantic import Field

from fieldwise.models._model import Generation, ModelKind
from fieldwise.models._prompted import PromptedModel, PromptedOptions
from fieldwise.models._simulated_world import (
    Convention,
    draw,
    naive_value,
    world_for,
    wrong_value,
)
from fieldwise.tasks import Example, Task
from fieldwise.tasks.prompts import JSON_SEPARATORS, Message


class SimulatedOptions(PromptedOptions):
    base_error: float = Field(0.05, ge=0, le=1)
    """Chance that a field no convention decides is answered wrong (per row and field)."""
    layout_error: float = Field(0.25, ge=0, le=1)
    """Share of rows answered as prose around fenced JSON when the prompt shows no
    examples to copy the layout from."""
    seed: int = 0
    conventions: str | None = None
    """A YAML file of conventions to use instead of the task's built-in world."""


def _tokens(text: str) -> int:
    return math.ceil(len(text) / 4)


class _Simulated(PromptedModel):
    """What both simulated models share: no key, no network, a world of conventions."""

    kind: ClassVar[ModelKind] = "api"
    max_batch_size: ClassVar[int] = 64
    default_concurrency: ClassVar[int] = 1
    Options = SimulatedOptions  # type: ignore[assignment]

    def __init__(self, name: str, task: Task, options: Any = None) -> None:
        super().__init__(name, task, options)
        self.world: tuple[Convention, ...] = world_for(task, self.sim_options.conventions)

    @property
    def sim_options(self) -> SimulatedOptions:
        assert isinstance(self.options, SimulatedOptions)
        return self.options

    async def generate(self, batch: list[Example]) -> list[Generation]:
        out = []
        for example in batch:
            messages = self.messages(example)
            text = self.answer(example, messages)
            prompt_chars = sum(len(m["content"]) for m in messages)
            out.append(
                Generation(
                    text,
                    input_tokens=math.ceil(prompt_chars / 4),
                    output_tokens=_tokens(text),
                    finish_reason="stop",
                )
            )
        await asyncio.sleep(0)
        return out

    def answer(self, example: Example, messages: list[Message]) -> str:
        raise NotImplementedError


class SimulatedModel(_Simulated):
    """``simulated/NAME``: a prompted model whose answers follow the rules above."""

    provider: ClassVar[str] = "simulated"

    def answer(self, example: Example, messages: list[Message]) -> str:
        opts = self.sim_options
        if example.gold is None:
            return json.dumps({spec.name: None for spec in self.task.fields})
        system = messages[0]["content"] if messages else ""
        shown = [m["content"].lower() for m in messages[1:-1] if m["role"] == "user"]
        answers = [m["content"] for m in messages[1:-1] if m["role"] == "assistant"]
        text = example.text.lower()
        value = dict(example.gold)
        decided: set[str] = set()
        for conv in self.world:
            needed = conv.needed_by(text)
            if not needed:
                continue
            decided.update(conv.fields)
            shown_here = any(t in s for t in needed for s in shown)
            if conv.stated_in(system) or shown_here:
                continue
            for name in conv.fields:
                if name in value:
                    value[name] = naive_value(conv.naive, value[name])
        for spec in self.task.fields:
            if not spec.scored or not spec.is_leaf or spec.name in decided:
                continue
            if spec.name in value and draw(opts.seed, example.text, spec.name) < opts.base_error:
                value[spec.name] = wrong_value(spec, value[spec.name])
        body = json.dumps(value, ensure_ascii=False, separators=JSON_SEPARATORS, default=str)
        if answers:
            fenced = answers[0].lstrip().startswith("```")
        else:
            fenced = draw(opts.seed, example.text, "layout") < opts.layout_error
        if fenced:
            return f"Here is the extracted data:\n```json\n{body}\n```"
        return body


_BLOCK = re.compile(r"```[^\n]*\n(.*?)\n?```", re.S)
_EXAMPLE = re.compile(r'Input:\n"""\n(.*?)\n"""\n.*?Feedback:\n(.*?)(?=\n### Example |\Z)', re.S)
_FEEDBACK = re.compile(r"^- ([\w.\[\]]+): predicted (.*), gold (.*)$", re.M)


class SimulatedOptimizer(_Simulated):
    """``simulated-optimizer/NAME``: proposes the convention the failures point to."""

    provider: ClassVar[str] = "simulated-optimizer"

    def answer(self, example: Example, messages: list[Message]) -> str:
        prompt = messages[-1]["content"] if messages else example.text
        found = _BLOCK.search(prompt)
        current = found.group(1).strip() if found else ""
        support: Counter[str] = Counter()
        for text, feedback in _EXAMPLE.findall(prompt):
            failing = {m.group(1) for m in _FEEDBACK.finditer(feedback)}
            lowered = text.lower()
            for conv in self.world:
                if failing & set(conv.fields) and conv.needed_by(lowered):
                    support[conv.name] += 1
        order = {conv.name: i for i, conv in enumerate(self.world)}
        missing = [c for c in self.world if support[c.name] and not c.stated_in(current)]
        missing.sort(key=lambda c: (-support[c.name], order[c.name]))
        new = current
        if missing:
            bullets = "annotation rules" in prompt.split("```", 1)[0]
            line = f"- {missing[0].statement}" if bullets else missing[0].statement
            new = f"{current}\n{line}".strip()
        return f"```\n{new}\n```"
