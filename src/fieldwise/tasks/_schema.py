"""Infer a task's fields from a Pydantic model: kinds, metrics, nesting, options.

Inference runs once, when a task is built, so every schema problem surfaces at task load
as one :class:`UserError` naming the field's path, instead of a field being scored in
some way nobody asked for. ``Task.from_model`` is the only caller.
"""

from __future__ import annotations

import datetime as dt
import enum
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, Literal

from pydantic import BaseModel

from fieldwise.errors import UserError
from fieldwise.tasks._task import (
    NESTED_KINDS,
    FieldKind,
    FieldSpec,
    Grounding,
    Metric,
    ReferenceMetric,
    check_grounding,
)

__all__ = ["infer_fields"]

_DEFAULT_METRIC: dict[str, ReferenceMetric] = {
    "label_set": "set_recall",
    "int": "int_equal",
    "date": "exact",
    "text": "exact",
    "label": "equal",
    "bool": "equal",
    "float": "equal",
    "object": "object",
    "records": "records",
}
_SUPPORTED = (
    "use str, int, float, bool, date, an Enum or Literal, a list of labels, a nested "
    "BaseModel or list[BaseModel] (each may be `| None`), or mark the field "
    "Metric.ignore()"
)
_SEQUENCES = (list, set, frozenset, tuple, Sequence)


def infer_fields(
    model: type[BaseModel],
    metrics: Mapping[str, ReferenceMetric | Metric],
    aliases: Mapping[str, Mapping[str, str]],
    grounding: Mapping[str, Grounding] | None = None,
) -> tuple[FieldSpec, ...]:
    """The top-level :class:`FieldSpec` of ``model``, children included, in schema order.

    ``metrics``, ``aliases`` and ``grounding`` are keyed by path; a path the schema lacks
    is an error (a typo would otherwise silently leave the default in place).
    """
    used: set[str] = set()
    grounding = dict(grounding or {})
    inferer = _Inferer(dict(metrics), dict(aliases), used)
    specs = inferer.model_fields(model, prefix="", stack=(model,))
    specs = tuple(_grounded(spec, grounding, used, None) for spec in specs)
    unknown = sorted((set(metrics) | set(aliases) | set(grounding)) - used)
    if unknown:
        raise UserError(
            f"schema {model.__name__} has no field '{unknown[0]}'",
            hint="metrics, aliases and grounding are keyed by path: vendor.name, line_items[].sku",
        )
    return specs


def _grounded(
    spec: FieldSpec, declared: Mapping[str, Grounding], used: set[str], inherited: str | None
) -> FieldSpec:
    """``spec`` with its declared grounding (or its nearest declaring parent's) on every
    leaf; a parent's declaration skips leaves that can hold no grounded value (bools)."""
    own = declared.get(spec.path)
    if own is not None:
        used.add(spec.path)
    if spec.is_leaf:
        mode = own if own is not None else inherited
        if mode is None or (own is None and mode != "none" and spec.kind == "bool"):
            return spec
        return replace(spec, grounding=mode)  # type: ignore[arg-type]
    if own is not None and own not in ("required", "optional", "none"):
        check_grounding(spec.path, spec.kind, own)
    passed = own if own is not None else inherited
    children = tuple(_grounded(c, declared, used, passed) for c in spec.children)
    return replace(spec, children=children)


