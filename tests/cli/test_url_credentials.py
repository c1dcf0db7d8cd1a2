"""Credentials in a URL (``base_url=http://user:SECRET@host/v1``) are redacted wherever keys
are (store options, identities, run configs, printed errors) and never change a
prediction's cache key (issue 15 §4)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from fieldwise._text import hide_url_credentials, url_without_credentials
from fieldwise.models._errors import redact
from tests.cli.helpers import predict_openai
from tests.fakes.hostile_server import hostile
from tests.fakes.openai_server import FakeServer
from tests.fakes.openai_server import fake_openai as fake_openai  # noqa: F401 - fixture

PASSWORD = "hunter2-SECRET-pass"


def _predict(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, base_url: str
) -> tuple[int, str, str]:
    return predict_openai(capsys, tmp_path, base_url)


def _with_credentials(url: str) -> str:
    return url.replace("http://", f"http://alice:{PASSWORD}@")


@pytest.mark.timeout(60)
def test_url_credentials_are_never_stored_and_never_key_a_prediction(
    fake_openai: FakeServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = _predict(capsys, tmp_path, _with_credentials(fake_openai.url))
    assert code == 0, err
    assert len(fake_openai.log) == 3
    store = tmp_path / "project" / "fieldwise.sqlite"
    for path in store.parent.rglob("*"):
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes(), path
    assert PASSWORD not in out + err
    with sqlite3.connect(store) as db:
        identity, config = db.execute("SELECT identity_json, config_json FROM runs").fetchone()
    assert json.loads(identity)["options"]["base_url"] == fake_openai.url
    assert "[REDACTED]@127.0.0.1" in config
    # The same host without the credentials is the same model: nothing is asked again.
    code, _, err = _predict(capsys, tmp_path, fake_openai.url)
    assert code == 0, err
    assert len(fake_openai.log) == 3


@pytest.mark.timeout(60)
def test_an_error_naming_the_url_hides_its_credentials(
    fake_openai: FakeServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    fake_openai.behaviour.raw = hostile("key_echo_401")
    code, _, err = _predict(capsys, tmp_path, _with_credentials(fake_openai.url))
    assert code == 2 and "rejected the API key" in err
    assert PASSWORD not in err and "[REDACTED]@127.0.0.1" in err


def test_redaction_helpers() -> None:
    url = f"https://bob:{PASSWORD}@example.com:8443/v1?x=1"
    assert url_without_credentials(url) == "https://example.com:8443/v1?x=1"
    assert hide_url_credentials({"a": [url]}) == {
        "a": ["https://[REDACTED]@example.com:8443/v1?x=1"]
    }
    # A password holding "@" is hidden whole; e-mail addresses are not URLs.
    assert redact("at http://u:p@ss@host/v1, mail me@example.com") == (
        "at http://[REDACTED]@host/v1, mail me@example.com"
    )
