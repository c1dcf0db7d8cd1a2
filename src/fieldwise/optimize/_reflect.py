"""Reflection: the prompt the optimiser model reads, and how its answer is read back.

As in GEPA, the optimiser model sees the component being improved (the instruction, or
the annotation rules), a minibatch of inputs the current prompt answered with the
scorer's per-field feedback on each, and is asked for a revised text inside one fenced
block. The prompt's layout is documented (docs/optimize.md) because the simulated
optimiser reads it: the current text is the first fenced block, each example has
``Input:`` and ``Feedback:`` sections.
"""

from __future__ import annotations

import re

from fieldwise.optimize._feedback import RowResult, feedback
from fieldwise.tasks import Task

WHAT = {"instruction": "instruction", "rules": "annotation rules"}

_ASK = {
    "instruction": (
        "Write an improved instruction for the assistant. Read the inputs and the feedback, "
        "work out which conventions the expected answers follow that the assistant missed, "
        "and state them precisely, with the phrases in the text that signal them. Keep "
        "what already works."
    ),
    "rules": (
        "Write the revised annotation rules, one rule per line, each line starting with "
        "'- '. Keep the rules that help, drop the ones the examples show to be wrong or "
        "useless, rewrite unclear ones, and add the rules the feedback shows are missing."
    ),
}

_FENCE = re.compile(r"```[^\n]*\n(.*?)\n?```", re.S)


def reflection_prompt(task: Task, component: str, current: str, rows: list[RowResult]) -> str:
    """The optimiser model's input for one proposal (only rows with feedback)."""
    parts = [
        f'I gave an assistant the following {WHAT[component]} for the task "{task.name}" '
        f"({task.description.strip()}):",
        f"```\n{current.strip()}\n```",
        "",
        "Here are inputs it was given, what it answered, and the scorer's feedback on each "
        "field it got wrong:",
    ]
    for i, row in enumerate(rows, 1):
        parts += [
            "",
            f"### Example {i}",
            "Input:",
            f'"""\n{row.example.text.strip()}\n"""',
            "Output:",
            f'"""\n{(row.output or "").strip()}\n"""',
            "Feedback:",
            *feedback(task, row),
        ]
    parts += ["", _ASK[component], "Put the new text, and nothing else, inside one ``` block."]
    return "\n".join(parts)


def read_proposal(reply: str | None) -> str | None:
    """The text inside the reply's first fenced block (or the whole reply when it has
    none); ``None`` for an empty reply, which proposes nothing."""
    if not reply or not reply.strip():
        return None
    found = _FENCE.search(reply)
    text = (found.group(1) if found else reply).strip()
    return text or None
