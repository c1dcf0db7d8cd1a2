"""Evidence for every leaf value of one answer: where in its text each value is written.

An answer (a prediction or a gold label, both are task-shaped JSON) is walked leaf by
leaf. Each leaf value gets a path (``vendor.name``, ``line_items[2].sku``, ``province[0]``
for the first label of a label set) and the evidence the aligner found for it: the best
tier's occurrences (``_find``), of which one is chosen:

- inside a record or object, the occurrence nearest the record's other values (the sum
  of distances, in characters, to the nearest occurrence of each sibling value that was
  found at all), so ``4`` in the line that names ``LB-VEG`` is chosen over a ``4`` in the
  address;
- anywhere else, the first.

Only leaves whose grounding is ``required`` or ``optional`` are aligned; nulls, empty
strings and ``"unknown"`` are abstentions, not values, and get no evidence.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Mapping, Sequence
from itertools import accumulate
from typing import Any, NamedTuple

from fieldwise.tasks._task import FieldSpec, Task
from fieldwise.trust._document import Document, Span
from fieldwise.trust._find import Found, Status, find_value

__all__ = [
    "Evidence",
    "Leaf",
    "align_leaves",
    "align_row",
    "align_rows",
    "align_value",
    "field_path",
    "is_blank",
    "leaf_values",
]


class Evidence(NamedTuple):
    """Where one value is written: ``text[start:end]``, and how closely it matched.

    ``status`` is ``exact``, ``normalised``, ``fuzzy`` or ``none`` (then ``start`` and
    ``end`` are ``None``). A named tuple: reports make one per value of every model."""

    start: int | None
    end: int | None
    status: Status

    @property
    def grounded(self) -> bool:
        return self.status != "none"

    def to_json(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "status": self.status}


UNGROUNDED = Evidence(None, None, "none")


class Leaf(NamedTuple):
    """One leaf value of an answer: its path, its field, and the record it belongs to
    (the path of the enclosing records item or top-level object; ``None`` at top level)."""

    path: str
    spec: FieldSpec
    value: Any
    group: str | None


def is_blank(value: Any) -> bool:
    """An abstention rather than a value: ``null``, an empty string, ``"unknown"``."""
    if value is None:
        return True
    return isinstance(value, str) and value.strip().lower() in ("", "unknown")


_INDEX = re.compile(r"\[\d+\]")


def field_path(path: str) -> str:
    """The schema path of a value's path: ``line_items[2].sku`` → ``line_items[].sku``,
    ``province[0]`` → ``province`` (the keys of ``score --json``'s ``paths``)."""
    if path.endswith("]"):
        path = path[: path.rfind("[")]
    return _INDEX.sub("[]", path)


def leaf_values(task: Task, answer: Mapping[str, Any] | None) -> list[Leaf]:
    """Every aligned leaf value of ``answer`` (see the module), in schema order."""
    if not isinstance(answer, Mapping):
        return []
    out: list[Leaf] = []
    for spec in task.fields:
        if spec.name in answer:
            _walk(spec, answer[spec.name], spec.name, None, out)
    return out


def _walk(spec: FieldSpec, value: Any, path: str, group: str | None, out: list[Leaf]) -> None:
    if spec.is_leaf:
        if spec.grounding_mode == "none":
            return
        if spec.kind == "label_set" and isinstance(value, list):
            for i, item in enumerate(value):
                if not is_blank(item):
                    out.append(Leaf(f"{path}[{i}]", spec, item, group))
        elif not is_blank(value):
            out.append(Leaf(path, spec, value, group))
        return
    if spec.kind == "object" and isinstance(value, Mapping):
        inner = path if group is None else group
        for child in spec.children:
            if child.name in value:
                _walk(child, value[child.name], f"{path}.{child.name}", inner, out)
    elif spec.kind == "records" and isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, Mapping):
                record = f"{path}[{i}]"
                for child in spec.children:
                    if child.name in item:
                        _walk(child, item[child.name], f"{record}.{child.name}", record, out)


def align_row(
    task: Task, text: str | Document, answer: Mapping[str, Any] | None
) -> dict[str, Evidence]:
    """Evidence for each aligned leaf value of ``answer`` in ``text``, by value path.

    ``answer`` is the task-shaped JSON object (a parsed prediction or a gold label); a
    value of the wrong type is aligned as what it is (a string where a number belongs is
    looked for as text) and never raises.
    """
    doc = text if isinstance(text, Document) else Document(text)
    return align_leaves(doc, leaf_values(task, answer))


def align_leaves(doc: Document, leaves: Sequence[Leaf]) -> dict[str, Evidence]:
    """:func:`align_row` for leaves already listed (:func:`leaf_values`). A value met
    again in the same document (another model's answer) is looked up, not searched."""
    found = {leaf.path: _find(doc, leaf) for leaf in leaves}
    groups: dict[str | None, list[str]] = {}
    for leaf in leaves:
        groups.setdefault(leaf.group, []).append(leaf.path)
    out: dict[str, Evidence] = {}
    for group, paths in groups.items():
        spans = {p: found[p].spans for p in paths if found[p].spans}
        for path in paths:
            status = found[path].status
            if path not in spans:
                out[path] = UNGROUNDED
                continue
            others = [] if group is None else [s for q, s in spans.items() if q != path]
            start, end = _nearest(spans[path], others)
            out[path] = Evidence(start, end, status)
    return {leaf.path: out[leaf.path] for leaf in leaves}


def _find(doc: Document, leaf: Leaf) -> Found:
    value = leaf.value
    if not isinstance(value, str | int | float):
        return find_value(doc, value, leaf.spec)
    key = (leaf.spec.path, type(value), value)
    hit = doc.found.get(key)
    if hit is None:
        hit = doc.found[key] = find_value(doc, value, leaf.spec)
    return hit  # type: ignore[return-value]


class _Nearby:
    """One value's spans, sorted, ready to say how far any span is from the nearest."""

    def __init__(self, spans: Sequence[Span]) -> None:
        self.starts = [s for s, _ in spans]
        self.reach = list(accumulate((e for _, e in spans), max))  # furthest end so far

    def distance(self, span: Span) -> int:
        """Characters from ``span`` to the nearest of the spans (0 when one touches it)."""
        at = bisect.bisect_right(self.starts, span[0])
        left = span[0] - self.reach[at - 1] if at else None
        right = self.starts[at] - span[1] if at < len(self.starts) else None
        return max(0, min(d for d in (left, right) if d is not None))


def _nearest(candidates: Sequence[Span], others: Sequence[Sequence[Span]]) -> Span:
    """The candidate with the least summed distance to the nearest span of each other
    value; the first on a tie (and the first when there are no other values)."""
    if len(candidates) == 1 or not others:
        return candidates[0]
    nearby = [_Nearby(spans) for spans in others]
    return min(candidates, key=lambda c: sum(n.distance(c) for n in nearby))


def align_rows(
    task: Task, texts: Sequence[str], answers: Sequence[Mapping[str, Any] | None]
) -> list[dict[str, Evidence]]:
    """:func:`align_row` for each (text, answer) pair; ``None`` answers get ``{}``."""
    return [
        align_row(task, text, answer) if answer is not None else {}
        for text, answer in zip(texts, answers, strict=True)
    ]


def align_value(text: str | Document, value: Any, spec: FieldSpec | None = None) -> Evidence:
    """Evidence for one value alone: its first occurrence at the best tier."""
    doc = text if isinstance(text, Document) else Document(text)
    found = find_value(doc, value, spec)
    if not found.spans:
        return UNGROUNDED
    start, end = found.spans[0]
    return Evidence(start, end, found.status)
