"""Start-up cost of the CLI: CPU and wall time of short commands (docs/benchmarks.md).

Each command runs ``--repeats`` times as a fresh process; the CPU is the child's own
user + system time (``RUSAGE_CHILDREN``), the median is reported. The one-row predict
talks to the fake OpenAI server (tests/fakes/openai_server.py) running in this process,
so its CPU is not the child's; its own CPU per request is reported beside it. A
hand-written SDK loop (the ``openai`` client, one request) is the reference.

    python bench/startup.py --repeats 15
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _child import run_timed  # noqa: E402 - bench/ is the script's folder

from tests.fakes.openai_server import FakeServer  # noqa: E402

SDK_LOOP = """
import json, sys
from openai import OpenAI
client = OpenAI()
for line in open(sys.argv[1]):
    row = json.loads(line)
    reply = client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": row["text"]}], temperature=0
    )
    print(json.dumps({"id": row["id"], "output": reply.choices[0].message.content}))
"""


def _measure(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one run of ``cmd``, which must succeed."""
    wall, cpu, proc = run_timed(cmd, env, cwd)
    if proc.returncode != 0:
        raise SystemExit(f"{cmd} failed ({proc.returncode}): {proc.stderr[-500:]}")
    return cpu, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    server = FakeServer().start()
    work = Path(tempfile.mkdtemp(prefix="fieldwise-startup-"))
    data = work / "one.jsonl"
    text = "Kabul, Afghanistan (Jan. 1, 2012) An ISAF patrol detained two suspects."
    data.write_text(json.dumps({"id": "a", "text": text}) + "\n")
    (work / "sdk_loop.py").write_text(SDK_LOOP)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "src"),
        "OPENAI_BASE_URL": server.url,
        "OPENAI_API_KEY": "sk-bench",
    }
    cli = [sys.executable, "-m", "fieldwise.cli"]
    predict = [*cli, "predict", "--model", "openai/m", "--data", str(data), "--quiet"]
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "fieldwise --version": [*cli, "--version"],
        "fieldwise --help": [*cli, "--help"],
        "fieldwise predict (1 row)": predict,
        "SDK loop (1 row)": [sys.executable, str(work / "sdk_loop.py"), str(data)],
    }
    results = {}
    server_cpu, requests = 0.0, 0
    for name, cmd in commands.items():
        cpus, walls = [], []
        for i in range(args.repeats):
            extra = ["--out", str(work / "p.jsonl"), "--project", str(work / f"p{i}")]
            own = time.process_time()
            sent = len(server.snapshot())
            cpu, wall = _measure(cmd + (extra if "predict" in name else []), env, work)
            if name.startswith(("fieldwise predict", "SDK")):
                server_cpu += time.process_time() - own
                requests += len(server.snapshot()) - sent
            cpus.append(cpu)
            walls.append(wall)
        results[name] = (statistics.median(cpus), statistics.median(walls))
        print(f"{name:28s} CPU {results[name][0]:.3f} s   wall {results[name][1]:.3f} s")
    server.stop()
    ours, sdk = results["fieldwise predict (1 row)"][0], results["SDK loop (1 row)"][0]
    print(f"predict / SDK loop CPU ratio: {ours / sdk:.2f}")
    print(f"fake server (and this process) CPU per request: {server_cpu / max(1, requests):.4f} s")
    print(f"load average at the end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
