"""Past MAX_SHOWN rows the page keeps the rows where models disagree; the export keeps all."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from fieldwise.report import _rows, write_report
from fieldwise.report._values import Parsed
from tests.report.helpers import EXAMPLES, TASK, read_cells
from tests.report.test_report import EVIL, three_models


def test_select_rows_ranks_by_disagreement() -> None:
    ok = Parsed(["ok"] * 4, [{}] * 4)
    a = np.array([[1.0, 1.0], [1.0, 0.0], [0.0, 0.0], [1.0, 1.0]])
    b = np.array([[1.0, 1.0], [1.0, 1.0], [1.0, 1.0], [1.0, 1.0]])
    assert _rows.select_rows([ok, ok], [a, b], cap=10).indices == [0, 1, 2, 3]  # all fit
    sel = _rows.select_rows([ok, ok], [a, b], cap=1)
    assert (sel.indices, sel.total, sel.disagreeing, sel.limited) == ([2], 4, 2, True)
    bad = Parsed(["ok", "ok", "ok", "invalid_json"], [{}, {}, {}, None])
    assert _rows.select_rows([ok, bad], [b, b], cap=1).indices == [3]
    # One model: the rows it gets least right.
    assert _rows.select_rows([ok], [a], cap=2).indices == [1, 2]


def test_a_limited_page_says_so_and_the_export_has_every_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_rows, "MAX_SHOWN", 3)
    path = write_report(TASK, EXAMPLES, three_models(), tmp_path)
    html = path.read_text(encoding="utf-8")
    bodies = read_cells(html).bodies
    assert len(bodies) == 3 < len(EXAMPLES)
    assert f"Showing 3 of {len(EXAMPLES)} rows" in html
    assert 'href="examples.jsonl"' in html and 'href="examples.parquet"' in html
    assert "<script>alert(1)" not in html

    lines = (tmp_path / "examples.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    # Written from pre-encoded parts, each line is exactly what json.dumps would write.
    assert lines == [json.dumps(r, ensure_ascii=False) for r in records]
    assert [r["id"] for r in records] == [str(ex.id) for ex in EXAMPLES]
    low = records[7]["models"]["base-low"]
    assert low["output"] and EVIL in low["output"] and "colour" in low["not_right"]
    assert records[6]["models"]["base-low"]["status"] == "invalid_json"
    assert records[6]["models"]["base-low"]["error"] == "runner: <b>timeout</b>"
    assert records[0]["models"]["ft-best"]["not_right"] == []

    table = pq.read_table(tmp_path / "examples.parquet")
    assert table.num_rows == len(EXAMPLES)
    assert table.column("base-low/colour").to_pylist()[7] == 0.0
    assert table.column("api-mid/flag").to_pylist()[5] is None  # not scored


def test_the_report_frees_its_working_data_without_a_garbage_collection(tmp_path: Path) -> None:
    """Importing matplotlib inside write_report once kept every frame below it (and so
    every parsed output) alive in a reference cycle until the next full collection,
    which cost ~3 s at 100,000 rows. Run in a fresh process: matplotlib not yet imported."""
    import subprocess
    import sys

    script = f"""
import gc
from pathlib import Path
from fieldwise.report import write_report
from fieldwise.report._values import Parsed
from tests.report.helpers import EXAMPLES, TASK
from tests.report.test_report import three_models
gc.collect()
gc.disable()
write_report(TASK, EXAMPLES, three_models(), Path({str(tmp_path)!r}))
gc.set_debug(gc.DEBUG_SAVEALL)
gc.collect()
print(sum(isinstance(o, Parsed) for o in gc.garbage))
"""
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=root, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "0", done.stderr
