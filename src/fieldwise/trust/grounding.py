"""Grounding metrics: how often a model's values are found in the text, and how often a
value that is not there is also wrong (the hallucination signal).

Per field (scored leaf path) and model, over the model's aligned values (non-blank values
of fields whose grounding is ``required`` or ``optional``):

- ``grounded_rate``: share of values with evidence (status other than ``none``);
- ``hallucination_rate``: share of values that are ungrounded *and* wrong;
- ``grounded_correct_rate`` (only where the data has a gold ``spans`` column): share of
  values that are correct and whose evidence overlaps a gold span of the field with a
  character IoU of at least :data:`IOU` (ExtractBench's rule).

A value is *correct* when the profile's own leaf metric gives it full credit against some
gold value of the same field in the row: the gold value of a flat field, any label of a
gold label set (for one predicted label), any record's value for a leaf under a records
field (no record alignment is needed to say a value occurs in gold).

The model-level numbers pool the values of the ``required`` fields: an ``optional``
field's values may be inferred, so a missing span is no fault there.
"""

from __future__ import annotations

import copy
import math
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fieldwise.scoring._profile import MISSING, Profile, objects
from fieldwise.scoring.stats import Resamples
from fieldwise.tasks._task import Example, FieldSpec, Task
from fieldwise.trust._align import (
    Evidence,
    Leaf,
    align_leaves,
    align_row,
    field_path,
    leaf_values,
)
from fieldwise.trust._document import Document
from fieldwise.trust._rates import Rate, rate

__all__ = [
    "IOU",
    "SAMPLE_ROWS",
    "sample_rows",
    "ungrounded_as_abstentions",
    "FieldGrounding",
    "ModelGrounding",
    "char_iou",
    "grounding_scores",
    "value_correctness",
]

IOU = 0.5
"""Least character IoU with a gold span for a grounded value to be grounded-correct."""
SAMPLE_ROWS = 5_000
"""Past this many rows, the report and ``score`` estimate the rates on a seeded random
sample of this many (aligning every value of 100,000 rows would dominate their time;
the intervals come from the sample, and both say so)."""


def sample_rows(n: int, seed: int = 0) -> list[int]:
    """The rows (sorted) the rates of an ``n``-row run are estimated on."""
    if n <= SAMPLE_ROWS:
        return list(range(n))
    return sorted(random.Random(seed).sample(range(n), SAMPLE_ROWS))


@dataclass
class FieldGrounding:
    """One field's grounding counts for one model (see the module for the rates)."""

    path: str
    grounding: str
    values: int = 0
    grounded: int = 0
    ungrounded_wrong: int = 0
    span_values: int = 0
    """Values in rows whose gold spans cover this field (the grounded-correct base)."""
    grounded_correct: int = 0

    @property
    def grounded_rate(self) -> float:
        return self.grounded / self.values if self.values else math.nan

    @property
    def hallucination_rate(self) -> float:
        return self.ungrounded_wrong / self.values if self.values else math.nan

    @property
    def grounded_correct_rate(self) -> float:
        return self.grounded_correct / self.span_values if self.span_values else math.nan

    def to_json(self) -> dict[str, Any]:
        return {
            "grounding": self.grounding,
            "values": self.values,
            "grounded_rate": _num(self.grounded_rate),
            "hallucination_rate": _num(self.hallucination_rate),
            "grounded_correct_rate": _num(self.grounded_correct_rate),
        }


@dataclass
class ModelGrounding:
    """A model's grounding: per field, pooled over required fields, and the evidence of
    every row (``evidence[i]``: value path → :class:`Evidence`) for later stages."""

    fields: dict[str, FieldGrounding]
    evidence: list[dict[str, Evidence]] = field(repr=False, default_factory=list)
    row_values: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))
    """Per row: values of required fields (the pooled rates' denominators)."""
    row_grounded: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))
    row_hallucinated: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))

    def rates(self, resamples: Resamples | None = None) -> tuple[Rate, Rate]:
        """The pooled grounded and hallucination rates with 95% intervals, resampling rows
        (pass the run's ``resamples`` so rows of one document are drawn together)."""
        return (
            rate(self.row_grounded, self.row_values, resamples=resamples),
            rate(self.row_hallucinated, self.row_values, resamples=resamples),
        )

    def _pooled(self, attr: str) -> tuple[int, int]:
        req = [f for f in self.fields.values() if f.grounding == "required"]
        return sum(getattr(f, attr) for f in req), sum(f.values for f in req)

    @property
    def grounded_rate(self) -> float:
        hits, n = self._pooled("grounded")
        return hits / n if n else math.nan

    @property
    def hallucination_rate(self) -> float:
        hits, n = self._pooled("ungrounded_wrong")
        return hits / n if n else math.nan

    def to_json(self) -> dict[str, Any]:
        return {
            "grounded_rate": _num(self.grounded_rate),
            "hallucination_rate": _num(self.hallucination_rate),
            "fields": {p: f.to_json() for p, f in self.fields.items()},
        }


