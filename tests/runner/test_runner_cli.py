"""``fieldwise predict`` against the fake server, in a subprocess, as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakes.openai_server import FakeServer, echo_reply
from tests.runner.helpers import docs

ROOT = Path(__file__).resolve().parents[2]


def _predict(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    data = tmp_path / "docs.jsonl"
    if not data.exists():
        data.write_text("".join(json.dumps({"id": e.id, "text": e.text}) + "\n" for e in docs(6)))
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ANTHROPIC_"))}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "fieldwise.cli",
            "predict",
            "--model",
            "openai/any-name",
            "--task",
            "isaf",
            "--data",
            str(data),
            "--out",
            str(tmp_path / "preds.jsonl"),
            "--project",
            str(tmp_path / "project"),
            "--quiet",
        ],
        cwd=tmp_path,
        env={**clean, "PYTHONPATH": str(ROOT / "src"), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
def test_cli_predict_against_a_local_server(fake_openai: FakeServer, tmp_path: Path) -> None:
    env = {"OPENAI_BASE_URL": fake_openai.url, "OPENAI_API_KEY": "x"}
    result = _predict(tmp_path, env)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in (tmp_path / "preds.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == [e.id for e in docs(6)]
    assert [r["output"] for r in rows] == [echo_reply(e.text) for e in docs(6)]
    assert len(fake_openai.log) == 6 and {r.auth for r in fake_openai.log} == {"Bearer x"}
    assert {r.body["model"] for r in fake_openai.log if r.body} == {"any-name"}
    again = _predict(tmp_path, env)
    assert again.returncode == 0, again.stderr
    assert len(fake_openai.log) == 6, "the second run is served from the store"


@pytest.mark.slow
def test_cli_without_a_key_prints_one_line(tmp_path: Path) -> None:
    result = _predict(tmp_path, {"OPENAI_BASE_URL": "https://api.example.com/v1"})
    assert result.returncode == 2
    assert "set OPENAI_API_KEY" in result.stderr and "Traceback" not in result.stderr
