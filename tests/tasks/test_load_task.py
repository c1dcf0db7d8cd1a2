"""``load_task``: built-in names, ``module:attr`` and ``file.py[:attr]``; bad specs are
UserErrors with a one-line message, never tracebacks."""

from __future__ import annotations

from pathlib import Path

import pytest

from fieldwise.errors import UserError
from fieldwise.tasks import Task, load_task
from fieldwise.tasks.isaf import ISAF

RECALLS_FILE = Path(__file__).resolve().parents[2] / "examples" / "recalls" / "task.py"


def test_builtin_name_and_module_attr_and_instance() -> None:
    assert load_task("isaf") is ISAF
    assert load_task("fieldwise.tasks.isaf:ISAF") is ISAF
    assert load_task(ISAF) is ISAF


@pytest.mark.parametrize("spec", [f"{RECALLS_FILE}:RECALLS", str(RECALLS_FILE)])
def test_file_spec_with_and_without_attr(spec: str) -> None:
    task = load_task(spec)
    assert isinstance(task, Task) and task.name == "recalls"
    assert task.field("hazard").metric.name == "set_equal"


def test_relative_file_spec(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(RECALLS_FILE.parents[2])
    assert load_task("examples/recalls/task.py:RECALLS").name == "recalls"


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "user_task.py"
    path.write_text(
        "from pydantic import BaseModel\nfrom fieldwise.tasks import Task\n"
        "class Out(BaseModel):\n    x: int\n" + body,
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("nope", "unknown task 'nope'"),
        ("no/such/task.py", "task file not found"),
        ("no/such/task.py:TASK", "task file not found"),
        ("no_such_module_for_fieldwise:TASK", "cannot import task module"),
        ("fieldwise.tasks.isaf:MISSING", "fieldwise.tasks.isaf has no attribute 'MISSING'"),
        ("fieldwise.tasks.isaf:isaf", r"no attribute 'isaf' \(did you mean 'ISAF'\?\)"),
        ("fieldwise.tasks.isaf:PROVINCES", "is a list, not a fieldwise Task"),
        (f"{RECALLS_FILE}:RecallNotice", "is the class RecallNotice, not a fieldwise Task"),
    ],
)
def test_bad_specs_raise_user_error(spec: str, message: str) -> None:
    with pytest.raises(UserError, match=message):
        load_task(spec)


def test_file_with_two_tasks_needs_an_attr(tmp_path: Path) -> None:
    path = _write(tmp_path, "A = Task.from_model('a', Out)\nB = Task.from_model('b', Out)\n")
    with pytest.raises(UserError, match="defines 2 tasks"):
        load_task(str(path))
    assert load_task(f"{path}:B").name == "b"


def test_file_with_no_task(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="defines 0 tasks"):
        load_task(str(_write(tmp_path, "")))


def test_a_schema_given_as_a_task_says_how_to_wrap_it(tmp_path: Path) -> None:
    path = _write(tmp_path, "N = 3\n")
    with pytest.raises(UserError, match="is an int, not a fieldwise Task"):
        load_task(f"{path}:N")
    with pytest.raises(UserError) as err:
        load_task(f"{RECALLS_FILE}:RecallNotice")
    assert "Task.from_model('recallnotice', RecallNotice)" in str(err.value)