class _Inferer:
    def __init__(
        self,
        metrics: dict[str, ReferenceMetric | Metric],
        aliases: dict[str, Mapping[str, str]],
        used: set[str],
    ) -> None:
        self.metrics = metrics
        self.aliases = aliases
        self.used = used

    def model_fields(
        self, model: type[BaseModel], prefix: str, stack: tuple[type, ...]
    ) -> tuple[FieldSpec, ...]:
        out = []
        for fname, finfo in model.model_fields.items():
            declared = [m for m in finfo.metadata if isinstance(m, Metric)]
            out.append(
                self.field(
                    fname,
                    prefix + fname,
                    finfo.annotation,
                    declared,
                    finfo.description or "",
                    stack,
                )
            )
        return tuple(out)

    def field(
        self,
        name: str,
        path: str,
        annotation: Any,
        declared: list[Metric],
        description: str,
        stack: tuple[type, ...],
    ) -> FieldSpec:
        annotation, optional = _unwrap(annotation, declared, path)
        metric = self._metric(path, declared)
        ignored = metric is not None and metric.name == "ignore"
        kind, labels, inner = _kind(annotation, path, ignored)
        children: tuple[FieldSpec, ...] = ()
        if inner is not None:
            if inner in stack:
                raise UserError(
                    f"field '{path}': the model {inner.__name__} contains itself",
                    hint="a recursive schema cannot be scored; flatten it or mark the field "
                    "Metric.ignore()",
                )
            child_prefix = path + ("[]." if kind == "records" else ".")
            children = self.model_fields(inner, child_prefix, (*stack, inner))
        if metric is None:
            metric = Metric(_DEFAULT_METRIC[kind])
        if path in self.aliases:
            self.used.add(path)
        spec = FieldSpec(
            name=name,
            kind=kind,
            metric=metric,
            labels=labels,
            aliases=dict(self.aliases.get(path, {})),
            description=description,
            path=path,
            children=children,
            optional=optional,
        )
        _check_metric(spec)
        if not spec.is_leaf and spec.scored and not spec.scored_children:
            spec = replace(spec, metric=Metric("ignore"))  # nothing under it is scored
        return spec

    def _metric(self, path: str, declared: list[Metric]) -> Metric | None:
        base = declared[-1] if declared else None
        if path not in self.metrics:
            return base
        self.used.add(path)
        override = self.metrics[path]
        if isinstance(override, Metric):
            return override
        if base is not None and base.name == override:
            return base  # same metric: keep the options declared on the schema
        return Metric(override)


def _unwrap(annotation: Any, declared: list[Metric], path: str) -> tuple[Any, bool]:
    """Strip ``Annotated`` (collecting any :class:`Metric`) and ``| None``."""
    optional = False
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            declared.extend(m for m in annotation.__metadata__ if isinstance(m, Metric))
            annotation = annotation.__origin__
            continue
        if origin in (typing.Union, types.UnionType):
            args = typing.get_args(annotation)
            non_none = [a for a in args if a is not type(None)]
            optional = optional or len(non_none) < len(args)
            if len(non_none) != 1:
                names = " | ".join(getattr(a, "__name__", str(a)) for a in args)
                raise UserError(f"field '{path}': cannot score a union of types ({names})")
            annotation = non_none[0]
            continue
        return annotation, optional


def _kind(
    annotation: Any, path: str, ignored: bool
) -> tuple[FieldKind, tuple[str, ...], type[BaseModel] | None]:
    """(kind, labels, nested model) of an unwrapped annotation."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is Literal:
        return "label", tuple(str(a) for a in args if a is not None), None
    if origin in _SEQUENCES and args and not (origin is tuple and args[-1] is not Ellipsis):
        inner, _ = _unwrap(args[0], [], path + "[]")
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            if origin in (list, Sequence) or origin is tuple:
                return "records", (), inner
        else:
            try:
                inner_kind, labels, _ = _kind(inner, path + "[]", False)
            except UserError:
                inner_kind, labels = "object", ()
            if inner_kind in ("label", "text"):
                return "label_set", labels, None
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel):
            return "object", (), annotation
        if issubclass(annotation, enum.Enum):
            return "label", tuple(str(m.value) for m in annotation), None
        if issubclass(annotation, bool):
            return "bool", (), None
        if issubclass(annotation, int):
            return "int", (), None
        if issubclass(annotation, float):
            return "float", (), None
        if issubclass(annotation, dt.date):
            return "date", (), None
        if issubclass(annotation, str):
            return "text", (), None
    if ignored:
        return "text", (), None
    shown = getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")
    if origin is not None:
        shown = str(annotation).replace("typing.", "")
    raise UserError(f"field '{path}': cannot score type {shown}", hint=_SUPPORTED)


def _check_metric(spec: FieldSpec) -> None:
    """The field's metric exists, applies to its kind and has valid parameters; every
    problem is one :class:`UserError` naming the field's path."""
    path, kind, name = spec.path, spec.kind, spec.metric.name
    try:
        scorer = spec.metric.scorer()
    except UserError as exc:
        raise UserError(f"field '{path}': {exc.args[0]}", hint=exc.hint) from None
    if name == "ignore":
        return
    if kind in NESTED_KINDS and name != kind:
        raise UserError(
            f"field '{path}': a {kind} field takes metric '{kind}' or 'ignore', not '{name}'"
        )
    if kind not in scorer.kinds:
        wanted = " or ".join(scorer.kinds)
        article = "an" if wanted[0] in "aeiou" else "a"
        raise UserError(
            f"field '{path}': metric '{name}' needs {article} {wanted} field, not {kind}"
        )
    try:
        scorer.check(spec)
    except UserError as exc:
        raise UserError(f"field '{path}': {exc.args[0]}", hint=exc.hint) from None
