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
import datetime as dt
import functools
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path
from typing import Annotated, Any

import pydantic

from fieldwise._gc import gc_paused
from fieldwise._text import decode_utf8, read_utf8, scrub_text
from fieldwise.data._sniff import read_parquet_rows, with_format_hint
from fieldwise.data.fingerprint import fingerprint_examples
from fieldwise.errors import UserError
from fieldwise.tasks import Example, FieldSpec, Task


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


class RowError(UserError):
    pass


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
        rows: Iterator[tuple[str, dict[str, Any]]] = _hub_rows(task, src[4:])
    else:
        path = Path(src)
        if not path.exists():
            raise UserError(f"data file not found: {path}")
        rows = _file_rows(path)
    examples: list[Example] = []
    skipped: list[str] = []
    seen_ids: set[str] = set()
    plan = _field_plan(task)
    with gc_paused():  # ~100,000 rows of new objects: collections would re-walk them all
        try:
            for where, raw in rows:
                try:
                    example = row_to_example(task, raw, where, len(examples), group_column, plan)
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


def parse_json(text: str | bytes, where: str) -> Any:
    """``json.loads`` with one-line errors naming ``where``: malformed JSON, JSON nested
    too deep for Python's parser, and integers over Python's 4,300-digit limit."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise RowError(f"{where}: invalid JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise RowError(f"{where}: JSON nested too deep to read") from None
    except ValueError as exc:  # e.g. "Exceeds the limit (4300 digits) for integer ..."
        raise RowError(f"{where}: unreadable JSON value ({str(exc).split(';')[0]})") from None


def _file_rows(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        for lineno, line in jsonl_lines(path):
            where = f"{path}:{lineno}"
            row = parse_json(line, where)
            if type(row) is not dict:
                raise RowError(f"{where}: expected a JSON object")
            yield where, row
    elif suffix == ".json":
        data = parse_json(read_utf8(path), str(path))
        if not isinstance(data, list):
            raise RowError(f"{path}: expected a JSON list of objects")
        for i, row in enumerate(data):
            if not isinstance(row, dict):
                raise RowError(f"{path}[{i}]: expected a JSON object, got {type(row).__name__}")
            yield f"{path}[{i}]", row
    elif suffix == ".parquet":
        for i, row in enumerate(read_parquet_rows(path)):
            yield f"{path}:row {i + 1}", row
    elif suffix == ".csv":
        yield from _csv_rows(path)
    else:
        raise UserError(
            f"unsupported data file type '{suffix}' ({path})",
            hint="use .jsonl, .json, .parquet or .csv",
        )


READ_CHUNK = 8 * 1024 * 1024
"""Bytes read and decoded at a time by :func:`jsonl_lines`."""


def jsonl_lines(path: Path) -> Iterator[tuple[int, str]]:
    """``(line number, text)`` of each non-blank line of a JSONL file.

    Read and decoded 8 MiB at a time (one ``decode`` per chunk, not per line: at 100,000
    rows the per-line calls cost more than the decoding), split on ``\\n`` only (a raw
    U+2028 inside a JSON string is not a line end); bytes that are not UTF-8 are a
    one-line error naming the line and column."""
    lineno, rest = 0, b""
    with path.open("rb") as fh:
        while True:
            block = fh.read(READ_CHUNK)
            data = rest + block if rest else block
            cut = data.rfind(b"\n") + 1 if block else len(data)
            if block and not cut:
                rest = data  # one line longer than a chunk: read on
                continue
            text = decode_utf8(data[:cut], str(path), lineno + 1)
            rest = data[cut:]
            lines = text.split("\n")
            if text.endswith("\n"):
                lines.pop()
            for line in lines:
                lineno += 1
                if line and not line.isspace():
                    yield lineno, line
            if not block:
                return


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


def _hub_rows(task: Task, target: str) -> Iterator[tuple[str, dict[str, Any]]]:
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
        yield f"{name}[{split}] row {i}", mapped


_ANY = object()
"""In a field plan: every value of this field passes its check unchanged."""
_UNCHANGED: dict[str, Any] = {
    "int": int, "bool": bool, "float": float, "date": str, "label_set": list,
    "text": _ANY, "label": _ANY,
}  # fmt: skip
"""Per leaf kind, the exact type :func:`_check_value` returns unchanged (lists: of str)."""


def _field_plan(task: Task) -> list[tuple[str, FieldSpec, Any]]:
    """``(name, spec, fast type)`` per field, for :func:`row_to_example`'s fast path: a
    value of exactly that type is kept as it is, without the per-field checks."""
    return [(f.name, f, _UNCHANGED.get(f.kind) if f.is_leaf else None) for f in task.fields]


def row_to_example(
    task: Task,
    row: dict[str, Any],
    where: str,
    index: int,
    group_column: str | None = None,
    plan: list[tuple[str, FieldSpec, Any]] | None = None,
) -> Example:
    """Validate one canonical row; labels are kept as published (quirks included).

    ``plan`` (from :func:`_field_plan`, made once per file) lets values already of their
    field's type skip the checks: the same result, about 3x faster per row."""
    text = row.get(task.text_column)
    if not isinstance(text, str) or not text.strip():
        raise RowError(f"{where}: field '{task.text_column}': missing or empty text")
    text = scrub_text(text)
    raw_id = row.get(task.id_column)
    example_id = scrub_text(str(raw_id)) if raw_id not in (None, "") else f"row-{index + 1:05d}"
    group = None
    column = group_column or task.group_column
    if column:
        value = row.get(column)
        if value in (None, ""):
            raise RowError(f"{where}: group column '{column}': missing")
        group = str(value)
    spans = _gold_spans(task, row, text, where)
    plan = plan or _field_plan(task)
    if row.keys().isdisjoint([name for name, _, _ in plan]):
        return Example(example_id, text, None, group, spans)
    gold: dict[str, Any] = {}
    for name, spec, fast in plan:
        if name not in row:
            if spec.optional:
                gold[name] = None  # an omitted optional field is a null
            elif spec.scored:
                raise RowError(f"{where}: field '{name}': missing label")
            continue
        value = row[name]
        kind = type(value)
        if fast is _ANY or (
            kind is fast and (kind is not list or all(map(isinstance, value, repeat(str))))
        ):
            gold[name] = value
        elif fast is not None:
            gold[name] = _check_value(spec, value, where)
        else:
            gold[name] = _check_nested(task, spec, value, where)
    return Example(example_id, text, gold, group, spans)


