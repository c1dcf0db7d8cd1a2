"""Fine-tuning exports: every format round-trips to the same prompts the predictors use."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fieldwise.data.export import FORMATS, export_examples, read_export
from fieldwise.errors import UserError
from fieldwise.tasks import Example, Task, load_task
from fieldwise.tasks.prompts import render_messages, render_prompt_text, render_target

GOLD = {
    "name": "Kabul raid",
    "start_date": "2011-03-02",
    "event_type": ["detention"],
    "province": ["kabul"],
    "target_group": ["taliban"],
    "min_killed": 0,
    "min_captured": 2,
    "killq": False,
    "captureq": True,
    "killcaptureraid": False,
    "airstrike": False,
    "noshotsfired": True,
    "min_leaders_killed": 0,
    "min_leaders_captured": 0,
}
FLAT = {"template-free", "prompt-completion"}


@pytest.fixture
def isaf() -> Task:
    return load_task("isaf")


@pytest.fixture
def examples() -> list[Example]:
    return [
        Example(
            f"e{i}",
            f"A security force detained {i + 2} suspects in Kabul.\n\nNo shots.",
            {**GOLD, "min_captured": i + 2},
        )
        for i in range(3)
    ]


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_format_round_trips(
    fmt: str, isaf: Task, examples: list[Example], tmp_path: Path
) -> None:
    out = tmp_path / f"{fmt}.jsonl"
    assert export_examples(isaf, examples, fmt, out) == len(examples)
    records = read_export(out, fmt)
    assert len(records) == len(examples)
    for record, example in zip(records, examples, strict=True):
        assert example.gold is not None
        messages = render_messages(isaf, example)
        assert record.target == render_target(isaf, example.gold)
        assert json.loads(record.target)["min_captured"] == example.gold["min_captured"]
        if fmt in FLAT:
            assert record.messages == [{"role": "user", "content": render_prompt_text(messages)}]
        else:
            assert record.messages == messages


def test_sharegpt_and_openai_shapes(isaf: Task, examples: list[Example], tmp_path: Path) -> None:
    export_examples(isaf, examples[:1], "sharegpt", tmp_path / "s.jsonl")
    export_examples(isaf, examples[:1], "openai-chat", tmp_path / "o.jsonl")
    sharegpt = json.loads((tmp_path / "s.jsonl").read_text())
    openai = json.loads((tmp_path / "o.jsonl").read_text())
    assert [t["from"] for t in sharegpt["conversations"]] == ["system", "human", "gpt"]
    assert [m["role"] for m in openai["messages"]] == ["system", "user", "assistant"]


def test_plain_text_formats_carry_the_eos_token(
    isaf: Task, examples: list[Example], tmp_path: Path
) -> None:
    for fmt in sorted(FLAT):
        out = tmp_path / f"{fmt}.jsonl"
        export_examples(isaf, examples, fmt, out, eos_token="</s>")
        raw = [json.loads(line) for line in out.read_text().splitlines()]
        target_text = (
            raw[0]["segments"][1]["text"] if fmt == "template-free" else raw[0]["completion"]
        )
        assert target_text.endswith("}</s>")
        records = read_export(out, fmt, eos_token="</s>")
        assert records[0].target.endswith("}")
        assert json.loads(records[0].target)["province"] == ["kabul"]


def test_few_shot_turns_are_exported(isaf: Task, examples: list[Example], tmp_path: Path) -> None:
    out = tmp_path / "shots.jsonl"
    export_examples(isaf, examples[1:], "openai-chat", out, few_shot=examples[:1])
    record = read_export(out, "openai-chat")[0]
    assert [m["role"] for m in record.messages] == ["system", "user", "assistant", "user"]
    assert record.messages == render_messages(isaf, examples[1], None, examples[:1])
    with pytest.raises(UserError, match="alpaca"):
        export_examples(isaf, examples[1:], "alpaca", tmp_path / "a.jsonl", few_shot=examples[:1])


def test_bad_input_is_a_user_error(isaf: Task, examples: list[Example], tmp_path: Path) -> None:
    with pytest.raises(UserError, match="unknown export format 'csv'"):
        export_examples(isaf, examples, "csv", tmp_path / "x.jsonl")
    with pytest.raises(UserError, match="'u1' has no label"):
        export_examples(isaf, [Example("u1", "text")], "sharegpt", tmp_path / "x.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"messages": []}\nnot json\n')
    with pytest.raises(UserError, match=r"bad.jsonl:1: not a valid openai-chat row"):
        read_export(bad, "openai-chat")
    bad.write_text('{"prompt": "p", "completion": "c"}\nnot json\n')
    with pytest.raises(UserError, match=r"bad.jsonl:2: invalid JSON"):
        read_export(bad, "prompt-completion")
