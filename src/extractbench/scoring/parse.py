"""Turn one raw model output into a JSON object, or say why it cannot be one.

Parsing is deliberately strict (plain :func:`json.loads`: no fence stripping, no repair):
the published ISAF numbers were computed that way, and a repair step would silently
reward models for output a downstream program could not read. Each output is parsed
once and the result is shared by every scoring profile.
"""

from __future__ import annotations

import json

from extractbench.scoring._types import ParsedOutput

__all__ = ["parse_output", "parse_outputs"]

_MISSING = ParsedOutput("missing")
_INVALID = ParsedOutput("invalid_json")
_NOT_OBJECT = ParsedOutput("not_object")
_loads = json.loads


def parse_output(raw: str | None) -> ParsedOutput:
    """Parse one raw output.

    ``None``, ``""`` and whitespace-only text are ``missing``; text that ``json.loads``
    rejects (or anything that is not a string at all) is ``invalid_json``; valid JSON that
    is not an object (``"1"``, a list) is ``not_object``. Surrounding whitespace is legal
    JSON, so outputs with leading newlines still parse.
    """
    if raw is None:
        return _MISSING
    if not isinstance(raw, str):
        return _INVALID
    if not raw or raw.isspace():
        return _MISSING
    try:
        value = _loads(raw)
    except (ValueError, RecursionError):
        return _INVALID
    if type(value) is not dict:
        return _NOT_OBJECT
    return ParsedOutput("ok", value)


def parse_outputs(raws: list[str | None]) -> list[ParsedOutput]:
    """Parse a model's outputs, one :class:`ParsedOutput` per row."""
    return [parse_output(raw) for raw in raws]