def _num(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 6)


def char_iou(a: tuple[int, int], b: Sequence[int]) -> float:
    """Intersection over union of two character spans ``[start, end)``."""
    inter = max(0, min(a[1], b[1]) - max(a[0], b[0]))
    union = max(a[1], b[1]) - min(a[0], b[0])
    return inter / union if union > 0 else 0.0


_PART = re.compile(r"([^.\[\]]+)(\[\])?")


def gold_values(gold: Mapping[str, Any] | None, path: str) -> list[Any]:
    """Every gold value at a field path (``line_items[].sku``: one per gold record)."""
    found: list[Any] = [gold]
    for name, many in _PART.findall(path):
        nxt: list[Any] = []
        for node in found:
            value = node.get(name) if isinstance(node, Mapping) else None
            if many:
                nxt.extend(value if isinstance(value, list) else [])
            elif value is not None:
                nxt.append(value)
        found = nxt
    return found


def value_correctness(
    task: Task,
    profile: Profile,
    leaves: Sequence[Sequence[Leaf]],
    golds: Sequence[Mapping[str, Any] | None],
) -> list[dict[str, bool]]:
    """For each row, each leaf path → whether the value gets full credit from
    ``profile`` against some gold value of its field (see the module)."""
    pairs: dict[str, tuple[FieldSpec, list[Any], list[Any], list[tuple[int, str]]]] = {}
    for i, (row, gold) in enumerate(zip(leaves, golds, strict=True)):
        for leaf in row:
            fpath = field_path(leaf.path)
            spec, preds, gvals, owners = pairs.setdefault(fpath, (leaf.spec, [], [], []))
            candidates = gold_values(gold, fpath)
            if spec.kind == "label_set":  # one predicted label against each gold label
                labels = [g for c in candidates for g in (c if isinstance(c, list) else [c])]
                candidates = [[g] for g in labels]
                value: Any = [leaf.value]
            else:
                value = leaf.value
            for candidate in candidates:
                preds.append(value)
                gvals.append(candidate)
                owners.append((i, leaf.path))
    out: list[dict[str, bool]] = [dict.fromkeys((leaf.path for leaf in r), False) for r in leaves]
    for spec, preds, gvals, owners in pairs.values():
        if not preds:
            continue
        prepared = profile.prepare_gold(spec, gvals)
        scores = profile.score_inside(spec, objects(preds, len(preds)), prepared)
        for (i, path), score in zip(owners, scores.tolist(), strict=True):
            if score >= 1.0 - 1e-9:
                out[i][path] = True
    return out


def grounding_scores(
    task: Task,
    examples: Sequence[Example],
    answers: Sequence[Mapping[str, Any] | None],
    profile: Profile,
    evidence: Sequence[Mapping[str, Evidence]] | None = None,
    documents: Sequence[Document] | None = None,
) -> ModelGrounding:
    """One model's grounding metrics on ``examples`` (``answers[i]``: its parsed object
    for row i, ``None`` where it gave none), judging correctness under ``profile``.
    Pass ``evidence`` when it was aligned already (else it is aligned here), and the
    rows' ``documents`` when several models are aligned against the same texts."""
    leaves = [leaf_values(task, a) for a in answers]
    if evidence is None:
        docs = documents if documents is not None else [Document(ex.text) for ex in examples]
        evidence = [align_leaves(doc, row) for doc, row in zip(docs, leaves, strict=True)]
    correct = value_correctness(task, profile, leaves, [ex.gold for ex in examples])
    fields = {
        spec.path: FieldGrounding(spec.path, spec.grounding_mode)
        for spec in task.leaves()
        if spec.grounding_mode != "none"
    }
    per_row = np.zeros((3, len(examples)))
    for i, (ex, row, ev, ok) in enumerate(zip(examples, leaves, evidence, correct, strict=True)):
        spans = _gold_spans(ex)
        for leaf in row:
            stats = fields.get(field_path(leaf.path))
            if stats is None:
                continue
            found = ev.get(leaf.path)
            grounded = found is not None and found.grounded
            stats.values += 1
            stats.grounded += grounded
            stats.ungrounded_wrong += not grounded and not ok[leaf.path]
            if stats.grounding == "required":
                per_row[:, i] += (1, grounded, not grounded and not ok[leaf.path])
            gold_spans = spans.get(stats.path)
            if gold_spans is not None:
                stats.span_values += 1
                if grounded and ok[leaf.path] and found is not None:
                    here = (found.start or 0, found.end or 0)
                    stats.grounded_correct += any(char_iou(here, g) >= IOU for g in gold_spans)
    return ModelGrounding(fields, list(map(dict, evidence)), *per_row)


