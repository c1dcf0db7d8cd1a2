"""Name a model the way ``run`` does, and predict with it through the runner and store.

A teacher, a retiring model or a trained student is given by name: a model entry of the
project config (with its options, price and limits), a model ``fieldwise finetune``
registered in the store, or a bare spec. Its predictions go through the same runner as
``fieldwise run``: stored as they finish, keyed by model identity and text, priced, and
reused on a rerun, so a killed labelling job resumes without paying for a row twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from fieldwise.config import ModelConfig, ProjectConfig
from fieldwise.data import Dataset
from fieldwise.errors import UserError
from fieldwise.store import PredictionRow, Store
from fieldwise.tasks import Example, Task

__all__ = ["Predictions", "predict_stored", "resolve_model", "train_cached"]


def resolve_model(
    name: str, store: Store, project: ProjectConfig | None = None, what: str = "model"
) -> ModelConfig:
    """The model entry ``name`` refers to: the project config's entry of that name, else
    the store's registered model, else ``name`` as a spec (``provider/model``)."""
    if project is not None:
        for mc in project.models:
            if mc.label == name:
                if not mc.spec:
                    return _registered(mc, store, what)
                return mc
    registered = {m["label"]: m for m in store.models()}
    if name in registered:
        found = registered[name]
        options = found.get("options") or {}
        return ModelConfig(spec=found["spec"], name=name, kind=found["kind"], options=dict(options))
    if "/" not in name:
        known = sorted({*(m.label for m in (project.models if project else [])), *registered})
        raise UserError(
            f"{what} '{name}' is neither a spec (provider/model) nor a known model name",
            hint=f"known names: {', '.join(known) or 'none'}",
        )
    return ModelConfig(spec=name)


def _registered(mc: ModelConfig, store: Store, what: str) -> ModelConfig:
    found = {m["label"]: m for m in store.models()}.get(mc.label)
    if found is None:
        raise UserError(f"{what} '{mc.label}' has no spec and is not registered in {store.path}")
    options = {**(found.get("options") or {}), **mc.options}
    return mc.model_copy(update={"spec": found["spec"], "options": options})


@dataclass
class Predictions:
    """One model's stored outputs on some examples: ``repeats[r][i]`` for example i."""

    label: str
    spec: str
    kind: str
    repeats: list[list[PredictionRow]]

    @property
    def outputs(self) -> list[str | None]:
        return [row.output for row in self.repeats[0]]

    @property
    def cost_usd(self) -> float | None:
        costs = [r.cost_usd for rows in self.repeats for r in rows if r.cost_usd is not None]
        return sum(costs) if costs else None

    @property
    def errors(self) -> int:
        return sum(r.error is not None for rows in self.repeats for r in rows)


def predict_stored(
    mc: ModelConfig,
    task: Task,
    examples: list[Example],
    dataset: Dataset,
    store: Store,
    *,
    repeats: int | None = None,
    train: list[Example] | None = None,
    progress: Any = None,
    console: Console | None = None,
) -> Predictions:
    """Predict ``examples`` with ``mc`` through the runner (stored, resumable, priced).

    ``repeats`` overrides the entry's own (k samples of a teacher). The only function in
    this package that knows the pipeline's prediction API."""
    from fieldwise.pipeline import predict_repeats
    from fieldwise.plan import plan_model

    if mc.spec.endswith("/auto"):
        raise UserError(
            f"'{mc.label}' ({mc.spec}) is trained by fieldwise run; it cannot label data here",
            hint="give a trained or hosted model (a spec, or a registered name)",
        )
    if repeats is not None:
        mc = mc.model_copy(update={"repeats": repeats})
    plan = plan_model(mc)  # the executor (local, batch, ray) and limits, as run picks them
    store.save_dataset(task.name, dataset.fingerprint, dataset.source, dataset.examples)
    kind = plan.kind
    rows = predict_repeats(
        plan, plan.model(task), examples, store, dataset,
        train=train or [], config=mc.model_dump(), progress=progress,
    )  # fmt: skip
    failed = sum(r.error is not None for rep in rows for r in rep)
    if failed and console is not None:
        console.print(
            f"[yellow]warning:[/] {mc.label}: {failed} prediction(s) ended in errors; "
            "they count as invalid here (rerun to retry just those)"
        )
    return Predictions(mc.label, mc.spec, kind, rows)


def train_cached(
    mc: ModelConfig, task: Task, examples: list[Example], models_dir: Path, console: Console
) -> str:
    """Train a ``provider/auto`` entry on ``examples`` once (cached in ``models_dir`` by
    the rows and training options, as ``fieldwise run`` does) and return its spec."""
    from fieldwise.plan import _trained, plan_model

    plan = plan_model(mc)
    return f"{plan.provider}/{_trained(plan, task, examples, models_dir, console)}"
