"""Fine-tuning YAML configs: paths resolve against the file, bad keys are named."""

from __future__ import annotations

from pathlib import Path

import pytest

from fieldwise.errors import UserError
from fieldwise.finetune.config import load_config
from fieldwise.finetune.local import finetune_many, run_finetune


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_relative_paths_resolve_against_the_yaml(tmp_path: Path) -> None:
    (tmp_path / "models" / "base").mkdir(parents=True)
    cfg = load_config(
        _write(
            tmp_path / "ft.yaml",
            "base_model: models/base\ntrain: data/train.jsonl\neval: sample\n"
            "output_dir: runs/a\nlora: {r: 4}\n",
        )
    )
    assert cfg.base_model == str(tmp_path / "models" / "base")
    assert cfg.train == str(tmp_path / "data" / "train.jsonl")
    assert cfg.eval == "sample"
    assert cfg.output_dir == str(tmp_path / "runs" / "a")
    assert cfg.label == "a" and cfg.lora.r == 4 and cfg.lora.target_modules == "all-linear"
    hub = load_config(
        _write(tmp_path / "h.yaml", "base_model: org/model\ntrain: x\noutput_dir: o\n")
    )
    assert hub.base_model == "org/model"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("learning_rte: 0.1\n", "unknown key 'learning_rte'"),
        ("lora: {rank: 4}\n", "unknown key 'lora.rank'"),
        ("method: dora\n", "key 'method'"),
        ("batch_size: 0\n", "key 'batch_size'"),
        ("max_steps: 0\n", "key 'max_steps'"),
    ],
)
def test_bad_keys_are_named(tmp_path: Path, body: str, message: str) -> None:
    path = _write(tmp_path / "ft.yaml", "base_model: b\ntrain: t\noutput_dir: o\n" + body)
    with pytest.raises(UserError, match=message):
        load_config(path)


def test_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="missing required key 'output_dir'"):
        load_config(_write(tmp_path / "a.yaml", "base_model: b\ntrain: t\n"))
    with pytest.raises(UserError, match="expected a mapping"):
        load_config(_write(tmp_path / "b.yaml", "- a\n- b\n"))
    with pytest.raises(UserError, match="invalid YAML"):
        load_config(_write(tmp_path / "c.yaml", "a: [\n"))
    with pytest.raises(UserError, match="not found"):
        load_config(tmp_path / "nope.yaml")


def test_qlora_without_a_gpu_is_a_user_error(tmp_path: Path) -> None:
    cfg = load_config(
        _write(tmp_path / "q.yaml", "base_model: b\ntrain: t\noutput_dir: o\nmethod: qlora\n")
    )
    with pytest.raises(UserError, match=r"qlora|bitsandbytes"):
        run_finetune(cfg, progress=False)


def test_finetune_many_validates_every_config_first(tmp_path: Path) -> None:
    good = _write(tmp_path / "a.yaml", "base_model: b\ntrain: t\noutput_dir: out\n")
    twin = _write(tmp_path / "b.yaml", "base_model: b\ntrain: t\noutput_dir: out\nname: other\n")
    typo = _write(tmp_path / "c.yaml", "base_model: b\ntrain: t\noutput_dir: o2\nepochz: 1\n")
    with pytest.raises(UserError, match="unknown key 'epochz'"):
        finetune_many([good, typo], progress=False)
    with pytest.raises(UserError, match="share the same output_dir"):
        finetune_many([good, twin], progress=False)
    with pytest.raises(UserError, match="no fine-tuning config"):
        finetune_many([], progress=False)
