"""The HTML report: self-contained, escaped, ranked, wrong cells marked, charts written."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fieldwise.errors import UserError
from fieldwise.report import write_report
from tests.report.helpers import (
    EXAMPLES,
    FIELDS,
    GOLDS,
    TASK,
    perfect_outputs,
    read_cells,
    result,
)

EVIL = "</td><script>alert(1)</script>"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
COUNT, TAGS, FLAG, COLOUR = (FIELDS.index(n) for n in ("count", "tags", "flag", "colour"))


def three_models() -> list[Any]:
    n = len(GOLDS)
    best_out = perfect_outputs()
    best_out[1] = json.dumps({**GOLDS[1], "count": 3})
    best = np.ones((n, len(FIELDS)))
    best[1, COUNT] = 0.0

    mid_out = perfect_outputs()
    mid = np.ones((n, len(FIELDS)))
    for i in (0, 2, 4):
        wrong = "red" if GOLDS[i]["colour"] == "green" else "green"
        mid_out[i] = json.dumps({**GOLDS[i], "colour": wrong})
        mid[i, COLOUR] = 0.0
    mid_out[2] = json.dumps({**json.loads(mid_out[2] or ""), "tags": ["b"]})
    mid[2, TAGS] = 0.5
    mid_out[5] = json.dumps({**GOLDS[5], "flag": None})
    mid[5, FLAG] = np.nan

    low_out: list[str | None] = perfect_outputs()
    low = np.ones((n, len(FIELDS)))
    low_out[6] = "not json at all"
    low[6, :] = 0.0
    low_out[7] = json.dumps({**GOLDS[7], "colour": EVIL})
    low[7, COLOUR] = 0.0
    low[:5, FIELDS.index("day")] = 0.0  # scored wrong on paper, to rank it last
    low_res = result("base-low", "baseline", low_out, low, stats={"latency_s_mean": 0.01})
    low_res.scores["reference"].validity.update(ok=n - 1, invalid_json=1)
    low_res.errors[6] = "runner: <b>timeout</b>"
    return [
        low_res,
        result("api-mid", "api", mid_out, mid, stats={"latency_s_mean": 1.5, "cost_usd": 0.02}),
        result("ft-best", "finetune", best_out, best),
    ]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("report")
    meta = {"git_sha": "abc1234", "api_key": "sk-secret-value", "note": "<b>bold</b>"}
    path = write_report(TASK, EXAMPLES, three_models(), out, title="Tiny <test>", meta=meta)
    return path, path.read_text(encoding="utf-8")


def test_writes_one_self_contained_page(report: tuple[Path, str]) -> None:
    path, html = report
    assert path.name == "report.html" and path.is_file()
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.I)
    assert "<link" not in html and not re.search(r"<script[^>]*\bsrc=", html)
    assert "@import" not in html and "url(http" not in html
    for label in ("ft-best", "api-mid", "base-low"):
        assert label in html
    assert "Tiny &lt;test&gt;" in html


def test_models_are_ranked_best_first(report: tuple[Path, str]) -> None:
    _, html = report
    board = html[html.index('<table class="board">') :]
    board = board[: board.index("</table>")]
    positions = [board.index(label) for label in ("ft-best", "api-mid", "base-low")]
    assert positions == sorted(positions)
    assert "<b>ft-best</b> (fine-tuned) ranks first" in html


def test_model_output_and_text_are_escaped(report: tuple[Path, str]) -> None:
    _, html = report
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>timeout</b>" not in html and "&lt;b&gt;timeout&lt;/b&gt;" in html
    assert "<b>bold</b>" not in html


def test_wrong_partial_and_abstained_cells_are_marked(report: tuple[Path, str]) -> None:
    _, html = report
    cells = read_cells(html)
    assert cells.model_row(1, "ft-best")[COUNT] == ("w", "3")
    assert all(c == ("", "·") for c in cells.model_row(0, "ft-best")[: len(FIELDS)])
    assert cells.model_row(0, "api-mid")[COLOUR] == ("w", "red")
    assert cells.model_row(2, "api-mid")[TAGS] == ("p", "b")
    assert cells.model_row(5, "api-mid")[FLAG] == ("n", "null")
    assert cells.model_row(7, "base-low")[COLOUR] == ("w", EVIL)
    bad = cells.model_row(6, "base-low")[0]
    assert bad[0] == "bad" and "invalid JSON" in bad[1] and "timeout" in bad[1]


def test_rows_name_the_models_that_got_them_wrong(report: tuple[Path, str]) -> None:
    _, html = report
    bodies = read_cells(html).bodies
    assert len(bodies) == len(EXAMPLES)
    # results order: 0 base-low, 1 api-mid, 2 ft-best
    assert set(bodies["ex-1"]["attrs"]["data-w"].split()) == {"0", "2"}
    assert bodies["ex-7"]["attrs"]["data-w"].split() == ["0"]
    assert bodies["ex-5"]["attrs"]["data-w"] == ""  # an abstention is not an error


def test_error_patterns_link_to_rows(report: tuple[Path, str]) -> None:
    _, html = report
    assert "gold 1 → pred 3" in html
    assert 'href="#ex-1">doc-1</a>' in html
    assert "missing c" in html
    assert "no usable output (invalid JSON)" in html
    assert "gold ↓ / pred →" in html  # a confusion table for the label/bool/int fields


def test_validity_and_meta(report: tuple[Path, str]) -> None:
    _, html = report
    section = html[html.index('id="validity"') : html.index('id="errors"')]
    row = re.search(r"<tr><td>base-low</td>(.*?)</tr>", section)
    assert row is not None
    numbers = re.findall(r">(\d+)<", row.group(1))
    assert numbers == ["7", "0", "0", "1", "0", "1", "8"]  # ok, fenced, none, invalid, ...
    assert "abc1234" in html
    assert "sk-secret-value" not in html


def test_charts_are_valid_pngs_and_embedded(report: tuple[Path, str]) -> None:
    path, html = report
    charts = path.parent / "charts"
    names = {p.name for p in charts.glob("*.png")}
    # The leaderboard, and every field as small multiples in one figure (one chart per
    # field took ~2,000 px of page to say what one ~350 px figure says).
    assert names == {"leaderboard.png", "fields.png"}
    embedded = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(embedded) == len(names)
    on_disk = {(charts / n).read_bytes() for n in names}
    for data in embedded:
        png = base64.b64decode(data)
        assert png.startswith(PNG_MAGIC) and png[12:16] == b"IHDR"
        assert png in on_disk


def test_one_model(tmp_path: Path) -> None:
    only = result("solo", "api", perfect_outputs(), np.ones((len(GOLDS), len(FIELDS))))
    html = write_report(TASK, EXAMPLES, [only], tmp_path).read_text(encoding="utf-8")
    assert "solo" in html and "Lead over" not in html
    assert (tmp_path / "charts" / "leaderboard.png").read_bytes().startswith(PNG_MAGIC)


def test_model_with_no_outputs_at_all(tmp_path: Path) -> None:
    n = len(GOLDS)
    empty = result("silent", "imported", [None] * n, np.zeros((n, len(FIELDS))))
    empty.scores["reference"].validity.update(ok=0, missing=n)
    good = result("good", "finetune", perfect_outputs(), np.ones((n, len(FIELDS))))
    html = write_report(TASK, EXAMPLES, [empty, good], tmp_path).read_text(encoding="utf-8")
    cells = read_cells(html)
    for i in range(n):
        assert cells.model_row(i, "silent")[0] == ("bad", "no output")
    assert "no usable output (no output)" in html


def test_with_real_scoring(tmp_path: Path) -> None:
    from fieldwise.scoring import score_outputs
    from fieldwise.scoring._types import ModelResult

    outputs: list[str | None] = perfect_outputs()
    outputs[0] = json.dumps({**GOLDS[0], "tags": ["a", "b", "c"], "count": "0"})
    outputs[3] = "```json\n{}\n```"
    scores = score_outputs(TASK, GOLDS, outputs, n_boot=50)
    res = ModelResult("scored", "fake/scored", "api", outputs, [None] * len(outputs), scores)
    html = write_report(TASK, EXAMPLES, [res], tmp_path).read_text(encoding="utf-8")
    row = read_cells(html).model_row(0, "scored")
    ref = scores["reference"].per_row[0]
    for j, (cls, _) in enumerate(row[: len(FIELDS)]):
        assert (cls in ("w", "p")) == (ref[j] < 1)
    assert row[FIELDS.index("tags")][0] == "d"  # over-prediction is free under reference
    assert "strict" in html
    strict = write_report(TASK, EXAMPLES, [res], tmp_path / "s", profile="strict")
    assert "ranked by the <b>strict</b> profile" in strict.read_text(encoding="utf-8")


def test_bad_input_is_a_user_error(tmp_path: Path) -> None:
    good = result("good", "api", perfect_outputs(), np.ones((len(GOLDS), len(FIELDS))))
    with pytest.raises(UserError, match="no model results"):
        write_report(TASK, EXAMPLES, [], tmp_path)
    with pytest.raises(UserError, match="outputs for"):
        write_report(TASK, EXAMPLES[:-1], [good], tmp_path)
    not_text: list[Any] = [12345, *perfect_outputs()[1:]]  # garbage is data, not a crash
    odd = result("odd", "api", not_text, np.ones((len(GOLDS), len(FIELDS))))
    assert write_report(TASK, EXAMPLES, [odd], tmp_path / "odd").is_file()
    with pytest.raises(UserError, match="profile 'nope'"):
        write_report(TASK, EXAMPLES, [good], tmp_path, profile="nope")
    assert not (tmp_path / "report.html").exists()
