"""Turn one raw model output into a JSON object, or say why it cannot be one.

Parsing is deliberately strict (plain :func:`json.loads`: no repair): the published ISAF
numbers were computed that way, and a repair step would silently reward models for
output a downstream program could not read. Each output is parsed once and the result is
shared by every scoring profile.

One failure gets its own class because most chat models produce it: an object wrapped
in a Markdown code fence (```` ```json ... ``` ````) is ``fenced``, not ``invalid_json``.
It still scores 0 unless the user opts in to reading it (``strip_fences``), and then only
under profiles that allow it (``Profile.accepts_fenced``: ``strict`` does, ``reference``
never does, so the published numbers cannot move).
"""

from __future__ import annotations

import json
import re
from typing import Any

from fieldwise.scoring._types import ParsedOutput, ParseStatus

__all__ = ["STATUSES", "parse_failure", "parse_output", "parse_outputs", "parse_status", "unfence"]

STATUSES: tuple[str, ...] = ("ok", "fenced", "missing", "invalid_json", "not_object")
"""Every validity class, in the order reports list them."""

_SHARED = {s: ParsedOutput(s) for s in ("missing", "invalid_json", "not_object")}
_loads = json.loads
_FENCE = re.compile(r"\A\s*```[ \t]*(?:[A-Za-z][\w+.-]*)?[ \t]*\r?\n?(.*?)```\s*\Z", re.S)
"""One fenced block filling the whole output (whitespace around it allowed): the opening
fence with an optional language tag (``json``), the body, the closing fence."""


def unfence(raw: str) -> str | None:
    """The body of an output that is one Markdown code fence and nothing else, else None.

    Prose before or after the fence is not stripped: that output is ``invalid_json``."""
    if "```" not in raw:
        return None
    match = _FENCE.match(raw)
    return None if match is None else match.group(1)


def parse_failure(raw: str) -> tuple[ParseStatus, dict[str, Any] | None]:
    """The class of a string that ``json.loads`` rejected: ``missing`` (blank),
    ``fenced`` (with the object inside the fence) or ``invalid_json``."""
    if not raw or raw.isspace():
        return "missing", None
    body = unfence(raw)
    if body is not None:
        try:
            value = _loads(body)
        except (ValueError, RecursionError):
            return "invalid_json", None
        if type(value) is dict:
            return "fenced", value
    return "invalid_json", None


def parse_status(raw: str | None) -> tuple[ParseStatus, dict[str, Any] | None]:
    """:func:`parse_output` as a plain tuple (no object per row, for the hot path)."""
    if raw is None:
        return "missing", None
    if not isinstance(raw, str):
        return "invalid_json", None
    try:
        value = _loads(raw)
    except (ValueError, RecursionError):
        return parse_failure(raw)
    if type(value) is not dict:
        return "not_object", None
    return "ok", value


def parse_output(raw: str | None) -> ParsedOutput:
    """Parse one raw output.

    ``None``, ``""`` and whitespace-only text are ``missing``; an object inside one
    Markdown code fence (```` ```json\\n{...}\\n``` ````, nothing around it but whitespace)
    is ``fenced``, with the object as its value; other text that ``json.loads`` rejects (or
    anything that is not a string at all) is ``invalid_json``; valid JSON that is not an
    object (``"1"``, a list) is ``not_object``. Surrounding whitespace is legal JSON, so
    outputs with leading newlines still parse.
    """
    status, value = parse_status(raw)
    if status in ("ok", "fenced"):
        return ParsedOutput(status, value)
    return _SHARED[status]


def parse_outputs(raws: list[str | None]) -> list[ParsedOutput]:
    """Parse a model's outputs, one :class:`ParsedOutput` per row."""
    return [parse_output(raw) for raw in raws]
