"""One source text, indexed once for every value aligned against it.

Alignment looks the same text up many times (50 values per document is common), so the
text is tokenised once and each lookup is a dictionary hit: the positions of a normalised
token, of a number written in digits or words, of a date written out. Each index is built
on first use: a flat task with no dates never scans for dates.

Tokens are runs of letters or runs of digits (``"10mm"`` is ``10`` + ``mm``, ``"INV-2024"``
is ``inv`` + ``2024``), so punctuation and spacing never decide whether a value matches.
A token's normal form is case-folded, compatibility-decomposed and stripped of accents
(``"Zürich"``, ``"ZURICH"`` and ``"zurich"`` are one token; full-width ``"１２"`` is
``12``).
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterator
from functools import cached_property
from itertools import accumulate

from fieldwise._lexicon import MONTH_RE, MONTHS, NUMBER_WORDS, find_dates, make_date

__all__ = ["Document", "norm", "stem", "tokens"]

_COMBINING = "\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
_TOKEN = re.compile(rf"(?:[^\W\d_]|[{_COMBINING}])+|\d+")
# Splitting (one capture group) yields gaps and tokens alternately, so offsets are sums
# of lengths computed in C; text without combining marks takes the simpler, 2x faster one.
_SPLIT = re.compile(r"([^\W\d_]+|\d+)")
_SPLIT_COMBINING = re.compile(f"({_TOKEN.pattern})")
_HAS_COMBINING = re.compile(f"[{_COMBINING}]")
# Digits with grouping and decimal marks ("1,200.50", "1.200,50", "12 500", "3'000"); a
# space groups only when three digits follow it, so "4 boxes" stays one number.
_NUMBER = re.compile(r"(?<![\d.,])[-\u2212]?\d+(?:(?:[.,'\u2019\u00a0\u202f]|\s(?=\d{3}\b))\d+)*")
# Day-first forms the shared patterns leave out: "25th of January 2013", "25 January".
_DAY_MONTH = re.compile(
    r"\b(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?" + MONTH_RE + r"\.?(?:,?\s+((?:19|20)\d\d))?\b"
)
# All-digit dates: "25/01/2013", "01/25/2013", "25.01.2013", "2013/01/25".
_NUMERIC_DATE = re.compile(
    r"(?<![\d/.-])"
    r"(?:(\d{1,2})([/.-])(\d{1,2})\2((?:19|20)\d\d)|((?:19|20)\d\d)([/.])(\d{1,2})\6(\d{1,2}))"
    r"(?![\d/-]|\.\d)"
)
_MONTH_BEFORE = re.compile(r"\b" + MONTH_RE + r"\.?\s+$")
_MONTH_AFTER = re.compile(r"(?:st|nd|rd|th)?\s+(?:of\s+)?" + MONTH_RE + r"\b")
_YEAR = re.compile(r"(?<!\d)(?:19|20)\d\d(?!\d)")
_DATE_REACH = (16, 24)
"""Characters before and after a day's digits that a written date can span ("September
25, 2013"; "25th of September 2013")."""
_NOT_ALONE = frozenset({"a", "an", "no", "both", "pair", "single", "lone"})
_WORD_UNITS = {
    w: v for w, v in NUMBER_WORDS.items() if v < 20 and w not in _NOT_ALONE and w != "dozen"
}
_WORD_TENS = {w: v for w, v in NUMBER_WORDS.items() if v in range(20, 100, 10)}
_WORD_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000, "dozen": 12}
_WORDS_UP_TO = 1_000_000_000
_FEW = 20
"""Most integers a number range may span before every number of the text is read."""
_STARTERS = frozenset(_WORD_UNITS) | frozenset(_WORD_TENS) | {"a", "an"}

Span = tuple[int, int]


def tokens(text: str) -> Iterator[re.Match[str]]:
    """The letter runs and digit runs of ``text``, in order."""
    return _TOKEN.finditer(text)


