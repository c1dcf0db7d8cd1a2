"""How a JSON value is shown in a report cell, and each model's outputs parsed once.

Cells must stay short (a 724-row x 10-model page has ~100k of them), so values are
rendered compactly (``helmand, kabul`` rather than ``["helmand", "kabul"]``) and cut at a
fixed width; the raw output stays available beside them for the full picture.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fieldwise.scoring import MISSING
from fieldwise.scoring._types import ModelResult, ModelScore, ParseStatus
from fieldwise.scoring.parse import parse_status

STATUS_TEXT: dict[str, str] = {
    "ok": "ok",
    "fenced": "fenced JSON",
    "missing": "no output",
    "invalid_json": "invalid JSON",
    "not_object": "JSON but not an object",
}
MAX_CELL = 40
RECORD_TEXT = 28
"""Characters per leaf value where a nested value is shown leaf by leaf."""
_PLAIN = re.compile(r"[\w .,;:/()+-]*")


def show(value: Any, limit: int = MAX_CELL) -> str:
    """A compact, human reading of one JSON value (strings unquoted unless empty)."""
    if value is MISSING:
        text = "(missing)"
    elif isinstance(value, list):
        text = ", ".join(_scalar(v) for v in value) if value else "[]"
    else:
        text = _scalar(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _scalar(value: Any) -> str:
    kind = type(value)
    if kind is str:
        return value if value else '""'
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError):
        return repr(value)


def typed(value: Any, limit: int = MAX_CELL) -> str:
    """Like :func:`show` but keeps JSON types visible (``"2"`` vs ``2``) for error text."""
    if value is MISSING:
        return "(missing)"
    kind = type(value)
    if kind is bool or kind is int:
        return _scalar(value)
    if kind is str and len(value) < limit and _PLAIN.fullmatch(value):
        return f'"{value}"'
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class Parsed:
    """One model's outputs as the report reads them: each row's parse status and, per
    field, its value (``MISSING``: no usable object, or no such key).

    Built from what the scorer read (``ModelScore.values``) where it kept it, so a 100,000
    row report neither parses every output again nor keeps 100,000 objects per model alive;
    else (scores that are a mean over repeats) by parsing every output once."""

    statuses: list[ParseStatus]
    objects: list[dict[str, Any] | None] | None = field(default=None, repr=False)
    """Every row's object, once all are parsed (``None`` until a column needs them)."""
    raws: Sequence[str | None] = ()
    columns: dict[str, Any] = field(default_factory=dict)

    def object(self, row: int) -> dict[str, Any] | None:
        """Row ``row``'s object (``None`` unless its status is ``ok``), re-read from its raw
        output when only the scorer's columns are at hand: the rows a page shows are few."""
        if self.objects is not None:
            return self.objects[row]
        if self.statuses[row] != "ok":
            return None
        return parse_status(self.raws[row])[1]

    def value(self, row: int, name: str) -> Any:
        col = self.columns.get(name)
        if col is not None:
            return col[row]
        obj = self.object(row)
        return MISSING if obj is None else obj.get(name, MISSING)

    def column(self, name: str) -> list[Any]:
        """Field ``name``'s value in every row (a list, for fast indexing in Python)."""
        col = self.columns.get(name)
        if isinstance(col, list):
            return col
        if col is None:
            objects = self._all_objects()
            col = [MISSING if obj is None else obj.get(name, MISSING) for obj in objects]
        else:
            col = col.tolist()  # an object array from the scorer: the same values
        self.columns[name] = col
        return col

    def _all_objects(self) -> list[dict[str, Any] | None]:
        if self.objects is None:
            self.objects = [
                value if status == "ok" else None for status, value in map(parse_status, self.raws)
            ]
        return self.objects


def parse_all(result: ModelResult) -> Parsed:
    """``result``'s outputs as the report reads them: what the scorer kept, else parsed."""
    for score in result.scores.values():
        values = score.values
        if values is not None and len(values.statuses) == len(result.outputs):
            return Parsed(values.statuses, None, result.outputs, dict(values.columns))
    statuses: list[ParseStatus] = []
    objects: list[dict[str, Any] | None] = []
    for raw in result.outputs:  # tuples, not a ParsedOutput per row: 300,000 at scale
        status, value = parse_status(raw)
        statuses.append(status)
        objects.append(value if status == "ok" else None)
    return Parsed(statuses, objects, result.outputs)


def column(score: ModelScore, name: str) -> np.ndarray | None:
    """Field ``name``'s per-row scores, or ``None`` if this profile does not score it."""
    try:
        j = score.field_names.index(name)
    except ValueError:
        return None
    return np.asarray(score.per_row[:, j], dtype=np.float64)


def pct(value: float, digits: int = 1) -> str:
    """A [0, 1] score as a percentage; NaN as an em dash."""
    return "—" if value is None or math.isnan(value) else f"{value * 100:.{digits}f}"


def num(value: float | None, digits: int = 1) -> str:
    return "—" if value is None or math.isnan(value) else f"{value:.{digits}f}"
