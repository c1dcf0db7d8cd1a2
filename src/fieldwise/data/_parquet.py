"""Reading a Parquet file someone else wrote, in bounded memory.

A Parquet file can be a bomb: a few kB on disk (one value repeated, run-length or
dictionary encoded, or a long compressible string) that decodes to gigabytes. Every
Parquet file fieldwise reads (datasets, imported predictions) goes through
:func:`parquet_rows`, which checks the footer before decoding anything (rows, declared
decompressed size) and then decodes in batches, stopping as soon as the decoded size
passes the limit, with one line naming the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fieldwise.data._sniff import with_format_hint
from fieldwise.errors import UserError

MAX_ROWS = 2_000_000
"""Most rows in one Parquet file."""
MAX_DECODED_BYTES = 1 << 30
"""Most bytes one Parquet file may decode to (Arrow buffers; 1 GiB)."""
_BATCH_ROWS = 8192


def parquet_rows(path: Path) -> Iterator[dict[str, Any]]:
    """The file's rows as dicts, or a one-line :class:`UserError` for a file that is not
    Parquet or would decode past :data:`MAX_ROWS` / :data:`MAX_DECODED_BYTES`."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        reader = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        text = _first_line(exc)
        reason = "no Parquet magic bytes" if "magic bytes" in text else text[:200]
        error = UserError(f"{path}: not a readable Parquet file ({reason})")
        raise with_format_hint(error, path) from None
    meta = reader.metadata
    if meta.num_rows > MAX_ROWS:
        raise _too_big(path, f"{meta.num_rows:,} rows; the limit is {MAX_ROWS:,}")
    declared = sum(
        meta.row_group(g).column(c).total_uncompressed_size
        for g in range(meta.num_row_groups)
        for c in range(meta.num_columns)
    )
    if declared > MAX_DECODED_BYTES:
        raise _too_big(path, f"{declared:,} bytes uncompressed")
    decoded = 0
    try:
        for batch in reader.iter_batches(batch_size=_BATCH_ROWS):
            decoded += _decoded_bytes(batch)
            if decoded > MAX_DECODED_BYTES:
                raise _too_big(path, f"over {MAX_DECODED_BYTES:,} bytes once decoded")
            yield from batch.to_pylist()
    except (pa.ArrowException, OSError) as exc:
        raise UserError(f"{path}: corrupt Parquet file ({_first_line(exc)})") from None


def _decoded_bytes(batch: Any) -> int:
    """A batch's size with dictionary columns expanded: one 1 kB dictionary value used
    by every row is 1 kB in Arrow but a 1 kB string per row once read."""
    import pyarrow as pa

    total = 0
    for column in batch.columns:
        if pa.types.is_dictionary(column.type):
            column = column.dictionary_decode()
        total += column.nbytes
    return int(total)


def _too_big(path: Path, what: str) -> UserError:
    return UserError(
        f"{path}: Parquet file too large to load ({what})",
        hint="split it, or convert it to JSONL",
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
