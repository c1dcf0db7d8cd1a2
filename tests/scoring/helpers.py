"""Shared helpers for scoring tests: a tiny one-field-per-metric task and an ISAF gold row."""

from __future__ import annotations

import copy
import json
from typing import Any

from pydantic import BaseModel

from fieldwise.tasks import FieldSpec, Task, load_task

ISAF = load_task("isaf")

ISAF_GOLD: dict[str, Any] = {
    "name": "x",
    "start_date": "2013-01-24",
    "event_type": ["insurgentskilled"],
    "province": ["ghazni"],
    "target_group": ["taliban"],
    "min_killed": 1,
    "min_captured": 0,
    "killq": True,
    "captureq": False,
    "killcaptureraid": False,
    "airstrike": False,
    "noshotsfired": False,
    "min_leaders_killed": 1,
    "min_leaders_captured": 0,
}


class _Out(BaseModel):
    title: str
    day: str
    tags: list[str]
    all_tags: list[str]
    count: int
    leaders: int
    flag: bool


def tiny_task() -> Task:
    """One field per reference metric, so each metric can be tested in isolation."""
    return Task(
        name="tiny",
        description="one field per metric",
        output_model=_Out,
        fields=(
            FieldSpec("title", "text", "ignore"),
            FieldSpec("day", "date", "exact"),
            FieldSpec("tags", "label_set", "set_recall", ("a", "b", "c", "")),
            FieldSpec("all_tags", "label_set", "set_equal", ("a", "b", "c")),
            FieldSpec("count", "int", "equal"),
            FieldSpec("leaders", "int", "int_equal"),
            FieldSpec("flag", "bool", "equal"),
        ),
    )


TINY_GOLD: dict[str, Any] = {
    "title": "t",
    "day": "2020-02-29",
    "tags": ["a", "b"],
    "all_tags": ["a", "b"],
    "count": 1,
    "leaders": 1,
    "flag": True,
}


TINY = tiny_task()


def isaf_pred(**changes: Any) -> str:
    """The ISAF gold as a JSON output, with some fields changed (None → JSON null)."""
    pred = copy.deepcopy(ISAF_GOLD)
    for key, value in changes.items():
        if value is _DROP:
            pred.pop(key)
        else:
            pred[key] = value
    return json.dumps(pred)


def tiny_pred(**changes: Any) -> str:
    pred = copy.deepcopy(TINY_GOLD)
    for key, value in changes.items():
        if value is _DROP:
            pred.pop(key)
        else:
            pred[key] = value
    return json.dumps(pred)


_DROP = object()
DROP: Any = _DROP
"""Pass as a field's value to remove the key from the prediction."""
