"""Where one value is written in a text: every occurrence at the best tier that finds it.

Tiers, tried in order, the first that finds anything deciding the status:

- ``exact``: the value's own characters, not inside a longer word or number (``"200"``
  is not in ``"1,200"``, ``"B-2"`` not in ``"AB-2"``).
- ``normalised``: the same tokens up to case, accents, Unicode forms, punctuation and
  spacing (``"INV 2024/0412"`` for ``"inv-2024-0412"``, ``"Sar-e Pul"`` for
  ``"sar_e_pul"``); a label's other spellings from the task's aliases; a number written
  another way (``"1,200.00"``, ``"twelve"``, ``"a dozen"``); a date written out (``"Jan.
  25, 2013"``, ``"25 January 2013"``, ``"25/01/2013"``, or ``"March 2"`` when the text
  names the value's year).
- ``fuzzy``: most of the value's words close together (see ``_fuzzy``); a number within
  the field's scoring tolerance; a date's month and day in a text that names no year.
- ``none``: nowhere.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any, Literal

from fieldwise.metrics.number import within
from fieldwise.tasks._task import FieldSpec
from fieldwise.trust._document import Document, Span, norm, tokens
from fieldwise.trust._fuzzy import fuzzy_spans

__all__ = ["NOT_FOUND", "Found", "Status", "find_value"]

Status = Literal["exact", "normalised", "fuzzy", "none"]
MAX_GAP = 3
"""Most characters between two tokens of a normalised match ("Acme - GmbH" is one
name; "Acme" at the end of one paragraph and "GmbH" opening the next is not)."""


_FLOAT_EXACT = 2**53
_MAX_DIGITS = 4000
"""Longer integers are not even written out (Python refuses past 4,300 digits)."""


@dataclass(frozen=True)
class Found:
    """Every occurrence of a value at the tier that found it, in reading order."""

    status: Status
    spans: tuple[Span, ...] = ()


NOT_FOUND = Found("none")


def find_value(doc: Document, value: Any, spec: FieldSpec | None = None) -> Found:
    """Every place ``value`` is written in ``doc`` at the best tier (see the module)."""
    if isinstance(value, bool) or value is None:
        return NOT_FOUND
    if isinstance(value, int | float):
        return _number(doc, value, spec)
    if not isinstance(value, str) or not value.strip():
        return NOT_FOUND
    kind = spec.kind if spec is not None else "text"
    if kind == "date":
        day = _iso(value)
        if day is not None:
            return _date(doc, value.strip(), day)
    if kind in ("label", "label_set") and spec is not None:
        return _text(doc, _spellings(value, spec))
    return _text(doc, [value])


def _bounded(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` is not part of a longer word or number."""
    if start > 0 and text[start].isalnum():
        before = text[start - 1]
        if before.isalnum() or (
            before in ".," and start > 1 and text[start - 2].isdigit() and text[start].isdigit()
        ):
            return False
    if end < len(text) and text[end - 1].isalnum():
        after = text[end]
        if after.isalnum() or (
            after in ".," and end + 1 < len(text) and text[end + 1].isdigit()
            and text[end - 1].isdigit()
        ):  # fmt: skip
            return False
    return True


def exact_spans(text: str, needle: str) -> list[Span]:
    """Every bounded occurrence of ``needle`` in ``text``."""
    out: list[Span] = []
    if not needle:
        return out
    at = text.find(needle)
    while at >= 0:
        if _bounded(text, at, at + len(needle)):
            out.append((at, at + len(needle)))
        at = text.find(needle, at + 1)
    return out


def normalised_spans(doc: Document, value: str) -> list[Span]:
    """Where the value's tokens occur in a row, up to normalisation."""
    wanted = [norm(m.group()) for m in tokens(value)]
    if not wanted:
        return []
    out: list[Span] = []
    norms, m = doc.norms, len(wanted)
    for p in doc.index.get(wanted[0], ()):
        if norms[p : p + m] == wanted and all(
            len(doc.gap(k)) <= MAX_GAP for k in range(p, p + m - 1)
        ):
            out.append(doc.span(p, p + m - 1))
    return out


def _text(doc: Document, spellings: list[str]) -> Found:
    """The best tier at which any of the spellings is found, with all their spans."""
    exact = {span for s in spellings for span in exact_spans(doc.text, s.strip())}
    if exact:
        return Found("exact", tuple(sorted(exact)))
    normalised = {span for s in spellings for span in normalised_spans(doc, s)}
    if normalised:
        return Found("normalised", tuple(sorted(normalised)))
    fuzzy = {
        span for s in spellings for span in fuzzy_spans(doc, [norm(m.group()) for m in tokens(s)])
    }
    return Found("fuzzy", tuple(sorted(fuzzy))) if fuzzy else NOT_FOUND


def _spellings(value: str, spec: FieldSpec) -> list[str]:
    """A label and every spelling the task maps to the same label (its aliases). A label
    of one or two letters is left out (a code like ``it`` or ``at`` is also a common
    word), so it is found only through the aliases the task declares ("Italy", "UK")."""
    aliases = {k.strip().lower(): v for k, v in spec.aliases.items()}
    canonical = aliases.get(value.strip().lower(), value)
    own = [s for s in (value, canonical) if not _too_short(s.strip())]
    out = own + [k for k, v in spec.aliases.items() if v == canonical]
    return list(dict.fromkeys(s for s in out if s.strip()))


def _too_short(spelling: str) -> bool:
    return len(spelling) <= 2 and spelling.isalpha()


def _number(doc: Document, value: float, spec: FieldSpec | None) -> Found:
    if isinstance(value, int) and abs(value) >= _FLOAT_EXACT:  # past what a float holds
        spans = exact_spans(doc.text, str(value)) if abs(value) < 10**_MAX_DIGITS else []
        return Found("exact", tuple(spans)) if spans else NOT_FOUND
    if not math.isfinite(value):
        return NOT_FOUND
    needle = str(value) if isinstance(value, int) else repr(value)
    written = [s for v, s in doc.numbers_between(value, value) if doc.counts_as_number(s)]
    spans = [s for s in written if doc.text[s[0] : s[1]] == needle]
    if spans:
        return Found("exact", tuple(spans))
    if written:
        return Found("normalised", tuple(written))
    rel, tol = _tolerance(spec)
    if rel or tol:
        # |x - v| <= max(rel * max(|x|, |v|), tol) (the number metric) bounds |x - v| by:
        margin = min(max(rel * abs(value) / (1 - rel) if rel < 1 else abs(value), tol), 1e15)
        near = [
            s
            for x, s in doc.numbers_between(value - margin, value + margin)
            if within(x, value, rel, tol) and doc.counts_as_number(s)
        ]
        if near:
            return Found("fuzzy", tuple(sorted(set(near))))
    return NOT_FOUND


def _tolerance(spec: FieldSpec | None) -> tuple[float, float]:
    """The relative and absolute tolerance of a field scored by the ``number`` metric."""
    if spec is None or spec.metric.name != "number":
        return 0.0, 0.0
    options = spec.metric.options
    return float(options.rel), float(options.abs)


def _iso(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value.strip()) if len(value.strip()) == 10 else None
    except ValueError:
        return None


def _date(doc: Document, value: str, day: dt.date) -> Found:
    spans = exact_spans(doc.text, value)
    if spans:
        return Found("exact", tuple(spans))
    written, yearless = doc.date_spans(day)
    if doc.names_year(day.year):
        written = sorted(set(written) | set(yearless))
    if written:
        return Found("normalised", tuple(written))
    if yearless and not doc.names_any_year:
        return Found("fuzzy", tuple(yearless))
    return NOT_FOUND
