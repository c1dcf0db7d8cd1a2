"""Measured speed in the store (table ``loadtests``, migration ``m004``).

Two sources write there: ``fieldwise loadtest`` (one row per level, ``source =
'loadtest'``) and every model run that computed predictions (``source = 'run'``: its
documents per second at the run's own concurrency, latencies from its rows). Rows carry
the model's identity hash, so a measurement is only ever used for the very model (spec
and output-changing options) it was taken on.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from fieldwise._hashing import content_hash
from fieldwise.store._store import Store

LOADTEST, RUN = "loadtest", "run"


def model_hash(identity: dict[str, Any]) -> str:
    """The key measurements are stored under: the hash of the model's identity."""
    return content_hash(identity)


def save_level(
    store: Store,
    *,
    run_id: int | None,
    label: str,
    spec: str,
    identity: dict[str, Any],
    level: dict[str, Any],
    source: str = LOADTEST,
) -> None:
    """Store one measured level (the JSON ``fieldwise loadtest`` prints for it)."""
    with store.db:
        store.db.execute(
            """INSERT INTO loadtests (run_id, label, spec, model_hash, source, mode,
            concurrency, rate, requests, throughput_docs_s, result_json, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (
                run_id,
                label,
                spec,
                model_hash(identity),
                source,
                level.get("mode", "closed"),
                level.get("concurrency"),
                level.get("rate"),
                int(level.get("requests") or 0),
                level.get("throughput_docs_s"),
                json.dumps(level, sort_keys=True),
                dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            ),
        )


@dataclass
class Measurement:
    """The best stored level of a model: where it came from and what it measured."""

    source: str
    run_id: int | None
    level: dict[str, Any]
    created_at: str

    @property
    def throughput_docs_s(self) -> float | None:
        value = self.level.get("throughput_docs_s")
        return float(value) if value is not None else None

    def describe(self) -> str:
        lv = self.level
        if self.source == RUN:
            return f"run {self.run_id} (concurrency {lv.get('concurrency')})"
        where = f"{lv['concurrency']} concurrent" if lv.get("rate") is None else f"{lv['rate']:g}/s"
        return f"load test, run {self.run_id} ({where})"


def best_measurement(store: Store, identity: dict[str, Any]) -> Measurement | None:
    """The newest load test's highest-throughput level with under 1% errors, else the
    newest run measurement, for the model with this identity (``None``: never measured)."""
    key = model_hash(identity)
    rows = store.db.execute(
        """SELECT source, run_id, result_json, created_at FROM loadtests
        WHERE model_hash = ? ORDER BY id DESC""",
        (key,),
    ).fetchall()
    tests: dict[int | None, list[Measurement]] = {}
    runs: list[Measurement] = []
    for source, run_id, raw, created in rows:
        m = Measurement(source, run_id, json.loads(raw), created)
        if source == LOADTEST:
            tests.setdefault(run_id, []).append(m)
        else:
            runs.append(m)
    for levels in tests.values():  # newest load test first (rows are newest first)
        fine = [m for m in levels if _error_rate(m.level) < 0.01 and m.throughput_docs_s]
        if fine:
            return max(fine, key=lambda m: m.throughput_docs_s or 0.0)
    return runs[0] if runs else None


def _error_rate(level: dict[str, Any]) -> float:
    n = int(level.get("requests") or 0)
    return (int(level.get("errors") or 0) / n) if n else 1.0


def record_run_speed(
    store: Store,
    *,
    run_id: int,
    label: str,
    spec: str,
    identity: dict[str, Any],
    concurrency: int,
    computed: int,
    failed: int,
    wall_s: float,
) -> None:
    """Store what a model run measured on the way: documents per second at the run's
    concurrency (only when it computed anything; a cached run measured nothing)."""
    if computed < 1 or not wall_s > 0:
        return
    level = {
        "mode": "closed",
        "concurrency": concurrency,
        "rate": None,
        "requests": computed,
        "errors": failed,
        "throughput_docs_s": round((computed - failed) / wall_s, 4),
        "wall_s": round(wall_s, 4),
    }
    save_level(store, run_id=run_id, label=label, spec=spec, identity=identity,
               level=level, source=RUN)  # fmt: skip
