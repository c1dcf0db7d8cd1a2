"""Scoring inside the optimiser: fieldwise's own scorer, per row and per field, in words.

The score that decides which candidate wins is the one the report will show (the chosen
profile's per-row mean over scored fields), and the feedback the optimiser model reads is
written from the same per-field scores: "start_date: predicted 2011-03-04, gold
2011-04-03", with a quote of the text around the gold value when the text has it.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fieldwise.scoring import parse_output, score_outputs
from fieldwise.tasks import Example, Task

STATUS_WORDS = {
    "missing": "there is no answer",
    "invalid_json": "the answer is not valid JSON",
    "not_object": "the answer is JSON but not an object",
}


@dataclass
class RowResult:
    """One candidate's answer to one row, scored."""

    example: Example
    output: str | None
    score: float
    """Mean over the row's scored fields, in [0, 1] (0 for an error or no answer)."""
    fields: dict[str, float] = field(default_factory=dict)
    input_tokens: int | None = None
    output_tokens: int | None = None
    error: str | None = None

    @property
    def perfect(self) -> bool:
        return self.error is None and self.score >= 1.0 - 1e-9


def score_rows(
    task: Task,
    examples: list[Example],
    outputs: list[str | None],
    profile: str,
) -> list[tuple[float, dict[str, float]]]:
    """Per row: the mean score and each field's score under ``profile`` (NaN fields,
    those without gold, left out)."""
    golds = [ex.gold or {} for ex in examples]
    scored = score_outputs(task, golds, outputs, (profile,), n_boot=0)[profile]
    out = []
    for i in range(len(examples)):
        row = scored.per_row[i]
        fields = {
            name: float(row[j]) for j, name in enumerate(scored.field_names) if not np.isnan(row[j])
        }
        mean = sum(fields.values()) / len(fields) if fields else 0.0
        out.append((mean, fields))
    return out


def feedback(task: Task, result: RowResult) -> list[str]:
    """What the scorer says about one answer, one line per field it got wrong."""
    if result.error is not None:
        return [f"- (whole answer): no answer was produced ({result.error[:200]})"]
    parsed = parse_output(result.output)
    if parsed.status != "ok":
        return [f"- (whole answer): {STATUS_WORDS[parsed.status]}; every field scored 0"]
    value = parsed.value or {}
    gold = result.example.gold or {}
    lines = []
    for name, score in result.fields.items():
        if score >= 1.0 - 1e-9:
            continue
        predicted = _show(value[name]) if name in value else "nothing (the key is missing)"
        line = f"- {name}: predicted {predicted}, gold {_show(gold.get(name))}"
        quote = _quote(result.example.text, gold.get(name))
        lines.append(f"{line}; the text says '{quote}'" if quote else line)
    return lines


def _show(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def _quote(text: str, gold: Any, width: int = 40) -> str | None:
    """The text around the first occurrence of a gold value written in it (a number,
    a name), if any: the evidence a reader would look at."""
    if isinstance(gold, bool) or gold is None or gold == [] or gold == "":
        return None
    needle = str(gold[0] if isinstance(gold, list) else gold)
    if len(needle) < 2 and not needle.isdigit():
        return None
    pattern = rf"\b{re.escape(needle)}\b" if needle[:1].isalnum() else re.escape(needle)
    match = re.search(pattern, text, flags=re.I)
    if match is None:
        return None
    start, end = max(0, match.start() - width), min(len(text), match.end() + width)
    return " ".join(text[start:end].split())


def mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else math.nan
