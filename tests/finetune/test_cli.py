"""``fieldwise finetune`` then ``fieldwise run`` listing the fine-tune by name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from fieldwise.store import Store
from fieldwise.tasks import Example
from tests.cli.helpers import cli
from tests.finetune.conftest import MINI_TASK_SPEC


@pytest.mark.slow
def test_finetune_registers_the_adapter_and_run_finds_it_by_name(
    tiny_dir: Path,
    train_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    config = {
        "base_model": str(tiny_dir), "task": MINI_TASK_SPEC, "train": str(train_file),
        "output_dir": "runs/mini", "name": "mini-lora", "max_steps": 2, "batch_size": 4,
        "lora": {"r": 4, "alpha": 8}, "post_check_examples": 1,
    }  # fmt: skip
    (tmp_path / "ft.yaml").write_text(yaml.safe_dump(config))
    code, out, err = cli(capsys, "finetune", "ft.yaml")  # progress on: the trainer logs
    assert code == 0, err
    # stdout is the result alone: the trainer's log dicts go to stderr
    (line,) = out.strip().splitlines()
    printed = json.loads(line)
    assert "'loss'" in err
    assert printed["label"] == "mini-lora" and printed["kind"] == "finetune"
    with Store(tmp_path / ".fieldwise") as store:
        (registered,) = store.models()
    assert registered["label"] == "mini-lora" and registered["spec"] == printed["spec"]

    project = {
        "task": MINI_TASK_SPEC,
        "data": {"train": str(train_file), "test": str(train_file)},
        "models": [{"name": "mini-lora", "options": {"max_tokens": 8}}],
        "bootstrap": 0,
    }
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(project))
    code, out, err = cli(capsys, "run", "-c", "run.yaml", "--quiet")
    assert code == 0, err
    assert Path(out.strip().splitlines()[-1]).is_file()
    with Store(tmp_path / ".fieldwise") as store:
        (run,) = store.runs("mini-lora")
    assert run["spec"] == printed["spec"] and run["kind"] == "finetune"


def test_run_with_an_unregistered_name_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], examples: list[Example]
) -> None:
    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps({"id": e.id, "text": e.text, **(e.gold or {})}) + "\n"
                            for e in examples))  # fmt: skip
    project = {"task": MINI_TASK_SPEC, "data": {"train": str(data)}, "models": [{"name": "nope"}]}
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(project))
    code, _, err = cli(capsys, "run", "-c", str(tmp_path / "run.yaml"), "--quiet")
    assert code == 2
    assert "'nope' has no spec and is not registered" in err and "Traceback" not in err


def test_finetune_checks_every_config_before_training(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "bad.yaml").write_text(
        "base_model: x\ntrain: sample\noutput_dir: o\nbogus_key: 1\n"
    )
    code, _, err = cli(
        capsys, "finetune", str(tmp_path / "missing.yaml"), str(tmp_path / "bad.yaml")
    )
    assert code == 2 and "config file not found" in err
    code, _, err = cli(capsys, "finetune", str(tmp_path / "bad.yaml"))
    assert code == 2 and "bogus_key" in err and "Traceback" not in err


def test_serve_rejects_a_bad_adapter_before_loading_anything(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = cli(capsys, "serve", "--base", "no/such/model", "--adapter", "oops")
    assert code == 2 and "bad --adapter 'oops'" in err and "NAME=DIR" in err


def test_a_missing_local_base_model_says_no_such_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not sent to the Hub as a repo id (which answered with repo-id syntax rules)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "examples").mkdir()
    config = {"base_model": "../runs/tiny-base", "task": "isaf", "train": "sample",
              "output_dir": "../runs/out", "max_steps": 1}  # fmt: skip
    (tmp_path / "examples" / "ft.yaml").write_text(yaml.safe_dump(config))
    code, _, err = cli(capsys, "finetune", "examples/ft.yaml", "--quiet")
    assert code == 2, err
    assert "no such folder:" in err and "runs/tiny-base" in err
    assert "Repo id" not in err and "Traceback" not in err
