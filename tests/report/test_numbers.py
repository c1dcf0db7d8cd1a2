"""Numbers the page must not get wrong or contradict (issue 15 §2): the interval beside a
verdict, confusion cells, error-pattern counts, fields never predicted, coverage beside
scores that leave abstentions out, and `compare --profile` with no runs."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from fieldwise.cli import app
from fieldwise.errors import UserError
from fieldwise.report import write_report
from fieldwise.report._analysis import (
    POOLED,
    TOP_PATTERNS,
    Miss,
    confusion,
    field_errors,
    set_table,
    tally,
)
from fieldwise.report._values import Parsed
from fieldwise.scoring import MISSING
from fieldwise.scoring._types import ModelResult
from fieldwise.tasks import Example
from tests.report.helpers import FIELDS, GOLDS, TASK, make_score, perfect_outputs, result

COUNT = FIELDS.index("count")


def parsed(values: list[Any], name: str) -> Parsed:
    return Parsed(["ok"] * len(values), [{name: v} for v in values])


# -- the lead's interval --------------------------------------------------------------


def _lead_report(tmp_path: Path, misses: int) -> str:
    """49 rows; the runner-up misses ``misses`` rows of one field the leader gets."""
    n = 49
    examples = [Example(f"d{i}", f"text {i}", GOLDS[i % len(GOLDS)]) for i in range(n)]
    outputs = [json.dumps(e.gold) for e in examples]
    a, b = np.ones((n, len(FIELDS))), np.ones((n, len(FIELDS)))
    b[:misses, COUNT] = 0.0
    results = [
        ModelResult("lead", "fake/lead", "api", outputs, [None] * n, {"reference": make_score(a)}),
        ModelResult("next", "fake/next", "api", outputs, [None] * n, {"reference": make_score(b)}),
    ]
    return write_report(TASK, examples, results, tmp_path).read_text(encoding="utf-8")


def _lead_line(html: str) -> str:
    line = re.search(r"<li>Lead over .*?</li>", html, re.S)
    assert line is not None
    return re.sub(r'title="[^"]*"', "", line.group(0))  # the visible text only


def _shown_interval(line: str) -> tuple[float, float]:
    found = re.search(r"CI \[(-?[\d.]+), (-?[\d.]+)\]", line)
    assert found is not None, line
    return float(found.group(1)), float(found.group(2))


def test_a_tie_is_never_shown_beside_an_interval_that_excludes_zero(tmp_path: Path) -> None:
    html = _lead_report(tmp_path, misses=5)
    line = _lead_line(html)
    assert "not a significant lead" in line
    lo, hi = _shown_interval(line)
    assert lo <= 0.0 <= hi
    assert "adjusted for all 6 comparisons" in line
    # The unadjusted bootstrap interval (which excludes 0 here) is only on hover, named.
    boot = json.loads((tmp_path / "pairwise.json").read_text())["comparisons"][0]
    assert boot["ci"][0] > 0 and "unadjusted 95% bootstrap CI" in html


def test_a_significant_lead_shows_an_interval_clear_of_zero(tmp_path: Path) -> None:
    line = _lead_line(_lead_report(tmp_path, misses=30))
    assert "a significant lead" in line and "not a significant" not in line
    lo, _ = _shown_interval(line)
    assert lo > 0.0


# -- confusion tables -----------------------------------------------------------------


def test_a_right_answer_is_never_drawn_as_an_error() -> None:
    # Gold 9 is rare (outside the most common gold values), but 9 is a common *wrong*
    # prediction: the one row with gold 9 predicted 9 used to land in "other → 9", red.
    golds = [v for v in range(7) for _ in range(6)] + [9]
    preds = [9 if i % 6 == 0 else g for i, g in enumerate(golds[:-1])] + [9]
    scores = np.array([float(p == g) for p, g in zip(preds, golds, strict=True)])
    table = confusion(golds, preds, parsed(preds, "count"), scores)
    row = table.gold.index("9") if "9" in table.gold else table.gold.index("other")
    col = table.pred.index("9") if "9" in table.pred else table.pred.index("other")
    assert table.css(row, col) in ("ok", "mix")  # never "off" with a right row in it
    assert table.wrong[row][col] == 0 or table.gold[row] == "other"
    assert table.wrong_total == int((scores < 1).sum())  # red adds up to the text's count
    for g in range(len(table.gold)):
        for p in range(len(table.pred)):
            if table.gold[g] == table.pred[p] != "other" and table.counts[g][p]:
                assert table.css(g, p) == "ok"  # the diagonal is right


def test_cells_are_coloured_by_score_and_add_up_to_the_text() -> None:
    spec = TASK.field("count")
    golds = [2, 2, 1, 1, 3, 0]
    preds = ["2", 1, 1, 0, 3, 1]  # "2" for 2: scored right by a lenient profile
    scores = np.array([1.0, 0.0, 1.0, 0.0, 1.0, 0.5])
    fe = field_errors(spec, golds, parsed(preds, "count"), scores)
    cm = fe.confusion
    assert cm is not None
    assert cm.css(cm.gold.index("2"), cm.pred.index('"2"')) == "ok"  # not red
    assert cm.wrong_total == fe.wrong + fe.partial == 3


def test_values_are_ordered_by_value_and_bools_false_first() -> None:
    golds = [3] * 9 + [1] * 5 + [10] * 3 + [2]
    table = confusion(golds, golds, parsed(golds, "count"), np.ones(len(golds)))
    assert table.gold == ["1", "2", "3", "10"] == table.pred  # by value, not frequency
    flags = [True] * 9 + [False] * 2
    table = confusion(flags, flags[::-1], parsed(flags[::-1], "flag"), np.ones(11))
    assert table.gold == ["false", "true"] == table.pred  # even when true is commoner
    labels = ["green", "red", "green"]
    table = confusion(labels, labels, parsed(labels, "colour"), np.ones(3), ("red", "green"))
    assert table.gold == ['"red"', '"green"']  # the task's label order


def test_garbage_values_and_unparsed_rows_land_in_their_own_cells() -> None:
    # The confusion counts distinct (gold, pred) cells in one pass; a list where a count
    # belongs cannot be a dict key and takes the row-by-row path: same table either way.
    golds = [1, 1, True, 1, None, 2, 2]
    preds = [1, 1.0, True, [1, 2], 1, 2, 2]
    status = ["ok", "ok", "ok", "ok", "ok", "ok", "invalid_json"]
    scores = np.array([1.0, 0.0, 1.0, 0.0, np.nan, 1.0, 0.0])
    for values in (preds, [p if type(p) is not list else "[1,2]" for p in preds]):
        table = confusion(golds, values, Parsed(status, [{"c": v} for v in values]), scores)
        cell = {
            (g, p): table.counts[i][j]
            for i, g in enumerate(table.gold)
            for j, p in enumerate(table.pred)
            if table.counts[i][j]
        }
        assert sum(cell.values()) == len(golds)
        assert cell[("1", "1")] == 1 and cell[("1", "1.0")] == 1  # 1.0 is not 1
        assert cell[("true", "true")] == 1  # True is not 1
        assert cell[("2", "(no object)")] == 1 and cell[("2", "2")] == 1
        assert table.wrong_total == 3 and sum(map(sum, table.unscored)) == 1


def test_label_set_table_counts_repeated_pairs_once_each_row() -> None:
    golds = [["a"], ["a", "b"], ["a", "b"], "b", ["a"]]
    preds = [["a", "c"], ["a"], ["a"], MISSING, [{"x": 1}]]  # last: garbage, unhashable
    rows = {r.label: (r.gold, r.predicted, r.missed, r.extra) for r in set_table(golds, preds)}
    assert rows["b"] == (3, 0, 3, 0)
    assert rows["c"] == (0, 1, 0, 1)
    assert rows['{"x":1}'] == (0, 1, 0, 1)


# -- error patterns -------------------------------------------------------------------


def test_misses_of_one_kind_are_one_pattern_with_their_values_listed() -> None:
    spec = TASK.field("day")
    golds = [f"2023-{m:02}-{d:02}" for m in range(1, 11) for d in range(1, 4)][:29]
    golds.append("2023-01-01")
    preds: list[Any] = [None] * 29 + ["2023-01-01"]
    scores = np.array([0.0] * 29 + [1.0])
    fe = field_errors(spec, golds, parsed(preds, "day"), scores)
    assert [(p.text, p.count) for p in fe.patterns] == [("predicted null", 29)]
    pattern = fe.patterns[0]
    assert pattern.of == "gold" and len(pattern.details) == 3 and pattern.more == 26


def test_rows_and_records_are_counted_apart_and_links_are_unique() -> None:
    scores = np.array([0.0, 0.0, 1.0, 0.5])
    per_row = {0: 3, 1: 2, 3: 1}  # gold records unmatched per row
    fe = tally(
        "items[].sku",
        scores,
        4,
        lambda r: [Miss("gold record not matched")] * per_row.get(r, 0),
        per_record=True,
    )
    (p,) = fe.patterns
    assert (p.count, p.records, p.rows) == (3, 6, [0, 1, 3])
    assert (fe.wrong, fe.partial) == (2, 1)


def test_one_off_value_pairs_pool_only_when_the_list_overflows() -> None:
    n = TOP_PATTERNS + 3
    few = tally("x", np.zeros(3), 3, lambda r: [Miss(f"gold {r} → pred {r + 1}", rare=True)])
    assert POOLED not in [p.text for p in few.patterns]  # room for each: listed each
    many = tally("x", np.zeros(n), n, lambda r: [Miss(f"gold {r} → pred {r + 1}", rare=True)])
    assert [(p.text, p.count) for p in many.patterns] == [(POOLED, n)]
    assert many.patterns[0].more == n - 3 and many.hidden == 0


# -- the page -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def abstaining_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """Two models under reference and strict; one abstains (null) on every flag."""
    n = len(GOLDS)
    shy_out = [json.dumps({**g, "flag": None}) for g in GOLDS]
    ref, strict = np.ones((n, len(FIELDS))), np.ones((n, len(FIELDS)))
    ref[:, FIELDS.index("flag")] = 0.0
    strict[:, FIELDS.index("flag")] = np.nan
    shy = result("shy", "baseline", shy_out, ref)
    shy.scores["strict"] = make_score(strict, "strict")
    sure = result("sure", "api", perfect_outputs(), np.ones((n, len(FIELDS))))
    out = tmp_path_factory.mktemp("abstain")
    path = write_report(TASK, list(_examples()), [shy, sure], out)
    return path, path.read_text(encoding="utf-8")


def _examples() -> list[Example]:
    from tests.report.helpers import EXAMPLES

    return EXAMPLES


def test_a_field_never_predicted_is_explained(abstaining_report: tuple[Path, str]) -> None:
    _, html = abstaining_report
    note = f"shy never predicts flag (null on all {len(GOLDS)} rows)"
    summary = html[html.index('id="summary"') : html.index('id="leaderboard"')]
    assert note in summary and "scores each of those rows 0" in summary
    grid = html[html.index('class="fieldgrid"') :]
    assert f'title="{note}.">0.0<sup>†</sup>' in grid  # the 0.0 cell says why
    errors = html[html.index('id="err-flag"') :]
    assert note in errors[: errors.index("<h3")]


def test_coverage_sits_beside_every_strict_score(abstaining_report: tuple[Path, str]) -> None:
    _, html = abstaining_report
    head = re.search(r'<table class="board">\s*<thead>(.*?)</thead>', html, re.S)
    assert head is not None
    columns = re.findall(r"<th[^>]*>([^<]*)</th>", head.group(1))
    at = columns.index("strict")
    assert columns[at : at + 3] == ["strict", "95% CI", "coverage %"]
    assert "reference" in columns and columns[columns.index("reference") + 2] != "coverage %"
    board = html[html.index('<table class="board">') : html.index("</table>")]
    assert '<td class="num cov">80.0</td>' in board  # shy: 4 of 5 fields answered
    # Said once: why the strict score can be above the reference one.
    assert html.count("strict score is often higher than the reference one") == 1


def test_fields_table_fits_without_hiding_the_aggregate(
    abstaining_report: tuple[Path, str],
) -> None:
    path, html = abstaining_report
    grid = html[html.index('<table class="fieldgrid">') :]
    head = grid[: grid.index("</thead>")]
    assert re.findall(r"<th[^>]*>([a-z]+)</th>", head)[:2] == ["model", "aggregate"]
    assert "mid-word" not in head and "<wbr>" not in head  # tiny task: no underscores
    assert {p.name for p in (path.parent / "charts").glob("*.png")} == {
        "leaderboard.png",
        "fields.png",
    }


def test_compare_prints_the_profile_it_is_asked_for(
    abstaining_report: tuple[Path, str], tmp_path: Path
) -> None:
    report, _ = abstaining_report
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "latest.json").write_text(json.dumps({"report": str(report)}))
    cli = CliRunner()

    def table(*args: str) -> dict[str, Any]:
        out = cli.invoke(app, ["compare", "--project", str(tmp_path), "--json", *args])
        assert out.exit_code == 0, out.output
        return json.loads(out.stdout)  # type: ignore[no-any-return]

    assert table()["profile"] == "reference"
    strict = table("--profile", "strict")
    assert strict["profile"] == "strict"
    flag = [c for c in strict["comparisons"] if c["target"] == "flag"][0]
    assert flag["n"] == 0  # strict leaves shy's abstentions out: nothing to pair on flag
    ref_flag = [c for c in table()["comparisons"] if c["target"] == "flag"][0]
    assert ref_flag["n"] == len(GOLDS) and ref_flag["diff"] != 0
    bad = cli.invoke(app, ["compare", "--project", str(tmp_path), "--profile", "nope"])
    assert isinstance(bad.exception, UserError) and "unknown profile 'nope'" in str(bad.exception)
    (report.parent / "pairwise.strict.json").unlink()
    gone = cli.invoke(app, ["compare", "--project", str(tmp_path), "--profile", "strict"])
    assert isinstance(gone.exception, UserError)
    assert "no pairwise table under profile 'strict'" in str(gone.exception)
