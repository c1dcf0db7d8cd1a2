"""The whole loop as plain functions: data → models → runner/store → scoring → report.

The CLI is a thin layer over these; a Python user can call them directly with a
:class:`~fieldwise.config.ProjectConfig`.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from rich.console import Console

from fieldwise import __version__
from fieldwise._hashing import content_hash
from fieldwise.config import ModelConfig, ProjectConfig
from fieldwise.data import Dataset, fingerprint_examples, group_kfold, load_examples
from fieldwise.data.splits import check_leakage, group_key, train_test_split
from fieldwise.errors import UserError
from fieldwise.imported import ProjectImports, is_import_spec
from fieldwise.models import Model, TrainableModel, create_model, get_backend, model_kind
from fieldwise.optimize._project import optimise_entries, prompt_options, prompt_uses
from fieldwise.runner import (
    Price,
    RayOptions,
    RetryPolicy,
    RunOutcome,
    RunSettings,
    make_progress,
    run_model,
)
from fieldwise.runner.batch import BatchSettings, run_batch
from fieldwise.scoring import (
    GoldTable,
    ModelResult,
    ModelScore,
    check_profiles,
    prepare_golds,
    score_outputs,
)
from fieldwise.scoring.aggregate import summarise
from fieldwise.scoring.stats import Resamples, mean_over_repeats
from fieldwise.store import PredictionRow, RunRecord, Store
from fieldwise.tasks import Example, Task, load_task


@dataclass
class ProjectResult:
    report_path: Path
    results: list[ModelResult]
    task: Task
    test: Dataset


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


def run_settings(mc: ModelConfig) -> RunSettings:
    price = Price(mc.price.input_per_mtok, mc.price.output_per_mtok) if mc.price else None
    return RunSettings(
        concurrency=mc.concurrency,
        rpm=mc.rpm,
        tpm=mc.tpm,
        timeout_s=mc.timeout_s,
        retry=RetryPolicy(max_retries=mc.max_retries),
        price=price,
    )


def ray_options(mc: ModelConfig) -> RayOptions | None:
    """The Ray executor's settings for a model configured with ``executor: ray``."""
    if mc.executor != "ray":
        return None
    return RayOptions(
        address=mc.ray_address, workers=mc.ray_workers, gpus_per_worker=mc.ray_gpus_per_worker
    )


def batch_settings(mc: ModelConfig) -> BatchSettings | None:
    """How ``mc`` runs through its provider's batch API, or ``None`` to run online.

    Checked before anything is trained or sent: a backend without a batch API is an error,
    never a silent fallback to the online price."""
    cfg = mc.batch_config
    if cfg is None:
        return None
    provider = mc.spec.split("/", 1)[0]
    if get_backend(provider).batch_api is None:
        raise UserError(
            f"model '{mc.label}' cannot run as a batch: provider '{provider}' has no batch API",
            hint="batch works with openai and anthropic models; drop batch/--batch",
        )
    price = None
    if mc.price is not None:
        p = mc.price
        price = Price(
            p.input_per_mtok / 2 if p.batch_input_per_mtok is None else p.batch_input_per_mtok,
            p.output_per_mtok / 2 if p.batch_output_per_mtok is None else p.batch_output_per_mtok,
        )
    return BatchSettings(
        poll_s=cfg.poll_s,
        max_requests=cfg.max_requests,
        max_bytes=cfg.max_bytes,
        price=price,
        confirm_s=cfg.confirm_s,
    )


def train_model(
    provider: str,
    task: Task,
    train: list[Example],
    out_dir: Path,
    options: dict[str, Any] | None = None,
    console: Console | None = None,
    notes: bool = True,
) -> Path:
    """Train a trainable backend into ``out_dir`` and return it (printing the backend's
    :meth:`~TrainableModel.training_notes` first, unless ``notes`` is off)."""
    cls = get_backend(provider)
    if not issubclass(cls, TrainableModel):
        raise UserError(f"model provider '{provider}' cannot be trained")
    if not any(ex.gold for ex in train):
        raise UserError("training needs labelled examples")
    opts = cls.Options(**(options or {}))
    console = console or Console(stderr=True)
    if notes:
        say_training_notes(provider, task, console)
    with console.status(f"training {provider} on {len(train)} rows"):
        return cls.train(task, [ex for ex in train if ex.gold], out_dir, opts)


