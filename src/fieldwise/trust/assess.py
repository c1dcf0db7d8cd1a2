"""One call from a model's outputs to its trust numbers: scoring, grounding, signals,
calibration on one split, held-out evaluation (``fieldwise trust``, the report).

Past :data:`~fieldwise.trust.grounding.SAMPLE_ROWS` rows, grounding (and so everything
here) is estimated on a seeded sample of that many rows, as the report and ``score`` do;
``rows`` in the JSON says how many were used.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np

from fieldwise.scoring import prepare_golds, score_outputs
from fieldwise.scoring.parse import parse_status
from fieldwise.scoring.profiles import get_profile
from fieldwise.tasks._task import Example, Task
from fieldwise.trust._document import Document
from fieldwise.trust.confidence import (
    ModelConfidence,
    TrustSettings,
    correct_values,
    model_confidence,
)
from fieldwise.trust.grounding import ModelGrounding, grounding_scores
from fieldwise.trust.signals import signal_table

__all__ = ["assess_model", "trust_json"]


def assess_model(
    task: Task,
    examples: Sequence[Example],
    outputs: Sequence[str | None],
    *,
    label: str,
    profile: str,
    settings: TrustSettings,
    calibration: np.ndarray,
    groups: Sequence[Hashable],
    signals: Sequence[Mapping[str, Any] | None] | None = None,
    repeats: Sequence[Sequence[str | None]] = (),
    path_rows: Mapping[str, np.ndarray] | None = None,
    grounding: ModelGrounding | None = None,
    documents: Sequence[Document] | None = None,
) -> ModelConfidence:
    """A model's :class:`~fieldwise.trust.confidence.ModelConfidence` on ``examples``.

    ``path_rows`` (the profile's per-row scores of ``outputs``) and ``grounding`` are
    computed here unless given; ``calibration`` marks the calibration rows
    (:func:`~fieldwise.trust.confidence.calibration_split`), the same for every model."""
    if path_rows is None:
        golds = prepare_golds(task, [ex.gold or {} for ex in examples])
        scored = score_outputs(task, golds, list(outputs), (profile,), n_boot=0)[profile]
        path_rows = scored.path_rows
    if grounding is None and any(s.grounding_mode != "none" for s in task.leaves()):
        answers = [parse_status(o)[1] for o in outputs]
        grounding = grounding_scores(
            task, examples, answers, get_profile(profile), documents=documents
        )
    table = signal_table(
        list(path_rows),
        outputs,
        signals if signals is not None else [None] * len(outputs),
        repeats,
        grounding.evidence if grounding is not None else None,
    )
    return model_confidence(
        label, table, correct_values(path_rows), calibration, settings, groups, grounding
    )


def trust_json(
    models: Sequence[ModelConfidence], settings: TrustSettings, *, profile: str
) -> dict[str, Any]:
    """What ``fieldwise trust --json`` prints and the report saves (``trust.json``'s
    ``confidence``): per model and path the grounding, calibration and selective numbers
    (see docs/confidence.md for every key)."""
    return {
        "profile": profile,
        **settings.to_json(),
        "models": {m.label: m.to_json(settings.risk) for m in models},
    }
