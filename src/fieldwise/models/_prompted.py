"""Shared base for models that read a rendered prompt (API, local transformers, vLLM).

It owns the prompt template and few-shot examples so that every prompted backend renders
prompts the same way and puts the same prompt hash into its cache identity.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from fieldwise.models._model import Model, ModelOptions
from fieldwise.tasks import Example, Task
from fieldwise.tasks.prompts import (
    Message,
    PromptTemplate,
    field_contexts,
    load_template,
    prompt_identity,
    prompt_prefix,
    select_few_shot,
    user_message,
)

log = logging.getLogger(__name__)

OutputMode = Literal["prompt", "json_object", "json_schema", "tools"]
"""How a model is asked for JSON: plain prompt, JSON mode, JSON-schema structured output,
or a forced tool/function call. They change results, so each is part of the identity."""


class PromptedOptions(ModelOptions):
    """Options every prompted backend accepts."""

    template: str = "default"
    few_shot: int = 0
    few_shot_seed: int = 0
    max_tokens: int = 1024
    temperature: float = 0.0


class PromptedModel(Model):
    """A model whose input is chat messages rendered from the task's prompt template."""

    Options = PromptedOptions  # type: ignore[assignment]  # a wider options class

    def __init__(self, name: str, task: Task, options: ModelOptions | None = None) -> None:
        super().__init__(name, task, options)
        opts = self.prompt_options
        self.template: PromptTemplate = load_template(opts.template)
        self.shots: list[Example] = []
        self._prefix: list[Message] | None = None
        self._fields: list[dict[str, Any]] | None = None

    @property
    def prompt_options(self) -> PromptedOptions:
        assert isinstance(self.options, PromptedOptions)
        return self.options

    def prepare(self, train: list[Example]) -> None:
        """Pick few-shot examples from the train split (a no-op when ``few_shot`` is 0)."""
        opts = self.prompt_options
        self.shots = select_few_shot(train, opts.few_shot, opts.few_shot_seed)
        self._prefix = None

    def messages(self, example: Example) -> list[Message]:
        """The same messages as :func:`~fieldwise.tasks.prompts.render_messages`, with
        the system prompt and few-shot pairs rendered once per model rather than once
        per request (rendering them was most of a request's client CPU)."""
        if self._prefix is None:
            self._prefix = prompt_prefix(self.task, self.template, self.shots)
            self._fields = field_contexts(self.task)
        prefix = [dict(m) for m in self._prefix]
        return [*prefix, user_message(self.task, self.template, example.text, self._fields)]

    def identity(self) -> dict[str, Any]:
        ident = super().identity()
        ident["prompt"] = prompt_identity(self.template, self.shots)
        return ident


class LengthCounter:
    """Counts outputs cut off at ``max_tokens`` and warns once, when the model closes.

    Every prompted backend (hf, vllm, openai) keeps one, so a too-small ``max_tokens``
    is named once per run rather than showing up only as unparsable outputs."""

    def __init__(self, spec: str) -> None:
        self.spec = spec
        self.count = 0
        self.total = 0
        self._warned = False

    def add(self, finish_reasons: list[str | None]) -> None:
        self.total += len(finish_reasons)
        self.count += sum(1 for r in finish_reasons if r == "length")

    def warn(self) -> None:
        if self.count and not self._warned:
            self._warned = True
            log.warning(
                "%s: %d of %d outputs hit max_tokens and were cut off; raise max_tokens",
                self.spec,
                self.count,
                self.total,
            )