def _gold_spans(example: Example) -> dict[str, list[tuple[int, int]]]:
    """An example's gold spans by field path (``line_items[2].sku`` and ``line_items[].sku``
    both count for the field: a predicted record need not sit at the gold one's index)."""
    out: dict[str, list[tuple[int, int]]] = {}
    for path, spans in (example.spans or {}).items():
        out.setdefault(field_path(path), []).extend(spans)
    return out


_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def ungrounded_as_abstentions(
    task: Task, texts: Sequence[str], columns: Mapping[str, np.ndarray], names: Sequence[str]
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """What a ``require_grounding`` profile scores: ``columns`` (field → one predicted
    value per row) with every ungrounded value of a ``required`` field taken out, and per
    top-level field the rows that thereby abstain.

    A flat value not found in its text is an abstention (NaN: neither right nor wrong). A
    label set loses its ungrounded labels, and abstains when none is left. Inside an object
    or a record there is no abstention (``null`` is a value there, docs/nested-schemas.md),
    so an ungrounded leaf becomes ``null``.
    """
    specs = {s.name: s for s in task.fields if s.name in names and _has_required(s)}
    out = {name: columns[name] for name in names}
    masks = {name: np.zeros(len(texts), dtype=bool) for name in specs}
    copied: set[str] = set()
    for i, text in enumerate(texts):
        answer = {n: columns[n][i] for n in specs if columns[n][i] is not MISSING}
        if not answer:
            continue
        evidence = align_row(task, Document(text), answer)
        bad = [
            p
            for p, e in evidence.items()
            if not e.grounded and task.spec_at(field_path(p)).grounding_mode == "required"
        ]
        for name in {_STEP.match(p).group(1) for p in bad}:  # type: ignore[union-attr]
            if name not in copied:
                out[name], copied = out[name].copy(), copied | {name}
            value, abstain = _without(
                specs[name], answer[name], [p for p in bad if _top(p) == name]
            )
            out[name][i] = value
            masks[name][i] = abstain
    return out, {name: mask for name, mask in masks.items() if mask.any()}


def _has_required(spec: FieldSpec) -> bool:
    return any(leaf.grounding_mode == "required" for leaf in spec.leaves())


def _top(path: str) -> str:
    return _STEP.match(path).group(1)  # type: ignore[union-attr]


def _without(spec: FieldSpec, value: Any, paths: list[str]) -> tuple[Any, bool]:
    """Field ``spec``'s ``value`` without the ungrounded values at ``paths``, and whether
    the field as a whole now abstains."""
    if spec.name in paths:  # the field's own value
        return None, True
    if spec.kind == "label_set" and isinstance(value, list):  # paths: "province[1]"
        drop = {int(p[len(spec.name) + 1 : -1]) for p in paths}
        kept = [v for k, v in enumerate(value) if k not in drop]
        return kept, not any(isinstance(v, str) and v.strip() for v in kept)
    value = copy.deepcopy(value)
    for path in sorted(paths, key=_index_order, reverse=True):  # later list items first
        _clear(value, [m.group(1) or int(m.group(2)) for m in _STEP.finditer(path)][1:])
    return value, False


def _index_order(path: str) -> list[int]:
    return [int(k) for k in re.findall(r"\[(\d+)\]", path)]


def _clear(node: Any, steps: list[str | int]) -> None:
    """Set the leaf at ``steps`` below ``node`` to null (a label set's label: drop it)."""
    for step in steps[:-1]:
        node = node[step]
    last = steps[-1]
    if isinstance(last, int) and isinstance(node, list) and all(isinstance(v, str) for v in node):
        del node[last]
    else:
        node[last] = None
