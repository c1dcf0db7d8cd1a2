"""Errors meant for the person at the keyboard.

Anything raised as :class:`UserError` is printed by the CLI as one line (plus a hint on
how to fix it) and exits non-zero; everything else is a bug and shows a traceback only
with ``--debug``.
"""

from __future__ import annotations


class UserError(Exception):
    """A mistake in input, configuration or environment that the user can fix."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint

    def __str__(self) -> str:
        base = super().__str__()
        return f"{base} ({self.hint})" if self.hint else base


class MissingDependency(UserError):
    """An optional extra is needed for this feature."""

    def __init__(self, package: str, extra: str) -> None:
        super().__init__(
            f"this feature needs the '{package}' package",
            hint=f"pip install 'extractbench[{extra}]'",
        )


def require(module: str, extra: str) -> None:
    """Import-check an optional dependency and explain which extra provides it."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise MissingDependency(module, extra)
