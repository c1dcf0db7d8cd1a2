"""Near-domain probes: a test text edited so that its answer must change.

Both edits start from the gold value's evidence (``trust._align``), and both are checked
with the aligner afterwards, so a probe is only kept when the edit did what it claims:

- *removed*: every sentence that writes the value is cut; kept only when the value can no
  longer be found in what is left (at any tier), so the right answer for that field is
  now none;
- *changed*: every place the value is written is rewritten as another value of the same
  field (another label of the task, another document's name, a nearby number, a date some
  days away) in the same written form; kept only when the old value is gone, the new one
  is found and no other gold value's evidence was touched (a quantity ``4`` shared by two
  line items, or the ``4`` of "4 vCPU" in a description, would make the edited gold
  wrong), so the right answer is the gold with just that value changed.
"""

from __future__ import annotations

import copy
import datetime as dt
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fieldwise.tasks._task import Example, FieldSpec, Task
from fieldwise.trust._align import Leaf, align_row, field_path, leaf_values
from fieldwise.trust._document import Document, Span
from fieldwise.trust._find import find_value

__all__ = ["Target", "change_value", "remove_value"]

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[A-Z0-9])|\n+")
# A full stop after these ends no sentence: "Jan. 18", "No. 7", "Mr. Khan", "A. Smith".
_ABBREVIATION = re.compile(
    r"(?:\b(?:Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec|Mr|Mrs|Ms|Dr|St|No|Nr|Co|Inc|"
    r"Ltd|vs|etc|approx|ca|Gen|Col|Lt|Capt|Sgt|Maj)|\b[A-Z])\.$"
)
MIN_KEPT = 0.3
"""A removal that leaves less than this share of the text is not a near-domain probe."""
_UNITS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen "
    "fourteen fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()


@dataclass(frozen=True)
class Target:
    """What a probe expects of one value: at ``path`` (a value path of the source's gold)
    the source said ``was``; the edited text says ``now`` (``None``: nothing)."""

    path: str
    was: Any
    now: Any

    @property
    def field(self) -> str:
        return field_path(self.path)

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "field": self.field, "was": self.was, "now": self.now}


@dataclass
class Edit:
    """An edited text, the targets it sets, and the gold after the edit (changes only)."""

    text: str
    target: Target
    gold: dict[str, Any] | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def candidates(task: Task, example: Example) -> list[Leaf]:
    """Gold values of required fields written plainly (exact or normalised) in the text."""
    evidence = align_row(task, example.text, example.gold)
    return [
        leaf
        for leaf in leaf_values(task, example.gold)
        if leaf.spec.grounding_mode == "required"
        and evidence[leaf.path].status in ("exact", "normalised")
    ]


def _sentences(text: str) -> list[Span]:
    """Sentence (and line) spans of ``text``, each with the spacing that follows it."""
    spans, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        if m.group().startswith("\n") or not _ABBREVIATION.search(
            text, max(0, m.start() - 8), m.start()
        ):
            spans.append((start, m.end()))
            start = m.end()
    if start < len(text):
        spans.append((start, len(text)))
    return spans


def _found(text: str, leaf: Leaf) -> list[Span]:
    return list(find_value(Document(text), leaf.value, leaf.spec).spans)


def remove_value(example: Example, leaf: Leaf) -> Edit | None:
    """The text without every sentence that writes ``leaf``'s value, or ``None`` when the
    value survives three rounds of cuts or too little text would be left."""
    text = example.text
    for _ in range(3):
        hits = _found(text, leaf)
        if not hits:
            break
        keep = [s for s in _sentences(text) if not any(a < s[1] and s[0] < b for a, b in hits)]
        text = "".join(text[a:b] for a, b in keep)  # the rest of the text as it was
    else:
        return None
    if _found(text, leaf) or len(text) < MIN_KEPT * len(example.text) or text == example.text:
        return None
    target = Target(leaf.path, leaf.value, None)
    return Edit(text, target, note=f"removed what wrote {leaf.path}")


def change_value(
    task: Task,
    example: Example,
    leaf: Leaf,
    pool: Mapping[str, Sequence[Any]],
    rng: random.Random,
) -> Edit | None:
    """The text with ``leaf``'s value rewritten everywhere as another value of its field
    (``pool``: values of each field path in other rows), or ``None`` when no other value
    can be written in the same form, a rewrite would touch another gold value's evidence,
    or the aligner does not confirm the change."""
    doc = Document(example.text)
    found = find_value(doc, leaf.value, leaf.spec)
    if found.status not in ("exact", "normalised"):
        return None
    others = [
        (e.start, e.end)
        for path, e in align_row(task, doc, example.gold).items()
        if path != leaf.path and e.start is not None and e.end is not None
    ]
    if any(a < end and start < b for a, b in found.spans for start, end in others):
        return None  # the edit would change another value too: its gold would be wrong
    new = _new_value(doc, leaf, pool.get(field_path(leaf.path), ()), rng)
    if new is None:
        return None
    text = example.text
    for start, end in sorted(found.spans, reverse=True):
        written = _write_like(text[start:end], new, leaf.spec)
        if written is None:
            return None
        text = text[:start] + written + text[end:]
    check = Document(text)
    if find_value(check, leaf.value, leaf.spec).spans:
        return None  # the old value is still written somewhere
    if not find_value(check, new, leaf.spec).spans:
        return None
    gold = copy.deepcopy(example.gold) or {}
    _set(gold, leaf.path, new)
    return Edit(text, Target(leaf.path, leaf.value, new), gold, f"changed {leaf.path}")


