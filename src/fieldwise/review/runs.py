"""A stored run with everything the trust layer needs: its examples, every repeat's
outputs and each prediction's stored confidence signals.

A reference is what ``compare`` takes: a run id (``12``) or a model label (all its runs,
newest first, so the folds of a cross-validated model come together).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from fieldwise.compare import load_side
from fieldwise.data.splits import group_key
from fieldwise.errors import UserError
from fieldwise.store import Store
from fieldwise.tasks import Example, Task, load_task
from fieldwise.trust.assess import assess_model, trust_json
from fieldwise.trust.confidence import ModelConfidence, TrustSettings, calibration_split
from fieldwise.trust.grounding import SAMPLE_ROWS, sample_rows

__all__ = ["RunData", "assess_runs", "load_run"]


@dataclass
class RunData:
    """One side: ``outputs[i]`` is example i's scored (first) output, ``repeats`` the
    other repeats' outputs (one list per repeat), ``signals[i]`` its stored signals."""

    name: str
    label: str
    task: Task
    runs: list[int]
    fingerprints: list[str]
    examples: list[Example]
    outputs: list[str | None]
    repeats: list[list[str | None]]
    signals: list[dict[str, Any] | None]

    @property
    def labelled(self) -> bool:
        return all(ex.gold is not None for ex in self.examples)

    def groups(self) -> list[Hashable]:
        return [group_key(ex) for ex in self.examples]


def run_task(recorded: str, given: Task | str | None) -> Task:
    """The task to read a stored run with: ``given`` (``--task``), else the name the run
    recorded, which only a built-in task (or an importable ``module:attr``) resolves."""
    if isinstance(given, Task):
        return given
    if given:
        return load_task(given)
    try:
        return load_task(recorded)
    except UserError as exc:
        raise UserError(
            f"the run's task '{recorded}' cannot be loaded by its name ({exc})",
            hint="pass --task with the task of the run's config (file.py:ATTR or module:attr)",
        ) from None


def load_run(store: Store, ref: str, task: Task | str | None = None) -> RunData:
    """The run (or model label) ``ref`` from ``store`` (see the module)."""
    side = load_side(store, ref)
    label = side.name.split("#", 1)[0]
    task_obj = run_task(side.task, task)
    ids = list(side.examples)
    keys = [side.keys[i][0] for i in ids]
    stored = store.signals_by_key(keys)
    width = max(len(side.outputs[i]) for i in ids)
    return RunData(
        name=side.name,
        label=label,
        task=task_obj,
        runs=side.runs,
        fingerprints=side.fingerprints,
        examples=[side.examples[i] for i in ids],
        outputs=[side.outputs[i][0] for i in ids],
        repeats=[[(side.outputs[i] + [None] * width)[r] for i in ids] for r in range(1, width)],
        signals=[stored.get(k) for k in keys],
    )


def assess_runs(
    store: Store,
    refs: Sequence[str],
    *,
    profile: str,
    settings: TrustSettings,
    task: str | None = None,
) -> dict[str, Any]:
    """``fieldwise trust RUN...``: each side assessed on its own labelled rows, with one
    calibration split per side (the JSON of :func:`~fieldwise.trust.assess.trust_json`,
    models keyed by side name)."""
    if not refs:
        raise UserError("name a run id or a model label (fieldwise store runs lists them)")
    models: list[ModelConfidence] = []
    for ref in refs:
        run = load_run(store, ref, task)
        if not run.labelled:
            raise UserError(
                f"'{ref}' ran on unlabelled rows: trust needs gold labels to calibrate on",
                hint="assess a run on a labelled test set",
            )
        rows = sample_rows(len(run.examples))
        examples = [run.examples[i] for i in rows]
        groups = [group_key(ex) for ex in examples]
        calibration = calibration_split(groups, settings.share, settings.seed)
        assessed = assess_model(
            run.task,
            examples,
            [run.outputs[i] for i in rows],
            label=run.name,
            profile=profile,
            settings=settings,
            calibration=calibration,
            groups=groups,
            signals=[run.signals[i] for i in rows],
            repeats=[[rep[i] for i in rows] for rep in run.repeats],
        )
        assessed.rows["sampled"] = len(run.examples) > SAMPLE_ROWS
        models.append(assessed)
    return trust_json(models, settings, profile=profile)
