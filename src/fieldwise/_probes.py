"""A project run's out-of-domain probes: every configured model answers them too.

``ood: FILE`` in ``fieldwise.yaml`` (or ``fieldwise run --ood FILE``) names probes made by
``fieldwise data ood``. Each model the run predicts with answers them through the same
runner and store as the test rows (so they are cached, resumable and never paid twice),
recorded under the label ``<model>@ood`` so that comparisons of the model's test runs never
mix them in. An import entry with ``ood: FILE`` supplies an imported model's outputs on
the probes (``{"id", "output"}`` lines, ids as in the probes file). The report's
out-of-domain section is computed from what this returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from fieldwise.config import ProjectConfig
from fieldwise.data import Dataset, fingerprint_examples
from fieldwise.errors import UserError
from fieldwise.models import Model
from fieldwise.plan import ModelPlan
from fieldwise.store import Store
from fieldwise.tasks import Example, Task
from fieldwise.trust.ood import OodRun, load_probes, probe_examples

__all__ = ["OOD_SUFFIX", "run_probes"]

OOD_SUFFIX = "@ood"


def run_probes(
    config: ProjectConfig,
    task: Task,
    store: Store,
    train: list[Example],
    models: Sequence[tuple[ModelPlan, Model]],
    progress: Any = None,
) -> OodRun | None:
    """Predict the probes once with each ``(plan, model)`` (on the plan's executor, under
    the label ``<label>@ood``); ``None`` when the project names no probes."""
    if config.ood is None:
        return None
    from fieldwise.pipeline import predict

    path = Path(config.resolve(config.ood) or config.ood)
    probes = load_probes(path)
    examples = probe_examples(probes)
    dataset = Dataset(examples, f"ood:{path}", fingerprint_examples(examples))
    store.save_dataset(task.name, dataset.fingerprint, dataset.source, examples)
    outputs: dict[str, list[str | None]] = {}
    for plan, model in models:
        entry = plan.config.model_copy(update={"name": plan.label + OOD_SUFFIX, "repeats": 1})
        rows = predict(
            replace(plan, config=entry),
            model,
            examples,
            store,
            dataset,
            train=train,
            config={"ood": str(path), **plan.config.model_dump()},
            progress=progress,
        )
        outputs[plan.label] = [r.output for r in rows]
    for imp in config.imports:
        if imp.ood is not None:
            outputs[imp.name or imp.path] = _imported(config, imp.ood, examples)
    return OodRun(probes, outputs, str(path))


def _imported(config: ProjectConfig, source: str, examples: list[Example]) -> list[str | None]:
    """An imported model's outputs on the probes, in probe order (missing: ``None``)."""
    from fieldwise.store.imports import read_predictions

    found = read_predictions(Path(config.resolve(source) or source))
    known = {ex.id for ex in examples}
    for example_id, line in found.lines.items():
        if example_id not in known:
            raise UserError(f"{found.path}:{line}: id '{example_id}' is not one of the probes")
    return [found.outputs.get(ex.id) for ex in examples]
