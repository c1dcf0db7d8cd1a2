"""How English text writes numbers and dates: the words, the patterns, their values.

Two stages read numbers and dates out of prose for different ends: the embedded baseline
model proposes candidates from them (``models/baseline``), and the evidence aligner finds
where a value is written (``trust``). Both read the same vocabulary from here, so a
spelling one of them learns to read the other reads too. This module is a ground floor:
it imports nothing from fieldwise.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

__all__ = [
    "DMY",
    "ISO_DATE",
    "MDY",
    "MONTHS",
    "MONTH_RE",
    "NUMBER_WORDS",
    "WrittenDate",
    "find_dates",
    "make_date",
    "parse_number",
]

NUMBER_WORDS = {
    "zero": 0, "no": 0, "one": 1, "a": 1, "an": 1, "single": 1, "lone": 1, "two": 2,
    "both": 2, "pair": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100, "dozen": 12,
}  # fmt: skip
"""Words that can stand for a number. Some ("a", "no", "both", "pair") only do so in
context: :func:`parse_number` does not read them alone."""

_CONTEXTUAL = frozenset({"a", "an", "no", "both", "pair"})


def parse_number(token: str) -> int | None:
    """A digit string ("12", "1,200") or a number word ("twelve", "twenty-one")."""
    tok = token.lower().replace(",", "")
    if tok.isdigit():
        return int(tok) if len(tok) <= 6 else None
    if tok in NUMBER_WORDS and tok not in _CONTEXTUAL:
        return NUMBER_WORDS[tok]
    if "-" in tok:
        parts = tok.split("-")
        if len(parts) == 2 and parts[0] in NUMBER_WORDS and parts[1] in NUMBER_WORDS:
            return NUMBER_WORDS[parts[0]] + NUMBER_WORDS[parts[1]]
    return None


MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8,
    "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
"""A month's number by the first three letters of its English name."""
MONTH_RE = (
    r"(Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
    r"Sept?(?:ember)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
)
# "Jan. 25, 2013", "January 25 2013", "Nov. 1. 2011", "Sept. 1" (year optional)
MDY = re.compile(MONTH_RE + r"\.?\s+(\d{1,2})(?:st|nd|rd|th)?(?:[.,]?\s*,?\s*((?:19|20)\d\d))?")
# "25 January 2013"
DMY = re.compile(r"\b(\d{1,2})\s+" + MONTH_RE + r"\.?,?\s+((?:19|20)\d\d)")
ISO_DATE = re.compile(r"\b((?:19|20)\d\d)-(\d\d)-(\d\d)\b")


def make_date(year: int, month: int, day: int) -> dt.date | None:
    """A date, or None for impossible ones ("Feb. 30") that the patterns let through."""
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


@dataclass(frozen=True)
class WrittenDate:
    """A date written in a text: where (``text[start:end]``), which day, and whether the
    text left out the year (it was then filled in by :func:`find_dates`)."""

    start: int
    end: int
    date: dt.date
    yearless: bool


def find_dates(
    text: str, default_year: int | None, year_by_month: dict[int, int] | None = None
) -> list[WrittenDate]:
    """Every parseable date in reading order ("Jan. 25, 2013", "25 January 2013",
    "2013-01-25", and "March 2" without a year).

    A date without a year takes ``default_year``, else the year most often seen for its
    month (``year_by_month``), else it is skipped. Dates starting at the same offset keep
    the order month-day, day-month, ISO.
    """
    found: list[WrittenDate] = []
    for m in MDY.finditer(text):
        month = MONTHS[m.group(1)[:3].lower()]
        year = int(m.group(3)) if m.group(3) else default_year
        if year is None and year_by_month:
            year = year_by_month.get(month)
        if year is None:
            continue
        date = make_date(year, month, int(m.group(2)))
        if date:
            found.append(WrittenDate(m.start(), m.end(), date, not m.group(3)))
    for m in DMY.finditer(text):
        date = make_date(int(m.group(3)), MONTHS[m.group(2)[:3].lower()], int(m.group(1)))
        if date:
            found.append(WrittenDate(m.start(), m.end(), date, False))
    for m in ISO_DATE.finditer(text):
        date = make_date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if date:
            found.append(WrittenDate(m.start(), m.end(), date, False))
    return sorted(found, key=lambda d: d.start)
