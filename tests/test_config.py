from __future__ import annotations

from pathlib import Path

import pytest

from fieldwise.config import default_config, load_config
from fieldwise.errors import UserError


def test_default_config_is_the_offline_main_job(tmp_path: Path) -> None:
    cfg = default_config(tmp_path)
    assert cfg.task == "isaf" and cfg.data.train == "sample"
    assert [(m.label, m.spec) for m in cfg.models] == [
        ("baseline", "baseline/auto"),
        ("baseline-abstain", "baseline/auto"),
    ]
    assert cfg.models[1].options == {"abstain": True}
    assert cfg.output_dir == tmp_path / ".fieldwise"


def test_paths_resolve_relative_to_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "proj").mkdir()
    path = tmp_path / "proj" / "fieldwise.yaml"
    path.write_text(
        "task: mytask.py:TASK\n"
        "data: {train: data/train.jsonl, test: hub:owner/name:test}\n"
        "models:\n  - {spec: openai/gpt-4o, name: g, rpm: 60,\n"
        "     price: {input_per_mtok: 1, output_per_mtok: 4}}\n"
    )
    cfg = load_config(path)
    assert cfg.resolve(cfg.data.train) == str(tmp_path / "proj" / "data" / "train.jsonl")
    assert cfg.resolve(cfg.data.test) == "hub:owner/name:test"
    assert cfg.resolve_task() == f"{tmp_path / 'proj' / 'mytask.py'}:TASK"
    assert cfg.models[0].label == "g" and cfg.models[0].price.input_per_mtok == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("models:\n  - {spec: x/y, temprature: 0}\n", "models.0.temprature"),
        ("data: {cv: 1}\n", "data.cv"),
        ("models:\n  - {spec: a/b}\n  - {spec: a/b}\n", "unique"),
        ("- just a list\n", "mapping"),
        ("task: [unclosed\n", "invalid YAML"),
    ],
)
def test_bad_configs_name_the_problem(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(UserError, match=message.replace(".", r"\.")):
        load_config(path)


def test_repeats_are_bounded_with_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "fieldwise.yaml"
    path.write_text("models:\n  - {spec: baseline/auto, name: b, repeats: 1000000000}\n")
    with pytest.raises(UserError, match=r"repeats is 1,000,000,000; at most 1,000"):
        load_config(path)
    path.write_text("models:\n  - {spec: baseline/auto, name: b, repeats: 1000}\n")
    assert load_config(path).models[0].repeats == 1000
