"""One tiny model with two LoRA adapters, served once per session over real HTTP (uvicorn)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.serve.helpers import PROMPTS


def _make_adapter(base: Path, out: Path, seed: int) -> Path:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_pretrained(base)
    config = LoraConfig(r=4, lora_alpha=16, target_modules=["q_proj", "v_proj", "o_proj"])
    peft_model = get_peft_model(model, config)
    with torch.no_grad():
        for name, param in peft_model.named_parameters():
            if "lora_B" in name:  # peft zero-inits B; make the adapter actually change outputs
                param.normal_(0.0, 0.5)
    peft_model.save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    pytest.importorskip("torch")
    pytest.importorskip("peft")
    from fieldwise.finetune.tiny import build_tiny_model

    root = tmp_path_factory.mktemp("serve")
    base = build_tiny_model(root / "tiny", PROMPTS)
    return {
        "base": base,
        "alpha": _make_adapter(base, root / "alpha", seed=1),
        "beta": _make_adapter(base, root / "beta", seed=2),
    }


@pytest.fixture(scope="session")
def serve_app(models: dict[str, Path]) -> Iterator[Any]:
    """The app for the base model and adapters alpha, beta (default limits)."""
    from fieldwise.serve import create_app

    app = create_app(
        str(models["base"]),
        {"alpha": str(models["alpha"]), "beta": str(models["beta"])},
        max_batch_size=8,
        batch_window_ms=50,
        device="cpu",
    )
    try:
        yield app
    finally:
        app.close()


@pytest.fixture(scope="session")
def server(serve_app: Any) -> Iterator[str]:
    """The ``.../v1`` base URL of ``serve_app`` on a real socket."""
    from fieldwise.serve import running_server

    with running_server(serve_app) as url:
        yield url


@pytest.fixture(scope="session")
def client(server: str) -> object:
    import openai

    return openai.OpenAI(base_url=server, api_key="unused", max_retries=0)
