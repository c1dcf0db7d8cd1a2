"""A local LoRA fine-tune as a trainable model: ``lora/auto`` in a project config.

``fieldwise finetune CONFIG`` trains one adapter and registers it; this backend lets a
project train the same config *inside* a run, on the run's own train split, so that
``fieldwise run --cv K`` trains K adapters (one per fold, each on the other folds' rows),
predicts each fold's held-out rows with its own adapter and pairs the out-of-fold
predictions with every other model's, exactly as it does for the embedded baseline.
Each fold's adapter is cached by its rows and the config (the project's ``models/``
folder), so a killed cross-validation resumes at the first unfinished fold.

The entry::

    - name: my-lora
      spec: lora/auto
      options:
        finetune: configs/lora.yaml   # or the same keys inline
        max_tokens: 256               # prediction options, as for hf/

The fine-tuning config is the local one of ``docs/finetuning.md``; its ``train`` and
``output_dir`` are decided by the run (the fold's rows; a cached folder). A trained model
is ``lora/ADAPTER_DIR`` and runs like ``hf/BASE:ADAPTER_DIR``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field

from fieldwise.errors import UserError
from fieldwise.models._local import split_model_spec
from fieldwise.models._model import ModelKind, ModelOptions, TrainableModel
from fieldwise.models.hf import HFModel, HFOptions
from fieldwise.tasks import Example, Task

_DECIDED_BY_THE_RUN = ("train", "output_dir", "task")


class LoraOptions(HFOptions):
    """``finetune``: the local fine-tuning config (trains the adapter); the rest are the
    ``hf`` backend's prediction options."""

    finetune: dict[str, Any] = Field(
        default_factory=dict, description="the local fine-tuning config's keys"
    )


class LoraModel(HFModel, TrainableModel):
    """A LoRA adapter trained by the run (``lora/auto``), then run as ``hf/BASE:ADAPTER``."""

    provider: ClassVar[str] = "lora"
    kind: ClassVar[ModelKind] = "finetune"
    training_options: ClassVar[frozenset[str]] = frozenset({"finetune"})
    runs_on_ray: ClassVar[bool] = False
    """Its adapters are trained into this machine's project folder, which Ray workers
    elsewhere cannot read: ``--ray`` refuses it (run the adapter as ``hf/BASE:ADAPTER``
    from shared storage instead)."""
    Options = LoraOptions  # type: ignore[assignment]

    @classmethod
    def kind_of(cls, name: str) -> ModelKind:
        return "finetune"

    def __init__(self, name: str, task: Task, options: ModelOptions | None = None) -> None:
        if name == "auto":
            raise UserError(
                "lora/auto is trained by fieldwise run; it names no adapter yet",
                hint="list it in a project config, or run a trained one as lora/ADAPTER_DIR",
            )
        base, adapter = split_model_spec(name)
        if adapter is None:
            name = f"{adapter_base(name)}:{name}"
        super().__init__(name, task, options)

    def volatile_options(self) -> set[str]:
        return {*super().volatile_options(), "finetune"}

    @classmethod
    def train(
        cls, task: Task, examples: list[Example], out_dir: Path, options: ModelOptions | None
    ) -> Path:
        """Fine-tune the configured base on ``examples`` into ``out_dir``."""
        from fieldwise.data.loading import write_jsonl
        from fieldwise.finetune.config import config_from_dict
        from fieldwise.finetune.local import run_finetune

        opts = options if isinstance(options, LoraOptions) else LoraOptions()
        if not opts.finetune:
            raise UserError(
                "lora/auto needs the fine-tuning config in its options",
                hint="options: {finetune: path/to/lora.yaml}",
            )
        given = sorted(k for k in _DECIDED_BY_THE_RUN if k in opts.finetune)
        if given:
            raise UserError(
                f"lora/auto: {', '.join(given)} in the fine-tuning config is decided by the run",
                hint="leave train, output_dir and task out; the project config gives them",
            )
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        rows = [{"id": ex.id, "text": ex.text, **(ex.gold or {})} for ex in examples]
        train_file = out_dir / "train.jsonl"
        write_jsonl(train_file, rows)
        config = config_from_dict(
            {
                **opts.finetune,
                "train": str(train_file),
                "output_dir": str(out_dir),
                "task": task.name,
            }
        )
        run_finetune(config, progress=True, examples=examples, task=task)
        return out_dir


def adapter_base(adapter_dir: str) -> str:
    """The base model an adapter folder was trained on (its run card, else PEFT's
    ``adapter_config.json``); a one-line error when the folder is neither."""
    folder = Path(adapter_dir)
    for name, key in (("run_card.json", "base_model"), ("adapter_config.json", None)):
        file = folder / name
        if not file.is_file():
            continue
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise UserError(f"cannot read {file}: {exc}") from None
        base = data.get(key) if key else data.get("base_model_name_or_path")
        if isinstance(base, str) and base:
            return base
    raise UserError(
        f"lora/{adapter_dir}: not an adapter folder (no run_card.json or adapter_config.json)",
        hint="give lora/ADAPTER_DIR of a trained adapter, or hf/BASE:ADAPTER",
    )
