"""A row's incremental text: whole characters only, stop strings never handed on."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from fieldwise.serve._rows import Row, RowControl
from fieldwise.serve._types import CompletionRequest

pytest.importorskip("transformers")

TEXT = "Kabul → Helmand ✓ 日本語 and a STOP here, then more text after it."


@pytest.fixture(scope="module")
def tokenizer(models: dict[str, Path]) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(models["base"])


def _run(tokenizer: Any, stop: list[str], max_tokens: int = 1000) -> tuple[Row, list[str]]:
    pieces: list[str] = []
    request = CompletionRequest("m", [], max_tokens=max_tokens, stop=stop)
    row = Row(request, tokenizer, {tokenizer.eos_token_id}, RowControl(pieces.append), math.inf)
    for token in tokenizer(TEXT, add_special_tokens=False)["input_ids"]:
        row.push(token, now=0.0)
    return row, pieces


def test_streamed_pieces_are_whole_characters_and_add_up(tokenizer: Any) -> None:
    ids = tokenizer(TEXT, add_special_tokens=False)["input_ids"]
    assert len(ids) > len(TEXT.split())  # multi-byte characters span several tokens
    row, pieces = _run(tokenizer, [])
    completion = row.complete(n_prompt=0)
    assert all("\ufffd" not in p for p in pieces) and len(pieces) > 5
    assert "".join(pieces) == completion.text == tokenizer.decode(ids)
    assert completion.completion_tokens == len(ids) and completion.finish_reason == "length"


def test_a_stop_string_ends_the_row_and_is_never_streamed(tokenizer: Any) -> None:
    row, pieces = _run(tokenizer, ["STOP h"])
    completion = row.complete(n_prompt=0)
    assert completion.text == TEXT[: TEXT.index("STOP h")]
    assert completion.finish_reason == "stop" and "".join(pieces) == completion.text
    assert not any("STOP" in p for p in pieces)
    assert completion.completion_tokens < len(tokenizer(TEXT)["input_ids"])


def test_max_tokens_eos_and_cancel(tokenizer: Any) -> None:
    row, _ = _run(tokenizer, [], max_tokens=3)
    assert row.complete(0).completion_tokens == 3 and row.finish == "length"
    control = RowControl()
    row = Row(CompletionRequest("m", []), tokenizer, {tokenizer.eos_token_id}, control, math.inf)
    row.push(5, now=0.0)
    control.cancelled.set()
    row.push(6, now=0.0)
    assert row.finish == "cancelled" and row.tokens == [5]
    timed = Row(CompletionRequest("m", []), tokenizer, {tokenizer.eos_token_id}, None, 1.0)
    timed.push(5, now=2.0)
    assert timed.complete(0).finish_reason == "length" and timed.complete(0).timed_out
