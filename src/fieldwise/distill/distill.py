"""``fieldwise distill``: a strong model labels, a small one learns, and we measure what
the small one inherited.

1. Every teacher labels the unlabeled rows (``--samples K`` times each): stored
   predictions through the runner, so a killed run resumes and nothing is paid twice.
2. The labels are filtered (:mod:`._filters`): the primary teacher's first answer is the
   training label of each kept row.
3. The student is trained on the kept rows (:mod:`._student`), and, when it is cheap
   (trained locally) or asked for (``ablate``), once more per filter with that filter left
   out, which is how each filter's effect is measured.
4. Teacher and students predict the gold rows (``--gold``; without it, a held-out fifth
   of the unlabeled rows, where only agreement can be measured) and are scored: accuracy
   per field against gold, teacher–student agreement, inherited-error rate
   (:mod:`._measures`). One HTML report with the usual paired tests, the
   distillation view beside it (``distill.html``, :mod:`._page`) and ``distill.json``.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console

from fieldwise.config import ModelConfig, ProjectConfig
from fieldwise.data import Dataset, check_leakage, fingerprint_examples, load_examples
from fieldwise.data.splits import group_key, train_test_split
from fieldwise.distill._filters import LabelSet, apply_filters, get_filter
from fieldwise.distill._measures import Measures, measure, score, teacher_golds
from fieldwise.distill._models import Predictions, predict_stored, resolve_model
from fieldwise.distill._page import write_page
from fieldwise.distill._student import Student, train_student
from fieldwise.errors import UserError
from fieldwise.scoring import ModelResult, ModelScore, prepare_golds, score_outputs
from fieldwise.scoring.stats import Resamples
from fieldwise.store import Store
from fieldwise.tasks import Example, Task

__all__ = ["DistillResult", "DistillSettings", "run_distill"]


@dataclass
class DistillSettings:
    task: Task
    teachers: list[str]
    student: str
    data: str
    gold: str | None = None
    filters: list[str] = field(default_factory=lambda: ["valid"])
    samples: int = 1
    profile: str = "reference"
    ablate: bool | None = None
    """Train one student per filter left out; ``None``: only when the student trains
    locally (a hosted job per filter costs money)."""
    bootstrap: int = 1000
    seed: int = 0
    output: Path = Path(".fieldwise")
    project: ProjectConfig | None = None


@dataclass
class StudentRun:
    """One trained student and how it did."""

    name: str
    entry: ModelConfig
    kept: int
    predictions: Predictions
    score: ModelScore | None
    measures: Measures


@dataclass
class DistillResult:
    teacher: Predictions
    teacher_score: ModelScore | None
    student: StudentRun
    without: dict[str, StudentRun]
    kept: int
    dropped: dict[str, int]
    rows: int
    evaluated_on: str
    report_path: Path | None = None
    costs: dict[str, float | None] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The interface of ``distill --json`` (issue 20), plus filter effects and costs."""
        out: dict[str, Any] = {
            "teacher": _score_json(self.teacher_score),
            "student": _score_json(self.student.score),
            "agreement": _rates(self.student.measures.agreement),
            "inherited_error_rate": _rates(self.student.measures.inherited),
            "kept": self.kept,
            "dropped": dict(self.dropped),
            "rows": self.rows,
            "evaluated_on": self.evaluated_on,
            "rows_per_field": dict(self.student.measures.rows),
            "filters": {
                name: {
                    "kept": run.kept,
                    "student": _score_json(run.score),
                    "agreement": _rates(run.measures.agreement),
                    "inherited_error_rate": _rates(run.measures.inherited),
                }
                for name, run in self.without.items()
            },
            "cost_usd": {k: None if v is None else round(v, 6) for k, v in self.costs.items()},
        }
        if self.report_path is not None:
            out["report"] = str(self.report_path)
        return out


