"""Train a student (or a replacement model) on labels, whatever kind it is.

A student is named like a model: a trainable spec (``baseline/auto``, the embedded CPU
model that makes the whole loop run offline), a project-config entry with such a spec
(``lora/auto`` with its ``finetune`` options), or a fine-tuning YAML, local (a LoRA
adapter of ``docs/finetuning.md``) or hosted (a ``provider:`` config: Together,
Fireworks, Tinker, OpenAI). Every trained student is cached under the project's
``models/`` folder by the rows it learned from and its own settings, so a rerun trains
nothing it has trained before, and an interrupted hosted job is resumed from its record.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console

from fieldwise._hashing import content_hash
from fieldwise.config import ModelConfig, ProjectConfig, load_yaml_mapping
from fieldwise.data import fingerprint_examples
from fieldwise.errors import UserError
from fieldwise.store import Store
from fieldwise.tasks import Example, Task

__all__ = ["Student", "train_student"]


class Student:
    """What to train: a trainable model entry, or a hosted fine-tuning config."""

    def __init__(self, entry: ModelConfig | None = None, hosted: Path | None = None) -> None:
        self.entry = entry
        self.hosted = hosted

    @property
    def label(self) -> str:
        if self.entry is not None:
            return self.entry.label
        assert self.hosted is not None
        return self.hosted.stem

    @property
    def local(self) -> bool:
        """Trained on this machine (cheap enough to train again for each filter)."""
        return self.entry is not None

    @classmethod
    def parse(cls, name: str, store: Store, project: ProjectConfig | None = None) -> Student:
        """``baseline/auto``, a project entry's name, or a fine-tuning YAML file."""
        if name.endswith((".yaml", ".yml")):
            path = Path(name)
            data = load_yaml_mapping(path)
            if "provider" in data:
                return cls(hosted=path.resolve())
            finetune = {k: v for k, v in data.items() if k not in ("train", "output_dir", "task")}
            if isinstance(finetune.get("base_model"), str):
                from fieldwise.config import resolve_model as local_model

                finetune["base_model"] = local_model(finetune["base_model"], path.parent)
            label = str(data.get("name") or path.stem)
            return cls(ModelConfig(spec="lora/auto", name=label, options={"finetune": finetune}))
        from fieldwise.distill._models import resolve_model

        entry = resolve_model(name, store, project, what="student")
        if not entry.spec.endswith("/auto"):
            raise UserError(
                f"student '{name}' ({entry.spec}) is not something to train",
                hint="give baseline/auto, a lora/auto entry, or a fine-tuning YAML",
            )
        from fieldwise.models import TrainableModel, get_backend

        if not issubclass(get_backend(entry.spec.split("/", 1)[0]), TrainableModel):
            raise UserError(f"student '{name}': {entry.spec} cannot be trained")
        return cls(entry)


def train_student(
    student: Student,
    task: Task,
    examples: list[Example],
    models_dir: Path,
    *,
    label: str,
    console: Console,
) -> ModelConfig:
    """Train ``student`` on ``examples`` (cached) and return the trained model's entry,
    named ``label``."""
    if not examples:
        raise UserError(
            f"no rows left to train {label} on", hint="loosen --filter, or label more rows"
        )
    if student.entry is not None:
        from fieldwise.distill._models import train_cached

        spec = train_cached(student.entry, task, examples, models_dir, console)
        options = _prediction_options(student.entry)
        kind = "baseline" if spec.startswith("baseline/") else "finetune"
        return ModelConfig(spec=spec, name=label, kind=kind, options=options)
    assert student.hosted is not None
    return _train_hosted(student.hosted, task, examples, models_dir, label, console)


def _prediction_options(entry: ModelConfig) -> dict[str, Any]:
    from fieldwise.models import TrainableModel, get_backend

    cls = get_backend(entry.spec.split("/", 1)[0])
    trained_only = cls.training_options if issubclass(cls, TrainableModel) else frozenset()
    return {
        k: v
        for k, v in entry.options.items()
        if k in cls.Options.model_fields and k not in trained_only
    }


def _train_hosted(
    config_path: Path,
    task: Task,
    examples: list[Example],
    models_dir: Path,
    label: str,
    console: Console,
) -> ModelConfig:
    """A hosted job on ``examples`` (exported with the config's template); its folder
    holds the exported file and the job record, so a rerun resumes the same job."""
    from fieldwise.data.loading import write_jsonl
    from fieldwise.finetune.hosted import load_hosted_config, run_hosted_finetune

    data = load_yaml_mapping(config_path)
    tag = content_hash({"config": data, "train": fingerprint_examples(examples)})[:12]
    out = models_dir / f"hosted-{tag}"
    record = out / "hosted_model.json"
    if record.is_file():
        found = json.loads(record.read_text(encoding="utf-8"))
        return ModelConfig(
            spec=found["spec"], name=label, kind="finetune", options=found.get("options", {})
        )
    out.mkdir(parents=True, exist_ok=True)
    train_file = out / "labels.jsonl"
    write_jsonl(train_file, [{"id": e.id, "text": e.text, **(e.gold or {})} for e in examples])
    overrides: dict[str, Any] = {
        "train": str(train_file),
        "training_file": None,
        "output_dir": str(out),
    }
    config = load_hosted_config(config_path, overrides)
    result = run_hosted_finetune(config, console=console)
    options = dict(getattr(result, "options", {}) or {})
    return ModelConfig(spec=result.spec, name=label, kind="finetune", options=options)
