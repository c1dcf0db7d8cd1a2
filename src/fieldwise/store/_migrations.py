"""Numbered schema migrations; each runs once and is recorded in ``_migrations``."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable


def m001_initial(db: sqlite3.Connection) -> None:
    db.executescript(
        """
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            created_at TEXT NOT NULL,
            finished_at TEXT,
            status TEXT NOT NULL,
            label TEXT NOT NULL,
            spec TEXT NOT NULL,
            kind TEXT NOT NULL,
            task TEXT NOT NULL,
            identity_json TEXT NOT NULL,
            decoding_json TEXT NOT NULL,
            template_hash TEXT,
            dataset_fingerprint TEXT NOT NULL,
            dataset_source TEXT,
            n_examples INTEGER NOT NULL,
            package_version TEXT NOT NULL,
            git_sha TEXT,
            config_json TEXT
        );
        CREATE TABLE predictions (
            key TEXT PRIMARY KEY,
            run_id INTEGER REFERENCES runs(id),
            label TEXT NOT NULL,
            example_id TEXT NOT NULL,
            output TEXT,
            error TEXT,
            latency_s REAL,
            input_tokens INTEGER,
            output_tokens INTEGER,
            cost_usd REAL,
            finish_reason TEXT,
            created_at TEXT NOT NULL
        );
        CREATE INDEX predictions_label ON predictions(label);
        CREATE TABLE datasets (
            fingerprint TEXT PRIMARY KEY,
            task TEXT NOT NULL,
            source TEXT,
            n_rows INTEGER NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE TABLE examples (
            fingerprint TEXT NOT NULL REFERENCES datasets(fingerprint),
            idx INTEGER NOT NULL,
            example_id TEXT NOT NULL,
            text TEXT NOT NULL,
            gold_json TEXT,
            PRIMARY KEY (fingerprint, idx)
        );
        CREATE TABLE models (
            label TEXT PRIMARY KEY,
            spec TEXT NOT NULL,
            kind TEXT NOT NULL,
            options_json TEXT NOT NULL,
            note TEXT,
            created_at TEXT NOT NULL
        );
        """
    )


def m002_batches(db: sqlite3.Connection) -> None:
    """Provider batch jobs (OpenAI Batch API, Anthropic Message Batches): a batch is
    recorded the moment the provider accepts it, with the prediction keys it covers, so a
    killed run polls the same batch again instead of paying for a second one."""
    db.executescript(
        """
        CREATE TABLE batches (
            id TEXT PRIMARY KEY,
            provider TEXT NOT NULL,
            base_url TEXT NOT NULL,
            label TEXT NOT NULL,
            model_hash TEXT NOT NULL,
            run_id INTEGER REFERENCES runs(id),
            input_file_id TEXT,
            n_requests INTEGER NOT NULL,
            status TEXT NOT NULL,
            created_at TEXT NOT NULL,
            finished_at TEXT
        );
        CREATE INDEX batches_open ON batches(model_hash, status);
        CREATE TABLE batch_requests (
            batch_id TEXT NOT NULL REFERENCES batches(id),
            key TEXT NOT NULL,
            example_id TEXT NOT NULL,
            PRIMARY KEY (batch_id, key)
        );
        """
    )


def m003_batch_create_sent(db: sqlite3.Connection) -> None:
    """When a batch create was last sent (epoch seconds), so a run that finds a create
    unanswered (a timeout, a kill) knows how long to keep looking for the batch it may
    have made before creating another. Records left ``submitting`` by older versions get
    their upload time: their create may have been sent right after it."""
    db.executescript(
        """
        ALTER TABLE batches ADD COLUMN create_sent_at REAL;
        UPDATE batches SET create_sent_at = CAST(strftime('%s', created_at) AS REAL)
            WHERE status = 'submitting';
        """
    )


def m004_prediction_signals(db: sqlite3.Connection) -> None:
    """Confidence signals per prediction (token log-probabilities, a model's own
    probability per value; ``models/_signals.py``), in a table of their own: the runner's
    resume path reads predictions by the hundred thousand and never needs them, only
    ``fieldwise trust``, the report and ``review`` do. Keyed like the prediction they
    belong to, so they survive resume and import with it."""
    db.executescript(
        """
        CREATE TABLE prediction_signals (
            key TEXT PRIMARY KEY,
            signals_json TEXT NOT NULL
        );
        """
    )


MIGRATIONS: list[tuple[str, Callable[[sqlite3.Connection], None]]] = [
    ("m001_initial", m001_initial),
    ("m002_batches", m002_batches),
    ("m003_batch_create_sent", m003_batch_create_sent),
    ("m004_prediction_signals", m004_prediction_signals),
]


def migrate(db: sqlite3.Connection) -> None:
    db.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT)")
    done = {row[0] for row in db.execute("SELECT name FROM _migrations")}
    for name, fn in MIGRATIONS:
        if name in done:
            continue
        with db:
            fn(db)
            db.execute(
                "INSERT INTO _migrations VALUES (?, datetime('now'))",
                (name,),
            )
