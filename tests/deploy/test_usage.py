"""Per-row costs and the prompt token split, by hand."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from fieldwise.deploy import DeployInput, collect_usage, summarise_deploy
from fieldwise.models import create_model
from fieldwise.pricing import Price
from fieldwise.scoring.stats import Resamples
from fieldwise.store import PredictionRow, Store
from fieldwise.store._speed import save_level
from fieldwise.tasks import Example, load_task


def _rows(tokens: list[tuple[int | None, int | None]], latency: float = 0.5) -> list:
    return [
        PredictionRow(f"k{i}", f"e{i}", "{}", None, latency, inp, out)
        for i, (inp, out) in enumerate(tokens)
    ]


def test_token_costs_per_row_by_hand() -> None:
    rows = _rows([(1000, 100), (3000, 300), (None, None)])
    usage = collect_usage(rows, price=Price(2.0, 8.0))
    # 1000 * 2e-6 + 100 * 8e-6 = 0.0028; 3000 * 2e-6 + 300 * 8e-6 = 0.0084; unknown
    assert usage.cost_usd[:2] == pytest.approx([0.0028, 0.0084])
    assert math.isnan(usage.cost_usd[2])
    summary = summarise_deploy([_input("m", usage)], None)
    # cost of 1,000 documents: the mean of the known rows x 1000 = 5.6
    assert summary.models[0].cost_per_1k == pytest.approx(5.6)


def test_no_price_means_unknown_cost() -> None:
    usage = collect_usage(_rows([(1000, 100)]), price=None)
    summary = summarise_deploy([_input("m", usage)], None)
    assert summary.models[0].cost_per_1k is None
    assert summary.to_json()["cost_per_1k_docs"] == {"m": None}


def test_hourly_price_over_measured_throughput_by_hand(tmp_path: Path) -> None:
    identity = {"provider": "hf", "name": "x"}
    with Store(tmp_path) as store:
        for concurrency, docs_s in ((1, 2.0), (8, 10.0), (32, 9.0)):
            level = {"mode": "closed", "concurrency": concurrency, "requests": 100,
                     "errors": 0, "throughput_docs_s": docs_s,
                     "latency_s": {"p50": 0.2, "p95": 0.4, "p99": 0.5}}  # fmt: skip
            save_level(store, run_id=7, label="x", spec="hf/x", identity=identity, level=level)
        usage = collect_usage(_rows([(10, 10)] * 4), price=Price(per_hour=3.6), store=store,
                              identity=identity)  # fmt: skip
    # the load test's best level: 10 documents a second; $3.60/hour = $0.001/second,
    # so $0.0001 a document and $0.10 per 1,000
    assert usage.cost_usd == pytest.approx([0.0001] * 4)
    model = summarise_deploy([_input("x", usage)], None).models[0]
    assert model.cost_per_1k == pytest.approx(0.1)
    assert model.throughput == 10.0 and model.latency["p95"] == 0.4
    assert "load test" in model.throughput_from


def test_paired_differences_carry_intervals() -> None:
    n = 200
    rng = np.random.default_rng(0)
    tokens = [(int(t), 50) for t in rng.integers(500, 1500, n)]
    cheap = collect_usage(_rows(tokens, 0.3), price=Price(1.0, 1.0))
    dear = collect_usage(_rows(tokens, 0.8), price=Price(3.0, 1.0))
    summary = summarise_deploy([_input("dear", dear), _input("cheap", cheap)],
                               Resamples.for_rows(n, 500, 0))  # fmt: skip
    (pair,) = summary.pairs
    # dear - cheap = 2e-6 * input tokens per document: x1000 per 1,000 documents
    expected = 2e-3 * np.mean([t for t, _ in tokens])
    assert pair.cost_diff == pytest.approx(expected)
    assert pair.cost_ci is not None and pair.cost_ci[0] < expected < pair.cost_ci[1]
    assert pair.latency_diff == pytest.approx(0.5)
    assert summary.pair("cheap", "dear").cost_diff == pytest.approx(-expected)  # type: ignore[union-attr]
    assert [m.dominated_cost for m in summary.models] == [True, False]  # same accuracy, dearer


def test_prompt_tokens_split_into_instructions_examples_and_document() -> None:
    task = load_task("isaf")
    shots = [Example(f"s{i}", f"shot text {i} " * 20, gold={"name": "x"}) for i in range(2)]
    model = create_model("openai/m", task, {"base_url": "http://127.0.0.1:9/v1", "few_shot": 2})
    model.prepare(shots)
    docs = [Example("a", "A short document."), Example("b", "A much longer document. " * 40)]
    tokens = np.array([1200.0, 1500.0])
    split, estimated = _split(model, docs, tokens)
    assert not estimated
    assert sum(split.values()) == pytest.approx(tokens.mean(), rel=1e-3)
    assert split["examples"] > 0 and split["instructions"] > split["document"] > 0
    plain = create_model("openai/m", task, {"base_url": "http://127.0.0.1:9/v1"})
    split, _ = _split(plain, docs, tokens)
    assert split["examples"] == 0
    # no token counts reported: estimated from characters, and said so
    split, estimated = _split(plain, docs, np.array([np.nan, np.nan]))
    assert estimated and split["document"] == pytest.approx(
        np.mean([len(d.text) for d in docs]) / 4, rel=1e-3
    )


def _split(model, docs, tokens):  # type: ignore[no-untyped-def]
    from fieldwise.deploy import prompt_split

    return prompt_split(model, docs, tokens)


def _input(label: str, usage) -> DeployInput:  # type: ignore[no-untyped-def]
    return DeployInput(label, "api", 80.0, (75.0, 85.0), {"f": 0.8}, 1.0, usage)
