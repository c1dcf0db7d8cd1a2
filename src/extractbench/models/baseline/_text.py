"""Plain-English text helpers shared by the baseline's features and rules.

One tokenizer serves training and prediction, so the vocabulary fitted with scikit-learn
and the numpy re-implementation used at prediction time can never disagree.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"[a-z0-9]+(?:['-][a-z0-9]+)*")
_SENT_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(])|\n\s*")

NUMBER_WORDS = {
    "zero": 0, "no": 0, "one": 1, "a": 1, "an": 1, "single": 1, "lone": 1, "two": 2,
    "both": 2, "pair": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100, "dozen": 12,
}  # fmt: skip


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


def parse_number(token: str) -> int | None:
    """A digit string ("12", "1,200") or a number word ("twelve", "twenty-one")."""
    tok = token.lower().replace(",", "")
    if tok.isdigit():
        return int(tok) if len(tok) <= 6 else None
    if tok in NUMBER_WORDS and tok not in ("a", "an", "no", "both", "pair"):
        return NUMBER_WORDS[tok]
    if "-" in tok:
        parts = tok.split("-")
        if len(parts) == 2 and parts[0] in NUMBER_WORDS and parts[1] in NUMBER_WORDS:
            return NUMBER_WORDS[parts[0]] + NUMBER_WORDS[parts[1]]
    return None


def numbers_in(text: str) -> list[int]:
    """Every standalone number (digits or words) in reading order, years excluded."""
    found = []
    for tok in re.findall(r"[A-Za-z]+(?:-[A-Za-z]+)?|\d[\d,]*", text):
        value = parse_number(tok)
        if value is not None and not (1900 <= value <= 2100):
            found.append(value)
    return found
