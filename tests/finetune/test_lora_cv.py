"""``--cv K`` for a local LoRA config (``lora/auto``): one adapter per fold, each fold's
rows predicted by the adapter that never saw them, cached so a rerun trains nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from fieldwise.config import load_config
from fieldwise.errors import UserError
from fieldwise.models import create_model
from fieldwise.pipeline import run_project
from fieldwise.store import Store
from tests.finetune.conftest import MINI_TASK_SPEC
from tests.finetune.mini_task import MINI, mini_examples


def _project(tmp_path: Path, tiny_dir: Path) -> Path:
    rows = [{"id": e.id, "text": e.text, **(e.gold or {})} for e in mini_examples(8)]
    (tmp_path / "data.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    lora = {
        "base_model": str(tiny_dir),
        "max_steps": 2,
        "batch_size": 4,
        "learning_rate": 1e-2,
        "lora": {"r": 4, "alpha": 8, "dropout": 0.0},
        "post_check_examples": 0,
    }
    (tmp_path / "lora.yaml").write_text(yaml.safe_dump(lora))
    config = {
        "task": MINI_TASK_SPEC,
        "data": {"train": "data.jsonl", "cv": 2},
        "bootstrap": 0,
        "models": [
            {"name": "base", "spec": "baseline/auto"},
            {
                "name": "mini-lora",
                "spec": "lora/auto",
                "options": {"finetune": "lora.yaml", "max_tokens": 8, "batch_size": 8},
            },
        ],
        "output": "out",
    }
    path = tmp_path / "fieldwise.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.mark.slow
def test_cv_trains_one_adapter_per_fold_and_resumes(
    tiny_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import fieldwise.finetune.local as local

    trainings: list[int] = []
    real = local.run_finetune

    def counting(config: Any, **kwargs: Any) -> Any:
        trainings.append(len(kwargs["examples"]))
        return real(config, **kwargs)

    monkeypatch.setattr(local, "run_finetune", counting)
    config = load_config(_project(tmp_path, tiny_dir))
    # the YAML was read relative to the project file and kept inline (cache key = content)
    options = next(m for m in config.models if m.label == "mini-lora").options
    assert options["finetune"]["base_model"] == str(tiny_dir)

    result = run_project(config, quiet=True)
    assert trainings == [4, 4]  # two folds, each trained on the other fold's 4 rows
    lora = next(r for r in result.results if r.label == "mini-lora")
    assert lora.kind == "finetune"
    assert len(lora.outputs) == 8  # every row predicted, out of fold
    adapters = sorted((tmp_path / "out" / "models").glob("lora-*"))
    assert len(adapters) == 2 and all((a / "adapter_config.json").is_file() for a in adapters)
    with Store(tmp_path / "out") as store:
        runs = [r for r in store.runs("mini-lora")]
    folds = {json.loads(r["config_json"])["cv_fold"]: r["spec"] for r in runs[:2]}
    assert set(folds) == {0, 1} and folds[0] != folds[1]  # a different adapter per fold
    # each fold's adapter was trained on the rows the other fold predicts
    for adapter in adapters:
        trained_on = {json.loads(line)["id"] for line in (adapter / "train.jsonl").open()}
        assert len(trained_on) == 4
    # the report pairs the LoRA with the baseline on the same out-of-fold rows
    assert result.report_path.is_file()

    # a rerun trains nothing; a lost fold is the only one retrained
    run_project(load_config(tmp_path / "fieldwise.yaml"), quiet=True)
    assert trainings == [4, 4]
    (adapters[1] / ".complete").unlink()
    run_project(load_config(tmp_path / "fieldwise.yaml"), quiet=True)
    assert trainings == [4, 4, 4]


def test_lora_auto_refuses_what_the_run_decides(tmp_path: Path) -> None:
    from fieldwise.finetune.lora import LoraModel, LoraOptions

    with pytest.raises(UserError, match="decided by the run"):
        LoraModel.train(
            MINI,
            mini_examples(4),
            tmp_path / "x",
            LoraOptions(finetune={"base_model": "x", "train": "other.jsonl"}),
        )
    with pytest.raises(UserError, match="needs the fine-tuning config"):
        LoraModel.train(MINI, mini_examples(4), tmp_path / "x", LoraOptions())
    with pytest.raises(UserError, match="names no adapter"):
        create_model("lora/auto", MINI)
    with pytest.raises(UserError, match="not an adapter folder"):
        create_model(f"lora/{tmp_path}", MINI)
