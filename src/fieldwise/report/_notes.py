"""Notes the page owes its reader: fields a model never answers, and what a score under a
profile that allows abstention means.

A field a model abstains on everywhere (the embedded model and lists of records) scores
0.0 under ``reference`` and is simply missing under ``strict``; without a word, both
look like a broken scorer. These notes say which model, which field, on how many rows,
and why when the backend knows (its ``training_notes`` name the field).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from fieldwise.report._summary import mean_coverage
from fieldwise.report._values import Parsed, pct
from fieldwise.scoring import MISSING, get_profile
from fieldwise.scoring._profile import Profile
from fieldwise.scoring._types import ModelResult, ModelScore
from fieldwise.tasks._task import Example, Task


@dataclass
class Abstention:
    """Model ``index`` answered ``null`` (or nothing) for ``field`` on all ``rows`` rows
    that have a gold value for it."""

    index: int
    label: str
    field: str
    rows: int
    reason: str

    @property
    def short(self) -> str:
        why = f"; its backend says: {self.reason}" if self.reason else ""
        return f"{self.label} never predicts {self.field} (null on all {self.rows} rows){why}."


def abstentions(
    task: Task,
    examples: list[Example],
    results: list[ModelResult],
    order: list[int],
    parsed: list[Parsed],
    fields: list[str],
) -> list[Abstention]:
    """Every (model, field) where the model parsed but never gave the field a value on a
    row whose gold has one, in leaderboard then field order."""
    golds = [ex.gold or {} for ex in examples]
    out = []
    for i in order:
        reasons = None
        for name in fields:
            rows = _unanswered(golds, parsed[i], name)
            if rows:
                if reasons is None:
                    reasons = _backend_notes(results[i].spec, task)
                reason = next((n for n in reasons if f"'{name}'" in n), "")
                out.append(Abstention(i, results[i].label, name, rows, reason))
    return out


def _unanswered(golds: list[dict[str, Any]], parsed: Parsed, name: str) -> int:
    """How many parsed rows with gold for ``name`` the model left null, or 0 as soon as
    one such row has a value (so a field the model answers costs a few rows, not all)."""
    rows = 0
    for r, gold in enumerate(golds):
        if gold.get(name) is None or parsed.statuses[r] != "ok":
            continue
        value = parsed.value(r, name)
        if value is not None and value is not MISSING:
            return 0
        rows += 1
    return rows


def _backend_notes(spec: str, task: Task) -> list[str]:
    """What the model's backend says it cannot learn on ``task`` (none for a backend
    that is not trainable, not installed, or not known: e.g. imported outputs)."""
    try:
        from fieldwise.models import get_backend
        from fieldwise.models._model import TrainableModel

        cls = get_backend(spec.split("/", 1)[0])
        return list(cls.training_notes(task)) if issubclass(cls, TrainableModel) else []
    except Exception:  # noqa: BLE001 - a missing reason must never break the report
        return []


def abstaining_profiles(results: list[ModelResult]) -> set[str]:
    """Profiles that let a model abstain (a null is neither right nor wrong and lowers
    coverage): those that say so, and any under which some model has unscored cells."""
    out = set()
    for name in results[0].scores:
        if any(mean_coverage(r.scores[name]) < 0.9995 for r in results if name in r.scores):
            out.add(name)
            continue
        try:
            profile = get_profile(name)
        except Exception:  # noqa: BLE001 - a profile known only to the caller
            continue
        if type(profile).abstains is not Profile.abstains:
            out.add(name)
    return out


def coverage_text(score: ModelScore, field: str | None = None) -> str:
    """Coverage as a percentage: one field's, or the mean over fields."""
    value = mean_coverage(score) if field is None else score.coverage.get(field, math.nan)
    return pct(value, 0)


def by_field(notes: list[Abstention]) -> dict[str, dict[int, str]]:
    """The notes keyed by field, then model index (for the error analysis)."""
    out: dict[str, dict[int, Any]] = {}
    for n in notes:
        out.setdefault(n.field, {})[n.index] = n.short
    return out


def coverage_note(profiles: list[str], abstaining: set[str]) -> str:
    """Said once under the leaderboard: what coverage is, and why a profile that lets
    models abstain can score the same outputs higher than one that does not."""
    if not abstaining:
        return ""
    lenient = sorted(p for p in profiles if p in abstaining)
    others = [p for p in profiles if p not in abstaining]
    text = (
        "Coverage is the share of fields with gold that the model answered. Under "
        f"{' and '.join(lenient)} an abstention (null) is neither right nor wrong: it is "
        "left out of the score and lowers coverage instead"
    )
    if not others:
        return text + "."
    return (
        f"{text}, where {' and '.join(others)} scores it 0. So for the same outputs a "
        f"{lenient[0]} score is often higher than the {others[0]} one: read it with its "
        "coverage."
    )
