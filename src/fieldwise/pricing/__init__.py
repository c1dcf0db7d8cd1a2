"""Prices: a shipped, dated table of list prices, config overrides, hourly hardware.

Which price a model gets, in order: the config's ``price:`` for that model (token prices,
``per_hour`` for self-hosted hardware, or ``same_as: HOST/MODEL`` for a fine-tune served
at its base model's rate), else the shipped table's row for its spec (see ``_table``),
else none: its cost is shown as ``unknown``, never as 0. Every cost shown names the
table's date (``price_table().as_of``) or says the price came from the config.
"""

from __future__ import annotations

from typing import Any, Protocol

from fieldwise.errors import UserError
from fieldwise.pricing._price import UNKNOWN, Price, format_usd, provenance
from fieldwise.pricing._table import PriceTable, host_of, price_table, table_price

__all__ = [
    "UNKNOWN",
    "Price",
    "PriceTable",
    "batch_price_for",
    "format_usd",
    "host_of",
    "price_for",
    "price_table",
    "provenance",
    "table_price",
]


class PriceSettings(Protocol):
    """What the config's ``price:`` holds (``fieldwise.config.PriceConfig``)."""

    input_per_mtok: float | None
    output_per_mtok: float | None
    cached_input_per_mtok: float | None
    batch_input_per_mtok: float | None
    batch_output_per_mtok: float | None
    per_hour: float | None
    same_as: str | None


def price_for(
    spec: str, options: dict[str, Any] | None = None, configured: PriceSettings | None = None
) -> Price | None:
    """The online price of ``spec`` (``None``: unknown); ``options['base_url']`` tells
    an ``openai/`` spec's host."""
    if configured is None:
        return table_price(spec, (options or {}).get("base_url"))
    if configured.same_as:
        return _same_as(configured.same_as)
    if configured.per_hour is not None:
        return Price(per_hour=configured.per_hour)
    assert configured.input_per_mtok is not None and configured.output_per_mtok is not None
    return Price(
        configured.input_per_mtok,
        configured.output_per_mtok,
        cached_input_per_mtok=configured.cached_input_per_mtok,
        batch_discount=None,
    )


def batch_price_for(
    spec: str, options: dict[str, Any] | None = None, configured: PriceSettings | None = None
) -> Price | None:
    """The batch-API price of ``spec``: the config's batch prices (half its online ones
    when not given, which is what OpenAI and Anthropic charge), else the table price
    less the host's batch discount; ``None`` when unknown."""
    if configured is not None and configured.same_as is None and configured.per_hour is None:
        inp, out = configured.input_per_mtok, configured.output_per_mtok
        assert inp is not None and out is not None
        return Price(
            inp / 2 if configured.batch_input_per_mtok is None else configured.batch_input_per_mtok,
            out / 2
            if configured.batch_output_per_mtok is None
            else configured.batch_output_per_mtok,
        )
    online = price_for(spec, options, configured)
    return None if online is None else online.batch()


def _same_as(spec: str) -> Price:
    from dataclasses import replace

    found = table_price(spec)
    if found is None:
        raise UserError(
            f"price.same_as: the price table has no row for '{spec}'",
            hint="write HOST/MODEL as listed by fieldwise prices (e.g. together/MODEL), "
            "or give input_per_mtok and output_per_mtok",
        )
    return replace(found, source="same_as", note=spec)