def _new_value(doc: Document, leaf: Leaf, others: Sequence[Any], rng: random.Random) -> Any:
    """Another value of the leaf's field, not already written in the text (a new value
    that some other item already has would make "follows the change" unreadable)."""
    spec, value = leaf.spec, leaf.value
    choices: list[Any]
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        steps = [-2, -1, 1, 2, 3] if value > 2 else [1, 2, 3]
        rng.shuffle(steps)
        choices = [value + step for step in steps]
    elif isinstance(value, float):
        decimals = len(repr(value).split(".")[1]) if "." in repr(value) else 0
        choices = [round(value * rng.uniform(1.15, 1.6), min(decimals, 2)) for _ in range(5)]
    elif not isinstance(value, str):
        return None
    elif spec.kind == "date":
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            return None
        choices = [(day + dt.timedelta(days=rng.randint(2, 20))).isoformat() for _ in range(5)]
    elif spec.kind in ("label", "label_set") and spec.labels:
        choices = [lab for lab in spec.labels if lab and lab != value and len(lab) > 2]
        rng.shuffle(choices)
    else:
        choices = sorted({o for o in others if isinstance(o, str) and o.strip() and o != value})
        rng.shuffle(choices)
    return next(
        (c for c in choices[:20] if c != value and not find_value(doc, c, spec).spans), None
    )


def _write_like(written: str, new: Any, spec: FieldSpec) -> str | None:
    """``new`` in the written form of ``written`` (digits or words, a date's format, the
    letter case of a name), or ``None`` when that form is not one this can reproduce."""
    if isinstance(new, int | float) and not isinstance(new, bool):
        return _number_like(written, new)
    if spec.kind == "date":
        return _date_like(written, dt.date.fromisoformat(new))
    text = str(new)
    if spec.kind in ("label", "label_set"):
        text = text.replace("_", " ")
        text = text.title() if written[:1].isupper() else text
    if written.isupper() and len(written) > 1:
        return text.upper()
    return text


def _number_like(written: str, new: float) -> str | None:
    plain = written.replace(",", "")
    if plain.isdigit():
        return f"{int(new):,}" if "," in written else str(int(new))
    if re.fullmatch(r"\d+\.\d+", written):
        decimals = len(written.split(".")[1])
        return f"{new:.{decimals}f}"
    words = written.lower()
    if words.replace("-", "").isalpha() and isinstance(new, int) and 0 <= new < 100:
        spelt = (
            _UNITS[new]
            if new < 20
            else _TENS[new // 10 - 2] + (f"-{_UNITS[new % 10]}" if new % 10 else "")
        )
        return spelt.capitalize() if written[:1].isupper() else spelt
    return None


_MONTHS = [
    "January", "February", "March", "April", "May", "June", "July", "August",
    "September", "October", "November", "December",
]  # fmt: skip


def _date_like(written: str, day: dt.date) -> str | None:
    """``day`` in the form of ``written``: ISO, "March 5, 2024", "Mar. 5, 2024", "5 March
    2024", "05/03/2024" (day first) or "March 5" without a year."""
    month = _MONTHS[day.month - 1]
    if re.fullmatch(r"\d{4}-\d\d-\d\d", written):
        return day.isoformat()
    m = re.fullmatch(r"([A-Za-z]+)(\.?) (\d{1,2})(, \d{4})?", written)
    if m:
        name = month[:3] + "." if m.group(2) else month
        if not m.group(2) and len(m.group(1)) == 3:
            name = month[:3]
        return f"{name} {day.day}" + (f", {day.year}" if m.group(4) else "")
    if re.fullmatch(r"\d{1,2} [A-Za-z]+ \d{4}", written):
        return f"{day.day} {month} {day.year}"
    if re.fullmatch(r"\d\d/\d\d/\d{4}", written):
        return f"{day.day:02d}/{day.month:02d}/{day.year}"
    return None


_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _set(node: Any, path: str, value: Any) -> None:
    steps: list[str | int] = [m.group(1) or int(m.group(2)) for m in _STEP.finditer(path)]
    for step in steps[:-1]:
        node = node[step]
    node[steps[-1]] = value