def say_training_notes(provider: str, task: Task, console: Console) -> None:
    cls = get_backend(provider)
    if issubclass(cls, TrainableModel):
        for note in cls.training_notes(task):
            console.print(f"[yellow]note:[/] {provider}: {note}")


def _trained_spec(
    mc: ModelConfig, task: Task, train: list[Example], models_dir: Path, console: Console
) -> str:
    """Resolve ``provider/auto`` by training once per (train data, options) and caching."""
    provider = mc.spec.split("/", 1)[0]
    cls = get_backend(provider)
    wanted: frozenset[str] = getattr(cls, "training_options", frozenset())
    options = {k: v for k, v in mc.options.items() if k in wanted}
    tag = content_hash({"train": fingerprint_examples(train), "options": options})[:12]
    # Keyed by provider, data and training options only: two configured models that
    # differ in prediction options (e.g. abstention) share one trained model.
    out = models_dir / f"{provider}-{tag}"
    if not (out / ".complete").exists():
        tmp = out.with_name(out.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        train_model(provider, task, train, tmp, mc.options, console, notes=False)
        (tmp / ".complete").write_text(dt.datetime.now(dt.UTC).isoformat())
        shutil.rmtree(out, ignore_errors=True)
        tmp.rename(out)
    return f"{provider}/{out}"


def _model_options(mc: ModelConfig, trained: bool) -> dict[str, Any]:
    """Options for inference; a trained model's training options were consumed by train."""
    if not trained:
        return mc.options
    cls = get_backend(mc.spec.split("/", 1)[0])
    return {k: v for k, v in mc.options.items() if k in cls.Options.model_fields}


def predict(
    model: Model, examples: list[Example], store: Store, dataset: Dataset, **options: Any
) -> list[PredictionRow]:
    """Record a run and predict ``examples`` once (cached predictions are reused); the
    keyword options are :func:`predict_repeats`'s."""
    return predict_repeats(model, examples, store, dataset, **options)[0]


def predict_repeats(
    model: Model,
    examples: list[Example],
    store: Store,
    dataset: Dataset,
    *,
    label: str,
    settings: RunSettings,
    train: list[Example],
    kind: str,
    config: dict[str, Any] | None = None,
    progress: Any = None,
    ray: RayOptions | None = None,
    repeats: int = 1,
    batch: BatchSettings | None = None,
) -> list[list[PredictionRow]]:
    """Record a run and predict ``examples`` ``repeats`` times (sampled decoding): one
    list of rows per repeat. Cached predictions are reused, repeat by repeat. ``ray``
    runs them on a Ray cluster instead of in this process; with ``batch``, the pending
    ones go through the provider's batch API."""
    if ray is not None:
        from fieldwise.runner.ray_executor import check_ray_model

        check_ray_model(model)  # before a run is recorded
    model.prepare(train)
    identity = model.identity()
    run_id = store.start_run(
        RunRecord(
            label=label,
            spec=model.spec,
            kind=kind,
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
    status = "failed"
    try:
        runner: Callable[..., RunOutcome] = (
            partial(run_model, ray=ray) if batch is None else partial(run_batch, batch=batch)
        )
        outcome = runner(
            model,
            examples,
            store,
            label=label,
            run_id=run_id,
            settings=settings,
            progress=progress,
            repeats=repeats,
        )
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


def _with_registered_specs(models: list[ModelConfig], store: Store) -> list[ModelConfig]:
    """Fill in the spec of models listed by name alone from the store's registered models
    (what ``fieldwise finetune`` recorded), so a config need not repeat adapter paths."""
    registered = {m["label"]: m for m in store.models()}
    out = []
    for mc in models:
        if not mc.spec:
            found = registered.get(mc.label)
            if found is None:
                known = ", ".join(sorted(registered)) or "none yet"
                raise UserError(
                    f"model '{mc.label}' has no spec and is not registered in {store.path}",
                    hint="give it a spec, run fieldwise finetune, or list its outputs under "
                    f"imports: (path: FILE, name: {mc.label}) (registered: {known})",
                )
            mc = mc.model_copy(update={"spec": found["spec"], "kind": mc.kind or found["kind"]})
        out.append(mc)
    return out


def run_project(
    config: ProjectConfig, *, console: Console | None = None, quiet: bool = False
) -> ProjectResult:
    """Predict with every configured model, score, and write the report."""
    from fieldwise.report import write_report

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
    golds = prepare_golds(task, [ex.gold or {} for ex in test.examples])  # once for all models
    resamples = run_resamples(test.examples, config)
    results: list[ModelResult] = []
    optimise_entries(config, task, train, test.examples, store, console, quiet, run_settings)
    progress = None if quiet else make_progress()
    imports = ProjectImports(store, config, task.name, train, test, console)
    imports.load()  # before the models: an entry may name an import
    score = partial(_result, task, golds, config=config, resamples=resamples)
    for mc in _with_registered_specs(config.models, store):
        if is_import_spec(mc.spec):
            results.append(imports.result(mc, score))
            continue
        provider = mc.spec.split("/", 1)[0]
        trainable = mc.spec.endswith("/auto")
        kind = mc.kind or model_kind(mc.spec)
        settings = run_settings(mc)
        batch = batch_settings(mc)
        if trainable:  # once per model, however many folds train it (or none: cached)
            say_training_notes(provider, task, console)
        if folds is not None and trainable:
            by_id: list[dict[str, PredictionRow]] = [{} for _ in range(mc.repeats)]
            for i, (fold_train, fold_test) in enumerate(folds):
                spec = _trained_spec(mc, task, fold_train, out_dir / "models", console)
                options = prompt_options(mc, _model_options(mc, True), out_dir, fold_test)
                model = create_model(spec, task, options)
                fold_rows = predict_repeats(
                    model,
                    fold_test,
                    store,
                    test,
                    label=mc.label,
                    settings=settings,
                    train=fold_train,
                    kind=kind,
                    config={"cv_fold": i, **mc.model_dump()},
                    progress=progress,
                    ray=ray_options(mc),
                    repeats=mc.repeats,
                    batch=batch,
                )
                for found, rows in zip(by_id, fold_rows, strict=True):
                    found.update({r.example_id: r for r in rows})
            repeats = [[found[ex.id] for ex in test.examples] for found in by_id]
        else:
            spec = (
                _trained_spec(mc, task, train, out_dir / "models", console)
                if trainable
                else mc.spec
            )
            options = prompt_options(mc, _model_options(mc, trainable), out_dir, test.examples)
            model = create_model(spec, task, options)
            repeats = predict_repeats(
                model,
                test.examples,
                store,
                test,
                label=mc.label,
                settings=settings,
                train=train,
                kind=kind,
                config=mc.model_dump(),
                progress=progress,
                ray=ray_options(mc),
                repeats=mc.repeats,
                batch=batch,
            )
        result = _result(task, golds, mc.label, mc.spec, kind, repeats, config, resamples)
        result.variant_of, result.variant = mc.variant_of, dict(mc.variant)
        results.append(result)
    results.extend(imports.rest(score, {r.label for r in results}))
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
    path = write_report(
        task,
        test.examples,
        results,
        report_dir,
        title=title,
        meta=meta,
        resamples=resamples,
        prompts=prompt_uses(config.models, out_dir),
    )
    latest = out_dir / "reports" / "latest.json"
    latest.write_text(json.dumps({"report": str(path)}))
    return ProjectResult(path, results, task, test)


def run_resamples(examples: list[Example], config: ProjectConfig) -> Resamples:
    """The run's one bootstrap: ``config.bootstrap`` resamples seeded by the data seed,
    by document group (the group column, else rows sharing a text)."""
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
    profiles = tuple(config.profiles)
    table = prepare_golds(task, golds)
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
