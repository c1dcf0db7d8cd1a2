"""Date candidates from English news text: the header date and what is relative to it.

Press releases carry their own date near the top; the event usually happened then, the
day before ("yesterday", "last night"), on a named weekday, or on a date the body spells
out ("April 13"). Each rule here proposes one candidate; a learned chooser (see
``_choice.ChoiceHead``) decides which to believe, reading the cue features made here.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Iterable

from fieldwise._lexicon import MDY as _MDY
from fieldwise._lexicon import MONTHS as _MONTHS
from fieldwise._lexicon import find_dates
from fieldwise._lexicon import make_date as _make

_YEAR_MONTH_ID = re.compile(r"\b((?:19|20)\d\d)-(\d\d)-[A-Z]")
_YEAR = re.compile(r"\b((?:19|20)\d\d)\b")
# ISAF numbers its releases "2011-07-S-039": year, month, series, then a running count
# through the month ("011-07-..." is a typo seen in the archive).
_RELEASE_NO = re.compile(r"\b(20\d\d|0\d\d)-(\d\d?)-([A-Z]{1,3})-(\d{1,4})\b")
# Release numbers seen with a header date: "2011-07-S" -> sorted [number, day of month].
Calendar = dict[str, list[list[int]]]
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
HEADER_CHARS = 500
# A body date that bounds a period ("since Oct. 1", "until March 5") or names another
# event ("the Aug. 7 attack") is not the incident's.
_SPAN_WORD = re.compile(r"\b(?:since|until|till|through|by|from|between|starting|began|started"
                        r"|the)\s+(?:on\s+)?$", re.I)  # fmt: skip
# "Saturday's election", "yesterday's attack": a day that qualifies some other event.
_POSSESSIVE = re.compile(r"^['’]s\b")
# Relative cues, most specific first: a sentence that names both "overnight" and
# "Thursday" means Thursday night.
_CUES = re.compile(
    r"\b(?P<day_before>day before yesterday|two days ago)\b"
    r"|\b(?P<weekday>(?:(?:last|this past|early|late)\s+)?(?:" + "|".join(WEEKDAYS) + r"))\b"
    r"|\b(?P<yesterday>yesterday)\b"
    r"|\b(?P<last_night>last\s*night|late last)\b|\b(?P<overnight>overnight)\b"
    r"|\b(?P<today>today|this (?:morning|afternoon|evening)|tonight)\b"
    r"|\b(?P<earlier>earlier this week|recently|recent)\b"
)
_PRIORITY = ("date", "weekday", "day_before", "yesterday", "last_night", "overnight", "today")
# "Overnight" spans the night before the release; annotators split between the two days.
_SHIFT = {"today": 0, "overnight": 0, "yesterday": 1, "last_night": 1, "day_before": 2}
# "confirmed today that ...", "ISAF yesterday announced": the day of the report, not the event.
_REPORT_BEFORE = re.compile(r"\b(?:confirm|announc|report|said|say|assess|releas)\w*\s+$")
_REPORT_AFTER = re.compile(r"^\s+(?:that\s+)?(?:confirm|announc|report|said|assess)\w*\b")
_SENTENCE_END = re.compile(r"[.!?](?:\s|$)|\n")
# The coarse cues every other head reads (see ``cue_features``).
_SHARED_CUES = {
    "yesterday": re.compile(r"\byesterday\b"),
    "last_night": re.compile(r"\blast night\b|\bovernight\b|\blate last\b"),
    "today": re.compile(r"\btoday\b|\bthis morning\b"),
    "earlier": re.compile(r"\bearlier this week\b|\brecently\b|\brecent\b"),
    "day_before": re.compile(r"\bday before yesterday\b|\btwo days ago\b"),
}
_SHARED_WEEKDAY = re.compile(
    r"\b(last\s+|this\s+past\s+|early\s+|late\s+)?(" + "|".join(WEEKDAYS) + r")\b"
)


def _find_dates(
    text: str, default_year: int | None, year_by_month: dict[int, int] | None = None
) -> list[tuple[int, dt.date, bool]]:
    """Every parseable date as (offset, date, lacked a year), in reading order (see
    :func:`fieldwise._lexicon.find_dates`)."""
    return [(d.start, d.date, d.yearless) for d in find_dates(text, default_year, year_by_month)]


def _guess_year(text: str) -> int | None:
    head = text[:HEADER_CHARS]
    m = _YEAR_MONTH_ID.search(head) or _YEAR.search(head) or _YEAR.search(text)
    return int(m.group(1)) if m else None


def header_date(
    text: str, year_by_month: dict[int, int] | None = None
) -> tuple[dt.date | None, int]:
    """The release's own date (first date in the header) and where the header ends."""
    year = _guess_year(text)
    for pos, date, _ in _find_dates(text[:HEADER_CHARS], year, year_by_month):
        return date, pos
    return None, 0


