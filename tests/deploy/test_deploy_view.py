"""The deploy view end to end: a run with a priced, an hourly-priced and an unpriced
model against a real HTTP fake, then the report and ``fieldwise compare --json``."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from fieldwise.config import ModelConfig, PriceConfig, ProjectConfig
from fieldwise.data import load_examples
from fieldwise.pipeline import run_project
from fieldwise.pricing import price_table
from fieldwise.tasks import load_task
from tests.cli.helpers import cli
from tests.fakes.openai_server import Behaviour, FakeServer

ISAF = load_task("isaf")


@pytest.fixture
def server() -> Iterator[FakeServer]:
    golds = {ex.text: ex.gold for ex in load_examples(ISAF, "sample").examples}

    def reply(text: str) -> str:
        return json.dumps(next((g for t, g in golds.items() if t in text), {}))

    fake = FakeServer(Behaviour(reply=reply, latency_s=0.01)).start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def project(server: FakeServer, tmp_path: Path) -> Path:
    options = {"base_url": server.url}
    cfg = ProjectConfig(
        data={"train": "sample", "limit": 40},
        models=[
            ModelConfig(
                spec="openai/a",
                name="priced",
                options=options,
                price=PriceConfig(input_per_mtok=2.0, output_per_mtok=8.0),
            ),
            ModelConfig(
                spec="openai/b",
                name="hourly",
                options={**options, "seed": 1},
                price=PriceConfig(per_hour=3.6),
            ),
            ModelConfig(spec="openai/c", name="unpriced", options={**options, "seed": 2}),
        ],  # fmt: skip
        bootstrap=200,
        output=str(tmp_path / "out"),
        base_dir=tmp_path,
    )
    result = run_project(cfg, quiet=True)
    by_label = {r.label: r for r in result.results}
    assert by_label["unpriced"].stats.get("cost_usd") is None
    return tmp_path / "out"


def _tokens(project: Path, label: str) -> list[tuple[int, int]]:
    db = sqlite3.connect(next(project.glob("*.sqlite")))
    rows = db.execute(
        "SELECT input_tokens, output_tokens FROM predictions WHERE label = ?", (label,)
    ).fetchall()
    return [(int(i), int(o)) for i, o in rows]


def _run_throughput(project: Path, label: str) -> float:
    db = sqlite3.connect(next(project.glob("*.sqlite")))
    (value,) = db.execute(
        "SELECT throughput_docs_s FROM loadtests WHERE label = ? AND source = 'run'", (label,)
    ).fetchone()
    return float(value)


def test_compare_json_has_cost_and_latency_per_model(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli(capsys, "compare", "--project", str(project), "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["prices_as_of"] == price_table().as_of
    assert data["models"] == ["priced", "hourly", "unpriced"]  # the pairwise table's own key
    assert set(data["cost_per_1k_docs"]) == set(data["latency_s"]) == set(data["models"])
    models = data["deploy"]["models"]
    assert data["cost_per_1k_docs"]["priced"] == models["priced"]["cost_per_1k_docs"]
    # by hand: the mean over documents of (input * 2 + output * 8) / 1e6, x 1000
    tokens = _tokens(project, "priced")
    expected = sum(i * 2 + o * 8 for i, o in tokens) / len(tokens) / 1e6 * 1000
    assert models["priced"]["cost_per_1k_docs"] == pytest.approx(expected, rel=1e-4)
    lo, hi = models["priced"]["cost_per_1k_docs_ci"]
    assert lo <= expected <= hi
    # hourly: $3.60 an hour over the run's own documents a second
    docs_s = _run_throughput(project, "hourly")
    assert models["hourly"]["throughput_docs_s"] == pytest.approx(docs_s, rel=1e-3)
    assert models["hourly"]["cost_per_1k_docs"] == pytest.approx(1.0 / docs_s, rel=1e-3)
    assert models["unpriced"]["cost_per_1k_docs"] is None
    for m in models.values():
        lat = m["latency_s"]
        assert 0.01 <= lat["p50"] <= lat["p95"] <= lat["p99"]
    pairs = {(p["a"], p["b"]) for p in data["deploy"]["pairs"]}
    assert len(pairs) == 3
    # across runs too, from the store alone
    code, out, err = cli(capsys, "compare", "priced", "unpriced", "--project", str(project),
                         "--json")  # fmt: skip
    assert code == 0, err
    across = json.loads(out)["deploy"]["models"]
    assert across["priced"]["cost_per_1k_docs"] == pytest.approx(expected, rel=1e-4)
    assert across["unpriced"]["cost_per_1k_docs"] is None
    assert across["unpriced"]["latency_s"]["p95"] is not None


def test_report_shows_the_deploy_view(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    latest = json.loads((project / "reports" / "latest.json").read_text())
    page = Path(latest["report"]).read_text(encoding="utf-8")
    assert 'id="deploy"' in page and "Which model to deploy" in page
    assert f"prices as of <b>{price_table().as_of}</b>" in page
    assert "no price: unknown" in page  # the unpriced model, never $0
    assert "Where a prompt&#39;s tokens go" in page or "Where a prompt's tokens go" in page
    assert (Path(latest["report"]).parent / "charts" / "deploy_cost.png").is_file()
    code, out, _ = cli(capsys, "compare", "--project", str(project))
    assert code == 0 and "unknown" in out and price_table().as_of in out
