"""An example of a nested task: invoices with a vendor, a customer and line items.

Load it with ``fieldwise ... --task examples/invoices/task.py:INVOICES`` or from a project
config (``task: task.py:INVOICES``). It shows every nested feature: ``object`` fields
(``vendor``, ``customer``), a ``records`` field (``line_items``), optional fields
(``X | None``: null is a value that can be right), a ``number`` leaf with a tolerance and
a ``text_similarity`` leaf, all declared on the schema itself with ``Metric``.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, Field

from fieldwise.tasks import Metric, Task


class Country(StrEnum):
    at = "at"
    ch = "ch"
    cz = "cz"
    de = "de"
    dk = "dk"
    es = "es"
    fi = "fi"
    fr = "fr"
    gb = "gb"
    ie = "ie"
    it = "it"
    nl = "nl"
    us = "us"


class Currency(StrEnum):
    eur = "eur"
    usd = "usd"
    gbp = "gbp"
    chf = "chf"


class Vendor(BaseModel):
    name: str = Field(description="the seller's name as printed, legal form included")
    country: Country | None = Field(
        description="ISO code of the seller's country; null when the address names none"
    )
    vat_id: str | None = Field(description="the seller's VAT number; null when not printed")


class Customer(BaseModel):
    name: str = Field(description="who is billed")
    country: Country | None = Field(description="ISO code of the customer's country, or null")


class LineItem(BaseModel):
    description: Annotated[str, Metric.text_similarity()] = Field(
        description="what was sold, as the invoice words it"
    )
    sku: str | None = Field(description="the article number; null when the line has none")
    quantity: int = Field(ge=0, description="how many units, hours or days")
    unit_price: Annotated[float, Metric.number(rel=0.01)] = Field(
        description="price of one unit before VAT"
    )


class Invoice(BaseModel):
    """One invoice."""

    invoice_number: str = Field(description="the invoice number, without 'No.' or '#'")
    issue_date: Annotated[dt.date, Metric.date()] = Field(description="when it was issued")
    due_date: Annotated[dt.date | None, Metric.date()] = Field(
        description="when payment is due; null when payable on receipt"
    )
    vendor: Vendor = Field(description="who sends the invoice")
    customer: Customer = Field(description="who is billed")
    currency: Currency = Field(description="the invoice currency")
    line_items: list[LineItem] = Field(description="one entry per billed line, in order")
    total: Annotated[float, Metric.number(rel=0.005)] = Field(
        description="the amount due, VAT included"
    )


_COUNTRY_NAMES = {
    "austria": "at", "switzerland": "ch", "czech republic": "cz", "czechia": "cz",
    "germany": "de", "denmark": "dk", "spain": "es", "finland": "fi", "france": "fr",
    "united kingdom": "gb", "uk": "gb", "great britain": "gb", "ireland": "ie",
    "italy": "it", "netherlands": "nl", "the netherlands": "nl", "usa": "us",
    "united states": "us", "united states of america": "us",
}  # fmt: skip
"""Country names as invoices write them: the strict profile reads "Germany" as ``de``,
and the aligner finds the evidence of ``de`` where the text says "Germany"."""
_CURRENCY_NAMES = {"£": "gbp", "€": "eur", "$": "usd", "euro": "eur", "euros": "eur",
                   "pounds": "gbp", "dollars": "usd", "francs": "chf"}  # fmt: skip

RULES = """\
- Copy names, numbers and descriptions as printed; do not translate or expand them.
- A country is an ISO 3166 alpha-2 code in lower case ("United Kingdom" = "gb") and only
when the text names the country; a city alone is not enough (null).
- quantity: the count before "x"/"@", or the hours/units of a line; unit_price: per unit,
before VAT; total: the final amount due (after VAT when VAT is charged).
- due_date: the stated due date, or the issue date plus the stated payment days; null
when the invoice is payable on receipt."""

INVOICES = Task.from_model(
    "invoices",
    Invoice,
    description="Invoices with a vendor, a customer and line items (nested example).",
    # Line items are matched one-to-one before scoring; 0.5 is the default threshold,
    # spelled out here to show where it is set.
    metrics={"line_items": Metric.records(match_threshold=0.5)},
    aliases={
        "vendor.country": _COUNTRY_NAMES,
        "customer.country": _COUNTRY_NAMES,
        "currency": _CURRENCY_NAMES,
    },
    instructions=RULES,
    sample_path=Path(__file__).with_name("data.jsonl"),
)
