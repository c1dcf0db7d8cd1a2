"""One canonical row checked and turned into an :class:`Example` (see ``loading.py``).

At 100,000 rows the per-row checks are most of a load, so a file's rows go through a
:class:`FieldPlan` made once per file: a row whose every field is present with a value
already of its field's type (what JSONL written by fieldwise or json.dumps holds) is
taken as a whole, in C (``itemgetter``, ``dict(zip(...))``); any other row takes the
per-field checks, which alone decide its errors. Both give the same Example (a test
compares them on every kind of value).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from dataclasses import dataclass, field
from itertools import repeat
from operator import itemgetter
from typing import Annotated, Any

import pydantic

from fieldwise._text import scrub_text
from fieldwise.errors import UserError
from fieldwise.tasks import Example, FieldSpec, Task

__all__ = ["SPANS_COLUMN", "FieldPlan", "RowError", "parse_json", "row_to_example"]


class RowError(UserError):
    pass


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


_ANY = object()
"""In a field plan: every value of this field passes its check unchanged."""
_UNCHANGED: dict[str, Any] = {
    "int": int, "bool": bool, "float": float, "date": str, "label_set": list,
    "text": _ANY, "label": _ANY,
}  # fmt: skip
"""Per leaf kind, the exact type :func:`_check_value` returns unchanged (lists: of str)."""
_SIGNATURES = 4096
"""Distinct per-row tuples of value types a plan remembers the verdict of."""


@dataclass
class FieldPlan:
    """How one task's rows are checked, worked out once per file.

    ``fields``: ``(name, spec, fast type)`` per field, in schema order: a value of
    exactly the fast type (``_ANY``: any value) passes its field's check unchanged.
    ``take`` is set when every field has a fast type: it picks all of a row's values at
    once (a ``KeyError`` when one is missing: that row takes the per-field path)."""

    fields: list[tuple[str, FieldSpec, Any]]
    names: tuple[str, ...] = ()
    take: itemgetter[Any] | None = None
    lists: tuple[int, ...] = ()
    """Positions of the label sets, whose items must also be strings."""
    verdicts: dict[tuple[type, ...], bool] = field(default_factory=dict)
    """Row type signature → whether every value is of its field's fast type."""
    last: tuple[type, ...] = ()
    """The signature of the last row that fitted."""

    @classmethod
    def of(cls, task: Task) -> FieldPlan:
        fields = [(f.name, f, _UNCHANGED.get(f.kind) if f.is_leaf else None) for f in task.fields]
        plan = cls(fields, tuple(name for name, _, _ in fields))
        if len(fields) > 1 and all(fast is not None for _, _, fast in fields):
            plan.take = itemgetter(*plan.names)
            plan.lists = tuple(i for i, (_, _, fast) in enumerate(fields) if fast is list)
        return plan

    def whole(self, row: dict[str, Any]) -> dict[str, Any] | None:
        """The row's gold when every field is there with a value of its fast type (the
        dict the per-field path would build, in the same order), else ``None``."""
        if self.take is None:
            return None
        try:
            values = self.take(row)
        except KeyError:
            return None
        signature = tuple(map(type, values))
        if signature != self.last:  # rows of a file mostly share one (compared, not hashed)
            fits = self.verdicts.get(signature)
            if fits is None:
                fits = all(
                    fast is _ANY or kind is fast
                    for kind, (_, _, fast) in zip(signature, self.fields, strict=True)
                )
                if len(self.verdicts) < _SIGNATURES:
                    self.verdicts[signature] = fits
            if not fits:
                return None
            self.last = signature
        for i in self.lists:
            for item in values[i]:
                if type(item) is not str and not isinstance(item, str):
                    return None
        return dict(zip(self.names, values))  # noqa: B905 - both made from self.names


def row_to_example(
    task: Task,
    row: dict[str, Any],
    where: str,
    index: int,
    group_column: str | None = None,
    plan: FieldPlan | None = None,
    clean: bool = False,
) -> Example:
    """Validate one canonical row; labels are kept as published (quirks included).

    ``plan`` (:meth:`FieldPlan.of`, made once per file) saves working it out per row.
    ``clean`` says the row's strings hold no lone surrogate (a JSONL line without a
    ``\\u`` escape: strict UTF-8 cannot encode one), so the id and text need no scrub."""
    text = row.get(task.text_column)
    if not isinstance(text, str) or not text or text.isspace():  # what .strip() leaves empty
        raise RowError(f"{where}: field '{task.text_column}': missing or empty text")
    raw_id = row.get(task.id_column)
    if raw_id is None or raw_id == "":
        example_id = f"row-{index + 1:05d}"
    else:
        example_id = raw_id if type(raw_id) is str else str(raw_id)
        if not clean:
            example_id = scrub_text(example_id)
    if not clean:
        text = scrub_text(text)
    group = None
    column = group_column or task.group_column
    if column:
        value = row.get(column)
        if value in (None, ""):
            raise RowError(f"{where}: group column '{column}': missing")
        group = str(value)
    spans = _gold_spans(task, row, text, where) if SPANS_COLUMN in row else None
    plan = plan or FieldPlan.of(task)
    gold = plan.whole(row)
    if gold is not None:
        return Example(example_id, text, gold, group, spans)
    if row.keys().isdisjoint(plan.names):
        return Example(example_id, text, None, group, spans)
    gold = {}
    for name, spec, fast in plan.fields:
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
