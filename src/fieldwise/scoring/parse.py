"""Turn one raw model output into a JSON object, or say why it cannot be one.

Parsing is deliberately strict (plain :func:`json.loads`: no fence stripping, no repair):
the published ISAF numbers were computed that way, and a repair step would silently
reward models for output a downstream program could not read. Each output is parsed
once and the result is shared by every scoring profile.
"""

from __future__ import annotations

import json
from typing import Any

from fieldwise.scoring._types import ParsedOutput, ParseStatus

__all__ = ["parse_output", "parse_outputs", "parse_status"]

_SHARED = {s: ParsedOutput(s) for s in ("missing", "invalid_json", "not_object")}
_loads = json.loads


def parse_status(raw: str | None) -> tuple[ParseStatus, dict[str, Any] | None]:
    """:func:`parse_output` as a plain tuple (no object per row, for the hot path)."""
    if raw is None:
        return "missing", None
    if not isinstance(raw, str):
        return "invalid_json", None
    if not raw or raw.isspace():
        return "missing", None
    try:
        value = _loads(raw)
    except (ValueError, RecursionError):
        return "invalid_json", None
    if type(value) is not dict:
        return "not_object", None
    return "ok", value


def parse_output(raw: str | None) -> ParsedOutput:
    """Parse one raw output.

    ``None``, ``""`` and whitespace-only text are ``missing``; text that ``json.loads``
    rejects (or anything that is not a string at all) is ``invalid_json``; valid JSON that
    is not an object (``"1"``, a list) is ``not_object``. Surrounding whitespace is legal
    JSON, so outputs with leading newlines still parse.
    """
    status, value = parse_status(raw)
    if status == "ok":
        return ParsedOutput("ok", value)
    return _SHARED[status]


def parse_outputs(raws: list[str | None]) -> list[ParsedOutput]:
    """Parse a model's outputs, one :class:`ParsedOutput` per row."""
    return [parse_output(raw) for raw in raws]
