"""The hf backend on a tiny random Llama: batching, adapters, limits, constrained JSON."""

from __future__ import annotations

import asyncio
import logging
import shutil
from pathlib import Path
from typing import Any

import pytest

from fieldwise.errors import UserError
from fieldwise.models import create_model
from fieldwise.models.hf import HFModel
from fieldwise.tasks import load_task
from fieldwise.tasks.prompts import render_prompt_text
from tests.models.conftest import SMALL_TASK, examples, make_adapter

pytest.importorskip("torch")
pytest.importorskip("transformers")


def hf(path: str | Path, task: Any = None, **options: Any) -> HFModel:
    model = create_model(f"hf/{path}", task or load_task("isaf"), options)
    assert isinstance(model, HFModel)
    return model


def outputs(model: HFModel, n: int = 4) -> list[str | None]:
    return [g.output for g in asyncio.run(model.generate(examples(n)))]


@pytest.mark.slow
def test_batched_equals_one_at_a_time(tiny_model_dir: Path) -> None:
    batched = hf(tiny_model_dir, max_tokens=10, batch_size=6)
    single = hf(tiny_model_dir, max_tokens=10, batch_size=1)
    rows = examples(6)
    prompts = {len(batched.prompt_text(ex)) for ex in rows}
    assert len(prompts) > 1  # prompts differ in length, so left padding is really used
    gens = asyncio.run(batched.generate(rows))
    assert [g.output for g in gens] == outputs(single, 6)
    assert all(g.output_tokens and g.input_tokens for g in gens)
    assert batched.identity() == single.identity()  # batch size is not part of the key


@pytest.mark.slow
def test_adapter_changes_outputs_and_identity(tiny_model_dir: Path, tiny_adapter_dir: Path) -> None:
    base = hf(tiny_model_dir, max_tokens=8)
    tuned = hf(f"{tiny_model_dir}:{tiny_adapter_dir}", max_tokens=8)
    assert tuned.adapter == str(tiny_adapter_dir)
    assert tuned.kind == "finetune" and base.kind == "api"
    assert outputs(tuned) != outputs(base)
    assert tuned.identity() != base.identity()


def test_retrained_adapter_gets_a_new_identity(tiny_model_dir: Path, tmp_path: Path) -> None:
    adapter = make_adapter(tiny_model_dir, tmp_path / "lora", seed=1)
    before = hf(f"{tiny_model_dir}:{adapter}").identity()
    shutil.rmtree(adapter)
    make_adapter(tiny_model_dir, adapter, seed=2)  # same path, same file sizes
    assert hf(f"{tiny_model_dir}:{adapter}").identity() != before


