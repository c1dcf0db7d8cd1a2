"""The ``fieldwise`` command line: a thin layer over the package's functions.

Each command group lives in its own module and registers itself on the typer app
(``fieldwise.cli._app``, imported on first use: ``fieldwise --version`` answers before
typer, rich or anything else is imported). User mistakes
(:class:`~fieldwise.errors.UserError`) and command-line usage errors print one line and
exit 2; anything else is a bug and prints one line too (exit 1), with ``--debug``
showing the traceback. ``predict`` exits 3 when it stored what succeeded but some rows
ended in errors; ``data check`` exits 4 when it finds leaks. Ctrl-C exits 130 and
SIGTERM 143, both after saying what was kept. Everything printed, tracebacks included,
passes through :func:`~fieldwise.models._errors.redact` first, since server messages may
echo API keys.

Results (the report path, JSON with ``--json``, tables of results) go to stdout;
progress bars, notes and errors go to stderr, so ``REPORT=$(fieldwise run)`` works.
"""

from __future__ import annotations

import os
import sys
from typing import Any, NoReturn

EXIT_BUG, EXIT_USER, EXIT_ROW_ERRORS, EXIT_FINDINGS = 1, 2, 3, 4
EXIT_INTERRUPTED, EXIT_TERMINATED = 130, 143
"""Exit codes (documented in README.md and docs/reliability.md)."""


def __getattr__(name: str) -> Any:
    """``fieldwise.cli.app``: the typer app, built on first use."""
    if name == "app":
        from fieldwise.cli._app import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main(argv: list[str] | None = None) -> NoReturn:
    """Console-script entry point with one-line errors; always ends in ``SystemExit``
    with the exit code (0 included), as typer's own entry point did."""
    args = sys.argv[1:] if argv is None else list(argv)
    if args == ["--version"]:
        from fieldwise import __version__

        print(f"fieldwise {__version__}")
        raise SystemExit(0)
    debug = "--debug" in args or os.environ.get("FIELDWISE_DEBUG") == "1"
    from fieldwise.cli._interrupt import KEPT, kept_summary, sigterm_as_interrupt

    interrupted = False
    with sigterm_as_interrupt() as stop:
        try:
            code = _invoke(args)
        except KeyboardInterrupt:
            interrupted = True
        except Exception as exc:  # noqa: BLE001 - every error ends in one line (or a traceback)
            code = _report(exc, debug)
    if interrupted:  # handlers restored: a second SIGTERM while summing up ends at once
        terminated = stop.signum is not None
        try:
            summary = kept_summary()
        except KeyboardInterrupt:  # a second Ctrl-C: no counting, just the gist
            summary = KEPT
        _say(summary, "terminated:" if terminated else "interrupted:")
        code = EXIT_TERMINATED if terminated else EXIT_INTERRUPTED
    raise SystemExit(code)


def _invoke(args: list[str]) -> int:
    """Run the command; returns its exit code. Usage errors (an unknown option, a
    missing argument) become one line, like every other mistake, instead of a box."""
    import warnings

    import typer

    from fieldwise.cli._app import app

    # Deprecation notes that transformers, peft and trl raise about each other's calls
    # (``is_gradient_checkpointing`` on every adapter load) are nothing a user can act on.
    warnings.filterwarnings(
        "ignore", category=FutureWarning, module=r"(transformers|peft|trl|accelerate)(\.|$)"
    )

    command = typer.main.get_command(app)
    try:
        with command.make_context("fieldwise", args) as ctx:
            command.invoke(ctx)
    except typer.Exit as exc:
        return int(exc.exit_code or 0)
    except typer.Abort:
        raise KeyboardInterrupt from None
    except BrokenPipeError:
        # The reader went away (`fieldwise store runs | head`): nothing left to say, and
        # Python must not complain while flushing stdout at exit (see the signal docs).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BUG
    except Exception as exc:
        if not (hasattr(exc, "format_message") and hasattr(exc, "exit_code")):
            raise
        # A click usage error. No arguments at all prints the help first (empty message).
        message = exc.format_message()
        if "\n" in message:
            print(message, file=sys.stderr)
        elif message:
            failed = getattr(exc, "ctx", None)
            where = f" (see {failed.command_path} --help)" if failed is not None else ""
            _say(f"{message}{where}", "error:")
        return int(exc.exit_code)
    return 0


def _report(exc: Exception, debug: bool) -> int:
    """One line (or the traceback with ``--debug``) for an error; its exit code."""
    import traceback

    from fieldwise.errors import UserError
    from fieldwise.models._errors import redact

    code = EXIT_USER if isinstance(exc, UserError) else EXIT_BUG
    if debug:
        sys.stderr.write(redact("".join(traceback.format_exception(exc))))
        return code
    text = str(exc) if code == EXIT_USER else f"{type(exc).__name__}: {exc}"
    tail = "" if code == EXIT_USER else " (run with --debug for the traceback)"
    _say(f"{redact(text)}{tail}", "error:")
    return code


def _say(line: str, label: str = "") -> None:
    """One line on stderr; ``label`` in red on a terminal. User text is escaped, never
    read as rich markup, and never wrapped."""
    from rich.markup import escape

    from fieldwise.cli._common import err_console

    head = f"[red]{label}[/] " if label else ""
    err_console.print(head + escape(line), highlight=False, soft_wrap=True)


if __name__ == "__main__":
    main()
