"""Fine-tune on a hosted service (OpenAI, Together, Fireworks, Tinker) from one YAML config.

This module reads and checks the config and the training file; the provider-neutral
loop (:mod:`fieldwise.finetune._hosted_run`) uploads it, estimates the cost, creates the
job, polls it with a progress bar, and hands back the finished model as a spec that
``fieldwise run`` can evaluate (``openai/ft:gpt-4o-mini:...``, ``together/...``),
labelled and marked ``kind="finetune"``, plus the downloaded adapter as
``hf/BASE:ADAPTER`` where the service allows it.

A job keeps running on the provider when the wait is interrupted, and every step is in a
job record before the next one starts: rerunning the same command resumes it, even
after ``kill -9``, instead of starting a second, paid job.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from rich.console import Console

from fieldwise._text import file_stem
from fieldwise.config import load_yaml_mapping
from fieldwise.errors import UserError


class HostedFinetuneConfig(BaseModel):
    """One hosted fine-tuning job. Give ``training_file`` or ``task`` + ``data``."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    provider: str = "openai"
    base_model: str
    name: str | None = Field(None, description="label in reports; defaults to the suffix")
    training_file: Path | None = None
    task: str = "isaf"
    train: str | None = Field(None, description="data to export: a file, 'sample' or hub:...")
    template: str = "default"
    suffix: str | None = None
    hyperparameters: dict[str, int | float | str | bool] = Field(default_factory=dict)
    seed: int | None = None
    poll_interval_s: float = Field(15.0, gt=0)
    timeout_s: float | None = Field(None, gt=0, description="stop waiting after this long")
    job_id: str | None = Field(None, description="resume waiting for an existing job")
    api_key_env: str | None = None
    base_url: str | None = None
    output_dir: Path | None = Field(None, description="where exports and the record go")
    download_adapter: bool = Field(
        True, description="where the service allows it, fetch the LoRA adapter too"
    )
    adapter_base: str | None = Field(
        None, description="the Hugging Face base of the downloaded adapter (default: its own)"
    )
    max_cost_usd: float | None = Field(
        None, gt=0, description="refuse to start a job estimated above this (or unknown)"
    )
    price_per_mtok: float | None = Field(
        None, gt=0, description="training USD per million tokens, for services without one"
    )
    confirm_s: float = Field(
        600.0, ge=0, description="how long a lost create is looked for before another"
    )

    @model_validator(mode="after")
    def _one_source(self) -> HostedFinetuneConfig:
        if self.job_id is None and self.training_file is None and not self.train:
            raise ValueError("give training_file, or train (with task) to export one")
        if self.training_file is not None and self.train:
            raise ValueError("give either training_file or train, not both")
        return self

    def resolved(self, base_dir: Path) -> HostedFinetuneConfig:
        """A copy with relative paths made absolute against ``base_dir`` (the YAML's folder)."""
        updates: dict[str, Any] = {}
        for key in ("training_file", "output_dir"):
            value = getattr(self, key)
            if value is not None:
                updates[key] = (base_dir / value).resolve()
        if self.train and self.train != "sample" and not self.train.startswith("hub:"):
            updates["train"] = str((base_dir / self.train).resolve())
        return self.model_copy(update=updates)

    @property
    def label(self) -> str | None:
        return self.name or self.suffix


@dataclass(frozen=True)
class HostedResult:
    """A finished hosted fine-tune: run it with ``fieldwise run --model SPEC``."""

    label: str
    spec: str
    job_id: str
    provider: str
    base_model: str
    trained_tokens: int | None = None
    kind: Literal["finetune"] = "finetune"
    options: dict[str, Any] = field(default_factory=dict)
    """What the spec needs to run (``base_url``, ``api_key_env``), registered with it."""
    cost_usd: float | None = None
    cost_source: str = "unknown"
    """``service`` (what the service billed), ``estimate`` or ``unknown``."""
    estimated_usd: float | None = None
    adapter_dir: str | None = None
    """The downloaded LoRA adapter, when the service lets you download it."""
    adapter_specs: dict[str, str] = field(default_factory=dict)
    """The same fine-tune self-served: ``{"hf": "hf/BASE:DIR", "vllm": "vllm/BASE:DIR"}``."""


def is_hosted_config(data: dict[str, Any]) -> bool:
    """Whether a parsed fine-tuning YAML describes a hosted job (it names a provider)."""
    return isinstance(data, dict) and "provider" in data


