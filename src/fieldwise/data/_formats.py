"""The built-in export formats, one small class each (registered in ``data/export.py``).

Each turns (prompt messages, target) into one JSON row and back; the end-of-sequence
token of the plain-text formats is added and stripped by :mod:`fieldwise.data.export`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from fieldwise.data.export import ExportFormat, ExportRecord, split_chat
from fieldwise.errors import UserError
from fieldwise.tasks.prompts import Message, render_prompt_text

_SHAREGPT_FROM = {"system": "system", "user": "human", "assistant": "gpt"}
_SHAREGPT_ROLE = {v: k for k, v in _SHAREGPT_FROM.items()}


class ShareGPT(ExportFormat):
    """``{"conversations": [{"from": "system"|"human"|"gpt", "value": ...}]}``"""

    name: ClassVar[str] = "sharegpt"

    def row(self, messages: list[Message], target: str) -> dict[str, Any]:
        turns = [*messages, {"role": "assistant", "content": target}]
        return {
            "conversations": [
                {"from": _SHAREGPT_FROM[m["role"]], "value": m["content"]} for m in turns
            ]
        }

    def parse(self, row: dict[str, Any]) -> ExportRecord:
        turns: list[Message] = [
            {"role": _SHAREGPT_ROLE[t["from"]], "content": str(t["value"])}
            for t in row["conversations"]
        ]
        return split_chat(turns, "conversations")


class OpenAIChat(ExportFormat):
    """``{"messages": [{"role": ..., "content": ...}]}`` (OpenAI fine-tuning)."""

    name: ClassVar[str] = "openai-chat"

    def row(self, messages: list[Message], target: str) -> dict[str, Any]:
        return {"messages": [*messages, {"role": "assistant", "content": target}]}

    def parse(self, row: dict[str, Any]) -> ExportRecord:
        turns: list[Message] = [
            {"role": str(m["role"]), "content": str(m["content"])} for m in row["messages"]
        ]
        return split_chat(turns, "messages")


class TemplateFree(ExportFormat):
    """axolotl's ``{"segments": [{"label": false, "text": PROMPT}, {"label": true,
    "text": TARGET}]}``; the prompt is the messages joined as plain text."""

    name: ClassVar[str] = "template-free"
    plain_text: ClassVar[bool] = True

    def row(self, messages: list[Message], target: str) -> dict[str, Any]:
        return {
            "segments": [
                {"label": False, "text": render_prompt_text(messages)},
                {"label": True, "text": target},
            ]
        }

    def parse(self, row: dict[str, Any]) -> ExportRecord:
        segments = row["segments"]
        prompt = "".join(str(s["text"]) for s in segments if not s["label"])
        target = "".join(str(s["text"]) for s in segments if s["label"])
        return ExportRecord([{"role": "user", "content": prompt}], target)


class PromptCompletion(ExportFormat):
    """``{"prompt": PROMPT, "completion": TARGET}``"""

    name: ClassVar[str] = "prompt-completion"
    plain_text: ClassVar[bool] = True

    def row(self, messages: list[Message], target: str) -> dict[str, Any]:
        return {"prompt": render_prompt_text(messages), "completion": target}

    def parse(self, row: dict[str, Any]) -> ExportRecord:
        return ExportRecord(
            [{"role": "user", "content": str(row["prompt"])}], str(row["completion"])
        )


class Alpaca(ExportFormat):
    """``{"instruction": SYSTEM, "input": TEXT, "output": TARGET}``: one instruction and one
    input, so multi-turn few-shot prompts do not fit."""

    name: ClassVar[str] = "alpaca"

    def row(self, messages: list[Message], target: str) -> dict[str, Any]:
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

    def parse(self, row: dict[str, Any]) -> ExportRecord:
        return ExportRecord(
            [
                {"role": "system", "content": str(row["instruction"])},
                {"role": "user", "content": str(row["input"])},
            ],
            str(row["output"]),
        )
