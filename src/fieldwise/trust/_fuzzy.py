"""The fuzzy tier: a value whose words mostly appear, close together, in the text.

A value of ``m`` tokens is found fuzzily in a window of the text when the longest common
subsequence of its tokens and the window's covers at least :data:`COVERAGE` of the
value's tokens, and the matched tokens are at least :data:`DENSITY` of the window (so
three words scattered over a page are not "found"). Tokens match when their normal forms
are equal up to a plural ``s``, or, for words of six letters or more, when they are
spelling variants (``Paktiya`` / ``Paktya``: a similarity of at least
:data:`TOKEN_SIMILARITY`). The thresholds were measured on the ISAF and invoice data
(``bench/align_thresholds.py``, results in ``docs/benchmarks.md``).

Only positions holding one of the value's tokens can start or end a window, and a window
is never longer than ``m / DENSITY`` tokens, so the search costs a few dictionary hits for
a value whose words are absent and stays small for one whose words are common.
"""

from __future__ import annotations

import math

from rapidfuzz import fuzz, process

from fieldwise.trust._document import Document, Span, stem

__all__ = ["COVERAGE", "DENSITY", "TOKEN_SIMILARITY", "fuzzy_spans", "similar_tokens"]

COVERAGE = 0.75
"""Share of the value's tokens the window must contain, in order (langextract's 0.75)."""
DENSITY = 1 / 3
"""Share of the window's tokens that must be matched (langextract's 1/3)."""
TOKEN_SIMILARITY = 80.0
"""Least ``rapidfuzz.fuzz.ratio`` (0-100) for two long words to count as one word: every
one-letter transposition in a word of six letters passes, and of 458 pairs of different
ISAF province names of six letters or more only Paktia / Paktika do."""
MIN_SIMILAR_LENGTH = 6
"""Shorter words must match exactly: at five letters one letter is 20% of the word
(Kabul / Zabul)."""


def similar_tokens(doc: Document, token: str) -> list[str]:
    """The text's (normal) words that are spelling variants of ``token``, itself
    excluded; words are compared whole, before a plural ``s`` is dropped."""
    if len(token) < MIN_SIMILAR_LENGTH:
        return []
    choices = _long_words(doc)
    found = process.extract(
        token, choices, scorer=fuzz.ratio, score_cutoff=TOKEN_SIMILARITY, limit=None
    )
    return [choice for choice, _, _ in found if choice != token]


def _long_words(doc: Document) -> list[str]:
    cached: list[str] | None = getattr(doc, "_long_words", None)
    if cached is None:
        cached = [t for t in doc.index if len(t) >= MIN_SIMILAR_LENGTH]
        doc._long_words = cached  # type: ignore[attr-defined]
    return cached


def _matches(doc: Document, value_norms: list[str]) -> dict[int, set[int]]:
    """Text token position → the value token indices it can stand for (the same word up
    to a plural ``s``, or a spelling variant of it)."""
    by_position: dict[int, set[int]] = {}
    for j, token in enumerate(value_norms):
        positions = list(doc.stem_index.get(stem(token), ()))
        for variant in similar_tokens(doc, token):
            positions.extend(doc.index[variant])
        for pos in positions:
            by_position.setdefault(pos, set()).add(j)
    return by_position


def fuzzy_spans(doc: Document, value_norms: list[str]) -> list[Span]:
    """Every best fuzzy window of the value in the text, in reading order (none found:
    ``[]``). Best: the most value tokens matched; then the shortest window; windows
    overlapping an earlier best one are dropped."""
    m = len(value_norms)
    if m == 0:
        return []
    need = max(1, math.ceil(COVERAGE * m - 1e-9))
    matches = _matches(doc, value_norms)
    if not matches or len(set().union(*matches.values())) < need:
        return []  # too few of the value's words anywhere in the text
    hits = sorted(matches)
    longest = math.floor(m / DENSITY + 1e-9)
    best = need
    windows: list[tuple[int, int, int]] = []  # (lcs, first token, last token)
    seen = [0] * m  # how often each value token is matched in [first, first + longest)
    distinct = right = 0
    for a, first in enumerate(hits):
        while right < len(hits) and hits[right] - first < longest:
            for j in matches[hits[right]]:
                distinct += seen[j] == 0
                seen[j] += 1
            right += 1
        enough = distinct >= need
        for j in matches[first]:
            seen[j] -= 1
            distinct -= seen[j] == 0
        if not enough:
            continue  # no window from here can match enough of the value
        row = [0] * (m + 1)
        for b in range(a, len(hits)):
            last = hits[b]
            length = last - first + 1
            if length > longest:
                break
            can = matches[last]
            new = [0] * (m + 1)
            for j in range(1, m + 1):
                diagonal = row[j - 1] + 1 if (j - 1) in can else 0
                new[j] = max(new[j - 1], row[j], diagonal)
            grew = new[m] > row[m]
            row = new
            if not grew or row[m] < best or row[m] < DENSITY * length:
                continue
            if row[m] > best:
                best, windows = row[m], []
            windows.append((row[m], first, last))
    return _non_overlapping(doc, [(f, la) for lcs, f, la in windows if lcs == best])


def _non_overlapping(doc: Document, windows: list[tuple[int, int]]) -> list[Span]:
    """Shortest windows first, each kept unless it overlaps one already kept."""
    kept: list[tuple[int, int]] = []
    for first, last in sorted(windows, key=lambda w: (w[1] - w[0], w[0])):
        if all(last < f or first > la for f, la in kept):
            kept.append((first, last))
    return [doc.span(f, la) for f, la in sorted(kept)]
