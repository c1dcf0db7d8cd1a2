"""Write ``examples/invoices/data.jsonl``: invented invoices with nested labels.

Every company, address, number and item is made up for fieldwise. Labels are set
together with the text, so they agree with it by construction (see ``RULES`` in
``task.py``): the text states each label that is not null, and a null label means the
text does not state it. Deterministic: run ``python examples/invoices/make_data.py``
from the repository root to rebuild the file.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path
from typing import Any

SEED = 11
ROWS = 180
OUT = Path(__file__).with_name("data.jsonl")

# (name, street, city, country code, country as written, VAT id or None)
VENDORS = [
    ("Brightline Office Supply GmbH", "Lindenweg 14", "Leipzig", "de", "Germany", "DE281734905"),
    ("Kestrel Web Studio B.V.", "Prinsengracht 301", "Utrecht", "nl", "the Netherlands",
     "NL861203447B01"),
    ("Copperleaf Catering Ltd", "7 Tanner Row", "York", "gb", "United Kingdom", "GB448120937"),
    ("Atelier Roux SARL", "22 rue des Tilleuls", "Lyon", "fr", "France", "FR51904417263"),
    ("Northgate Print & Sign Inc.", "1180 Harbor Blvd", "Portland", "us", "USA", None),
    ("Alpenblick Software AG", "Seestrasse 9", "Lucerne", "ch", "Switzerland", "CHE-412.907.338"),
    ("Tessera Tiles S.L.", "Calle del Olmo 45", "Valencia", "es", "Spain", "ESB70423918"),
    ("Fenwick & Daughters Joinery", "3 Mill Lane", "Bath", "gb", "UK", None),
    ("Ostrava Cloud Hosting s.r.o.", "Nádražní 18", "Brno", "cz", "Czech Republic",
     "CZ07231456"),
    ("Bluewater Marine Supplies LLC", "42 Dockside Ave", "Savannah", "us", "United States",
     None),
    ("Studio Verde Architetti", "Via dei Mille 12", "Bologna", "it", "Italy", "IT03318420371"),
    ("Greywing Translation Services", "Rosenvænget 5", "Aarhus", "dk", "Denmark",
     "DK39014472"),
]  # fmt: skip
CUSTOMERS = [
    ("Harbor & Finch Ltd", "Bristol", "gb", "United Kingdom"),
    ("Alder Dental Group", "Rotterdam", "nl", "the Netherlands"),
    ("Meridian Events GmbH", "Hamburg", "de", "Germany"),
    ("Pinecrest Veterinary Clinic", "Boise", "us", "USA"),
    ("Lumen Robotics SAS", "Grenoble", "fr", "France"),
    ("Quayside Rowing Club", "Cork", "ie", "Ireland"),
    ("Hollis Family Dentistry", "Denver", "us", "United States"),
    ("Café Sorriso", "Turin", "it", "Italy"),
    ("Vantaa Logistics Oy", "Vantaa", "fi", "Finland"),
    ("Marlow Community Library", "Marlow", "gb", "UK"),
    ("Solano Vineyards S.A.", "Logroño", "es", "Spain"),
    ("Kinetic Physio Praxis", "Graz", "at", "Austria"),
]
CURRENCY_BY_COUNTRY = {"gb": "gbp", "us": "usd", "ch": "chf", "cz": "eur", "dk": "eur"}
VAT_RATE = {"de": 19, "nl": 21, "gb": 20, "fr": 20, "ch": 8, "es": 21, "it": 22, "cz": 21,
            "dk": 25, "us": 0}  # fmt: skip

# What each vendor sells: (description, SKU or None, unit price range, unit word)
CATALOGUE: dict[str, list[tuple[str, str | None, tuple[float, float], str]]] = {
    "Brightline Office Supply GmbH": [
        ("A4 copy paper, 80 gsm, box of 5 reams", "PAP-A4-80", (21, 29), "box"),
        ("Ergonomic mesh office chair", "CHR-ERG-2", (149, 239), "chair"),
        ("Whiteboard markers, assorted colours, pack of 12", "MRK-WB-12", (8, 14), "pack"),
        ("Desk organiser in bamboo", None, (17, 26), "piece"),
        ("Laser toner cartridge, black", "TNR-BK-410", (59, 89), "cartridge"),
    ],
    "Kestrel Web Studio B.V.": [
        ("Front-end development", None, (78, 110), "hour"),
        ("UX review of the checkout flow", None, (450, 900), "review"),
        ("Domain renewal, one year", "DOM-RNW", (12, 25), "domain"),
        ("Managed WordPress hosting, monthly", "HST-WP-M", (19, 45), "month"),
    ],
    "Copperleaf Catering Ltd": [
        ("Vegetarian lunch box", "LB-VEG", (7.5, 11), "box"),
        ("Hot buffet for conference delegates", None, (18, 32), "guest"),
        ("Fresh fruit platter", "PLT-FRT", (24, 40), "platter"),
        ("Filter coffee and tea service", "BEV-CT", (2.2, 3.8), "cup"),
    ],
    "Atelier Roux SARL": [
        ("Hand-bound leather notebook", "NB-CUIR", (32, 55), "notebook"),
        ("Custom embossed letterhead, 500 sheets", "LH-500", (120, 190), "set"),
        ("Calligraphy workshop for staff", None, (380, 640), "session"),
    ],
    "Northgate Print & Sign Inc.": [
        ("Vinyl window lettering", None, (140, 420), "job"),
        ("Roll-up banner stand, 85 x 200 cm", "BNR-85", (95, 160), "banner"),
        ("Business cards, 500 per box", "BC-500", (28, 49), "box"),
        ("Illuminated storefront sign installation", None, (1800, 3900), "installation"),
    ],
    "Alpenblick Software AG": [
        ("Annual licence, inventory module", "LIC-INV-Y", (900, 2400), "licence"),
        ("Onboarding training, remote", None, (600, 1200), "day"),
        ("Priority support plan, quarterly", "SUP-PRI-Q", (350, 700), "quarter"),
    ],
    "Tessera Tiles S.L.": [
        ("Glazed terracotta floor tiles, per square metre", "TRC-30", (24, 46), "square metre"),
        ("Hand-painted azulejo border tile", "AZJ-BRD", (6, 12), "tile"),
        ("Tile adhesive, 25 kg bag", "ADH-25", (14, 22), "bag"),
        ("Delivery to site", None, (60, 140), "delivery"),
    ],
    "Fenwick & Daughters Joinery": [
        ("Oak bookshelf, made to measure", None, (640, 1350), "bookshelf"),
        ("Sash window repair", None, (180, 320), "window"),
        ("Solid ash worktop, 3 m", "ASH-WT-3", (290, 460), "worktop"),
    ],
    "Ostrava Cloud Hosting s.r.o.": [
        ("Virtual server, 4 vCPU / 16 GB, monthly", "VS-4-16", (38, 64), "server"),
        ("Object storage, per 100 GB", "OBJ-100", (2.1, 4.5), "block"),
        ("Managed backup service", "BKP-MGD", (15, 30), "month"),
        ("Migration assistance", None, (70, 95), "hour"),
    ],
    "Bluewater Marine Supplies LLC": [
        ("Stainless steel deck cleat", "CLT-SS-8", (11, 24), "cleat"),
        ("Braided mooring line, 15 m", "ML-15B", (48, 85), "line"),
        ("Marine grade antifouling paint, 2.5 l", "AFP-25", (89, 139), "tin"),
        ("Life jacket, adult, 150N", "LJ-150", (54, 92), "jacket"),
    ],
    "Studio Verde Architetti": [
        ("Feasibility study for the courtyard extension", None, (1200, 2600), "study"),
        ("Site visit and survey", None, (240, 420), "visit"),
        ("Planning application drawings", None, (900, 1900), "set"),
    ],
    "Greywing Translation Services": [
        ("Translation Danish to English, per 1,000 words", None, (95, 140), "block"),
        ("Proofreading of the annual report", None, (260, 520), "document"),
        ("Certified translation of a contract", "CERT-TR", (85, 160), "document"),
    ],
}
MONTHS = "January February March April May June July August September October November December"
MONTH_NAMES = MONTHS.split()
SYMBOL = {"eur": "€", "usd": "$", "gbp": "£", "chf": "CHF "}
GREETINGS = ["Hello", "Hi", "Dear", "Good morning"]
SIGNERS = ["Mara", "Tomasz", "Ines", "Joel", "Priya", "Anneke", "Luca", "Sven", "Hannah"]


def money(amount: float, currency: str, rng: random.Random) -> str:
    """An amount as invoices write it: symbol or code, thousands separators."""
    number = f"{amount:,.2f}"
    code = currency.upper()
    if currency == "chf":
        return rng.choice([f"CHF {number}", f"{number} CHF"])
    return rng.choice([f"{SYMBOL[currency]}{number}", f"{code} {number}", f"{number} {code}"])


def date_text(day: dt.date, rng: random.Random) -> str:
    month = MONTH_NAMES[day.month - 1]
    return rng.choice(
        [day.isoformat(), f"{day.day} {month} {day.year}", f"{month} {day.day}, {day.year}"]
    )


def line_items(vendor: str, rng: random.Random) -> list[dict[str, Any]]:
    choices = rng.sample(CATALOGUE[vendor], k=min(len(CATALOGUE[vendor]), rng.randint(1, 4)))
    items = []
    for description, sku, (lo, hi), unit in choices:
        price = round(rng.uniform(lo, hi), 2)
        if hi >= 100:
            price = float(round(price))
        qty = rng.choice([1, 1, 2, 3, 4, 5, 6, 10, 12, 20, 25, 40])
        if hi >= 600:
            qty = rng.choice([1, 1, 2])
        items.append(
            {
                "description": description,
                "sku": sku if (sku and rng.random() < 0.8) else None,
                "quantity": qty,
                "unit_price": price,
                "_unit": unit,
            }
        )
    return items


def item_line(item: dict[str, Any], currency: str, style: str, rng: random.Random) -> str:
    desc, qty, price = item["description"], item["quantity"], item["unit_price"]
    sku = item["sku"]
    each = money(price, currency, rng)
    if style == "table":
        return f"{desc} | {sku or '-'} | {qty} | {each}"
    if style == "dash":
        tag = f" (SKU {sku})" if sku else ""
        unit = item["_unit"] if qty == 1 else _plural(item["_unit"])
        return rng.choice(
            [
                f"- {qty} x {desc}{tag} at {each} each",
                f"- {desc}{tag}: {qty} {unit} at {each} per {item['_unit']}",
            ]
        )
    tag = f" [{sku}]" if sku else ""
    return f"{qty} @ {each}  {desc}{tag}"


def _plural(unit: str) -> str:
    if unit.endswith(("s", "x")):
        return unit + "es"
    if unit.endswith("y") and not unit.endswith("ey"):
        return unit[:-1] + "ies"
    return unit + "s"


def invoice(rng: random.Random, index: int) -> dict[str, Any]:
    v_name, street, v_city, v_cc, v_country, vat = rng.choice(VENDORS)
    c_name, c_city, c_cc, c_country = rng.choice(CUSTOMERS)
    currency = CURRENCY_BY_COUNTRY.get(v_cc, "eur")
    if v_cc == "us" and c_cc != "us" and rng.random() < 0.4:
        currency = "eur"
    issued = dt.date(2023, 1, 1) + dt.timedelta(days=rng.randrange(900))
    terms = rng.choice([14, 30, 30, 45, 60, 0])
    due = issued + dt.timedelta(days=terms) if terms else None
    prefix = rng.choice(["INV-", "", "F", "RE-", "2024/"])
    number = f"{prefix}{rng.randint(1000, 98000)}"
    items = line_items(v_name, rng)
    subtotal = round(sum(i["quantity"] * i["unit_price"] for i in items), 2)
    rate = VAT_RATE.get(v_cc, 0) if c_cc == v_cc or v_cc in ("gb", "us", "ch") else 0
    tax = round(subtotal * rate / 100, 2)
    total = round(subtotal + tax, 2)
    show_vat_id = vat is not None and rng.random() < 0.75
    show_v_country = rng.random() < 0.7
    show_c_country = rng.random() < 0.5
    style = rng.choice(["formal", "email", "compact"])
    vendor_where = f"{street}, {v_city}" + (f", {v_country}" if show_v_country else "")
    customer_where = c_city + (f", {c_country}" if show_c_country else "")
    vat_id = vat if show_vat_id else None
    if style == "formal":
        lines = [
            rng.choice(["INVOICE", "Tax invoice", "Invoice"]) + f" No. {number}",
            f"Issue date: {date_text(issued, rng)}",
        ]
        if due:
            lines.append(f"{rng.choice(['Due date', 'Payment due'])}: {date_text(due, rng)}")
        else:
            lines.append("Terms: payable on receipt")
        lines += ["", f"From: {v_name}, {vendor_where}"]
        if vat_id:
            lines.append(f"VAT reg. no.: {vat_id}")
        lines += [f"Bill to: {c_name}, {customer_where}", "", "Description | SKU | Qty | Price"]
        lines += [item_line(i, currency, "table", rng) for i in items]
        lines.append(f"Subtotal: {money(subtotal, currency, rng)}")
        lines.append(f"VAT {rate}%: {money(tax, currency, rng)}" if rate else "VAT: not applicable")
        lines.append(f"{rng.choice(['Total due', 'Amount due', 'TOTAL'])}: "
                     f"{money(total, currency, rng)}")  # fmt: skip
        text = "\n".join(lines)
    elif style == "email":
        signer = rng.choice(SIGNERS)
        when = (
            f"It is dated {date_text(issued, rng)} and payable by {date_text(due, rng)}."
            if due
            else f"It was issued on {date_text(issued, rng)} and is due on receipt."
        )
        tax_line = (
            f"That is {money(subtotal, currency, rng)} plus {rate}% VAT, "
            f"{money(total, currency, rng)} in total."
            if rate
            else f"The amount due is {money(total, currency, rng)} (no VAT charged)."
        )
        vat_line = f" Our VAT number is {vat_id}." if vat_id else ""
        items_text = "\n".join(item_line(i, currency, "dash", rng) for i in items)
        text = (
            f"Subject: Invoice {number}\n\n{rng.choice(GREETINGS)} {c_name} team,\n\n"
            f"please find our invoice {number} below. {when}\n\n{items_text}\n\n"
            f"{tax_line}{vat_line}\n\nKind regards,\n{signer}\n{v_name}\n{vendor_where}\n"
            f"(sent to {c_name}, {customer_where})"
        )
    else:
        head = f"{v_name} / {vendor_where}"
        if vat_id:
            head += f" / VAT {vat_id}"
        terms_line = f"due {date_text(due, rng)}" if due else "pay on receipt"
        text = (
            f"{head}\n#{number}  {date_text(issued, rng)}  {terms_line}\n"
            f"Customer: {c_name} ({customer_where})\n"
            + "\n".join(item_line(i, currency, "compact", rng) for i in items)
            + (f"\nnet {money(subtotal, currency, rng)}  tax {rate}%" if rate else "")
            + f"\nTOTAL {money(total, currency, rng)}"
        )
    return {
        "text": text,
        "invoice_number": number,
        "issue_date": issued.isoformat(),
        "due_date": due.isoformat() if due else None,
        "vendor": {
            "name": v_name,
            "country": v_cc if show_v_country else None,
            "vat_id": vat_id,
        },
        "customer": {"name": c_name, "country": c_cc if show_c_country else None},
        "currency": currency,
        "line_items": [{k: v for k, v in i.items() if not k.startswith("_")} for i in items],
        "total": total,
    }


def build() -> list[dict[str, Any]]:
    rng = random.Random(SEED)
    rows = [invoice(rng, i) for i in range(ROWS - 2)]
    rows += [dict(rows[7]), dict(rows[90])]  # the same invoice filed twice
    rng.shuffle(rows)
    return [{"id": f"invoice-{i:03d}", **r} for i, r in enumerate(rows, 1)]


if __name__ == "__main__":
    OUT.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in build()), encoding="utf-8"
    )
    print(f"wrote {OUT}")
