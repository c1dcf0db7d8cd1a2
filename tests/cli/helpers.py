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


def predict_cli(
    capsys: pytest.CaptureFixture[str],
    work: Path,
    *extra: str,
    options: tuple[str, ...] = (),
    before: tuple[str, ...] = (),
    rows: int = 3,
    out: str = "out.jsonl",
) -> tuple[int, str, str]:
    """``fieldwise [BEFORE] predict --model openai/m`` on ``rows`` marked docs in
    ``work/docs.jsonl`` (written once; a file already there is used as it is), out to
    ``work/OUT``, store in ``work/project``, each of ``options`` as an ``--option``;
    ``extra`` arguments go before ``--quiet``."""
    import json

    from tests.runner.helpers import docs

    data = work / "docs.jsonl"
    if not data.exists():
        lines = [json.dumps({"id": e.id, "text": e.text}) + "\n" for e in docs(rows)]
        data.write_text("".join(lines))
    flags = [arg for option in options for arg in ("--option", option)]
    return cli(
        capsys,
        *before,
        "predict",
        "--model",
        "openai/m",
        "--data",
        str(data),
        "--out",
        str(work / out),
        "--project",
        str(work / "project"),
        *flags,
        *extra,
        "--quiet",
    )


def predict_openai(
    capsys: pytest.CaptureFixture[str], work: Path, base_url: str, *extra: str, rows: int = 3
) -> tuple[int, str, str]:
    """:func:`predict_cli` against the OpenAI-compatible server at ``base_url``."""
    return predict_cli(capsys, work, *extra, options=(f"base_url={base_url}",), rows=rows)
