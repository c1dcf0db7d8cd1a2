"""Shared pieces of the hosted-provider tests: a chat training file, a real PEFT adapter
of the tiny model packed as a service would send it, and a ``fieldwise finetune`` run in a
child process that the test can ``kill -9`` at a chosen moment."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml


def chat_file(path: Path, rows: int = 12) -> Path:
    lines = [
        {
            "messages": [
                {"role": "system", "content": "Extract the city and the number of people."},
                {"role": "user", "content": f"{i % 4 + 1} people took the train to Oslo."},
                {"role": "assistant", "content": json.dumps({"city": "oslo", "people": i % 4 + 1})},
            ]
        }
        for i in range(rows)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in lines), encoding="utf-8")
    return path


def peft_adapter(base_dir: Path, out: Path) -> Path:
    """A freshly initialised LoRA adapter of the model at ``base_dir`` (PEFT files)."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(base_dir)
    peft = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules="all-linear"))
    peft.save_pretrained(out)
    return out


def pack(folder: Path, fmt: str = "tar.zst", prefix: str = "adapter") -> bytes:
    """``folder``'s files as an archive under ``prefix/``: ``tar.zst`` or ``zip``."""
    if fmt == "zip":
        import zipfile

        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            for f in sorted(folder.iterdir()):
                zf.write(f, f"{prefix}/{f.name}")
        return buf.getvalue()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for f in sorted(folder.iterdir()):
            tf.add(f, f"{prefix}/{f.name}")
    import zstandard

    return zstandard.ZstdCompressor().compress(buf.getvalue())


def write_config(path: Path, config: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def finetune_child(config: Path, project: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """``fieldwise finetune CONFIG --project P`` in a child process (this checkout's code)."""
    src = str(Path(__file__).resolve().parents[2] / "src")
    child_env = {**os.environ, **env}
    child_env["PYTHONPATH"] = os.pathsep.join([src, child_env.get("PYTHONPATH", "")])
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fieldwise.cli",
            "finetune",
            str(config),
            "--project",
            str(project),
            "-q",
        ],
        env=child_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def kill_when(
    child: subprocess.Popen[bytes], ready: Callable[[], bool], timeout: float = 60
) -> None:
    """``kill -9`` the child as soon as ``ready()`` holds (fails the test if it never does)."""
    deadline = time.monotonic() + timeout
    while not ready():
        if child.poll() is not None:
            out, err = child.communicate()
            raise AssertionError(
                f"the child ended early ({child.returncode}): {err.decode()[-2000:]}"
            )
        if time.monotonic() > deadline:
            child.kill()
            raise AssertionError("the moment to kill never came")
        time.sleep(0.02)
    os.kill(child.pid, signal.SIGKILL)
    child.wait(10)
    assert child.returncode == -signal.SIGKILL
