"""Session-wide tiny local models for the hf/vllm backend tests (built offline, ~5 s)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pytest
from pydantic import BaseModel, Field

from fieldwise.tasks import Example, Task

TEXTS = [
    "An Afghan and coalition security force detained two suspected insurgents in Kabul.",
    "Coalition forces killed a Taliban leader during an air strike in Helmand province.",
    "A security force found a weapons cache in Kandahar; no shots were fired.",
    "Several insurgents were captured in a night raid in Nangarhar on Sunday.",
    "Forces detained a facilitator in Ghazni province last Thursday.",
]


class SmallEvent(BaseModel):
    """A schema short enough for a random model to finish within a few dozen tokens."""

    event: Literal["airstrike", "detention", "raid"] = Field(description="kind of incident")
    killq: bool = Field(description="someone was killed")
    airstrike: bool = Field(description="an air strike was used")


SMALL_TASK = Task.from_model("small", SmallEvent, description="a three-field test task")


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random tiny Llama with a BPE tokenizer and a chat template."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from fieldwise.finetune.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "base", TEXTS)


@pytest.fixture(scope="session")
def tiny_adapter_dir(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A LoRA adapter with random, non-zero B matrices, so it really changes outputs."""
    return make_adapter(tiny_model_dir, tmp_path_factory.mktemp("adapter") / "lora", seed=1)


def make_adapter(base: Path, out: Path, seed: int) -> Path:
    pytest.importorskip("peft")
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_pretrained(base)
    config = LoraConfig(
        r=8,
        lora_alpha=64,
        target_modules=["q_proj", "v_proj", "o_proj"],
        init_lora_weights=False,
        task_type="CAUSAL_LM",
    )
    get_peft_model(model, config).save_pretrained(out)
    return out


def examples(n: int = 6) -> list[Example]:
    """Inputs of different lengths, so left padding is exercised."""
    texts = TEXTS + [t + " " + t for t in TEXTS]
    return [Example(id=f"e{i}", text=texts[i % len(texts)]) for i in range(n)]
