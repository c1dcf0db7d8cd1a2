"""Outputs made elsewhere, brought into the store as models of their own.

An import is a model like any other once it is in: it is registered (``store models``),
recorded as a run on the dataset its ids were matched against (``store runs``), and its
predictions are keyed like a model's (identity ``{"provider": "import", "name": X}`` plus
the text), so ``compare X Y``, the next ``run`` and ``models: [{name: X}]`` all find them.

Files are read strictly: every line needs an ``id`` and an ``output`` key (a line with
``out`` is an error naming the file and line, never a silent null), and an id may appear
once. Re-importing a file whose bytes did not change records nothing new.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fieldwise import __version__
from fieldwise._gc import gc_paused
from fieldwise._hashing import prediction_keys
from fieldwise._json import fast_lines
from fieldwise._text import decode_utf8
from fieldwise.data import Dataset
from fieldwise.data.splits import normalise_text
from fieldwise.errors import UserError
from fieldwise.store._store import PredictionRow, RunRecord, Store
from fieldwise.tasks import Example

__all__ = [
    "ImportedRun",
    "PredictionFile",
    "check_label_free",
    "import_identity",
    "import_jsonl",
    "import_prediction_dicts",
    "load_prediction_records",
    "read_prediction_lines",
    "read_predictions",
    "record_import",
    "stored_imports",
]

IMPORT_PROVIDER = "import"


def import_identity(label: str) -> dict[str, Any]:
    """The identity under which imported outputs are keyed (no model to re-run)."""
    return {"provider": IMPORT_PROVIDER, "name": label}


@dataclass
class PredictionFile:
    """An ``{"id", "output"}`` JSONL read whole: outputs and line numbers by id (file
    order), and a hash of its bytes (to skip re-storing a file already imported)."""

    path: Path
    outputs: dict[str, str | None]
    lines: dict[str, int]
    sha256: str
    signals: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per id, the line's confidence signals (:func:`line_signals`), where it has any."""


def read_predictions(path: Path) -> PredictionFile:
    """Read and check a predictions JSONL; every problem is a one-line error naming the
    file and line: bytes that are not UTF-8, a line that is not a JSON object, an
    ``id`` that is missing or empty, no ``output`` key, an id that repeats."""
    if not path.is_file():
        raise UserError(f"predictions file not found: {path}")
    data = path.read_bytes()
    outputs: dict[str, str | None] = {}
    lines: dict[str, int] = {}
    signals: dict[str, dict[str, Any]] = {}
    for lineno, rec in _records(path, data):
        if type(rec) is not dict or "output" not in rec or "id" not in rec:
            _bad_line(path, lineno, rec)
        example_id = rec["id"]
        if type(example_id) is not str:
            example_id = _id_text(example_id, path, lineno)
        if not example_id:
            raise UserError(f"{path}:{lineno}: empty 'id'")
        if example_id in lines:
            raise UserError(
                f"{path}:{lineno}: id '{example_id}' repeats line {lines[example_id]}",
                hint="keep one output per id",
            )
        output = rec["output"]
        if output is not None and type(output) is not str:
            output = _as_output(output, f"{path}:{lineno}: output")
        outputs[example_id] = output
        lines[example_id] = lineno
        if "confidence" in rec or "logprobs" in rec:
            found = line_signals(rec, output, f"{path}:{lineno}")
            if found:
                signals[example_id] = found
    return PredictionFile(path, outputs, lines, hashlib.sha256(data).hexdigest(), signals)


def _records(path: Path, data: bytes) -> Iterator[tuple[int, Any]]:
    """``(line number, parsed value)`` per non-blank line: all parsed at once by
    :func:`fast_lines` when it can, else decoded and parsed line by line, every problem
    a one-line error naming the line."""
    fast = fast_lines(data)
    if fast is not None:
        for lineno, rec, _ in fast:
            yield lineno, rec
        return
    text = decode_utf8(data, str(path))
    loads = json.loads
    # Split on "\n" only: a raw U+2028 inside a JSON string is legal and not a line end.
    for lineno, line in enumerate(text.split("\n"), 1):
        if not line or line.isspace():
            continue
        try:
            rec = loads(line)
        except json.JSONDecodeError as exc:
            raise UserError(f"{path}:{lineno}: invalid JSON ({exc.msg})") from None
        except (ValueError, RecursionError):
            raise UserError(f"{path}:{lineno}: unreadable JSON") from None
        yield lineno, rec


