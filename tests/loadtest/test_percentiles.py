"""The reported percentiles against the truth: a fake server (its own process, real
HTTP, TCP_NODELAY) whose latencies are a known log-normal, driven through the real
OpenAI-compatible client, closed loop and open loop, streamed and not.

Why the check can hold on a loaded 2-core box: the server waits with timers (no CPU
spent in the latency), every document carries the quantile it is to be answered at
(``[q=...]``: each level replays 300 documents, the log-normal's quantiles at
(i + 0.5)/300, so a level sees the distribution itself and not a noisy sample of it),
latencies are hundreds of milliseconds long, so the few milliseconds a busy box adds
to a wake-up stay well inside 5%, and the levels stay under about 100 requests a second
(a tenth of a core for the client), so a client sharing 2 cores with ten other busy
processes is not starved of CPU. What is left is the client's own timing error plus
the order-statistic interpolation at the p99 (about -1.5% at this sigma): the 5%
tolerance is the issue's, and these checks measure exactly that error.
"""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path

import pytest

from fieldwise.loadtest import LoadTestConfig, run_loadtest
from tests.fakes.latency_server import server_stats, spawn

pytestmark = pytest.mark.slow

N = 300
MEDIAN, SIGMA = 0.6, 0.3
TTFT_MEDIAN, TPOT, TOKENS = 0.4, 0.025, 10
TOLERANCE = 0.05


def truth(median: float, q: float) -> float:
    return median * math.exp(SIGMA * statistics.NormalDist().inv_cdf(q))


def _data(tmp_path: Path, n: int = N) -> str:
    path = tmp_path / "q.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        for i in range(n):
            q = (i + 0.5) / n
            fh.write(json.dumps({"id": f"r{i}", "text": f"[q={q:.6f}] document {i}"}) + "\n")
    return str(path)


def _check(measured: dict[str, float | None], median: float, where: str) -> None:
    for key, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
        if key not in measured:
            continue
        expected = truth(median, q)
        got = measured[key]
        assert got is not None, where
        assert abs(got / expected - 1) <= TOLERANCE, f"{where} {key}: {got:.4f} vs {expected:.4f}"


def _flags(stream: bool) -> list[str]:
    flags = ["--median", str(MEDIAN), "--sigma", str(SIGMA), "--ttft-median", str(TTFT_MEDIAN)]
    return flags + ["--tpot", str(TPOT), "--tokens", str(TOKENS)]


def test_latency_percentiles_closed_and_open_loop(tmp_path: Path) -> None:
    with spawn(*_flags(False)) as url:
        cfg = LoadTestConfig(spec="openai/fake", data=_data(tmp_path), concurrency=[48],
                             rates=[80.0], requests=N, options={"base_url": url},
                             project=tmp_path / "store")  # fmt: skip
        result = run_loadtest(cfg)
        served = server_stats(url)
    for level in result["levels"]:
        where = f"{level['mode']} {level['concurrency'] or level['rate']}"
        assert level["errors"] == 0 and level["requests"] == N, where
        _check(level["latency_s"], MEDIAN, where)
    # closed loop at 48: 48 / mean latency (0.6 * exp(0.045)) = 76.6 documents a second
    closed = result["levels"][0]
    assert closed["throughput_docs_s"] == pytest.approx(48 / (MEDIAN * math.exp(SIGMA**2 / 2)),
                                                        rel=TOLERANCE)  # fmt: skip
    opened = result["levels"][1]
    assert opened["throughput_docs_s"] == pytest.approx(80, rel=0.25)  # Poisson: +-1/sqrt(N)
    assert served["requests"] == 1 + sum(lv["requests"] + lv["warmup"] for lv in result["levels"])


def test_time_to_first_token_and_per_token_when_streamed(tmp_path: Path) -> None:
    """Streams cost the server and the client a write and a read per token, so the
    levels are lighter (about 500 events a second) and each replays 200 quantiles."""
    with spawn(*_flags(True)) as url:
        cfg = LoadTestConfig(spec="openai/fake", data=_data(tmp_path, 200), concurrency=[24],
                             rates=[40.0], requests=200, stream=True,
                             options={"base_url": url}, project=tmp_path / "store")  # fmt: skip
        result = run_loadtest(cfg)
    for level in result["levels"]:
        where = f"{level['mode']} stream"
        assert level["errors"] == 0, where
        _check(level["ttft_s"], TTFT_MEDIAN, where + " TTFT")
        tpot = level["tpot_s"]["p50"]
        assert tpot == pytest.approx(TPOT, rel=TOLERANCE), where
        # the whole answer: TTFT then 9 more tokens
        assert level["latency_s"]["p50"] == pytest.approx(
            TTFT_MEDIAN + (TOKENS - 1) * TPOT, rel=TOLERANCE
        )
