"""A tiny task, hand-made scores and a small HTML reader for the report tests."""

from __future__ import annotations

import datetime as dt
import json
import math
import warnings
from html.parser import HTMLParser
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel

from fieldwise.scoring._types import ModelResult, ModelScore
from fieldwise.tasks import Example, Task


class Tiny(BaseModel):
    day: dt.date
    tags: list[Literal["a", "b", "c"]]
    count: int
    flag: bool
    colour: Literal["red", "green"]


TASK = Task.from_model("tiny", Tiny, description="a five-field test task")
FIELDS = [f.name for f in TASK.scored_fields]
GOLDS = [
    {
        "day": "2020-01-0" + str(i % 9 + 1),
        "tags": ["a"] if i % 2 else ["b", "c"],
        "count": i % 4,
        "flag": i % 3 == 0,
        "colour": "red" if i % 2 else "green",
    }
    for i in range(8)
]
EXAMPLES = [
    Example(f"doc-{i}", f"Text of document {i}.\nSecond line.", g) for i, g in enumerate(GOLDS)
]


def make_score(
    per_row: np.ndarray, profile: str = "reference", validity: dict[str, int] | None = None
) -> ModelScore:
    """A ModelScore computed the way scoring does (field means over answered rows)."""
    per_row = np.asarray(per_row, dtype=float)
    with warnings.catch_warnings():  # a column the model abstained on everywhere
        warnings.simplefilter("ignore", RuntimeWarning)
        means = np.nanmean(per_row, axis=0)
    fields = {name: float(means[j]) for j, name in enumerate(FIELDS)}
    defined = [v for v in fields.values() if not math.isnan(v)]
    agg = float(np.mean(defined) * 100) if defined else float("nan")
    answered = (~np.isnan(per_row)).mean(axis=0)
    return ModelScore(
        profile=profile,
        rows=per_row.shape[0],
        field_names=list(FIELDS),
        per_row=per_row,
        fields=fields,
        aggregate=agg,
        field_ci={name: (max(v - 0.1, 0.0), min(v + 0.1, 1.0)) for name, v in fields.items()},
        aggregate_ci=(agg - 3.0, agg + 3.0),
        validity=validity
        or {"ok": per_row.shape[0], "fenced": 0, "missing": 0, "invalid_json": 0, "not_object": 0},
        coverage={name: float(answered[j]) for j, name in enumerate(FIELDS)},
    )


def result(
    label: str, kind: Any, outputs: list[str | None], per_row: np.ndarray, **kwargs: Any
) -> ModelResult:
    scores = {"reference": make_score(per_row), "strict": make_score(per_row, "strict")}
    return ModelResult(
        label, f"fake/{label}", kind, outputs, [None] * len(outputs), scores, **kwargs
    )


def perfect_outputs() -> list[str | None]:
    return [json.dumps(g) for g in GOLDS]


class Cells(HTMLParser):
    """Collects each per-example ``<tbody>``: its attributes and rows of (class, text)."""

    def __init__(self) -> None:
        super().__init__()
        self.bodies: dict[str, dict[str, Any]] = {}
        self._body: dict[str, Any] | None = None
        self._cell: list[Any] | None = None
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "tbody" and a.get("class") == "exb":
            self._body = {"attrs": a, "rows": []}
            self.bodies[a["id"] or ""] = self._body
        elif self._body is not None and tag == "tr":
            self._body["rows"].append([])
        elif self._body is not None and tag == "td":
            self._cell = [a.get("class") or "", ""]
            self._body["rows"][-1].append(self._cell)
        elif tag == "details":
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "tbody":
            self._body = None
        elif tag == "td":
            self._cell = None
        elif tag == "details":
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if self._cell is not None and not self._skip:
            self._cell[1] += data

    def model_row(self, index: int, label: str) -> list[tuple[str, str]]:
        for row in self.bodies[f"ex-{index}"]["rows"]:
            if row and row[0][1] == label:
                return [(c, t) for c, t in row[1:]]
        raise AssertionError(f"no row for {label} in example {index}")


def read_cells(html: str) -> Cells:
    parser = Cells()
    parser.feed(html)
    return parser
