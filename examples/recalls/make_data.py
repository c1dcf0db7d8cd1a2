"""Write ``examples/recalls/data.jsonl``: invented product-recall notices with their labels.

Every product, company and notice is made up. Labels are set together with the text, so
they agree with it by construction (see ``RULES`` in ``task.py``). Deterministic: run
``python examples/recalls/make_data.py`` from the repository root to rebuild the file.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path
from typing import Any

SEED = 7
OUT = Path(__file__).with_name("data.jsonl")

# (product, company, hazards, what goes wrong)
PRODUCTS = [
    (
        "Brightwell 6-Quart Digital Air Fryers",
        "Brightwell Home Appliances",
        ["fire", "burn"],
        "the heating element can overheat and ignite",
    ),
    (
        "Kiddo Climb Toddler Activity Gyms",
        "Kiddo Play Co.",
        ["fall"],
        "the top platform can detach, and a child can fall",
    ),
    (
        "Nordby Roman Shades",
        "Nordby Interiors",
        ["strangulation"],
        "the inner cords can form a loop that a young child can get caught in",
    ),
    (
        "Sparrow Teething Rings",
        "Little Sparrow Baby Goods",
        ["choking"],
        "the silicone beads can come loose",
    ),
    (
        "VoltEdge 20V Cordless Hedge Trimmers",
        "VoltEdge Tools",
        ["laceration"],
        "the blade can keep moving after the trigger is released",
    ),
    (
        "PureSip Stainless Water Bottles",
        "PureSip Ltd.",
        ["chemical"],
        "the inner coating can contain lead above the permitted limit",
    ),
    (
        "Hearthline Electric Space Heaters",
        "Hearthline Corp.",
        ["fire", "electric_shock"],
        "the power cord can separate from the housing",
    ),
    (
        "Tumble Tots Bath Seats",
        "Tumble Tots Inc.",
        ["fall"],
        "the suction cups can release, so the seat can tip over",
    ),
    (
        "Crispin Crunch Granola Bars",
        "Crispin Foods",
        ["contamination"],
        "the bars may contain small pieces of metal",
    ),
    (
        "Lumo Kids' Night Lights",
        "Lumo Lighting",
        ["electric_shock", "burn"],
        "the plastic cover can crack and expose live parts",
    ),
    (
        "TrailPeak Folding Camp Chairs",
        "TrailPeak Outdoors",
        ["fall", "laceration"],
        "the frame can collapse and pinch or cut fingers",
    ),
    (
        "Maple & Moss Wooden Rattles",
        "Maple & Moss",
        ["choking"],
        "small wooden pieces can break off",
    ),
    ("AquaGlide Pool Ladders", "AquaGlide Pools", ["fall"], "the steps can crack under weight"),
    (
        "Zestora Portable Power Banks",
        "Zestora Electronics",
        ["fire", "burn"],
        "the lithium-ion cells can overheat while charging",
    ),
    (
        "CleanSweep Oven Cleaner Spray",
        "CleanSweep Products",
        ["chemical"],
        "the child-resistant cap can fail",
    ),
    (
        "Snuggle Nest Baby Loungers",
        "Snuggle Nest",
        ["strangulation", "fall"],
        "a loose side strap can wrap around a baby's neck",
    ),
]
COUNTRIES = {
    "us": ("U.S. Consumer Product Safety Commission", "WASHINGTON"),
    "ca": ("Health Canada", "OTTAWA"),
    "uk": ("Office for Product Safety and Standards", "LONDON"),
    "au": ("ACCC Product Safety Australia", "CANBERRA"),
}
REMEDIES = {
    "refund": ["for a full refund", "to receive a refund"],
    "repair": ["for a free repair kit", "to arrange a free repair"],
    "replacement": ["for a free replacement", "to receive a replacement unit at no cost"],
}


def units_phrase(rng: random.Random) -> tuple[str, int]:
    n = rng.choice([800, 1_450, 3_400, 12_000, 27_500, 48_000, 130_000, 1_200_000])
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f} million", n
    return rng.choice([f"about {n:,}", f"approximately {n:,}", f"{n:,}"]), n


def injuries(rng: random.Random, hazards: list[str]) -> tuple[str, bool]:
    kind = rng.random()
    if kind < 0.35:
        return "No injuries have been reported.", False
    if kind < 0.55:
        k = rng.randint(3, 40)
        return (
            f"The company has received {k} reports of units failing; no injuries have "
            "been reported."
        ), False
    k = rng.randint(1, 9)
    harm = {
        "fire": "minor burns",
        "burn": "burns",
        "fall": "bruises from falls",
        "laceration": "cuts",
        "choking": "gagging",
        "chemical": "skin irritation",
        "electric_shock": "mild shocks",
        "contamination": "mouth injuries",
        "strangulation": "neck bruising",
    }[hazards[0]]
    if k == 1:
        return f"One person has reported {harm}.", True
    reports = "one report" if k == 2 else f"{k - 1} reports"
    return f"The firm is aware of {k} incidents, including {reports} of {harm}.", True


def fmt_date(day: dt.date, country: str, rng: random.Random) -> str:
    if country == "ca":
        return day.isoformat()
    if country in ("uk", "au"):
        return day.strftime("%d %B %Y").lstrip("0")
    return rng.choice([f"{day.strftime('%B')} {day.day}, {day.year}", day.strftime("%m/%d/%Y")])


def notice(rng: random.Random) -> dict[str, Any]:
    product, company, hazards, defect = rng.choice(PRODUCTS)
    country = rng.choice(["us", "us", "us", "ca", "ca", "uk", "au"])
    agency, city = COUNTRIES[country]
    day = dt.date(2019, 1, 1) + dt.timedelta(days=rng.randrange(365 * 6))
    remedy = rng.choice(list(REMEDIES))
    units_text, units = units_phrase(rng)
    if country == "uk" and rng.random() < 0.6:
        units_text, units = "", 0
    hurt_text, hurt = injuries(rng, hazards)
    hazard_words = " and ".join(h.replace("_", " ") for h in hazards)
    contact = rng.choice(REMEDIES[remedy])
    date_text = fmt_date(day, country, rng)
    style = rng.choice(["release", "table", "plain"])
    if style == "release":
        the = "the " if country in ("us", "uk") else ""
        how_many = units_text or "an undisclosed number of"
        text = (
            f"{city}, {date_text} -- {company} is recalling {product} in cooperation with "
            f"{the}{agency}. The recall involves {how_many}"
            f" units because {defect}, posing a {hazard_words} hazard. {hurt_text} "
            f"Consumers should stop using the product and contact {company} {contact}."
        )
    elif style == "table":
        units_line = f"Units: {units_text}\n" if units_text else ""
        text = (
            f"Recall notice ({agency})\nDate: {date_text}\nProduct: {product}\n"
            f"Recalling firm: {company}\nHazard: {defect.capitalize()}, creating a risk of "
            f"{hazard_words}.\n{units_line}Incidents/Injuries: {hurt_text}\n"
            f"Remedy: Contact the firm {contact}."
        )
    else:
        bare = units_text.removeprefix("about ").removeprefix("approximately ")
        sold = f" About {bare} were sold." if units_text else ""
        if sold and rng.random() < 0.4 and country == "us":
            sold += f" An additional {rng.choice([300, 900, 2_100]):,} were sold in Canada."
        who = f"The {agency}" if country in ("us", "uk") else agency
        by = company if company.endswith(".") else company + "."
        text = (
            f"{date_text}: {product} recalled by {by} {who} says {defect}."
            f"{sold} {hurt_text} Owners can contact the company {contact}."
        )
    return {
        "text": text,
        "product": product,
        "company": company,
        "hazard": hazards,
        "units_recalled": units,
        "injuries_reported": hurt,
        "announced_date": day.isoformat(),
        "country": country,
        "remedy": remedy,
    }


def build() -> list[dict[str, Any]]:
    rng = random.Random(SEED)
    rows = [notice(rng) for _ in range(58)]
    rows += [dict(rows[5]), dict(rows[31])]  # the same notice filed twice
    rng.shuffle(rows)
    return [{"id": f"recall-{i:03d}", **r} for i, r in enumerate(rows, 1)]


if __name__ == "__main__":
    OUT.write_text("".join(json.dumps(r) + "\n" for r in build()), encoding="utf-8")
    print(f"wrote {OUT}")
