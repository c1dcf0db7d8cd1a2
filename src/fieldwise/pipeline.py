"""The whole loop as plain functions: data → models → runner/store → scoring → report.

The CLI is a thin layer over these; a Python user can call them directly with a
:class:`~fieldwise.config.ProjectConfig`.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from fieldwise import __version__
from fieldwise._hashing import prediction_keys
from fieldwise.config import ProjectConfig
from fieldwise.data import Dataset, fingerprint_examples, group_kfold, load_examples
from fieldwise.data.splits import check_leakage, group_key, train_test_split
from fieldwise.errors import UserError
from fieldwise.imported import ProjectImports
from fieldwise.models import Model
from fieldwise.plan import ModelPlan, plan_models, run_settings, say_training_notes, train_model
from fieldwise.runner import RunJob, execute, make_progress
from fieldwise.store import PredictionRow, RunRecord, Store
from fieldwise.store.imports import IMPORT_PROVIDER, import_identity
from fieldwise.tasks import Example, Task, load_task

if TYPE_CHECKING:
    # Imported where a run scores, not at the top: `predict` imports this module, and
    # scoring, the optimiser and the probes pull in numpy, scipy and scikit-learn
    # (tests/cli/test_startup.py).
    from fieldwise.scoring import GoldTable, ModelResult, ModelScore
    from fieldwise.scoring.stats import Resamples
    from fieldwise.trust.ood import OodRun

__all__ = ["ProjectResult", "predict", "predict_repeats", "run_project", "train_model"]

Split = tuple[list[Example], list[Example]]
"""(train, test): what a model is trained on (if at all) and what it predicts."""


@dataclass
class ProjectResult:
    report_path: Path
    results: list[ModelResult]
    task: Task
    test: Dataset
    pairwise: dict[str, Any] = field(default_factory=dict)
    """The report's pairwise table (what ``pairwise.json`` holds and ``fieldwise
    compare`` prints): every pair of models, aggregate and per field."""
    ood: OodRun | None = None
    """The run's out-of-domain probes and every model's outputs on them (``ood:``)."""


def git_sha() -> str | None:
    """The commit of the fieldwise checkout in use, when it is one (recorded per run)."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def predict(
    plan: ModelPlan, model: Model, examples: list[Example], store: Store, dataset: Dataset,
    **options: Any,
) -> list[PredictionRow]:  # fmt: skip
    """Record a run and predict ``examples`` once (cached predictions are reused); the
    keyword options are :func:`predict_repeats`'s."""
    return predict_repeats(plan, model, examples, store, dataset, **options)[0]


def predict_repeats(
    plan: ModelPlan,
    model: Model,
    examples: list[Example],
    store: Store,
    dataset: Dataset,
    *,
    train: list[Example],
    config: dict[str, Any] | None = None,
    progress: Any = None,
) -> list[list[PredictionRow]]:
    """Record a run of ``model`` (built from ``plan``) and predict ``examples`` with the
    plan's executor, ``plan.repeats`` times: one list of rows per repeat. Cached
    predictions are reused, repeat by repeat."""
    model.prepare(train)
    identity = model.identity()
    run_id = store.start_run(
        RunRecord(
            label=plan.label,
            spec=model.spec,
            kind=plan.kind,
            task=model.task.name,
            identity=identity,
            decoding=identity.get("options", {}),
            template_hash=identity.get("prompt"),
            dataset_fingerprint=dataset.fingerprint,
            dataset_source=dataset.source,
            n_examples=len(examples),
            package_version=__version__,
            git_sha=git_sha(),
            config=config,
        )
    )
    job = RunJob(model, examples, store, plan.label, run_id, plan.settings, plan.repeats)
    status = "failed"
    try:
        outcome = execute(job, plan.executor, progress)
        status = "finished"
    except KeyboardInterrupt:
        status = "interrupted"
        raise
    finally:
        store.finish_run(run_id, status)
    return outcome.repeats


def _load_data(config: ProjectConfig, task: Task) -> tuple[list[Example], Dataset]:
    d = config.data
    train_src, test_src = config.resolve(d.train), config.resolve(d.test)
    if train_src is None and test_src is None:
        raise UserError("the config names no data", hint="set data.train and/or data.test")
    load = lambda src: load_examples(  # noqa: E731
        task, src, skip_invalid=d.skip_invalid, limit=d.limit, group_column=d.group
    )
    train_ds = load(train_src) if train_src else None
    if d.cv:
        if train_ds is None or not train_ds.labelled:
            raise UserError("cross-validation needs labelled data in data.train")
        return train_ds.examples, train_ds
    if test_src:
        test_ds = load(test_src)
        return (train_ds.examples if train_ds else []), test_ds
    assert train_ds is not None
    if not train_ds.labelled:
        raise UserError(f"{train_src} is not labelled; give data.test to predict without scoring")
    train, test = train_test_split(train_ds.examples, d.test_size, d.seed)
    test_ds = Dataset(test, f"{train_ds.source} (test split)", fingerprint_examples(test))
    return train, test_ds


