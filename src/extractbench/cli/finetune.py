"""``extractbench finetune`` and ``extractbench serve`` (wired once their stages exist)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    return None
