"""Projects made before the rename keep working.

fieldwise was called extractbench. A project folder, store file or config written under the
old name is used as it is when no new-name one exists, with one line on stderr saying so:
renaming it for the user could lose predictions if two processes disagreed on the name.
This is the only module that knows the old name.
"""

from __future__ import annotations

import sys
from pathlib import Path

OLD_PROJECT_DIR = ".extractbench"
OLD_STORE_FILE = "extractbench.sqlite"
OLD_CONFIG_FILE = "extractbench.yaml"

_said: set[str] = set()


def _say(message: str) -> None:
    if message not in _said:
        _said.add(message)
        print(f"note: {message}", file=sys.stderr)


def project_dir(path: Path) -> Path:
    """``PATH/.fieldwise`` missing beside an existing ``PATH/.extractbench``: use the old one."""
    path = Path(path)
    if path.name != ".fieldwise" or path.exists():
        return path
    old = path.with_name(OLD_PROJECT_DIR)
    if old.is_dir():
        _say(f"using the old project folder {old} (rename it to .fieldwise to silence this)")
        return old
    return path


def store_file(project: Path, filename: str) -> Path:
    """The store in ``project``; an old ``extractbench.sqlite`` is used if no new one exists."""
    new = project / filename
    old = project / OLD_STORE_FILE
    if not new.exists() and old.is_file():
        _say(f"using the old store {old} (rename it to {filename} to silence this)")
        return old
    return new


def config_file(folder: Path, filename: str) -> Path | None:
    """``folder/fieldwise.yaml``, else an old ``extractbench.yaml`` there, else None."""
    new = folder / filename
    if new.is_file():
        return new
    old = folder / OLD_CONFIG_FILE
    if old.is_file():
        _say(f"reading the old config {old} (rename it to {filename} to silence this)")
        return old
    return None
