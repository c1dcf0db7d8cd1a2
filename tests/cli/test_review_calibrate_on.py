"""``review export --calibrate-on``: production rows have no gold, so the queue of an
unlabelled run is decided by a policy fitted on a labelled run of the same model."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import pytest

from fieldwise.data import load_examples
from fieldwise.tasks import load_task
from tests.cli.helpers import cli

ISAF = load_task("isaf")
WRONG = "bamyan"


def _write(path: Path, lines: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    return path


def test_an_unlabelled_run_is_queued_by_a_labelled_runs_policy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    examples = load_examples(ISAF, "sample").examples
    gold = _write(
        tmp_path / "gold.jsonl", [{"id": e.id, "text": e.text, **(e.gold or {})} for e in examples]
    )
    texts = _write(tmp_path / "texts.jsonl", [{"id": e.id, "text": e.text} for e in examples])

    def predictions(name: str, unsure: set[str]) -> Path:
        lines = []
        for e in examples:
            out = dict(e.gold or {})
            if e.id in unsure:
                out["province"] = [WRONG]
            conf = {"province": 0.2 if e.id in unsure else 0.98}
            lines.append({"id": e.id, "output": json.dumps(out), "confidence": conf})
        return _write(tmp_path / f"{name}.jsonl", lines)

    # Rows with the same text share one prediction (keyed by model and text): only
    # unique texts are made unsure, so each id's answer is its own.
    texts_seen = Counter(e.text for e in examples)
    unique = [e.id for e in examples if texts_seen[e.text] == 1]
    every_third, every_fifth = set(unique[::3]), set(unique[1::5])
    project = ("--project", str(tmp_path / "p"))
    for name, data, unsure in (("m", gold, every_third), ("m-prod", texts, every_fifth)):
        code, _, err = cli(
            capsys, "import", "jsonl", str(predictions(name, unsure)), "--name", name,
            "--data", str(data), *project,
        )  # fmt: skip
        assert code == 0, err

    code, _, err = cli(capsys, "review", "export", "m-prod", "--out", "rq", *project)
    assert code == 2 and "--calibrate-on" in err and "Traceback" not in err
    code, _, err = cli(
        capsys, "review", "export", "m", "--out", "rq", "--calibrate-on", "m-prod", *project
    )
    assert code == 2 and "unlabelled" in err

    out_dir = tmp_path / "rq"
    code, out, err = cli(
        capsys, "review", "export", "m-prod", "--calibrate-on", "m", "--risk", "0.2",
        "--out", str(out_dir), "--json", *project,
    )  # fmt: skip
    assert code == 0, err
    with (out_dir / "review.csv").open(encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["path"] == "province"]
    # The production rows the model was unsure of, judged by the labelled run's
    # threshold; no gold to show.
    low = {r["id"] for r in rows if "low_confidence" in r["reasons"]}
    assert low == every_fifth
    assert all(r["gold"] == "" for r in rows)
