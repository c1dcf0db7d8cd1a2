"""Each configured model resolved once into a plan: backend class, kind, options,
executor and run settings.

Everything the pipeline and the ``predict`` command need to know about a model entry is
decided here, once, before anything is trained or sent: the backend class (looked up in
the registry a single time), the name under its provider, the report kind, the executor
(``local``, ``batch``, ``ray`` or a plugin's, chosen from the entry and checked against
what the backend class declares it can do), and the settings of its runs. A model listed
by name alone is filled in from the store's registered models (what ``fieldwise
finetune`` recorded, options included).

Training lives here too: a ``provider/auto`` entry trains its backend once per (train
data, training options), cached in the project's ``models/`` folder.
"""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from fieldwise import registry
from fieldwise._hashing import content_hash
from fieldwise.config import ModelConfig
from fieldwise.data import fingerprint_examples
from fieldwise.errors import UserError
from fieldwise.models import Model, TrainableModel, get_backend, instantiate, parse_spec
from fieldwise.runner import Executor, Price, RetryPolicy, RunSettings
from fieldwise.store import Store
from fieldwise.store.imports import IMPORT_PROVIDER
from fieldwise.tasks import Example, Task

__all__ = [
    "ModelPlan",
    "executor_for",
    "plan_model",
    "plan_models",
    "run_settings",
    "runs_on_ray",
    "say_training_notes",
    "train_model",
]


@dataclass(frozen=True)
class ModelPlan:
    """One model entry, resolved (see the module docstring)."""

    config: ModelConfig
    backend: type[Model]
    name: str
    """The spec's part after ``provider/`` (``auto`` for a model trained by the run)."""
    kind: str
    executor: Executor
    settings: RunSettings

    @property
    def label(self) -> str:
        return self.config.label

    @property
    def spec(self) -> str:
        return self.config.spec

    @property
    def provider(self) -> str:
        return self.backend.provider

    @property
    def repeats(self) -> int:
        return self.config.repeats

    @property
    def trainable(self) -> bool:
        return self.name == "auto" and issubclass(self.backend, TrainableModel)

    def model(
        self, task: Task, name: str | None = None, options: dict[str, Any] | None = None
    ) -> Model:
        """The backend built for ``task`` (as ``provider/name``: a trained model's folder)
        with the entry's options (or ``options``: the entry's, with a named prompt
        resolved to its file); a trained model's training options were used up by
        training, so only its prediction options are passed."""
        options = self.config.options if options is None else options
        if name is not None:
            options = {k: v for k, v in options.items() if k in self.backend.Options.model_fields}
        return instantiate(self.backend, name or self.name, task, options)

    def build(
        self,
        task: Task,
        train: list[Example],
        models_dir: Path,
        console: Console,
        options: dict[str, Any] | None = None,
    ) -> Model:
        """The model to predict with (with ``options`` as in :meth:`model`): trained on
        ``train`` first (once, cached) when the entry is ``provider/auto``."""
        if not self.trainable:
            return self.model(task, options=options)
        trained = _trained(self, task, train, models_dir, console)
        return self.model(task, str(trained), options)


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


def executor_for(mc: ModelConfig, backend: type[Model]) -> Executor:
    """The executor an entry asks for (``batch:``, else ``executor:``), checked against
    the backend's declared capabilities: one it cannot run on is an error, never a silent
    fallback (to the online price, or to this machine)."""
    name = mc.executor
    if mc.batch_config is not None:
        if mc.executor not in ("local", "batch"):
            raise UserError(
                f"model '{mc.label}' asks for both batch and executor: {mc.executor}",
                hint="a batch runs at the provider; drop one of them",
            )
        name = "batch"
    executor: Executor = registry.executors.get(name).from_config(mc)
    executor.check(mc.label, backend)
    return executor


