"""How a task declares which fields must be grounded, and the defaults by kind."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import BaseModel

from fieldwise.errors import UserError
from fieldwise.tasks import FieldSpec, Task, load_task
from tests.nested_task import INVOICE, Invoice


def test_defaults_by_kind() -> None:
    modes = {s.path: s.grounding_mode for s in INVOICE.walk()}
    assert modes["number"] == "required"  # text
    assert modes["issued"] == "required"  # date
    assert modes["line_items[].quantity"] == "required"  # int
    assert modes["line_items[].unit_price"] == "required"  # float
    assert modes["currency"] == "optional"  # label
    assert modes["vendor.country"] == "optional"  # label (enum)
    assert modes["note"] == "none"  # not scored
    assert modes["vendor"] == modes["line_items"] == "none"  # no value of their own


def test_isaf_declares_its_inferred_fields() -> None:
    modes = {s.name: s.grounding_mode for s in load_task("isaf").fields}
    assert modes["province"] == "required"
    assert modes["start_date"] == modes["min_killed"] == modes["target_group"] == "optional"
    assert modes["event_type"] == modes["killq"] == modes["name"] == "none"


def test_from_model_declarations_by_path_and_inherited() -> None:
    task = Task.from_model(
        "t",
        Invoice,
        grounding={"line_items": "optional", "line_items[].sku": "required", "issued": "none"},
    )
    modes = {s.path: s.grounding_mode for s in task.walk()}
    assert modes["line_items[].quantity"] == "optional"  # from the records field
    assert modes["line_items[].sku"] == "required"  # its own declaration wins
    assert modes["issued"] == "none"
    assert modes["number"] == "required"  # untouched


class _Flags(BaseModel):
    seen: bool
    when: dt.date


def test_a_parent_declaration_skips_booleans_but_a_direct_one_is_an_error() -> None:
    class Outer(BaseModel):
        flags: _Flags

    task = Task.from_model("t", Outer, grounding={"flags": "required"})
    assert task.spec_at("flags.seen").grounding_mode == "none"
    assert task.spec_at("flags.when").grounding_mode == "required"
    with pytest.raises(UserError, match="flags.seen': a boolean is never written"):
        Task.from_model("t", Outer, grounding={"flags.seen": "required"})


def test_bad_declarations_are_one_line_errors() -> None:
    with pytest.raises(UserError, match="has no field 'vendr.name'"):
        Task.from_model("t", Invoice, grounding={"vendr.name": "required"})
    with pytest.raises(UserError, match="unknown grounding 'always'"):
        Task.from_model("t", Invoice, grounding={"number": "always"})  # type: ignore[dict-item]
    with pytest.raises(UserError, match="unknown grounding 'maybe'"):
        Task.from_model("t", Invoice, grounding={"vendor": "maybe"})  # type: ignore[dict-item]
    with pytest.raises(UserError, match="boolean"):
        FieldSpec("x", "bool", "equal", grounding="optional")
