"""Text every file and database can hold.

Python strings may hold lone surrogates (what ``json.loads`` makes of the escape
``\\ud800``), which SQLite, UTF-8 files and matplotlib all refuse with an exception. Model
outputs, imported files and parsed values are untrusted, so each stage that stores or
writes them passes them through :func:`scrub_text` first (see ``docs/reliability.md``).
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["scrub", "scrub_text"]

_SURROGATE = re.compile("[\ud800-\udfff]")


def scrub_text(text: str) -> str:
    """``text`` with every lone surrogate replaced by U+FFFD (a no-op for clean text)."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text)
    return text


def scrub(value: Any) -> Any:
    """:func:`scrub_text` applied to every string (keys included) inside parsed JSON."""
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, dict):
        return {scrub(k): scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return value
