"""Hand-written knowledge the baseline can use, behind one small interface.

Generic rules work for any task: a label is "mentioned" when its words (or an alias)
appear in the text, and numbers in the text are candidate counts. A task may supply a
richer :class:`Rules` (see ``_isaf.py``); the learned heads decide how far to trust it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from fieldwise.models.baseline._text import numbers_in
from fieldwise.tasks import FieldSpec, Task

_DECIMAL = re.compile(r"(?<![\d.,])\d{1,3}(?:,\d{3})*\.\d+|(?<![\d.,])\d+\.\d+")
"""A decimal amount as invoices and reports write it: ``1,234.50``, ``0.25``."""


def label_regex(surface: str) -> re.Pattern[str]:
    """Case-insensitive whole-word pattern for a label's surface form (``_`` = space)."""
    parts = [re.escape(p) for p in re.split(r"[\s_\-]+", surface.strip()) if p]
    return re.compile(r"(?i)\b" + r"[\s_\-]*".join(parts) + r"\b")


class Rules:
    """Default, task-agnostic rules. Subclasses add domain knowledge."""

    name = "generic"

    def mention_text(self, text: str) -> str:
        """The text in which label mentions are searched (a task may blank boilerplate)."""
        return text

    def label_patterns(self, field: FieldSpec) -> dict[str, list[re.Pattern[str]]]:
        """Strong evidence that a label applies: its own words or an alias."""
        out: dict[str, list[re.Pattern[str]]] = {}
        for label in field.labels:
            if label:
                out[label] = [label_regex(label)]
        for alias, label in field.aliases.items():
            if label in out and alias:
                out[label].append(label_regex(alias))
        return out

    def label_hints(self, field: FieldSpec) -> dict[str, list[re.Pattern[str]]]:
        """Weak evidence (e.g. a place inside a region); none by default."""
        return {}

    def features(self, text: str) -> dict[str, float]:
        """Row-level features shared by every head."""
        return {}

    def int_candidates(self, field: FieldSpec, text: str) -> Mapping[str, float]:
        """Candidate values for an integer (or decimal) field, by rule name."""
        if field.kind == "float":
            amounts = [float(a.replace(",", "")) for a in _DECIMAL.findall(text)]
            if amounts:
                return {
                    "first_amount": amounts[0],
                    "last_amount": amounts[-1],
                    "max_amount": max(amounts),
                    "min_amount": min(amounts),
                }
        nums = [n for n in numbers_in(text) if n < 10_000]
        if not nums:
            return {}
        return {"first_number": nums[0], "max_number": max(nums), "min_number": min(nums)}


def rules_for(task: Task) -> Rules:
    """The richest rules that fit ``task`` (ISAF's when its fields match)."""
    names = {f.name for f in task.fields}
    if task.name == "isaf" or {"province", "min_captured", "killcaptureraid"} <= names:
        from fieldwise.models.baseline._isaf import IsafRules

        return IsafRules()
    return Rules()
