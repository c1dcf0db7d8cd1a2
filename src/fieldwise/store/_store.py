"""The project's SQLite store: runs, predictions, datasets and registered models.

Every prediction is committed the moment it exists and is keyed by a hash of everything
that changes the output (see ``models.prediction_key``), so a killed run resumes where it
stopped and nothing is ever computed twice. WAL mode lets a report read while a run
writes. API keys never reach this file: only model identities and options, which the
backends keep free of secrets; credentials in a URL (``http://user:SECRET@host``) are
replaced here, in every identity, option, run config and batch record written.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fieldwise import _legacy
from fieldwise._gc import gc_paused
from fieldwise._text import hide_url_credentials, scrub_text
from fieldwise.errors import UserError
from fieldwise.store._migrations import migrate
from fieldwise.tasks import Example

STORE_FILENAME = "fieldwise.sqlite"
_PRED_COLUMNS = (
    "key, example_id, output, error, latency_s, input_tokens, output_tokens, cost_usd, "
    "finish_reason"
)
"""In :class:`PredictionRow`'s field order."""
_WRITE_FAILURES = ("disk i/o error", "disk is full", "readonly database")
"""SQLite's words for a write the disk refused (ENOSPC, EFBIG, EDQUOT, EROFS)."""
_CHUNK = 10_000
"""Keys per ``IN (...)`` query; SQLite >= 3.32 allows 32,766 parameters."""


def _json(value: Any) -> str:
    """JSON for a column, with any URL's credentials replaced (see the module docstring)."""
    return json.dumps(hide_url_credentials(value), sort_keys=True)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@dataclass(slots=True)
class PredictionRow:
    key: str
    example_id: str
    output: str | None
    error: str | None = None
    latency_s: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None
    finish_reason: str | None = None
    signals: dict[str, Any] | None = None
    """Written with the row (``prediction_signals``), never read back with it: the
    resume path does not need them; :meth:`Store.signals_by_key` reads them."""


@dataclass
class RunRecord:
    label: str
    spec: str
    kind: str
    task: str
    identity: dict[str, Any]
    decoding: dict[str, Any]
    template_hash: str | None
    dataset_fingerprint: str
    dataset_source: str | None
    n_examples: int
    package_version: str
    git_sha: str | None
    config: dict[str, Any] | None = None


@dataclass
class BatchRecord:
    """A provider batch job: ``requests`` maps each prediction key it covers (its
    ``custom_id``) to the example id the key was first asked for."""

    id: str
    provider: str
    base_url: str
    label: str
    model_hash: str
    run_id: int | None
    input_file_id: str | None
    requests: dict[str, str]
    status: str = "open"
    """``submitting``: the input file is uploaded and a create may be under way (``id`` is
    a placeholder, ``upload:FILE``); ``open``: the provider runs it; then its end state."""
    create_sent_at: float | None = None
    """For a ``submitting`` record: when a create was last sent for its file (epoch
    seconds), ``None`` while none has been; a batch may exist from then on."""


