"""The report on a nested task: a per-path tree, records P/R/F1 with intervals, gold
records aligned beside predicted ones (missed and spurious marked), per-path errors,
and every model output escaped."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from fieldwise.report import write_report
from fieldwise.scoring import score_outputs
from fieldwise.scoring._types import ModelResult
from fieldwise.tasks import Example
from tests.nested_task import INVOICE, invoice, item

EVIL = "<script>alert(1)</script>"
GOLDS = [invoice(number=f"INV-{i}") for i in range(4)]
EXAMPLES = [Example(f"inv-{i}", f"Invoice {i} text", g) for i, g in enumerate(GOLDS)]


def _model(label: str, outputs: list[str | None]) -> ModelResult:
    scores = score_outputs(INVOICE, GOLDS, outputs, n_boot=50)
    return ModelResult(label, f"fake/{label}", "api", outputs, [None] * len(outputs), scores)


@pytest.fixture(scope="module")
def html(tmp_path_factory: pytest.TempPathFactory) -> str:
    perfect = _model("perfect", [json.dumps(g) for g in GOLDS])
    sloppy_rows = [
        {  # row 0: one record missed, one spurious (its description carries markup)
            **GOLDS[0],
            "line_items": [
                item("A-1", "steel bolts, 10 mm", 100, 0.25),
                item("B-2", "hex nuts", 100, 0.1),
                item("Z-9", EVIL, 1, 9.99),
            ],
        },
        {**GOLDS[1], "vendor": {"name": "Acme Widget", "country": "fr", "vat_id": None}},
        GOLDS[2],
        {**GOLDS[3], "line_items": "none"},
    ]
    sloppy = _model("sloppy", [json.dumps(r) for r in sloppy_rows])
    out = tmp_path_factory.mktemp("nested")
    return write_report(INVOICE, EXAMPLES, [sloppy, perfect], out).read_text(encoding="utf-8")


def test_path_tree_is_collapsible_with_every_leaf(html: str) -> None:
    tree = html[html.index('id="paths"') :]
    assert tree.count('<details class="tree" open>') == 2  # vendor, line_items
    for path in ("vendor.name", "vendor.vat_id", "line_items[].unit_price", "line_items[].sku"):
        assert f'<a href="#err-{path}">{path}</a>' in tree


def test_records_precision_recall_f1_with_intervals(html: str) -> None:
    table = html[html.index('<table class="prf">') :]
    table = table[: table.index("</table>")]
    rows = re.findall(r"<tr><td>(\w+)</td>(.*?)</tr>", table)
    assert [label for label, _ in rows] == ["perfect", "sloppy"]
    perfect = re.findall(
        r'<td class="num">([\d.—]+)</td><td class="muted">([^<]*)</td>', rows[0][1]
    )
    assert perfect == [("100.0", "[100.0, 100.0]")] * 3
    sloppy = re.findall(r'<td class="num">([\d.—]+)</td>', rows[1][1])
    # rows: P 2/3, 1, 1, — (not a list); R 2/3, 1, 1, 0; F1 2/3, 1, 1, 0
    assert sloppy == ["88.9", "66.7", "66.7"]


def test_gold_and_predicted_records_are_aligned(html: str) -> None:
    body = html[html.index('id="ex-0"') :]
    body = body[: body.index("</tbody>")]
    assert "sloppy</b> · line_items: 2 matched, 1 missed, 1 spurious" in body
    assert re.search(r'<tr class="w"><td>sku: C-3[^<]*</td><td></td><td>missed</td></tr>', body)
    assert re.search(r'<tr class="w"><td></td><td>sku: Z-9[^<]*</td><td>spurious</td></tr>', body)
    assert "<tr><td>sku: A-1" in body  # an exact match is not marked
    assert "perfect</b>" not in body  # nothing to show for a perfect model


def test_model_output_is_escaped_everywhere(html: str) -> None:
    assert EVIL not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_errors_per_leaf_path(html: str) -> None:
    errors = html[html.index('id="errors"') :]
    assert '<h4 id="err-vendor.country">vendor.country' in errors
    assert '<h4 id="err-line_items[].description">' in errors
    assert "gold record not matched" in errors
    assert "gold &#34;de&#34; → pred &#34;fr&#34;" in errors or 'gold "de" → pred "fr"' in errors


def test_flat_report_has_no_nested_parts(tmp_path: Path) -> None:
    import numpy as np

    from tests.report.helpers import EXAMPLES as FLAT
    from tests.report.helpers import TASK, perfect_outputs, result

    res = result("m", "api", perfect_outputs(), np.ones((len(FLAT), 5)))
    page = write_report(TASK, FLAT, [res], tmp_path).read_text(encoding="utf-8")
    assert 'id="paths"' not in page and "records alignment" not in page


def test_nested_cells_name_the_wrong_leaf(html: str) -> None:
    # Row 1: vendor's name, country and VAT id differ; a cut JSON object used to hide
    # them behind `{"name":"Acme Widget","co…`.
    from tests.report.helpers import read_cells

    cells = dict(zip(INVOICE_FIELDS, read_cells(html).model_row(1, "sloppy"), strict=False))
    css, text = cells["vendor"]
    assert "p" in css.split() and "x" in css.split()  # partly right, shown whole
    assert text == "name: Acme Widget · country: fr · vat_id: null"
    gold = read_cells(html).bodies["ex-1"]["rows"][1]
    assert any(t.startswith("name: Acme Widgets GmbH · country: de") for _, t in gold)
    assert ("x", "3 records") in [(c, t) for c, t in gold]


def test_object_errors_are_named_by_leaf_and_records_counted_apart(html: str) -> None:
    errors = html[html.index('id="err-vendor"') :]
    vendor = errors[: errors.index("<details")]
    assert 'country: gold "de" → pred "fr"' in vendor.replace("&#34;", '"')
    leaf = html[html.index('id="err-line_items[].sku"') :]
    leaf = leaf[leaf.index('class="eam m0"') :]  # sloppy's block
    leaf = leaf[: leaf.index("</table>")]
    assert '<th class="num">rows</th><th class="num">records</th>' in leaf
    # Row 0 misses C-3; row 3's list is not a list: its three gold records match nothing.
    counts = '</td><td class="num">{}</td><td class="num">{}</td>'
    assert "gold record not matched" + counts.format(1, 1) in leaf
    assert "(the list is &#34;none&#34;)" + counts.format(1, 3) in leaf
    links = re.findall(r'href="#ex-(\d+)"', leaf)
    assert len(links) == len(set(links))  # no example linked twice in a pattern


INVOICE_FIELDS = [f.name for f in INVOICE.scored_fields]
