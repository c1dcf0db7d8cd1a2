"""A small synthetic nested task for tests: an invoice with a vendor object and line items.

It has every nested feature the scorer handles: an ``object`` field, a ``records`` field
keyed by SKU, optional fields, ``number`` leaves with relative and absolute tolerances, a
``text_similarity`` leaf and an ISO ``date`` leaf. The values below are invented.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from fieldwise.tasks import Metric, Task


class Country(StrEnum):
    de = "de"
    fr = "fr"
    uk = "uk"


class Vendor(BaseModel):
    name: Annotated[str, Metric.text_similarity()] = Field(description="the seller's name")
    country: Country = Field(description="where the seller is registered")
    vat_id: str | None = Field(default=None, description="VAT number, null when not printed")


class LineItem(BaseModel):
    sku: str = Field(description="the article number")
    description: Annotated[str, Metric.text_similarity()]
    quantity: int
    unit_price: Annotated[float, Metric.number(rel=0.01)]
    total: Annotated[float, Metric.number(abs=0.5)]


class Invoice(BaseModel):
    number: str = Field(description="the invoice number")
    issued: Annotated[dt.date, Metric.date()]
    currency: Literal["EUR", "USD", "GBP"]
    vendor: Vendor
    line_items: list[LineItem]
    po_number: str | None = Field(default=None, description="purchase order, if any")
    note: Annotated[str, Metric.ignore()] = ""


INVOICE = Task.from_model("invoice", Invoice, description="synthetic invoices (tests)")
KEYED = Task.from_model(
    "invoice_keyed",
    Invoice,
    metrics={"line_items": Metric.records(key=("sku",), match_threshold=0.6)},
)


def item(sku: str, desc: str, qty: int, price: float, total: float | None = None) -> dict[str, Any]:
    return {
        "sku": sku,
        "description": desc,
        "quantity": qty,
        "unit_price": price,
        "total": round(qty * price, 2) if total is None else total,
    }


def invoice(**overrides: Any) -> dict[str, Any]:
    """A complete gold invoice; keyword arguments replace top-level values."""
    row: dict[str, Any] = {
        "number": "INV-1001",
        "issued": "2024-03-05",
        "currency": "EUR",
        "vendor": {"name": "Acme Widgets GmbH", "country": "de", "vat_id": "DE123456789"},
        "line_items": [
            item("A-1", "steel bolts, 10 mm", 100, 0.25),
            item("B-2", "hex nuts", 100, 0.1),
            item("C-3", "washers", 50, 0.05),
        ],
        "po_number": None,
        "note": "",
    }
    row.update(overrides)
    return row