class Store:
    """One SQLite database per project directory (``<project>/fieldwise.sqlite``)."""

    def __init__(self, project_dir: str | Path) -> None:
        self.project_dir = _legacy.project_dir(Path(project_dir))
        self.project_dir.mkdir(parents=True, exist_ok=True)
        self.path = _legacy.store_file(self.project_dir, STORE_FILENAME)
        try:
            self.db = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
            # 16 KiB pages in a new store (an existing one keeps its own: SQLite changes
            # the size only of an empty database): a 100,000-row import writes and re-reads
            # a quarter as many pages, about a tenth of its store time (mostly system CPU).
            self.db.execute("PRAGMA page_size=16384")
            _set_wal(self.db)
            self.db.execute("PRAGMA synchronous=NORMAL")
            migrate(self.db)
        except sqlite3.DatabaseError as exc:
            raise UserError(f"cannot open store {self.path}: {exc}") from exc
        self.db.row_factory = sqlite3.Row

    def close(self) -> None:
        self.db.close()

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """One transaction; a disk that is full (or refuses a write) is a one-line error
        naming the store, and the transaction is rolled back whole: what earlier ones
        committed stays, so a rerun resumes from there."""
        try:
            with self.db:
                yield
        except sqlite3.OperationalError as exc:
            if not any(word in str(exc).lower() for word in _WRITE_FAILURES):
                raise
            raise UserError(
                f"cannot write to the store {self.path}: {exc} (is the disk full?)",
                hint="what was stored before is kept; free space and rerun to resume",
            ) from None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _select(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """All rows of a query. Text that is not UTF-8 (written by another program, or
        an old version) reads with U+FFFD in place of the bad bytes instead of failing
        every later command; the fast default decoder is kept for clean text."""
        try:
            return self.db.execute(sql, params).fetchall()
        except sqlite3.OperationalError as exc:
            if "decode" not in str(exc):
                raise
        self.db.text_factory = lambda data: data.decode("utf-8", "replace")
        try:
            return self.db.execute(sql, params).fetchall()
        finally:
            self.db.text_factory = str

    # -- runs --------------------------------------------------------------------------
    def start_run(self, record: RunRecord) -> int:
        with self._writing():
            cur = self.db.execute(
                """INSERT INTO runs (created_at, status, label, spec, kind, task, identity_json,
                decoding_json, template_hash, dataset_fingerprint, dataset_source, n_examples,
                package_version, git_sha, config_json)
                VALUES (?, 'running', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    _now(),
                    record.label,
                    record.spec,
                    record.kind,
                    record.task,
                    _json(record.identity),
                    _json(record.decoding),
                    record.template_hash,
                    record.dataset_fingerprint,
                    record.dataset_source,
                    record.n_examples,
                    record.package_version,
                    record.git_sha,
                    _json(record.config) if record.config is not None else None,
                ),
            )
        assert cur.lastrowid is not None
        return cur.lastrowid

    def finish_run(self, run_id: int, status: str = "finished") -> None:
        with self._writing():
            self.db.execute(
                "UPDATE runs SET status = ?, finished_at = ? WHERE id = ?",
                (status, _now(), run_id),
            )

    def runs(self, label: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM runs" + (" WHERE label = ?" if label else "") + " ORDER BY id"
        return [dict(r) for r in self._select(sql, (label,) if label else ())]

    # -- predictions ---------------------------------------------------------------------
    def finished(self, keys: Iterable[str]) -> dict[str, PredictionRow]:
        """Predictions already made (with an output or a final error) for these keys."""
        return self._by_key(keys, " AND error IS NULL")

    def _by_key(self, keys: Iterable[str], where: str = "") -> dict[str, PredictionRow]:
        """Rows for these keys, fetched as plain tuples in large chunks: a resumed run over
        100,000 stored predictions spends its time here (see docs/benchmarks.md)."""
        keys = list(dict.fromkeys(keys))
        found: dict[str, PredictionRow] = {}
        cur = self.db.cursor()
        cur.row_factory = None
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            sql = f"SELECT {_PRED_COLUMNS} FROM predictions WHERE key IN ({marks}){where}"
            try:
                rows: list[Any] = cur.execute(sql, chunk).fetchall()
            except sqlite3.OperationalError as exc:
                if "decode" not in str(exc):
                    raise
                rows = [tuple(r) for r in self._select(sql, chunk)]
            for row in rows:
                found[row[0]] = PredictionRow(*row)
        return found

    def save_predictions(
        self, run_id: int | None, label: str, rows: Sequence[PredictionRow]
    ) -> None:
        """Commit a batch of predictions at once (errors are kept so reports can show them,
        and are retried by the next run)."""
        with self._writing(), gc_paused():
            self._insert_predictions(run_id, label, rows)

    def _insert_predictions(
        self, run_id: int | None, label: str, rows: Sequence[PredictionRow]
    ) -> None:
        now, label = _now(), scrub_text(label)
        if len(rows) > 1000:  # bulk (imports, batches): key order keeps the index inserts local
            rows = sorted(rows, key=_row_key)
        self.db.executemany(
            """INSERT OR REPLACE INTO predictions (key, run_id, label, example_id, output,
            error, latency_s, input_tokens, output_tokens, cost_usd, finish_reason,
            created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [
                (
                    r.key,
                    run_id,
                    label,
                    scrub_text(r.example_id),
                    None if r.output is None else scrub_text(r.output),
                    None if r.error is None else scrub_text(r.error),
                    r.latency_s,
                    r.input_tokens,
                    r.output_tokens,
                    r.cost_usd,
                    None if r.finish_reason is None else scrub_text(r.finish_reason),
                    now,
                )
                for r in rows
            ],
        )
        signals = [(r.key, json.dumps(r.signals)) for r in rows if r.signals]
        if signals:
            self.db.executemany("INSERT OR REPLACE INTO prediction_signals VALUES (?, ?)", signals)

    def has_signals(self) -> bool:
        """Whether any prediction in the store has confidence signals (most imports and
        API runs have none: their readers skip the key lookups)."""
        return self.db.execute("SELECT 1 FROM prediction_signals LIMIT 1").fetchone() is not None

    def signals_by_key(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The stored confidence signals of these predictions (keys without any are left
        out); see ``models/_signals.py`` for their shape."""
        keys = list(dict.fromkeys(keys))
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            sql = f"SELECT key, signals_json FROM prediction_signals WHERE key IN ({marks})"
            for key, text in self.db.execute(sql, chunk).fetchall():
                try:
                    value = json.loads(text)
                except ValueError:
                    continue  # written by something else: no signal rather than a crash
                if isinstance(value, dict):
                    found[key] = value
        return found

    def predictions_by_key(self, keys: Iterable[str]) -> dict[str, PredictionRow]:
        """All stored predictions (errors included) for these keys."""
        return self._by_key(keys)

    def predictions_for_label(self, label: str) -> list[dict[str, Any]]:
        sql = "SELECT * FROM predictions WHERE label = ? ORDER BY created_at, example_id"
        return [dict(r) for r in self._select(sql, (label,))]

    def example_ids(self, label: str) -> set[str]:
        """The example ids ``label`` has stored predictions for (one indexed query)."""
        cur = self.db.cursor()
        cur.row_factory = None
        rows = cur.execute("SELECT example_id FROM predictions WHERE label = ?", (label,))
        return {r[0] for r in rows}

    def labels(self) -> list[str]:
        return [r[0] for r in self._select("SELECT DISTINCT label FROM predictions ORDER BY 1")]

    # -- provider batch jobs ---------------------------------------------------------------
    def add_batch(self, record: BatchRecord) -> None:
        """Record a batch the provider has just accepted, with the keys it covers, in one
        commit: from here on a killed run resumes this batch instead of submitting again."""
        with self._writing():
            self.db.execute(
                """INSERT INTO batches (id, provider, base_url, label, model_hash, run_id,
                input_file_id, n_requests, status, created_at, create_sent_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    record.id,
                    record.provider,
                    hide_url_credentials(record.base_url),
                    record.label,
                    record.model_hash,
                    record.run_id,
                    record.input_file_id,
                    len(record.requests),
                    record.status,
                    _now(),
                    record.create_sent_at,
                ),
            )
            self.db.executemany(
                "INSERT INTO batch_requests VALUES (?, ?, ?)",
                [(record.id, key, example_id) for key, example_id in record.requests.items()],
            )

    def open_batches(self, model_hash: str) -> list[BatchRecord]:
        """Batches of this model identity whose results are not stored yet (being
        submitted, or running), oldest first."""
        rows = self.db.execute(
            """SELECT * FROM batches WHERE model_hash = ? AND status IN ('open', 'submitting')
            ORDER BY created_at, rowid""",
            (model_hash,),
        ).fetchall()
        out = []
        for r in rows:
            items = self.db.execute(
                "SELECT key, example_id FROM batch_requests WHERE batch_id = ?", (r["id"],)
            )
            out.append(
                BatchRecord(
                    id=r["id"],
                    provider=r["provider"],
                    base_url=r["base_url"],
                    label=r["label"],
                    model_hash=r["model_hash"],
                    run_id=r["run_id"],
                    input_file_id=r["input_file_id"],
                    requests={key: example_id for key, example_id in items},
                    status=r["status"],
                    create_sent_at=r["create_sent_at"],
                )
            )
        return out

    def mark_create_sent(self, batch_id: str, at: float) -> None:
        """Record, before a create leaves, that one is being sent for a ``submitting``
        record: from then on a batch may exist, so no one creates another blindly."""
        with self._writing():
            self.db.execute("UPDATE batches SET create_sent_at = ? WHERE id = ?", (at, batch_id))

    def set_batch_id(self, placeholder: str, batch_id: str) -> None:
        """Give a ``submitting`` record the id the provider created it under."""
        with self._writing():
            self.db.execute(
                "UPDATE batches SET id = ?, status = 'open' WHERE id = ?", (batch_id, placeholder)
            )
            self.db.execute(
                "UPDATE batch_requests SET batch_id = ? WHERE batch_id = ?",
                (batch_id, placeholder),
            )

    def close_batch(
        self, batch_id: str, status: str, run_id: int | None, label: str, rows: list[PredictionRow]
    ) -> None:
        """Store a batch's predictions and mark it done in one commit, so a kill between
        the two can neither lose the results nor leave the batch to be downloaded twice."""
        with self._writing():
            self._insert_predictions(run_id, label, rows)
            self.db.execute(
                "UPDATE batches SET status = ?, finished_at = ? WHERE id = ?",
                (status, _now(), batch_id),
            )

    def batches(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.db.execute("SELECT * FROM batches ORDER BY created_at")]

    # -- datasets ------------------------------------------------------------------------
    def save_dataset(
        self, task: str, fingerprint: str, source: str | None, examples: list[Example]
    ) -> None:
        """Store the rows of a dataset once (a fingerprint already stored is left as is).

        Ids and texts go to SQLite as they are first: a loaded dataset's are scrubbed
        already (``data/_rows.py``), and scrubbing 100,000 texts again cost a tenth of
        the save. One SQLite cannot encode (a lone surrogate) rolls the transaction back
        whole, and it is written again with every id and text scrubbed."""
        try:
            self._save_dataset(task, fingerprint, source, examples, lambda text: text)
        except UnicodeEncodeError:
            self._save_dataset(task, fingerprint, source, examples, scrub_text)

    def _save_dataset(
        self,
        task: str,
        fingerprint: str,
        source: str | None,
        examples: list[Example],
        scrubbed: Callable[[str], str],
    ) -> None:
        with self._writing(), gc_paused():
            cur = self.db.execute(
                "INSERT OR IGNORE INTO datasets VALUES (?, ?, ?, ?, ?)",
                (fingerprint, task, source, len(examples), _now()),
            )
            if cur.rowcount:
                dumps = json.dumps
                self.db.executemany(
                    "INSERT INTO examples VALUES (?, ?, ?, ?, ?)",
                    [
                        (
                            fingerprint,
                            i,
                            scrubbed(ex.id),
                            scrubbed(ex.text),
                            dumps(ex.gold) if ex.gold else None,
                        )
                        for i, ex in enumerate(examples)
                    ],
                )

    def load_dataset(self, fingerprint: str) -> list[Example]:
        rows = self._select(
            "SELECT * FROM examples WHERE fingerprint = ? ORDER BY idx", (fingerprint,)
        )
        if not rows:
            raise UserError(f"no dataset with fingerprint {fingerprint} in {self.path}")
        return [
            Example(
                r["example_id"], r["text"], json.loads(r["gold_json"]) if r["gold_json"] else None
            )
            for r in rows
        ]

    # -- registered models ---------------------------------------------------------------
    def register_model(
        self,
        label: str,
        spec: str,
        kind: str,
        options: dict[str, Any] | None = None,
        note: str = "",
    ) -> None:
        with self._writing():
            self.db.execute(
                "INSERT OR REPLACE INTO models VALUES (?, ?, ?, ?, ?, ?)",
                (scrub_text(label), spec, kind, _json(options or {}), note, _now()),
            )

    def models(self) -> list[dict[str, Any]]:
        rows = self._select("SELECT * FROM models ORDER BY created_at")
        return [{**dict(r), "options": json.loads(r["options_json"])} for r in rows]


def _row_key(row: PredictionRow) -> str:
    return row.key


def _set_wal(db: sqlite3.Connection) -> None:
    """Switch to WAL. Two processes opening a new store at once can both need the
    switch, and SQLite may answer "database is locked" at once instead of waiting, so the
    switch is retried for a few seconds (the busy timeout covers everything after it)."""
    for attempt in range(100):
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == 99:
                raise
            time.sleep(0.05)
