"""Where each value of a JSON output is written: character offsets in the raw text.

``json.loads`` says what an output means but not where; token log-probabilities are
attached to characters, so the confidence of a value needs its span. A regex splits the
text into JSON tokens (strings, numbers, literals, punctuation) in C, and a small loop
over those tokens (a few dozen per output) walks the structure and records the span of
every value under its path: ``name``, ``vendor.name``, ``line_items[2].sku``,
``province`` (a whole list) and ``province[0]`` (one of its items).

Only the first JSON object in the text is read (fenced or prefixed output included); a
text whose structure breaks off (a truncated output) keeps the spans found up to there.
"""

from __future__ import annotations

import contextlib
import json
import re

__all__ = ["value_spans"]

Span = tuple[int, int]

_TOKEN = re.compile(
    r"""\s*(?:
      ("(?:[^"\\]|\\.)*")                       # 1 string
    | (-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)   # 2 number
    | (true|false|null)                         # 3 literal
    | ([{}\[\]:,])                              # 4 punctuation
    )""",
    re.VERBOSE | re.DOTALL,
)


class _Broken(Exception):
    """The text stops being JSON here."""


def value_spans(output: str | None) -> dict[str, Span]:
    """Every value's ``(start, end)`` in ``output`` by path (see the module); ``{}`` when
    there is no JSON object."""
    if not output:
        return {}
    start = output.find("{")
    if start < 0:
        return {}
    spans: dict[str, Span] = {}
    scanner = _Scanner(output, start)
    with contextlib.suppress(_Broken):  # a broken tail: keep what was read
        scanner.value("", spans)
    spans.pop("", None)  # the object itself
    return spans


class _Scanner:
    def __init__(self, text: str, at: int) -> None:
        self.text, self.at = text, at

    def next(self) -> tuple[int, str, int]:
        """The next token: ``(start, text, group)``."""
        match = _TOKEN.match(self.text, self.at)
        if match is None or match.lastindex is None:
            raise _Broken
        self.at = match.end()
        group = match.lastindex
        return match.start(group), match.group(group), group

    def value(
        self, path: str, spans: dict[str, Span], first: tuple[int, str, int] | None = None
    ) -> None:
        start, token, group = first or self.next()
        if group in (1, 2, 3):
            spans[path] = (start, start + len(token))
            return
        if token == "{":
            self._object(path, spans)
        elif token == "[":
            self._array(path, spans)
        else:
            raise _Broken
        spans[path] = (start, self.at)

    def _object(self, path: str, spans: dict[str, Span]) -> None:
        _, token, group = self.next()
        if token == "}":
            return
        while True:
            if group != 1:
                raise _Broken
            try:
                key = json.loads(token)
            except ValueError:
                raise _Broken from None
            if self.next()[1] != ":":
                raise _Broken
            self.value(f"{path}.{key}" if path else str(key), spans)
            _, token, _ = self.next()
            if token == "}":
                return
            if token != ",":
                raise _Broken
            _, token, group = self.next()

    def _array(self, path: str, spans: dict[str, Span]) -> None:
        first = self.next()
        if first[1] == "]":
            return
        index = 0
        while True:
            self.value(f"{path}[{index}]", spans, first)
            _, token, _ = self.next()
            if token == "]":
                return
            if token != ",":
                raise _Broken
            index += 1
            first = self.next()
