"""The ``fieldwise`` command line: a thin layer over the package's functions.

Each command group lives in its own module and registers itself on :data:`app`. User
mistakes (:class:`~fieldwise.errors.UserError`) print one line and exit 2; anything
else is a bug and prints one line too (exit 1), with ``--debug`` showing the traceback.
``predict`` exits 3 when it stored what succeeded but some rows ended in errors, and
Ctrl-C exits 130. Everything printed, tracebacks included, passes through
:func:`~fieldwise.models._errors.redact` first, since server messages may echo API keys.
"""

from __future__ import annotations

import os
import sys
import traceback

import typer

from fieldwise.cli import _common
from fieldwise.errors import UserError

app = typer.Typer(
    name="fieldwise",
    help="Fine-tune, run, score and compare models that turn text into structured data.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


EXIT_BUG, EXIT_USER, EXIT_ROW_ERRORS, EXIT_INTERRUPTED = 1, 2, 3, 130
"""Exit codes (documented in README.md and docs/reliability.md)."""


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors."),
) -> None:
    _common.STATE.debug = debug


def _register() -> None:
    from fieldwise.cli import compare, data, distill, finetune, optimize, run, store

    for module in (run, compare, data, store, finetune, optimize, distill):
        module.register(app)


_register()


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point with one-line errors."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args or os.environ.get("FIELDWISE_DEBUG") == "1"
    from rich.markup import escape

    from fieldwise.models._errors import redact

    try:
        app(args=args, standalone_mode=True)
    except SystemExit:
        raise
    except KeyboardInterrupt:
        _common.err_console.print("interrupted: finished predictions are saved; rerun to resume")
        raise SystemExit(EXIT_INTERRUPTED) from None
    except Exception as exc:  # noqa: BLE001 - every error ends in one line (or a traceback)
        code = EXIT_USER if isinstance(exc, UserError) else EXIT_BUG
        if debug:
            sys.stderr.write(redact("".join(traceback.format_exception(exc))))
            raise SystemExit(code) from None
        text = str(exc) if code == EXIT_USER else f"{type(exc).__name__}: {exc}"
        tail = "" if code == EXIT_USER else " (run with --debug for the traceback)"
        _common.err_console.print(
            f"[red]error:[/] {escape(redact(text))}{tail}", highlight=False, soft_wrap=True
        )
        raise SystemExit(code) from None


if __name__ == "__main__":
    main()
