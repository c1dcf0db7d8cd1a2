"""The built-in ISAF press-release task (the published 13-field comparison).

Labels come from ``strickvl/isafpressreleases`` on the Hugging Face Hub (CC BY-SA 4.0).
The sample that ships in the package is written for fieldwise in the same style; it
contains no real press release.
"""

from __future__ import annotations

import datetime as dt
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from fieldwise.tasks._task import FieldSpec, Metric, Task

PROVINCES = (
    "badakhshan badghis baghlan balkh bamyan day_kundi farah faryab ghazni ghor helmand herat "
    "jowzjan kabul kandahar kapisa khost kunar kunduz laghman logar nangarhar nimroz nuristan "
    "paktya paktika panjshir parwan samangan sar_e_pul takhar uruzgan wardak zabul"
).split()
EVENT_TYPES = (
    "airstrike",
    "detention",
    "captureandkill",
    "insurgentskilled",
    "exchangeoffire",
    "civiliancasualty",
)
TARGET_GROUPS = "taliban haqqani criminals aq hig let imu judq iju hik ttp other".split() + [""]

Province = Enum("Province", {p: p for p in PROVINCES}, type=str)  # type: ignore[misc]
EventType = Enum("EventType", {e: e for e in EVENT_TYPES}, type=str)  # type: ignore[misc]
TargetGroup = Enum(  # type: ignore[misc]
    "TargetGroup", {(g or "none"): g for g in TARGET_GROUPS}, type=str
)

# Spellings found in the published labels, mapped to the enum (used by the strict profile).
PROVINCE_ALIASES = {
    "sar-e pul": "sar_e_pul",
    "sar-e-pul": "sar_e_pul",
    "sari pul": "sar_e_pul",
    "daykundi": "day_kundi",
    "day kundi": "day_kundi",
    "paktia": "paktya",
    "wardag": "wardak",
    "oruzgan": "uruzgan",
    "urozgan": "uruzgan",
    "nimruz": "nimroz",
    "jawzjan": "jowzjan",
}
TARGET_ALIASES = {
    "criminal": "criminals",
    "al qaeda": "aq",
    "al-qaeda": "aq",
    "al qaida": "aq",
    "none": "",
}
EVENT_ALIASES = {
    "insurgents killed": "insurgentskilled",
    "capture and kill": "captureandkill",
    "exchange of fire": "exchangeoffire",
    "civilian casualty": "civiliancasualty",
    "air strike": "airstrike",
}


class IsafEvent(BaseModel):
    """One incident described by an ISAF press release."""

    name: str = Field(description="a short headline for the incident (not scored)")
    start_date: dt.date = Field(
        description="the day the incident happened (YYYY-MM-DD), not the release date"
    )
    event_type: list[EventType] = Field(description="what kind of incident it was")
    province: list[Province] = Field(description="Afghan province(s) where it happened")
    target_group: list[TargetGroup] = Field(
        description='the targeted group(s); [""] when none is named'
    )
    min_killed: int = Field(ge=0, description="fewest people killed that the text supports")
    min_captured: int = Field(ge=0, description="fewest people detained that the text supports")
    killq: bool = Field(description="someone was killed")
    captureq: bool = Field(description="someone was detained")
    killcaptureraid: bool = Field(description="a targeted kill-capture (night) raid")
    airstrike: bool = Field(description="an air strike was used")
    noshotsfired: bool = Field(description="the release says no shots were fired")
    min_leaders_killed: int = Field(ge=0, description="leaders/commanders killed")
    min_leaders_captured: int = Field(ge=0, description="leaders/commanders detained")


ISAF_RULES = """\
- Vague quantities map to minimums: "insurgents" detained with no number = 2; "a couple" = 2; \
"several", "a few", "some", "a group", "a small group", "multiple" = 3; "numerous", \
"a handful" = 4; "a large number" = 5; "dozens" = 24. With nothing better, take the smaller number.
- Dates are relative to the release's own date in its header: "yesterday", "last night", \
"Sunday", "last Thursday" are resolved against it.
- A facilitator is not a leader; leaders are commanders and named leaders.
- Complex stories where no honest count is possible are left at 0.
- target_group is [""] when no group is named."""

