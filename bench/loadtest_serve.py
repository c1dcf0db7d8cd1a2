"""``fieldwise serve`` under ``fieldwise loadtest``: the tiny random model on this CPU.

The numbers are for regression only (a random 2-layer model emits garbage until its
token limit; what matters is that throughput, latency and TTFT do not get worse). Steps,
each a fresh process as a user would run them:

1. ``python -m fieldwise.finetune.tiny DIR`` builds the tiny model (offline);
2. ``fieldwise serve --base DIR --name tiny --port PORT --device cpu`` serves it;
3. ``fieldwise loadtest --model openai/tiny --option base_url=... --data sample
   --concurrency 1,4,16 --rate 2 --requests 32 --stream --constrained off,on
   --option max_tokens=48 --json`` measures it, schema-constrained decoding off and on
   (the server compiles the task's JSON schema with xgrammar when asked).

Against a GPU server the same step 3 is all it takes (see docs/deploy.md). Run from the
repository root::

    PYTHONPATH=src:. python bench/loadtest_serve.py
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 300) -> None:
    """Wait until the server at ``url`` lists its models (it is then ready to serve)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited ({proc.returncode})")
        try:
            with urllib.request.urlopen(url + "/models", timeout=2):  # noqa: S310 - loopback
                return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"the server did not start within {timeout:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=32)
    parser.add_argument("--levels", default="1,4,16")
    parser.add_argument("--rate", default="2")
    parser.add_argument("--max-tokens", type=int, default=48)
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}"}
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        model = tmp / "tiny"
        subprocess.run([sys.executable, "-m", "fieldwise.finetune.tiny", str(model)],
                       check=True, env=env, capture_output=True)  # fmt: skip
        port = free_port()
        url = f"http://127.0.0.1:{port}/v1"
        serve = subprocess.Popen(
            [sys.executable, "-m", "fieldwise.cli", "serve", "--base", str(model), "--name",
             "tiny", "--port", str(port), "--device", "cpu"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            wait_ready(url, serve)
            cmd = [sys.executable, "-m", "fieldwise.cli", "loadtest", "--model", "openai/tiny",
                   "--option", f"base_url={url}", "--option", f"max_tokens={args.max_tokens}",
                   "--data", "sample", "--concurrency", args.levels, "--rate", args.rate,
                   "--requests", str(args.requests), "--stream", "--constrained", "off,on",
                   "--project", str(tmp / "store"), "--json"]  # fmt: skip
            print("$", " ".join(cmd[2:]), flush=True)
            out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
        finally:
            serve.terminate()
            serve.wait(timeout=30)
    print_levels(json.loads(out.stdout)["levels"])


def print_levels(levels: list[dict[str, Any]]) -> None:
    """One line per level (``model`` first when the level carries one)."""
    for lv in levels:
        where = f"c={lv['concurrency']}" if lv["rate"] is None else f"{lv['rate']:g}/s"
        lat, ttft, tpot = lv["latency_s"], lv["ttft_s"], lv["tpot_s"]
        print(
            (f"{lv['model']:5} " if "model" in lv else "")
            + f"constrained {'on ' if lv['constrained'] else 'off'} {where:6} "
            f"{lv['throughput_docs_s']:.2f} docs/s {lv['output_tokens_s'] or 0:.0f} tok/s "
            f"p50 {lat['p50']:.3f} p95 {lat['p95']:.3f} s, TTFT p50 {ttft['p50']:.3f} "
            f"p95 {ttft['p95']:.3f} s, TPOT p50 {(tpot['p50'] or 0) * 1000:.1f} ms, errors "
            f"{lv['errors']}, valid {lv['valid']:.0%}, client CPU "
            f"{lv['client_cpu_ms_per_request']:.2f} ms/req"
            + (" SATURATED" if lv["generator"]["saturated"] else ""),
            flush=True,
        )


if __name__ == "__main__":
    main()