def plan_model(
    mc: ModelConfig, registered: dict[str, dict[str, Any]] | None = None, where: str = ""
) -> ModelPlan:
    """Resolve one entry (``registered``: the store's registered models by label, the
    store at ``where``)."""
    mc = _with_registered_spec(mc, registered or {}, where)
    provider, name = parse_spec(mc.spec)
    backend = get_backend(provider)
    if name == "auto" and not issubclass(backend, TrainableModel):
        raise UserError(
            f"model '{mc.label}': provider '{provider}' cannot be trained, so {mc.spec} "
            "names no model",
            hint="give the model's name or path instead of auto",
        )
    return ModelPlan(
        config=mc,
        backend=backend,
        name=name,
        kind=mc.kind or backend.kind_of(name),
        executor=executor_for(mc, backend),
        settings=run_settings(mc),
    )


def plan_models(models: list[ModelConfig], store: Store) -> list[ModelPlan | ModelConfig]:
    """Every entry resolved, in order, before any model is trained or called. An entry
    naming imported outputs (``import/NAME``, or a name registered as an import) is no
    model to run: it comes back as its config, spec filled in, for the run's imports."""
    registered = {m["label"]: m for m in store.models()}
    out: list[ModelPlan | ModelConfig] = []
    for mc in models:
        mc = _with_registered_spec(mc, registered, str(store.path))
        out.append(mc if parse_spec(mc.spec)[0] == IMPORT_PROVIDER else plan_model(mc))
    return out


def _with_registered_spec(
    mc: ModelConfig, registered: dict[str, dict[str, Any]], where: str
) -> ModelConfig:
    """Fill in the spec (and options) of a model listed by name alone from what
    ``fieldwise finetune`` registered, so a config need not repeat adapter paths or a
    hosted model's base URL; options in the config win over the registered ones."""
    if mc.spec:
        return mc
    found = registered.get(mc.label)
    if found is None:
        known = ", ".join(sorted(registered)) or "none yet"
        raise UserError(
            f"model '{mc.label}' has no spec and is not registered in {where or 'the store'}",
            hint="give it a spec, run fieldwise finetune, or list its outputs under "
            f"imports: (path: FILE, name: {mc.label}) (registered: {known})",
        )
    options = dict(mc.options)
    provider = found["spec"].partition("/")[0]
    if provider in registry.models or provider in registry.hosts:  # runnable, not an import
        options = {**found.get("options", {}), **options}
    return mc.model_copy(
        update={"spec": found["spec"], "kind": mc.kind or found["kind"], "options": options}
    )


def runs_on_ray(mc: ModelConfig) -> bool:
    """Whether an entry's backend declares it can run on Ray (``--ray`` sends those)."""
    return bool(mc.spec) and get_backend(parse_spec(mc.spec)[0]).runs_on_ray


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
        say_training_notes(cls, task, console)
    with console.status(f"training {provider} on {len(train)} rows"):
        return cls.train(task, [ex for ex in train if ex.gold], out_dir, opts)


def say_training_notes(backend: type[Model], task: Task, console: Console) -> None:
    if issubclass(backend, TrainableModel):
        for note in backend.training_notes(task):
            console.print(f"[yellow]note:[/] {backend.provider}: {note}")


def _trained(
    plan: ModelPlan, task: Task, train: list[Example], models_dir: Path, console: Console
) -> Path:
    """Train once per (train data, training options) and cache the result: keyed by
    provider, data and training options only, so two entries that differ in prediction
    options (e.g. abstention) share one trained model."""
    wanted: frozenset[str] = getattr(plan.backend, "training_options", frozenset())
    options = {k: v for k, v in plan.config.options.items() if k in wanted}
    tag = content_hash({"train": fingerprint_examples(train), "options": options})[:12]
    out = models_dir / f"{plan.provider}-{tag}"
    if not (out / ".complete").exists():
        tmp = out.with_name(out.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        train_model(plan.provider, task, train, tmp, plan.config.options, console, notes=False)
        (tmp / ".complete").write_text(dt.datetime.now(dt.UTC).isoformat())
        shutil.rmtree(out, ignore_errors=True)
        tmp.rename(out)
    return out
