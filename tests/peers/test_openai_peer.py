"""The ``openai/`` backend against a real vLLM server, in every output mode.

The server is vLLM's own OpenAI-compatible one, so every request shape fieldwise sends
(plain prompt, ``json_object``, strict ``json_schema``, a forced tool call) must be one it
accepts, and every reply one fieldwise parses, stores and counts.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from fieldwise.store import Store
from tests.cli.helpers import cli
from tests.peers.conftest import Server

TEXTS = [
    "On 3 May 2011 coalition forces detained two insurgents in Kandahar province.",
    "An air strike in Helmand killed a Taliban commander on Tuesday.",
    "Afghan forces found a weapons cache in Kabul; no shots were fired.",
]
MAX_TOKENS = 24


def write_data(path: Path, texts: list[str] = TEXTS) -> Path:
    path.write_text(
        "".join(json.dumps({"id": f"r{i}", "text": t}) + "\n" for i, t in enumerate(texts))
    )
    return path


def predict(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, model: str, *options: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``fieldwise predict`` in-process: the JSONL rows and the stored predictions."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    out, project = tmp_path / "out.jsonl", tmp_path / "project"
    args = ["predict", "--model", model, "--data", str(write_data(tmp_path / "in.jsonl"))]
    for option in options:
        args += ["--option", option]
    code, _, err = cli(capsys, *args, "--out", str(out), "--project", str(project), "-q")
    assert code == 0, err
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    with Store(project) as store:
        stored = store.predictions_for_label(model)
    return rows, stored


@pytest.mark.parametrize("mode", ["prompt", "json_object", "json_schema", "tools"])
def test_every_output_mode_is_accepted_parsed_and_stored(
    server: Server,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    mode: str,
) -> None:
    with caplog.at_level(logging.WARNING):
        rows, stored = predict(
            capsys,
            tmp_path,
            "openai/tiny",
            f"base_url={server.url}",
            f"output_mode={mode}",
            f"max_tokens={MAX_TOKENS}",
        )
    assert len(rows) == len(TEXTS) and all("error" not in r for r in rows), rows
    assert all(isinstance(r["output"], str) and r["output"] for r in rows)
    if mode in ("json_object", "json_schema"):  # the server enforced what was asked
        assert all(r["output"].lstrip().startswith("{") for r in rows), rows
    # In tools mode vLLM writes the named call in the model's own tool-call format; one
    # cut off at max_tokens comes back as plain content, stored as the (invalid) output.
    for pred in stored:
        assert pred["error"] is None
        assert pred["input_tokens"] > 0 and 0 < pred["output_tokens"] <= MAX_TOKENS
        assert pred["finish_reason"] in ("stop", "length", "tool_calls")
    cut = sum(p["finish_reason"] == "length" for p in stored)
    warned = [r.getMessage() for r in caplog.records if "hit max_tokens" in r.getMessage()]
    assert warned == (
        [f"openai/tiny: {cut} of 3 outputs hit max_tokens and were cut off; raise max_tokens"]
        if cut
        else []
    )


def test_a_lora_adapter_served_by_name_changes_outputs(
    server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, _ = predict(capsys, tmp_path / "base", "openai/tiny", f"base_url={server.url}")
    tuned, _ = predict(capsys, tmp_path / "tuned", "openai/tuned", f"base_url={server.url}")
    assert [r["output"] for r in base] != [r["output"] for r in tuned]


NESTED_TASK = f"{Path(__file__).resolve().parents[1] / 'nested_task.py'}:INVOICE"
INVOICE_TEXTS = [
    "Invoice INV-7 from Acme GmbH (DE), 3 May 2024: 4 bolts at 0.25 EUR, total 1.00 EUR.",
    "Bill 0042, Widget SARL, France, 2024-02-01: 2 x nuts @ 1.50 EUR = 3.00.",
    "UK Parts Ltd invoice 19 dated 1 Jan 2024: one gasket, GBP 9.99.",
]


def compact_checks(
    rows: list[dict[str, Any]], stored: list[dict[str, Any]], api_schema: bool
) -> int:
    """Every output is in the compact layout (a prefix of the compact grammar that was
    sent: no free whitespace anywhere) and every one that ended validates; returns how
    many ended. ``api_schema``: the openai backend's strict schema, else the task's."""
    from xgrammar.testing import _is_grammar_accept_string as accepts

    from fieldwise.models._vllm_json import compact_grammar
    from fieldwise.models.openai_backend import output_schema
    from tests.nested_task import INVOICE, Invoice

    schema, strict = output_schema(INVOICE, True) if api_schema else (INVOICE.json_schema(), True)
    grammar = compact_grammar(schema, strict)
    finish = {p["example_id"]: p["finish_reason"] for p in stored}
    ended = 0
    for row in rows:
        assert "error" not in row, row
        assert accepts(grammar, row["output"], require_termination=False), row["output"][:300]
        if finish[row["id"]] == "stop":
            Invoice.model_validate_json(row["output"])
            ended += 1
    return ended


def test_a_nested_schema_decodes_to_compact_json_on_a_vllm_server(
    server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 15 §5: vLLM's JSON grammar allows free whitespace, and this untrained model
    wrote ``{"number"`` and spaces until max_tokens (0 of 12 valid). fieldwise now sends
    a compact grammar to a vLLM host: no whitespace, and what ends validates."""
    out, project = tmp_path / "out.jsonl", tmp_path / "project"
    data = write_data(tmp_path / "in.jsonl", INVOICE_TEXTS)
    code, _, err = cli(
        capsys, "predict", "--model", "openai/tiny", "--task", NESTED_TASK, "--data", str(data),
        "--out", str(out), "--project", str(project), "-q", "--option", f"base_url={server.url}",
        "--option", "output_mode=json_schema", "--option", "max_tokens=400",
    )  # fmt: skip
    assert code == 0, err
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    with Store(project) as store:
        (run,) = store.runs()
        stored = store.predictions_for_label("openai/tiny")
    assert json.loads(run["identity_json"])["json_layout"] == "compact"
    ended = compact_checks(rows, stored, api_schema=True)
    # For the record (not asserted): the same requests with vLLM's own grammar.
    plain_out = tmp_path / "plain.jsonl"
    code, _, err = cli(
        capsys, "predict", "--model", "openai/tiny", "--task", NESTED_TASK, "--data", str(data),
        "--out", str(plain_out), "--project", str(tmp_path / "plain"), "-q",
        "--option", f"base_url={server.url}", "--option", "output_mode=json_schema",
        "--option", "max_tokens=400", "--option", "json_layout=server",
    )  # fmt: skip
    assert code == 0, err
    plain = [json.loads(line)["output"] for line in plain_out.read_text().splitlines()]
    with capsys.disabled():
        print(f"\nvLLM server, compact grammar: {ended} of {len(rows)} ended and validate;")
        print(" compact:", [r["output"][:70] for r in rows])
        print(" json_layout=server:", [o[:70] for o in plain])
