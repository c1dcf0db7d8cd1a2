"""The simulated models' world: the annotation conventions a task's labels follow.

A *convention* is one thing an annotator did consistently that a model reading the text
cold would get wrong: "a couple" detained means ``min_captured = 2``; "yesterday" is
relative to the release's date. Each has

- ``triggers``: phrases whose presence in a row's text means the row needs it;
- ``fields``: the top-level fields it decides on those rows;
- ``naive``: what a model unaware of it answers there (``zero``, ``plus_one``,
  ``next_day``, ``negate``, ``blank``);
- ``key``: the phrase that, found in the system prompt, means the prompt states it;
- ``statement``: how the simulated optimiser writes it into a prompt;
- ``written``: whether the task's own rules state it (else it is *hidden*: only the
  labels follow it, and only failures can reveal it).

The simulated prompted model (``simulated/NAME``) applies a convention on a row when the
prompt states it or a few-shot example shows it (see ``models/simulated.py``); the
simulated optimiser (``simulated-optimizer/NAME``) knows them all and proposes the
statement of one whose triggers and fields match the failures it is shown. ISAF's world
is below; any other task gets one derived from its rules (:func:`derive`), or a YAML file
of conventions (``conventions:`` option). See docs/optimize.md for the full rules.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from fieldwise.errors import UserError
from fieldwise.tasks._task import FieldSpec, Task
from fieldwise.tasks.named_prompts import split_rules

Naive = Literal["zero", "plus_one", "next_day", "negate", "blank"]
NAIVE: tuple[str, ...] = ("zero", "plus_one", "next_day", "negate", "blank")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class Convention:
    name: str
    statement: str
    key: str
    triggers: tuple[str, ...]
    fields: tuple[str, ...]
    naive: Naive
    written: bool = True

    def needed_by(self, text: str) -> set[str]:
        """The triggers of this convention that occur in ``text`` (lowercased)."""
        return {t for t in self.triggers if t in text}

    def stated_in(self, prompt: str) -> bool:
        return _norm(self.key) in _norm(prompt)


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


ISAF_WORLD = (
    Convention(
        "vague-quantities",
        'Vague quantities map to minimums: "a couple" = 2; "several", "a few", "a group", '
        '"multiple" = 3; "numerous", "a handful" = 4; "a large number" = 5; "dozens" = 24.',
        "vague quantities map to minimums",
        (
            "a couple",
            "several",
            "a few",
            "a group",
            "multiple",
            "numerous",
            "a handful",
            "a large number",
            "dozens",
        ),
        ("min_captured", "min_killed"),
        "zero",
    ),
    Convention(
        "relative-dates",
        "Dates are relative to the release's own date in its header: resolve 'yesterday', "
        "'last night' and weekday names against it.",
        "relative to the release's own date",
        ("yesterday", "last night", *WEEKDAYS),
        ("start_date",),
        "next_day",
    ),
    Convention(
        "facilitators",
        "A facilitator is not a leader: count only commanders and named leaders as leaders.",
        "a facilitator is not a leader",
        ("facilitator",),
        ("min_leaders_captured",),
        "plus_one",
    ),
    Convention(
        "targeted-raids",
        "killcaptureraid is true whenever the release says the force was targeting (or "
        "targeted) a named insurgent or leader.",
        "killcaptureraid is true whenever",
        ("targeting", "targeted"),
        ("killcaptureraid",),
        "negate",
        written=False,
    ),
    Convention(
        "air-weapons-teams",
        "An engagement by an 'air weapons team' or a 'precision strike' is an air strike: "
        "airstrike is true.",
        "an engagement by an 'air weapons team'",
        ("air weapons team", "precision strike", "precision air strike"),
        ("airstrike",),
        "negate",
        written=False,
    ),
)
"""ISAF: the three written rules the labels follow (the two others in ``ISAF_RULES`` have
no phrase to trigger on and are inert here), and two hidden conventions."""

WORLDS: dict[str, tuple[Convention, ...]] = {"isaf": ISAF_WORLD}


def world_for(task: Task, path: str | None = None) -> tuple[Convention, ...]:
    """The conventions of ``task``: from a YAML file when given, else the built-in world
    of the task's name, else derived from its rules."""
    if path:
        return load_world(Path(path), task)
    return WORLDS.get(task.name) or derive(task)


