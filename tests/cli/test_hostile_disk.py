"""A full disk while predictions are stored (issue 15 §4, hostile suite): one line naming
the store, exit 2, a store SQLite still calls intact, and a rerun that computes only what
was not stored. The disk fills for real: ``RLIMIT_FSIZE`` makes the kernel refuse writes
past a size (EFBIG, which SQLite reports as it does ENOSPC) in a process of its own."""

from __future__ import annotations

import json
import os
import resource
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakes.openai_server import FakeServer
from tests.runner.helpers import docs

ROOT = Path(__file__).resolve().parents[2]
ROWS = 300


def _limit(size: int) -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_full_disk_while_storing_is_one_line_and_loses_nothing_stored(tmp_path: Path) -> None:
    fake = FakeServer().start()
    fake.behaviour.reply = lambda text: json.dumps({"echo": text[:40], "pad": "x" * 2000})
    # At most ~200 rows a second, so each group commit (0.1 s) holds a few rows and some
    # are stored before the limit is hit, however loaded the machine (at full speed all
    # 300 rows could land in the first commit, which then fails with nothing stored).
    fake.behaviour.latency_s = 0.02
    data = tmp_path / "docs.jsonl"
    data.write_text("".join(json.dumps({"id": e.id, "text": e.text}) + "\n" for e in docs(ROWS)))
    project = tmp_path / "project"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
        "OPENAI_API_KEY": "unused",
    }
    cmd = [sys.executable, "-m", "fieldwise.cli", "predict", "--model", "openai/m"]
    cmd += ["--data", str(data), "--out", str(tmp_path / "out.jsonl"), "--project", str(project)]
    cmd += ["--option", f"base_url={fake.url}", "--concurrency", "4", "--quiet"]
    try:
        full = subprocess.run(
            cmd,
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
            preexec_fn=lambda: _limit(1_200_000),  # an empty store: ~0.75 MB; it outgrows this
        )
        asked = len(fake.log)
        assert full.returncode == 2, full.stderr
        store = project / "fieldwise.sqlite"
        assert full.stderr.startswith(f"error: cannot write to the store {store}: ")
        assert "Traceback" not in full.stderr and "(is the disk full?)" in full.stderr
        with sqlite3.connect(store) as db:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            (kept,) = db.execute("SELECT count(*) FROM predictions WHERE error IS NULL").fetchone()
        assert 0 < kept < ROWS and asked < ROWS
        again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
        assert again.returncode == 0, again.stderr
        assert len(fake.log) - asked == ROWS - kept  # nothing stored is asked again
    finally:
        fake.stop()
