"""The report's full data beside it: every row, every model, as JSONL and Parquet.

The page shows at most a few thousand rows (see ``_rows.MAX_SHOWN``); these files hold all
of them, so nothing the page leaves out is more than one click away. One record per
example: id, text, gold, and per model its raw output, runner error, parse status, points
and the fields it did not get fully right under the ranking profile. The Parquet file
(one column per model and field) also holds every per-field score (``null``: not scored).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from fieldwise.report._values import Parsed
from fieldwise.scoring._types import ModelResult
from fieldwise.tasks._task import Example

JSONL_NAME = "examples.jsonl"
PARQUET_NAME = "examples.parquet"


def write_export(
    out_dir: Path,
    examples: list[Example],
    results: list[ModelResult],
    parsed: list[Parsed],
    matrices: list[np.ndarray],
    fields: list[str],
    order: list[int],
) -> list[str]:
    """Write both files into ``out_dir``; return their names (relative links)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    labels = [results[m].label for m in order]
    encode = json.JSONEncoder(ensure_ascii=False).encode  # json.dumps(x, ensure_ascii=False)
    columns: dict[str, Any] = {
        "id": [str(ex.id) for ex in examples],
        "text": [ex.text for ex in examples],
        "gold": [encode(ex.gold) if ex.gold else None for ex in examples],
    }
    sums = [np.nansum(matrices[m], axis=1) for m in order]
    points = [s.tolist() for s in sums]
    misses = [_not_right(matrices[m], fields) for m in order]
    # One line per row exactly as json.dumps(record, ensure_ascii=False) writes it, built
    # from parts each encoded once, column by column in C (``encode_basestring``: what
    # json.dumps calls for a str): the gold's JSON is the one made for the Parquet column;
    # a model's part of a line is one format call.
    golds = columns["gold"]
    quote = json.encoder.encode_basestring
    parts = [
        _model_parts(labels[k], results[m], parsed[m], points[k], misses[k], len(examples))
        for k, m in enumerate(order)
    ]
    with (out_dir / JSONL_NAME).open("w", encoding="utf-8") as fh:
        write = fh.write
        for ex, gold, *models in zip(examples, golds, *parts, strict=True):
            if gold is None:
                gold = encode(ex.gold)
            write(
                f'{{"id": {quote(str(ex.id))}, "text": {quote(ex.text)}, "gold": {gold}, '
                f'"models": {{{", ".join(models)}}}}}\n'
            )
    for k, m in enumerate(order):
        r = results[m]
        columns[f"{labels[k]}/output"] = [None if o is None else str(o) for o in r.outputs]
        columns[f"{labels[k]}/error"] = list(r.errors) + [None] * (len(examples) - len(r.errors))
        columns[f"{labels[k]}/status"] = list(parsed[m].statuses)
        columns[f"{labels[k]}/points"] = sums[k]
        by_field = np.ascontiguousarray(matrices[m].T)  # a field's scores, contiguous
        for j, name in enumerate(fields):
            columns[f"{labels[k]}/{name}"] = pa.array(by_field[j], from_pandas=True)
    pq.write_table(pa.table(columns), out_dir / PARQUET_NAME)
    return [JSONL_NAME, PARQUET_NAME]


def _model_parts(
    label: str,
    result: ModelResult,
    parsed: Parsed,
    points: list[float],
    misses: list[list[str]],
    rows: int,
) -> Iterator[str]:
    """Each row's ``"label": {"output": ..., "not_right": [...]}`` part of its JSONL line,
    as json.dumps writes it, every value encoded column by column."""
    encode = json.JSONEncoder(ensure_ascii=False).encode
    quote = json.encoder.encode_basestring

    def text(value: Any) -> str:
        return "null" if value is None else quote(value) if type(value) is str else encode(value)

    errors = list(result.errors[:rows]) + [None] * (rows - len(result.errors))
    known: dict[Any, str] = {}  # statuses and not-right lists repeat: encode each once

    def once(value: Any) -> str:
        key = value if type(value) is str else id(value)
        found = known.get(key)
        if found is None:
            found = known[key] = encode(value)
        return found

    finite = all(map(math.isfinite, points))
    head = quote(label)
    return (  # a generator: the lines are written as the parts are made
        f'{head}: {{"output": {out}, "error": {err}, "status": {once(status)}, '
        f'"points": {pts}, "not_right": {once(missed)}}}'
        for out, err, status, pts, missed in zip(
            map(text, result.outputs),
            map(text, errors),
            parsed.statuses,
            map(float.__repr__ if finite else encode, points),
            misses,
            strict=True,
        )
    )


def _not_right(matrix: np.ndarray, fields: list[str]) -> list[list[str]]:
    """Per row, the fields scored below 1 (NaN compares false: not listed).

    Rows are keyed by their pattern of misses (one integer per row, bit j for field j),
    so each distinct pattern's list is built once: 100,000 rows share a few hundred."""
    below = matrix < 1.0
    if len(fields) > 62:
        return [[fields[j] for j in np.flatnonzero(row)] for row in below]
    codes = below @ (np.int64(1) << np.arange(len(fields), dtype=np.int64))
    names: dict[int, list[str]] = {}
    out = []
    for code in codes.tolist():
        found = names.get(code)
        if found is None:
            found = names[code] = [f for j, f in enumerate(fields) if code >> j & 1]
        out.append(found)
    return out
