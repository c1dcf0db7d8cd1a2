"""A report folder appears whole or not at all (issue 15 §4): a full disk, a write error
or a SIGTERM while the report is written never leaves a half-written report folder, and
the error is one line naming the report's path and the file."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from fieldwise.errors import UserError
from fieldwise.report import write_report
from tests.report.helpers import EXAMPLES, FIELDS, TASK, perfect_outputs, result

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
"""Subprocesses run this checkout's code (pytest's ``pythonpath`` reaches only itself)."""


def _results() -> list[object]:
    ones = np.ones((len(EXAMPLES), len(FIELDS)))
    return [
        result("a", "api", perfect_outputs(), ones),
        result("b", "api", perfect_outputs(), ones),
    ]


def test_a_write_error_names_the_path_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ENOSPC injected where the Parquet file is written, after other files exist."""
    import pyarrow.parquet as pq

    def full_disk(table: object, where: object, **kw: object) -> None:
        Path(str(where)).write_bytes(b"PAR1 half a file")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(where))

    monkeypatch.setattr(pq, "write_table", full_disk)
    final = tmp_path / "reports" / "20240101-000000"
    with pytest.raises(UserError) as info:
        write_report(TASK, EXAMPLES, _results(), final)  # type: ignore[arg-type]
    message = str(info.value)
    assert message == (
        f"cannot write the report to {final}: No space left on device (examples.parquet)"
    )
    assert list((tmp_path / "reports").iterdir()) == []


def test_rewriting_an_existing_report_folder_replaces_its_files(tmp_path: Path) -> None:
    final = tmp_path / "report"
    first = write_report(TASK, EXAMPLES, _results(), final)  # type: ignore[arg-type]
    (final / "mine.txt").write_text("a file the user put there stays")
    again = write_report(TASK, EXAMPLES, _results()[:1], final, title="again")  # type: ignore[arg-type]
    assert first == again and "again" in again.read_text(encoding="utf-8")
    assert (final / "mine.txt").is_file() and (final / "charts").is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]


WRITE_UNDER_LIMIT = """
import resource, signal, sys
from pathlib import Path
from fieldwise.errors import UserError
from fieldwise.report import write_report
from tests.report.test_report_writes import EXAMPLES, TASK, _results

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG
results = _results()
resource.setrlimit(resource.RLIMIT_FSIZE, (16_000, 16_000))
try:
    write_report(TASK, EXAMPLES, results, Path(sys.argv[1]))
except UserError as exc:
    print(exc, file=sys.stderr)
    sys.exit(2)
"""


def test_a_real_file_size_limit_mid_report(tmp_path: Path) -> None:
    """The kernel refuses a write halfway (RLIMIT_FSIZE: what a full disk does to one
    file), in a process of its own."""
    final = tmp_path / "reports" / "r1"
    proc = subprocess.run(
        [sys.executable, "-c", WRITE_UNDER_LIMIT, str(final)],
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr[-4000:]
    assert proc.stderr.startswith(f"cannot write the report to {final}: File too large (")
    assert len(proc.stderr.strip().splitlines()) == 1
    assert list((tmp_path / "reports").iterdir()) == []


def _imports_project(tmp_path: Path, rows: int) -> Path:
    """A project that scores imported predictions only: no training, no requests."""
    from fieldwise.data import load_examples
    from fieldwise.tasks import load_task

    sample = load_examples(load_task("isaf"), "sample").examples[:rows]
    data = tmp_path / "test.jsonl"
    data.write_text(
        "".join(json.dumps({"id": e.id, "text": e.text, **e.gold}) + "\n" for e in sample)
    )
    preds = tmp_path / "preds.jsonl"
    preds.write_text(
        "".join(json.dumps({"id": e.id, "output": json.dumps(e.gold)}) + "\n" for e in sample)
    )
    config = tmp_path / "fieldwise.yaml"
    config.write_text(
        f"data: {{train: {data}, test: {data}}}\nmodels: []\n"
        f"imports:\n  - {{path: {preds}, name: mine}}\n"
        f"bootstrap: 20\noutput: {tmp_path / 'project'}\n"
    )
    return config


@pytest.mark.slow
def test_sigterm_while_the_report_is_written_leaves_no_half_report(tmp_path: Path) -> None:
    config = _imports_project(tmp_path, 200)
    reports = tmp_path / "project" / "reports"
    proc = subprocess.Popen(
        [sys.executable, "-m", "fieldwise.cli", "run", "-c", str(config), "--quiet"],
        cwd=tmp_path,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 240
    partial = None
    while partial is None and proc.poll() is None and time.monotonic() < deadline:
        partial = (
            next((p for p in reports.glob(".*.partial-*")), None) if reports.is_dir() else None
        )
        time.sleep(0.002)
    assert partial is not None, "the run ended before its report was being written"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0
    visible = [p for p in reports.iterdir() if p.is_dir() and not p.name.startswith(".")]
    assert visible == [], f"a report folder was left: {visible} ({err})"
    assert not (reports / "latest.json").exists()
