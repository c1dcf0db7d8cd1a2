"""A small nested schema a random tiny model can finish: nested objects, a bounded list of
records and nullable leaves, all required so the grammar makes the model write them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from fieldwise.tasks import Task


class Place(BaseModel):
    kind: Literal["city", "province"] = Field(description="what kind of place")
    named: bool = Field(description="the text names it")


class Actor(BaseModel):
    role: Literal["force", "insurgent"] = Field(description="which side")
    count: int | None = Field(ge=0, le=9, description="how many; null when not stated")


class Incident(BaseModel):
    """One incident, with where it happened and who took part."""

    event: Literal["airstrike", "detention", "raid"] = Field(description="kind of incident")
    where: Place = Field(description="where it happened")
    also: Place | None = Field(description="a second place, if any")
    actors: list[Actor] = Field(min_length=1, max_length=2, description="who took part")
    killed: bool = Field(description="someone was killed")


NESTED_SMALL_TASK = Task.from_model("nested_small", Incident, description="a nested test task")
