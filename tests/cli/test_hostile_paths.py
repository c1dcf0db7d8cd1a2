"""Path traversal in model and output names (issue 15 §4, hostile suite): a model named
``../../x`` is a label, never a path, so nothing is written outside the project and the
files the user named. (Adapter names: ``tests/serve/test_serve_hostile.py``; hosted
fine-tune exports: ``tests/finetune/test_hosted.py``.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fieldwise._text import file_stem
from tests.cli.helpers import cli, predict_openai
from tests.fakes.openai_server import FakeServer
from tests.fakes.openai_server import fake_openai as fake_openai  # noqa: F401 - fixture
from tests.runner.helpers import docs

EVIL = "../../../escaped"


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


@pytest.mark.timeout(120)
def test_model_names_that_are_paths_stay_labels(
    fake_openai: FakeServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    work = tmp_path / "a" / "b" / "c"
    work.mkdir(parents=True)
    data, project = work / "docs.jsonl", work / "project"
    before = _files(tmp_path)
    code, _, err = predict_openai(capsys, work, fake_openai.url, "--name", EVIL)
    assert code == 0, err
    before.add(data)
    preds = work / "preds.jsonl"
    preds.write_text("".join(json.dumps({"id": e.id, "output": "{}"}) + "\n" for e in docs(3)))
    code, _, err = cli(
        capsys, "import", "jsonl", str(preds), "--name", EVIL + "2", "--data", str(data),
        "--project", str(project),
    )  # fmt: skip
    assert code == 0, err
    new = _files(tmp_path) - before - {preds}
    assert new and all(p == work / "out.jsonl" or p.is_relative_to(project) for p in new), new
    assert not list(tmp_path.rglob("escaped*"))


def test_file_stem_is_one_component() -> None:
    for name in (EVIL, "a/b", "..", "/etc/passwd", "C:\\x", "\x00", ""):
        stem = file_stem(name)
        assert "/" not in stem and "\\" not in stem and not stem.startswith(".") and stem
