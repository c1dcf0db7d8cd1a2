"""Variants and repeats where a user reads first: the summary table ``run`` prints and
``fieldwise compare`` name each sibling ``fk[output_mode=...]`` (never ``fk`` twice), and
``valid`` stays a share of rows with ``repeats``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.cli.helpers import cli
from tests.fakes.openai_server import FakeServer
from tests.fakes.openai_server import fake_openai as fake_openai  # noqa: F401 - fixture

PROMPT, SCHEMA = "fk[output_mode=prompt]", "fk[output_mode=json_schema]"


def test_run_and_compare_tell_variants_apart_and_valid_counts_rows(
    fake_openai: FakeServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    config = {
        "data": {"train": "sample", "limit": 30},
        "models": [
            {
                "spec": "openai/fake-model",
                "name": "fk",
                "options": {"base_url": fake_openai.url, "temperature": 1.0},
                "variants": {"output_mode": ["prompt", "json_schema"]},
                "repeats": 3,
            }
        ],
        "bootstrap": 50,
        "output": str(tmp_path / "project"),
    }
    path = tmp_path / "fieldwise.yaml"
    path.write_text(yaml.safe_dump(config))
    code, _, err = cli(capsys, "run", "-c", str(path), "--quiet")
    assert code == 0, err
    assert PROMPT in err and SCHEMA in err, err
    for line in err.splitlines():
        if line.lstrip("│ ").startswith("fk"):
            shares = [int(x) for x in re.findall(r"(\d+)%", line)]
            assert shares and max(shares) <= 100, line  # valid, answered: shares of rows

    project = str(tmp_path / "project")
    code, out, err = cli(capsys, "compare", "--project", project)
    assert code == 0, err
    assert f"{SCHEMA} − {PROMPT}" in out or f"{PROMPT} − {SCHEMA}" in out, out
    code, out, err = cli(capsys, "compare", PROMPT, SCHEMA, "--project", project)
    assert code == 0, err
    assert f"{SCHEMA} − {PROMPT}" in out and f"{SCHEMA} vs {PROMPT}" in out, out
