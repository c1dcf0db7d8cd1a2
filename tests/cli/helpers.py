"""Run the CLI in-process as a user would, capturing its exit code and output."""

from __future__ import annotations

import pytest

from fieldwise.cli import main


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``fieldwise ARGS...``: (exit code, stdout, stderr)."""
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err
