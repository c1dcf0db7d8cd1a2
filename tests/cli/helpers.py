"""Run the CLI in-process as a user would, capturing its exit code and output."""

from __future__ import annotations

from pathlib import Path

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


def predict_openai(
    capsys: pytest.CaptureFixture[str],
    work: Path,
    base_url: str,
    *extra: str,
    rows: int = 3,
) -> tuple[int, str, str]:
    """``fieldwise predict --model openai/m`` on ``rows`` marked docs written into
    ``work`` (``docs.jsonl``; out to ``out.jsonl``, store in ``project``) against
    ``base_url``; ``extra`` arguments go before ``--quiet``."""
    import json

    from tests.runner.helpers import docs

    data = work / "docs.jsonl"
    data.write_text("".join(json.dumps({"id": e.id, "text": e.text}) + "\n" for e in docs(rows)))
    return cli(
        capsys,
        "predict",
        "--model",
        "openai/m",
        "--data",
        str(data),
        "--out",
        str(work / "out.jsonl"),
        "--project",
        str(work / "project"),
        "--option",
        f"base_url={base_url}",
        *extra,
        "--quiet",
    )
