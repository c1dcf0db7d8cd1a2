"""The vllm backend without vLLM: spec, options, missing dependency, and the request it
builds, checked against a fake ``vllm`` module that records what it is given."""

from __future__ import annotations

import asyncio
import json
import sys
import time
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from fieldwise.errors import UserError
from fieldwise.models import create_model
from fieldwise.models._vllm_json import compact_grammar
from fieldwise.models.vllm_backend import VLLMModel, lora_rank
from fieldwise.tasks import Example, load_task

EOS = 2


@dataclass
class _Choice:
    text: str
    token_ids: list[int]
    finish_reason: str
    stop_reason: int | str | None = None


@dataclass
class _Output:
    prompt_token_ids: list[int]
    outputs: list[_Choice]


class _Tokenizer:
    chat_template = None

    def __call__(self, text: str, add_special_tokens: bool = True) -> Any:
        return types.SimpleNamespace(input_ids=[1] * add_special_tokens + [ord(c) for c in text])

    def decode(self, ids: list[int], skip_special_tokens: bool = True) -> str:
        return "".join(chr(i) for i in ids if i != EOS)


class ValidationError(Exception):
    """Like ``vllm.exceptions.VLLMValidationError``: not a ValueError."""


MAX_LEN = 20_000


@dataclass
class _FakeLLM:
    """Rejects the whole call when one prompt does not fit ``max_model_len``, as vLLM does;
    an output that stops on EOS has the EOS in its ``token_ids``, as vLLM's do."""

    kwargs: dict[str, Any]
    calls: list[tuple[Any, ...]] = field(default_factory=list)
    delay_s: float = 0.0
    """How long each ``generate`` call takes (one engine call cannot be interrupted)."""

    def __post_init__(self) -> None:
        config = types.SimpleNamespace(max_model_len=MAX_LEN, dtype="torch.bfloat16")
        self.llm_engine = types.SimpleNamespace(model_config=config)

    def get_tokenizer(self) -> _Tokenizer:
        return _Tokenizer()

    def generate(self, prompts: list[Any], params: Any, **kw: Any) -> list[_Output]:
        self.calls.append((prompts, params, kw))
        time.sleep(self.delay_s)
        for p in prompts:
            if len(p["prompt_token_ids"]) >= MAX_LEN:
                raise ValidationError("This model's maximum context length is 20000 tokens.")
        return [
            _Output(
                p["prompt_token_ids"],
                [_Choice("{}", [5, 6], "length") if i else _Choice("{}", [5, 6, EOS], "stop")],
            )
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
    config = types.ModuleType("vllm.config")
    config.ModelConfig = lambda **kw: types.SimpleNamespace(  # type: ignore[attr-defined]
        dtype="torch.bfloat16" if kw["dtype"] == "auto" else f"torch.{kw['dtype']}", kwargs=kw
    )
    exceptions = types.ModuleType("vllm.exceptions")
    exceptions.VLLMValidationError = ValidationError  # type: ignore[attr-defined]
    sampling = types.ModuleType("vllm.sampling_params")
    sampling.StructuredOutputsParams = lambda **kw: ("structured", kw)  # type: ignore[attr-defined]
    lora = types.ModuleType("vllm.lora.request")
    lora.LoRARequest = lambda *a: ("lora", *a)  # type: ignore[attr-defined]
    for name, module in {
        "vllm": vllm,
        "vllm.config": config,
        "vllm.exceptions": exceptions,
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
    kind, structured = params["structured_outputs"]
    assert kind == "structured" and list(structured) == ["grammar"]
    # hf's layout: compact JSON, no free whitespace (vLLM's own JSON grammar allows it).
    assert structured["grammar"] == compact_grammar(task.json_schema(), strict=True)
    assert model.identity()["json_layout"] == "compact"
    assert params["temperature"] == 0.0 and "seed" not in params
    assert kw["lora_request"][0] == "lora" and kw["lora_request"][3] == str(adapter.resolve())
    text = bytes(prompts[0]["prompt_token_ids"][1:]).decode()
    assert text.endswith("one text\n\n")  # no chat template: the plain-text prompt
    assert [g.finish_reason for g in gens] == ["stop", "length"]
    assert gens[0].output == "{}" and gens[0].output_tokens == 2  # EOS not counted
    assert gens[1].output_tokens == 2
    assert model.lengths.count == 1


def test_a_prompt_over_max_model_len_fails_only_its_row(
    tmp_path: Path, fake_vllm: dict[str, Any]
) -> None:
    model = create_model(f"vllm/{tmp_path}", load_task("isaf"))
    rows = [Example("a", "short"), Example("long", "x" * 30_000), Example("b", "short too")]
    gens = asyncio.run(model.generate(rows))
    assert gens[0].output == "{}" and gens[2].output == "{}"
    assert gens[1].output is None and gens[1].error is not None
    assert "max_model_len is 20000" in gens[1].error
    assert len(fake_vllm["llm"].calls[0][0]) == 2  # the long prompt never reached vLLM


def test_a_batch_the_engine_still_rejects_is_retried_row_by_row(
    tmp_path: Path, fake_vllm: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """If vLLM rejects a call for a limit fieldwise does not check, only the row it names
    fails: the batch is retried one prompt at a time."""
    model = create_model(f"vllm/{tmp_path}", load_task("isaf"))
    assert isinstance(model, VLLMModel)
    model.load()
    monkeypatch.setattr(model, "_max_len", None)  # as if the limit were unknown
    rows = [Example("a", "short"), Example("long", "x" * 30_000)]
    gens = asyncio.run(model.generate(rows))
    assert gens[0].output == "{}" and gens[1].error is not None
    assert "maximum context length" in gens[1].error


def test_adapter_tokenizer_and_resolved_dtype(tmp_path: Path, fake_vllm: dict[str, Any]) -> None:
    """An adapter folder with its own tokenizer (and chat template, or none) is what the
    engine tokenises and renders with, as in hf; ``auto`` is keyed by what it resolves to."""
    task = load_task("isaf")
    plain = _adapter(tmp_path, 8)
    assert create_model(f"vllm/{tmp_path}:{plain}", task).engine_args()["tokenizer"] == str(
        tmp_path
    )
    own = _adapter(tmp_path, 16)
    (own / "tokenizer_config.json").write_text("{}")
    model = create_model(f"vllm/{tmp_path}:{own}", task)
    assert isinstance(model, VLLMModel)
    assert model.engine_args()["tokenizer"] == str(own)
    assert model.identity()["options"]["dtype"] == "bfloat16"
    assert "llm" not in fake_vllm  # keyed without loading the engine
    half = create_model(f"vllm/{tmp_path}:{own}", task, {"dtype": "float16"})
    assert half.identity()["options"]["dtype"] == "float16"
    assert half.identity() != model.identity()


def test_a_timed_out_engine_call_is_awaited_and_kept_never_run_twice(
    tmp_path: Path, fake_vllm: dict[str, Any]
) -> None:
    """Issue 15: the runner's timeout retried a vLLM batch while the first call still
    ran, so 24 rows were generated twice. An engine call cannot be interrupted: it is
    waited for and its rows stored, and nothing is asked of the engine again."""
    from fieldwise.runner import RetryPolicy, RunSettings, run_model
    from fieldwise.store import Store

    model = create_model(f"vllm/{tmp_path}", load_task("isaf"))
    model.load()  # type: ignore[attr-defined]
    fake_vllm["llm"].delay_s = 1.0
    rows = [Example(f"r{i}", f"text {i}") for i in range(4)]
    settings = RunSettings(timeout_s=0.2, retry=RetryPolicy(max_retries=3, base_s=0.01))
    with Store(tmp_path / "project") as store:
        outcome = run_model(model, rows, store, label="v", run_id=None, settings=settings)
    assert len(fake_vllm["llm"].calls) == 1
    assert outcome.failed == 0 and [r.output for r in outcome.rows] == ["{}"] * 4


@dataclass
class _Logprob:
    """Like ``vllm.sequence.Logprob``."""

    logprob: float
    decoded_token: str | None = None


def _with_logprobs(text: str, pieces: bool) -> _Output:
    """One output of ``text`` (one token per character, then EOS) with vLLM's
    per-position ``{token_id: Logprob}`` for the sampled tokens."""
    ids = [ord(c) for c in text] + [EOS]
    choice = _Choice(text, ids, "stop")
    choice.logprobs = [  # type: ignore[attr-defined]
        {t: _Logprob(-0.1 * (k + 1), chr(t) if pieces and t != EOS else None)}
        for k, t in enumerate(ids)
    ]
    return _Output([1], [choice])


@pytest.mark.parametrize("pieces", [True, False])  # False: ends by decoding prefixes
def test_logprobs_are_asked_for_and_mapped_to_output_offsets(
    tmp_path: Path, fake_vllm: dict[str, Any], pieces: bool
) -> None:
    model = create_model(f"vllm/{tmp_path}", load_task("isaf"))
    asyncio.run(model.generate([Example("a", "one text")]))
    llm = fake_vllm["llm"]
    assert llm.calls[0][1]["logprobs"] == 0  # the sampled token's only
    text = '{"province": ["kabul"]}'
    llm.generate = lambda prompts, params, **kw: [_with_logprobs(text, pieces)]
    (gen,) = asyncio.run(model.generate([Example("b", "another")]))
    assert gen.output == text and gen.signals is not None
    tokens = gen.signals["tokens"]
    assert tokens["end"] == list(range(1, len(text) + 1))  # the EOS is not the answer's
    assert tokens["logprob"] == pytest.approx([-0.1 * (k + 1) for k in range(len(text))])


def test_logprobs_off_asks_for_none_and_keeps_the_identity(
    tmp_path: Path, fake_vllm: dict[str, Any]
) -> None:
    task = load_task("isaf")
    model = create_model(f"vllm/{tmp_path}", task, {"logprobs": False})
    (gen,) = asyncio.run(model.generate([Example("a", "one text")]))
    assert "logprobs" not in fake_vllm["llm"].calls[0][1] and gen.signals is None
    assert model.identity() == create_model(f"vllm/{tmp_path}", task).identity()
