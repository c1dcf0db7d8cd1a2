"""``fieldwise review import``: reviewed values back as a new gold version of the data.

Reads what ``review export`` wrote, after review: our CSV or JSONL (``corrected``: the
right value; ``accept``: yes to confirm the model's value; both empty: not reviewed), or
a Label Studio export (a submitted task confirms or corrects; a skipped or untouched one
changes nothing). Each reviewed value becomes the gold at its path in its row of the
run's dataset; the result is validated like any loaded data, stored as a new dataset
version (a new fingerprint: runs on the old version keep their gold) and written as
JSONL. Every run recorded on the old version is recorded again on the new one, same
predictions (they are keyed by model and text, not by gold), so the old models are scored
against the corrected gold at once, and ``compare`` sets them beside runs made on it.

A corrected value is read by its field's kind: a text, date or label as it is written
(unless it is JSON: ``"null"`` for no value, a quoted string), a label set as a JSON list
or ``a, b``, a number, bool or records leaf (one value per record) as JSON.
"""

from __future__ import annotations

import copy
import csv
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fieldwise.data.fingerprint import fingerprint_examples
from fieldwise.data.loading import row_to_example, write_jsonl
from fieldwise.errors import UserError
from fieldwise.review._labelstudio import read_export
from fieldwise.review.runs import run_task
from fieldwise.store import RunRecord, Store
from fieldwise.tasks import Example, Task
from fieldwise.tasks._task import FieldSpec

__all__ = ["Correction", "ImportResult", "apply_corrections", "parse_value", "read_corrections"]

_YES = {"y", "yes", "true", "1", "x", "ok"}
PATH_PARTS = re.compile(r"([^.\[\]]+)(\[\])?")
"""A scored path's parts: ``line_items[].sku`` is (``line_items``, ``[]``), (``sku``, ``""``)."""


@dataclass
class Correction:
    """One reviewed value: ``value`` the model's (as exported), ``new`` the gold to set
    (text as typed, read by the field's kind when applied); ``accept``: the model's value
    is right."""

    where: str
    dataset: str
    run: int | None
    id: str
    path: str
    value: Any
    new: Any = None
    typed: bool = False
    """``new`` is a value already (a JSON line's list or number), not text to read."""
    accept: bool = False


def read_corrections(path: Path) -> list[Correction]:
    """The reviewed items of one file (see the module); unreviewed items are dropped."""
    if not path.is_file():
        raise UserError(f"file not found: {path}")
    try:
        if path.suffix.lower() == ".csv":
            items = _csv(path)
        elif path.suffix.lower() == ".jsonl":
            items = _jsonl(path)
        elif path.suffix.lower() == ".json":
            items = _labelstudio(path)
        else:
            raise UserError(
                f"cannot read {path.name}", hint="give review.csv, review.jsonl or a Label "
                "Studio JSON export",
            )  # fmt: skip
    except (ValueError, KeyError, TypeError) as exc:
        raise UserError(f"{path}: {exc}") from None
    return [c for c in items if c.accept or c.new is not None]


def _item(rec: Mapping[str, Any], where: str) -> Correction:
    for key in ("dataset", "id", "path"):
        if not rec.get(key):
            raise ValueError(f"{where}: '{key}' is missing (a file review export wrote?)")
    run = rec.get("run")
    return Correction(
        where,
        str(rec["dataset"]),
        int(run) if run not in (None, "") else None,
        str(rec["id"]),
        str(rec["path"]),
        rec.get("value"),
    )


def _csv(path: Path) -> list[Correction]:
    out = []
    with path.open(encoding="utf-8-sig", newline="") as fh:
        for n, rec in enumerate(csv.DictReader(fh), 2):
            item = _item(rec, f"line {n}")
            item.value = json.loads(rec["value"]) if rec.get("value") else None
            new = rec.get("corrected") or ""
            item.new = new if new.strip() else None
            item.accept = (rec.get("accept") or "").strip().lower() in _YES
            out.append(item)
    return out


def _jsonl(path: Path) -> list[Correction]:
    out = []
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            rec = json.loads(line)
            if not isinstance(rec, dict):
                raise ValueError(f"line {n}: not an object")
            item = _item(rec, f"line {n}")
            corrected = rec.get("corrected")  # null: not reviewed ("null": no value)
            if corrected is not None:
                item.new, item.typed = corrected, not isinstance(corrected, str)
            accept = rec.get("accept")
            item.accept = accept is True or str(accept).strip().lower() in _YES
            out.append(item)
    return out


def _labelstudio(path: Path) -> list[Correction]:
    out = []
    for rec in read_export(json.loads(path.read_text(encoding="utf-8")), path.name):
        item = _item(rec, rec["where"])
        shown = rec.get("value")
        item.value = shown
        if rec["corrected"] is not None:
            if rec["corrected"] == shown:
                item.accept = True  # submitted as the model had it
            else:
                item.new = rec["corrected"]
        out.append(item)
    return out


def parse_value(spec: FieldSpec, text: str, many: bool) -> Any:
    """A typed-in value as its field's kind reads it (see the module); ``many``: a leaf
    under a records field, one value per record."""
    stripped = text.strip()
    if many or spec.kind in ("int", "float", "bool", "object", "records"):
        try:
            return json.loads(stripped)
        except ValueError:
            kind = "a JSON list, one value per record" if many else f"a {spec.kind}"
            raise ValueError(f"'{text}' is not {kind}") from None
    if spec.kind == "label_set":
        if stripped.startswith("["):
            return json.loads(stripped)
        return [part.strip() for part in stripped.split(",") if part.strip()]
    if stripped == "null" or stripped.startswith('"'):
        return json.loads(stripped)
    return stripped


