"""Walk nested gold values by leaf path, and flatten objects to leaf columns and back.

Stages that think in columns (the label audit, the embedded model) see a nested task
through these helpers: ``vendor.name`` is a column like any top-level field, while a
``records`` field (a list whose length varies per row) is not a column at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fieldwise.tasks import FieldSpec, Task

Problem = str
"""Why a nested value could not be walked: ``"expected an object"`` and the like."""


def leaf_values(spec: FieldSpec, value: Any) -> Iterator[tuple[FieldSpec, Any, Problem | None]]:
    """Every scored leaf value at or below ``spec`` in one gold value, as
    ``(spec, value, None)``; a value of the wrong shape is ``(spec, value, problem)``.

    An optional object that is ``null`` has no leaves; records yield each record's leaves
    in turn (their specs carry the ``[]`` path, e.g. ``line_items[].sku``).
    """
    if not spec.scored:
        return
    if spec.is_leaf:
        yield spec, value, None
        return
    if value is None:
        if not spec.optional:
            yield spec, value, "missing"
        return
    if spec.kind == "object":
        if not isinstance(value, dict):
            yield spec, value, "expected an object"
            return
        for child in spec.children:
            yield from leaf_values(child, value.get(child.name))
        return
    if not isinstance(value, list):
        yield spec, value, "expected a list of objects"
        return
    for record in value:
        if not isinstance(record, dict):
            yield spec, record, "expected an object in the list"
            continue
        for child in spec.children:
            yield from leaf_values(child, record.get(child.name))


def column_leaves(task: Task) -> list[FieldSpec]:
    """Leaves that are one value per row, named by path: every top-level leaf (scored or
    not, as the flat task has them) and the leaves of nested objects, but nothing under
    a ``records`` field."""

    def walk(spec: FieldSpec) -> Iterator[FieldSpec]:
        if spec.kind == "records":
            return
        if spec.is_leaf:
            yield spec
            return
        for child in spec.children:
            yield from walk(child)

    return [leaf for spec in task.fields for leaf in walk(spec)]


def flatten(task: Task, gold: dict[str, Any]) -> dict[str, Any]:
    """One row's column leaves by path (a leaf under a null or missing object is null)."""
    out: dict[str, Any] = {}

    def walk(spec: FieldSpec, value: Any) -> None:
        if spec.kind == "records":
            return
        if spec.is_leaf:
            out[spec.path] = value
            return
        inner = value if isinstance(value, dict) else {}
        for child in spec.children:
            walk(child, inner.get(child.name))

    for spec in task.fields:
        walk(spec, gold.get(spec.name))
    return out


def unflatten(task: Task, columns: dict[str, Any]) -> dict[str, Any]:
    """A row in the task's shape from column leaves by path; a ``records`` field is
    ``null`` (no prediction) and an optional object whose leaves are all null is null."""

    def build(spec: FieldSpec) -> Any:
        if spec.kind == "records":
            return None
        if spec.is_leaf:
            return columns.get(spec.path)
        value = {child.name: build(child) for child in spec.children}
        if spec.optional and all(v is None for v in value.values()):
            return None
        return value

    return {spec.name: build(spec) for spec in task.fields}
