"""Shared CLI helpers: consoles, option parsing."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console

from fieldwise.errors import UserError

console = Console()
err_console = Console(stderr=True)


@dataclass
class _State:
    debug: bool = False


STATE = _State()


def parse_options(pairs: list[str] | None) -> dict[str, Any]:
    """``key=value`` pairs into a dict; values are read as YAML (numbers, bools, lists)."""
    options: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UserError(f"bad option '{pair}'", hint="write --option key=value")
        try:
            options[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError:
            options[key.strip()] = value
    return options


def refuse_to_overwrite(outputs: list[Path], inputs: list[str | None], option: str) -> None:
    """A command must never write over a file it reads (``predict --data X --out X``
    would replace the labelled input with outputs): refuse before reading anything."""
    for out in outputs:
        for source in inputs:
            if source is None or not Path(source).is_file() or not out.exists():
                continue
            if out.resolve() == Path(source).resolve() or out.samefile(source):
                raise UserError(
                    f"{option} {out} is the input file {source}; it would be overwritten",
                    hint=f"choose another {option}",
                )


def print_json(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False))