@functools.lru_cache(maxsize=65536)
def _norm_unicode(token: str) -> str:
    decomposed = unicodedata.normalize("NFKD", token)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def norm(token: str) -> str:
    """A token's normal form: case-folded, NFKD, accents removed (ASCII: just lower)."""
    return token.lower() if token.isascii() else _norm_unicode(token)


def stem(token: str) -> str:
    """A normal token without a plural ``s`` (``widgets`` → ``widget``, not ``glass``):
    the only word-form difference the fuzzy tier forgives."""
    if len(token) > 3 and token[-1] == "s" and token[-2] != "s" and not token[-2].isdigit():
        return token[:-1]
    return token


_US_GROUPS = str.maketrans({c: " " for c in ",'\u2019\u00a0\u202f"})
_EU_GROUPS = str.maketrans({c: " " for c in ".'\u2019\u00a0\u202f"})


def _leads(n: int) -> tuple[str, ...]:
    """The digit tokens a written number with integer part ``n`` can start with: all of
    it ("1200") or its first group of thousands ("1" of "1,200")."""
    whole = str(n)
    return (whole, whole[: len(whole) % 3 or 3])


def _read(m: re.Match[str]) -> list[tuple[float, Span]]:
    raw = m.group()
    if raw.isdigit():  # most numbers: no marks, one reading
        return [(float(raw), m.span())]
    return [(value, m.span()) for value in _number_values(raw)]


def _number_values(raw: str) -> list[float]:
    """Every value a digit string can mean under US (``1,200.5``) or European
    (``1.200,5``) marks; groups after the first must have three digits."""
    sign = -1.0 if raw[0] in "-\u2212" else 1.0
    body = raw.lstrip("-\u2212")
    if body.isdigit():
        return [sign * float(body)]
    out = []
    for decimal, groups in ((".", _US_GROUPS), (",", _EU_GROUPS)):
        whole, mark, frac = body.rpartition(decimal)
        if not mark:
            whole, frac = body, ""
        elif not whole or not frac.isdigit():
            continue
        parts = whole.translate(groups).split(" ")
        if all(p.isdigit() for p in parts) and all(len(p) == 3 for p in parts[1:]):
            value = sign * float("".join(parts) + ("." + frac if frac else ""))
            if value not in out:
                out.append(value)
    return out


