"""Shared base for models that read a rendered prompt (API, local transformers, vLLM).

It owns the prompt template and few-shot examples so that every prompted backend renders
prompts the same way and puts the same prompt hash into its cache identity. A named
prompt (``prompt:``, what ``fieldwise optimize`` saves) replaces the template, the
task's rules and the few-shot draw with its own, and may choose each input's examples
(nearest neighbours); its content hash is then the prompt part of the identity.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Literal

from fieldwise.errors import UserError
from fieldwise.models._model import Model, ModelOptions
from fieldwise.models._shots import NearestShots
from fieldwise.tasks import Example, Task
from fieldwise.tasks.named_prompts import PromptSpec, load_prompt
from fieldwise.tasks.prompts import (
    Message,
    PromptTemplate,
    load_template,
    prompt_identity,
    render_messages,
    select_few_shot,
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
    prompt: str | PromptSpec | None = None
    """A named prompt: the path of a saved one (a config's ``prompt: NAME`` is resolved to
    it) or an inline :class:`~fieldwise.tasks.named_prompts.PromptSpec`. Its content
    hash, not this value, goes into the cache key."""


class PromptedModel(Model):
    """A model whose input is chat messages rendered from the task's prompt template."""

    Options = PromptedOptions  # type: ignore[assignment]  # a wider options class

    def __init__(self, name: str, task: Task, options: ModelOptions | None = None) -> None:
        super().__init__(name, task, options)
        self._load_prompt()

    def _load_prompt(self) -> None:
        opts = self.prompt_options
        self.prompt_spec = _prompt_spec(opts)
        spec = self.prompt_spec
        self.template: PromptTemplate = (
            load_template(opts.template)
            if spec is None
            else PromptTemplate(f"prompt:{spec.content_hash()[:12]}", spec.template)
        )
        self.shots: list[Example] = []
        self._view = self.task if spec is None else spec.task_for(self.task)
        self._nearest: NearestShots | None = None
        if spec is not None:
            pool = [s.example() for s in spec.shots.examples]
            if spec.shots.per_input:
                self._nearest = NearestShots(pool, spec.shots.k)
            else:
                self.shots = pool

    def use_prompt(self, spec: PromptSpec) -> None:
        """Switch this model to another named prompt in place: the optimiser tries many
        prompts on one model, which must not be rebuilt (or reloaded) for each."""
        self.options = self.options.model_copy(update={"prompt": spec})
        self._load_prompt()
        if getattr(self, "_identity", None) is not None:
            self.__dict__["_identity"] = None  # a backend that caches its identity (hf)

    @property
    def prompt_options(self) -> PromptedOptions:
        assert isinstance(self.options, PromptedOptions)
        return self.options

    def prepare(self, train: list[Example]) -> None:
        """Pick few-shot examples from the train split (a no-op when ``few_shot`` is 0,
        and for a named prompt, which brings its own)."""
        if self.prompt_spec is not None:
            return
        opts = self.prompt_options
        self.shots = select_few_shot(train, opts.few_shot, opts.few_shot_seed)

    def shots_for(self, example: Example) -> list[Example]:
        """The worked examples shown before ``example``: the same for every input, or
        its nearest neighbours under a named prompt that picks them per input."""
        return self._nearest(example) if self._nearest is not None else self.shots

    def messages(self, example: Example) -> list[Message]:
        messages = render_messages(self._view, example, self.template, self.shots_for(example))
        if self.prompt_spec is not None and self.prompt_spec.instruction.strip():
            messages[0]["content"] = (
                f"{messages[0]['content']}\n\n{self.prompt_spec.instruction.strip()}"
            )
        return messages

    def identity(self) -> dict[str, Any]:
        ident = super().identity()
        # The option is a path or an object; what it holds is keyed by its content.
        ident["options"].pop("prompt", None)
        if self.prompt_spec is None:
            ident["prompt"] = prompt_identity(self.template, self.shots)
        else:
            ident["prompt"] = self.prompt_spec.content_hash()
        return ident


def _prompt_spec(opts: PromptedOptions) -> PromptSpec | None:
    """The named prompt in ``opts``, loaded; it must not be mixed with the options it
    replaces (that would be a silent choice between two prompts)."""
    if opts.prompt is None:
        return None
    spec = (
        opts.prompt if isinstance(opts.prompt, PromptSpec) else load_prompt(Path(opts.prompt)).spec
    )
    clashes = [
        name
        for name, value, default in (
            ("template", opts.template, "default"),
            ("few_shot", opts.few_shot, 0),
        )
        if value != default
    ]
    if clashes:
        raise UserError(
            f"a named prompt brings its own template and examples; drop option(s) "
            f"{', '.join(clashes)} or the prompt"
        )
    return spec


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
