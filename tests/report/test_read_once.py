"""The report reads each output through what the scorer already read (``ModelScore.values``)
instead of parsing it again: the two ways must give the same values and the same page."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from fieldwise.report import write_report
from fieldwise.report._values import parse_all
from fieldwise.scoring import MISSING, score_outputs
from fieldwise.scoring._types import ModelResult
from fieldwise.tasks import Example, Task
from tests.nested_task import INVOICE, invoice, item
from tests.report.helpers import EXAMPLES, GOLDS, TASK

EVIL = "<script>alert(1)</script>"


def _flat_outputs() -> list[str | None]:
    """Every validity class and value shape: right, wrong, null, missing keys, extra keys,
    wrong types, fenced, prose, a list, nothing, whitespace."""
    outs: list[str | None] = []
    for i, gold in enumerate(GOLDS):
        row: dict[str, Any] = dict(gold)
        if i % 3 == 0:
            row["colour"] = EVIL
        if i % 4 == 1:
            row.pop("tags")
        if i % 5 == 2:
            row["count"] = str(row["count"])
        row["extra"] = {"nested": [i]}
        outs.append(json.dumps(row))
    outs[1] = "```json\n" + json.dumps(GOLDS[1]) + "\n```"
    outs[2] = "here it is: {}"
    outs[3] = json.dumps([GOLDS[3]])
    outs[4] = None
    outs[5] = "  \n"
    outs[6] = json.dumps({**GOLDS[6], "flag": None, "day": None})
    return outs


def _nested_outputs() -> list[str | None]:
    rows: list[Any] = [
        {**INVOICE_GOLDS[0], "line_items": [item("A-1", EVIL, 1, 2.5)]},
        {**INVOICE_GOLDS[1], "vendor": None},
        "```\n" + json.dumps(INVOICE_GOLDS[2]) + "\n```",
        {**INVOICE_GOLDS[3], "line_items": "none"},
    ]
    return [r if isinstance(r, str) else json.dumps(r) for r in rows]


INVOICE_GOLDS = [invoice(number=f"INV-{i}") for i in range(4)]
INVOICE_EXAMPLES = [
    Example(f"inv-{i}", f"Invoice {i} text", g) for i, g in enumerate(INVOICE_GOLDS)
]
CASES = {
    "flat": (TASK, EXAMPLES, _flat_outputs),
    "nested": (INVOICE, INVOICE_EXAMPLES, _nested_outputs),
}


def _result(
    task: Task, examples: list[Example], outputs: list[str | None], **kw: Any
) -> ModelResult:
    golds = [ex.gold or {} for ex in examples]
    scores = score_outputs(task, golds, outputs, ("strict", "reference"), n_boot=20, **kw)
    return ModelResult("m", "fake/m", "api", outputs, [None] * len(outputs), scores)


def _reparsed(result: ModelResult) -> ModelResult:
    """The same result with the scorer's values dropped: the report parses every output."""
    scores = {k: replace(v, values=None) for k, v in result.scores.items()}
    return replace(result, scores=scores)


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("strip_fences", [False, True])
def test_the_scorers_values_are_what_parsing_gives(case: str, strip_fences: bool) -> None:
    task, examples, outputs = CASES[case]
    result = _result(task, examples, outputs(), strip_fences=strip_fences)
    fast, slow = parse_all(result), parse_all(_reparsed(result))
    assert fast.objects is None and slow.objects is not None  # the two paths were taken
    assert fast.statuses == slow.statuses
    assert "fenced" in fast.statuses and "ok" in fast.statuses
    names = [f.name for f in task.fields] + ["extra", "no_such_field"]
    for name in names:
        assert fast.column(name) == slow.column(name), name
        for row in range(len(examples)):
            assert fast.value(row, name) == slow.value(row, name)
    for row in range(len(examples)):
        assert fast.object(row) == slow.object(row)
    assert fast.value(2, "colour") is MISSING  # prose: no object


def _page(path: Path) -> str:
    """The report without the one line that differs run to run (its time)."""
    text = path.read_text(encoding="utf-8")
    return re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", "TIME", text)


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_page_is_the_same_either_way(case: str, tmp_path: Path) -> None:
    task, examples, outputs = CASES[case]
    base = outputs()
    others = list(reversed(base))
    results = [_result(task, examples, base), _result(task, examples, others)]
    results[1] = replace(results[1], label="other", spec="fake/other")
    pages = {}
    for way, models in (("fast", results), ("slow", [_reparsed(r) for r in results])):
        path = write_report(task, examples, models, tmp_path / way)
        pages[way] = _page(path)
        pages[way + " export"] = (path.parent / "examples.jsonl").read_text(encoding="utf-8")
    assert pages["fast"] == pages["slow"]
    assert pages["fast export"] == pages["slow export"]
    assert EVIL not in pages["fast"]
