"""The report's trust additions: grounding columns on the leaderboard, evidence behind
every value of the per-example view, and the out-of-domain section.

Kept apart from the rest of the report: the templates read it through one context
variable (``trust``), and its markup and script are partials of their own.

Offsets in the page are those of JavaScript strings (UTF-16 code units, in the text as
the HTML parser delivers it: ``\\r\\n`` and lone ``\\r`` read as ``\\n``), so a value
beyond the Basic Multilingual Plane or a Windows line break cannot shift a highlight.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from markupsafe import Markup

from fieldwise.report._values import Parsed
from fieldwise.scoring._types import ModelResult
from fieldwise.scoring.profiles import get_profile
from fieldwise.scoring.stats import Resamples
from fieldwise.tasks._task import Example, Task
from fieldwise.trust import Document, Evidence, align_row, field_path
from fieldwise.trust._rates import Rate
from fieldwise.trust.grounding import SAMPLE_ROWS, ModelGrounding, grounding_scores, sample_rows
from fieldwise.trust.ood import OodRun, ood_metrics

__all__ = ["TrustView", "trust_view"]

_NO_CELLS: dict[int, list[Markup]] = {}
GOLD = -1
"""The gold row's key among the models in :attr:`TrustView.cells`."""
OOD_COLUMNS = (
    ("validity", "valid JSON"),
    ("nonnull", "answers a field"),
    ("ungrounded", "invents a value"),
    ("abstention", "abstains"),
    ("follows_removed", "drops a removed value"),
    ("follows_changed", "follows a changed value"),
    ("stuck_changed", "keeps the old value"),
)


@dataclass
class TrustView:
    """What the templates show (see the module)."""

    columns: bool = False
    board: dict[int, tuple[str, str, str, str]] = field(default_factory=dict)
    """Model index → (grounded %, its CI, hallucinated %, its CI)."""
    sampled: int = 0
    cells: dict[int, dict[int, list[Markup]]] = field(default_factory=dict)
    """Example index → model index (:data:`GOLD` for gold) → per field, the cell's
    attributes: ``data-ev`` lists the evidence as ``start-end:s`` items (s: e exact, n
    normalised, f fuzzy), ``data-ug`` marks a required value nowhere in the text. Only
    offsets and letters: nothing from a document or an output."""
    ood: list[dict[str, Any]] = field(default_factory=list)
    ood_probes: dict[str, int] = field(default_factory=dict)
    ood_source: str = ""
    ood_columns: tuple[tuple[str, str], ...] = OOD_COLUMNS
    data: dict[str, Any] = field(default_factory=dict)
    """What :meth:`write` saves as ``trust.json``: per model its grounding (rates with
    intervals, per field) and out-of-domain rates, for scripts."""
    rows: list[int] = field(default_factory=list)
    """The rows the rates are measured on (all, or a sample past 5,000)."""
    groundings: dict[int, ModelGrounding] = field(default_factory=dict, repr=False)
    """Model index → its grounding on :attr:`rows` (evidence included), for the
    confidence section (``report/_confidence.py``)."""

    def write(self, out_dir: Path) -> None:
        """``out_dir/trust.json`` (see :attr:`data`)."""
        (out_dir / "trust.json").write_text(json.dumps(self.data, indent=1), encoding="utf-8")

    def row(self, row: int) -> dict[int, list[Markup]]:
        """One example's cell attributes by model (empty when it has none)."""
        return self.cells.get(row, _NO_CELLS)


def trust_view(
    task: Task,
    examples: Sequence[Example],
    results: Sequence[ModelResult],
    parsed: Sequence[Parsed],
    profile: str,
    fields: Sequence[str],
    shown: Sequence[int],
    resamples: Resamples,
    ood: OodRun | None = None,
) -> TrustView:
    """Grounding of every model (rates on all rows, or a sample past
    :data:`~fieldwise.trust.grounding.SAMPLE_ROWS`), evidence for the rows shown, and
    the out-of-domain rates."""
    view = TrustView()
    judge = get_profile(profile)
    aligned = any(s.grounding_mode != "none" for s in task.leaves())
    rows = list(range(len(examples)))
    if len(rows) > SAMPLE_ROWS:
        rows = sample_rows(len(rows))
        view.sampled = len(rows)
    sample = [examples[i] for i in rows]
    view.rows = rows
    boot = resamples if not view.sampled else _sub_resamples(resamples, sample)
    docs = {i: Document(examples[i].text) for i in rows} if aligned else {}
    sample_docs = [docs[i] for i in rows] if aligned else []
    evidence: list[dict[int, dict[str, Evidence]]] = []
    for m, p in enumerate(parsed):
        answers = [p.object(i) for i in rows]
        grounding = (
            grounding_scores(task, sample, answers, judge, documents=sample_docs)
            if aligned
            else None
        )
        by_row = dict(zip(rows, grounding.evidence, strict=True)) if grounding else {}
        if grounding is not None:
            view.groundings[m] = grounding
        evidence.append(by_row)
        if grounding is not None:
            grounded, hallucinated = grounding.rates(boot)
            view.data.setdefault("grounding", {})[results[m].label] = {
                **grounding.to_json(),
                "grounded": grounded.to_json(),
                "hallucinated": hallucinated.to_json(),
                "rows": len(rows),
            }
            if _has_required(grounding):
                view.columns = True
                view.board[m] = _board_cells(grounded, hallucinated)
    if aligned:
        _cells(view, task, examples, parsed, fields, shown, evidence, docs)
    if ood is not None:
        _ood(view, task, results, ood, profile)
    return view


