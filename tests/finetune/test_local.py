"""A real LoRA fine-tune of the tiny random model: loss drops, saves, reloads, merges."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import torch

from fieldwise.errors import UserError
from fieldwise.finetune.config import config_from_dict
from fieldwise.finetune.encode import encode_example
from fieldwise.finetune.local import FinetuneResult, run_finetune
from fieldwise.finetune.runcard import dataset_fingerprint, read_run_card
from fieldwise.tasks import Example, Task
from tests.finetune.conftest import MINI_TASK_SPEC
from tests.finetune.mini_task import mini_examples

STEPS = 12


def _batch(tiny_dir: Path, task: Task, examples: list[Example]) -> dict[str, torch.Tensor]:
    """All examples, right-padded, with labels masked as in training."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_dir)
    encoded = [encode_example(tok, task, ex, "chat_template") for ex in examples]
    width = max(len(e.input_ids) for e in encoded)
    ids, labels, mask = [], [], []
    for e in encoded:
        pad = width - len(e.input_ids)
        ids.append(e.input_ids + [tok.pad_token_id] * pad)
        labels.append(e.labels + [-100] * pad)
        mask.append([1] * len(e.input_ids) + [0] * pad)
    return {
        "input_ids": torch.tensor(ids),
        "labels": torch.tensor(labels),
        "attention_mask": torch.tensor(mask),
    }


def _loss(model: Any, batch: dict[str, torch.Tensor]) -> float:
    with torch.no_grad():
        return float(model(**batch).loss)


@pytest.fixture(scope="module")
def trained(
    tiny_dir: Path, examples: list[Example], tmp_path_factory: pytest.TempPathFactory
) -> tuple[FinetuneResult, Path]:
    root = tmp_path_factory.mktemp("ft")
    rows = [{"id": e.id, "text": e.text, **(e.gold or {})} for e in examples]
    (root / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    config = config_from_dict(
        {
            "base_model": str(tiny_dir),
            "task": MINI_TASK_SPEC,
            "train": "train.jsonl",
            "output_dir": "runs/mini-lora",
            "name": "mini-lora",
            "max_steps": STEPS,
            "batch_size": 4,
            "learning_rate": 1e-2,
            "lora": {"r": 8, "alpha": 16, "dropout": 0.0},
            "post_check_examples": 2,
        },
        base_dir=root,
    )
    return run_finetune(config, progress=False), root


@pytest.mark.slow
def test_lora_lowers_loss_and_saves_a_registrable_adapter(
    trained: tuple[FinetuneResult, Path], tiny_dir: Path, mini_task: Task, examples: list[Example]
) -> None:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    result, root = trained
    out = root / "runs" / "mini-lora"
    assert result.output_dir == out and result.label == "mini-lora" and result.kind == "finetune"
    assert result.spec == f"hf/{tiny_dir}:{out}"
    for name in ("adapter_config.json", "adapter_model.safetensors", "tokenizer.json", "README.md"):
        assert (out / name).is_file(), name

    batch = _batch(tiny_dir, mini_task, examples)
    base_loss = _loss(AutoModelForCausalLM.from_pretrained(tiny_dir), batch)
    tuned = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_dir), out).eval()
    tuned_loss = _loss(tuned, batch)
    assert tuned_loss < base_loss - 0.2, (base_loss, tuned_loss)

    with torch.no_grad():
        adapter_logits = tuned(**batch).logits
        merged = tuned.merge_and_unload()
        merged_logits = merged(**batch).logits
    assert not any("lora" in name for name, _ in merged.named_parameters())
    torch.testing.assert_close(merged_logits, adapter_logits, atol=1e-5, rtol=1e-4)


@pytest.mark.slow
def test_run_card_records_config_data_and_curve(
    trained: tuple[FinetuneResult, Path], examples: list[Example]
) -> None:
    result, root = trained
    card = read_run_card(result.output_dir)
    assert card is not None
    assert card["spec"] == result.spec and card["layout"] == "chat_template"
    assert card["dataset"]["fingerprint"] == dataset_fingerprint(examples)
    assert card["dataset"]["examples"] == len(examples)
    assert card["config"]["lora"]["r"] == 8 and card["config"]["max_steps"] == STEPS
    curve = card["training"]["loss_curve"]
    assert [p["step"] for p in curve] == list(range(1, STEPS + 1))
    assert card["training"]["tokens"] > 0 and card["training"]["tokens_per_s"] > 0
    assert card["post_check"]["n"] == 2
    assert set(card["versions"]) >= {"fieldwise", "torch", "transformers", "peft", "trl"}
    # a tiny random model cannot learn JSON in 12 steps: reported, not fatal
    assert result.warnings == [] or "post-training check" in result.warnings[0]
    assert result.output_dir.joinpath("README.md").read_text().startswith("# mini-lora")


def _config(root: Path, tiny_dir: Path, **extra: Any) -> Any:
    rows = [{"id": e.id, "text": e.text, **(e.gold or {})} for e in mini_examples(4)]
    (root / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    base = {
        "base_model": str(tiny_dir),
        "task": MINI_TASK_SPEC,
        "train": "train.jsonl",
        "output_dir": "out",
        "max_steps": 2,
        "batch_size": 2,
        "post_check_examples": 1,
    }
    return config_from_dict({**base, **extra}, base_dir=root)


def test_a_failing_pre_check_stops_before_training(tiny_dir: Path, tmp_path: Path) -> None:
    config = _config(tmp_path, tiny_dir, eos_token="<|not-a-token|>")
    with pytest.raises(UserError, match=re.escape("EOS token '<|not-a-token|>' is not in the")):
        run_finetune(config, progress=False)
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_template_free_strict_run(tiny_dir: Path, tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    config = _config(tmp_path, tiny_dir, layout="template-free", strict_checks=True)
    with pytest.raises(UserError, match="post-training check: 0/1 generations stopped"):
        run_finetune(config, progress=False)
    out = tmp_path / "out"
    card = read_run_card(out)
    assert card is not None and card["layout"] == "template-free" and card["warnings"]
    # inference picks the adapter's tokenizer: without a chat template it renders plain text
    assert not AutoTokenizer.from_pretrained(out).chat_template
