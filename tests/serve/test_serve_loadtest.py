"""``fieldwise loadtest`` against ``fieldwise serve`` (tiny model, real HTTP): streamed
TTFT and TPOT from a real engine, an adapter by name, constrained decoding switched on."""

from __future__ import annotations

from pathlib import Path

import pytest

from fieldwise.loadtest import LoadTestConfig, run_loadtest

pytestmark = pytest.mark.slow


def test_loadtest_measures_a_served_adapter(server: str, tmp_path: Path) -> None:
    cfg = LoadTestConfig(
        spec="openai/alpha",
        data="sample",
        concurrency=[2],
        requests=4,
        warmup=0,
        stream=True,
        constrained=["on"],
        options={"base_url": server, "max_tokens": 12},
        project=tmp_path,
    )
    (level,) = run_loadtest(cfg)["levels"]
    assert level["errors"] == 0 and level["requests"] == 4 and level["constrained"] is True
    ttft, latency = level["ttft_s"]["p50"], level["latency_s"]["p50"]
    assert ttft is not None and 0 < ttft <= latency
    assert level["tpot_s"]["p50"] is not None and level["tpot_s"]["p50"] > 0
    assert level["output_tokens_s"] > 0 and level["throughput_docs_s"] > 0
    assert level["valid"] is not None and level["accuracy"] is not None
