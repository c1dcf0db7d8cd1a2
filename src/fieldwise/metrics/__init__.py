"""Metrics: how one field's prediction is compared with gold, one registered object each.

A field declares its metric on the schema, ``Annotated[float, Metric("number",
rel=0.01)]``; scoring profiles supply only policy (normalise labels? real JSON types?
abstention?) and every metric works under every profile. The built-ins are registered
below, one line each, by dotted path; a new metric is one module with a
:class:`LeafMetric` subclass and one line here, or, from another package, a
``fieldwise.metrics`` entry point (see docs/extending.md).
"""

from __future__ import annotations

from fieldwise import registry
from fieldwise.metrics._arrays import (
    MISSING,
    Gathered,
    bools,
    is_null,
    not_null,
    objects,
    types_are,
)
from fieldwise.metrics._base import LEAF_KINDS, VERBATIM, LeafMetric, MetricParams, Policy

__all__ = [
    "LEAF_KINDS",
    "MISSING",
    "VERBATIM",
    "Gathered",
    "LeafMetric",
    "MetricParams",
    "Policy",
    "bools",
    "is_null",
    "not_null",
    "objects",
    "types_are",
]


def markdown_table() -> str:
    """Every built-in metric as a Markdown table (name, field kinds, parameters, what it
    scores), read from the metric classes themselves (for docs/extending.md)."""
    lines = ["| metric | field kinds | parameters | scores |", "| --- | --- | --- | --- |"]
    for name in registry.metrics.builtins():
        cls = registry.metrics.get(name)
        params = ", ".join(f"`{p}={f.default!r}`" for p, f in cls.Params.model_fields.items())
        kinds = cls.kinds
        if set(LEAF_KINDS) <= set(kinds):
            kinds = ("any leaf", *(k for k in kinds if k not in LEAF_KINDS))
        text = cls.description.replace("|", "\\|")
        lines.append(f"| `{name}` | {', '.join(kinds)} | {params or '-'} | {text} |")
    return "\n".join(lines)


registry.metrics.configure(
    check=lambda obj: isinstance(obj, type) and issubclass(obj, LeafMetric),
    describe=markdown_table,
)
registry.metrics.register("exact", "fieldwise.metrics.exact:Exact")
registry.metrics.register("equal", "fieldwise.metrics.equal:Equal")
registry.metrics.register("int_equal", "fieldwise.metrics.equal:IntEqual")
registry.metrics.register("set_equal", "fieldwise.metrics.sets:SetEqual")
registry.metrics.register("set_recall", "fieldwise.metrics.sets:SetRecall")
registry.metrics.register("set_f1", "fieldwise.metrics.sets:SetF1")
registry.metrics.register("number", "fieldwise.metrics.number:Number")
registry.metrics.register("text_similarity", "fieldwise.metrics.text_similarity:TextSimilarity")
registry.metrics.register("date", "fieldwise.metrics.date:Date")
registry.metrics.register("object", "fieldwise.metrics.structure:ObjectMetric")
registry.metrics.register("records", "fieldwise.metrics.structure:RecordsMetric")
registry.metrics.register("ignore", "fieldwise.metrics.structure:Ignore")
