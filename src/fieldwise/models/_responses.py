"""Whatever a server sent, as a well-formed :class:`Generation`.

The SDKs build their response objects without validating them, so a server (or proxy)
can hand a backend ``message.content`` as a list of content parts, tool ``arguments`` as
an object, ``usage`` as a string, ``1e15`` or ``-5``, a ``finish_reason`` that is a dict,
and text holding lone surrogates (the JSON escape ``\\ud800``), which SQLite and every
UTF-8 file refuse. These helpers are the one boundary where such shapes become data: an
output is always ``str`` or ``None`` (garbage stays garbage, to be scored), token counts
are non-negative ints no larger than the request could have used (or ``None``: unknown),
every string is encodable, and an error has its secrets redacted. Every executor (the
runner, the batch runner, the Ray driver) applies :func:`clean_generation` to every
result, so third-party backends get the same guarantee.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from typing import Any

from fieldwise._text import scrub_text
from fieldwise.models._errors import error_text
from fieldwise.models._model import Generation
from fieldwise.models._signals import clean_signals

TOKEN_CEILING = 10_000_000
"""More tokens than any model's context: a count above it is not believed."""


def _dumps(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (ValueError, TypeError, RecursionError):
        return str(value)


def as_output(value: Any) -> str | None:
    """A model output as text: strings as they are; a list of content parts as their
    text parts joined (as the chat format defines them); any other value (an object, a
    number) as its JSON, so it is scored like the text a model would have written."""
    if value is None:
        return None
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, list) and value:
        texts = [_part_text(part) for part in value]
        if any(t is not None for t in texts):
            return scrub_text("".join(t for t in texts if t is not None))
    return as_json_text(value)


def as_json_text(value: Any) -> str:
    """A value that stands for a JSON document (a tool call's input) as JSON text;
    a string is taken to be that text already."""
    return scrub_text(value if isinstance(value, str) else _dumps(value))


def _part_text(part: Any) -> str | None:
    if isinstance(part, str):
        return part
    text = part.get("text") if isinstance(part, dict) else getattr(part, "text", None)
    return text if isinstance(text, str) else None


def as_tokens(value: Any, ceiling: int = TOKEN_CEILING) -> int | None:
    """A reported token count as a non-negative int clamped to ``ceiling`` (what the
    request could have used at most); ``None`` when it is not a count at all."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        value = value.strip()
        if not value.isdigit() or len(value) > 20:
            return None
        value = int(value)
    if isinstance(value, float):
        if not math.isfinite(value) or value != int(value):
            return None
        value = int(value)
    if not isinstance(value, int) or value < 0:
        return None
    return min(value, max(0, ceiling))


def as_label(value: Any) -> str | None:
    """A short label (``finish_reason``) as text, or ``None`` when it is not one."""
    if isinstance(value, str):
        return scrub_text(value[:100])
    return None


def clean_generation(gen: Any) -> Generation:
    """A :class:`Generation` whose every field has its declared type (see the module
    docstring); raises ``TypeError`` when ``gen`` is not a Generation at all."""
    if not isinstance(gen, Generation):
        raise TypeError(f"backend returned {type(gen).__name__}, not a Generation")
    output = as_output(gen.output)
    error = None if gen.error is None else error_text(gen.error)
    latency = gen.latency_s
    if not isinstance(latency, (int, float)) or not math.isfinite(latency) or latency < 0:
        latency = 0.0
    return replace(
        gen,
        output=output,
        error=error,
        latency_s=float(latency),
        input_tokens=as_tokens(gen.input_tokens),
        output_tokens=as_tokens(gen.output_tokens),
        finish_reason=as_label(gen.finish_reason),
        signals=None if gen.signals is None else clean_signals(gen.signals, output),
    )


def field(obj: Any, name: str) -> Any:
    """``obj.name`` or ``obj[name]``: SDK objects and plain dicts (what an SDK returns
    for a body that did not look like its type) alike; ``None`` when absent."""
    if isinstance(obj, dict):
        return obj.get(name)
    try:
        return getattr(obj, name, None)
    except Exception:  # noqa: BLE001 - a property of a half-built SDK object
        return None