def line_signals(rec: dict[str, Any], output: str | None, where: str) -> dict[str, Any] | None:
    """A line's confidence signals, stored with the prediction for ``fieldwise trust``:
    the model's own ``confidence`` per path (``{"province": 0.93}``, each in [0, 1]) and
    OpenAI-format ``logprobs`` (``{"content": [{"token", "logprob", "bytes"}]}`` or that
    list), whose tokens must spell the output. A malformed one is an error naming the line."""
    from fieldwise.models._signals import clean_signals, logprob_signals

    signals: dict[str, Any] = {}
    confidence = rec.get("confidence")
    if confidence is not None:
        if not isinstance(confidence, dict):
            raise UserError(f"{where}: confidence must be an object of path → probability")
        cleaned = clean_signals({"prob": confidence}, output)
        if cleaned is None or len(cleaned["prob"]) != len(confidence):
            raise UserError(f"{where}: every confidence must be a number from 0 to 1")
        signals.update(cleaned)
    logprobs = rec.get("logprobs")
    if logprobs is not None:
        content = {"content": logprobs} if isinstance(logprobs, list) else logprobs
        tokens = clean_signals(logprob_signals(content, output), output)
        if tokens is None:
            raise UserError(
                f"{where}: logprobs must be OpenAI's [{{token, logprob, bytes}}] whose tokens "
                "spell the output"
            )
        signals.update(tokens)
    return signals or None


def _bad_line(path: Path, lineno: int, rec: Any) -> None:
    where = f"{path}:{lineno}"
    if type(rec) is not dict:
        raise UserError(f"{where}: expected an object with 'id' and 'output'")
    keys = ", ".join(f"'{k}'" for k in list(rec)[:6]) or "none"
    missing = "output" if "output" not in rec else "id"
    raise UserError(
        f"{where}: no '{missing}' key (the line has {keys})",
        hint='each line is {"id": ..., "output": RAW TEXT or null}',
    )


def _id_text(value: Any, path: Path, lineno: int) -> str:
    if value is None or isinstance(value, (dict, list, bool)):
        raise UserError(f"{path}:{lineno}: 'id' must be a string or a number, got {value!r}")
    return str(value)


def read_prediction_lines(path: Path) -> Iterator[tuple[str, str, str | None]]:
    """``(where, id, output)`` for each line of a predictions JSONL (checked as
    :func:`read_predictions` does), ``where`` being ``path:line``."""
    found = read_predictions(path)
    for example_id, output in found.outputs.items():
        yield f"{path}:{found.lines[example_id]}", example_id, output


def _as_output(value: Any, where: str) -> str | None:
    """An imported output as raw text: strings as they are, JSON values (a model that
    answered with an object) as their JSON text, as if the model had written it."""
    if value is None or isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        raise UserError(f"{where}: not text or JSON ({type(value).__name__})") from None


def check_label_free(store: Store, labels: list[str], replace: bool = False) -> None:
    """Refuse to import under the label of a registered model that is not an import (a
    fine-tune's registration would be replaced by the file's outputs) unless ``replace``."""
    taken = {m["label"]: m["spec"] for m in store.models()}
    for label in labels:
        spec = taken.get(label)
        if spec is not None and spec != f"{IMPORT_PROVIDER}/{label}" and not replace:
            raise UserError(
                f"'{label}' is already registered as {spec}; importing would replace it",
                hint="choose another --name, or pass --replace to replace it",
            )


def stored_imports(store: Store) -> dict[str, str]:
    """Every imported model registered in the store: label → kind."""
    prefix = f"{IMPORT_PROVIDER}/"
    return {m["label"]: m["kind"] for m in store.models() if m["spec"].startswith(prefix)}


@dataclass
class ImportedRun:
    """What one import stored: the run it was recorded as, and how its ids matched."""

    label: str
    run_id: int
    stored: int
    """Rows stored (ids found in the dataset)."""
    dataset_rows: int
    outside: list[str] = field(default_factory=list)
    """Ids of the file that are not in the dataset (never stored)."""

    @property
    def without_prediction(self) -> int:
        return self.dataset_rows - self.stored


def record_import(
    store: Store,
    label: str,
    kind: str,
    pairs: list[tuple[Example, str | None]],
    dataset: Dataset,
    task: str,
    source: dict[str, Any],
    signals: Mapping[str, dict[str, Any]] | None = None,
) -> int:
    """Register ``label`` as an imported model, record the import as a finished run on
    ``dataset`` and store its predictions (one commit each). ``source`` (the file and
    its hash) goes into the run's config; when the latest import of ``label`` already
    recorded the same source and hash on the same dataset, nothing is written again and that
    run's id is returned (a project re-read on every ``fieldwise run`` stays one run)."""
    spec = f"{IMPORT_PROVIDER}/{label}"
    for run in reversed(store.runs(label) if source.get("sha256") else []):
        if run["spec"] != spec:
            continue
        previous = json.loads(run["config_json"] or "{}")
        if previous == source and run["dataset_fingerprint"] == dataset.fingerprint:
            store.register_model(label, spec, kind, {"source": source.get("path")})
            return int(run["id"])
        break
    identity = import_identity(label)
    run_id = store.start_run(
        RunRecord(
            label=label,
            spec=spec,
            kind=kind,
            task=task,
            identity=identity,
            decoding={},
            template_hash=None,
            dataset_fingerprint=dataset.fingerprint,
            dataset_source=dataset.source,
            n_examples=len(pairs),
            package_version=__version__,
            git_sha=None,  # no model of ours ran: the checkout in use says nothing
            config=source,
        )
    )
    with gc_paused():
        keys = prediction_keys(identity, [ex for ex, _ in pairs])
        if signals:
            get = signals.get
            rows = [
                PredictionRow(k, ex.id, out, signals=get(ex.id))
                for k, (ex, out) in zip(keys, pairs, strict=True)
            ]
        else:  # most files: no signals to look up per row
            rows = [PredictionRow(k, ex.id, out) for k, (ex, out) in zip(keys, pairs, strict=True)]
    store.register_model(label, spec, kind, {"source": source.get("path")})
    store.save_predictions(run_id, label, rows)
    store.finish_run(run_id, "finished")
    return run_id


