"""``fieldwise prices``: the shipped, dated price table."""

from __future__ import annotations

import typer
from rich.table import Table

from fieldwise.cli._common import console, print_json


def prices(
    host: str | None = typer.Option(None, "--host", help="Only this host (openai, together...)."),
    as_json: bool = typer.Option(False, "--json", help="Print the table as one JSON object."),
) -> None:
    """List the list prices fieldwise uses when a model's config gives none (USD per 1M
    tokens), with the date they were checked and how. Override any in the config with
    price: {input_per_mtok, output_per_mtok}, price: {per_hour} or price: {same_as}."""
    from fieldwise.errors import UserError
    from fieldwise.pricing import price_table

    table = price_table()
    rows = [r for r in table.rows() if host is None or r[0] == host]
    if host is not None and not rows:
        raise UserError(
            f"no host '{host}' in the price table", hint=f"use one of {sorted(table.hosts)}"
        )
    if as_json:
        print_json(
            {
                "as_of": table.as_of,
                "sources": table.sources,
                "prices": [
                    {
                        "host": h,
                        "model": name,
                        "input_per_mtok": p.input_per_mtok,
                        "cached_input_per_mtok": p.cached_input_per_mtok,
                        "output_per_mtok": p.output_per_mtok,
                        "batch_discount": p.batch_discount,
                        "verified": p.verified,
                        "note": p.note,
                    }
                    for h, name, p in rows
                ],
            }
        )
        return
    out = Table(title=f"list prices, USD per 1M tokens, as of {table.as_of}", title_justify="left")
    for head in ("host", "model", "input", "cached in", "output", "batch", "checked"):
        out.add_column(
            head, justify="right" if head in ("input", "cached in", "output") else "left"
        )
    for h, name, p in rows:
        cached = "—" if p.cached_input_per_mtok is None else f"{p.cached_input_per_mtok:g}"
        batch = "unknown" if p.batch_discount is None else f"-{p.batch_discount:.0%}"
        out.add_row(h, name, f"{p.input_per_mtok:g}", cached, f"{p.output_per_mtok:g}", batch,
                    p.verified)  # fmt: skip
    console.print(out)
    for h in sorted({r[0] for r in rows}):
        console.print(f"{table.names[h]}: {table.sources[h]}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command()(prices)
