"""``fieldwise review export``: the values of a run a person should look at.

A value (a row's value at one scored path) goes to review when

- ``low_confidence``: its calibrated confidence is below the field's threshold for the
  target risk (the signal, calibration and threshold of :mod:`fieldwise.trust.confidence`,
  fitted on *all* labelled rows of the calibration run: for deployment, every label
  counts; ``fieldwise trust`` is where the threshold is judged on held-out rows), or
- ``ungrounded``: a value of a field whose grounding is ``required`` is nowhere in its
  text.

The calibration run is the exported run itself when its rows are labelled, else
``calibrate_on`` (a labelled run of the same model: production data has no gold).
Items are written lowest confidence first, as CSV and JSONL (``corrected`` and ``accept``
left empty for the reviewer) and as a Label Studio project (:mod:`._labelstudio`).
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fieldwise.errors import UserError
from fieldwise.review._labelstudio import CONFIG_FILE, TASKS_FILE, label_config, tasks
from fieldwise.review.corrections import PATH_PARTS
from fieldwise.review.runs import RunData, load_run
from fieldwise.scoring import prepare_golds, score_outputs
from fieldwise.scoring.parse import parse_status
from fieldwise.store import Store
from fieldwise.trust import Evidence, align_rows, field_path
from fieldwise.trust.confidence import Policy, TrustSettings, correct_values, fit_policy
from fieldwise.trust.grounding import sample_rows
from fieldwise.trust.signals import signal_table

__all__ = ["CSV_FILE", "JSONL_FILE", "ReviewItem", "export_review", "path_value"]

CSV_FILE, JSONL_FILE = "review.csv", "review.jsonl"
CSV_COLUMNS = (
    "dataset", "run", "model", "id", "path", "value", "corrected", "accept", "gold",
    "confidence", "threshold", "signal", "grounding", "evidence", "reasons", "context",
)  # fmt: skip


@dataclass
class ReviewItem:
    """One value to review (see the module); ``evidence``: ``[start, end, status]`` of
    each of its values found in ``text`` (code point offsets)."""

    dataset: str
    run: int
    model: str
    id: str
    path: str
    value: Any
    gold: Any
    confidence: float | None
    threshold: float | None
    signal: str | None
    grounding: str | None
    reasons: list[str]
    text: str
    evidence: list[list[Any]] = field(default_factory=list)

    def line(self) -> dict[str, Any]:
        """The JSONL line: everything, plus empty ``corrected`` and ``accept``."""
        return {**asdict(self), "corrected": None, "accept": None}

    def row(self) -> dict[str, str]:
        """The CSV row: values as JSON, the text as a snippet around the evidence."""
        return {
            "dataset": self.dataset,
            "run": str(self.run),
            "model": self.model,
            "id": self.id,
            "path": self.path,
            "value": json.dumps(self.value, ensure_ascii=False),
            "corrected": "",
            "accept": "",
            "gold": "" if self.gold is None else json.dumps(self.gold, ensure_ascii=False),
            "confidence": "" if self.confidence is None else f"{self.confidence:.4f}",
            "threshold": "" if self.threshold is None else f"{self.threshold:.4f}",
            "signal": self.signal or "",
            "grounding": self.grounding or "",
            "evidence": " ".join(f"{s}-{e}:{status}" for s, e, status in self.evidence),
            "reasons": " ".join(self.reasons),
            "context": _context(self.text, self.evidence),
        }


def _context(text: str, evidence: Sequence[Sequence[Any]], width: int = 160) -> str:
    """The text around the first evidence span (the span in [[ ]]), or its start."""
    if not evidence:
        return " ".join(text[: 2 * width].split())
    start, end = int(evidence[0][0]), int(evidence[0][1])
    before = text[max(0, start - width) : start]
    after = text[end : end + width]
    return " ".join(f"{before}[[{text[start:end]}]]{after}".split())


def path_value(answer: Mapping[str, Any] | None, path: str) -> Any:
    """A row's value at a scored path: the value (``None`` when absent) or, under a
    records field, the list of its records' values, one per record (``None`` for a record
    without one), so that a reviewer's list lines up with the records."""
    if answer is None:
        return None
    found: list[Any] = [answer]
    many_seen = False
    for name, many in PATH_PARTS.findall(path):
        nxt: list[Any] = []
        for node in found:
            value = node.get(name) if isinstance(node, Mapping) else None
            if many:
                nxt.extend(value if isinstance(value, list) else [])
            else:
                nxt.append(value)
        found, many_seen = nxt, many_seen or bool(many)
    return found if many_seen else found[0]


