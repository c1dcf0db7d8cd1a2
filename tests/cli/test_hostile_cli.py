"""The CLI against a hostile server: exit codes, and no byte of the API key in what it
prints (tracebacks included), writes (``--out``, ``store export``) or stores."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.helpers import cli, predict_cli
from tests.fakes.hostile_server import SECRET_KEY, hostile
from tests.fakes.openai_server import FakeServer, echo_reply
from tests.runner.helpers import docs


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeServer]:
    fake = FakeServer().start()
    monkeypatch.setenv("OPENAI_BASE_URL", fake.url)
    monkeypatch.setenv("OPENAI_API_KEY", SECRET_KEY)
    try:
        yield fake
    finally:
        fake.stop()


def _predict(capsys: pytest.CaptureFixture[str], tmp_path: Path, *extra: str) -> tuple[int, str]:
    code, _, err = predict_cli(
        capsys, tmp_path, options=("timeout_s=30",), before=extra, rows=4, out="preds.jsonl"
    )
    return code, err


def _no_secret(*texts: str) -> None:
    for text in texts:
        assert SECRET_KEY not in text
        assert SECRET_KEY[12:] not in text


@pytest.mark.timeout(60)
def test_row_errors_exit_3_after_storing_what_succeeded(
    server: FakeServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    echo = hostile("key_echo_400")
    ok = docs(4)[0].text

    def mixed(body: dict, auth: str | None):  # type: ignore[no-untyped-def]
        if ok[:9] in json.dumps(body):
            from tests.fakes.hostile_server import completion, completion_bytes

            return completion_bytes(completion({"content": echo_reply(ok)}))
        return echo(body, auth)

    server.behaviour.raw = mixed
    code, err = _predict(capsys, tmp_path)
    assert code == 3, err
    assert "3 of 4 rows ended in errors" in err
    rows = [json.loads(x) for x in (tmp_path / "preds.jsonl").read_text().splitlines()]
    assert rows[0]["output"] == echo_reply(ok) and "error" not in rows[0]
    assert all("HTTP 400" in r["error"] and "[REDACTED]" in r["error"] for r in rows[1:])
    code, _, export_err = cli(
        capsys,
        "store",
        "export",
        "--out",
        str(tmp_path / "x.jsonl"),
        "--project",
        str(tmp_path / "project"),
    )
    assert code == 0, export_err
    _no_secret(err, (tmp_path / "preds.jsonl").read_text(), (tmp_path / "x.jsonl").read_text())
    _no_secret((tmp_path / "project" / "fieldwise.sqlite").read_bytes().decode("latin-1"))
    server.behaviour.raw = None  # the server recovers: a rerun retries only the failures
    code, err = _predict(capsys, tmp_path)
    assert code == 0, err
    assert len([r for r in server.log if r.fault != "raw"]) == 3


@pytest.mark.timeout(60)
@pytest.mark.parametrize("mode", ["key_echo_404", "key_echo_401", "key_echo_403"])
@pytest.mark.parametrize("debug", [False, True])
def test_fatal_errors_never_print_the_key(
    mode: str,
    debug: bool,
    server: FakeServer,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    server.behaviour.raw = hostile(mode)
    code, err = _predict(capsys, tmp_path, *(["--debug"] if debug else []))
    assert code == 2, err
    assert ("Traceback" in err) is debug
    assert "does not serve" in err if mode.endswith("404") else "rejected the API key" in err
    _no_secret(err)