def header_month_without_year(text: str) -> int | None:
    """The header's month when the release names no year anywhere (to learn a default)."""
    if _guess_year(text) is not None:
        return None
    m = _MDY.search(text[:HEADER_CHARS])
    return _MONTHS[m.group(1)[:3].lower()] if m else None


def release_number(text: str) -> tuple[str, int] | None:
    """The release's "year-month-series" and its running number within that month."""
    m = _RELEASE_NO.search(text[:HEADER_CHARS])
    if not m:
        return None
    year = int(m.group(1)) + (2000 if len(m.group(1)) == 3 else 0)
    return f"{year}-{int(m.group(2)):02d}-{m.group(3)}", int(m.group(4))


def learn_calendar(texts: Iterable[str], year_by_month: dict[int, int] | None = None) -> Calendar:
    """Which day each numbered release came out, from releases that print their date.

    Numbers run in order through the month, so a release that lost its dateline can be
    placed between its dated neighbours (see ``_estimate_header``). Needs no labels.
    """
    days: dict[str, dict[int, int]] = {}
    for text in texts:
        number = release_number(text)
        head, _ = header_date(text, year_by_month)
        if number and head and number[0].startswith(f"{head.year}-{head.month:02d}-"):
            days.setdefault(number[0], {})[number[1]] = head.day
    return {key: sorted([n, d] for n, d in seen.items()) for key, seen in sorted(days.items())}


def _estimate_header(text: str, known: Calendar) -> dt.date | None:
    """The release date interpolated from dated releases of the same month and series."""
    number = release_number(text)
    points = known.get(number[0], []) if number else []
    if not number or not points:
        return None
    seq = number[1]
    below = [p for p in points if p[0] <= seq]
    above = [p for p in points if p[0] >= seq]
    if below and above:
        (n0, d0), (n1, d1) = below[-1], above[0]
        day = d0 if n1 == n0 else d0 + (d1 - d0) * (seq - n0) / (n1 - n0)
    elif below:
        n0, d0 = below[-1]
        day = d0 + (seq - n0) * d0 / max(n0, 1)
    else:
        n1, d1 = above[0]
        day = 1 + (d1 - 1) * seq / max(n1, 1)
    year, month = int(number[0][:4]), int(number[0][5:7])
    last = calendar.monthrange(year, month)[1]
    return dt.date(year, month, max(1, min(last, round(day))))


def _event_dates(body: str, head: dt.date) -> list[tuple[int, dt.date]]:
    """Dates in the body that can name the incident: before the header, not a span bound.

    A yearless "Dec. 30" in a January release is last year's; repeats of the header date
    (the "KABUL, Afghanistan (...)" dateline) are the header candidate already.
    """
    out = []
    for pos, date, yearless in _find_dates(body, head.year):
        if yearless and date > head:
            date = _make(date.year - 1, date.month, date.day) or date
        if date >= head or (head - date).days > 45:
            continue
        if _SPAN_WORD.search(body[max(0, pos - 24) : pos]):
            continue
        out.append((pos, date))
    return out


