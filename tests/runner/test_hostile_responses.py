"""Every hostile server mode, end to end: real HTTP, the real SDK, the store, scoring and
the report. No reply may crash or hang a run; garbage is stored as an output or as that
row's error, and no byte of the API key is stored or written anywhere."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fieldwise.config import ModelConfig, ProjectConfig
from fieldwise.data import load_examples
from fieldwise.errors import UserError
from fieldwise.pipeline import run_project
from fieldwise.tasks import load_task
from tests.fakes.hostile_server import ANTHROPIC_MODES, MODES, SECRET_KEY, STOPS_RUN, hostile
from tests.fakes.openai_server import Behaviour, FakeServer

ISAF = load_task("isaf")
ROWS = 3


@pytest.fixture(scope="module")
def gold(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("gold") / "gold.jsonl"
    examples = load_examples(ISAF, "sample").examples[:ROWS]
    path.write_text(
        "".join(json.dumps({"id": e.id, "text": e.text, **(e.gold or {})}) + "\n" for e in examples)
    )
    return path


def _run(mode: str, provider: str, gold: Path, out: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    server = FakeServer(Behaviour(raw=hostile(mode))).start()
    env = "ANTHROPIC_API_KEY" if provider == "anthropic" else "OPENAI_API_KEY"
    monkeypatch.setenv(env, SECRET_KEY)
    base = server.url if provider == "openai" else server.url.removesuffix("/v1")
    model = ModelConfig(
        spec=f"{provider}/hostile",
        options={"base_url": base},
        timeout_s=3,
        max_retries=1,
        tpm=600_000,  # absurd usage must not make the limiter sleep for ever
    )
    cfg = ProjectConfig(
        data={"train": None, "test": str(gold)},
        models=[model],
        bootstrap=20,
        output=str(out),
        base_dir=out.parent,
    )
    try:
        result = run_project(cfg, quiet=True)
    finally:
        server.stop()
    (res,) = result.results
    assert len(res.outputs) == ROWS
    for output, error in zip(res.outputs, res.errors, strict=True):
        assert output is None or isinstance(output, str)
        assert (output is None) or (error is None)
    assert result.report_path.read_text(encoding="utf-8")


def _assert_no_secret(root: Path) -> None:
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert SECRET_KEY.encode() not in data, path
            assert SECRET_KEY[10:].encode() not in data, path


CASES = [("openai", m) for m in sorted(MODES)] + [
    ("anthropic", f"anthropic:{m}") for m in sorted(ANTHROPIC_MODES)
]


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("provider", "mode"), CASES, ids=[m for _, m in CASES])
def test_hostile_mode(
    provider: str, mode: str, gold: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "project"
    if mode.removeprefix("anthropic:") in STOPS_RUN:
        with pytest.raises(UserError) as info:
            _run(mode, provider, gold, out, monkeypatch)
        assert SECRET_KEY not in str(info.value) and SECRET_KEY not in repr(info.value.__cause__)
    else:
        _run(mode, provider, gold, out, monkeypatch)
    _assert_no_secret(out)
