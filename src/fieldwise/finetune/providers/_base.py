"""The contract between the hosted fine-tuning loop and one hosting service.

The loop in :mod:`fieldwise.finetune.hosted` only ever uploads a file, creates a job,
asks for its status and its new events, and turns a finished job into a model spec; a
provider maps those five calls onto its own API and normalises job states to
:data:`JobState`, so the progress display and error handling are written once.
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

    @property
    def done(self) -> bool:
        return self.state in TERMINAL_STATES


@dataclass(frozen=True)
class JobEvent:
    id: str
    created_at: int
    level: str
    message: str


class HostedProvider(ABC):
    """One hosting service's fine-tuning API.

    ``spec_prefix`` is the model provider (see :mod:`fieldwise.models`) that can run the
    resulting model, so a finished job becomes ``<spec_prefix>/<fine_tuned_model>``.
    """

    name: ClassVar[str]
    spec_prefix: ClassVar[str]
    default_key_env: ClassVar[str]
    key_pattern: ClassVar[str | None] = None
    """A regex for the service's API key format, redacted from every printout (as
    :attr:`fieldwise.models.Model.key_pattern`)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("key_pattern"):
            from fieldwise.models._errors import register_key_pattern

            register_key_pattern(cls.key_pattern)

    def __init__(self, settings: ProviderSettings) -> None:
        self.settings = settings

    @classmethod  # noqa: B027 - optional hook
    def check_hyperparameters(cls, hyperparameters: dict[str, Any]) -> None:
        """Reject unknown or malformed hyperparameters before anything is uploaded."""

    @abstractmethod
    def upload(self, path: Path) -> str:
        """Upload a training file; return the provider's file id."""

    @abstractmethod
    def create(
        self,
        *,
        base_model: str,
        training_file_id: str,
        suffix: str | None,
        hyperparameters: dict[str, Any],
        seed: int | None,
    ) -> str:
        """Start a fine-tuning job; return its id."""

    @abstractmethod
    def status(self, job_id: str) -> JobStatus:
        """The job's current state."""

    @abstractmethod
    def events(self, job_id: str) -> list[JobEvent]:
        """Recent events, oldest first (the loop de-duplicates by id)."""

    def cancel(self, job_id: str) -> None:  # noqa: B027 - optional
        """Cancel a running job (optional; used only when the user asks for it)."""

    def result_spec(self, status: JobStatus) -> str:
        """The model spec that runs the finished job's model."""
        if not status.fine_tuned_model:
            raise UserError(f"job {status.job_id} finished without a model name")
        return f"{self.spec_prefix}/{status.fine_tuned_model}"