def _cues(low: str) -> list[tuple[int, str, str]]:
    """Relative cues in reading order as (offset, kind, matched text), reports marked."""
    out = []
    for m in _CUES.finditer(low):
        kind = m.lastgroup or ""
        if _POSSESSIVE.match(low[m.end() : m.end() + 3]):
            kind = "other_" + kind
        elif kind in ("today", "yesterday") and (
            _REPORT_BEFORE.search(low[max(0, m.start() - 30) : m.start()])
            or _REPORT_AFTER.match(low[m.end() : m.end() + 30])
        ):
            kind = "report_" + kind
        out.append((m.start(), kind, m.group(0)))
    return out


def _sentence(low: str, pos: int) -> tuple[int, int]:
    """Bounds of the sentence around ``pos`` (abbreviations like "Jan." may cut it short)."""
    start = 0
    for stop in _SENTENCE_END.finditer(low, 0, pos):
        start = stop.end()
    end = _SENTENCE_END.search(low, pos)
    return start, end.start() if end else len(low)


def _weekday_back(head: dt.date, word: str) -> int:
    """Days from the named weekday back to the header (0 when they coincide)."""
    return (head.weekday() - WEEKDAYS.index(word.split()[-1])) % 7


def _resolve(body: str, head: dt.date) -> tuple[str, dt.date]:
    """The event day one release states: the most specific cue of its first dated sentence.

    Priority inside that sentence is an explicit date, a weekday, "day before yesterday",
    "yesterday", "last night", "overnight", "today"; a release with no cue is the header.
    """
    low = body.lower()
    events = _event_dates(body, head)
    cues = [(p, k, w) for p, k, w in _cues(low) if k in _PRIORITY]
    starts = [p for p, _, _ in cues] + [p for p, _ in events]
    if not starts:
        return "", head
    first = min(starts)
    lo, hi = _sentence(low, first)
    lo = min(lo, first)
    kinds = {k: w for p, k, w in reversed(cues) if lo <= p <= hi}
    dated = [d for p, d in events if lo <= p <= hi]
    if dated:
        return "date", dated[0]
    kind = next(k for k in _PRIORITY if k in kinds)
    if kind == "weekday":
        return kind, head - dt.timedelta(days=_weekday_back(head, kinds[kind]))
    return kind, head - dt.timedelta(days=_SHIFT[kind])


def _follow_up(body: str, head: dt.date) -> tuple[dt.date, int] | None:
    """A later release pasted below the first ("KABUL, Afghanistan (Aug. 20)"), if any.

    Such follow-ups confirm an earlier operation and usually name its day more exactly.
    """
    for pos, date, _ in _find_dates(body, head.year):
        if pos and body[pos - 1] == "(" and head < date <= head + dt.timedelta(days=30):
            return date, pos
    return None


def _style(text: str) -> list[str]:
    """How the release opens: an operational update, a numbered release, a Kabul dateline."""
    first_line = text.strip().split("\n", 1)[0].lower()
    return [w for w in ("update", "release", "kabul") if w in first_line] or ["plain"]


def cue_features(text: str, year_by_month: dict[int, int] | None = None) -> dict[str, float]:
    """Coarse time cues for the other fields' heads ("last night" hints at a night raid).

    Kept apart from the chooser's own features, and fixed, so that work on the date
    chooser does not move the heads of unrelated fields, which were tuned on these.
    """
    head, pos = header_date(text, year_by_month)
    body = text[pos + 1 :] if head else text
    low = body.lower()
    feats: dict[str, float] = {"date:has_header": 1.0 if head else 0.0}
    first_cue, first_pos = "", len(low) + 1
    for name, pattern in _SHARED_CUES.items():
        m = pattern.search(low)
        if m:
            feats[f"date:cue_{name}"] = 1.0
            if m.start() < first_pos:
                first_cue, first_pos = name, m.start()
    wd = _SHARED_WEEKDAY.search(low)
    if wd and wd.start() < first_pos:
        first_cue = "weekday"
    for w in _style(text):
        feats[f"date:style_{w}"] = 1.0
        feats[f"date:style_{w}_{first_cue or 'none'}"] = 1.0
    if first_cue:
        feats[f"date:first_cue_{first_cue}"] = 1.0
    year = head.year if head else _guess_year(text)
    later = [d for p, d, _ in _find_dates(body, year) if p > 0]
    if head and wd:
        feats["date:weekday"] = 1.0
        if wd.group(1) and wd.group(1).strip() == "last":
            feats["date:last_weekday"] = 1.0
        back = (head.weekday() - WEEKDAYS.index(wd.group(2))) % 7
        feats["date:weekday_back"] = float(back or 7)
        if back == 0:
            feats["date:weekday_is_header"] = 1.0
    if [d for d in later if d <= head] if head else later:
        feats["date:body_date"] = 1.0
    return feats


