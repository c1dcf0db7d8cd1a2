"""Prompt rendering shared by inference and fine-tuning exports.

Predictors and the fine-tuning exporters render from the same Jinja2 template, and the
template's hash (together with its few-shot examples) goes into every run record, so a
train-time prompt and an inference-time prompt cannot silently drift apart.

A template defines two blocks, ``system`` and ``user``; few-shot examples become
alternating user/assistant messages rendered with the same ``user`` block.

Templates travel inside shared configs and downloaded adapter folders, so they are
untrusted code: each is rendered in Jinja's ``ImmutableSandboxedEnvironment`` (as
transformers renders chat templates), where reaching for ``__globals__``, ``os`` or a
mutating method is a one-line :class:`~fieldwise.errors.UserError`, not a shell.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from fieldwise._hashing import content_hash
from fieldwise.errors import UserError
from fieldwise.tasks._task import Example, FieldSpec, Task

TEMPLATE_DIR = Path(__file__).parent / "templates"

_KIND_TYPES = {
    "text": "string",
    "date": "string, YYYY-MM-DD",
    "label_set": "list of strings",
    "label": "string",
    "int": "integer >= 0",
    "bool": "true or false",
    "float": "number",
}

Message = dict[str, str]

JSON_SEPARATORS: tuple[str, str] = (",", ":")
"""The one JSON layout of model outputs: compact, no spaces. Fine-tuning targets are
serialised with it (:func:`render_target`) and schema-constrained decoding compiles its
grammar with it (``models/constrained.py``, ``serve/_constrain.py``), so a fine-tuned
model's own layout is what the grammar allows; any other layout would be masked out and
the model pushed off what it learned."""


@dataclass(frozen=True)
class PromptTemplate:
    """A Jinja2 prompt template with ``system`` and ``user`` blocks."""

    name: str
    source: str

    @cached_property
    def _compiled(self) -> jinja2.Template:
        env = ImmutableSandboxedEnvironment(
            undefined=jinja2.StrictUndefined, keep_trailing_newline=False
        )
        try:
            template = env.from_string(self.source)
        except jinja2.TemplateSyntaxError as exc:
            raise UserError(f"prompt template {self.name}: line {exc.lineno}: {exc}") from exc
        missing = {"system", "user"} - set(template.blocks)
        if missing:
            raise UserError(f"prompt template {self.name} lacks block(s): {sorted(missing)}")
        return template

    def render_block(self, block: str, context: dict[str, Any]) -> str:
        template = self._compiled
        try:
            return "".join(template.blocks[block](template.new_context(context))).strip()
        except jinja2.TemplateError as exc:  # SecurityError, UndefinedError, ...
            kind = "unsafe" if isinstance(exc, jinja2.exceptions.SecurityError) else "failed"
            raise UserError(
                f"prompt template {self.name}: {kind} in block '{block}': {exc}"
            ) from None


def load_template(name_or_path: str | None = None) -> PromptTemplate:
    """A built-in template by name (``default``) or a ``.jinja`` file path."""
    name = name_or_path or "default"
    builtin = TEMPLATE_DIR / f"{name}.jinja"
    path = builtin if builtin.is_file() else Path(name)
    if not path.is_file():
        raise UserError(f"prompt template not found: {name}")
    return PromptTemplate(name=name, source=path.read_text(encoding="utf-8"))


def _type_of(spec: FieldSpec) -> str:
    base = {"object": "object", "records": "list of objects"}.get(spec.kind)
    base = base or _KIND_TYPES.get(spec.kind, spec.kind)
    return f"{base} or null" if spec.optional else base


def _field_context(spec: FieldSpec) -> dict[str, Any]:
    """What a template sees of one field; ``children`` (same shape, recursively) are the
    fields of a nested object, or of each record of a list."""
    return {
        "name": spec.name,
        "type": _type_of(spec),
        "description": spec.description,
        "labels": [label for label in spec.labels if label],
        "kind": spec.kind,
        "path": spec.path,
        "optional": spec.optional,
        "children": [_field_context(child) for child in spec.children],
    }


def render_target(task: Task, gold: dict[str, Any]) -> str:
    """The completion a fine-tuned model should produce: compact JSON in schema order,
    nested objects and records too (a key the gold lacks is written as ``null``)."""
    order = list(task.output_model.model_fields) or [f.name for f in task.fields]
    specs = {spec.name: spec for spec in task.fields}
    target = {
        name: _in_schema_order(specs[name], gold.get(name)) if name in specs else gold.get(name)
        for name in order
    }
    return json.dumps(target, ensure_ascii=False, separators=JSON_SEPARATORS)


def _in_schema_order(spec: FieldSpec, value: Any) -> Any:
    if spec.kind == "object" and isinstance(value, dict):
        return {c.name: _in_schema_order(c, value.get(c.name)) for c in spec.children}
    if spec.kind == "records" and isinstance(value, list):
        return [
            {c.name: _in_schema_order(c, v.get(c.name)) for c in spec.children}
            if isinstance(v, dict)
            else v
            for v in value
        ]
    return value


def _context(task: Task, text: str) -> dict[str, Any]:
    return {"task": task, "fields": [_field_context(f) for f in task.fields], "text": text}


def render_messages(
    task: Task,
    example: Example,
    template: PromptTemplate | None = None,
    few_shot: list[Example] | tuple[Example, ...] = (),
) -> list[Message]:
    """Chat messages for one example: system, few-shot pairs, then the example itself."""
    template = template or load_template()
    messages: list[Message] = [
        {"role": "system", "content": template.render_block("system", _context(task, ""))}
    ]
    for shot in few_shot:
        if shot.gold is None:
            raise UserError(f"few-shot example {shot.id} has no label")
        messages.append(
            {"role": "user", "content": template.render_block("user", _context(task, shot.text))}
        )
        messages.append({"role": "assistant", "content": render_target(task, shot.gold)})
    messages.append(
        {"role": "user", "content": template.render_block("user", _context(task, example.text))}
    )
    return messages


def render_prompt_text(messages: list[Message]) -> str:
    """A plain-text prompt for template-free models: the messages joined by blank lines."""
    return "\n\n".join(m["content"] for m in messages) + "\n\n"


def select_few_shot(train: list[Example], k: int, seed: int = 0) -> list[Example]:
    """A deterministic sample of labelled examples to show in the prompt."""
    labelled = [e for e in train if e.gold is not None]
    if k <= 0 or not labelled:
        return []
    return random.Random(seed).sample(labelled, min(k, len(labelled)))


def prompt_identity(template: PromptTemplate, few_shot: list[Example] | tuple[Example, ...]) -> str:
    """What goes into cache keys and run records: the template and its shots, hashed."""
    return content_hash(
        {"template": template.source, "shots": [[s.text, s.gold] for s in few_shot]}
    )
