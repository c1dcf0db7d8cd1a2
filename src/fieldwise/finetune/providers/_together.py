"""Together AI fine-tuning through the official ``together`` SDK.

Upload (``files.upload``, with the SDK's own local file check), the service's price
estimate (``fine_tuning.estimate_price``) before the job, LoRA jobs
(``fine_tuning.create``), status and events, cancel, the job list (to adopt a job whose
create answer was lost), the billed price after (``total_price``, in nano-dollars), and
the adapter download (``fine_tuning.content(checkpoint="adapter")``). The finished model
runs on Together's serverless LoRA inference as ``together/<output name>``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar, TypeVar, cast

from fieldwise.errors import UserError
from fieldwise.finetune.providers._base import (
    CostEstimate,
    HostedProvider,
    JobEvent,
    JobState,
    JobStatus,
    ProviderSettings,
    RunnableSpec,
)
from fieldwise.finetune.providers._hosting import runnable_on_host
from fieldwise.finetune.providers._sdk import (
    call_sdk,
    check_hyperparameters,
    extract_adapter,
    lazy_sdk,
)

T = TypeVar("T")

_sdk = lazy_sdk("together")


API_URL = "https://api.together.ai"
INFERENCE_URL = "https://api.together.xyz/v1"
NANODOLLARS = 1e9

_STATES: dict[str, JobState] = {
    "pending": "queued",
    "queued": "queued",
    "running": "running",
    "compressing": "running",
    "uploading": "running",
    "cancel_requested": "running",
    "cancelled": "cancelled",
    "error": "failed",
    "user_error": "failed",
    "completed": "succeeded",
}

_HYPERPARAMETERS: dict[str, type | tuple[type, ...]] = {
    "n_epochs": int,
    "batch_size": (int, str),
    "learning_rate": (int, float),
    "lora_r": int,
    "lora_alpha": (int, float),
    "lora_dropout": (int, float),
    "lora_trainable_modules": str,
    "warmup_ratio": (int, float),
    "max_seq_length": int,
    "n_checkpoints": int,
    "weight_decay": (int, float),
    "max_grad_norm": (int, float),
    "lr_scheduler_type": str,
    "min_lr_ratio": (int, float),
    "gradient_accumulation_steps": int,
    "train_on_inputs": (bool, str),
    "packing": bool,
}


class TogetherProvider(HostedProvider):
    name: ClassVar[str] = "together"
    spec_prefix: ClassVar[str] = "together"
    default_key_env: ClassVar[str] = "TOGETHER_API_KEY"
    key_pattern: ClassVar[str | None] = r"\btgp_v1_[A-Za-z0-9_\-]{16,}"
    inference_path: ClassVar[str] = "/v1"

    @classmethod
    def check_hyperparameters(cls, hyperparameters: dict[str, Any]) -> None:
        check_hyperparameters("Together fine-tuning", _HYPERPARAMETERS, hyperparameters)

    def __init__(self, settings: ProviderSettings) -> None:
        super().__init__(settings)
        self.client = _sdk().Together(
            api_key=settings.api_key(),
            base_url=settings.base_url or API_URL,
            timeout=settings.timeout_s,
            max_retries=3,
        )

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        where = self.settings.base_url or API_URL
        return call_sdk(_sdk(), "Together", self.settings.api_key_env, where, what, fn)

    def upload(self, path: Path) -> str:
        uploaded = self._call(
            f"upload {path.name}",
            lambda: self.client.files.upload(file=path, purpose="fine-tune", check=True),
        )
        return str(uploaded.id)

    def estimate(
        self, *, base_model: str, training_file_id: str, path: Path, hyperparameters: dict[str, Any]
    ) -> CostEstimate:
        found = self._call(
            "estimate the job's price",
            lambda: self.client.fine_tuning.estimate_price(
                training_file=training_file_id,
                model=base_model,
                n_epochs=int(hyperparameters.get("n_epochs", 1)),
                training_type=cast(Any, {"type": "Lora"}),
                training_method=cast(Any, {"method": "sft"}),
            ),
        )
        if getattr(found, "estimation_available", False) is False:
            reason = getattr(found, "unavailable_reason", "not available")
            return CostEstimate(None, f"Together gives no estimate: {reason}")
        tokens = getattr(found, "estimated_train_token_count", None)
        return CostEstimate(
            getattr(found, "estimated_total_price", None),
            "Together's estimate",
            int(tokens) if tokens is not None else None,
        )

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
        params = {"lora": True, **hyperparameters}
        job = self._call(
            f"create a fine-tuning job for {base_model}",
            lambda: self.client.fine_tuning.create(
                training_file=training_file_id,
                model=base_model,
                suffix=suffix,
                random_seed=seed,
                **params,
            ),
        )
        return str(job.id)

    def status(self, job_id: str) -> JobStatus:
        job = self._call(f"read job {job_id}", lambda: self.client.fine_tuning.retrieve(job_id))
        raw = str(job.status)
        state = _STATES.get(raw, "running")
        price = getattr(job, "total_price", None)
        error = None
        if state == "failed":
            error = _last_error(job.events or []) or raw
        return JobStatus(
            job_id=job.id,
            state=state,
            raw_status=raw,
            trained_tokens=job.token_count,
            fine_tuned_model=job.x_model_output_name,
            error=error,
            progress=1.0 if state == "succeeded" else _progress(job.events or []),
            cost_usd=price / NANODOLLARS if price else None,
        )

    def events(self, job_id: str) -> list[JobEvent]:
        page = self._call(
            f"read events of job {job_id}", lambda: self.client.fine_tuning.list_events(job_id)
        )
        out = []
        for e in page.data:  # the service's own order (oldest first)
            ident = hashlib.sha1(f"{e.created_at}|{e.type}|{e.message}".encode()).hexdigest()
            level = "error" if (e.level or "").endswith("error") else "info"
            out.append(JobEvent(ident, _epoch(e.created_at), level, e.message))
        return out

    def cancel(self, job_id: str) -> None:
        self._call(f"cancel job {job_id}", lambda: self.client.fine_tuning.cancel(job_id))

    def find_job(self, training_file_id: str, since: float) -> str | None:
        page = self._call("list fine-tuning jobs", lambda: self.client.fine_tuning.list())
        for job in page.data:
            created = job.created_at.timestamp() if job.created_at else since
            if getattr(job, "training_file", None) == training_file_id and created >= since:
                return str(job.id)
        return None

    def result_spec(self, status: JobStatus) -> RunnableSpec:
        if not status.fine_tuned_model:
            raise UserError(f"job {status.job_id} finished without a model name")
        return runnable_on_host(
            "together", status.fine_tuned_model, self.settings,
            inference_url=INFERENCE_URL, key_env=self.default_key_env,
            inference_path=self.inference_path,
        )  # fmt: skip

    def download_adapter(self, status: JobStatus, dest: Path) -> Path | None:
        response = self._call(
            f"download the adapter of job {status.job_id}",
            lambda: self.client.fine_tuning.content(ft_id=status.job_id, checkpoint="adapter"),
        )
        return extract_adapter(response.read(), dest)


def _progress(events: list[Any]) -> float | None:
    """The done fraction from the latest event that counts steps."""
    for e in reversed(events):
        step, total = getattr(e, "step", None), getattr(e, "total_steps", None)
        if isinstance(step, int) and isinstance(total, int) and total > 0:
            return min(1.0, step / total)
    return None


def _last_error(events: list[Any]) -> str | None:
    for e in reversed(events):
        if (getattr(e, "level", "") or "").endswith("error") or getattr(
            e, "type", ""
        ) == "job_error":
            return str(e.message)
    return None


def _epoch(value: Any) -> int:
    if isinstance(value, datetime):
        return int(value.timestamp())
    try:
        return int(datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp())
    except ValueError:
        return 0