def import_jsonl(
    store: Store,
    label: str,
    path: Path,
    dataset: Dataset,
    task: str,
    *,
    replace: bool = False,
    kind: str = "imported",
) -> ImportedRun:
    """Import ``{"id", "output"}`` lines as model ``label`` (refusing a label registered
    to another model unless ``replace``). An id that is not in ``dataset`` is an error
    naming its line; rows of ``dataset`` the file does not cover are counted in
    :attr:`ImportedRun.without_prediction` for the caller to warn about."""
    check_label_free(store, [label], replace)
    with gc_paused():  # 100,000 rows read, paired, keyed and stored: see fieldwise._gc
        found = read_predictions(path)
        by_id = {ex.id: ex for ex in dataset.examples}
        pairs = []
        for example_id, output in found.outputs.items():
            example = by_id.get(example_id)
            if example is None:
                raise UserError(
                    f"{path}:{found.lines[example_id]}: id '{example_id}' is not in "
                    f"{dataset.source}"
                )
            pairs.append((example, output))
        source = {"path": str(path), "sha256": found.sha256}
        run_id = record_import(store, label, kind, pairs, dataset, task, source, found.signals)
    return ImportedRun(label, run_id, len(pairs), len(dataset.examples))


def import_prediction_dicts(
    store: Store,
    records: list[dict[str, Any]],
    dataset: Dataset,
    task: str,
    *,
    source: str,
    kinds: Mapping[str, str] | None = None,
) -> dict[str, ImportedRun]:
    """Import rows shaped like the published comparison: ``text`` (or ``id``) plus a
    ``predictions`` dict of model name → raw output; one run per model."""
    by_id = {e.id: e for e in dataset.examples}
    by_text: dict[str, Example] | None = None
    per_model: dict[str, list[tuple[Example, str | None]]] = {}
    for i, rec in enumerate(records):
        if not isinstance(rec, dict):
            raise UserError(f"{source} row {i + 1}: expected an object, got {type(rec).__name__}")
        example = by_id.get(str(rec.get("id")))
        if example is None:
            if by_text is None:  # matching by text only when ids do not match
                by_text = {normalise_text(e.text): e for e in dataset.examples}
            example = by_text.get(normalise_text(str(rec.get("text", ""))))
        if example is None:
            continue
        preds = rec.get("predictions")
        if isinstance(preds, str):
            try:
                preds = json.loads(preds)
            except (ValueError, RecursionError):
                preds = None
        if not isinstance(preds, dict):
            raise UserError(f"{source} row {i + 1}: 'predictions' must be a dict of model → output")
        for label, output in preds.items():
            output = _as_output(output, f"{source} row {i + 1}: predictions.{label}")
            per_model.setdefault(str(label), []).append((example, output))
    if not per_model:
        raise UserError(f"no rows of {source} match the dataset (by id or text)")
    check_label_free(store, list(per_model))
    path = Path(source)
    digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
    out = {}
    for label, pairs in per_model.items():
        kind = (kinds or {}).get(label, "imported")
        origin = {"path": source, "sha256": digest, "model": label}
        run_id = record_import(store, label, kind, pairs, dataset, task, origin)
        out[label] = ImportedRun(label, run_id, len(pairs), len(dataset.examples))
    return out


def load_prediction_records(source: str) -> list[dict[str, Any]]:
    """Rows from a local JSONL/Parquet file or ``hub:OWNER/NAME[:SPLIT]``."""
    if source.startswith("hub:"):
        import datasets

        name, sep, split = source[4:].rpartition(":")
        if not sep:
            name, split = source[4:], "test"
        try:
            return [dict(r) for r in datasets.load_dataset(name, split=split)]
        except Exception as exc:  # noqa: BLE001
            raise UserError(f"cannot load '{name}' split '{split}': {exc}") from exc
    path = Path(source)
    if not path.is_file():
        raise UserError(f"file not found: {path}")
    if path.suffix == ".parquet":
        from fieldwise.data._sniff import read_parquet_rows

        return read_parquet_rows(path)
    text = decode_utf8(path.read_bytes(), str(path))
    rows = []
    for lineno, line in enumerate(text.split("\n"), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except (ValueError, RecursionError):
                raise UserError(f"{path}:{lineno}: invalid JSON line") from None
    return rows
