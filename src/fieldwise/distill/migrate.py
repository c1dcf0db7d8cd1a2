"""``fieldwise migrate``: leave a retiring model for an open one you control, and show
whether the replacement is equivalent.

1. The retiring model (``--from``) predicts the whole corpus (``--data``): stored
   predictions through the runner, resumable and priced like any run, so they survive
   the model itself.
2. Its answers that load as labels become training data; rows of the corpus that carry
   a human label can be kept only where the old model agrees with it
   (``keep_agreeing``). Rows whose text is in the test set are never trained on.
3. The replacement (``--to``: a local LoRA or hosted fine-tuning YAML, or a trainable
   spec such as ``baseline/auto``) is trained on them (cached) and registered in the
   store under its name, so ``fieldwise run`` can list it.
4. Both predict the test rows: ``--gold`` (scored against it), else a held-out fifth of
   the corpus, scored against the old model's own answers (how faithfully the new one
   reproduces the old). A TOST per field and on the aggregate
   (:mod:`fieldwise.scoring._equivalence`) gives "equivalent", "not shown equivalent" or
   "worse", with the paired intervals and the margin it used: ``margin`` points, or by
   default each comparison's minimum detectable difference, stated.
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
from fieldwise.data import Dataset, fingerprint_examples, load_examples
from fieldwise.data.splits import group_key, normalise_text, train_test_split
from fieldwise.distill._measures import teacher_golds
from fieldwise.distill._models import Predictions, predict_stored, resolve_model
from fieldwise.distill._page import write_equivalence_page
from fieldwise.distill._student import Student, train_student
from fieldwise.errors import UserError
from fieldwise.scoring import ModelResult, ModelScore, prepare_golds, score_outputs
from fieldwise.scoring.stats import Equivalence, Resamples, equivalence_table
from fieldwise.store import Store
from fieldwise.tasks import Example, Task

__all__ = ["MigrateResult", "MigrateSettings", "run_migrate"]


@dataclass
class MigrateSettings:
    task: Task
    old: str
    new: str
    data: str
    gold: str | None = None
    keep_agreeing: bool = False
    margin: float | None = None
    alpha: float = 0.05
    profile: str = "reference"
    bootstrap: int = 1000
    seed: int = 0
    output: Path = Path(".fieldwise")
    project: ProjectConfig | None = None


@dataclass
class MigrateResult:
    old: Predictions
    new: Predictions
    new_entry: ModelConfig
    reference: str
    """``gold`` (scored against human labels) or ``old model`` (fidelity to its answers)."""
    old_score: ModelScore
    new_score: ModelScore
    equivalence: list[Equivalence]
    trained: int
    dropped: dict[str, int]
    rows: int
    report_path: Path | None = None
    costs: dict[str, float | None] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        return self.equivalence[0].verdict

    def to_json(self) -> dict[str, Any]:
        return {
            "from": self.old.label,
            "to": {"label": self.new_entry.label, "spec": self.new_entry.spec},
            "reference": self.reference,
            "rows": self.rows,
            "trained_on": self.trained,
            "dropped": dict(self.dropped),
            "old": _brief(self.old_score),
            "new": _brief(self.new_score),
            "verdict": self.verdict,
            "equivalence": {e.target: e.to_json() for e in self.equivalence},
            "cost_usd": {k: None if v is None else round(v, 6) for k, v in self.costs.items()},
            **({"report": str(self.report_path)} if self.report_path else {}),
        }


def run_migrate(
    settings: MigrateSettings, *, console: Console | None = None, progress: Any = None
) -> MigrateResult:
    console = console or Console(stderr=True)
    task = settings.task
    corpus = load_examples(task, settings.data)
    if settings.gold:
        gold = load_examples(task, settings.gold)
        if not gold.labelled:
            raise UserError(f"--gold {settings.gold} is not labelled: every row needs its fields")
        test_rows, test_ds, reference = gold.examples, gold, "gold"
        seen = {normalise_text(ex.text) for ex in test_rows}
        train_rows = [ex for ex in corpus.examples if normalise_text(ex.text) not in seen]
        if len(train_rows) < len(corpus.examples):
            console.print(
                f"note: {len(corpus.examples) - len(train_rows)} corpus rows repeat a test "
                "text and are not trained on"
            )
    else:
        train_rows, test_rows = train_test_split(corpus.examples, 0.2, settings.seed)
        test_ds = Dataset(test_rows, f"{corpus.source} (held out)", fingerprint_examples(test_rows))
        reference = "old model"
    if settings.keep_agreeing and not any(ex.gold for ex in train_rows):
        raise UserError(
            "--keep-agreeing needs human labels on some corpus rows (--data)",
            hint="label some rows of the corpus, or drop --keep-agreeing",
        )
    store = Store(settings.output)
    old_mc = resolve_model(settings.old, store, settings.project, "retiring model")
    new = Student.parse(settings.new, store, settings.project)
    corpus_ds = Dataset(train_rows, corpus.source, fingerprint_examples(train_rows))

    old_train = predict_stored(
        old_mc, task, train_rows, corpus_ds, store, progress=progress, console=console
    )
    examples, dropped = _training_rows(task, train_rows, old_train.outputs, settings.keep_agreeing)
    label = _label(new)
    new_entry = train_student(
        new, task, examples, settings.output / "models", label=label, console=console
    )
    store.register_model(
        label, new_entry.spec, "finetune", new_entry.options,
        note=f"migrated from {old_mc.label} on {len(examples)} rows of {corpus.source}",
    )  # fmt: skip
    old_test = predict_stored(
        old_mc, task, test_rows, test_ds, store, progress=progress, console=console
    )
    new_test = predict_stored(new_entry, task, test_rows, test_ds, store, progress=progress)
    store.close()

    if reference == "gold":
        golds = [ex.gold or {} for ex in test_rows]
    else:
        golds = [g or {} for g in teacher_golds(task, test_rows, old_test.outputs)]
    groups = [group_key(ex) for ex in test_rows]
    resamples = Resamples.for_rows(len(test_rows), settings.bootstrap, settings.seed, groups)
    table = prepare_golds(task, golds)
    profiles = tuple(dict.fromkeys([settings.profile, "reference", "strict"]))
    old_scores = score_outputs(task, table, old_test.outputs, profiles, resamples=resamples)
    new_scores = score_outputs(task, table, new_test.outputs, profiles, resamples=resamples)
    o, n = old_scores[settings.profile], new_scores[settings.profile]
    equivalence = equivalence_table(
        n.per_row, o.per_row, o.field_names,
        margins=settings.margin, alpha=settings.alpha, clusters=groups,
    )  # fmt: skip
    result = MigrateResult(
        old=old_test, new=new_test, new_entry=new_entry, reference=reference,
        old_score=o, new_score=n, equivalence=equivalence, trained=len(examples),
        dropped=dropped, rows=len(test_rows),
        costs={old_mc.label: _sum_costs(old_train, old_test)},
    )  # fmt: skip
    result.report_path = _report(
        task, test_rows, result, old_scores, new_scores, settings, resamples
    )
    return result


def _training_rows(
    task: Task, rows: list[Example], outputs: list[str | None], keep_agreeing: bool
) -> tuple[list[Example], dict[str, int]]:
    """The old model's answers that load as labels; with ``keep_agreeing``, minus rows
    whose human label it gets wrong on any scored field."""
    labels = teacher_golds(task, rows, outputs)
    valid = [i for i, g in enumerate(labels) if g is not None]
    dropped = {"valid": len(rows) - len(valid)}
    if keep_agreeing:
        checked = [i for i in valid if rows[i].gold is not None]
        if checked:
            table = prepare_golds(task, [rows[i].gold or {} for i in checked])
            scores = score_outputs(
                task, table, [outputs[i] for i in checked], ("reference",), n_boot=0
            )
            per_row = np.nan_to_num(scores["reference"].per_row, nan=1.0)
            wrong = {checked[k] for k in np.flatnonzero(~np.all(per_row >= 1.0, axis=1))}
            valid = [i for i in valid if i not in wrong]
            dropped["agree_with_gold"] = len(wrong)
    examples = [Example(rows[i].id, rows[i].text, labels[i], rows[i].group) for i in valid]
    return examples, dropped


def _label(new: Student) -> str:
    return new.label if new.entry is None or new.entry.name else f"{new.label}-migrated"


def _sum_costs(*preds: Predictions) -> float | None:
    costs = [p.cost_usd for p in preds if p.cost_usd is not None]
    return sum(costs) if costs else None


def _report(
    task: Task,
    rows: list[Example],
    result: MigrateResult,
    old_scores: dict[str, ModelScore],
    new_scores: dict[str, ModelScore],
    settings: MigrateSettings,
    resamples: Resamples,
) -> Path:
    from fieldwise.report import write_report

    golds = [ex.gold for ex in rows] if result.reference == "gold" else None
    models = [
        ModelResult(
            p.label, p.spec, kind,  # type: ignore[arg-type]
            p.outputs, [r.error for r in p.repeats[0]], scores,
        )
        for p, kind, scores in (
            (result.old, "api", old_scores),
            (result.new, "finetune", new_scores),
        )
    ]  # fmt: skip
    shown = rows if golds is not None else [
        Example(ex.id, ex.text, g or {}, ex.group)
        for ex, g in zip(rows, teacher_golds(task, rows, result.old.outputs), strict=True)
    ]  # fmt: skip
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out_dir = settings.output / "reports" / f"migrate-{stamp}"
    meta = {
        "task": task.name,
        "reference": result.reference,
        "rows": len(rows),
        "trained on": f"{result.trained} rows of the old model's answers",
        "verdict (aggregate)": result.verdict,
        "equivalence": "migrate.html (TOST per field and on the aggregate)",
    }
    path = write_report(
        task, shown, models, out_dir, title=f"fieldwise migrate: {task.name}", meta=meta,
        profile=settings.profile, resamples=resamples,
    )  # fmt: skip
    (out_dir / "migrate.json").write_text(
        json.dumps(result.to_json(), indent=2) + "\n", encoding="utf-8"
    )
    write_equivalence_page(result, out_dir, meta)
    return path


def _brief(score: ModelScore) -> dict[str, Any]:
    full = score.to_json()
    return {k: full[k] for k in ("profile", "rows", "aggregate", "aggregate_ci", "fields")}
