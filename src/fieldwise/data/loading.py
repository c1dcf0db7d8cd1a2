"""Read labelled or unlabelled examples from local files or the Hugging Face Hub.

Sources:
- a local ``.jsonl``/``.json``/``.parquet``/``.csv`` file in the task's canonical shape
  (one row per document: ``id``, ``text`` and the task's fields);
- ``hub:OWNER/NAME[:SPLIT]`` (also any path ``datasets.load_dataset`` accepts), whose raw
  rows go through the task's ``hub_adapter``;
- ``sample``: the small labelled sample that ships with a built-in task.

Malformed rows raise a :class:`UserError` naming file, line and field, unless
``skip_invalid`` is set, in which case they are skipped and counted (never dropped
silently).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fieldwise._gc import gc_paused
from fieldwise._json import fast_lines
from fieldwise._text import decode_utf8, read_utf8
from fieldwise.data._rows import (
    SPANS_COLUMN,
    FieldPlan,
    RowError,
    _check_value,
    parse_json,
    row_to_example,
)
from fieldwise.data._sniff import read_parquet_rows, with_format_hint
from fieldwise.data.fingerprint import fingerprint_examples
from fieldwise.errors import UserError
from fieldwise.tasks import Example, Task

__all__ = [
    "SPANS_COLUMN",
    "Dataset",
    "RowError",
    "_check_value",
    "jsonl_lines",
    "load_examples",
    "parse_json",
    "row_to_example",
    "write_jsonl",
]

Rows = Iterator[tuple[str, dict[str, Any], bool]]
"""``(where, row, clean)``: ``clean`` when no string in the row can hold a lone surrogate."""


@dataclass
class Dataset:
    """Examples plus where they came from and a content fingerprint."""

    examples: list[Example]
    source: str
    fingerprint: str
    skipped: list[str] = field(default_factory=list)

    @property
    def labelled(self) -> bool:
        return bool(self.examples) and all(e.gold is not None for e in self.examples)

    def __len__(self) -> int:
        return len(self.examples)


def load_examples(
    task: Task,
    source: str | Path,
    *,
    skip_invalid: bool = False,
    limit: int | None = None,
    group_column: str | None = None,
) -> Dataset:
    """Load a dataset for ``task`` from a local file, the packaged sample or the Hub.

    ``group_column`` (default: the task's) names the column holding each row's document
    group; every row must then have one."""
    src = str(source)
    if src == "sample":
        if task.sample_path is None or not task.sample_path.is_file():
            raise UserError(f"task '{task.name}' ships no sample data")
        return load_examples(
            task, task.sample_path, skip_invalid=skip_invalid, limit=limit,
            group_column=group_column,
        )  # fmt: skip
    if src.startswith("hub:"):
        rows: Rows = _hub_rows(task, src[4:])
    else:
        path = Path(src)
        if not path.exists():
            raise UserError(f"data file not found: {path}")
        rows = _file_rows(path)
    examples: list[Example] = []
    skipped: list[str] = []
    seen_ids: set[str] = set()
    plan = FieldPlan.of(task)
    with gc_paused(keep=True):  # 100,000 rows of new objects, alive as long as the dataset
        try:
            for where, raw, clean in rows:
                try:
                    example = row_to_example(
                        task, raw, where, len(examples), group_column, plan, clean
                    )
                    if example.id in seen_ids:
                        raise RowError(f"{where}: duplicate id '{example.id}'")
                except RowError as exc:
                    if not skip_invalid:
                        raise
                    skipped.append(str(exc))
                    continue
                seen_ids.add(example.id)
                examples.append(example)
                if limit is not None and len(examples) >= limit:
                    break
            if not examples:
                raise UserError(f"no usable rows in {src}")
        except UserError as exc:
            # Failing before the first good row, a file whose content is another format
            # than its suffix says (JSONL saved as .csv reads as CSV rows with no `text`)
            # is named for what it looks like (see data/_sniff.py).
            if examples or src.startswith("hub:"):
                raise
            raise with_format_hint(exc, Path(src)) from None
        return Dataset(examples, src, fingerprint_examples(examples), skipped)


def _file_rows(path: Path) -> Rows:
    """A local file's rows (``clean``: see :func:`_jsonl_rows`)."""
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        for lineno, row, clean in _jsonl_rows(path):
            where = f"{path}:{lineno}"
            if type(row) is not dict:
                raise RowError(f"{where}: expected a JSON object")
            yield where, row, clean
    elif suffix == ".json":
        text = read_utf8(path)
        data = parse_json(text, str(path))
        if not isinstance(data, list):
            raise RowError(f"{path}: expected a JSON list of objects")
        clean = "\\u" not in text
        for i, row in enumerate(data):
            if not isinstance(row, dict):
                raise RowError(f"{path}[{i}]: expected a JSON object, got {type(row).__name__}")
            yield f"{path}[{i}]", row, clean
    elif suffix == ".parquet":
        for i, row in enumerate(read_parquet_rows(path)):
            yield f"{path}:row {i + 1}", row, False
    elif suffix == ".csv":
        for where, row in _csv_rows(path):
            yield where, row, False
    else:
        raise UserError(
            f"unsupported data file type '{suffix}' ({path})",
            hint="use .jsonl, .json, .parquet or .csv",
        )


READ_CHUNK = 8 * 1024 * 1024
"""Bytes read (and parsed or decoded) at a time by :func:`jsonl_lines` and the loader."""


def _jsonl_chunks(path: Path) -> Iterator[tuple[int, bytes]]:
    """``(number of its first line, bytes)`` of a JSONL file, about 8 MiB at a time, each
    piece ending at a line end (the last one may not)."""
    first, rest = 1, b""
    with path.open("rb") as fh:
        while True:
            block = fh.read(READ_CHUNK)
            data = rest + block if rest else block
            cut = data.rfind(b"\n") + 1 if block else len(data)
            if block and not cut:
                rest = data  # one line longer than a chunk: read on
                continue
            chunk, rest = data[:cut], data[cut:]
            if chunk:
                yield first, chunk
                first += chunk.count(b"\n")
            if not block:
                return


def jsonl_lines(path: Path) -> Iterator[tuple[int, str]]:
    """``(line number, text)`` of each non-blank line of a JSONL file.

    Read and decoded 8 MiB at a time (one ``decode`` per chunk, not per line: at 100,000
    rows the per-line calls cost more than the decoding), split on ``\\n`` only (a raw
    U+2028 inside a JSON string is not a line end); bytes that are not UTF-8 are a
    one-line error naming the line and column."""
    for first, chunk in _jsonl_chunks(path):
        yield from _text_lines(decode_utf8(chunk, str(path), first), first)


def _text_lines(text: str, first: int) -> Iterator[tuple[int, str]]:
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()
    for lineno, line in enumerate(lines, first):
        if line and not line.isspace():
            yield lineno, line


def _jsonl_rows(path: Path) -> Iterator[tuple[int, Any, bool]]:
    """``(line number, parsed value, clean)`` per non-blank line: each chunk parsed by
    :func:`fast_lines` when it can, else line by line (with :func:`parse_json`'s errors,
    at the line they are on). JSON is decoded from strict UTF-8, which cannot hold a lone
    surrogate: only a ``\\u`` escape can make one, so a line without any is clean."""
    for first, chunk in _jsonl_chunks(path):
        fast = fast_lines(chunk, first)
        if fast is not None:
            yield from fast
            continue
        for lineno, line in _text_lines(decode_utf8(chunk, str(path), first), first):
            yield lineno, parse_json(line, f"{path}:{lineno}"), "\\u" not in line


CSV_CELL_LIMIT = 64 * 1024 * 1024
"""Cells up to 64 MiB load (the csv module's own default limit is 128 KiB)."""


def _csv_rows(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """CSV rows named by the physical line they start on (quoted cells may span lines);
    a row with more or fewer cells than the header is an error, not a silent shift."""
    text = read_utf8(path)
    old_limit = csv.field_size_limit(CSV_CELL_LIMIT)
    try:
        reader = csv.reader(io.StringIO(text, newline=""))
        header = _next_record(reader, path, 1)
        start = reader.line_num + 1
        while header is not None:
            cells = _next_record(reader, path, start)
            if cells is None:
                return
            where, start = f"{path}:{start}", reader.line_num + 1
            if not cells:
                continue
            if len(cells) != len(header):
                n = len(cells)
                raise RowError(
                    f"{where}: {n} cell{'' if n == 1 else 's'} but the header has"
                    f" {len(header)} columns"
                )
            yield where, {k: _csv_value(v) for k, v in zip(header, cells, strict=True)}
    finally:
        csv.field_size_limit(old_limit)


def _next_record(reader: Any, path: Path, start: int) -> list[str] | None:
    try:
        return next(reader, None)
    except csv.Error as exc:
        raise RowError(f"{path}:{start}: malformed CSV ({exc})") from None


def _csv_value(value: str | None) -> Any:
    """CSV cells are strings; JSON-looking cells (lists, numbers, booleans) are decoded."""
    if value is None:
        return None
    stripped = value.strip()
    if stripped[:1] in ("[", "{") or stripped in ("true", "false", "null"):
        try:
            return json.loads(stripped)
        except (ValueError, RecursionError):
            return value
    return value


def _hub_rows(task: Task, target: str) -> Rows:
    """Rows of a Hub dataset (or any local path ``datasets.load_dataset`` accepts)."""
    from fieldwise.errors import require

    require("datasets")
    import datasets

    name, sep, split = target.rpartition(":")
    if not sep:
        name, split = target, "test"
    try:
        ds = datasets.load_dataset(name, split=split)
    except Exception as exc:  # noqa: BLE001 - the hub raises many types; all mean the same
        raise UserError(f"cannot load hub dataset '{name}' split '{split}': {exc}") from exc
    for i, raw in enumerate(ds):
        row = dict(raw)
        mapped = task.hub_adapter(row) if task.hub_adapter is not None else row
        mapped.setdefault("id", row.get(task.id_column) or f"{split}-{i:05d}")
        yield f"{name}[{split}] row {i}", mapped, False


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
