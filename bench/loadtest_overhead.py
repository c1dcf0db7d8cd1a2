"""What the load generator costs: client CPU per request on the path users take.

Each timed run is a fresh ``python -m fieldwise.cli loadtest --json`` process against
the fake latency server (``tests/fakes/latency_server.py``, its own process: real HTTP,
TCP_NODELAY, timer-based log-normal latencies), replaying real ISAF press releases
(``/work/shared/data/isaf/dev.jsonl``; the packaged sample if absent) through the
``openai/`` backend's lean HTTP client, the way a user load-tests a vLLM or ``fieldwise
serve`` endpoint. Three figures per level, medians over ``--repeats`` runs:

- ``client_cpu_ms_per_request`` as ``loadtest`` reports it: CPU time of the event loop's
  thread (request building, HTTP, parsing, bookkeeping) over the requests it sent.
- the whole client process's CPU per request (``getrusage`` of the child, minus the same
  command with ``--requests 1`` on one level: imports, data loading, store, scoring).
- the fake server's own CPU per request (its ``GET /_stats``), to show it is not the
  bottleneck.

Run from the repository root::

    PYTHONPATH=src:. python bench/loadtest_overhead.py
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ISAF_DEV = Path("/work/shared/data/isaf/dev.jsonl")

sys.path.insert(0, str(ROOT))
from tests.fakes.latency_server import server_stats, spawn  # noqa: E402


def data_file(tmp: Path) -> str:
    if not ISAF_DEV.is_file():
        return "sample"
    out = tmp / "isaf.jsonl"
    out.write_text(ISAF_DEV.read_text(encoding="utf-8"), encoding="utf-8")
    return str(out)


def loadtest(url: str, data: str, project: Path, levels: list[str], extra: list[str]) -> Any:
    cmd = [sys.executable, "-m", "fieldwise.cli", "loadtest", "--model", "openai/fake",
           "--data", data, "--option", f"base_url={url}", "--project", str(project),
           "--json", *levels, *extra]  # fmt: skip
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"loadtest failed ({out.returncode}): {out.stderr[-2000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return json.loads(out.stdout), cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--median", type=float, default=0.05)
    args = parser.parse_args()
    scenarios = {
        "closed 16": ["--concurrency", "16"],
        "closed 64": ["--concurrency", "64"],
        "open 200/s": ["--rate", "200"],
    }
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        data = data_file(tmp)
        for stream in (False, True):
            extra = ["--requests", str(args.requests)] + (["--stream"] if stream else [])
            flags = ["--median", str(args.median), "--ttft-median", str(args.median / 2),
                     "--tpot", "0.002", "--tokens", "20"]  # fmt: skip
            with spawn(*flags) as url:
                _, base = loadtest(url, data, tmp / "s", ["--concurrency", "1"],
                                   ["--requests", "1", "--warmup", "0"]
                                   + (["--stream"] if stream else []))  # fmt: skip
                for name, level in scenarios.items():
                    loop, whole, server = [], [], []
                    for _ in range(args.repeats):
                        s0 = server_stats(url)
                        result, cpu = loadtest(url, data, tmp / "p", level, extra)
                        s1 = server_stats(url)
                        lv = result["levels"][0]
                        sent = lv["requests"] + lv["warmup"] + 1
                        loop.append(lv["client_cpu_ms_per_request"])
                        whole.append((cpu - base) * 1000 / sent)
                        served = s1["requests"] - s0["requests"]
                        server.append((s1["cpu_s"] - s0["cpu_s"]) * 1000 / served)
                        busy, sat = lv["generator"]["busy"], lv["generator"]["saturated"]
                    print(
                        f"{'stream' if stream else 'plain':6} {name:11} loop thread "
                        f"{statistics.median(loop):.3f} ms/req, whole process "
                        f"{statistics.median(whole):.3f} ms/req, fake server "
                        f"{statistics.median(server):.3f} ms/req (last run: busy {busy:.0%}, "
                        f"saturated {sat}, {lv['throughput_docs_s']:.0f} docs/s)",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
