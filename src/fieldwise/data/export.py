"""Export labelled examples to the file formats fine-tuning tools read.

Every format is rendered from :func:`~fieldwise.tasks.prompts.render_messages` and
:func:`~fieldwise.tasks.prompts.render_target`, the same functions the predictors use,
so a model is trained on exactly the prompt it will see at inference.

Formats (one JSON object per line):

- ``sharegpt``: ``{"conversations": [{"from": "system"|"human"|"gpt", "value": ...}]}``
- ``openai-chat``: ``{"messages": [{"role": ..., "content": ...}]}`` (OpenAI fine-tuning)
- ``template-free``: axolotl's ``{"segments": [{"label": false, "text": PROMPT},
  {"label": true, "text": TARGET}]}``; the prompt is the messages joined as plain text
- ``prompt-completion``: ``{"prompt": PROMPT, "completion": TARGET}``
- ``alpaca``: ``{"instruction": SYSTEM, "input": TEXT, "output": TARGET}``

The plain-text formats (``template-free``, ``prompt-completion``) carry no chat template,
so nothing ends the target unless the text itself does: pass ``eos_token`` (e.g.
``"</s>"``) or the trained model will never learn to stop, which is how a template-free
LoRA ends up with no usable output at all.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fieldwise.errors import UserError
from fieldwise.tasks import Example, Task
from fieldwise.tasks.prompts import (
    Message,
    PromptTemplate,
    render_messages,
    render_prompt_text,
    render_target,
)

FORMATS: tuple[str, ...] = (
    "sharegpt",
    "openai-chat",
    "template-free",
    "prompt-completion",
    "alpaca",
)

_SHAREGPT_FROM = {"system": "system", "user": "human", "assistant": "gpt"}
_SHAREGPT_ROLE = {v: k for k, v in _SHAREGPT_FROM.items()}


@dataclass(frozen=True)
class ExportRecord:
    """One row read back from an export: the prompt messages and the target completion.

    Plain-text formats keep only the rendered prompt, so their ``messages`` is a single
    ``user`` message holding :func:`render_prompt_text` of the original messages.
    """

    messages: list[Message]
    target: str


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise UserError(f"unknown export format '{fmt}'", hint=f"use one of {', '.join(FORMATS)}")


def export_row(
    fmt: str, messages: list[Message], target: str, *, eos_token: str | None = None
) -> dict[str, Any]:
    """One example as a row of ``fmt``, from already-rendered messages and target."""
    _check_format(fmt)
    completion = target + (eos_token or "")
    if fmt == "sharegpt":
        turns = [*messages, {"role": "assistant", "content": target}]
        return {
            "conversations": [
                {"from": _SHAREGPT_FROM[m["role"]], "value": m["content"]} for m in turns
            ]
        }
    if fmt == "openai-chat":
        return {"messages": [*messages, {"role": "assistant", "content": target}]}
    if fmt == "template-free":
        return {
            "segments": [
                {"label": False, "text": render_prompt_text(messages)},
                {"label": True, "text": completion},
            ]
        }
    if fmt == "prompt-completion":
        return {"prompt": render_prompt_text(messages), "completion": completion}
    # alpaca: one instruction, one input; multi-turn few-shot prompts do not fit
    if len(messages) != 2:
        raise UserError(
            "the alpaca format holds one system prompt and one input, not few-shot turns",
            hint="export few-shot prompts as sharegpt or openai-chat",
        )
    return {
        "instruction": messages[0]["content"],
        "input": messages[1]["content"],
        "output": target,
    }


def export_examples(
    task: Task,
    examples: Iterable[Example],
    fmt: str,
    out_path: str | Path,
    *,
    template: PromptTemplate | None = None,
    few_shot: Sequence[Example] = (),
    eos_token: str | None = None,
) -> int:
    """Write labelled ``examples`` to ``out_path`` as JSONL in ``fmt``; return the row count.

    ``eos_token`` is appended to the target in the plain-text formats only (chat formats
    get their end-of-turn token from the chat template at training time).
    """
    _check_format(fmt)
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    shots = list(few_shot)
    rows: list[str] = []
    for example in examples:
        if example.gold is None:
            raise UserError(f"example '{example.id}' has no label; exports need targets")
        messages = render_messages(task, example, template, shots)
        row = export_row(fmt, messages, render_target(task, example.gold), eos_token=eos_token)
        rows.append(json.dumps(row, ensure_ascii=False))
    if not rows:
        raise UserError("nothing to export: no examples")
    out.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return len(rows)


def read_export(path: str | Path, fmt: str, *, eos_token: str | None = None) -> list[ExportRecord]:
    """Parse an export back into (messages, target) records, checking its shape.

    ``eos_token`` is stripped from the end of plain-text targets, mirroring
    :func:`export_examples`.
    """
    _check_format(fmt)
    file = Path(path)
    if not file.is_file():
        raise UserError(f"export file not found: {file}")
    records: list[ExportRecord] = []
    with file.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            where = f"{file}:{lineno}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise UserError(f"{where}: invalid JSON ({exc.msg})") from exc
            if not isinstance(row, dict):
                raise UserError(f"{where}: expected a JSON object")
            try:
                records.append(_parse_row(fmt, row, eos_token))
            except (KeyError, TypeError, IndexError) as exc:
                raise UserError(f"{where}: not a valid {fmt} row (bad or missing {exc})") from exc
    return records


def _strip_eos(text: str, eos_token: str | None) -> str:
    if eos_token and text.endswith(eos_token):
        return text[: -len(eos_token)]
    return text


def _split_chat(messages: list[Message], where: str) -> ExportRecord:
    if not messages or messages[-1]["role"] != "assistant":
        raise KeyError(f"final assistant turn ({where})")
    return ExportRecord([dict(m) for m in messages[:-1]], messages[-1]["content"])


def _parse_row(fmt: str, row: dict[str, Any], eos_token: str | None) -> ExportRecord:
    if fmt == "sharegpt":
        turns = [
            {"role": _SHAREGPT_ROLE[t["from"]], "content": str(t["value"])}
            for t in row["conversations"]
        ]
        return _split_chat(turns, "conversations")
    if fmt == "openai-chat":
        turns = [{"role": str(m["role"]), "content": str(m["content"])} for m in row["messages"]]
        return _split_chat(turns, "messages")
    if fmt == "template-free":
        segments = row["segments"]
        prompt = "".join(str(s["text"]) for s in segments if not s["label"])
        target = "".join(str(s["text"]) for s in segments if s["label"])
        return ExportRecord([{"role": "user", "content": prompt}], _strip_eos(target, eos_token))
    if fmt == "prompt-completion":
        return ExportRecord(
            [{"role": "user", "content": str(row["prompt"])}],
            _strip_eos(str(row["completion"]), eos_token),
        )
    return ExportRecord(
        [
            {"role": "system", "content": str(row["instruction"])},
            {"role": "user", "content": str(row["input"])},
        ],
        str(row["output"]),
    )
