"""Nested schemas in the strict-mode rewrite: ``$defs``/``$ref``, nested optionals, arrays
of objects, closed objects at every level, and outputs that validate in Pydantic."""

from __future__ import annotations

import datetime as dt
import json
import random
from typing import Literal

import jsonschema
import pytest
from pydantic import BaseModel, Field, ValidationError

from fieldwise.models.openai_backend import make_strict
from tests.fakes.schema_instances import instance, walk_objects


class Party(BaseModel):
    name: str = Field(description="the party's name")
    country: Literal["de", "fr", "gb"] | None = Field(None, description="where it is based")


class Item(BaseModel):
    sku: str | None = None
    quantity: int = Field(1, ge=0)
    unit_price: float
    supplier: Party | None = None


class Order(BaseModel):
    vendor: Party = Field(description="who sells")
    buyer: Party | None = None
    items: list[Item] = Field(default_factory=list)
    issued: dt.date | None = None
    currency: Literal["eur", "usd"] = "eur"
    tags: list[str] = Field(default_factory=list, max_length=3)


class Tree(BaseModel):
    label: str
    children: list[Tree] = Field(default_factory=list, max_length=2)


def test_every_object_is_closed_and_lists_every_property() -> None:
    strict = make_strict(Order.model_json_schema())
    objects = walk_objects(strict)
    assert len(objects) >= 4  # the order, an inlined vendor, $defs Party and Item
    for node in objects:
        assert node["additionalProperties"] is False
        assert node["required"] == list(node["properties"])
    assert '"default"' not in json.dumps(strict)
    assert strict["properties"]["vendor"]["description"] == "who sells"  # $ref + sibling
    assert strict["properties"]["items"]["items"] == {"$ref": "#/$defs/Item"}


def test_null_is_allowed_exactly_where_pydantic_allows_it() -> None:
    strict = make_strict(Order.model_json_schema())
    base = {"vendor": {"name": "A", "country": None}, "buyer": None, "items": [],
            "issued": None, "currency": "eur", "tags": []}  # fmt: skip
    jsonschema.validate(base, strict)
    Order.model_validate(base)
    item = {"sku": None, "quantity": 1, "unit_price": 2.5, "supplier": None}
    jsonschema.validate({**base, "items": [item]}, strict)
    for bad in (
        {**base, "items": None},
        {**base, "currency": None},
        {**base, "vendor": None},
        {**base, "items": [{**item, "quantity": None}]},
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, strict)
        with pytest.raises(ValidationError):
            Order.model_validate(bad)
    # the nullable union is not wrapped twice
    assert strict["properties"]["buyer"] == {"anyOf": [{"$ref": "#/$defs/Party"}, {"type": "null"}]}


@pytest.mark.parametrize("model", [Order, Tree])
def test_anything_the_strict_schema_allows_validates_in_pydantic(model: type[BaseModel]) -> None:
    strict = make_strict(model.model_json_schema())
    rng = random.Random(3)
    for _ in range(300):
        value = instance(strict, rng)
        jsonschema.validate(value, strict)  # the generator is itself checked
        model.model_validate_json(json.dumps(value))


def test_recursive_model_keeps_a_bare_reference() -> None:
    strict = make_strict(Tree.model_json_schema())
    assert strict["$defs"]["Tree"]["properties"]["children"]["items"] == {"$ref": "#/$defs/Tree"}
