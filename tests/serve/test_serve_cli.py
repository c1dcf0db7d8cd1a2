"""``fieldwise serve`` in the foreground: it starts, answers a stream, and stops on Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.serve.helpers import chat_body

pytest.importorskip("torch")


def test_cli_serves_until_interrupted(models: dict[str, Path]) -> None:
    src = Path(__file__).resolve().parents[2] / "src"
    env = {**os.environ, "PYTHONPATH": str(src)}
    command = [sys.executable, "-m", "fieldwise.cli", "serve", "--base", str(models["base"])]
    command += ["--port", "0", "--device", "cpu", "--max-request-seconds", "5"]
    proc = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        url = None
        deadline = time.monotonic() + 120
        while url is None and time.monotonic() < deadline:
            line = proc.stderr.readline()
            assert line, "the server exited before printing its address"
            if found := re.search(r"at (http://\S+/v1)", line):
                url = found.group(1)
        assert url is not None
        with httpx.stream(
            "POST", f"{url}/chat/completions", json=chat_body(max_tokens=3, stream=True)
        ) as reply:
            lines = [line for line in reply.iter_lines() if line]
        assert lines[-1] == "data: [DONE]"
        assert httpx.get(f"{url}/stats").json()["max_request_s"] == 5
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
        assert "stopping" in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