def date_candidates(
    text: str, year_by_month: dict[int, int] | None = None, known: Calendar | None = None
) -> tuple[dict[str, str], dict[str, float]]:
    """Candidate event dates by rule name, plus cue features for the chooser.

    ``anchor`` resolves the first dated sentence against the header (see ``_resolve``);
    ``anchor-1`` is the day before, which catches releases that report the previous
    day's operations as "today". The header's month is a feature because annotators
    resolved the same cues differently in different stretches of the archive. A release
    without a date of its own is placed by its number in the ``known`` calendar.
    """
    head, pos = header_date(text, year_by_month)
    body = text[pos + 1 :] if head else text
    low = body.lower()
    feats: dict[str, float] = {"date:has_header": 1.0 if head else 0.0}
    if head is None and known:
        head = _estimate_header(text, known)
        feats["date:estimated_header"] = 1.0 if head else 0.0
    cands: dict[str, str] = {}
    cues = _cues(low)
    for _, kind, _ in cues:
        feats[f"date:cue_{kind}"] = 1.0
    if not head:
        for _, date, _ in _find_dates(body, _guess_year(text)):
            cands["body"] = date.isoformat()
            feats["date:body_date"] = 1.0
            break
        return cands, feats
    feats[f"date:month_{head.year}-{head.month:02d}"] = 1.0
    follow = _follow_up(body, head)
    first_body = body[: follow[1]] if follow else body
    first, anchor = _resolve(first_body, head)
    events = _event_dates(first_body, head)
    if events:
        feats["date:body_date"] = 1.0
        cands["body"] = events[0][1].isoformat()
        feats[f"date:body_back_{min((head - events[0][1]).days, 8)}"] = 1.0
    weekday = next((w for _, k, w in cues if k == "weekday"), "")
    if weekday:
        back = _weekday_back(head, weekday)
        cands["weekday"] = (head - dt.timedelta(days=back)).isoformat()
        cands["weekday_prev"] = (head - dt.timedelta(days=back or 7)).isoformat()
        feats["date:weekday"] = 1.0
        feats["date:weekday_back"] = float(back or 7)
        if weekday.startswith("last"):
            feats["date:last_weekday"] = 1.0
        if back == 0:
            feats["date:weekday_is_header"] = 1.0
    if follow:
        kind, later = _resolve(body[follow[1] :], follow[0])
        if later <= head:
            cands["follow_up"] = later.isoformat()
            feats[f"date:follow_up_{kind or 'none'}"] = 1.0
            if kind in ("date", "weekday") and (head - later).days <= 7:
                first, anchor = "follow_up", later
    for w in _style(text):
        feats[f"date:style_{w}"] = 1.0
        feats[f"date:style_{w}_{first or 'none'}"] = 1.0
    if first:
        feats[f"date:first_cue_{first}"] = 1.0
    cands["anchor"] = anchor.isoformat()
    cands["anchor-1"] = (anchor - dt.timedelta(days=1)).isoformat()
    cands["header"] = head.isoformat()
    cands["minus1"] = (head - dt.timedelta(days=1)).isoformat()
    cands["minus2"] = (head - dt.timedelta(days=2)).isoformat()
    order = ("anchor", "anchor-1", "header", "minus1", "minus2", "weekday", "weekday_prev")
    ranked = {k: cands[k] for k in order if k in cands}
    ranked.update({k: v for k, v in cands.items() if k not in ranked})
    return ranked, feats
