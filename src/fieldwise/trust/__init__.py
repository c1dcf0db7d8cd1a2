"""Can I trust this field? Evidence spans for every value, and how well a model grounds.

The aligner finds, for every leaf value of an answer (a model's prediction or a gold
label), where the source text writes it, with a status: ``exact``, ``normalised``,
``fuzzy`` or ``none`` (``docs/trust.md`` has the rules and thresholds). It is pure and
fast (a 5,000-token document with 50 values in a few milliseconds), so every stage can
call it on the fly instead of storing spans.

Python API (stable; the confidence work and the report build on it)::

    from fieldwise.trust import align_row, align_rows, align_value, field_path

    evidence = align_row(task, text, answer)        # {path: Evidence}
    evidence["line_items[2].sku"].status            # "exact" | "normalised" | "fuzzy" | "none"
    evidence["line_items[2].sku"].grounded          # status != "none"
    field_path("line_items[2].sku")                 # "line_items[].sku": the scored leaf
    align_rows(task, texts, answers)                # one dict per row ({} for None)
    align_value(text, 12)                           # one value, first occurrence

Paths are those of ``score --json`` with the record index filled in (``vendor.name``,
``line_items[2].sku``); a label set's labels are ``province[0]``, ``province[1]``. Only
leaves whose grounding (declared per field in the task, ``FieldSpec.grounding_mode``) is
``required`` or ``optional`` are aligned, and nulls, ``""`` and ``"unknown"`` get no
evidence. Grounding metrics per field and model (grounded rate, hallucination rate,
grounded-correct against gold spans) are in :mod:`fieldwise.trust.grounding`; the
out-of-domain probes in :mod:`fieldwise.trust.ood`.
"""

from __future__ import annotations

from fieldwise.trust._align import (
    Evidence,
    Leaf,
    align_row,
    align_rows,
    align_value,
    field_path,
    is_blank,
    leaf_values,
)
from fieldwise.trust._document import Document
from fieldwise.trust._find import Status

__all__ = [
    "Document",
    "Evidence",
    "Leaf",
    "Status",
    "align_row",
    "align_rows",
    "align_value",
    "field_path",
    "is_blank",
    "leaf_values",
]