def test_length_is_reported_and_warned_once(
    tiny_model_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    model = hf(tiny_model_dir, max_tokens=3)
    gens = asyncio.run(model.generate(examples(4)))
    cut = [g for g in gens if g.finish_reason == "length"]
    assert cut and all(g.output_tokens == 3 for g in cut)
    with caplog.at_level(logging.WARNING):
        asyncio.run(model.aclose())
        asyncio.run(model.aclose())
    warnings = [r for r in caplog.records if "hit max_tokens" in r.getMessage()]
    assert len(warnings) == 1
    assert f"{len(cut)} of 4 outputs" in warnings[0].getMessage()


def test_chat_template_modes(tiny_model_dir: Path) -> None:
    ex = examples(1)[0]
    chat = hf(tiny_model_dir).prompt_text(ex)
    assert chat.startswith("<|system|>") and chat.endswith("<|assistant|>\n")
    plain = hf(tiny_model_dir, chat_template="off")
    assert plain.prompt_text(ex) == render_prompt_text(plain.messages(ex))


def test_chat_template_on_without_one_is_a_user_error(tiny_model_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "nochat"
    shutil.copytree(tiny_model_dir, copy)
    (copy / "chat_template.jinja").unlink()
    with pytest.raises(UserError, match="no chat template"):
        hf(copy, chat_template="on").load()
    assert hf(copy).prompt_text(examples(1)[0]).endswith("\n\n")  # auto falls back


def test_generation_runs_off_the_event_loop(tiny_model_dir: Path) -> None:
    model = hf(tiny_model_dir, max_tokens=8)
    model.load()

    async def main() -> int:
        ticks = 0
        task = asyncio.create_task(model.generate(examples(3)))
        while not task.done():
            ticks += 1
            await asyncio.sleep(0.005)
        await task
        return ticks

    assert asyncio.run(main()) > 1


@pytest.mark.slow
def test_constrained_outputs_validate(tiny_model_dir: Path) -> None:
    pytest.importorskip("xgrammar")
    constrained = hf(tiny_model_dir, SMALL_TASK, max_tokens=60, constrained=True)
    assert hf(tiny_model_dir, SMALL_TASK, max_tokens=60).identity() != constrained.identity()
    free = hf(tiny_model_dir, SMALL_TASK, max_tokens=20)
    unconstrained_valid = 0
    for gen in asyncio.run(free.generate(examples(6))):
        try:
            SMALL_TASK.output_model.model_validate_json(gen.output or "")
            unconstrained_valid += 1
        except ValueError:
            pass
    assert unconstrained_valid == 0  # a random model writes garbage unless constrained
    gens = asyncio.run(constrained.generate(examples(6)))
    for gen in gens:
        assert gen.finish_reason == "stop"
        SMALL_TASK.output_model.model_validate_json(gen.output or "")
    assert constrained.constraint is not None and constrained.constraint.mask_calls > 0


@pytest.mark.slow
def test_constrained_isaf_is_valid_json_prefix(tiny_model_dir: Path) -> None:
    """On the full ISAF schema a greedy random model repeats list items until the limit,
    so outputs are cut off; what it wrote must still be a prefix the grammar allowed."""
    pytest.importorskip("xgrammar")
    task = load_task("isaf")
    model = hf(tiny_model_dir, task, max_tokens=120, constrained=True)
    for gen in asyncio.run(model.generate(examples(2))):
        text = gen.output or ""
        assert text.startswith('{"name":')
        if gen.finish_reason == "stop":
            task.output_model.model_validate_json(text)


def test_base_with_adapter_is_a_finetune_wherever_kinds_are_decided(
    tiny_model_dir: Path, tiny_adapter_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without ``kind:``, ``BASE:ADAPTER`` is grouped as a fine-tune by the CLI, the run
    record and so the report, for hf and vllm alike (the spec alone decides)."""
    from fieldwise.models import model_kind
    from fieldwise.store import Store
    from tests.cli.helpers import cli

    for provider in ("hf", "vllm"):
        assert model_kind(f"{provider}/{tiny_model_dir}:{tiny_adapter_dir}") == "finetune"
        assert model_kind(f"{provider}/{tiny_model_dir}") == "api"
    data = tmp_path / "in.jsonl"
    data.write_text('{"id": "a", "text": "Forces detained two men in Kabul."}\n')
    project = tmp_path / "proj"
    code, _, err = cli(
        capsys,
        "predict",
        "--model",
        f"hf/{tiny_model_dir}:{tiny_adapter_dir}",
        "--data",
        str(data),
        "--out",
        str(tmp_path / "out.jsonl"),
        "--option",
        "max_tokens=2",
        "--project",
        str(project),
        "-q",
    )
    assert code == 0, err
    with Store(project) as store:
        assert [r["kind"] for r in store.runs()] == ["finetune"]


def test_cache_key_records_the_resolved_dtype(tiny_model_dir: Path) -> None:
    """``auto`` is fp32 on a CPU for transformers (vLLM makes it bf16): the key says which."""
    auto = hf(tiny_model_dir, device="cpu")
    assert auto.identity()["options"]["dtype"] == "float32"
    assert auto._model is None  # keyed without loading the weights
    bf16 = hf(tiny_model_dir, device="cpu", dtype="bfloat16")
    assert bf16.identity()["options"]["dtype"] == "bfloat16"
    assert bf16.identity() != auto.identity()


@pytest.mark.slow
def test_a_timed_out_generation_is_stopped_before_it_is_retried(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    """Issue 15: a timed-out generation kept running while the runner retried it, so a
    6-row run with ``timeout_s: 0.5`` took 107 s of duplicated work. Now each try stops
    at its next token, the model is free again when the run returns, and every row says
    why it failed."""
    import time

    from fieldwise.runner import RetryPolicy, RunSettings, run_model
    from fieldwise.store import Store

    model = hf(tiny_model_dir, max_tokens=4000)  # minutes of generation if left running
    model.load()
    settings = RunSettings(timeout_s=0.5, retry=RetryPolicy(max_retries=2, base_s=0.01))
    started = time.monotonic()
    with Store(tmp_path / "project") as store:
        outcome = run_model(model, examples(2), store, label="m", run_id=None, settings=settings)
    took = time.monotonic() - started
    assert outcome.failed == 2
    assert all(
        "gave up after 3 tries: timed out after 0.5s" in (r.error or "") for r in outcome.rows
    )
    assert took < 60, took
    assert model._lock.acquire(blocking=False)  # no generation is still holding the model


@pytest.mark.slow
def test_cli_predict_with_an_adapter_shows_no_library_deprecation_warnings(
    tiny_model_dir: Path, tiny_adapter_dir: Path, tmp_path: Path
) -> None:
    """transformers warns (FutureWarning, shown by default) about peft's
    ``is_gradient_checkpointing`` on every adapter load: nothing a user can act on, so the
    CLI silences it. In a child process, since pytest captures warnings itself."""
    import json
    import subprocess
    import sys

    data = tmp_path / "one.jsonl"
    data.write_text(json.dumps({"id": "a", "text": "Forces detained two men in Kabul."}) + "\n")
    out = tmp_path / "p.jsonl"
    proc = subprocess.run(
        [sys.executable, "-m", "fieldwise.cli", "predict", "--model",
         f"hf/{tiny_model_dir}:{tiny_adapter_dir}", "--data", str(data), "--out", str(out),
         "--project", str(tmp_path / "proj"), "--option", "max_tokens=2", "--quiet"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "Warning" not in proc.stderr, proc.stderr
    assert proc.stdout == ""  # results go to the --out file, notes to stderr
    assert json.loads(out.read_text())["id"] == "a"
