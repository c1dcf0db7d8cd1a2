"""Plain-English text helpers shared by the baseline's features and rules.

One tokenizer serves training and prediction, so the vocabulary fitted with scikit-learn
and the numpy re-implementation used at prediction time can never disagree.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from re import _parser as sre_parse  # type: ignore[attr-defined]  # no public equivalent

from fieldwise._lexicon import parse_number

_WORD = re.compile(r"[a-z0-9]+(?:['-][a-z0-9]+)*")
_SENT_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(])|\n\s*")


def words(text: str) -> list[str]:
    """Lower-cased word tokens (hyphenated words and contractions kept whole)."""
    return _WORD.findall(text.lower())


def analyzer(text: str) -> list[str]:
    """Unigrams and bigrams: the feature vocabulary of every linear head."""
    toks = words(text)
    return toks + [f"{a} {b}" for a, b in zip(toks, toks[1:], strict=False)]


def sentences(text: str) -> list[str]:
    """Rough sentence split that also breaks on blank lines and line-initial capitals."""
    return [s.strip() for s in _SENT_SPLIT.split(text) if s and s.strip()]


def numbers_in(text: str) -> list[int]:
    """Every standalone number (digits or words) in reading order, years excluded."""
    found = []
    for tok in re.findall(r"[A-Za-z]+(?:-[A-Za-z]+)?|\d[\d,]*", text):
        value = parse_number(tok)
        if value is not None and not (1900 <= value <= 2100):
            found.append(value)
    return found


# Non-ASCII characters that ``re.IGNORECASE`` matches to an ASCII letter, which
# ``str.lower`` alone does not map there (checked against every code point in the tests).
_IGNORECASE_ASCII = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"})


def fold(text: str) -> str:
    """Lower-cased text in which every case-insensitive match of an ASCII literal shows."""
    return (text if text.isascii() else text.translate(_IGNORECASE_ASCII)).lower()


def _needle(pattern: re.Pattern[str]) -> tuple[str, bool] | None:
    """The longest literal every match of ``pattern`` must contain, and whether it is folded.

    Only a top-level run of plain characters is mandatory for sure (no alternation, group or
    repeat around it). ``None`` when there is no such run, or when case-insensitive matching
    of a non-ASCII character would make a substring test unsafe.
    """
    parsed = sre_parse.parse(pattern.pattern, pattern.flags)
    runs, run = [], ""
    for op, arg in parsed:
        if op is sre_parse.LITERAL:
            run += chr(arg)
        else:
            runs.append(run)
            run = ""
    runs.append(run)
    best = max(runs, key=len)
    folded = bool(parsed.state.flags & re.IGNORECASE)
    if not best or (folded and not best.isascii()):
        return None
    return (best.lower() if folded else best), folded


class PatternSet:
    """Label patterns that report where they match, skipping those that cannot match.

    Running hundreds of case-insensitive regexes (every district of every province) over
    each text dominated prediction time; a substring test for each pattern's mandatory
    literal rejects almost all of them first, and the offsets found are exactly the same.
    """

    def __init__(self, patterns: Mapping[str, Sequence[re.Pattern[str]]]) -> None:
        self.entries = [
            (label, [(p, _needle(p)) for p in pats]) for label, pats in patterns.items()
        ]

    def offsets(self, text: str, folded: str | None = None) -> dict[str, list[int]]:
        """Per label, the sorted start offsets of every match of each of its patterns.

        ``folded`` is ``fold(text)``, passed in when several sets search one text.
        """
        folded = fold(text) if folded is None else folded
        out = {}
        for label, pats in self.entries:
            hits: list[int] = []
            for pattern, needle in pats:
                if needle is not None and needle[0] not in (folded if needle[1] else text):
                    continue
                hits.extend(m.start() for m in pattern.finditer(text))
            if hits:
                out[label] = sorted(hits)
        return out
