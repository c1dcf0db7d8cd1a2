"""A report folder appears whole or not at all.

A full disk (or a ``kill``) halfway through writing left a report folder with some of its
files, and an ``OSError`` that named no path (issue 15). The files are now written into a
hidden sibling folder (``.NAME.partial-XXXX``) and moved into place only once all of them
exist: a rename, which needs no space. On any failure, interruption included, the partial
folder is removed and the error is one line naming the report's path and the file.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from fieldwise.errors import UserError

PARTIAL = ".partial-"
"""In the name of a folder still being written (left behind only by ``kill -9``)."""


@contextlib.contextmanager
def staged_folder(final: Path) -> Iterator[Path]:
    """Yield an empty folder to write into; on success its files become ``final``'s."""
    final = Path(final)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{final.name}{PARTIAL}", dir=final.parent))
    except OSError as exc:
        raise _error(final, exc) from None
    try:
        yield staging
        _move_into(staging, final)
    except OSError as exc:
        raise _error(final, exc, staging) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _move_into(staging: Path, final: Path) -> None:
    """Rename ``staging`` to ``final``, or, when ``final`` already exists (a report written
    again into the same folder), replace its files one by one, ``report.html`` last so
    the page never links to a file that is not there yet."""
    if not final.exists():
        os.rename(staging, final)
        return
    entries = sorted(staging.rglob("*"), key=lambda p: (p.name == "report.html", len(p.parts)))
    for source in entries:
        target = final / source.relative_to(staging)
        if source.is_dir():
            target.mkdir(exist_ok=True)
        else:
            os.replace(source, target)


def _error(final: Path, exc: OSError, staging: Path | None = None) -> UserError:
    """One line naming the report and the file; a failed ``write`` does not say which
    file it was, so that is the newest one in the staging folder."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    name = Path(exc.filename).name if exc.filename else None
    if name is None and staging is not None:
        with contextlib.suppress(OSError, ValueError):
            files = [p for p in staging.rglob("*") if p.is_file()]
            name = max(files, key=lambda p: p.stat().st_mtime_ns).name
    return UserError(
        f"cannot write the report to {final}: {reason}" + (f" ({name})" if name else "")
    )
