"""How a JSON value is shown in a report cell, and each model's outputs parsed once.

Cells must stay short (a 724-row x 10-model page has ~100k of them), so values are
rendered compactly (``helmand, kabul`` rather than ``["helmand", "kabul"]``) and cut at a
fixed width; the raw output stays available beside them for the full picture.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
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
    """One model's outputs parsed once: status and object per row."""

    statuses: list[ParseStatus]
    objects: list[dict[str, Any] | None]

    def value(self, row: int, name: str) -> Any:
        obj = self.objects[row]
        return MISSING if obj is None else obj.get(name, MISSING)


def parse_all(result: ModelResult) -> Parsed:
    statuses: list[ParseStatus] = []
    objects: list[dict[str, Any] | None] = []
    for raw in result.outputs:  # tuples, not a ParsedOutput per row: 300,000 at scale
        status, value = parse_status(raw)
        statuses.append(status)
        objects.append(value if status == "ok" else None)
    return Parsed(statuses, objects)


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
