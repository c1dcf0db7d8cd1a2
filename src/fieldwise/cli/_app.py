"""The typer application: the root options and every command group registered on it.

Kept apart from ``fieldwise.cli`` so that ``fieldwise --version`` (answered by
:func:`fieldwise.cli.main` before anything is imported) never pays for typer and rich.
"""

from __future__ import annotations

import typer

from fieldwise.cli import _common

app = typer.Typer(
    name="fieldwise",
    help="Fine-tune, run, score and compare models that turn text into structured data.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _show_version(value: bool) -> None:
    if value:
        from fieldwise import __version__

        print(f"fieldwise {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors."),
    version: bool = typer.Option(
        False,
        "--version",
        help="Print the version and exit.",
        callback=_show_version,
        is_eager=True,
    ),
) -> None:
    _common.STATE.debug = debug


def _register() -> None:
    from fieldwise.cli import (
        align,
        compare,
        data,
        distill,
        finetune,
        optimize,
        review,
        run,
        store,
        trust,
    )

    for module in (run, compare, data, store, finetune, optimize, distill, align, trust, review):
        module.register(app)


_register()
