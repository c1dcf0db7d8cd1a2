"""Date candidates from English news text: the header date and what is relative to it.

Press releases carry their own date near the top; the event usually happened then, the
day before ("yesterday", "last night"), or on a named weekday. Each rule here proposes
one candidate; a learned chooser (see ``_heads.ChoiceHead``) decides which to believe.
"""

from __future__ import annotations

import datetime as dt
import re

_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8,
    "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
_MONTH_RE = (
    r"(Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
    r"Sept?(?:ember)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
)
# "Jan. 25, 2013", "January 25 2013", "Nov. 1. 2011", "Sept. 1" (year optional)
_MDY = re.compile(_MONTH_RE + r"\.?\s+(\d{1,2})(?:st|nd|rd|th)?(?:[.,]?\s*,?\s*((?:19|20)\d\d))?")
# "25 January 2013"
_DMY = re.compile(r"\b(\d{1,2})\s+" + _MONTH_RE + r"\.?,?\s+((?:19|20)\d\d)")
_ISO = re.compile(r"\b((?:19|20)\d\d)-(\d\d)-(\d\d)\b")
_YEAR_MONTH_ID = re.compile(r"\b((?:19|20)\d\d)-(\d\d)-[A-Z]")
_YEAR = re.compile(r"\b((?:19|20)\d\d)\b")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAY = re.compile(
    r"\b(last\s+|this\s+past\s+|early\s+|late\s+)?(" + "|".join(WEEKDAYS) + r")\b"
)
HEADER_CHARS = 500


def _make(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _find_dates(
    text: str, default_year: int | None, year_by_month: dict[int, int] | None = None
) -> list[tuple[int, dt.date]]:
    """Every parseable date with its character offset, in reading order.

    A date without a year takes ``default_year``, else the year most often seen for its
    month in training (``year_by_month``), else it is skipped.
    """
    found: list[tuple[int, dt.date]] = []
    for m in _MDY.finditer(text):
        month = _MONTHS[m.group(1)[:3].lower()]
        year = int(m.group(3)) if m.group(3) else default_year
        if year is None and year_by_month:
            year = year_by_month.get(month)
        if year is None:
            continue
        date = _make(year, month, int(m.group(2)))
        if date:
            found.append((m.start(), date))
    for m in _DMY.finditer(text):
        date = _make(int(m.group(3)), _MONTHS[m.group(2)[:3].lower()], int(m.group(1)))
        if date:
            found.append((m.start(), date))
    for m in _ISO.finditer(text):
        date = _make(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if date:
            found.append((m.start(), date))
    return sorted(found, key=lambda p: p[0])


def _guess_year(text: str) -> int | None:
    head = text[:HEADER_CHARS]
    m = _YEAR_MONTH_ID.search(head) or _YEAR.search(head) or _YEAR.search(text)
    return int(m.group(1)) if m else None


def header_date(
    text: str, year_by_month: dict[int, int] | None = None
) -> tuple[dt.date | None, int]:
    """The release's own date (first date in the header) and where the header ends."""
    year = _guess_year(text)
    for pos, date in _find_dates(text[:HEADER_CHARS], year, year_by_month):
        return date, pos
    return None, 0


def header_month_without_year(text: str) -> int | None:
    """The header's month when the release names no year anywhere (to learn a default)."""
    if _guess_year(text) is not None:
        return None
    m = _MDY.search(text[:HEADER_CHARS])
    return _MONTHS[m.group(1)[:3].lower()] if m else None


def date_candidates(
    text: str, year_by_month: dict[int, int] | None = None
) -> tuple[dict[str, str], dict[str, float]]:
    """Candidate event dates by rule name, plus cue features for the chooser.

    ``anchor`` resolves the first relative cue (today, yesterday, a weekday, an explicit
    date) against the header; ``anchor-1`` is the day before, which catches releases
    that report the previous day's operations as "today".
    """
    head, pos = header_date(text, year_by_month)
    body = text[pos + 1 :] if head else text
    low = body.lower()
    feats: dict[str, float] = {"date:has_header": 1.0 if head else 0.0}
    cands: dict[str, str] = {}
    cues = {
        "yesterday": r"\byesterday\b",
        "last_night": r"\blast night\b|\bovernight\b|\blate last\b",
        "today": r"\btoday\b|\bthis morning\b",
        "earlier": r"\bearlier this week\b|\brecently\b|\brecent\b",
        "day_before": r"\bday before yesterday\b|\btwo days ago\b",
    }
    first_cue, first_pos = "", len(low) + 1
    for name, pattern in cues.items():
        m = re.search(pattern, low)
        if m:
            feats[f"date:cue_{name}"] = 1.0
            if m.start() < first_pos:
                first_cue, first_pos = name, m.start()
    wd = _WEEKDAY.search(low)
    if wd and wd.start() < first_pos:
        first_cue, first_pos = "weekday", wd.start()
    first_line = text.strip().split("\n", 1)[0].lower()
    style = [w for w in ("update", "release", "kabul") if w in first_line]
    for w in style or ["plain"]:
        feats[f"date:style_{w}"] = 1.0
        feats[f"date:style_{w}_{first_cue or 'none'}"] = 1.0
    if first_cue:
        feats[f"date:first_cue_{first_cue}"] = 1.0
    year = head.year if head else _guess_year(text)
    later = [d for p, d in _find_dates(body, year) if p > 0]
    if head:
        cands["header"] = head.isoformat()
        cands["minus1"] = (head - dt.timedelta(days=1)).isoformat()
        cands["minus2"] = (head - dt.timedelta(days=2)).isoformat()
        if wd:
            feats["date:weekday"] = 1.0
            if wd.group(1) and wd.group(1).strip() == "last":
                feats["date:last_weekday"] = 1.0
            back = (head.weekday() - WEEKDAYS.index(wd.group(2))) % 7
            cands["weekday"] = (head - dt.timedelta(days=back)).isoformat()
            cands["weekday_prev"] = (head - dt.timedelta(days=back or 7)).isoformat()
            feats["date:weekday_back"] = float(back or 7)
            if back == 0:
                feats["date:weekday_is_header"] = 1.0
        past = [d for d in later if d <= head]
        if past:
            cands["body"] = past[0].isoformat()
            feats["date:body_date"] = 1.0
        shift = {"today": 0, "yesterday": 1, "last_night": 1, "day_before": 2}
        if first_cue == "weekday" and "weekday" in cands:
            anchor = dt.date.fromisoformat(cands["weekday"])
        elif first_cue in shift:
            anchor = head - dt.timedelta(days=shift[first_cue])
        elif "body" in cands:
            anchor = dt.date.fromisoformat(cands["body"])
        else:
            anchor = head
        cands["anchor"] = anchor.isoformat()
        cands["anchor-1"] = (anchor - dt.timedelta(days=1)).isoformat()
    elif later:
        cands["body"] = later[0].isoformat()
        feats["date:body_date"] = 1.0
    order = ("anchor", "anchor-1", "header", "minus1", "minus2", "weekday", "weekday_prev")
    ranked = {k: cands[k] for k in order if k in cands}
    ranked.update({k: v for k, v in cands.items() if k not in ranked})
    return ranked, feats
