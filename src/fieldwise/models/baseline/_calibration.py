"""Turn each head's raw confidence into "how often is this field right at this confidence".

A head's confidence is a regression probability or a chooser's summed vote; its scale
differs from field to field (a label set multiplies per-label probabilities, so it reads
low even when right). One fixed threshold therefore abstains on the wrong rows. Training
measures, out of fold, how often each field is right in each confidence band, and
prediction looks the band up: "abstain below 0.5" then means "abstain where the model is
more likely wrong than right", the same for every field.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from fieldwise.data.splits import group_kfold
from fieldwise.models.baseline._heads import split_labels
from fieldwise.tasks import Example, FieldSpec, Task

CALIBRATION_FILE = "calibration.json"
BANDS = 10
TrainAndPredict = Callable[[list[Example], list[Example]], list[dict[str, tuple[Any, float]]]]


def _right(value: Any, gold: Any, spec: FieldSpec) -> bool:
    if spec.kind == "label_set":
        # The heads' own canonical form: ";"-joined values split, aliases mapped, and ""
        # (how a gold says "no label") the same as an empty prediction.
        return split_labels(value, spec) == split_labels(gold, spec)
    return bool(value == gold)


def fit_calibration(
    task: Task,
    examples: list[Example],
    train_and_predict: TrainAndPredict,
    k: int = 3,
) -> dict[str, list[list[float]]]:
    """Per field, ``[[upper confidence, share right], ...]`` over equal-count bands.

    ``train_and_predict(train, held_out)`` fits a fresh model and predicts the held-out
    rows; the bands come from all held-out predictions together.
    """
    scored = list(task.scored_fields)
    pairs: dict[str, list[tuple[float, bool]]] = {f.name: [] for f in scored}
    for train, test in group_kfold(examples, k):
        for ex, row in zip(test, train_and_predict(train, test), strict=True):
            gold = ex.gold or {}
            for spec in scored:
                value, conf = row[spec.name]
                pairs[spec.name].append((float(conf), _right(value, gold.get(spec.name), spec)))
    table: dict[str, list[list[float]]] = {}
    for name, values in pairs.items():
        values.sort()
        blocks: list[list[float]] = []  # [upper confidence, share right, rows]
        for band in np.array_split(np.arange(len(values)), min(BANDS, max(1, len(values)))):
            if not len(band):
                continue
            upper = values[int(band[-1])][0]
            right = float(np.mean([values[int(i)][1] for i in band]))
            blocks.append([upper, right, float(len(band))])
            # Ties in confidence (a rule that always says 1.0) make one band, and more
            # confidence must never mean less often right: pool adjacent violators.
            while len(blocks) > 1 and (
                blocks[-2][0] == blocks[-1][0] or blocks[-2][1] > blocks[-1][1]
            ):
                u, m, w = blocks.pop()
                _, pm, pw = blocks.pop()
                blocks.append([u, (pm * pw + m * w) / (pw + w), pw + w])
        table[name] = [[u, round(m, 4)] for u, m, _ in blocks]
    return table


def calibrated(table: Mapping[str, list[list[float]]], field: str, conf: float) -> float:
    """The measured share right for ``conf`` (the raw value when the field has no table)."""
    rows = table.get(field)
    if not rows:
        return conf
    for upper, right in rows:
        if conf <= upper:
            return right
    return rows[-1][1]


def save_calibration(model_dir: Path, table: Mapping[str, list[list[float]]]) -> None:
    (model_dir / CALIBRATION_FILE).write_text(json.dumps(table, indent=1), encoding="utf-8")


def load_calibration(model_dir: Path) -> dict[str, list[list[float]]]:
    path = model_dir / CALIBRATION_FILE
    if not path.is_file():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return {str(k): [[float(u), float(r)] for u, r in v] for k, v in data.items()}
