"""OpenAI fine-tuning jobs through the official SDK (also any compatible service).

``base_url`` (or ``OPENAI_BASE_URL``, which the SDK reads itself) points the same code at
Azure-style proxies, gateways, or the fake server the tests run.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import openai

from fieldwise.errors import UserError
from fieldwise.finetune.providers._base import (
    HostedProvider,
    JobEvent,
    JobState,
    JobStatus,
    ProviderSettings,
)

T = TypeVar("T")

_STATES: dict[str, JobState] = {
    "validating_files": "validating",
    "queued": "queued",
    "running": "running",
    "succeeded": "succeeded",
    "failed": "failed",
    "cancelled": "cancelled",
}


class OpenAIProvider(HostedProvider):
    name: ClassVar[str] = "openai"
    spec_prefix: ClassVar[str] = "openai"
    default_key_env: ClassVar[str] = "OPENAI_API_KEY"
    key_pattern: ClassVar[str | None] = r"\b(?:sk|pk|rk)-[A-Za-z0-9_\-]{16,}"

    hyperparameter_names: ClassVar[frozenset[str]] = frozenset(
        {"n_epochs", "batch_size", "learning_rate_multiplier"}
    )

    @classmethod
    def check_hyperparameters(cls, hyperparameters: dict[str, Any]) -> None:
        unknown = sorted(set(hyperparameters) - cls.hyperparameter_names)
        if unknown:
            raise UserError(
                f"unknown OpenAI fine-tuning hyperparameter(s): {', '.join(unknown)}",
                hint=f"use {', '.join(sorted(cls.hyperparameter_names))}",
            )
        for key, value in hyperparameters.items():
            if value == "auto":
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise UserError(f"hyperparameter {key} must be a positive number or 'auto'")
            if key != "learning_rate_multiplier" and not isinstance(value, int):
                raise UserError(f"hyperparameter {key} must be a whole number or 'auto'")

    def __init__(self, settings: ProviderSettings) -> None:
        super().__init__(settings)
        self.client = openai.OpenAI(
            api_key=settings.api_key(),
            base_url=settings.base_url,
            timeout=settings.timeout_s,
            max_retries=3,
        )

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        """Run one API call, turning SDK exceptions into one-line UserErrors."""
        try:
            return fn()
        except openai.AuthenticationError as exc:
            raise UserError(
                f"OpenAI rejected the API key while trying to {what}",
                hint=f"check {self.settings.api_key_env}",
            ) from exc
        except openai.APIConnectionError as exc:
            where = self.settings.base_url or str(self.client.base_url)
            raise UserError(f"cannot reach {where} to {what}: {exc}") from exc
        except openai.APIStatusError as exc:
            raise UserError(f"cannot {what}: HTTP {exc.status_code}: {_message(exc)}") from exc

    def upload(self, path: Path) -> str:
        with path.open("rb") as fh:
            uploaded = self._call(
                f"upload {path.name}",
                lambda: self.client.files.create(file=(path.name, fh), purpose="fine-tune"),
            )
        return uploaded.id

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
        kwargs: dict[str, Any] = {"model": base_model, "training_file": training_file_id}
        if suffix:
            kwargs["suffix"] = suffix
        if seed is not None:
            kwargs["seed"] = seed
        # ``method`` replaces the deprecated top-level ``hyperparameters`` argument.
        kwargs["method"] = {
            "type": "supervised",
            "supervised": {"hyperparameters": dict(hyperparameters)},
        }
        job = self._call(
            f"create a fine-tuning job for {base_model}",
            lambda: self.client.fine_tuning.jobs.create(**kwargs),
        )
        return job.id

    def status(self, job_id: str) -> JobStatus:
        job = self._call(
            f"read job {job_id}", lambda: self.client.fine_tuning.jobs.retrieve(job_id)
        )
        error = None
        if job.error is not None and (job.error.message or job.error.code):
            error = job.error.message or job.error.code
        return JobStatus(
            job_id=job.id,
            state=_STATES.get(job.status, "running"),
            raw_status=job.status,
            trained_tokens=job.trained_tokens,
            fine_tuned_model=job.fine_tuned_model,
            error=error,
        )

    def events(self, job_id: str) -> list[JobEvent]:
        page = self._call(
            f"read events of job {job_id}",
            lambda: self.client.fine_tuning.jobs.list_events(job_id, limit=50),
        )
        events = [
            JobEvent(id=e.id, created_at=e.created_at, level=e.level, message=e.message)
            for e in page.data
        ]
        return sorted(events, key=lambda e: (e.created_at, e.id))

    def find_job(self, training_file_id: str, since: float) -> str | None:
        page = self._call(
            "list fine-tuning jobs", lambda: self.client.fine_tuning.jobs.list(limit=100)
        )
        for job in page.data:
            if job.training_file == training_file_id and job.created_at >= since:
                return str(job.id)
        return None

    def cancel(self, job_id: str) -> None:
        self._call(f"cancel job {job_id}", lambda: self.client.fine_tuning.jobs.cancel(job_id))


def _message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])
    return str(exc.message)