def run_distill(
    settings: DistillSettings, *, console: Console | None = None, progress: Any = None
) -> DistillResult:
    console = console or Console(stderr=True)
    task = settings.task
    if settings.samples < 1:
        raise UserError("--samples must be at least 1")
    names = list(settings.filters)
    unlabeled = _unlabeled(task, settings.data, console)
    gold_ds = _gold(task, settings.gold) if settings.gold else None
    if gold_ds is not None:
        train_rows, eval_rows = unlabeled.examples, gold_ds.examples
        _warn_leaks(train_rows, eval_rows, console)
        eval_ds = gold_ds
    else:
        train_rows, eval_rows = train_test_split(unlabeled.examples, 0.2, settings.seed)
        eval_ds = Dataset(
            eval_rows, f"{unlabeled.source} (held out)", fingerprint_examples(eval_rows)
        )
    train_ds = Dataset(train_rows, unlabeled.source, fingerprint_examples(train_rows))
    store = Store(settings.output)
    teachers = [resolve_model(t, store, settings.project, "teacher") for t in settings.teachers]
    student = Student.parse(settings.student, store, settings.project)

    # 1. label
    sources: list[str] = []
    raw: list[list[str | None]] = []
    teacher_preds: list[Predictions] = []
    for mc in teachers:
        preds = predict_stored(
            mc, task, train_rows, train_ds, store,
            repeats=settings.samples, progress=progress, console=console,
        )  # fmt: skip
        teacher_preds.append(preds)
        for r, rows in enumerate(preds.repeats):
            sources.append(mc.label if settings.samples == 1 else f"{mc.label}#{r + 1}")
            raw.append([row.output for row in rows])
    labels = LabelSet(
        task, train_rows, sources, raw, [teacher_golds(task, train_rows, o) for o in raw]
    )
    for name in names:
        get_filter(name).check(labels)

    # 2-3. filter, train
    kept_mask, dropped = apply_filters(labels, names)
    ablate = student.local if settings.ablate is None else settings.ablate
    variants: dict[str | None, np.ndarray] = {None: kept_mask}
    if ablate:
        for name in names:
            if get_filter(name).ablatable:
                variants[name] = apply_filters(labels, names, skip=name)[0]
    models_dir = settings.output / "models"
    trained: dict[str | None, ModelConfig] = {}
    for skip, mask in variants.items():
        label = f"{student.label} (student)" if skip is None else (
            f"{student.label} (student, no {skip})"
        )  # fmt: skip
        trained[skip] = train_student(
            student, task, labels.labelled(mask), models_dir, label=label, console=console
        )

    # 4. evaluate
    teacher_eval = predict_stored(
        teachers[0], task, eval_rows, eval_ds, store, progress=progress, console=console
    )
    has_gold = gold_ds is not None
    resamples = Resamples.for_rows(
        len(eval_rows), settings.bootstrap if has_gold else 0, settings.seed,
        [group_key(ex) for ex in eval_rows],
    )  # fmt: skip
    t_score = (
        score(task, eval_rows, teacher_eval.outputs, settings.profile, resamples)
        if has_gold
        else None
    )
    runs: dict[str | None, StudentRun] = {}
    for skip, entry in trained.items():
        preds = predict_stored(entry, task, eval_rows, eval_ds, store, progress=progress)
        s_score = (
            score(task, eval_rows, preds.outputs, settings.profile, resamples) if has_gold else None
        )
        ref = t_score or _self_score(task, eval_rows, teacher_eval.outputs, settings.profile)
        measures = measure(
            task, eval_rows, teacher_eval.outputs, preds.outputs, ref, settings.profile
        )
        if not has_gold:  # no gold: "teacher wrong" cannot be known
            measures.inherited = dict.fromkeys(measures.inherited, float("nan"))
        runs[skip] = StudentRun(
            entry.label, entry, int(variants[skip].sum()), preds, s_score, measures
        )
    store.close()
    costs = {p.label: p.cost_usd for p in teacher_preds}
    result = DistillResult(
        teacher=teacher_eval,
        teacher_score=t_score,
        student=runs[None],
        without={k: v for k, v in runs.items() if k is not None},
        kept=int(kept_mask.sum()),
        dropped=dropped,
        rows=len(eval_rows),
        evaluated_on=eval_ds.source,
        costs=costs,
    )
    if has_gold:
        result.report_path = _write_report(task, eval_rows, result, settings, resamples)
    return result


