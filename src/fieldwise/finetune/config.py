"""One YAML file per local fine-tune, read into a typed :class:`FinetuneConfig`.

Relative paths (train/eval data, output directory, a local base model) are resolved
against the YAML file's folder, so a config and its data can move together. Unknown keys
are an error naming the key: a misspelt ``learning_rte`` must not silently train with the
default.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from fieldwise.config import resolve_model
from fieldwise.errors import UserError, did_you_mean

_NON_PATH_SOURCES = ("sample",)


class LoraSettings(BaseModel):
    """LoRA adapter shape; ``all-linear`` adapts every linear layer except the LM head."""

    model_config = ConfigDict(extra="forbid")

    r: int = Field(16, gt=0)
    alpha: int = Field(32, gt=0)
    dropout: float = Field(0.05, ge=0.0, lt=1.0)
    target_modules: Literal["all-linear"] | list[str] = "all-linear"


class FinetuneConfig(BaseModel):
    """Everything one local LoRA/QLoRA fine-tune needs; see ``docs/finetuning.md``."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    base_model: str = Field(description="local model directory or Hugging Face Hub id")
    task: str = "isaf"
    train: str = Field(description="train data: a file, 'sample' or hub:OWNER/NAME[:SPLIT]")
    eval: str | None = None
    output_dir: str = Field(description="where the adapter, run card and README go")
    name: str | None = Field(None, description="label of the registered model")
    method: Literal["lora", "qlora"] = "lora"
    lora: LoraSettings = Field(default_factory=LoraSettings)  # type: ignore[arg-type]
    layout: Literal["chat_template", "template-free"] = "chat_template"
    template: str | None = Field(None, description="prompt template name or .jinja file")
    limit: int | None = Field(None, gt=0, description="use only the first N train rows")
    epochs: float = Field(1.0, gt=0)
    max_steps: int = Field(-1, description="stop after N optimiser steps (-1: run all epochs)")
    learning_rate: float = Field(2e-4, gt=0)
    batch_size: int = Field(4, gt=0)
    grad_accumulation: int = Field(1, gt=0)
    max_seq_length: int = Field(2048, gt=16)
    warmup_ratio: float = Field(0.0, ge=0.0, lt=1.0)
    seed: int = 0
    device: Literal["auto", "cpu", "cuda"] = "auto"
    gradient_checkpointing: bool = False
    eos_token: str | None = Field(None, description="override the tokenizer's EOS token")
    pad_token: str | None = Field(None, description="override the tokenizer's PAD token")
    chat_template: str | None = Field(None, description="override the tokenizer's template")
    strict_checks: bool = False
    post_check_examples: int = Field(3, ge=0)
    logging_steps: int = Field(1, gt=0)

    source: Path | None = Field(None, exclude=True, description="the YAML file, if any")

    @field_validator("max_steps")
    @classmethod
    def _steps(cls, value: int) -> int:
        if value == 0 or value < -1:
            raise ValueError("must be -1 (run all epochs) or a positive number")
        return value

    @property
    def label(self) -> str:
        """The name the model is registered under in the store."""
        return self.name or Path(self.output_dir).name

    def resolved(self, base_dir: Path) -> FinetuneConfig:
        """A copy with relative paths made absolute against ``base_dir``."""
        updates: dict[str, Any] = {"output_dir": str((base_dir / self.output_dir).resolve())}
        for key in ("train", "eval"):
            value = getattr(self, key)
            if value and value not in _NON_PATH_SOURCES and not value.startswith("hub:"):
                updates[key] = str((base_dir / value).resolve())
        updates["base_model"] = resolve_model(self.base_model, base_dir)
        return self.model_copy(update=updates)


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> FinetuneConfig:
    """Read and validate a fine-tuning YAML file; bad keys become a one-line UserError."""
    from fieldwise.config import load_yaml_mapping

    file = Path(path)
    if not file.is_file():
        raise UserError(f"fine-tuning config not found: {file}")
    data = load_yaml_mapping(file)
    data.update(overrides or {})
    return config_from_dict(data, base_dir=file.parent, source=file)


def config_from_dict(
    data: dict[str, Any], *, base_dir: Path | None = None, source: Path | None = None
) -> FinetuneConfig:
    """Validate a config mapping (e.g. from Python); relative paths use ``base_dir``."""
    where = str(source) if source else "fine-tuning config"
    try:
        config = FinetuneConfig.model_validate({**data, "source": source})
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"]) or "config"
        if first["type"] == "extra_forbidden":
            names = [k for k in FinetuneConfig.model_fields if k != "source"]
            hint = (did_you_mean(key, names) if len(first["loc"]) == 1 else None) or (
                f"known keys: {', '.join(names)}"
            )
            raise UserError(f"{where}: unknown key '{key}'", hint=hint) from exc
        if first["type"] == "missing":
            raise UserError(f"{where}: missing required key '{key}'") from exc
        raise UserError(f"{where}: key '{key}': {first['msg']}") from exc
    return config.resolved(base_dir or Path.cwd())
