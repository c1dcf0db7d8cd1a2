"""Gold spans from a data file through ``fieldwise score``: grounded-correct (IoU >= 0.5
with a gold span), the hallucination rate, ``--require-grounding``, and bad spans."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fieldwise.data import fingerprint_examples, load_examples
from fieldwise.tasks import load_task
from tests.cli.helpers import cli

A = "Forces detained a man in Kandahar province."  # "Kandahar" 25-33
B = "Kandahar officials said forces detained a man in Kandahar province on Friday."  # 0, 49
C = "Forces detained a man in Kunduz province."  # "Kunduz" 25-31


def _gold(province: str) -> dict[str, Any]:
    return {
        "province": [province], "event_type": "detention", "target_group": ["unknown"],
        "min_killed": 0, "min_captured": 1, "killq": False, "captureq": True,
        "killcaptureraid": False, "airstrike": False, "noshotsfired": False,
        "min_leaders_killed": 0, "min_leaders_captured": 0, "start_date": "2011-01-01",
    }  # fmt: skip


def _write(path: Path, rows: list[dict[str, Any]]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return str(path)


@pytest.fixture
def files(tmp_path: Path) -> tuple[str, str]:
    data = _write(
        tmp_path / "d.jsonl",
        [
            {"id": "a", "text": A, **_gold("kandahar"), "spans": {"province": [[25, 33]]}},
            # the annotator marked the second mention; the aligner takes the first
            {"id": "b", "text": B, **_gold("kandahar"), "spans": {"province[0]": [[49, 57]]}},
            {"id": "c", "text": C, **_gold("kunduz"), "spans": {"province": [[25, 31]]}},
        ],
    )
    said = ["kandahar", "kandahar", "helmand"]  # c: wrong, and nowhere in its text
    preds = _write(
        tmp_path / "p.jsonl",
        [{"id": i, "output": json.dumps(_gold(p))} for i, p in zip("abc", said, strict=True)],
    )
    return data, preds


def test_score_reports_grounded_correct_against_gold_spans(
    files: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    data, preds = files
    args = ["score", "--gold", data, "--predictions", preds, "--profile", "strict", "--json"]
    code, out, err = cli(capsys, *args, "--bootstrap", "0")
    assert code == 0, err
    result = json.loads(out)
    province = result["grounding"]["fields"]["province"]
    assert province == {
        "grounding": "required",
        "values": 3,
        "grounded_rate": pytest.approx(2 / 3, abs=1e-6),
        "hallucination_rate": pytest.approx(1 / 3, abs=1e-6),
        "grounded_correct_rate": pytest.approx(1 / 3, abs=1e-6),  # a only: b's IoU is 0
    }
    assert result["fields"]["province"] == pytest.approx(2 / 3, abs=1e-6)
    # --require-grounding: c's ungrounded province is an abstention, not an error
    code, out, err = cli(capsys, *args, "--bootstrap", "0", "--require-grounding")
    assert code == 0, err
    strict = json.loads(out)
    assert strict["profile"] == "strict+grounding"
    assert strict["fields"]["province"] == 1.0
    assert strict["coverage"]["province"] == pytest.approx(2 / 3, abs=1e-6)


def test_gold_spans_count_in_the_fingerprint(files: tuple[str, str], tmp_path: Path) -> None:
    isaf = load_task("isaf")
    data, _ = files
    rows = [json.loads(line) for line in Path(data).read_text().splitlines()]
    plain = _write(
        tmp_path / "plain.jsonl", [{k: v for k, v in r.items() if k != "spans"} for r in rows]
    )
    moved = _write(tmp_path / "moved.jsonl", [{**r, "spans": {"province": [[0, 8]]}} for r in rows])
    prints = {fingerprint_examples(load_examples(isaf, p).examples) for p in (data, plain, moved)}
    assert len(prints) == 3
    assert load_examples(isaf, plain).examples[0].spans is None


@pytest.mark.parametrize(
    ("spans", "message"),
    [
        ({"province": [[25, 99]]}, "<= 43 (the text's length)"),
        ({"province": [[30, 25]]}, "is not [start, end]"),
        ({"province": [25, 33]}, "is not [start, end]"),
        ({"province": "25-33"}, "expected a list of [start, end]"),
        ([[25, 33]], "expected an object of path"),
    ],
)
def test_bad_gold_spans_are_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], spans: object, message: str
) -> None:
    data = _write(
        tmp_path / "d.jsonl", [{"id": "a", "text": A, **_gold("kandahar"), "spans": spans}]
    )
    preds = _write(tmp_path / "p.jsonl", [{"id": "a", "output": "{}"}])
    code, _, err = cli(capsys, "score", "--gold", data, "--predictions", preds)
    assert code == 2 and message in err and "Traceback" not in err
    assert "d.jsonl:1:" in err  # names the row
