"""Projects made under the old name (extractbench) keep working after the rename."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fieldwise import _legacy
from fieldwise.config import load_config
from tests.cli.helpers import cli

SAMPLE = Path(__file__).parents[1] / "src/fieldwise/tasks/samples/isaf_sample.jsonl"


@pytest.fixture(autouse=True)
def _fresh_notes() -> None:
    _legacy._said.clear()


def _old_project(root: Path, capsys: pytest.CaptureFixture[str]) -> list[str]:
    """A project folder as the old release left it: .extractbench/extractbench.sqlite."""
    rows = [json.loads(line) for line in SAMPLE.read_text().splitlines()[:6]]
    data, preds = root / "data.jsonl", root / "theirs.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    preds.write_text("".join(json.dumps({"id": r["id"], "output": "{}"}) + "\n" for r in rows))
    code, _, err = cli(capsys, "import", "jsonl", str(preds), "--name", "theirs",
                       "--data", str(data), "--project", str(root / ".fieldwise"))  # fmt: skip
    assert code == 0, err
    new = root / ".fieldwise"
    (new / "fieldwise.sqlite").rename(new / _legacy.OLD_STORE_FILE)
    for extra in new.glob("fieldwise.sqlite-*"):
        extra.unlink()
    new.rename(root / _legacy.OLD_PROJECT_DIR)
    return [r["id"] for r in rows]


def test_old_project_folder_and_store_are_used_as_they_are(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = _old_project(tmp_path, capsys)
    monkeypatch.chdir(tmp_path)
    code, out, err = cli(capsys, "store", "models")  # default --project .fieldwise
    assert code == 0, err
    assert out.split()[:2] == ["theirs", "import/theirs"]
    assert "using the old project folder" in err and "using the old store" in err
    assert not (tmp_path / ".fieldwise").exists(), "nothing is moved or created beside it"
    code, _, err = cli(capsys, "store", "export", "--out", "all.jsonl")
    assert code == 0, err
    exported = [json.loads(x) for x in (tmp_path / "all.jsonl").read_text().splitlines()]
    assert sorted(r["id"] for r in exported) == sorted(ids)


def test_a_new_project_folder_wins_over_an_old_one(tmp_path: Path) -> None:
    (tmp_path / ".extractbench").mkdir()
    (tmp_path / ".fieldwise").mkdir()
    assert _legacy.project_dir(tmp_path / ".fieldwise") == tmp_path / ".fieldwise"


def test_old_config_is_read_when_no_new_one_exists(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / _legacy.OLD_CONFIG_FILE).write_text("task: isaf\nbootstrap: 7\n")
    cfg = load_config(tmp_path)
    assert cfg.bootstrap == 7
    assert "reading the old config" in capsys.readouterr().err
    (tmp_path / "fieldwise.yaml").write_text("task: isaf\nbootstrap: 9\n")
    assert load_config(tmp_path).bootstrap == 9
    assert "old config" not in capsys.readouterr().err


def test_a_folder_without_any_config_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = cli(capsys, "run", "-c", str(tmp_path))
    assert code == 2 and "no fieldwise.yaml in" in err and "Traceback" not in err
