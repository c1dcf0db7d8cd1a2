"""Label audits: find quirks in gold labels before they quietly cost a model points.

Under the reference profile a gold ``"sar-e pul"`` can never be matched by a model that
writes the enum value ``sar_e_pul``, and ``"aq;taliban"`` is one label, not two. The audit
lists such cases with the ids of example rows, so a user can decide whether to fix their
data, trust the strict profile, or accept the quirk.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any, Literal

from fieldwise.data.nested import leaf_values
from fieldwise.metrics._labels import normaliser, split_label
from fieldwise.metrics.date import iso_date
from fieldwise.tasks import Example, Task, load_task
from fieldwise.tasks._task import FieldSpec

__all__ = ["IssueKind", "LabelIssue", "audit_labels"]

IssueKind = Literal[
    "missing",
    "wrong_type",
    "invalid_date",
    "empty_string",
    "joined_multi",
    "alias",
    "not_in_labels",
]
_TYPES = {"int": (int,), "bool": (bool,), "float": (int, float), "text": (str,)}


@dataclass
class LabelIssue:
    """One kind of quirk for one raw gold value, with how often and where it occurs."""

    field: str
    kind: IssueKind
    value: str
    count: int = 0
    example_ids: list[str] = dc_field(default_factory=list)
    suggestion: str | None = None

    def __str__(self) -> str:
        hint = f" -> {self.suggestion}" if self.suggestion else ""
        ids = ", ".join(self.example_ids)
        return f"{self.field}: {self.kind} {self.value}{hint} ({self.count} rows, e.g. {ids})"

    def to_json(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "kind": self.kind,
            "value": self.value,
            "count": self.count,
            "example_ids": self.example_ids,
            "suggestion": self.suggestion,
        }


def audit_labels(
    task: Task | str, examples: Iterable[Example | Mapping[str, Any]], max_ids: int = 10
) -> list[LabelIssue]:
    """Audit every scored field of every labelled example.

    ``examples`` are :class:`Example` objects or plain gold dicts (an ``id`` key is used
    when present, else the row number). Issues come out in field order, commonest first.
    Finds: missing values, wrong types, invalid dates, empty strings where ``""`` is not a
    label, ``;``-joined multi-values, spellings that an alias or case/spacing fix turns
    into a label, and values outside the field's labels.
    """
    task = load_task(task)
    found: dict[tuple[str, str, str], LabelIssue] = {}

    def note(spec: FieldSpec, kind: IssueKind, value: Any, row_id: str, hint: str | None) -> None:
        key = (spec.path, kind, repr(value))
        issue = found.setdefault(key, LabelIssue(spec.path, kind, repr(value), suggestion=hint))
        issue.count += 1
        if len(issue.example_ids) < max_ids:
            issue.example_ids.append(row_id)

    for i, ex in enumerate(examples):
        row_id, gold = _unpack(ex, i)
        if gold is None:
            continue
        for spec in task.scored_fields:
            for leaf, value, problem in leaf_values(spec, gold.get(spec.name)):
                if problem is not None:  # a nested value of the wrong shape
                    kind: IssueKind = "missing" if problem == "missing" else "wrong_type"
                    note(leaf, kind, value, row_id, None if kind == "missing" else problem)
                elif not (value is None and leaf.optional):  # null is an optional's value
                    for kind, bad, hint in _check(leaf, value):
                        note(leaf, kind, bad, row_id, hint)
    order = {spec.path: k for k, spec in enumerate(task.walk())}
    return sorted(found.values(), key=lambda x: (order.get(x.field, 0), -x.count, x.value))


def _unpack(ex: Example | Mapping[str, Any], index: int) -> tuple[str, Mapping[str, Any] | None]:
    if isinstance(ex, Example):
        return ex.id, ex.gold
    gold = ex.get("gold") if isinstance(ex.get("gold"), Mapping) else ex
    return str(ex.get("id", index)), gold


def _check(spec: FieldSpec, value: Any) -> list[tuple[IssueKind, Any, str | None]]:
    if value is None:
        return [("missing", None, None)]
    if spec.kind == "date":
        return [] if iso_date(value) == value else [("invalid_date", value, None)]
    if spec.kind in _TYPES:
        ok = type(value) in _TYPES[spec.kind]
        return [] if ok else [("wrong_type", value, f"expected {spec.kind}")]
    if spec.kind == "label_set":
        if type(value) is not list:
            return [("wrong_type", value, "expected a list of labels")]
        return [issue for item in value for issue in _check_label(spec, item)]
    return _check_label(spec, value)


def _check_label(spec: FieldSpec, item: Any) -> list[tuple[IssueKind, Any, str | None]]:
    if type(item) is not str:
        return [("wrong_type", item, "expected a string label")]
    labels = set(spec.labels)
    if item in labels or (not labels and item):
        return []
    norm = normaliser(spec)
    if item == "":
        return [("empty_string", item, None)]
    if ";" in item:
        parts = [norm.one(p) for p in split_label(item) if p]
        unknown = [p for p in parts if labels and p not in labels]
        extra = f" ({', '.join(map(repr, unknown))} not a label)" if unknown else ""
        return [("joined_multi", item, f"split into {parts!r}{extra}")]
    fixed = norm.one(item)
    if fixed in labels and fixed != item:
        return [("alias", item, repr(fixed))]
    return [("not_in_labels", item, None)] if labels else []
