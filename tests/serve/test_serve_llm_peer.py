"""simonw's ``llm`` CLI, a third-party client that streams by default, against ``serve``."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")

if importlib.util.find_spec("llm") is None:
    pytest.skip(
        "SKIPPED: the `llm` CLI is not installed (pip install llm, or the dev extra)",
        allow_module_level=True,
    )


def _llm(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    env["LLM_USER_PATH"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "llm", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_llm_streams_an_answer_from_serve(server: str, client: Any, tmp_path: Path) -> None:
    (tmp_path / "extra-openai-models.yaml").write_text(
        f"- model_id: fw-alpha\n  model_name: alpha\n  api_base: {server}\n", encoding="utf-8"
    )
    prompt = "Coalition forces killed two insurgents in Kandahar province."
    done = _llm(tmp_path, "prompt", "-m", "fw-alpha", "-o", "max_tokens", "10", prompt)
    assert done.returncode == 0, done.stderr
    expected = client.chat.completions.create(
        model="alpha", messages=[{"role": "user", "content": prompt}], max_tokens=10
    )
    text = expected.choices[0].message.content
    assert text.strip() and done.stdout == text + "\n"  # llm ends the answer with a newline
    logs = _llm(tmp_path, "logs", "-n", "1", "--json")
    (entry,) = json.loads(logs.stdout)
    assert entry["response_json"]["object"] == "chat.completion.chunk"  # it really streamed
    assert entry["output_tokens"] == expected.usage.completion_tokens