class Document:
    """A source text with its token, number and date indexes (each built on first use)."""

    def __init__(self, text: str) -> None:
        self.text = text
        ascii_only = text.isascii()
        split = _SPLIT if ascii_only or not _HAS_COMBINING.search(text) else _SPLIT_COMBINING
        parts = split.split(text)
        offsets = list(accumulate(map(len, parts), initial=0))
        self.gaps = parts[0::2]
        """``gaps[k]``: the characters just before token ``k`` (and after the last one)."""
        self.starts = offsets[1:-1:2]
        self.ends = offsets[2::2]
        raw = parts[1::2]
        self.found: dict[tuple[str, type, object], object] = {}
        """What :mod:`fieldwise.trust._align` found per (field, value): answers to one
        text repeat values, so each is searched once."""
        self.norms = norms = list(map(str.lower, raw))
        if not ascii_only:
            for i in [k for k, ok in enumerate(map(str.isascii, raw)) if not ok]:
                norms[i] = _norm_unicode(raw[i])

    @cached_property
    def index(self) -> dict[str, list[int]]:
        """Normal token → its token positions, in order."""
        out: defaultdict[str, list[int]] = defaultdict(list)
        for i, t in enumerate(self.norms):
            out[t].append(i)
        return dict(out)

    @cached_property
    def stems(self) -> list[str]:
        return [stem(t) for t in self.norms]

    @cached_property
    def stem_index(self) -> dict[str, list[int]]:
        out: defaultdict[str, list[int]] = defaultdict(list)
        for token, positions in self.index.items():
            out[stem(token)].extend(positions)
        for positions in out.values():
            positions.sort()
        return dict(out)

    def span(self, first: int, last: int) -> Span:
        """Characters from token ``first`` to token ``last`` (inclusive)."""
        return self.starts[first], self.ends[last]

    def gap(self, left: int) -> str:
        """The characters between token ``left`` and the next token."""
        return self.gaps[left + 1]

    def numbers_between(self, lo: float, hi: float) -> list[tuple[float, Span]]:
        """Every number the text writes (in digits or in words) from ``lo`` to ``hi``,
        with where, in reading order.

        A number in digits starts with a digit token holding its integer part, or the
        first group of it ("1" of "1,200.50"), so only those tokens are read when the
        range spans a few integers; a wide range reads every number in the text.
        """
        found: list[tuple[float, Span]] = []
        first, last = math.floor(abs(lo)), math.floor(abs(hi))
        if lo < 0 < hi or last - first > _FEW or max(abs(lo), abs(hi)) >= 1e15:
            found = [(v, s) for m in _NUMBER.finditer(self.text) for v, s in _read(m)]
        else:
            lead = {k for n in range(min(first, last), max(first, last) + 1) for k in _leads(n)}
            for p in sorted(p for k in lead for p in self.index.get(k, ())):
                start = self.starts[p]
                if start and self.text[start - 1] in "-\u2212":
                    start -= 1
                m = _NUMBER.match(self.text, start)
                if m is not None:
                    found.extend(_read(m))
        if lo >= 0 and hi < _WORDS_UP_TO:
            found.extend((float(v), s) for v, s in self._word_numbers if lo <= v <= hi)
        return sorted((v, s) for v, s in found if lo <= v <= hi)

    @cached_property
    def _word_numbers(self) -> list[tuple[int, Span]]:
        return list(self._number_words())

    def _number_words(self) -> Iterator[tuple[int, Span]]:
        """Numbers written in words: "two", "twenty-one", "a dozen", "three hundred and
        five". "a", "no" and the like count only before a scale word ("a dozen")."""
        norms, after = self.norms, -1
        for i in [k for k, t in enumerate(norms) if t in _STARTERS]:
            if i < after:
                continue  # inside the number read last
            value, j = _read_number_words(norms, i, self.gaps)
            if j == i + 1 and norms[i] == "one" and i and norms[i - 1] == "no":
                continue  # "no one" is nobody
            if j > i:
                yield value, self.span(i, j - 1)
                after = j

    def counts_as_number(self, span: Span) -> bool:
        """Whether digits at ``span`` state a quantity of their own: not a piece of an
        identifier or numeric date ("2011-01-S-125", "A-1", "2024/35110") and not the day
        of a written date ("Dec. 5, 2011" states no 5; "25th of January" no 25)."""
        text, start, end = self.text, span[0], span[1]
        if start >= 2 and text[start - 1] in "-/" and text[start - 2].isalnum():
            return False
        if end + 1 < len(text) and text[end] in "-/" and text[end + 1].isdigit():
            return False
        if end - start > 2 or not text[start:end].isdigit():
            return True
        return not (
            _MONTH_BEFORE.search(text, max(0, start - 12), start)
            or _MONTH_AFTER.match(text, end, end + 20)
        )

    def date_spans(self, day: dt.date) -> tuple[list[Span], list[Span]]:
        """Where the text writes ``day`` in full, and where only its month and day.

        Every written form has the day in digits, so only the neighbourhoods of the day's
        digit tokens ("5", "05") are read: the cost does not grow with the text.
        """
        text, full, yearless = self.text, set(), set()
        for p in sorted(p for k in {str(day.day), f"{day.day:02d}"} for p in self.index.get(k, ())):
            if not self._may_be_date(p):
                continue
            lo = max(0, self.starts[p] - _DATE_REACH[0])
            window = text[lo : self.ends[p] + _DATE_REACH[1]]
            for start, end, found, has_year in _dates_in(window):
                if not lo + start <= self.starts[p] < lo + end:
                    continue  # a date next to this one
                span = (lo + start, lo + end)
                if has_year and found == day:
                    full.add(span)
                elif not has_year and (found.month, found.day) == (day.month, day.day):
                    yearless.add(span)
        return sorted(full), sorted(yearless)

    def _may_be_date(self, p: int) -> bool:
        """Whether the digits at token ``p`` can be a date's day: a month name within two
        tokens before or three after ("Jan. 25", "25th of January"), or digits joined by
        ``/``, ``.`` or ``-`` ("25/01/2013", "2013-01-25"). Most digits are counts and
        amounts; this spares them the date patterns."""
        norms, gaps = self.norms, self.gaps
        near = norms[max(0, p - 2) : p + 4]
        if any(t[:3] in MONTHS and t.isalpha() for t in near):
            return True
        return any(g[:1] in "/.-" and g.strip() in ("/", ".", "-") for g in gaps[p : p + 2])

    def names_year(self, year: int) -> bool:
        """Whether the text writes ``year`` anywhere (as a number of its own)."""
        return str(year) in self.index

    @cached_property
    def names_any_year(self) -> bool:
        """Whether the text writes any year from 1900 to 2099."""
        return _YEAR.search(self.text) is not None


