"""Fine-tune on a hosted service (OpenAI, ...) from one YAML config, and wait for the model.

The loop is provider-neutral: upload the chat-format JSONL, create the job, poll its
status and events with a live display, and hand back the finished model as a spec that
``fieldwise run`` can evaluate (``openai/ft:gpt-4o-mini:...``), labelled and marked
``kind="finetune"`` so the report groups it with locally fine-tuned models.

A job keeps running on the provider when the wait is interrupted; the error message says
how to resume waiting (``job_id:`` in the config) instead of starting a second, paid job.
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from rich.console import Console
from rich.live import Live
from rich.text import Text

from fieldwise._text import file_stem
from fieldwise.config import load_yaml_mapping
from fieldwise.errors import UserError
from fieldwise.finetune.providers import (
    HostedProvider,
    JobEvent,
    JobStatus,
    ProviderSettings,
    get_provider,
)


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
    hyperparameters: dict[str, int | float | str] = Field(default_factory=dict)
    seed: int | None = None
    poll_interval_s: float = Field(15.0, gt=0)
    timeout_s: float | None = Field(None, gt=0, description="stop waiting after this long")
    job_id: str | None = Field(None, description="resume waiting for an existing job")
    api_key_env: str | None = None
    base_url: str | None = None
    output_dir: Path | None = Field(None, description="where exports and the record go")

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


def check_training_file(path: Path) -> int:
    """Check the chat-format JSONL locally (a remote failure costs a queue wait); count rows."""
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
            messages = row.get("messages") if isinstance(row, dict) else None
            if not isinstance(messages, list) or not all(
                isinstance(m, dict) and isinstance(m.get("role"), str) and "content" in m
                for m in messages
            ):
                raise UserError(
                    f'{path}:{lineno}: expected {{"messages": [{{"role", "content"}}...]}}',
                    hint="export with: fieldwise data export --format openai-chat",
                )
            if not any(m["role"] == "assistant" for m in messages):
                raise UserError(f"{path}:{lineno}: no assistant message to learn from")
            count += 1
    if count == 0:
        raise UserError(f"training file is empty: {path}")
    return count


def _export_training_file(config: HostedFinetuneConfig, out_dir: Path) -> Path:
    """Export ``task`` + ``data`` to the provider's chat JSONL with the shared prompt template."""
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
    out_path = out_dir / f"{file_stem(config.label or 'hosted')}-train.openai-chat.jsonl"
    export_examples(
        task, examples, "openai-chat", out_path, template=load_template(config.template)
    )
    return out_path


class _Display:
    """A live status line (elapsed time ticks between polls) with event lines above it."""

    def __init__(self, console: Console | None, title: str) -> None:
        self.console = console
        self.title = title
        self.live: Live | None = None
        self.started = time.monotonic()
        self.last: JobStatus | None = None

    def __enter__(self) -> _Display:
        if self.console is not None:
            self.live = Live(self, console=self.console, refresh_per_second=4)
            self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.__exit__(None, None, None)

    def __rich__(self) -> Text:
        elapsed = int(time.monotonic() - self.started)
        line = Text.assemble((f"{self.title} ", "bold"))
        status = self.last
        if status is not None:
            tokens = f"{status.trained_tokens:,}" if status.trained_tokens else "-"
            line.append(f"[{status.raw_status}]", style="cyan")
            line.append(f"  job {status.job_id}  trained tokens {tokens}")
        line.append(f"  {elapsed // 60}m{elapsed % 60:02d}s", style="dim")
        return line

    def note(self, message: str) -> None:
        if self.console is not None:
            self.console.print(Text(message))

    def event(self, event: JobEvent) -> None:
        stamp = time.strftime("%H:%M:%S", time.localtime(event.created_at))
        style = "red" if event.level == "error" else "dim" if event.level == "debug" else ""
        if self.console is not None:
            self.console.print(Text(f"{stamp} {event.message}", style=style))

    def status(self, status: JobStatus) -> None:
        self.last = status
        if self.live is not None:
            self.live.refresh()


def _wait(
    provider: HostedProvider, job_id: str, config: HostedFinetuneConfig, display: _Display
) -> JobStatus:
    seen: set[str] = set()
    deadline = time.monotonic() + config.timeout_s if config.timeout_s else None
    resume = f"set job_id: {job_id} in the config to resume waiting"
    try:
        while True:
            status = provider.status(job_id)
            for event in provider.events(job_id):
                if event.id not in seen:
                    seen.add(event.id)
                    display.event(event)
            display.status(status)
            if status.done:
                return status
            if deadline is not None and time.monotonic() >= deadline:
                raise UserError(
                    f"job {job_id} still {status.raw_status} after {config.timeout_s:g}s",
                    hint=resume,
                )
            time.sleep(config.poll_interval_s)
    except KeyboardInterrupt as exc:
        raise UserError(f"stopped waiting; job {job_id} keeps running", hint=resume) from exc


def run_hosted_finetune(
    config: HostedFinetuneConfig | dict[str, Any] | str | Path,
    *,
    progress: bool = True,
    console: Console | None = None,
) -> HostedResult:
    """Upload, start (or resume) a hosted job, wait for it, and return the finished model."""
    if not isinstance(config, HostedFinetuneConfig):
        config = load_hosted_config(config)
    provider_cls = get_provider(config.provider)
    provider_cls.check_hyperparameters(config.hyperparameters)
    settings = ProviderSettings(
        api_key_env=config.api_key_env or provider_cls.default_key_env, base_url=config.base_url
    )
    provider = provider_cls(settings)
    display_console = (console or Console(stderr=True)) if progress else None
    title = f"{config.provider} fine-tune of {config.base_model}"

    with _Display(display_console, title) as display:
        job_id = config.job_id
        if job_id is None:
            work_dir = config.output_dir or Path(tempfile.mkdtemp(prefix="fieldwise-hosted-"))
            work_dir.mkdir(parents=True, exist_ok=True)
            path = config.training_file or _export_training_file(config, work_dir)
            rows = check_training_file(path)
            file_id = provider.upload(path)
            display.note(f"uploaded {path.name} ({rows} examples) as {file_id}")
            job_id = provider.create(
                base_model=config.base_model,
                training_file_id=file_id,
                suffix=config.suffix,
                hyperparameters=config.hyperparameters,
                seed=config.seed,
            )
            display.note(f"created job {job_id}")
        final = _wait(provider, job_id, config, display)

    if final.state != "succeeded":
        reason = final.error or "no reason given"
        raise UserError(f"fine-tuning job {job_id} {final.state}: {reason}")
    spec = provider.result_spec(final)
    result = HostedResult(
        label=config.label or spec.partition("/")[2],
        spec=spec,
        job_id=job_id,
        provider=config.provider,
        base_model=config.base_model,
        trained_tokens=final.trained_tokens,
    )
    if config.output_dir is not None:
        config.output_dir.mkdir(parents=True, exist_ok=True)
        record = config.output_dir / "hosted_model.json"
        record.write_text(json.dumps(asdict(result), indent=2) + "\n", encoding="utf-8")
    return result