def _policies(
    calib: RunData, profile: str, settings: TrustSettings
) -> tuple[dict[str, Policy], list[str]]:
    """Every path's policy fitted on all (up to 5,000) labelled rows of ``calib``."""
    rows = sample_rows(len(calib.examples))
    examples = [calib.examples[i] for i in rows]
    outputs = [calib.outputs[i] for i in rows]
    golds = prepare_golds(calib.task, [ex.gold or {} for ex in examples])
    path_rows = score_outputs(calib.task, golds, outputs, (profile,), n_boot=0)[profile].path_rows
    answers = [parse_status(o)[1] for o in outputs]
    evidence = align_rows(calib.task, [ex.text for ex in examples], answers)
    table = signal_table(
        list(path_rows),
        outputs,
        [calib.signals[i] for i in rows],
        [[rep[i] for i in rows] for rep in calib.repeats],
        evidence,
    )
    every = np.ones(len(rows), dtype=bool)
    correct = correct_values(path_rows)
    return {p: fit_policy(p, table, y, every, settings) for p, y in correct.items()}, list(
        path_rows
    )


def review_items(
    store: Store,
    ref: str,
    *,
    profile: str,
    settings: TrustSettings,
    calibrate_on: str | None = None,
    task: str | None = None,
) -> tuple[list[ReviewItem], list[str]]:
    """The run's values to review (see the module), lowest confidence first, and the
    paths for which no threshold reaches the target risk (all their values are listed)."""
    run = load_run(store, ref, task)
    if calibrate_on is not None:
        calib = load_run(store, calibrate_on, run.task)
    elif run.labelled:
        calib = run
    else:
        raise UserError(
            f"'{ref}' ran on unlabelled rows, so there is nothing to calibrate on",
            hint="pass --calibrate-on with a labelled run of the same model",
        )
    if not calib.labelled:
        raise UserError(f"'{calibrate_on}' ran on unlabelled rows; calibrate on a labelled run")
    policies, paths = _policies(calib, profile, settings)
    answers = [parse_status(o)[1] for o in run.outputs]
    evidence = align_rows(run.task, [ex.text for ex in run.examples], answers)
    table = signal_table(paths, run.outputs, run.signals, run.repeats, evidence)
    required = {s.path for s in run.task.leaves() if s.grounding_mode == "required"}
    items: list[ReviewItem] = []
    for path in paths:
        policy = policies[path]
        conf = policy.confidence(table)
        low = None if conf is None else ~policy.accepts(conf)
        for i, ex in enumerate(run.examples):
            found = _evidence(evidence[i], path)
            reasons = []
            if low is not None and low[i]:
                reasons.append("low_confidence")
            if path in required and any(status == "none" for *_, status in found):
                reasons.append("ungrounded")
            if not reasons:
                continue
            c = None if conf is None else float(conf[i])
            items.append(
                ReviewItem(
                    dataset=run.fingerprints[0],
                    run=run.runs[0],
                    model=run.label,
                    id=ex.id,
                    path=path,
                    value=path_value(answers[i], path),
                    gold=path_value(ex.gold, path) if ex.gold is not None else None,
                    confidence=None if c is None or math.isnan(c) else round(c, 6),
                    threshold=policy.threshold,
                    signal=policy.signal,
                    grounding=_weakest(found),
                    reasons=reasons,
                    text=ex.text,
                    evidence=[[s, e, st] for s, e, st in found if s is not None],
                )
            )
    items.sort(key=lambda it: (1.0 if it.confidence is None else it.confidence, it.id, it.path))
    unreached = [p for p in paths if policies[p].signal and policies[p].threshold is None]
    return items, unreached


def _evidence(row: Mapping[str, Evidence], path: str) -> list[tuple[int | None, int | None, str]]:
    return [(e.start, e.end, e.status) for p, e in row.items() if field_path(p) == path]


_ORDER = ("none", "fuzzy", "normalised", "exact")


def _weakest(found: Sequence[tuple[Any, Any, str]]) -> str | None:
    statuses = [status for *_, status in found]
    return min(statuses, key=_ORDER.index) if statuses else None


def export_review(
    store: Store,
    ref: str,
    out_dir: Path,
    *,
    profile: str,
    settings: TrustSettings,
    calibrate_on: str | None = None,
    task: str | None = None,
) -> tuple[list[ReviewItem], dict[str, Path], list[str]]:
    """Write the run's review queue into ``out_dir`` (see the module); return the items,
    the files written and the paths no threshold reaches the target risk on."""
    items, unreached = review_items(
        store, ref, profile=profile, settings=settings, calibrate_on=calibrate_on, task=task
    )
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create {out_dir}: {exc.strerror}") from None
    files = {
        "csv": out_dir / CSV_FILE,
        "jsonl": out_dir / JSONL_FILE,
        "labelstudio": out_dir / TASKS_FILE,
        "labelstudio_config": out_dir / CONFIG_FILE,
    }
    with files["csv"].open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(item.row() for item in items)
    with files["jsonl"].open("w", encoding="utf-8") as fh:
        for item in items:
            fh.write(json.dumps(item.line(), ensure_ascii=False) + "\n")
    files["labelstudio"].write_text(
        json.dumps(tasks(items), ensure_ascii=False, indent=1), encoding="utf-8"
    )
    files["labelstudio_config"].write_text(label_config(), encoding="utf-8")
    return items, files, unreached
