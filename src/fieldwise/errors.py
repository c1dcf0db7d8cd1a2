"""Errors meant for the person at the keyboard.

Anything raised as :class:`UserError` is printed by the CLI as one line (plus a hint on
how to fix it) and exits non-zero; everything else is a bug and shows a traceback only
with ``--debug``.
"""

from __future__ import annotations

import functools
import re


class UserError(Exception):
    """A mistake in input, configuration or environment that the user can fix."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint

    def __str__(self) -> str:
        base = super().__str__()
        return f"{base} ({self.hint})" if self.hint else base


def extra_of(package: str) -> str | None:
    """The optional extra of fieldwise that brings ``package`` (an import name), read from
    the installed distribution's own metadata, so that no table has to repeat
    ``pyproject.toml``; ``None`` for a core dependency or when fieldwise's metadata is
    not installed."""
    return _extras().get(package.split(".")[0].lower().replace("_", "-"))


@functools.lru_cache(maxsize=1)
def _extras() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, requires

    try:
        lines = requires("fieldwise") or []
    except PackageNotFoundError:
        return {}
    out: dict[str, str] = {}
    for line in lines:
        name = re.match(r"[A-Za-z0-9_.\-]+", line)
        extra = re.search(r"extra\s*==\s*[\"']([^\"']+)", line)
        if name and extra and extra.group(1) != "dev" and name.group(0) != "fieldwise":
            out.setdefault(name.group(0).lower().replace("_", "-"), extra.group(1))
    return out


def install_hint(package: str, extra: str | None = None) -> str:
    """``pip install 'fieldwise[EXTRA]'`` for an optional package; a core one means a broken
    install, so the hint reinstalls the package itself."""
    extra = extra or extra_of(package)
    if extra:
        return f"pip install 'fieldwise[{extra}]'"
    return "pip install --force-reinstall fieldwise"


class MissingDependency(UserError):
    """An optional extra is needed for this feature."""

    def __init__(self, package: str, extra: str | None = None) -> None:
        super().__init__(
            f"this feature needs the '{package}' package", hint=install_hint(package, extra)
        )


def require(module: str, extra: str | None = None) -> None:
    """Import-check an optional dependency and explain which extra provides it."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise MissingDependency(module, extra)


def did_you_mean(word: str, choices: list[str] | tuple[str, ...]) -> str | None:
    """``did you mean 'train'?`` for a misspelt key or name (``tain``), when one of
    ``choices`` is close enough to be the likely intent; ``None`` otherwise."""
    import difflib

    by_lower = {choice.lower(): choice for choice in choices}
    close = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.6)
    return f"did you mean '{by_lower[close[0]]}'?" if close else None
