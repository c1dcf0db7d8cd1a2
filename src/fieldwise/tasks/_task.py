"""What a task is: an output schema, how each field is scored, and how to read its data.

A task is plain data. Scoring profiles, prompt templates, exports and models all read the
same :class:`Task`, so a user's own schema plugs into every stage without special cases.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

FieldKind = Literal[
    "text", "date", "label_set", "label", "int", "bool", "float", "object", "records"
]
"""The shape of a field's value, which decides how stricter profiles compare it.

``object`` is a nested model (scored as the mean of its children) and ``records`` a list
of nested models (aligned one-to-one, then scored by F1); every other kind is a leaf.
"""

ReferenceMetric = str
"""The name of a registered metric (``fieldwise.registry.metrics``; ``docs/extending.md``
lists them). Built in:

- ``exact``: 1 if the prediction is non-empty and equals the gold value.
- ``set_equal``: a bare string is a one-element list; 1 if the sets are equal.
- ``set_recall``: |pred ∩ gold| / |gold|: partial credit, over-prediction is free.
- ``set_f1``: F1 of the two sets: over-prediction costs (both empty = 1).
- ``equal``: Python ``==`` after JSON parsing (so ``1 == true``).
- ``int_equal``: like ``equal`` but a non-integer prediction scores 0.
- ``number``: a JSON number (not a boolean) within ``max(rel * max(|p|, |g|), abs)`` of
  gold, boundary included.
- ``text_similarity``: 1 - Levenshtein distance / longer length, on case-folded,
  whitespace-collapsed strings (both empty = 1).
- ``date``: both sides read as ISO ``YYYY-MM-DD`` dates and equal.
- ``object`` / ``records``: the only metrics of the nested kinds (docs/nested-schemas.md).
- ``ignore``: never scored (e.g. a free-text headline).
"""

Grounding = Literal["required", "optional", "none"]
"""Whether a field's values must be found in the source text (see ``docs/trust.md``).

- ``required``: the value is copied from the text; one the aligner cannot find there is
  *ungrounded*: it counts against the grounded rate, as a hallucination when it is also
  wrong, and as an abstention under a profile with ``require_grounding``.
- ``optional``: the value is often written in the text but may be inferred (a count read
  from "several"): it is aligned and its evidence shown, but no span is no fault.
- ``none``: the value is inferred, not quoted (a yes/no, a category): it is not aligned.
"""

GROUNDING_BY_KIND: dict[str, Grounding] = {
    "text": "required",
    "date": "required",
    "int": "required",
    "float": "required",
    "label": "optional",
    "label_set": "optional",
    "bool": "none",
}
"""The grounding of a scored leaf that declares none. Names, numbers and dates are
usually copied from the text; labels are often a normalised code ("gb" for "United
Kingdom") that only the task's aliases lead back to; a boolean is never written."""

NESTED_KINDS: frozenset[str] = frozenset({"object", "records"})


@dataclass(frozen=True, init=False, repr=False)
class Metric:
    """How a field is scored: a registered metric's name and its parameters.

    Written on the schema, ``Annotated[float, Metric("number", rel=0.01)]`` (or the
    shortcut ``Metric.number(rel=0.01)``), or passed to ``Task.from_model(metrics=)``.
    Pydantic keeps unknown ``Annotated`` metadata on the field without putting it into the
    JSON schema, so declaring how a field is scored changes nothing a model is shown. The
    name and parameters are checked against the registered metric when the task is built.
    """

    name: str
    params: tuple[tuple[str, Any], ...]
    _bound: list[Any] = field(compare=False, hash=False)

    def __init__(self, name: str, /, **params: Any) -> None:
        frozen = tuple(
            sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in params.items())
        )
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "params", frozen)
        object.__setattr__(self, "_bound", [])

    def __repr__(self) -> str:
        args = "".join(f", {k}={v!r}" for k, v in self.params)
        return f"Metric({self.name!r}{args})"

    def __str__(self) -> str:
        return self.name

    @property
    def options(self) -> Any:
        """The validated parameters (the metric's ``Params``, defaults filled in)."""
        return self.scorer().params

    def scorer(self) -> Any:
        """The registered metric object with these parameters (a ``LeafMetric``), checked
        once and cached; an unknown name or a bad parameter is a :class:`UserError`."""
        if not self._bound:
            from fieldwise import registry

            cls = registry.metrics.get(self.name)
            self._bound.append(cls(cls.validate(dict(self.params))))
        return self._bound[0]

    @classmethod
    def number(cls, rel: float = 0.0, abs: float = 0.0) -> Metric:  # noqa: A002
        """A JSON number within ``max(rel * max(|p|, |g|), abs)`` of gold, boundary included
        (as ``math.isclose``, decided on the numbers as written, not their binary floats)."""
        return cls("number", rel=rel, abs=abs)

    @classmethod
    def text_similarity(cls) -> Metric:
        return cls("text_similarity")

    @classmethod
    def exact(cls) -> Metric:
        return cls("exact")

    @classmethod
    def equal(cls) -> Metric:
        return cls("equal")

    @classmethod
    def date(cls) -> Metric:
        return cls("date")

    @classmethod
    def ignore(cls) -> Metric:
        return cls("ignore")

    @classmethod
    def records(cls, key: Sequence[str] = (), match_threshold: float = 0.5) -> Metric:
        """Options of a ``list[Model]`` field: key leaves (relative paths) and threshold."""
        return cls("records", key=tuple(key), match_threshold=match_threshold)