def _self_score(
    task: Task, rows: list[Example], outputs: list[str | None], profile: str
) -> ModelScore:
    """The teacher scored against its own valid labels: the shape ``measure`` needs
    when there is no gold (every defined cell is 1)."""
    golds = [g or {} for g in teacher_golds(task, rows, outputs)]
    return score_outputs(task, prepare_golds(task, golds), outputs, (profile,), n_boot=0)[profile]


def _unlabeled(task: Task, source: str, console: Console) -> Dataset:
    ds = load_examples(task, source)
    if any(ex.gold is not None for ex in ds.examples):
        console.print(
            f"[yellow]note:[/] {source} has labels; distill ignores them and trains on the "
            "teacher's (pass held-out labels as --gold to score against them)"
        )
        examples = [Example(ex.id, ex.text, None, ex.group) for ex in ds.examples]
        return Dataset(examples, ds.source, fingerprint_examples(examples))
    return ds


def _gold(task: Task, source: str) -> Dataset:
    ds = load_examples(task, source)
    if not ds.labelled:
        raise UserError(f"--gold {source} is not labelled: every row needs its fields")
    return ds


def _warn_leaks(train: list[Example], test: list[Example], console: Console) -> None:
    leak = check_leakage(train, test)
    if not leak.clean:
        console.print(
            f"[yellow]warning:[/] {len(leak.exact)} gold rows repeat an unlabeled text and "
            f"{len(leak.near)} nearly do: the student is scored partly on what it trained on"
        )


def _write_report(
    task: Task,
    rows: list[Example],
    result: DistillResult,
    settings: DistillSettings,
    resamples: Resamples,
) -> Path:
    from fieldwise.report import write_report

    profiles = tuple(dict.fromkeys([settings.profile, "reference", "strict"]))
    table = prepare_golds(task, [ex.gold or {} for ex in rows])
    models: list[ModelResult] = []
    entries = [(result.teacher, "api")] + [
        (run.predictions, run.entry.kind or "finetune")
        for run in [result.student, *result.without.values()]
    ]
    for preds, kind in entries:
        scores = score_outputs(task, table, preds.outputs, profiles, resamples=resamples)
        models.append(
            ModelResult(
                preds.label, preds.spec, kind,  # type: ignore[arg-type]
                preds.outputs, [r.error for r in preds.repeats[0]], scores,
            )
        )  # fmt: skip
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out_dir = settings.output / "reports" / f"distill-{stamp}"
    meta = {
        "task": task.name,
        "gold": result.evaluated_on,
        "rows": len(rows),
        "teachers": ", ".join(settings.teachers),
        "filters": ", ".join(settings.filters),
        "kept / labelled": f"{result.kept} / {result.kept + sum(result.dropped.values())}",
        "distillation": "distill.html (agreement, inherited errors, filter effects per field)",
    }
    path = write_report(
        task, rows, models, out_dir, title=f"fieldwise distill: {task.name}", meta=meta,
        profile=settings.profile, resamples=resamples,
    )  # fmt: skip
    (out_dir / "distill.json").write_text(
        json.dumps(result.to_json(), indent=2) + "\n", encoding="utf-8"
    )
    write_page(result, out_dir, meta)
    return path


def _score_json(score: ModelScore | None) -> dict[str, Any] | None:
    if score is None:
        return None
    full = score.to_json()
    keys = ("profile", "rows", "aggregate", "aggregate_ci", "fields", "field_ci", "validity")
    return {k: full[k] for k in keys}


def _rates(values: dict[str, float]) -> dict[str, float | None]:
    return {k: None if v != v else round(v, 6) for k, v in values.items()}