def load_hosted_config(
    source: str | Path | dict[str, Any], overrides: dict[str, Any] | None = None
) -> HostedFinetuneConfig:
    """Parse and validate a config from a YAML path or a mapping.

    Relative paths in a YAML file are relative to that file, as in the local config.
    """
    base_dir = Path.cwd()
    if isinstance(source, dict):
        data, where = dict(source), "hosted fine-tuning config"
    else:
        path = Path(source)
        data = load_yaml_mapping(path)
        where, base_dir = str(path), path.parent
    if not isinstance(data, dict):
        raise UserError(f"{where}: expected a mapping of keys to values at the top level")
    data.update(overrides or {})
    try:
        config = HostedFinetuneConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"]) or "config"
        if first["type"] == "extra_forbidden":
            known = ", ".join(HostedFinetuneConfig.model_fields)
            raise UserError(f"{where}: unknown key '{key}'", hint=f"known keys: {known}") from exc
        if first["type"] == "missing":
            raise UserError(f"{where}: missing required key '{key}'") from exc
        raise UserError(f"{where}: {key}: {first['msg']}") from exc
    return config.resolved(base_dir)


def check_training_file(path: Path, fmt: str = "openai-chat") -> int:
    """Check a training file locally in the provider's format ``fmt`` (a remote failure
    costs a queue wait); count rows."""
    if not path.is_file():
        raise UserError(f"training file not found: {path}")
    count = 0
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise UserError(f"{path}:{lineno}: not valid JSON: {exc.msg}") from exc
            _check_row(row, fmt, f"{path}:{lineno}")
            count += 1
    if count == 0:
        raise UserError(f"training file is empty: {path}")
    return count


def _check_row(row: Any, fmt: str, where: str) -> None:
    hint = f"export with: fieldwise data export --format {fmt}"
    if fmt == "openai-chat":  # the detailed checks OpenAI's validator would make later
        messages = row.get("messages") if isinstance(row, dict) else None
        if not isinstance(messages, list) or not all(
            isinstance(m, dict) and isinstance(m.get("role"), str) and "content" in m
            for m in messages
        ):
            raise UserError(
                f'{where}: expected {{"messages": [{{"role", "content"}}...]}}', hint=hint
            )
        if not any(m["role"] == "assistant" for m in messages):
            raise UserError(f"{where}: no assistant message to learn from")
        return
    from fieldwise.data.export import get_format

    try:
        record = get_format(fmt).parse(row)
    except (KeyError, TypeError, IndexError, AttributeError) as exc:
        raise UserError(f"{where}: not a {fmt} row (missing {exc})", hint=hint) from None
    if not record.target:
        raise UserError(f"{where}: no target to learn from")


def _export_training_file(config: HostedFinetuneConfig, out_dir: Path, fmt: str) -> Path:
    """Export ``task`` + ``data`` to the provider's training format (``fmt``) with the
    shared prompt template."""
    from fieldwise.data import load_examples
    from fieldwise.tasks import load_task
    from fieldwise.tasks.prompts import load_template

    try:
        from fieldwise.data.export import export_examples
    except ImportError as exc:
        raise UserError(
            "this build cannot export training data on the fly",
            hint="export a chat JSONL first and set training_file",
        ) from exc
    assert config.train
    task = load_task(config.task)
    examples = [e for e in load_examples(task, config.train).examples if e.gold is not None]
    if not examples:
        raise UserError(f"no labelled examples in {config.train}")
    # The label is the user's model name: one file-name component, never a path.
    out_path = out_dir / f"{file_stem(config.label or 'hosted')}-train.{fmt}.jsonl"
    export_examples(task, examples, fmt, out_path, template=load_template(config.template))
    return out_path


def run_hosted_finetune(
    config: HostedFinetuneConfig | dict[str, Any] | str | Path,
    *,
    progress: bool = True,
    console: Console | None = None,
    state_dir: Path | None = None,
) -> HostedResult:
    """Upload, estimate, start (or resume) a hosted job, wait for it, and return the
    finished model; every step is in a job record first (:mod:`fieldwise.finetune.jobs`)
    under ``state_dir`` (default: ``output_dir``, else ``.fieldwise/hosted``)."""
    from fieldwise.finetune._hosted_run import run

    if not isinstance(config, HostedFinetuneConfig):
        config = load_hosted_config(config)
    return run(config, progress=progress, console=console, state_dir=state_dir)


def cancel_hosted_job(
    config: HostedFinetuneConfig | dict[str, Any] | str | Path,
    *,
    console: Console | None = None,
    state_dir: Path | None = None,
) -> str:
    """Cancel the job a config started (found by its record, or ``job_id:``); its id."""
    from fieldwise.finetune._hosted_run import cancel

    if not isinstance(config, HostedFinetuneConfig):
        config = load_hosted_config(config)
    return cancel(config, console=console, state_dir=state_dir)