@dataclass(frozen=True)
class FieldSpec:
    """One output field: its shape, its metric and its allowed labels.

    Flat tasks only ever use the first six attributes (``metric`` may be given as a bare
    name: ``FieldSpec("day", "date", "exact")``). Nested ones add ``path`` (dotted, ``[]``
    for list items: ``vendor.name``, ``line_items[].unit_price``; a top-level field's path
    is its name), ``children`` (of an ``object`` or ``records`` field, in schema order) and
    ``optional`` (``X | None``: ``null`` is then a gold value that can be right). A
    metric's parameters (a tolerance, a records key) live on its :class:`Metric`.
    ``grounding`` is what the task declared (``None``: the default, see
    :attr:`grounding_mode`).
    """

    name: str
    kind: FieldKind
    metric: Metric
    labels: tuple[str, ...] = ()
    aliases: Mapping[str, str] = field(default_factory=dict)
    description: str = ""
    path: str = ""
    children: tuple[FieldSpec, ...] = ()
    optional: bool = False
    grounding: Grounding | None = None

    def __post_init__(self) -> None:
        if not self.path:
            object.__setattr__(self, "path", self.name)
        if isinstance(self.metric, str):
            object.__setattr__(self, "metric", Metric(self.metric))
        if self.grounding is not None:
            check_grounding(self.path, self.kind, self.grounding)

    @functools.cached_property
    def grounding_mode(self) -> Grounding:
        """The declared grounding, else the default of the kind (:data:`GROUNDING_BY_KIND`);
        an unscored field defaults to ``none`` (a free-text headline is written, not
        quoted). Objects and records hold no value of their own: ``none``. (Cached: the
        aligner asks for every value.)"""
        if self.grounding is not None:
            return self.grounding
        if not self.scored or not self.is_leaf:
            return "none"
        return GROUNDING_BY_KIND[self.kind]

    @property
    def scored(self) -> bool:
        return self.metric.name != "ignore"

    @property
    def is_leaf(self) -> bool:
        return self.kind not in NESTED_KINDS

    @property
    def scored_children(self) -> tuple[FieldSpec, ...]:
        return tuple(c for c in self.children if c.scored)

    @property
    def key(self) -> tuple[str, ...]:
        """A records field's key leaves (relative paths); ``()`` for any other field."""
        return tuple(self.metric.options.key) if self.metric.name == "records" else ()

    @property
    def match_threshold(self) -> float:
        """A records field's match threshold (0.5 unless declared)."""
        return float(self.metric.options.match_threshold) if self.metric.name == "records" else 0.5

    def leaves(self) -> Iterator[FieldSpec]:
        """Every scored leaf at or below this field (none if it is not scored)."""
        if not self.scored:
            return
        if self.is_leaf:
            yield self
            return
        for child in self.children:
            yield from child.leaves()

    def walk(self) -> Iterator[FieldSpec]:
        """This field and every field below it, scored or not, depth first."""
        yield self
        for child in self.children:
            yield from child.walk()

    def child(self, name: str) -> FieldSpec:
        for spec in self.children:
            if spec.name == name:
                return spec
        raise KeyError(name)