def _set(gold: dict[str, Any], path: str, value: Any) -> None:
    """Set ``gold`` at a scored path; under a records field, ``value`` holds one value per
    record (records are made when the gold has none)."""
    parts = PATH_PARTS.findall(path)
    node: Any = gold
    for k, (name, many) in enumerate(parts):
        last = k == len(parts) - 1
        if many:
            rest = ".".join(p for p, _ in parts[k + 1 :])
            if not isinstance(value, list):
                raise ValueError(f"'{path}' needs a list: one value per record")
            records = node.get(name) if isinstance(node.get(name), list) else []
            if not records:
                records = [{} for _ in value]
                node[name] = records
            if len(records) != len(value):
                raise ValueError(f"'{path}': {len(value)} values for {len(records)} gold records")
            for record, v in zip(records, value, strict=True):
                _set(record, rest, v)
            return
        if last:
            node[name] = value
            return
        if not isinstance(node.get(name), dict):
            node[name] = {}
        node = node[name]


@dataclass
class ImportResult:
    """What an import did: the new dataset version, its file, and the runs recorded on it."""

    fingerprint: str
    previous: str
    out: Path
    corrected: int = 0
    confirmed: int = 0
    rows: int = 0
    runs: dict[int, int] = field(default_factory=dict)
    """Old run id → its copy on the new version."""


def apply_corrections(
    store: Store, corrections: list[Correction], out: Path, task: str | None = None
) -> ImportResult:
    """Make, validate, store and write the new gold version (see the module)."""
    if not corrections:
        raise UserError("nothing was reviewed: no item has 'corrected' or 'accept' filled in")
    datasets = {c.dataset for c in corrections}
    if len(datasets) > 1:
        raise UserError(f"the corrections are for {len(datasets)} datasets; import one at a time")
    previous = datasets.pop()
    examples = store.load_dataset(previous)
    runs = [r for r in store.runs() if r["dataset_fingerprint"] == previous]
    task_obj = run_task(runs[0]["task"] if runs else "isaf", task)
    if not all(ex.gold is not None for ex in examples):
        raise UserError(
            "the reviewed run's dataset is unlabelled; review import corrects the gold of a "
            "labelled dataset",
            hint="label the rows (the corrected values are a start) and load them as data",
        )
    by_id = {ex.id: i for i, ex in enumerate(examples)}
    golds = [copy.deepcopy(ex.gold or {}) for ex in examples]
    result = ImportResult("", previous, out)
    touched: set[int] = set()
    for c in corrections:
        i = by_id.get(c.id)
        if i is None:
            raise UserError(f"{c.where}: id '{c.id}' is not in dataset {previous}")
        try:
            spec = task_obj.spec_at(c.path)
            if c.new is None:
                new = c.value
            elif c.typed:
                new = c.new
            else:
                new = parse_value(spec, str(c.new), "[]" in c.path)
            _set(golds[i], c.path, new)
        except (ValueError, KeyError) as exc:
            raise UserError(f"{c.where}: {exc}") from None
        result.confirmed += c.accept and c.new is None
        result.corrected += not (c.accept and c.new is None)
        touched.add(i)
    new_examples = [
        _validated(task_obj, ex, g, n)
        for n, (ex, g) in enumerate(zip(examples, golds, strict=True))
    ]
    result.rows = sum(1 for i in touched if new_examples[i].gold != examples[i].gold)
    result.fingerprint = fingerprint_examples(new_examples)
    source = f"review import of {previous}"
    store.save_dataset(task_obj.name, result.fingerprint, source, new_examples)
    write_jsonl(out, [{"id": ex.id, "text": ex.text, **(ex.gold or {})} for ex in new_examples])
    if result.fingerprint != previous:
        result.runs = _rescore(store, runs, result.fingerprint, source, len(new_examples))
    return result


def _validated(task: Task, ex: Example, gold: dict[str, Any], n: int) -> Example:
    row = {task.id_column: ex.id, task.text_column: ex.text, **gold}
    new = row_to_example(task, row, f"corrected row '{ex.id}'", n)
    return Example(ex.id, ex.text, new.gold, ex.group, ex.spans)


def _rescore(
    store: Store, runs: list[dict[str, Any]], fingerprint: str, source: str, n: int
) -> dict[int, int]:
    """Record each run again on the new version (same identity: same predictions)."""
    copies = {}
    for r in runs:
        config = json.loads(r["config_json"] or "null")
        config = {**(config or {}), "regold_of": r["id"]}
        record = RunRecord(
            label=r["label"],
            spec=r["spec"],
            kind=r["kind"],
            task=r["task"],
            identity=json.loads(r["identity_json"]),
            decoding=json.loads(r["decoding_json"]),
            template_hash=r["template_hash"],
            dataset_fingerprint=fingerprint,
            dataset_source=source,
            n_examples=n,
            package_version=r["package_version"],
            git_sha=r["git_sha"],
            config=config,
        )
        new_id = store.start_run(record)
        store.finish_run(new_id, r["status"])
        copies[r["id"]] = new_id
    return copies
