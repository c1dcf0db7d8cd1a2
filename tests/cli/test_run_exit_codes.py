"""``run`` exits 3 when predictions ended in errors, as ``predict`` does (issue 15 §5):
the report is still written and its path printed, but a CI gate sees the failure."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.cli.helpers import cli
from tests.fakes.openai_server import FakeServer
from tests.fakes.openai_server import fake_openai as fake_openai  # noqa: F401 - fixture


def _config(tmp_path: Path, fake_openai: FakeServer) -> Path:
    config = {
        "task": "isaf",
        "data": {"train": "sample", "limit": 40},
        "models": [{"spec": "openai/m", "name": "api", "options": {"base_url": fake_openai.url}}],
        "bootstrap": 50,
        "output": str(tmp_path / "project"),
    }
    path = tmp_path / "fieldwise.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.mark.timeout(120)
def test_run_exits_3_with_a_report_when_rows_ended_in_errors(
    fake_openai: FakeServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_openai.behaviour.script = ["400", "400"]  # two requests refused: those rows fail
    code, out, err = cli(capsys, "run", "-c", str(_config(tmp_path, fake_openai)), "--quiet")
    assert code == 3, err
    assert Path(out.strip().splitlines()[-1]).is_file()  # REPORT=$(fieldwise run) still works
    assert "predictions ended in errors (api: 2; first: APIRequestError: HTTP 400" in err
    # The server recovers: the rerun retries only the two failures and exits 0.
    asked = len(fake_openai.log)
    code, _, err = cli(capsys, "run", "-c", str(_config(tmp_path, fake_openai)), "--quiet")
    assert code == 0, err
    assert len(fake_openai.log) == asked + 2