def check_grounding(path: str, kind: str, grounding: str) -> None:
    """A grounding declaration fieldwise can honour, or a ``UserError`` naming the field."""
    from fieldwise.errors import UserError

    if grounding not in ("required", "optional", "none"):
        raise UserError(
            f"field '{path}': unknown grounding '{grounding}'",
            hint="use required, optional or none",
        )
    if grounding != "none" and kind == "bool":
        raise UserError(
            f"field '{path}': a boolean is never written in the text; its grounding is none",
            hint="declare grounding none (the default for bool fields)",
        )


@dataclass(frozen=True)
class Example:
    """One input document and, when labelled, its gold answer in canonical shape."""

    id: str
    text: str
    gold: dict[str, Any] | None = None
    group: str | None = None
    """The document group the row belongs to (from the task's or data's group column):
    splits keep a group on one side, and intervals resample whole groups."""
    spans: dict[str, list[tuple[int, int]]] | None = None
    """Gold evidence, when the data has a ``spans`` column: leaf path (``vendor.name``,
    ``line_items[2].sku`` or ``line_items[].sku``) → character spans ``[start, end)`` in
    ``text`` where the gold value is written (see ``docs/trust.md``)."""


@dataclass
class Task:
    """A structured-extraction task.

    ``output_model`` is the Pydantic schema a model must produce; ``fields`` say how each
    top-level field is scored (in schema order; nested fields hang off their parent's
    ``children``, see :meth:`leaves` and :meth:`spec_at`); ``instructions`` are the
    annotation rules that go into prompts; ``hub_adapter`` maps a raw Hugging Face row to
    the canonical shape.
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

    @property
    def is_nested(self) -> bool:
        """Whether any field is an ``object`` or ``records`` (flat tasks score as before)."""
        return any(not f.is_leaf for f in self.fields)

    def field(self, name: str) -> FieldSpec:
        for spec in self.fields:
            if spec.name == name:
                return spec
        raise KeyError(name)

    def leaves(self) -> Iterator[FieldSpec]:
        """Every scored leaf, with its full path, in schema order (a flat task's scored
        fields). Leaves under an ignored object or records field are not scored."""
        for spec in self.fields:
            yield from spec.leaves()

    def walk(self) -> Iterator[FieldSpec]:
        """Every field at every depth (objects, records and leaves; scored or not)."""
        for spec in self.fields:
            yield from spec.walk()

    def spec_at(self, path: str) -> FieldSpec:
        """The field at a dotted path (``vendor.name``, ``line_items[].sku``, ``line_items``).

        Raises ``KeyError`` for a path the schema does not have.
        """
        for spec in self.walk():
            if spec.path == path:
                return spec
        raise KeyError(path)

    def json_schema(self) -> dict[str, Any]:
        return self.output_model.model_json_schema()

    @classmethod
    def from_model(
        cls,
        name: str,
        output_model: type[BaseModel],
        *,
        description: str = "",
        metrics: Mapping[str, ReferenceMetric | Metric] | None = None,
        aliases: Mapping[str, Mapping[str, str]] | None = None,
        grounding: Mapping[str, Grounding] | None = None,
        **kwargs: Any,
    ) -> Task:
        """Build a task from a Pydantic model, inferring each field's kind and metric.

        ``list[SomeEnum]`` becomes a label set scored by recall, an enum a single label,
        ``int``/``bool``/``date`` their own kinds, a nested model an ``object`` and
        ``list[Model]`` ``records``; ``Annotated[..., Metric(name, **params)]`` on the schema sets a
        field's metric, and ``metrics`` (by path: ``{"line_items[].sku": "exact"}``)
        overrides both. ``aliases`` are keyed by path too, and so is ``grounding``
        (``{"min_killed": "optional"}``; on an object or records field it applies to the
        leaves below that declare none). A type fieldwise cannot score, or a path that does
        not exist, is a :class:`UserError` naming the field.
        """
        from fieldwise.tasks._schema import infer_fields

        specs = infer_fields(
            output_model, dict(metrics or {}), dict(aliases or {}), dict(grounding or {})
        )
        return cls(
            name=name,
            description=description,
            output_model=output_model,
            fields=specs,
            **kwargs,
        )