def _has_required(grounding: ModelGrounding) -> bool:
    return any(f.grounding == "required" for f in grounding.fields.values())


def _sub_resamples(resamples: Resamples, sample: Sequence[Example]) -> Resamples:
    from fieldwise.data.splits import group_key

    groups = [group_key(ex) for ex in sample]
    return Resamples.for_rows(len(sample), resamples.count, resamples.seed, groups)


def _pct(value: float) -> str:
    return "—" if math.isnan(value) else f"{value * 100:.1f}"


def _ci(r: Rate) -> str:
    if math.isnan(r.lo) or math.isnan(r.hi):
        return ""
    return f"[{r.lo * 100:.1f}, {r.hi * 100:.1f}]"


def _board_cells(grounded: Rate, hallucinated: Rate) -> tuple[str, str, str, str]:
    return _pct(grounded.value), _ci(grounded), _pct(hallucinated.value), _ci(hallucinated)


def _cells(
    view: TrustView,
    task: Task,
    examples: Sequence[Example],
    parsed: Sequence[Parsed],
    fields: Sequence[str],
    shown: Sequence[int],
    evidence: list[dict[int, dict[str, Evidence]]],
    docs: dict[int, Document],
) -> None:
    """The per-field evidence attributes of the rows shown, gold included."""
    required = {s.path for s in task.leaves() if s.grounding_mode == "required"}
    for i in shown:
        ex = examples[i]
        doc = docs.get(i) or Document(ex.text)
        offsets = _js_offsets(ex.text)
        per_model = {GOLD: align_row(task, doc, ex.gold) if ex.gold else {}}
        for m, p in enumerate(parsed):
            found = evidence[m].get(i)
            if found is None:
                answer = p.object(i)
                found = None if answer is None else align_row(task, doc, answer)
            per_model[m] = found or {}
        seen: dict[tuple[tuple[str, Evidence], ...], list[Markup]] = {}
        row: dict[int, list[Markup]] = {}
        for m, ev in per_model.items():
            key = tuple(ev.items())  # models that agree share one list of cells
            if key not in seen:
                seen[key] = _field_cells(ev, fields, offsets, required)
            row[m] = seen[key]
        view.cells[i] = row


_EMPTY = Markup("")


def _field_cells(
    evidence: Mapping[str, Evidence],
    fields: Sequence[str],
    offsets: list[int] | None,
    required: set[str],
) -> list[Markup]:
    """Per top-level field, in ``fields`` order, the cell's attributes (see
    :attr:`TrustView.cells`)."""
    items: dict[str, list[str]] = {}
    ungrounded: set[str] = set()
    for path, ev in evidence.items():
        top = path.partition(".")[0].partition("[")[0]
        if ev.start is None or ev.end is None:
            if field_path(path) in required:
                ungrounded.add(top)
            continue
        start, end = (ev.start, ev.end) if offsets is None else (offsets[ev.start], offsets[ev.end])
        items.setdefault(top, []).append(f"{start}-{end}:{ev.status[0]}")
    out = []
    for name in fields:
        if name not in items and name not in ungrounded:
            out.append(_EMPTY)
            continue
        spans = " ".join(items.get(name, ()))
        text = (f' data-ev="{spans}"' if spans else "") + (
            ' data-ug="1"' if name in ungrounded else ""
        )
        out.append(Markup(text))  # offsets and letters only, made here: safe as is
    return out


def _js_offsets(text: str) -> list[int] | None:
    """Code point offset → offset in the page's JavaScript string, or ``None`` when they
    are the same (no character past U+FFFF, no ``\\r``)."""
    if "\r" not in text and all(ord(c) <= 0xFFFF for c in text if not c.isascii()):
        return None
    out, at = [0] * (len(text) + 1), 0
    for k, c in enumerate(text):
        out[k] = at
        if c == "\r" and text[k + 1 : k + 2] == "\n":
            continue  # "\r\n" reads as one "\n"
        at += 2 if ord(c) > 0xFFFF else 1
    out[len(text)] = at
    return out


def _ood(
    view: TrustView, task: Task, results: Sequence[ModelResult], ood: OodRun, profile: str
) -> None:
    judge = get_profile(profile)
    view.ood_source = ood.source
    view.ood_probes = {
        k: sum(p.probe == k for p in ood.probes) for k in ("offtopic", "removed", "changed")
    }
    for r in results:
        outputs = ood.outputs.get(r.label)
        if outputs is None:
            view.ood.append({"label": r.label, "cells": None})
            continue
        res = ood_metrics(task, ood.probes, outputs, judge, label=r.label)
        view.data.setdefault("ood", {})[r.label] = res.to_json()
        view.ood.append(
            {
                "label": r.label,
                "cells": [
                    (_pct(res.rates[k].value), _ci(res.rates[k]), int(res.rates[k].n))
                    for k, _ in OOD_COLUMNS
                ],
            }
        )
