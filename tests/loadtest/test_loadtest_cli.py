"""``fieldwise loadtest`` end to end against a real HTTP fake: the JSON interface, what
is stored, constrained decoding on and off, errors, and one-line refusals."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from fieldwise.data import load_examples
from fieldwise.tasks import load_task
from tests.cli.helpers import cli
from tests.fakes.openai_server import Behaviour, FakeServer

LEVEL_KEYS = {
    "concurrency", "rate", "requests", "throughput_docs_s", "output_tokens_s", "latency_s",
    "ttft_s", "tpot_s", "errors", "valid", "accuracy", "client_cpu_ms_per_request",
}  # fmt: skip


@pytest.fixture
def gold_server() -> Iterator[FakeServer]:
    """Answers every document of the packaged ISAF sample with its gold record."""
    task = load_task("isaf")
    golds = {ex.text: ex.gold for ex in load_examples(task, "sample").examples}

    def reply(text: str) -> str:
        gold = next((g for t, g in golds.items() if t in text), {})
        return json.dumps(gold)

    server = FakeServer(Behaviour(reply=reply, latency_s=0.01)).start()
    try:
        yield server
    finally:
        server.stop()


def _run(capsys: pytest.CaptureFixture[str], url: str, project: Path, *args: str) -> dict:
    code, out, err = cli(
        capsys, "loadtest", "--model", "openai/m", "--data", "sample",
        "--option", f"base_url={url}", "--project", str(project), "--json", *args,
    )  # fmt: skip
    assert code == 0, err
    return dict(json.loads(out))


def test_json_interface_levels_and_store(
    capsys: pytest.CaptureFixture[str], gold_server: FakeServer, tmp_path: Path
) -> None:
    result = _run(capsys, gold_server.url, tmp_path, "--concurrency", "1,4", "--rate", "40",
                  "--requests", "12", "--latency-target", "5")  # fmt: skip
    assert result["model"] == "openai/m"
    levels = result["levels"]
    assert [(lv["concurrency"], lv["rate"]) for lv in levels] == [(1, None), (4, None), (None, 40)]
    for lv in levels:
        assert set(lv) >= LEVEL_KEYS
        assert set(lv["latency_s"]) == {"p50", "p95", "p99"}
        assert set(lv["ttft_s"]) == {"p50", "p95", "p99"} and set(lv["tpot_s"]) == {"p50", "p95"}
        assert lv["requests"] == 12 and lv["errors"] == 0
        assert lv["valid"] == 1.0 and lv["accuracy"] == pytest.approx(100.0)
        assert 0.01 <= lv["latency_s"]["p50"] <= lv["latency_s"]["p95"] <= lv["latency_s"]["p99"]
        assert lv["ttft_s"]["p50"] is None  # not streamed
        assert lv["throughput_docs_s"] > 0 and lv["output_tokens_s"] > 0
        assert lv["goodput_docs_s"] == pytest.approx(lv["throughput_docs_s"])
        assert lv["client_cpu_ms_per_request"] > 0
    # warm-up (1 request) + each level's warm-up and 12 measured requests reached the server
    warmups = 1 + 4 + 40
    assert len(gold_server.snapshot()) == 1 + 3 * 12 + warmups
    db = sqlite3.connect(tmp_path / "fieldwise.sqlite")
    stored = db.execute("SELECT source, mode, concurrency, rate, requests, run_id FROM loadtests")
    rows = stored.fetchall()
    assert [r[:5] for r in rows] == [("loadtest", "closed", 1, None, 12),
                                     ("loadtest", "closed", 4, None, 12),
                                     ("loadtest", "open", None, 40.0, 12)]  # fmt: skip
    (run_id,) = {r[5] for r in rows}
    status, config = db.execute(
        "SELECT status, config_json FROM runs WHERE id=?", (run_id,)
    ).fetchone()
    assert status == "finished" and json.loads(config)["loadtest"]["requests"] == 12


def test_constrained_decoding_on_and_off(
    capsys: pytest.CaptureFixture[str], gold_server: FakeServer, tmp_path: Path
) -> None:
    result = _run(capsys, gold_server.url, tmp_path, "--concurrency", "2", "--requests", "4",
                  "--constrained", "on,off", "--warmup", "0")  # fmt: skip
    assert [lv["constrained"] for lv in result["levels"]] == [True, False]
    bodies = [r.body or {} for r in gold_server.snapshot()]
    with_schema = [b for b in bodies if b.get("response_format", {}).get("type") == "json_schema"]
    assert len(with_schema) == 1 + 4 and len(bodies) == 2 * (1 + 4)
    # two runs: the model differs (output_mode), so its measurements are kept apart
    db = sqlite3.connect(tmp_path / "fieldwise.sqlite")
    hashes = db.execute("SELECT DISTINCT model_hash FROM loadtests").fetchall()
    assert len(hashes) == 2


def test_failures_are_counted_not_raised(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    server = FakeServer(Behaviour(script=["ok"] + ["500"] * 5)).start()
    try:
        result = _run(capsys, server.url, tmp_path, "--concurrency", "1", "--requests", "5",
                      "--warmup", "0")  # fmt: skip
    finally:
        server.stop()
    (lv,) = result["levels"]
    assert lv["errors"] == 5 and lv["valid"] == 0.0
    assert lv["latency_s"] == {"p50": None, "p95": None, "p99": None}
    assert lv["throughput_docs_s"] == 0.0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "openai/m", "--concurrency", "0"], "at least 1"),
        (["--model", "openai/m", "--rate", "fast"], "bad --rate"),
        (["--model", "openai/m", "--constrained", "maybe"], "on, off"),
        (["--model", "baseline/x", "--constrained", "on"], "no constrained decoding"),
        (["--model", "baseline/x", "--stream"], "cannot stream"),
        (["--model", "openai/m", "--profile", "nope"], "unknown profile"),
        (["--model", "openai/m", "--requests", "0"], "at least 1"),
    ],
)
def test_bad_options_are_one_line_errors(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, args: list[str], message: str
) -> None:
    code, _, err = cli(capsys, "loadtest", "--data", "sample", "--project", str(tmp_path), *args)
    assert code == 2 and message in err and "Traceback" not in err