def _rows_stats(rows: list[PredictionRow]) -> dict[str, float]:
    lat = [r.latency_s for r in rows if r.latency_s]
    stats: dict[str, float] = {
        "latency_s_mean": sum(lat) / len(lat) if lat else 0.0,
        "hit_token_limit": float(sum(r.finish_reason == "length" for r in rows)),
        "errors": float(sum(r.error is not None for r in rows)),
    }
    for name in ("input_tokens", "output_tokens", "cost_usd"):
        values = [getattr(r, name) for r in rows if getattr(r, name) is not None]
        if values:
            stats[name] = float(sum(values))
    return stats


def run_project(
    config: ProjectConfig, *, console: Console | None = None, quiet: bool = False
) -> ProjectResult:
    """Predict with every configured model (and on the ``ood`` probes, when the project
    names them), score, and write the report."""
    from fieldwise._probes import run_probes
    from fieldwise.optimize._project import optimise_entries, prompt_uses
    from fieldwise.report._write import write_report_full
    from fieldwise.scoring import check_profiles, prepare_golds

    console = console or Console(stderr=True)
    task = load_task(config.resolve_task())
    check_profiles(task, config.profiles)
    train, test = _load_data(config, task)
    if not test.labelled:
        raise UserError(f"{test.source} has no labels to score against")
    out_dir = config.output_dir
    store = Store(out_dir)
    store.save_dataset(task.name, test.fingerprint, test.source, test.examples)
    if train and not config.data.cv:
        leak = check_leakage(train, test.examples)
        if not leak.clean:
            console.print(
                f"[yellow]warning:[/] {len(leak.exact)} test rows repeat a train text and "
                f"{len(leak.near)} nearly do (e.g. {(leak.exact or leak.near)[0][:2]})"
            )
    folds = group_kfold(test.examples, config.data.cv, config.data.seed) if config.data.cv else None
    golds = prepare_golds(  # once for all models; the texts for +grounding profiles
        task, [ex.gold or {} for ex in test.examples], [ex.text for ex in test.examples]
    )
    resamples = run_resamples(test.examples, config)
    results: list[ModelResult] = []
    imports = ProjectImports(store, config, task.name, train, test, console)
    imports.load()  # before the models: an entry may name an import
    plans = plan_models(config.models, store)  # all resolved and checked before any work
    optimise_entries(config, task, train, test.examples, store, console, quiet, run_settings)
    progress = None if quiet else make_progress()

    def score(label: str, spec: str, kind: str, rows: list[list[PredictionRow]]) -> ModelResult:
        result = _result(task, golds, label, spec, kind, rows, config=config, resamples=resamples)
        return _with_signals(result, store, rows, test.examples)

    answered: list[tuple[ModelPlan, Model]] = []  # what the ood probes run through
    for plan in plans:
        if not isinstance(plan, ModelPlan):  # an entry naming imported outputs
            results.append(imports.result(plan, score))
            continue
        # CV folds judge the models the run trains; every other model predicts the
        # whole test set once, as one split.
        cv = folds is not None and plan.trainable
        splits: list[Split] = folds if cv and folds is not None else [(train, test.examples)]
        repeats, model = _predict_splits(
            plan, splits, cv, task, test, store, out_dir, console, progress
        )
        result = score(plan.label, plan.spec, plan.kind, repeats)
        result.variant_of, result.variant = plan.config.variant_of, dict(plan.config.variant)
        results.append(result)
        answered.append((plan, model))
    results.extend(imports.rest(score, {r.label for r in results}))
    ood = run_probes(config, task, store, train, answered, progress)
    meta = {
        "task": task.name,
        "dataset": test.source,
        "dataset fingerprint": test.fingerprint,
        "rows": len(test.examples),
        "evaluation": f"{config.data.cv}-fold cross-validation" if folds else "held-out test split",
        "fieldwise": __version__,
        "git": git_sha() or "-",
        "created": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }
    if config.strip_fences:
        meta["fenced outputs"] = "read by profiles that accept them (strip_fences: true)"
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    report_dir = out_dir / "reports" / stamp
    title = config.title or f"fieldwise: {task.name}"
    written = write_report_full(
        task,
        test.examples,
        results,
        report_dir,
        title=title,
        meta=meta,
        # The first of `profiles:` ranks the report (and pairwise.json, which a bare
        # `fieldwise compare` prints), as it ranks the summary printed after the run.
        profile=config.profiles[0],
        resamples=resamples,
        ood=ood,
        prompts=prompt_uses(config.models, out_dir),
    )
    latest = out_dir / "reports" / "latest.json"
    latest.write_text(json.dumps({"report": str(written.path)}))
    return ProjectResult(written.path, results, task, test, written.pairwise, ood)


