"""Confidence signals a backend can attach to a :class:`~fieldwise.models.Generation`.

Only what the backend alone knows is collected here; everything that can be derived
later from stored outputs (agreement across repeats, whether a value is found in the
text) is computed by :mod:`fieldwise.trust` when it is needed. A generation's
``signals`` is a plain JSON-able dict, stored beside the prediction (``store``):

- ``"tokens": {"end": [e0, e1, ...], "logprob": [l0, l1, ...]}``: the output text cut
  into the model's tokens (token ``k`` covers ``output[end[k-1]:end[k]]``, ``end[-1]``
  being 0) and the log-probability the model gave each. The trust layer sums them over
  the tokens that wrote a value (``docs/confidence.md``, "Signals").
- ``"prob": {PATH: p}``: the model's own probability that its value at a scored path
  (``vendor.name``, ``province``) is right (the embedded baseline's calibrated
  confidence; an imported file's ``confidence``).

:func:`clean_signals` is the boundary: signals from any backend (a third-party one
included) that do not have this shape, or whose token ends do not fit the output, are
dropped rather than stored, since a wrong offset would credit one value with another's
probability.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from itertools import accumulate
from typing import Any

__all__ = [
    "LOGPROB_DIGITS",
    "clean_signals",
    "ends_by_prefix",
    "ends_from_bytes",
    "ends_from_pieces",
    "logprob_signals",
    "token_signals",
]

LOGPROB_DIGITS = 4
"""Stored precision: 1e-4 in log space is a 0.01% change in probability."""
_FLOOR = -1e4
"""A log-probability below this (``-inf`` from a masked token) is stored as this."""


def ends_from_pieces(pieces: Sequence[str], output: str) -> list[int] | None:
    """Token end offsets when the tokens' texts, joined, are exactly ``output``."""
    if "".join(pieces) != output:
        return None
    return list(accumulate(len(p) for p in pieces))


def ends_from_bytes(chunks: Sequence[bytes], output: str) -> list[int] | None:
    """Token end offsets from each token's UTF-8 bytes (what OpenAI-compatible servers send
    as ``bytes``: a character may be split over tokens); ``None`` unless they decode to
    ``output``. A character split over tokens belongs to the token holding its first byte."""
    data = b"".join(chunks)
    try:
        if data.decode("utf-8") != output:
            return None
    except UnicodeDecodeError:
        return None
    ends, at, chars = [], 0, 0
    for chunk in chunks:
        start, at = at, at + len(chunk)
        # Count the characters whose first byte lies in this chunk (a continuation byte
        # is 10xxxxxx), so a character belongs to the token that began it.
        chars += sum(1 for b in data[start:at] if b & 0xC0 != 0x80)
        ends.append(chars)
    return ends


def ends_by_prefix(
    decode: Callable[[list[int]], str], ids: Sequence[int], output: str
) -> list[int]:
    """Token end offsets by decoding every prefix of ``ids`` (exact for any tokenizer, but
    quadratic: the fallback when single tokens do not decode to the text, as with a
    byte-level BPE token holding half a character). A prefix that ends inside a character
    decodes with a replacement mark; its end is clipped so offsets never go back."""
    ends, last = [], 0
    for k in range(1, len(ids) + 1):
        text = decode(list(ids[:k]))
        if text.endswith("\ufffd") and not output[: len(text)].endswith("\ufffd"):
            text = text[:-1]
        last = max(last, min(len(text), len(output)))
        ends.append(last)
    if ends:
        ends[-1] = len(output)
    return ends


def token_signals(ends: Sequence[int] | None, logprobs: Sequence[float]) -> dict[str, Any] | None:
    """The ``tokens`` signal (see the module), or ``None`` when the ends are unknown."""
    if ends is None or len(ends) != len(logprobs):
        return None
    values = [
        round(max(float(lp), _FLOOR), LOGPROB_DIGITS) if not math.isnan(lp) else _FLOOR
        for lp in logprobs
    ]
    return {"tokens": {"end": [int(e) for e in ends], "logprob": values}}


def logprob_signals(logprobs: Any, output: str | None) -> dict[str, Any] | None:
    """The ``tokens`` signal from a choice's ``logprobs.content`` (``[{"token", "logprob",
    "bytes"}]``), when its tokens rebuild ``output`` (a tool call's arguments have none:
    the message content's tokens do not describe them)."""
    from fieldwise.models._responses import field  # it imports this module

    content = field(logprobs, "content")
    if output is None or not isinstance(content, list) or not content:
        return None
    pieces, chunks, values = [], [], []
    for item in content:
        token, logprob, raw = field(item, "token"), field(item, "logprob"), field(item, "bytes")
        if not isinstance(token, str) or not isinstance(logprob, int | float):
            return None
        pieces.append(token)
        values.append(float(logprob))
        if isinstance(raw, list) and all(isinstance(b, int) and 0 <= b < 256 for b in raw):
            chunks.append(bytes(raw))
    ends = ends_from_bytes(chunks, output) if len(chunks) == len(pieces) else None
    return token_signals(ends or ends_from_pieces(pieces, output), values)


def clean_signals(signals: Any, output: str | None) -> dict[str, Any] | None:
    """``signals`` with only well-formed entries (see the module), or ``None``."""
    if not isinstance(signals, Mapping):
        return None
    out: dict[str, Any] = {}
    tokens: Any = signals.get("tokens")
    if output is not None and _tokens_fit(tokens, len(output)):
        out["tokens"] = {"end": list(tokens["end"]), "logprob": list(tokens["logprob"])}
    prob = signals.get("prob")
    if isinstance(prob, Mapping):
        kept = {
            str(k): float(v)
            for k, v in prob.items()
            if isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v <= 1
        }
        if kept:
            out["prob"] = kept
    return out or None


def _tokens_fit(tokens: Any, length: int) -> bool:
    if not isinstance(tokens, Mapping):
        return False
    ends, logprobs = tokens.get("end"), tokens.get("logprob")
    if not isinstance(ends, list) or not isinstance(logprobs, list) or len(ends) != len(logprobs):
        return False
    if not ends or not all(type(e) is int for e in ends):
        return False
    if any(b < a for a, b in zip(ends, ends[1:], strict=False)) or ends[0] < 0:
        return False
    if ends[-1] > length:
        return False
    return all(
        isinstance(lp, int | float) and not isinstance(lp, bool) and math.isfinite(lp) and lp <= 0
        for lp in logprobs
    )
