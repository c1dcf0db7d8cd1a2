"""Parquet bombs (issue 15 §4, hostile suite): small files that decode to gigabytes are a
one-line error naming the file (exit 2), found before or while decoding, never an
out-of-memory kill; ordinary Parquet files load as before."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fieldwise.data import _parquet, load_examples
from fieldwise.tasks import load_task
from tests.cli.helpers import cli

ISAF = load_task("isaf")


def _one_value(n: int, value: str) -> pa.DictionaryArray:
    """``n`` rows of one dictionary value: a few bytes per million rows on disk."""
    return pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, dtype=np.int8)), pa.array([value]))


def _expect_one_line(capsys: pytest.CaptureFixture[str], path: Path, words: str) -> None:
    code, _, err = cli(capsys, "data", "info", "--data", str(path))
    assert code == 2, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert str(path) in err and words in err


@pytest.mark.slow
def test_fifty_million_rows_in_half_a_megabyte(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "rows.parquet"
    n = 50_000_000
    table = pa.table({"id": _one_value(n, "x"), "text": _one_value(n, "t" * 100)})
    pq.write_table(table, path, compression="zstd", row_group_size=n)
    assert path.stat().st_size < 2_000_000
    _expect_one_line(capsys, path, "50,000,000 rows; the limit is 2,000,000")


@pytest.mark.slow
def test_a_dictionary_that_expands_past_the_limit_stops_while_decoding(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """200,000 rows sharing one 1 kB text: 200 MB once read, 20 kB in Arrow's own
    dictionary form (and as declared in the footer). The limit is lowered to 64 MB so the
    test decodes little; the accounting is the one used at 1 GiB."""
    monkeypatch.setattr(_parquet, "MAX_DECODED_BYTES", 64 << 20)
    path = tmp_path / "dict.parquet"
    n = 200_000
    ids = pa.array([f"r{i}" for i in range(n)])
    pq.write_table(pa.table({"id": ids, "text": _one_value(n, "b" * 1000)}), path)
    assert path.stat().st_size < 2_000_000
    _expect_one_line(capsys, path, "over 67,108,864 bytes once decoded")


def test_not_parquet_and_truncated_parquet_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = tmp_path / "fake.parquet"
    fake.write_bytes(b"PAR1 this is not a parquet file at all")
    _expect_one_line(capsys, fake, "not a readable Parquet file")
    good = tmp_path / "good.parquet"
    pq.write_table(pa.table({"id": ["a"], "text": ["hello"]}), good)
    cut = tmp_path / "cut.parquet"
    cut.write_bytes(good.read_bytes()[:-20])
    _expect_one_line(capsys, cut, "Parquet file")


def test_ordinary_parquet_still_loads(tmp_path: Path) -> None:
    sample = load_examples(ISAF, "sample").examples[:50]
    rows = [{"id": e.id, "text": e.text, **(e.gold or {})} for e in sample]
    path = tmp_path / "ok.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    loaded = load_examples(ISAF, str(path))
    assert [(e.id, e.gold) for e in loaded.examples] == [(e.id, e.gold) for e in sample]
