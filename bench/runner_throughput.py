"""Runner throughput against the local fake OpenAI server (no network, no real data).

Scenarios (each repeated, medians reported):
- ``clean``: N requests, every response after ``--latency`` seconds, ``--concurrency``
  in flight. Target: wall time <= 1.25x the ideal N * latency / concurrency, and >= 25x
  faster than a sequential loop (measured on ``--seq-sample`` requests, extrapolated).
- ``429``: the same with 10% of responses a 429 carrying Retry-After 0.2-1.0 s. Target:
  <= 1.6x ideal, and nothing lost or duplicated: the store holds exactly one error-free
  prediction per example and the server answered exactly one 200 per example.

The fake server runs in its own process so that its threads do not share the client's
GIL. Run from the repository root::

    PYTHONPATH=src:. python bench/runner_throughput.py
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

from fieldwise.models import create_model
from fieldwise.runner import RunSettings, run_model_async
from fieldwise.store import Store
from fieldwise.tasks import Example, load_task

ROOT = Path(__file__).resolve().parents[1]
FILLER = (
    "KABUL, Afghanistan - An Afghan and coalition security force detained several suspected "
    "insurgents during an operation in the district yesterday. The security force searched "
    "a compound after intelligence reports indicated militant activity. "
)


def examples(n: int) -> list[Example]:
    """Synthetic ~1 kB press-release-like texts, each with a unique marker."""
    return [Example(f"b{i:04d}", f"[doc-{i:04d}] " + FILLER * 4) for i in range(n)]


class ServerProcess:
    """The fake server in a child process; its log is read over HTTP."""

    def __init__(self, latency: float, p429: float, seed: int) -> None:
        cmd = [
            sys.executable,
            "-m",
            "tests.fakes.openai_server",
            "--latency",
            str(latency),
            "--p429",
            str(p429),
            "--retry-after",
            "0.2",
            "1.0",
            "--seed",
            str(seed),
        ]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()

    def log(self) -> list[dict[str, Any]]:
        with urllib.request.urlopen(self.url + "/_log") as resp:  # noqa: S310 - loopback
            return list(json.load(resp))

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait()


def one_run(url: str, n: int, concurrency: int) -> tuple[float, dict[str, int]]:
    """Predict n examples into a fresh store; return wall seconds and per-example row counts."""
    task = load_task("isaf")
    model = create_model("openai/fake", task, {"base_url": url})
    exs = examples(n)
    with tempfile.TemporaryDirectory() as tmp, Store(tmp) as store:

        async def main() -> float:
            try:
                start = time.perf_counter()
                await run_model_async(
                    model,
                    exs,
                    store,
                    label="bench",
                    run_id=None,
                    settings=RunSettings(concurrency=concurrency),
                )
                return time.perf_counter() - start
            finally:
                await model.aclose()

        wall = asyncio.run(main())
        rows = store.db.execute(
            "SELECT example_id, count(*) FROM predictions WHERE error IS NULL GROUP BY 1"
        ).fetchall()
    return wall, {r[0]: r[1] for r in rows}


def sequential(url: str, n: int) -> float:
    """Seconds per request of a plain one-at-a-time loop over the same backend."""
    task = load_task("isaf")
    model = create_model("openai/fake", task, {"base_url": url})
    exs = examples(n)

    async def main() -> float:
        await model.generate(exs[:1])  # warm-up: imports and the first connection
        start = time.perf_counter()
        for ex in exs:
            await model.generate([ex])
        elapsed = time.perf_counter() - start
        await model.aclose()
        return elapsed / n

    return asyncio.run(main())


def scenario(name: str, args: argparse.Namespace, p429: float) -> dict[str, Any]:
    ideal = args.n * args.latency / args.concurrency
    walls: list[float] = []
    problems: list[str] = []
    for rep in range(args.repeats):
        server = ServerProcess(args.latency, p429, seed=rep)
        try:
            wall, stored = one_run(server.url, args.n, args.concurrency)
            log = server.log()
        finally:
            server.close()
        walls.append(wall)
        oks = Counter(r["text"].split("]")[0] for r in log if r["fault"] == "ok")
        if len(stored) != args.n or set(stored.values()) != {1}:
            counts = set(stored.values())
            problems.append(f"rep {rep}: {len(stored)} examples stored, counts {counts}")
        if len(oks) != args.n or set(oks.values()) != {1}:
            problems.append(f"rep {rep}: {len(oks)} examples answered, counts {set(oks.values())}")
        n429 = sum(r["fault"] == "429" for r in log)
        print(
            f"{name} rep {rep}: {wall:.2f}s ({wall / ideal:.2f}x ideal), "
            f"{len(log)} requests, {n429} x 429",
            file=sys.stderr,
        )
    med = statistics.median(walls)
    return {
        "scenario": name,
        "walls_s": [round(w, 3) for w in walls],
        "median_s": round(med, 3),
        "ideal_s": round(ideal, 3),
        "ratio_to_ideal": round(med / ideal, 3),
        "problems": problems,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="runner throughput against the fake server")
    parser.add_argument("--n", type=int, default=724)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seq-sample", type=int, default=40)
    args = parser.parse_args()
    print(
        f"load average at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs", file=sys.stderr
    )

    server = ServerProcess(args.latency, 0.0, seed=0)
    try:
        per_request = sequential(server.url, args.seq_sample)
    finally:
        server.close()
    seq_total = per_request * args.n
    print(
        f"sequential: {per_request * 1000:.1f} ms/request -> {seq_total:.1f}s for {args.n} "
        f"(extrapolated from {args.seq_sample})",
        file=sys.stderr,
    )

    clean = scenario("clean", args, 0.0)
    clean["speedup_vs_sequential"] = round(seq_total / clean["median_s"], 1)
    limited = scenario("429", args, 0.1)
    result = {
        "load_avg_1m_at_end": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
        "n": args.n,
        "latency_s": args.latency,
        "concurrency": args.concurrency,
        "sequential_s_per_request": round(per_request, 4),
        "sequential_extrapolated_s": round(seq_total, 1),
        "clean": clean,
        "with_429": limited,
        "targets_met": (
            clean["ratio_to_ideal"] <= 1.25
            and clean["speedup_vs_sequential"] >= 25
            and limited["ratio_to_ideal"] <= 1.6
            and not clean["problems"]
            and not limited["problems"]
        ),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
