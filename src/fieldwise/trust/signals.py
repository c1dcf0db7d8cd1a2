"""Confidence signals per value: one number per (row, scored path) and signal.

A *value* here is what scoring scores: a row's value at one scored path (``province``,
``vendor.name``, ``line_items[].sku``: then all the row's records' values together). The
signals, each NaN where a value has none:

- ``logprob``: the probability the model gave the tokens that wrote the value,
  ``exp(sum of their log-probabilities)`` (tokens overlapping the value's characters in
  the raw output, quotes and neighbouring punctuation in the same token included); a
  records leaf sums over every record. Needs the ``tokens`` signal stored with the
  prediction (``hf``, ``vllm``, ``fieldwise serve``, OpenAI-compatible ``logprobs``).
- ``prob``: the model's own probability (the embedded baseline's calibrated confidence,
  an imported file's ``confidence``); several for one path (records): the lowest.
- ``agreement``: with ``repeats`` > 1, the share of the other repeats whose value at the
  path is the same as the first repeat's (the one scored and shown), after folding case
  and spacing and ignoring the order of a label set.
- ``grounding``: how the value is found in the text (``exact`` 3, ``normalised`` 2,
  ``fuzzy`` 1, ``none`` 0; the weakest of a label set's labels or a records leaf's
  values); no number for a blank value or a field whose grounding is ``none``.
"""

from __future__ import annotations

import bisect
import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from fieldwise.scoring.parse import parse_status
from fieldwise.trust._align import Evidence, field_path
from fieldwise.trust._json_spans import value_spans
from fieldwise.trust.grounding import gold_values

__all__ = ["GROUNDING_RANK", "SIGNALS", "signal_table"]

SIGNALS = ("logprob", "prob", "agreement", "grounding")
"""In order of preference when two rank errors equally well."""
GROUNDING_RANK = {"exact": 3.0, "normalised": 2.0, "fuzzy": 1.0, "none": 0.0}
_INDEX = re.compile(r"\[\d+\]")


def signal_table(
    paths: Sequence[str],
    outputs: Sequence[str | None],
    stored: Sequence[Mapping[str, Any] | None],
    repeats: Sequence[Sequence[str | None]] = (),
    evidence: Sequence[Mapping[str, Evidence] | None] | None = None,
) -> dict[str, dict[str, np.ndarray]]:
    """``{signal: {path: values per row}}`` for the signals any row has (see the module).

    ``outputs``: the scored raw outputs; ``stored``: each row's stored signals;
    ``repeats``: the other repeats' raw outputs (one list per repeat); ``evidence``: each
    row's aligned evidence (:func:`fieldwise.trust.align_row`), or ``None``."""
    n = len(outputs)
    table = {name: {p: np.full(n, np.nan) for p in paths} for name in SIGNALS}
    wanted = set(paths)
    for i, (output, sig) in enumerate(zip(outputs, stored, strict=True)):
        tokens = sig.get("tokens") if isinstance(sig, Mapping) else None
        if tokens:
            for path, value in _token_probs(output, tokens, wanted).items():
                table["logprob"][path][i] = value
        prob = sig.get("prob") if isinstance(sig, Mapping) else None
        if isinstance(prob, Mapping):
            for key, value in prob.items():
                path = _INDEX.sub("[]", str(key))
                if path in wanted:
                    old = table["prob"][path][i]
                    table["prob"][path][i] = value if math.isnan(old) else min(old, value)
    if repeats:
        _agreement(table["agreement"], paths, outputs, repeats)
    if evidence is not None:
        _grounding(table["grounding"], wanted, evidence)
    return {
        name: cols
        for name, cols in table.items()
        if any(not np.isnan(col).all() for col in cols.values())
    }


def _token_probs(
    output: str | None, tokens: Mapping[str, Any], wanted: set[str]
) -> dict[str, float]:
    ends, logprobs = tokens.get("end"), tokens.get("logprob")
    if not output or not isinstance(ends, list) or not isinstance(logprobs, list):
        return {}
    cum = np.concatenate([[0.0], np.cumsum(np.asarray(logprobs, dtype=np.float64))])
    sums: dict[str, float] = {}
    for concrete, (start, end) in value_spans(output).items():
        path = _INDEX.sub("[]", concrete)
        if path not in wanted:
            continue
        first = bisect.bisect_right(ends, start)  # the first token ending after the start
        last = bisect.bisect_left(ends, end)  # the token holding the last character
        if first >= len(ends) or last >= len(ends):
            sums[path] = math.nan  # the tokens stop before the value does
            continue
        sums[path] = sums.get(path, 0.0) + float(cum[last + 1] - cum[first])
    return {p: math.exp(v) for p, v in sums.items() if not math.isnan(v)}


def _canon(value: Any) -> Any:
    if isinstance(value, str):
        return " ".join(value.casefold().split())
    if isinstance(value, list):
        items = [_canon(v) for v in value]
        if all(isinstance(v, str | int | float | bool) or v is None for v in items):
            return sorted(items, key=lambda v: json.dumps(v))
        return items
    if isinstance(value, Mapping):
        return {str(k): _canon(v) for k, v in value.items()}
    return value


def _values(obj: Mapping[str, Any] | None, path: str) -> str:
    if obj is None:
        return "<no object>"
    return json.dumps(_canon(gold_values(obj, path)), sort_keys=True)


def _agreement(
    out: dict[str, np.ndarray],
    paths: Sequence[str],
    outputs: Sequence[str | None],
    repeats: Sequence[Sequence[str | None]],
) -> None:
    others = [[parse_status(o)[1] for o in rep] for rep in repeats]
    for i, raw in enumerate(outputs):
        first = parse_status(raw)[1]
        for path in paths:
            mine = _values(first, path)
            same = [_values(rep[i], path) == mine for rep in others if i < len(rep)]
            if same:
                out[path][i] = sum(same) / len(same)


def _grounding(
    out: dict[str, np.ndarray],
    wanted: set[str],
    evidence: Sequence[Mapping[str, Evidence] | None],
) -> None:
    for i, row in enumerate(evidence):
        for value_path, ev in (row or {}).items():
            path = field_path(value_path)
            if path in wanted:
                rank = GROUNDING_RANK[ev.status]
                old = out[path][i]
                out[path][i] = rank if math.isnan(old) else min(old, rank)
