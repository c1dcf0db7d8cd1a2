"""The batch path end to end through the CLI, against the fake batch APIs (no network).

For each provider, ``fieldwise predict --batch`` runs over 724 real ISAF press releases (the
574 labelled rows of ``../shared/data/isaf/dev.jsonl``, then the first 150 again with a
trailing newline so every prompt is distinct and real-sized) into a fresh project: encode,
upload, create, poll, download, parse and store. The fake ends each batch at once
(``--processing 0``), so no simulated provider delay is in the wall time; the poll
interval is 0.05 s. Start-up is subtracted by rerunning the same command over the
finished store (import, data load, the pending lookup, writing the JSONL: everything but
the batch itself). CPU is the CLI process's own (``wait4``), not the fake server's.

For comparison the online path (same CLI without ``--batch``, concurrency 32) runs
against the online fake with no latency.

    PYTHONPATH=src:. python bench/batch_throughput.py --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = next(
    (
        p / "shared" / "data" / "isaf" / "dev.jsonl"
        for p in (ROOT.parent, ROOT.parents[1])
        if (p / "shared").is_dir()
    ),
    ROOT.parent / "shared" / "data" / "isaf" / "dev.jsonl",
)


def write_rows(path: Path, n: int) -> int:
    """``n`` ISAF rows with distinct texts; returns the total text size in bytes."""
    with DATA.open(encoding="utf-8") as fh:  # not splitlines(): texts hold U+2028
        base = [json.loads(line) for line in fh if line.strip()]
    size = 0
    with path.open("w", encoding="utf-8") as fh:
        for i in range(n):
            row = dict(base[i % len(base)])
            row["id"] = f"bench-{i:04d}"
            row["text"] += "\n" * (i // len(base))
            size += len(row["text"].encode())
            fh.write(json.dumps(row) + "\n")
    return size


class Server:
    def __init__(self, module: str, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", module, *args], cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path) as resp:  # noqa: S310 - loopback
            return json.load(resp)

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait()


def cli(args: list[str]) -> tuple[float, float]:
    """Run the CLI; return (wall seconds, CPU seconds of that process alone)."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "src"),
        "OPENAI_API_KEY": "sk-bench",
        "ANTHROPIC_API_KEY": "sk-ant-bench",
    }
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "fieldwise.cli", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode != 0:
        raise SystemExit(f"fieldwise {' '.join(args)} failed: {stderr}")
    return wall, usage.ru_utime + usage.ru_stime


def import_cpu(module: str, repeats: int) -> float:
    """CPU seconds that importing ``module`` adds to what the CLI imports anyway (the
    ``openai`` SDK, pydantic, httpx), median of ``repeats``."""
    base = "import openai, pydantic, httpx, rich"
    costs = []
    for _ in range(repeats):
        cpu = []
        for code in (base, f"{base}; import {module}"):
            proc = subprocess.Popen([sys.executable, "-c", code])
            _, _, usage = os.wait4(proc.pid, 0)
            cpu.append(usage.ru_utime + usage.ru_stime)
        costs.append(cpu[1] - cpu[0])
    return statistics.median(costs)


def one(spec: str, url: str, data: Path, batch: bool) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        args = [
            "predict",
            "--model",
            spec,
            "--data",
            str(data),
            "--out",
            f"{tmp}/out.jsonl",
            "--project",
            f"{tmp}/p",
            "--option",
            f"base_url={url}",
            "--quiet",
        ]
        args += ["--batch", "--batch-poll", "0.05"] if batch else ["--concurrency", "32"]
        wall, cpu = cli(args)
        wall0, cpu0 = cli(args)  # everything cached: start-up and bookkeeping only
        with open(f"{tmp}/out.jsonl", encoding="utf-8") as fh:
            rows = [json.loads(line) for line in fh]
        errors = sum(1 for r in rows if r.get("error") or not r.get("output"))
    return {"wall": wall, "cpu": cpu, "wall0": wall0, "cpu0": cpu0, "errors": errors}


def scenario(
    name: str, spec: str, url: str, data: Path, n: int, repeats: int, batch: bool, server: Server
) -> dict[str, Any]:
    runs = []
    for rep in range(repeats):
        r = one(spec, url, data, batch)
        runs.append(r)
        print(
            f"{name} rep {rep}: {json.dumps({k: round(v, 3) for k, v in r.items()})}",
            file=sys.stderr,
        )
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    out: dict[str, Any] = {
        "scenario": name,
        "wall_s": round(med["wall"], 3),
        "startup_s": round(med["wall0"], 3),
        "net_wall_s": round(med["wall"] - med["wall0"], 3),
        "cpu_s": round(med["cpu"], 3),
        "net_cpu_ms_per_row": round((med["cpu"] - med["cpu0"]) * 1000 / n, 3),
        "errors": int(max(r["errors"] for r in runs)),
    }
    if batch:
        stats = server.get("/_stats")
        out["batches_created"] = stats["batches"] / repeats
        out["requests_per_run"] = stats["requests"] / repeats
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=724)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(
        f"load average at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs", file=sys.stderr
    )
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "rows.jsonl"
        text_bytes = write_rows(data, args.n)
        results = []
        for name, spec in (
            ("openai batch", "openai/gpt-bench"),
            ("anthropic batch", "anthropic/claude-bench"),
        ):
            server = Server("tests.fakes.batch_server", "--processing", "0")
            url = server.url if spec.startswith("openai") else server.url.removesuffix("/v1")
            try:
                results.append(scenario(name, spec, url, data, args.n, args.repeats, True, server))
            finally:
                server.close()
        server = Server("tests.fakes.openai_server", "--latency", "0")
        try:
            results.append(
                scenario(
                    "openai online (c=32, 0 ms server)",
                    "openai/gpt-bench",
                    server.url,
                    data,
                    args.n,
                    args.repeats,
                    False,
                    server,
                )
            )
        finally:
            server.close()
    # The anthropic SDK is imported only once a request is sent, so the cached rerun that
    # stands for start-up does not pay for it; the batch run does.
    anthropic_import = import_cpu("anthropic", args.repeats)
    for r in results:
        if r["scenario"].startswith("anthropic"):
            r["anthropic_import_cpu_s"] = round(anthropic_import, 3)
            net = r["net_cpu_ms_per_row"] - anthropic_import * 1000 / args.n
            r["net_cpu_ms_per_row_without_sdk_import"] = round(net, 3)
    print(
        json.dumps(
            {
                "n": args.n,
                "text_bytes": text_bytes,
                "repeats": args.repeats,
                "load_avg_1m_at_end": round(os.getloadavg()[0], 2),
                "results": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
