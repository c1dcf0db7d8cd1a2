"""Bringing your own outputs, as a user does it: ``import jsonl``, then ``store runs``,
``compare`` by name, the next ``run``, and ``score`` on fenced outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fieldwise.data import load_examples
from fieldwise.tasks import load_task
from tests.cli.helpers import cli

ISAF = load_task("isaf")


@pytest.fixture
def gold(tmp_path: Path) -> Path:
    """Eight labelled rows of the sample."""
    rows = load_examples(ISAF, "sample").examples[:8]
    path = tmp_path / "gold.jsonl"
    path.write_text(
        "".join(json.dumps({"id": e.id, "text": e.text, **(e.gold or {})}) + "\n" for e in rows)
    )
    return path


def _outputs(gold: Path, path: Path, wrong: int = 0, fenced: int = 0, rows: int = 8) -> Path:
    lines = []
    for i, row in enumerate(json.loads(x) for x in gold.read_text().splitlines()[:rows]):
        answer = {k: v for k, v in row.items() if k not in ("id", "text")}
        if i < wrong:
            answer["killq"] = not answer["killq"]
        out = json.dumps(answer)
        if i >= rows - fenced:
            out = f"```json\n{out}\n```"
        lines.append(json.dumps({"id": row["id"], "output": out}) + "\n")
    path.write_text("".join(lines))
    return path


def test_imported_models_are_listed_compared_and_reported(
    gold: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = str(tmp_path / "proj")
    for name, wrong in (("ours", 0), ("theirs", 6)):
        preds = _outputs(gold, tmp_path / f"{name}.jsonl", wrong=wrong)
        code, _, err = cli(capsys, "import", "jsonl", str(preds), "--name", name,
                           "--data", str(gold), "--project", project)  # fmt: skip
        assert code == 0 and f"imported 8 predictions as '{name}'" in err, err
        assert "warning" not in err
    code, out, _ = cli(capsys, "store", "runs", "--project", project)
    assert code == 0 and "ours" in out and "theirs" in out and "import/" in out
    for profile in ("reference", "strict"):
        code, out, err = cli(capsys, "compare", "ours", "theirs", "--project", project,
                             "--profile", profile, "--json", "--bootstrap", "200")  # fmt: skip
        assert code == 0, err
        data = json.loads(out)
        assert data["sides"] == ["ours", "theirs"] and data["shared_examples"] == 8
        killq = [c for c in data["comparisons"] if c["target"] == "killq"]
        assert killq[0]["diff"] == pytest.approx(-75.0)  # theirs − ours: 6 of 8 wrong
    config = tmp_path / "fieldwise.yaml"
    config.write_text(
        f"data: {{train: null, test: {gold}}}\nmodels: []\nbootstrap: 0\noutput: {project}\n"
    )
    code, out, err = cli(capsys, "run", "-c", str(config), "-q")
    assert code == 0, err
    assert "scoring models imported earlier: 'ours' (8 of 8 rows), 'theirs' (8 of 8 rows)" in err
    html = Path(out.strip().splitlines()[-1]).read_text(encoding="utf-8")
    assert "theirs" in html and "ours" in html


def test_a_line_with_out_instead_of_output_fails_naming_file_and_line(
    gold: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "output": "{}"}\n{"id": "b", "out": "{}"}\n')
    code, out, err = cli(capsys, "import", "jsonl", str(bad), "--name", "x",
                         "--data", str(gold), "--project", str(tmp_path / "p"))  # fmt: skip
    assert code == 2 and not out
    assert err.startswith(f"error: {bad}:2: no 'output' key (the line has 'id', 'out')")
    assert len(err.strip().splitlines()) == 1


def test_importing_one_of_eight_ids_warns_that_seven_have_none(
    gold: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    one = _outputs(gold, tmp_path / "one.jsonl", rows=1)
    code, _, err = cli(capsys, "import", "jsonl", str(one), "--name", "x",
                       "--data", str(gold), "--project", str(tmp_path / "p"))  # fmt: skip
    assert code == 0
    assert f"warning: 7 of 8 rows of {gold} have no prediction in {one}" in err
    assert "imported 1 prediction as 'x'" in err


def test_score_shows_fenced_outputs_and_strips_them_only_when_asked(
    gold: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    preds = _outputs(gold, tmp_path / "p.jsonl", fenced=2)
    scores = {}
    for profile in ("reference", "strict"):
        for flag in ([], ["--strip-fences"]):
            code, out, err = cli(capsys, "score", "--gold", str(gold), "--predictions",
                                 str(preds), "--profile", profile, "--json", *flag)  # fmt: skip
            assert code == 0, err
            data = json.loads(out)
            assert data["validity"]["fenced"] == 2 and data["validity"]["invalid_json"] == 0
            scores[profile, bool(flag)] = data["aggregate"]
    assert scores["reference", False] == scores["reference", True] == 75.0
    assert scores["strict", False] == 75.0 and scores["strict", True] == 100.0
