"""The contract between the hosted fine-tuning loop and one hosting service.

The loop in :mod:`fieldwise.finetune.hosted` only ever uploads a file, estimates its
cost, creates a job, asks for its status and its new events, cancels it, and turns a
finished job into a runnable model (and, where the service allows, a downloaded adapter);
a provider maps those calls onto its own API and normalises job states to
:data:`JobState`, so the progress display, the job record that survives ``kill -9`` and
the error handling are written once.

A provider may keep a little state of its own in the job record (``self.state``, a JSON
mapping saved after every poll): Tinker, whose training loop runs from this process,
keeps its last checkpoint there, so a killed run resumes from it.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from fieldwise.errors import UserError

JobState = Literal["validating", "queued", "running", "succeeded", "failed", "cancelled"]
TERMINAL_STATES: frozenset[str] = frozenset({"succeeded", "failed", "cancelled"})


@dataclass(frozen=True)
class ProviderSettings:
    """What a provider needs to reach its service; the key is read from the environment."""

    api_key_env: str
    base_url: str | None = None
    timeout_s: float = 60.0

    def api_key(self) -> str:
        key = os.environ.get(self.api_key_env, "")
        if not key:
            raise UserError(
                f"no API key: the environment variable {self.api_key_env} is not set",
                hint=f"export {self.api_key_env}=... (keys are never read from config files)",
            )
        return key


@dataclass(frozen=True)
class JobStatus:
    """A provider's job, normalised."""

    job_id: str
    state: JobState
    raw_status: str
    trained_tokens: int | None = None
    fine_tuned_model: str | None = None
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    progress: float | None = None
    """Done fraction in [0, 1] when the service says (steps, percent); drives the bar."""
    cost_usd: float | None = None
    """What the service says the job cost (or has cost so far), when it says."""

    @property
    def done(self) -> bool:
        return self.state in TERMINAL_STATES


@dataclass(frozen=True)
class CostEstimate:
    """A cost before the job starts: the service's own estimate, or tokens x a price."""

    usd: float | None
    """``None``: unknown (never shown as 0)."""
    source: str
    """Where it came from: ``together estimate-price``, ``price table``, ..."""
    tokens: int | None = None

    def text(self) -> str:
        if self.usd is None:
            return f"cost unknown ({self.source})"
        amount = f"${self.usd:,.2f}" if self.usd >= 1 else f"${self.usd:.4g}"
        return f"estimated cost {amount} ({self.source})"


@dataclass(frozen=True)
class JobEvent:
    id: str
    created_at: int
    level: str
    message: str


@dataclass(frozen=True)
class RunnableSpec:
    """A finished job's model as ``fieldwise run`` can call it: the spec, and the options
    that reach it (a base URL other than the provider's default, the key variable), which
    registration stores beside the spec and ``run`` reloads."""

    spec: str
    options: dict[str, Any] = field(default_factory=dict)


