"""Stopping a command: SIGTERM is handled like Ctrl-C, and both say what was kept.

``kill``, ``docker stop`` and CI timeouts send SIGTERM, whose default action ends the
process at once: the run it was making stayed ``running`` in the store for good. Here
SIGTERM takes the path Ctrl-C takes (the runner cancels its requests in flight and
stores what finished, the run is marked ``interrupted``) and the command exits 143
(128 + 15) instead of 130, so a supervisor can tell the two apart.

Afterwards the command says how much of each run it was making is stored
("gpt-4o: 20 of 49 stored; rerun to resume"). The numbers come from the store itself,
counted with the same prediction keys the runner looks up, so they are what a rerun
will find, not what a progress bar last showed.
"""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from fieldwise._hashing import prediction_keys

if TYPE_CHECKING:
    from fieldwise.store import Store


@dataclass
class _Stop:
    """What stopped the command, and the stores whose runs it may have left unfinished."""

    signum: int | None = None
    stores: dict[Path, int] = field(default_factory=dict)
    """Store directory → the highest run id before this command started predicting."""


STOP = _Stop()
KEPT = "finished predictions are kept; rerun to resume"
"""What is said when no run's numbers can be given."""


@contextmanager
def sigterm_as_interrupt() -> Iterator[_Stop]:
    """While inside, SIGTERM raises ``KeyboardInterrupt`` the way Ctrl-C does.

    Inside ``asyncio.run`` the SIGINT handler is asyncio's, which cancels the main task
    (so the runner's ``finally`` stores what finished) rather than raising anywhere; the
    SIGTERM handler calls whichever SIGINT handler is installed, so both signals take
    the same path. Only the main thread can install handlers; elsewhere this does
    nothing."""
    STOP.signum = None
    STOP.stores.clear()
    if threading.current_thread() is not threading.main_thread():
        yield STOP
        return

    def on_term(signum: int, frame: FrameType | None) -> None:
        STOP.signum = signum
        handler = signal.getsignal(signal.SIGINT)
        if not callable(handler):  # SIGINT ignored (a background job): interrupt here
            raise KeyboardInterrupt
        handler(signal.SIGINT, frame)

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        yield STOP
    finally:
        signal.signal(signal.SIGTERM, previous)


def watch_store(project_dir: Path) -> None:
    """Remember a store's newest run id before predicting, so that an interrupted command
    can report on the runs it started (and only those)."""
    from fieldwise.store import Store

    with Store(project_dir) as store:
        newest = store.db.execute("SELECT max(id) FROM runs").fetchone()[0]
    STOP.stores[Path(project_dir)] = newest or 0


def kept_summary() -> str:
    """``gpt-4o: 20 of 49 stored; rerun to resume`` for every run this command started
    and left unfinished (several joined by commas), or a general line when none was."""
    parts: list[str] = []
    for project_dir, newest in STOP.stores.items():
        try:
            parts += _kept_in(project_dir, newest)
        except Exception:  # noqa: BLE001 - a summary must never hide the interruption
            continue
    if not parts:
        return KEPT
    return f"{', '.join(parts)}; rerun to resume"


def _kept_in(project_dir: Path, newest: int) -> list[str]:
    from fieldwise.store import Store

    with Store(project_dir) as store:
        runs = [r for r in store.runs() if r["id"] > newest and r["status"] != "finished"]
        out = []
        for run in runs:
            stored, total = _run_progress(store, run)
            out.append(f"{run['label']}: {stored} of {total} stored")
        return out


def _run_progress(store: Store, run: dict[str, Any]) -> tuple[int, int]:
    """(stored, planned) predictions of one run: every (repeat, example) whose key the
    store holds without an error, counted over the run's dataset. A cross-validation
    fold's model predicts only its fold, so its keys match only its fold's rows."""
    identity = json.loads(run["identity_json"])
    config = json.loads(run["config_json"] or "{}")
    repeats = int(config.get("repeats") or 1)
    examples = store.load_dataset(run["dataset_fingerprint"])
    keys = [k for r in range(repeats) for k in prediction_keys(identity, examples, r)]
    done = store.finished(keys)
    total = run["n_examples"] * repeats
    return min(total, sum(k in done for k in keys)), total
