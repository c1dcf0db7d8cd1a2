"""Runner throughput on the path users take: ``fieldwise predict --model openai/...``.

Each timed run is a fresh ``python -m fieldwise.cli predict`` process (progress bar on,
as a user sees it) over real ISAF press releases against the fake OpenAI server (in its
own process) answering after ``--latency`` seconds, ``--concurrency`` requests in flight.

Data: the 574 labelled rows of ``/work/shared/data/isaf/dev.jsonl`` (the only real rows
available here) followed by the first 150 of them again, 724 in all. Each text gets a
``[doc-NNNN]`` marker in front so that every row is its own request (identical texts would
share one cache key and be computed once) and the server log can be matched to rows.

Start-up is subtracted: the same command is timed on a one-row file with the row
already stored (imports, task, data loading, store open, writing the output: everything
but the requests), and that median is taken off every run. Client CPU is the child's
``resource.getrusage(RUSAGE_CHILDREN)`` user+system time, start-up CPU subtracted, per
request the server saw.

Scenarios, each repeated (medians reported):
- ``clean``: target wall <= 1.25x ideal ``N * latency / concurrency``.
- ``429``: 10% of responses are 429 with ``Retry-After: 0.5``; target <= 1.3x the
  429-aware ideal ``((N - 1 + n429) * latency + n429 * retry_after) / concurrency``,
  and nothing lost or duplicated (one error-free stored row and one 200 per example).
- both: client CPU <= 2 ms per request.

Run from the repository root::

    PYTHONPATH=src:. python bench/runner_throughput.py
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

from _child import run_timed  # bench/ is the script's folder

ROOT = Path(__file__).resolve().parents[1]
ISAF_DEV = Path("/work/shared/data/isaf/dev.jsonl")


def write_rows(path: Path, n: int, tag: str = "doc") -> int:
    """Write n ISAF rows (real texts, each with a unique marker); return their text bytes."""
    real = [json.loads(line) for line in ISAF_DEV.open(encoding="utf-8")]
    total = 0
    with path.open("w", encoding="utf-8") as fh:
        for i in range(n):
            row = dict(real[i % len(real)])
            row["id"] = f"row-{i:05d}"
            row["text"] = f"[{tag}-{i:05d}] {row['text']}"
            total += len(row["text"].encode())
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return total


class ServerProcess:
    """The fake server in a child process; its log is read over HTTP."""

    def __init__(self, latency: float, p429: float, retry_after: float, seed: int) -> None:
        cmd = [sys.executable, "-m", "tests.fakes.openai_server", "--latency", str(latency)]
        cmd += ["--p429", str(p429), "--retry-after", str(retry_after), str(retry_after)]
        cmd += ["--seed", str(seed)]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()

    def log(self) -> list[dict[str, Any]]:
        with urllib.request.urlopen(self.url + "/_log") as resp:  # noqa: S310 - loopback
            return list(json.load(resp))

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait()


def cli(url: str, data: Path, project: Path, concurrency: int, profile: Path | None = None):
    """Run ``fieldwise predict`` once; return (wall seconds, child CPU seconds)."""
    cmd = [sys.executable]
    if profile is not None:
        cmd += ["-m", "cProfile", "-o", str(profile)]
    cmd += ["-m", "fieldwise.cli", "predict", "--model", "openai/fake", "--task", "isaf"]
    cmd += ["--data", str(data), "--out", str(project / "out.jsonl"), "--project", str(project)]
    cmd += ["--option", f"base_url={url}", "--concurrency", str(concurrency)]
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}", "COLUMNS": "120"}
    wall, cpu, done = run_timed(cmd, env)
    if done.returncode != 0:
        raise SystemExit(f"predict failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return wall, cpu


def startup_once(url: str, tmp: Path, concurrency: int) -> tuple[float, float]:
    """Wall and CPU of the command on one already-stored row (no request is sent)."""
    data, project = tmp / "one.jsonl", tmp / "startup"
    if not data.exists():
        write_rows(data, 1, tag="startup")
        cli(url, data, project, concurrency)  # stores the row; later runs are pure start-up
    return cli(url, data, project, concurrency)


def stored_counts(project: Path) -> dict[str, int]:
    db = sqlite3.connect(project / "fieldwise.sqlite")
    try:
        rows = db.execute(
            "SELECT example_id, count(*) FROM predictions WHERE error IS NULL GROUP BY 1"
        ).fetchall()
    finally:
        db.close()
    return {r[0]: r[1] for r in rows}


def scenario(name: str, args: argparse.Namespace, p429: float, tmp: Path) -> dict[str, Any]:
    """Repeated runs, each paired with a start-up run just before it (the machine's load
    drifts, so each run has its start-up measured under the same conditions)."""
    data = tmp / "rows.jsonl"
    walls, cpus, ideals, ratios, bases = [], [], [], [], []
    problems: list[str] = []
    for rep in range(args.repeats):
        server = ServerProcess(args.latency, p429, args.retry_after, seed=rep)
        project = tmp / f"{name}-{rep}"
        try:
            base = startup_once(server.url, tmp, args.concurrency)
            bases.append(base[0])
            profile = tmp / f"{name}.prof" if args.profile and rep == 0 else None
            wall, cpu = cli(server.url, data, project, args.concurrency, profile)
            log = [r for r in server.log() if "[startup-" not in r["text"]]
        finally:
            server.close()
        n429 = sum(r["fault"] == "429" for r in log)
        ideal = ((args.n - 1 + n429) * args.latency + n429 * args.retry_after) / args.concurrency
        net_wall = wall - base[0]
        cpu_ms = (cpu - base[1]) * 1000 / max(1, len(log))
        walls.append(net_wall)
        cpus.append(cpu_ms)
        ideals.append(ideal)
        ratios.append(net_wall / ideal)
        stored = stored_counts(project)
        oks = Counter(r["text"].split("]")[0] for r in log if r["fault"] == "ok")
        if len(stored) != args.n or set(stored.values()) != {1}:
            problems.append(f"rep {rep}: {len(stored)} stored, counts {set(stored.values())}")
        if len(oks) != args.n or set(oks.values()) != {1}:
            problems.append(f"rep {rep}: {len(oks)} answered, counts {set(oks.values())}")
        print(
            f"{name} rep {rep}: {wall:.2f}s raw, start-up {base[0]:.2f}s, {net_wall:.2f}s net "
            f"({net_wall / ideal:.3f}x ideal {ideal:.2f}s), {len(log)} requests, {n429} x 429, "
            f"client CPU {cpu_ms:.2f} ms/request",
            file=sys.stderr,
        )
    return {
        "scenario": name,
        "net_walls_s": [round(w, 3) for w in walls],
        "median_startup_s": round(statistics.median(bases), 3),
        "median_net_s": round(statistics.median(walls), 3),
        "median_ideal_s": round(statistics.median(ideals), 3),
        "ratio_to_ideal": round(statistics.median(ratios), 3),
        "client_cpu_ms_per_request": round(statistics.median(cpus), 3),
        "problems": problems,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=724)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--retry-after", type=float, default=0.5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="cProfile the first rep of each")
    parser.add_argument("--only", choices=["clean", "429"], default=None)
    args = parser.parse_args()
    print(
        f"load average at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs", file=sys.stderr
    )
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        text_bytes = write_rows(tmp / "rows.jsonl", args.n)
        result: dict[str, Any] = {
            "n": args.n,
            "mean_text_bytes": round(text_bytes / args.n),
            "latency_s": args.latency,
            "concurrency": args.concurrency,
            "retry_after_s": args.retry_after,
        }
        if args.only in (None, "clean"):
            result["clean"] = scenario("clean", args, 0.0, tmp)
        if args.only in (None, "429"):
            result["with_429"] = scenario("429", args, 0.1, tmp)
        if args.profile:
            import pstats

            for prof in sorted(tmp.glob("*.prof")):
                print(f"--- {prof.name}", file=sys.stderr)
                pstats.Stats(str(prof), stream=sys.stderr).sort_stats("tottime").print_stats(25)
    clean, limited = result.get("clean"), result.get("with_429")
    result["targets_met"] = bool(
        (clean is None or (clean["ratio_to_ideal"] <= 1.25 and not clean["problems"]))
        and (limited is None or (limited["ratio_to_ideal"] <= 1.3 and not limited["problems"]))
        and all(s["client_cpu_ms_per_request"] <= 2.0 for s in (clean, limited) if s)
    )
    result["load_avg_1m_at_end"] = round(os.getloadavg()[0], 2)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
