"""A two-field task with short prompts, so tiny-model training tests stay fast."""

from __future__ import annotations

from pydantic import BaseModel, Field

from fieldwise.tasks import Example, Task


class Visit(BaseModel):
    city: str = Field(description="the city visited")
    people: int = Field(description="how many people went")


MINI = Task.from_model("mini", Visit, description="Who went where.")

CITIES = ["paris", "rome", "oslo", "lima", "kyiv", "cairo", "delhi", "quito"]


def mini_examples(n: int = 8) -> list[Example]:
    return [
        Example(
            f"m{i}",
            f"{i % 4 + 1} people took the train to {CITIES[i % len(CITIES)].title()} today.",
            {"city": CITIES[i % len(CITIES)], "people": i % 4 + 1},
        )
        for i in range(n)
    ]