# Grounding (docs/trust.md): provinces are named in the text; the date is often relative
# ("yesterday"), target groups are often implied, and the counts follow the annotation
# rules above ("several" = 3, sums over sentences), so those are found where written but
# may be inferred; event types and the yes/no fields are judgements, never quoted.
_FIELDS = (
    FieldSpec("name", "text", Metric("ignore"), description="a short headline (never scored)"),
    FieldSpec(
        "start_date",
        "date",
        Metric("exact"),
        description="the day the incident happened",
        grounding="optional",
    ),
    FieldSpec(
        "province",
        "label_set",
        Metric("set_equal"),
        tuple(PROVINCES),
        PROVINCE_ALIASES,
        "province(s)",
        grounding="required",
    ),
    FieldSpec(
        "target_group",
        "label_set",
        Metric("set_recall"),
        tuple(TARGET_GROUPS),
        TARGET_ALIASES,
        "targeted group(s)",
        grounding="optional",
    ),
    FieldSpec(
        "event_type",
        "label_set",
        Metric("set_recall"),
        EVENT_TYPES,
        EVENT_ALIASES,
        "kind of incident",
        grounding="none",
    ),
    FieldSpec(
        "min_killed", "int", Metric("equal"), description="fewest killed", grounding="optional"
    ),
    FieldSpec(
        "min_captured",
        "int",
        Metric("equal"),
        description="fewest detained",
        grounding="optional",
    ),
    FieldSpec("killq", "bool", Metric("equal"), description="someone was killed"),
    FieldSpec("captureq", "bool", Metric("equal"), description="someone was detained"),
    FieldSpec("killcaptureraid", "bool", Metric("equal"), description="a kill-capture raid"),
    FieldSpec("airstrike", "bool", Metric("equal"), description="an air strike was used"),
    FieldSpec("noshotsfired", "bool", Metric("equal"), description="no shots were fired"),
    FieldSpec(
        "min_leaders_killed",
        "int",
        Metric("int_equal"),
        description="leaders killed",
        grounding="optional",
    ),
    FieldSpec(
        "min_leaders_captured",
        "int",
        Metric("int_equal"),
        description="leaders detained",
        grounding="optional",
    ),
)


def _split_multi(value: Any) -> list[str]:
    if value is None:
        return [""]
    if isinstance(value, list):
        return [str(v).strip() for v in value]
    return [part.strip() for part in str(value).split(",")]


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("true", "1", "yes")


def _to_int(value: Any) -> int:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return 0


def _to_date(value: Any) -> str:
    if isinstance(value, dt.datetime | dt.date):
        return value.strftime("%Y-%m-%d")
    return str(value or "")[:10]


def hub_row_to_canonical(row: dict[str, Any]) -> dict[str, Any]:
    """Map a raw ``strickvl/isafpressreleases`` row to the canonical field names and types.

    The hub columns are comma-joined strings and "true"/"false" strings; label quirks
    (``;``-joined values, misspellings) are kept as published so scores stay comparable.
    """
    return {
        "text": row["text"],
        "name": str(row.get("name", "")),
        "start_date": _to_date(row.get("StartDate")),
        "event_type": _split_multi(row.get("eventtype")),
        "province": _split_multi(row.get("province")),
        "target_group": _split_multi(row.get("targetgroup")),
        "min_killed": _to_int(row.get("minkilled")),
        "min_captured": _to_int(row.get("mincaptured")),
        "killq": _to_bool(row.get("killq")),
        "captureq": _to_bool(row.get("captureq")),
        "killcaptureraid": _to_bool(row.get("killcaptureraid")),
        "airstrike": _to_bool(row.get("airstrike")),
        "noshotsfired": _to_bool(row.get("noshotsfired")),
        "min_leaders_killed": _to_int(row.get("minleaderskilled")),
        "min_leaders_captured": _to_int(row.get("minleaderscaptured")),
    }


ISAF = Task(
    name="isaf",
    description="ISAF press releases (2009-2013): one incident per release, 13 scored fields.",
    output_model=IsafEvent,
    fields=_FIELDS,
    instructions=ISAF_RULES,
    sample_path=Path(__file__).parent / "samples" / "isaf_sample.jsonl",
    hub_dataset="strickvl/isafpressreleases",
    hub_adapter=hub_row_to_canonical,
)
