"""What a data file holds, whatever its name says.

Files are read by their suffix, so JSONL saved as ``.csv`` fails as "34 cells but the
header has 20 columns" and a CSV named ``.parquet`` as Arrow's "magic bytes not found".
These helpers look at the first bytes so the error can say what the file seems to be.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fieldwise.errors import UserError

_SUFFIX_OF = {"jsonl": ".jsonl", "json": ".json", "csv": ".csv", "parquet": ".parquet"}


def sniff(path: Path) -> str | None:
    """``jsonl``, ``json``, ``parquet`` or ``csv`` from a file's first bytes (``None``
    when unsure). Only the first 64 KiB are read."""
    try:
        with path.open("rb") as fh:
            head = fh.read(65536)
    except OSError:
        return None
    if head.startswith(b"PAR1"):
        return "parquet"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"["):
        return "json"
    if text.startswith(b"{"):
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        # One object per line is JSONL; an object spread over lines is (invalid) JSON.
        starts = sum(ln.startswith(b"{") for ln in lines[:20])
        return "jsonl" if starts >= min(2, len(lines)) else "json"
    first = text.split(b"\n", 1)[0]
    if b"," in first and b"\x00" not in head:
        return "csv"
    return None


def format_hint(path: Path) -> str | None:
    """``this looks like JSONL: rename it to .jsonl`` when the content does not match
    the suffix, else ``None``."""
    found = sniff(path)
    if found is None or _SUFFIX_OF[found] == path.suffix.lower():
        return None
    if found == "jsonl" and path.suffix.lower() == ".ndjson":
        return None
    rename = f"{path.stem}{_SUFFIX_OF[found]}"
    return f"{path.name} looks like {found.upper()}, not {path.suffix}: rename it to {rename}"


def with_format_hint(exc: UserError, path: Path) -> UserError:
    """``exc`` with the format hint added when the file's content betrays another
    format (the original error otherwise)."""
    hint = format_hint(path)
    if hint is None:
        return exc
    return UserError(f"{exc.args[0] if exc.args else exc}", hint=hint)


def read_parquet_rows(path: Path) -> list[dict[str, Any]]:
    """Every row of a Parquet file as a dict, read in bounded memory (``_parquet.py``:
    a Parquet bomb is one line); a file that is not Parquet is a one-line error naming
    it (and what it looks like instead)."""
    from fieldwise.data._parquet import parquet_rows

    return list(parquet_rows(path))
