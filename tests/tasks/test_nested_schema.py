"""The nested task model: kinds, paths, options from the schema and by path, and a
one-line UserError naming the field for every schema fieldwise cannot score."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from pydantic import BaseModel

from fieldwise.errors import UserError
from fieldwise.tasks import Metric, Task, load_task
from fieldwise.tasks.isaf import ISAF
from tests.nested_task import INVOICE, KEYED, Invoice, LineItem


def test_kinds_paths_and_children() -> None:
    vendor = INVOICE.field("vendor")
    assert (vendor.kind, vendor.metric.name, vendor.path) == ("object", "object", "vendor")
    assert [c.path for c in vendor.children] == ["vendor.name", "vendor.country", "vendor.vat_id"]
    items = INVOICE.field("line_items")
    assert (items.kind, items.metric.name, items.match_threshold, items.key) == (
        "records",
        "records",
        0.5,
        (),
    )
    assert items.child("unit_price").path == "line_items[].unit_price"
    assert INVOICE.is_nested and not ISAF.is_nested
    assert INVOICE.spec_at("vendor.country").labels == ("de", "fr", "uk")
    with pytest.raises(KeyError):
        INVOICE.spec_at("vendor.nope")


def test_leaves_skip_ignored_fields_and_keep_schema_order() -> None:
    assert [s.path for s in INVOICE.leaves()] == [
        "number",
        "issued",
        "currency",
        "vendor.name",
        "vendor.country",
        "vendor.vat_id",
        "line_items[].sku",
        "line_items[].description",
        "line_items[].quantity",
        "line_items[].unit_price",
        "line_items[].total",
        "po_number",
    ]
    assert INVOICE.spec_at("note").metric.name == "ignore"


def test_metrics_declared_on_the_schema() -> None:
    price = INVOICE.spec_at("line_items[].unit_price")
    assert (price.kind, price.metric.name, price.metric.options.rel, price.metric.options.abs) == (
        "float",
        "number",
        0.01,
        0,
    )
    assert INVOICE.spec_at("line_items[].total").metric.options.abs == 0.5
    assert INVOICE.spec_at("vendor.name").metric.name == "text_similarity"
    assert INVOICE.spec_at("issued").metric.name == "date"
    assert INVOICE.spec_at("line_items[].quantity").metric.name == "int_equal"


def test_optional_fields() -> None:
    assert INVOICE.spec_at("vendor.vat_id").optional
    assert INVOICE.spec_at("po_number").optional
    assert not INVOICE.spec_at("number").optional


def test_overrides_by_path() -> None:
    assert KEYED.field("line_items").key == ("sku",)
    assert KEYED.field("line_items").match_threshold == 0.6
    task = Task.from_model(
        "t",
        Invoice,
        metrics={
            "line_items[].description": "exact",
            "vendor": "ignore",
            "line_items[].unit_price": "number",  # same metric: schema options kept
            "line_items[].total": Metric.number(rel=0.1),
        },
        aliases={"vendor.country": {"germany": "de"}},
    )
    assert task.spec_at("line_items[].description").metric.name == "exact"
    assert task.spec_at("line_items[].unit_price").metric.options.rel == 0.01
    assert task.spec_at("line_items[].total").metric.options.rel == 0.1
    assert task.spec_at("vendor.country").aliases == {"germany": "de"}
    assert not any(s.path.startswith("vendor") for s in task.leaves())


def test_flat_tasks_are_unchanged() -> None:
    assert tuple(ISAF.leaves()) == ISAF.scored_fields
    assert all(s.path == s.name and not s.children for s in ISAF.fields)
    recalls = load_task("examples/recalls/task.py:RECALLS")
    assert [(f.name, f.kind, f.metric.name) for f in recalls.fields] == [
        ("product", "text", "ignore"),
        ("company", "text", "exact"),
        ("hazard", "label_set", "set_equal"),
        ("units_recalled", "int", "int_equal"),
        ("injuries_reported", "bool", "equal"),
        ("announced_date", "date", "exact"),
        ("country", "label", "equal"),
        ("remedy", "label", "equal"),
    ]


class _Other(BaseModel):
    x: int


class _Node(BaseModel):
    value: int
    children: list[_Node]


def _model(annotation: Any) -> type[BaseModel]:
    class Out(BaseModel):
        ok: int
        bad: annotation  # type: ignore[valid-type]

    return Out


@pytest.mark.parametrize(
    ("annotation", "message"),
    [
        (dict[str, int], "field 'bad': cannot score type dict"),
        (LineItem | _Other, r"field 'bad': cannot score a union of types \(LineItem \| _Other\)"),
        (list[int], r"field 'bad': cannot score type list\[int\]"),
        (list[dict[str, str]], "field 'bad': cannot score type list"),
        (Any, "field 'bad': cannot score type Any"),
        (list[LineItem | _Other], r"field 'bad\[\]': cannot score a union"),
    ],
)
def test_unsupported_types_are_one_line_errors(annotation: Any, message: str) -> None:
    with pytest.raises(UserError, match=message) as info:
        Task.from_model("t", _model(annotation))
    assert "\n" not in str(info.value)


def test_nested_unsupported_type_names_its_full_path() -> None:
    class Inner(BaseModel):
        tags: dict[str, str]

    class Out(BaseModel):
        rows: list[Inner]

    with pytest.raises(UserError, match=r"field 'rows\[\]\.tags': cannot score type dict"):
        Task.from_model("t", Out)


def test_ignored_fields_may_have_any_type() -> None:
    task = Task.from_model("t", _model(Annotated[dict[str, int], Metric.ignore()]))
    assert task.field("bad").metric.name == "ignore"
    task = Task.from_model("t", _model(dict[str, int]), metrics={"bad": "ignore"})
    assert [s.path for s in task.leaves()] == ["ok"]


def test_recursive_model_is_an_error() -> None:
    with pytest.raises(UserError, match="field 'children': the model _Node contains itself"):
        Task.from_model("t", _Node)


@pytest.mark.parametrize(
    ("metrics", "message"),
    [
        ({"nope": "exact"}, "schema Invoice has no field 'nope'"),
        ({"line_items.sku": "exact"}, r"no field 'line_items.sku'"),
        ({"number": "fuzzy"}, "field 'number': unknown metric 'fuzzy'"),
        ({"vendor": "exact"}, "field 'vendor': a object field takes metric 'object'"),
        ({"number": "number"}, "field 'number': metric 'number' needs an int or float"),
        ({"number": "records"}, "field 'number': metric 'records' needs a records field"),
        ({"line_items": Metric.records(key=("nope",))}, "key 'nope' is not a field"),
        ({"line_items": Metric.records(match_threshold=1.5)}, "match_threshold must be in"),
        ({"line_items[].total": Metric.number(rel=-1)}, "tolerances must be >= 0"),
    ],
)
def test_bad_metric_declarations(metrics: dict[str, Any], message: str) -> None:
    with pytest.raises(UserError, match=message):
        Task.from_model("t", Invoice, metrics=metrics)


def test_key_must_be_a_leaf() -> None:
    class Party(BaseModel):
        who: LineItem
        role: str

    class Out(BaseModel):
        parties: Annotated[list[Party], Metric.records(key=("who",))]

    with pytest.raises(UserError, match="key 'who' must name a leaf, not a object"):
        Task.from_model("t", Out)
    ok = Task.from_model("t", Out, metrics={"parties": Metric.records(key=("who.sku",))})
    assert ok.field("parties").key == ("who.sku",)