class HostedProvider(ABC):
    """One hosting service's fine-tuning API.

    ``spec_prefix`` is the model provider or named host (see :mod:`fieldwise.models`) that
    can run the resulting model, so a finished job becomes
    ``<spec_prefix>/<fine_tuned_model>``; ``training_format`` is the export format
    (:data:`fieldwise.registry.export_formats`) of the training file the service takes.
    """

    name: ClassVar[str]
    spec_prefix: ClassVar[str]
    default_key_env: ClassVar[str]
    training_format: ClassVar[str] = "openai-chat"
    key_pattern: ClassVar[str | None] = None
    """A regex for the service's API key format, redacted from every printout (as
    :attr:`fieldwise.models.Model.key_pattern`)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("key_pattern"):
            from fieldwise.models._errors import register_key_pattern

            register_key_pattern(cls.key_pattern)

    remote_upload: ClassVar[bool] = True
    """Whether :meth:`upload` puts the file on the service (so a new job after a failed one
    reuses it); ``False`` (Tinker) means it only registers the file in ``self.state``."""
    free_create: ClassVar[bool] = False
    """Whether a create costs nothing by itself (Tinker: an empty LoRA run is free; tokens
    are billed): a create whose answer was lost is then simply sent again."""
    client_job_ids: ClassVar[bool] = False
    """Whether ``create`` takes the job id from the caller (Fireworks): the id is then
    recorded before the create is sent, and a resumed run simply asks for it."""
    inference_path: ClassVar[str] = "/v1"
    cost_label: ClassVar[str] = "billed"
    """What :attr:`JobStatus.cost_usd` is, in the service's own words, for the printout."""
    """Where the service's OpenAI-compatible inference API is, relative to ``base_url``
    (used when ``base_url`` moves the service, e.g. to a proxy or a test server)."""

    def __init__(self, settings: ProviderSettings) -> None:
        self.settings = settings
        self.state: dict[str, Any] = {}
        """Provider-owned part of the job record, saved after every poll."""

    @classmethod  # noqa: B027 - optional hook
    def check_hyperparameters(cls, hyperparameters: dict[str, Any]) -> None:
        """Reject unknown or malformed hyperparameters before anything is uploaded."""

    @abstractmethod
    def upload(self, path: Path) -> str:
        """Upload a training file; return the provider's file id."""

    def estimate(  # noqa: B027 - optional
        self, *, base_model: str, training_file_id: str, path: Path, hyperparameters: dict[str, Any]
    ) -> CostEstimate:
        """The job's cost before it starts (default: unknown)."""
        return CostEstimate(None, f"{self.name} gives no estimate")

    @abstractmethod
    def create(
        self,
        *,
        base_model: str,
        training_file_id: str,
        suffix: str | None,
        hyperparameters: dict[str, Any],
        seed: int | None,
        job_key: str = "",
    ) -> str:
        """Start a fine-tuning job; return its id. ``job_key`` is a stable name for this
        job (the same config, data and service give the same key): a provider whose
        service takes caller-chosen ids (:attr:`client_job_ids`) creates the job under
        it, so a create sent twice makes one job."""

    def planned_job_id(self, job_key: str) -> str | None:
        """The id :meth:`create` will give the job (services with caller-chosen ids)."""
        return None

    def find_job(self, training_file_id: str, since: float) -> str | None:
        """A job created from ``training_file_id`` at or after ``since`` (epoch seconds),
        for a create whose answer was lost (a timeout, a ``kill -9``): found, it is
        adopted instead of paying for a second one. ``None``: none found, or the service
        cannot be searched (then the loop refuses to create blindly)."""
        raise NotImplementedError

    @abstractmethod
    def status(self, job_id: str) -> JobStatus:
        """The job's current state."""

    @abstractmethod
    def events(self, job_id: str) -> list[JobEvent]:
        """Recent events, oldest first (the loop de-duplicates by id)."""

    def cancel(self, job_id: str) -> None:  # noqa: B027 - optional
        """Cancel a running job (optional; used only when the user asks for it)."""

    def poll_interval(self, configured: float) -> float:
        """Seconds to wait between polls (a provider whose poll does the work says 0)."""
        return configured

    def close(self) -> None:  # noqa: B027 - optional
        """Release sessions or clients."""

    def result_spec(self, status: JobStatus) -> RunnableSpec:
        """The spec that runs the finished job's model, with the options it needs where
        this job reached the service somewhere other than its defaults (the same base URL
        serves the model; the same key variable pays for it)."""
        if not status.fine_tuned_model:
            raise UserError(f"job {status.job_id} finished without a model name")
        options: dict[str, Any] = {}
        if self.settings.base_url:
            options["base_url"] = self.settings.base_url
        if self.settings.api_key_env != self.default_key_env:
            options["api_key_env"] = self.settings.api_key_env
        return RunnableSpec(f"{self.spec_prefix}/{status.fine_tuned_model}", options)

    def download_adapter(self, status: JobStatus, dest: Path) -> Path | None:
        """Download the finished job's LoRA adapter (PEFT files) into ``dest`` and return
        the folder, or ``None`` when the service does not let you."""
        return None
