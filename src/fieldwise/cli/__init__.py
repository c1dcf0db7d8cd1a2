"""The ``fieldwise`` command line: a thin layer over the package's functions.

Each command group lives in its own module and registers itself on :data:`app`. User
mistakes (:class:`~fieldwise.errors.UserError`) print one line and exit 2; anything
else is a bug and prints one line too, with ``--debug`` showing the traceback.
"""

from __future__ import annotations

import os
import sys

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


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors."),
) -> None:
    _common.STATE.debug = debug


def _register() -> None:
    from fieldwise.cli import compare, data, finetune, run, store

    for module in (run, compare, data, store, finetune):
        module.register(app)


_register()


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point with one-line errors."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args or os.environ.get("FIELDWISE_DEBUG") == "1"
    try:
        app(args=args, standalone_mode=True)
    except SystemExit:
        raise
    except UserError as exc:
        if debug:
            raise
        _common.err_console.print(f"[red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        _common.err_console.print("interrupted: finished predictions are saved; rerun to resume")
        raise SystemExit(130) from None
    except Exception as exc:  # noqa: BLE001
        if debug:
            raise
        _common.err_console.print(
            f"[red]error:[/] {type(exc).__name__}: {exc} (run with --debug for the traceback)",
            highlight=False,
            soft_wrap=True,
        )
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