def _predict_splits(
    plan: ModelPlan,
    splits: list[Split],
    cv: bool,
    task: Task,
    test: Dataset,
    store: Store,
    out_dir: Path,
    console: Console,
    progress: Any,
) -> tuple[list[list[PredictionRow]], Model]:
    """One model over every split (the CV folds, or the one held-out split): trained on
    the split's train part first when the plan says so, its rows gathered back into the
    test set's order, one list per repeat; and the last split's model (the one that
    answers the run's out-of-domain probes)."""
    from fieldwise.optimize._project import prompt_options

    if plan.trainable:  # once per model, however many folds train it (or none: cached)
        say_training_notes(plan.backend, task, console)
    by_id: list[dict[str, PredictionRow]] = [{} for _ in range(plan.repeats)]
    for i, (split_train, split_test) in enumerate(splits):
        options = prompt_options(plan.config, plan.config.options, out_dir, split_test)
        model = plan.build(task, split_train, out_dir / "models", console, options)
        record = plan.config.model_dump()
        rows = predict_repeats(
            plan, model, split_test, store, test, train=split_train,
            config={"cv_fold": i, **record} if cv else record, progress=progress,
        )  # fmt: skip
        for found, repeat in zip(by_id, rows, strict=True):
            found.update((r.example_id, r) for r in repeat)
    return [[found[ex.id] for ex in test.examples] for found in by_id], model


def run_resamples(examples: list[Example], config: ProjectConfig) -> Resamples:
    """The run's one bootstrap: ``config.bootstrap`` resamples seeded by the data seed,
    by document group (the group column, else rows sharing a text)."""
    from fieldwise.scoring.stats import Resamples

    groups = [group_key(ex) for ex in examples]
    return Resamples.for_rows(len(examples), config.bootstrap, config.data.seed, groups)


def _result(
    task: Task,
    golds: GoldTable,
    label: str,
    spec: str,
    kind: str,
    repeats: list[list[PredictionRow]],
    config: ProjectConfig,
    resamples: Resamples,
) -> ModelResult:
    """Score a model's rows; with several repeats, each is scored and the model's scores
    are those of the per-row mean over repeats."""
    from fieldwise.scoring import ModelResult, score_outputs

    profiles = tuple(config.profiles)
    table = golds
    per_repeat = [
        score_outputs(
            task,
            table,
            [r.output for r in rows],
            profiles,
            resamples=resamples,
            strip_fences=config.strip_fences,
        )
        for rows in repeats
    ]
    scores = per_repeat[0] if len(per_repeat) == 1 else _mean_scores(per_repeat, table, resamples)
    rows = repeats[0]
    return ModelResult(
        label=label,
        spec=spec,
        kind=kind,  # type: ignore[arg-type]
        outputs=[r.output for r in rows],
        errors=[r.error for r in rows],
        scores=scores,
        stats=_rows_stats([r for rows in repeats for r in rows]),
        repeats=per_repeat if len(per_repeat) > 1 else [],
    )


def _mean_scores(
    per_repeat: list[dict[str, ModelScore]], table: GoldTable, resamples: Resamples
) -> dict[str, ModelScore]:
    from fieldwise.scoring.aggregate import summarise
    from fieldwise.scoring.stats import mean_over_repeats

    out = {}
    for profile, first in per_repeat[0].items():
        validity: Counter[str] = Counter()
        for scores in per_repeat:
            validity.update(scores[profile].validity)
        mean = mean_over_repeats([scores[profile].per_row for scores in per_repeat])
        out[profile] = summarise(
            profile, first.field_names, mean, table.present, dict(validity), resamples
        )
    return out


def _with_signals(
    result: ModelResult, store: Store, repeats: list[list[PredictionRow]], examples: list[Example]
) -> ModelResult:
    """Attach what the trust layer reads besides the scores: each row's stored confidence
    signals and the other repeats' outputs (``fieldwise.trust``). Rows read from an
    import file carry no key; theirs is the import's (``store/imports.py``)."""
    keys = [r.key for r in repeats[0]]
    if store.has_signals() and not all(keys) and result.spec.startswith(f"{IMPORT_PROVIDER}/"):
        label = result.spec.split("/", 1)[1]
        made = prediction_keys(import_identity(label), examples)
        keys = [k or m for k, m in zip(keys, made, strict=True)]
    found = store.signals_by_key(k for k in keys if k) if store.has_signals() else {}
    result.signals = [found.get(k) for k in keys]
    result.repeat_outputs = [[r.output for r in rows] for rows in repeats[1:]]
    return result
