"""The distillation view: per-field rates, each filter's effect with the right sign and
colour, and every user-given name escaped."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from fieldwise.distill._page import write_equivalence_page, write_page


def _run(name: str, acc: dict[str, float], agree: dict[str, float], inh: dict[str, float]):
    measures = SimpleNamespace(
        fields=list(acc), agreement=agree, inherited=inh, rows=dict.fromkeys(acc, 50)
    )
    return SimpleNamespace(name=name, score=SimpleNamespace(fields=acc), measures=measures)


def test_page_shows_rates_and_filter_effects_escaped(tmp_path: Path) -> None:
    student = _run("s<script>", {"a<b": 0.9, "c": 0.5}, {"a<b": 0.8, "c": 1.0},
                   {"a<b": 0.05, "c": math.nan})  # fmt: skip
    without = _run("s, no agree", {"a<b": 0.8, "c": 0.5}, {"a<b": 0.9, "c": 1.0},
                   {"a<b": 0.15, "c": math.nan})  # fmt: skip
    result = SimpleNamespace(
        student=student,
        without={"agree": without},
        kept=40,
        dropped={"valid": 2, "agree": 8},
        rows=50,
        evaluated_on="gold.jsonl",
        teacher=SimpleNamespace(label="<img src=x>"),
        teacher_score=SimpleNamespace(fields={"a<b": 0.85, "c": 0.5}),
    )
    page = write_page(result, tmp_path, {"task": "<t>"}).read_text()  # type: ignore[arg-type]
    assert "<script>" not in page and "<img" not in page and "<t>" not in page
    assert "s&lt;script&gt;" in page and "a&lt;b" in page
    row = page.split("<th>a&lt;b</th>")[1].split("</tr>")[0]
    cells = [c.split(">")[-1] for c in row.split("</td>")[:-1]]
    # rows, teacher, student, agreement, inherited, no-agree student, no-agree inherited
    assert cells[:7] == ["50", "85.0", "90.0", "80.0", "5.0", "80.0", "15.0"]
    assert '<span class="better">+10.0</span>' in row  # accuracy up with the filter
    assert '<span class="better">-10.0</span>' in row  # inherited errors down
    c_row = page.split("<th>c</th>")[1].split("</tr>")[0]
    assert '<span class="">+0.0</span>' in c_row and c_row.count(">-<") >= 2  # no change; NaN


def test_equivalence_page_shows_each_verdict_escaped(tmp_path: Path) -> None:
    from fieldwise.scoring.stats import equivalence_table

    rng = np.random.default_rng(0)
    old = rng.random((80, 2)) < 0.8
    new = old.copy()
    new[:30, 1] = False  # the second field clearly worse
    table = equivalence_table(new.astype(float), old.astype(float), ["a<b", "c"])
    result = SimpleNamespace(
        equivalence=table,
        rows=80,
        trained=70,
        reference="gold",
        verdict=table[0].verdict,
        old=SimpleNamespace(label="<old>"),
        new_entry=SimpleNamespace(label="new&"),
        old_score=SimpleNamespace(aggregate=80.0, fields={"a<b": 0.8, "c": 0.8}),
        new_score=SimpleNamespace(aggregate=70.0, fields={"a<b": 0.8, "c": 0.5}),
    )
    page = write_equivalence_page(result, tmp_path, {}).read_text()  # type: ignore[arg-type]
    assert "<old>" not in page and "&lt;old&gt;" in page and "new&amp;" in page
    row = page.split("<th>c</th>")[1].split("</tr>")[0]
    assert '<td class="worse">worse</td>' in row
    same = page.split("<th>a&lt;b</th>")[1].split("</tr>")[0]
    assert "+0.0" in same and "worse" not in same