def _dates_in(window: str) -> Iterator[tuple[int, int, dt.date, bool]]:
    """Every date written in ``window`` as (start, end, date, whether it has a year); a
    date without one is placed in 2000 (a leap year: "Feb. 29" is a day too)."""
    for d in find_dates(window, 2000):
        # "January 2013" is no "January 20": the day may not run on into more digits
        if not d.yearless or not window[d.end : d.end + 1].isdigit():
            yield d.start, d.end, d.date, not d.yearless
    for m in _DAY_MONTH.finditer(window):
        month, day = MONTHS[m.group(2)[:3].lower()], int(m.group(1))
        found = make_date(int(m.group(3) or 2000), month, day)
        if found:
            yield m.start(), m.end(), found, bool(m.group(3))
    for m in _NUMERIC_DATE.finditer(window):
        for found in _numeric_dates(m):
            yield m.start(), m.end(), found, True


def _numeric_dates(m: re.Match[str]) -> set[dt.date]:
    """Both readings of an all-digit date whose day and month are ambiguous."""
    if m.group(5):
        found = make_date(int(m.group(5)), int(m.group(7)), int(m.group(8)))
        return {found} if found else set()
    a, b, year = int(m.group(1)), int(m.group(3)), int(m.group(4))
    return {d for d in (make_date(year, b, a), make_date(year, a, b)) if d}


def _read_number_words(norms: list[str], i: int, gaps: list[str]) -> tuple[int, int]:
    """The number spelt by the words from ``i`` on, and where its words end (``i`` when
    none is): units after tens ("twenty-one"), scales after both ("two hundred"), "and"
    after a scale ("a hundred and five"), "a"/"an" only before a scale."""
    total = current = 0
    last = ""  # kind of the previous word: "", unit, ten, scale, and
    j, n = i, len(norms)
    while j < n:
        w = norms[j]
        if j > i and gaps[j].strip() not in ("", "-"):
            break
        if (
            w in _WORD_UNITS
            and last in ("", "scale", "and")
            or (w in _WORD_UNITS and last == "ten" and _WORD_UNITS[w] < 10)
        ):
            current += _WORD_UNITS[w]
            last = "unit"
        elif w in _WORD_TENS and last in ("", "scale", "and"):
            current += _WORD_TENS[w]
            last = "ten"
        elif w in _WORD_SCALES and last in ("unit", "ten", "a"):
            if _WORD_SCALES[w] >= 1000:
                total, current = total + current * _WORD_SCALES[w], 0
            else:
                current *= _WORD_SCALES[w]
            last = "scale"
        elif w in ("a", "an") and last == "" and j + 1 < n and norms[j + 1] in _WORD_SCALES:
            current, last = 1, "a"
        elif w == "and" and last == "scale" and j + 1 < n and norms[j + 1] in _WORD_UNITS:
            last = "and"
        else:
            break
        j += 1
    return total + current, j