_QUOTED = re.compile(r"[\"“']([^\"”']{2,60})[\"”']")


def derive(task: Task) -> tuple[Convention, ...]:
    """A world from the task's own rules: each rule whose text quotes phrases and names a
    scored top-level field is a written convention on those fields, triggered by those
    phrases, with the naive reading of the field's kind. Other rules are inert."""
    leaves = {spec.name: spec for spec in task.fields if spec.scored and spec.is_leaf}
    out = []
    for i, rule in enumerate(split_rules(task.instructions)):
        triggers = tuple(dict.fromkeys(m.lower() for m in _QUOTED.findall(rule)))
        fields = tuple(name for name in leaves if re.search(rf"\b{re.escape(name)}\b", rule))
        if not triggers or not fields:
            continue
        key = " ".join(rule.split()[:6])
        out.append(
            Convention(f"rule-{i + 1}", rule, key, triggers, fields, _kind_naive(leaves[fields[0]]))
        )
    return tuple(out)


def _kind_naive(spec: FieldSpec) -> Naive:
    return {"int": "zero", "bool": "negate", "date": "next_day"}.get(spec.kind, "blank")  # type: ignore[return-value]


def load_world(path: Path, task: Task) -> tuple[Convention, ...]:
    """Conventions from a YAML list of mappings with the :class:`Convention` keys."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise UserError(f"cannot read conventions {path}: {exc}") from None
    if not isinstance(data, list):
        raise UserError(f"{path}: expected a list of conventions")
    names = {spec.name for spec in task.fields}
    out = []
    for i, item in enumerate(data):
        if not isinstance(item, dict):
            raise UserError(f"{path}: convention {i + 1} is not a mapping")
        try:
            conv = Convention(
                name=str(item.get("name") or f"convention-{i + 1}"),
                statement=str(item["statement"]),
                key=str(item.get("key") or item["statement"]),
                triggers=tuple(str(t).lower() for t in item["triggers"]),
                fields=tuple(str(f) for f in item["fields"]),
                naive=item.get("naive", "blank"),
                written=bool(item.get("written", False)),
            )
        except (KeyError, TypeError) as exc:
            raise UserError(f"{path}: convention {i + 1} lacks {exc}") from None
        unknown = [f for f in conv.fields if f not in names]
        if unknown or conv.naive not in NAIVE:
            what = f"fields {unknown}" if unknown else f"naive '{conv.naive}' (use {NAIVE})"
            raise UserError(f"{path}: convention {conv.name}: unknown {what}")
        out.append(conv)
    return tuple(out)


# -- deterministic draws and wrong answers ---------------------------------------------------


def draw(*parts: Any) -> float:
    """A number in [0, 1) fixed by ``parts``: the same row, field and seed always draw
    the same, so a simulated output never depends on call order or process."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def naive_value(naive: Naive, value: Any) -> Any:
    """The answer of a model unaware of a convention, from the gold ``value``."""
    if naive == "zero":
        return 0
    if naive == "plus_one":
        return value + 1 if isinstance(value, int) and not isinstance(value, bool) else 1
    if naive == "negate":
        return not value if isinstance(value, bool) else None
    if naive == "next_day":
        return _next_day(value)
    return None


def _next_day(value: Any) -> Any:
    try:
        return (dt.date.fromisoformat(str(value)[:10]) + dt.timedelta(days=1)).isoformat()
    except ValueError:
        return None


def wrong_value(spec: FieldSpec, value: Any) -> Any:
    """A plausible wrong answer of the field's kind (the base error rate's)."""
    if spec.kind == "bool":
        return not value if isinstance(value, bool) else True
    if spec.kind == "int":
        return value + 1 if isinstance(value, int) and not isinstance(value, bool) else 1
    if spec.kind == "float":
        return (value * 1.5 + 1) if isinstance(value, int | float) else 1.0
    if spec.kind == "date":
        return _next_day(value)
    if spec.kind in ("label", "label_set"):
        current = set(value if isinstance(value, list) else [value])
        other = next((lab for lab in spec.labels if lab and lab not in current), None)
        return [other] if spec.kind == "label_set" else other
    return None
