"""The baseline as a :class:`TrainableModel` backend (spec ``baseline/DIR``)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field

from fieldwise.data.nested import flatten, unflatten
from fieldwise.models._model import (
    Generation,
    ModelKind,
    ModelOptions,
    TrainableModel,
    content_hash,
)
from fieldwise.models.baseline._calibration import (
    calibrated,
    fit_calibration,
    load_calibration,
    save_calibration,
)
from fieldwise.models.baseline._pipeline import Pipeline, column_task, fingerprint
from fieldwise.tasks import Example, Task


class BaselineModel(TrainableModel):
    """Rules + scikit-learn linear heads, run with numpy on one CPU core.

    ``abstain`` makes a field JSON ``null`` when the model is less likely than
    ``abstain_below`` to have it right. That likelihood is calibrated: training measures,
    out of fold (``calibration_folds``), how often each field is right at each raw
    confidence (see ``_calibration.py``). The strict profile counts a null as an
    abstention; the reference profile counts it wrong, hence off by default.
    ``c``, ``max_features`` and ``calibration_folds`` only matter when training.

    A nested task is seen as columns: every leaf of a nested object (``vendor.name``) is
    predicted like a top-level field, then the objects are rebuilt. A ``records`` field
    (a list of varying length) has no such column, so it is always ``null``: an
    abstention, said once when training (:meth:`training_notes`).
    """

    provider: ClassVar[str] = "baseline"
    kind: ClassVar[ModelKind] = "baseline"
    max_batch_size: ClassVar[int] = 256
    default_concurrency: ClassVar[int] = 1
    training_options: ClassVar[frozenset[str]] = frozenset(
        {"c", "max_features", "calibration_folds"}
    )

    class Options(ModelOptions):
        abstain: bool = False
        abstain_below: float = Field(0.5, ge=0.0, le=1.0)
        c: float = Field(4.0, gt=0.0, description="inverse L2 strength of every regression")
        max_features: int = Field(30000, ge=100, description="TF-IDF vocabulary size")
        calibration_folds: int = Field(
            3, ge=0, description="out-of-fold refits that calibrate abstention (0: none)"
        )

    def __init__(self, name: str, task: Task, options: ModelOptions | None = None) -> None:
        super().__init__(name, task, options)
        self.model_dir = Path(name)
        self.columns = column_task(task)
        self.pipeline = Pipeline.load(self.columns, self.model_dir)
        self._fingerprint = fingerprint(self.model_dir)
        self.calibration = load_calibration(self.model_dir)

    def identity(self) -> dict[str, Any]:
        ident = super().identity()
        ident["name"] = self.model_dir.name
        ident["fingerprint"] = self._fingerprint
        if self.calibration:
            ident["calibration"] = content_hash(self.calibration)[:16]
        return ident

    @classmethod
    def train(
        cls, task: Task, examples: list[Example], out_dir: Path, options: ModelOptions | None
    ) -> Path:
        opts = options if isinstance(options, cls.Options) else cls.Options.model_validate({})
        columns = column_task(task)
        if columns is not task:  # nested: train on one column per object leaf
            examples = [
                Example(ex.id, ex.text, None if ex.gold is None else flatten(task, ex.gold))
                for ex in examples
            ]
        task = columns
        pipeline = Pipeline.fit(task, examples, c=opts.c, max_features=opts.max_features)
        out = pipeline.save(Path(out_dir))
        labelled = [ex for ex in examples if ex.gold is not None]
        if (
            opts.calibration_folds >= 2
            and len({ex.text for ex in labelled}) >= 10 * opts.calibration_folds
        ):

            def refit(train: list[Example], held: list[Example]) -> list[dict[str, Any]]:
                fold = Pipeline.fit(task, train, c=opts.c, max_features=opts.max_features)
                return fold.predict([ex.text for ex in held])

            save_calibration(out, fit_calibration(task, labelled, refit, opts.calibration_folds))
        return out

    @classmethod
    def training_notes(cls, task: Task) -> list[str]:
        records = [spec.path for spec in task.walk() if spec.kind == "records" and spec.scored]
        return [
            f"cannot model the list field '{path}'; it predicts null there (an abstention)"
            for path in records
        ]

    def predict_objects(self, texts: list[str]) -> list[dict[str, Any]]:
        """The predicted JSON objects (abstentions as ``None`` when enabled)."""
        return [obj for obj, _ in self.predict_with_confidence(texts)]

    def predict_with_confidence(
        self, texts: list[str]
    ) -> list[tuple[dict[str, Any], dict[str, float]]]:
        """Per text, the predicted object and each scored column's calibrated confidence
        (by path: ``province``, ``vendor.name``), the model's own probability that the
        value is right, stored as its ``prob`` signal."""
        opts = self.options
        assert isinstance(opts, self.Options)
        out = []
        nested = self.columns is not self.task
        for row in self.pipeline.predict(texts):
            obj, probs = {}, {}
            for spec in self.columns.fields:
                value, conf = row[spec.name]
                conf = calibrated(self.calibration, spec.name, conf)
                if spec.scored:
                    probs[spec.name] = round(min(1.0, max(0.0, float(conf))), 6)
                if opts.abstain and spec.scored and conf < opts.abstain_below:
                    value = None
                obj[spec.name] = value
            out.append((unflatten(self.task, obj) if nested else obj, probs))
        return out

    async def generate(self, batch: list[Example]) -> list[Generation]:
        start = time.perf_counter()
        rows = self.predict_with_confidence([ex.text for ex in batch])
        each = (time.perf_counter() - start) / max(1, len(batch))
        return [
            Generation(
                output=json.dumps(obj, ensure_ascii=False),
                latency_s=each,
                finish_reason="stop",
                signals={"prob": probs} if probs else None,
            )
            for obj, probs in rows
        ]
