"""Timing a command as a fresh process, the way a user pays for it."""

from __future__ import annotations

import resource
import subprocess
import time
from pathlib import Path


def run_timed(
    cmd: list[str], env: dict[str, str], cwd: Path | None = None
) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    """(wall seconds, the child's CPU seconds: user + system, the finished process).
    CPU comes from ``RUSAGE_CHILDREN``, so a server in the calling process is not on it."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc
