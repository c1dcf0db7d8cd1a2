"""Export labelled examples to the file formats fine-tuning tools read.

Every format is rendered from :func:`~fieldwise.tasks.prompts.render_messages` and
:func:`~fieldwise.tasks.prompts.render_target`, the same functions the predictors use,
so a model is trained on exactly the prompt it will see at inference.

Formats (one JSON object per line; each is a small :class:`ExportFormat` in
``data/_formats.py``, registered below):

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
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from fieldwise import registry
from fieldwise.errors import UserError
from fieldwise.tasks import Example, Task
from fieldwise.tasks.prompts import (
    Message,
    PromptTemplate,
    render_messages,
    render_target,
)


@dataclass(frozen=True)
class ExportRecord:
    """One row read back from an export: the prompt messages and the target completion.

    Plain-text formats keep only the rendered prompt, so their ``messages`` is a single
    ``user`` message holding :func:`render_prompt_text` of the original messages.
    """

    messages: list[Message]
    target: str


class ExportFormat(ABC):
    """One training-file format: (prompt messages, target) to one JSON row and back.

    A new format is one small subclass registered in :data:`fieldwise.registry.export_formats`
    (a line below, or a ``fieldwise.export_formats`` entry point). ``plain_text`` formats
    carry no chat template, so the caller's ``eos_token`` is appended to the target on
    export and stripped on reading; :meth:`parse` raises ``KeyError``/``TypeError``/
    ``IndexError`` on a row of the wrong shape.
    """

    name: ClassVar[str]
    plain_text: ClassVar[bool] = False

    @abstractmethod
    def row(self, messages: list[Message], target: str) -> dict[str, Any]:
        """The JSON row of one example."""

    @abstractmethod
    def parse(self, row: dict[str, Any]) -> ExportRecord:
        """The (messages, target) a row holds."""


def split_chat(messages: list[Message], where: str) -> ExportRecord:
    """A chat row's turns as (prompt turns, final assistant turn)."""
    if not messages or messages[-1]["role"] != "assistant":
        raise KeyError(f"final assistant turn ({where})")
    return ExportRecord([dict(m) for m in messages[:-1]], messages[-1]["content"])  # type: ignore[misc]


def get_format(name: str) -> ExportFormat:
    """The export format registered as ``name``; an unknown one is a :class:`UserError`."""
    cls: type[ExportFormat] = registry.export_formats.get(name)
    return cls()


registry.export_formats.configure(check=ExportFormat)
registry.export_formats.register("sharegpt", "fieldwise.data._formats:ShareGPT")
registry.export_formats.register("openai-chat", "fieldwise.data._formats:OpenAIChat")
registry.export_formats.register("template-free", "fieldwise.data._formats:TemplateFree")
registry.export_formats.register("prompt-completion", "fieldwise.data._formats:PromptCompletion")
registry.export_formats.register("alpaca", "fieldwise.data._formats:Alpaca")

FORMATS: tuple[str, ...] = tuple(registry.export_formats.builtins())
"""The built-in format names (``registry.export_formats`` also lists installed plugins)."""


def export_row(
    fmt: str, messages: list[Message], target: str, *, eos_token: str | None = None
) -> dict[str, Any]:
    """One example as a row of ``fmt``, from already-rendered messages and target."""
    form = get_format(fmt)
    return form.row(messages, target + (eos_token or "") if form.plain_text else target)


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
    get_format(fmt)
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
    form = get_format(fmt)
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
                record = form.parse(row)
            except (KeyError, TypeError, IndexError) as exc:
                raise UserError(f"{where}: not a valid {fmt} row (bad or missing {exc})") from exc
            if form.plain_text and eos_token and record.target.endswith(eos_token):
                record = ExportRecord(record.messages, record.target[: -len(eos_token)])
            records.append(record)
    return records
