"""An example of a user-defined task: product-recall notices.

Load it with ``fieldwise ... --task examples/recalls/task.py:RECALLS`` or from a project
config (``task: task.py:RECALLS``). Everything fieldwise needs is the Pydantic schema;
``Task.from_model`` infers how each field is scored, and the arguments below override the
few places where the default is not what this task wants.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, Field

from fieldwise.tasks import Task


class Hazard(StrEnum):
    fire = "fire"
    burn = "burn"
    choking = "choking"
    laceration = "laceration"
    electric_shock = "electric_shock"
    fall = "fall"
    chemical = "chemical"
    contamination = "contamination"
    strangulation = "strangulation"


class Country(StrEnum):
    us = "us"
    ca = "ca"
    uk = "uk"
    au = "au"


class Remedy(StrEnum):
    refund = "refund"
    repair = "repair"
    replacement = "replacement"


class RecallNotice(BaseModel):
    """One product-recall notice."""

    product: str = Field(description="the recalled product as the notice names it")
    company: str = Field(description="the company that is recalling the product")
    hazard: list[Hazard] = Field(description="every hazard the notice names")
    units_recalled: int = Field(ge=0, description="units recalled; 0 when not stated")
    injuries_reported: bool = Field(description="the notice reports at least one injury")
    announced_date: dt.date = Field(description="the date the recall was announced")
    country: Country = Field(description="the country whose regulator published the notice")
    remedy: Remedy = Field(description="what consumers are offered")


RULES = """\
- units_recalled: the number of units in the country of the notice; "about 12,000" = 12000, \
"1.2 million" = 1200000; units sold in other countries are not counted; 0 when not stated.
- injuries_reported: true only for injuries to people; reports of overheating, smoke or \
damage without an injury are false.
- announced_date: the date of the notice, not the date the product was sold.
- hazard: list every hazard named; "fire and burn hazards" = ["fire", "burn"]."""

RECALLS = Task.from_model(
    "recalls",
    RecallNotice,
    description="Product-recall notices (US, Canada, UK, Australia): 7 scored fields.",
    # A product name is free text that models paraphrase; report it but do not score it.
    # Hazards must match exactly: listing extra hazards is a real error here.
    metrics={"product": "ignore", "hazard": "set_equal"},
    aliases={
        "hazard": {
            "fire hazard": "fire",
            "burns": "burn",
            "shock": "electric_shock",
            "electrocution": "electric_shock",
            "cuts": "laceration",
        },
        "country": {
            "usa": "us",
            "united states": "us",
            "canada": "ca",
            "united kingdom": "uk",
            "gb": "uk",
            "australia": "au",
        },
    },
    instructions=RULES,
    sample_path=Path(__file__).with_name("data.jsonl"),
)