SPANS_COLUMN = "spans"
"""The optional column of gold evidence: ``{path: [[start, end], ...]}`` (docs/trust.md)."""


def _gold_spans(
    task: Task, row: dict[str, Any], text: str, where: str
) -> dict[str, list[tuple[int, int]]] | None:
    """The row's gold spans, checked: paths are strings, spans are ``[start, end]`` pairs
    of integers inside the text. ``None`` when the row has none (or the task itself has a
    field named ``spans``, which then is a label like any other)."""
    raw = row.get(SPANS_COLUMN)
    if raw is None or any(f.name == SPANS_COLUMN for f in task.fields):
        return None
    if isinstance(raw, str):  # a CSV cell holding JSON text
        raw = parse_json(raw, f"{where}: column '{SPANS_COLUMN}'")
    if not isinstance(raw, dict):
        raise RowError(f"{where}: column '{SPANS_COLUMN}': expected an object of path → spans")
    out: dict[str, list[tuple[int, int]]] = {}
    for path, spans in raw.items():
        if not isinstance(spans, list):
            raise RowError(f"{where}: spans of '{path}': expected a list of [start, end]")
        checked = []
        for span in spans:
            if (
                not isinstance(span, list | tuple)
                or len(span) != 2
                or not all(isinstance(x, int) and not isinstance(x, bool) for x in span)
                or not 0 <= span[0] <= span[1] <= len(text)
            ):
                raise RowError(
                    f"{where}: spans of '{path}': {_brief(span)} is not [start, end] "
                    f"with 0 <= start <= end <= {len(text)} (the text's length)"
                )
            checked.append((span[0], span[1]))
        out[str(path)] = checked
    return out


def _check_nested(task: Task, spec: FieldSpec, value: Any, where: str) -> Any:
    """An ``object``/``records`` gold value, validated by the schema's own Pydantic type
    and returned in canonical shape: keys in schema order, omitted optional keys as
    ``null``, dates as ISO strings (so JSONL objects and Parquet structs load alike)."""
    if value is None and spec.optional:
        return None
    expected = "an object" if spec.kind == "object" else "a list of objects"
    if isinstance(value, str):
        raise RowError(
            f"{where}: field '{spec.name}': expected {expected}, got the string "
            f"{_brief(value)} (a CSV cell must hold the value as JSON)"
        )
    adapter = _adapter(task.output_model, spec.name)
    try:
        return adapter.dump_python(adapter.validate_python(value), mode="json")
    except pydantic.ValidationError as exc:
        error = exc.errors()[0]
        path = spec.name + "".join(
            f"[{part}]" if isinstance(part, int) else f".{part}" for part in error["loc"]
        )
        got = "nothing" if error["type"] == "missing" else _brief(error.get("input"))
        raise RowError(f"{where}: field '{path}': {error['msg'].lower()}, got {got}") from None


@functools.cache
def _adapter(model: type[pydantic.BaseModel], name: str) -> pydantic.TypeAdapter[Any]:
    info = model.model_fields[name]
    if not info.metadata:
        return pydantic.TypeAdapter(info.annotation)
    return pydantic.TypeAdapter(Annotated[(info.annotation, *info.metadata)])  # type: ignore[valid-type]


def _brief(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."


def _check_value(spec: FieldSpec, value: Any, where: str) -> Any:
    def bad(expected: str) -> RowError:
        return RowError(f"{where}: field '{spec.name}': expected {expected}, got {value!r}")

    if value is None and spec.optional:
        return None
    if spec.kind == "label_set":
        if isinstance(value, str):
            return [part.strip() for part in value.split(",")] if value else [""]
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
        raise bad("a list of strings")
    if spec.kind == "int":
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            try:
                return int(value)
            except ValueError:  # over Python's 4,300-digit limit
                raise bad("an integer of at most 4300 digits") from None
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad("an integer")
        return value
    if spec.kind == "bool":
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    if spec.kind == "float":
        try:
            return float(value)
        except (TypeError, ValueError, OverflowError):
            raise bad("a number") from None
    if spec.kind == "date":
        if value is None:
            return ""
        if isinstance(value, dt.date):  # a Parquet date column
            return value.isoformat()[:10]
        if not isinstance(value, str):
            raise bad("a YYYY-MM-DD string")
        return value
    return value


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
