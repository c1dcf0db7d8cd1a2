"""Shared CLI helpers: consoles, option parsing."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

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


def n_predictions(n: int) -> str:
    """``1 prediction``, ``8 predictions``: the count in the commands' result lines."""
    return f"{n} prediction{'' if n == 1 else 's'}"


def print_json(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False))


_ABSOLUTE = re.compile(r"(?:(?<=^)|(?<=[\s:/=]))/[^\s:]+")
"""An absolute path inside a longer text: alone, or after ``provider/``, ``:`` or ``=``
(``hf//models/base:/runs/lora``)."""


def show_path(text: str) -> str:
    """``text`` with each absolute path shortened for people: relative to the current
    folder when inside it, else ``~/...`` under the home folder. Stored values keep their
    full paths; only what is printed is shortened."""
    return _ABSOLUTE.sub(lambda m: _short(m.group(0)), text)


def _short(path: str) -> str:
    target = Path(path)
    for base, prefix in ((Path.cwd(), ""), (Path.home(), "~/")):
        try:
            rel = target.relative_to(base)
        except ValueError:
            continue
        return prefix + str(rel) if str(rel) != "." else (prefix.rstrip("/") or ".")
    return path


T = TypeVar("T")


def validated(build: Callable[[], T], flags: dict[str, str]) -> T:
    """``build()`` (a config built from command-line values), its validation errors as
    one line naming the option the user typed (``flags`` maps field paths such as
    ``data.limit`` to ``--limit``) instead of pydantic's multi-line report."""
    from pydantic import ValidationError

    try:
        return build()
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        name = flags.get(loc, loc)
        message = first["msg"].removeprefix("Value error, ")
        raise UserError(f"{name}: {message}" if name else message) from None
