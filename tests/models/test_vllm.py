"""The vllm backend without vLLM: spec, options, missing dependency, and the request it
builds, checked against a fake ``vllm`` module that records what it is given."""

from __future__ import annotations

import asyncio
import json
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from fieldwise.errors import UserError
from fieldwise.models import create_model
from fieldwise.models.vllm_backend import VLLMModel, lora_rank
from fieldwise.tasks import Example, load_task


@dataclass
class _Choice:
    text: str
    token_ids: list[int]
    finish_reason: str


@dataclass
class _Output:
    prompt_token_ids: list[int]
    outputs: list[_Choice]


class _Tokenizer:
    chat_template = None

    def __call__(self, text: str, add_special_tokens: bool = True) -> Any:
        return types.SimpleNamespace(input_ids=[1] * add_special_tokens + [ord(c) for c in text])


@dataclass
class _FakeLLM:
    kwargs: dict[str, Any]
    calls: list[tuple[Any, ...]] = field(default_factory=list)

    def get_tokenizer(self) -> _Tokenizer:
        return _Tokenizer()

    def generate(self, prompts: list[Any], params: Any, **kw: Any) -> list[_Output]:
        self.calls.append((prompts, params, kw))
        return [
            _Output(p["prompt_token_ids"], [_Choice("{}", [5, 6], "length" if i else "stop")])
            for i, p in enumerate(prompts)
        ]


@pytest.fixture
def fake_vllm(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    made: dict[str, Any] = {}

    def llm(**kwargs: Any) -> _FakeLLM:
        made["llm"] = _FakeLLM(kwargs)
        return made["llm"]

    vllm = types.ModuleType("vllm")
    vllm.__spec__ = types.SimpleNamespace(name="vllm")  # type: ignore[assignment]
    vllm.LLM = llm  # type: ignore[attr-defined]
    vllm.SamplingParams = lambda **kw: dict(kw)  # type: ignore[attr-defined]
    sampling = types.ModuleType("vllm.sampling_params")
    sampling.StructuredOutputsParams = lambda **kw: ("structured", kw)  # type: ignore[attr-defined]
    lora = types.ModuleType("vllm.lora.request")
    lora.LoRARequest = lambda *a: ("lora", *a)  # type: ignore[attr-defined]
    for name, module in {
        "vllm": vllm,
        "vllm.sampling_params": sampling,
        "vllm.lora": types.ModuleType("vllm.lora"),
        "vllm.lora.request": lora,
    }.items():
        monkeypatch.setitem(sys.modules, name, module)
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda n, *a: vllm.__spec__ if n == "vllm" else real(n, *a)
    )
    return made


def _adapter(tmp_path: Path, rank: int) -> Path:
    folder = tmp_path / f"lora{rank}"
    folder.mkdir(exist_ok=True)
    (folder / "adapter_config.json").write_text(json.dumps({"r": rank}))
    (folder / "adapter_model.safetensors").write_bytes(b"weights")
    return folder


def test_missing_vllm_gives_the_install_hint(tmp_path: Path) -> None:
    if "vllm" in sys.modules or __import__("importlib.util").util.find_spec("vllm"):
        pytest.skip("vllm is installed")
    with pytest.raises(UserError) as info:
        create_model(f"vllm/{tmp_path}", load_task("isaf"))
    assert "fieldwise[vllm]" in str(info.value)


def test_options_are_validated(tmp_path: Path, fake_vllm: dict[str, Any]) -> None:
    task = load_task("isaf")
    for bad in ({"tensor_parallel_size": 0}, {"gpu_memory_utilization": 1.5}, {"tp": 2}):
        with pytest.raises(UserError, match="bad option"):
            create_model(f"vllm/{tmp_path}", task, bad)
    with pytest.raises(UserError, match="no such folder"):
        create_model(f"vllm/{tmp_path / 'nope'}", task)


def test_lora_rank_is_rounded_up_to_a_supported_one(tmp_path: Path) -> None:
    assert lora_rank(str(_adapter(tmp_path, 8)), None) == 8
    assert lora_rank(str(_adapter(tmp_path, 24)), None) == 32
    assert lora_rank(str(_adapter(tmp_path, 24)), 64) == 64
    with pytest.raises(UserError, match="above"):
        lora_rank(str(_adapter(tmp_path, 1024)), None)


def test_engine_args_and_identity(tmp_path: Path, fake_vllm: dict[str, Any]) -> None:
    adapter = _adapter(tmp_path, 24)
    task = load_task("isaf")
    opts = {"tensor_parallel_size": 2}
    model = create_model(f"vllm/{tmp_path}:{adapter}", task, opts)
    assert isinstance(model, VLLMModel) and model.kind == "finetune"
    args = model.engine_args()
    assert args["model"] == str(tmp_path) and args["tensor_parallel_size"] == 2
    assert args["enable_lora"] and args["max_lora_rank"] == 32
    single = create_model(f"vllm/{tmp_path}:{adapter}", task)
    before = model.identity()
    assert before == single.identity()  # parallelism does not change outputs
    (adapter / "adapter_model.safetensors").write_bytes(b"retrain")
    assert single.identity() != before


def test_generate_sends_tokens_lora_and_schema(tmp_path: Path, fake_vllm: dict[str, Any]) -> None:
    adapter = _adapter(tmp_path, 8)
    task = load_task("isaf")
    model = create_model(f"vllm/{tmp_path}:{adapter}", task, {"constrained": True})
    rows = [Example("a", "one text"), Example("b", "another")]
    gens = asyncio.run(model.generate(rows))
    prompts, params, kw = fake_vllm["llm"].calls[0]
    assert params["structured_outputs"] == ("structured", {"json": task.json_schema()})
    assert params["temperature"] == 0.0 and "seed" not in params
    assert kw["lora_request"][0] == "lora" and kw["lora_request"][3] == str(adapter.resolve())
    text = bytes(prompts[0]["prompt_token_ids"][1:]).decode()
    assert text.endswith("one text\n\n")  # no chat template: the plain-text prompt
    assert [g.finish_reason for g in gens] == ["stop", "length"]
    assert gens[0].output == "{}" and gens[0].output_tokens == 2
    assert model.lengths.count == 1
