"""What a task is: an output schema, how each field is scored, and how to read its data.

A task is plain data. Scoring profiles, prompt templates, exports and models all read the
same :class:`Task`, so a user's own schema plugs into every stage without special cases.
"""

from __future__ import annotations

import datetime as dt
import enum
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

FieldKind = Literal["text", "date", "label_set", "label", "int", "bool", "float"]
"""The shape of a field's value, which decides how stricter profiles compare it."""

ReferenceMetric = Literal["exact", "set_equal", "set_recall", "equal", "int_equal", "ignore"]
"""How the reference profile scores a field (see ``scoring/profiles.py``).

- ``exact``: 1 if the prediction is non-empty and equals the gold value.
- ``set_equal``: a bare string is a one-element list; 1 if the sets are equal.
- ``set_recall``: |pred ∩ gold| / |gold|: partial credit, over-prediction is free.
- ``equal``: Python ``==`` after JSON parsing (so ``1 == true``).
- ``int_equal``: like ``equal`` but a non-integer prediction scores 0.
- ``ignore``: never scored (e.g. a free-text headline).
"""


@dataclass(frozen=True)
class FieldSpec:
    """One output field: its shape, its reference metric and its allowed labels."""

    name: str
    kind: FieldKind
    metric: ReferenceMetric
    labels: tuple[str, ...] = ()
    aliases: Mapping[str, str] = field(default_factory=dict)
    description: str = ""

    @property
    def scored(self) -> bool:
        return self.metric != "ignore"


@dataclass(frozen=True)
class Example:
    """One input document and, when labelled, its gold answer in canonical shape."""

    id: str
    text: str
    gold: dict[str, Any] | None = None
    group: str | None = None
    """The document group the row belongs to (from the task's or data's group column):
    splits keep a group on one side, and intervals resample whole groups."""


@dataclass
class Task:
    """A structured-extraction task.

    ``output_model`` is the Pydantic schema a model must produce; ``fields`` say how each
    field is scored (in schema order); ``instructions`` are the annotation rules that go
    into prompts; ``hub_adapter`` maps a raw Hugging Face row to the canonical shape.
    """

    name: str
    description: str
    output_model: type[BaseModel]
    fields: tuple[FieldSpec, ...]
    instructions: str = ""
    sample_path: Path | None = None
    hub_dataset: str | None = None
    hub_adapter: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    id_column: str = "id"
    text_column: str = "text"
    group_column: str | None = None

    @property
    def scored_fields(self) -> tuple[FieldSpec, ...]:
        return tuple(f for f in self.fields if f.scored)

    def field(self, name: str) -> FieldSpec:
        for spec in self.fields:
            if spec.name == name:
                return spec
        raise KeyError(name)

    def json_schema(self) -> dict[str, Any]:
        return self.output_model.model_json_schema()

    @classmethod
    def from_model(
        cls,
        name: str,
        output_model: type[BaseModel],
        *,
        description: str = "",
        metrics: Mapping[str, ReferenceMetric] | None = None,
        aliases: Mapping[str, Mapping[str, str]] | None = None,
        **kwargs: Any,
    ) -> Task:
        """Build a task from a Pydantic model, inferring each field's kind and metric.

        ``list[SomeEnum]`` becomes a label set scored by recall, an enum a single label,
        ``int``/``bool``/``date`` their own kinds; ``metrics`` overrides any field.
        """
        metrics = dict(metrics or {})
        aliases = dict(aliases or {})
        specs = []
        for fname, finfo in output_model.model_fields.items():
            kind, labels = _infer_kind(finfo.annotation)
            default_metric: ReferenceMetric = {
                "label_set": "set_recall",
                "int": "int_equal",
                "date": "exact",
                "text": "exact",
            }.get(kind, "equal")  # type: ignore[assignment]
            specs.append(
                FieldSpec(
                    name=fname,
                    kind=kind,
                    metric=metrics.get(fname, default_metric),
                    labels=labels,
                    aliases=dict(aliases.get(fname, {})),
                    description=finfo.description or "",
                )
            )
        return cls(
            name=name,
            description=description,
            output_model=output_model,
            fields=tuple(specs),
            **kwargs,
        )


def _infer_kind(annotation: Any) -> tuple[FieldKind, tuple[str, ...]]:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        non_none = [a for a in args if a is not type(None)]
        if len(non_none) == 1:
            return _infer_kind(non_none[0])
    if origin in (list, set, frozenset, tuple) and args:
        inner_kind, labels = _infer_kind(args[0])
        if inner_kind in ("label", "text"):
            return "label_set", labels
    if origin is Literal:
        return "label", tuple(str(a) for a in args)
    if isinstance(annotation, type):
        if issubclass(annotation, enum.Enum):
            return "label", tuple(str(m.value) for m in annotation)
        if issubclass(annotation, bool):
            return "bool", ()
        if issubclass(annotation, int):
            return "int", ()
        if issubclass(annotation, float):
            return "float", ()
        if issubclass(annotation, dt.date):
            return "date", ()
    return "text", ()
