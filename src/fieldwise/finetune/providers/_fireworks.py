"""Fireworks AI supervised fine-tuning through the official ``fireworks-ai`` SDK.

The training file becomes a dataset (``datasets.create`` + ``datasets.upload``, waited on
until ``READY``) named after its content, so uploading it twice is one dataset. Jobs are
created under an id fieldwise chooses (``supervisedFineTuningJobId``, derived from the
job key): the id is recorded before the create is sent, and a create repeated after a
``kill -9`` finds the job already there instead of making a second one. Progress comes
from ``jobProgress.percent``; the cost from the job's ``estimatedCost`` (Fireworks' own
figure), and before the job from the dataset's token count x ``price_per_mtok`` when one
is configured. The model is ``accounts/ACCOUNT/models/JOB`` on Fireworks inference; its
files come from ``models.get_download_endpoint``.

The account is ``FIREWORKS_ACCOUNT_ID`` or ``hyperparameters.account_id``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import httpx

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
from fieldwise.finetune.providers._sdk import call_sdk, check_hyperparameters, lazy_sdk, status_code

T = TypeVar("T")

_sdk = lazy_sdk("fireworks")


API_URL = "https://api.fireworks.ai"
INFERENCE_URL = "https://api.fireworks.ai/inference/v1"

_STATES: dict[str, JobState] = {
    "JOB_STATE_VALIDATING": "validating",
    "JOB_STATE_CREATING": "queued",
    "JOB_STATE_CREATING_INPUT_DATASET": "queued",
    "JOB_STATE_PENDING": "queued",
    "JOB_STATE_RE_QUEUEING": "queued",
    "JOB_STATE_IDLE": "queued",
    "JOB_STATE_PAUSED": "queued",
    "JOB_STATE_RUNNING": "running",
    "JOB_STATE_WRITING_RESULTS": "running",
    "JOB_STATE_CANCELLING": "running",
    "JOB_STATE_COMPLETED": "succeeded",
    "JOB_STATE_EARLY_STOPPED": "succeeded",
    "JOB_STATE_FAILED": "failed",
    "JOB_STATE_EXPIRED": "failed",
    "JOB_STATE_CANCELLED": "cancelled",
}

_HYPERPARAMETERS: dict[str, type | tuple[type, ...]] = {
    "account_id": str,
    "epochs": int,
    "learning_rate": (int, float),
    "lora_rank": int,
    "batch_size": int,
    "batch_size_samples": int,
    "max_context_length": int,
    "learning_rate_warmup_steps": int,
    "gradient_accumulation_steps": int,
    "early_stop": bool,
    "optimizer_weight_decay": (int, float),
    "display_name": str,
}
DATASET_WAIT_S = 300.0


class FireworksProvider(HostedProvider):
    name: ClassVar[str] = "fireworks"
    spec_prefix: ClassVar[str] = "fireworks"
    default_key_env: ClassVar[str] = "FIREWORKS_API_KEY"
    key_pattern: ClassVar[str | None] = r"\bfw_[A-Za-z0-9]{16,}"
    client_job_ids: ClassVar[bool] = True
    inference_path: ClassVar[str] = "/inference/v1"
    cost_label: ClassVar[str] = "Fireworks' estimatedCost of the finished job"

    @classmethod
    def check_hyperparameters(cls, hyperparameters: dict[str, Any]) -> None:
        check_hyperparameters("Fireworks fine-tuning", _HYPERPARAMETERS, hyperparameters)

    def __init__(self, settings: ProviderSettings) -> None:
        super().__init__(settings)
        self.account: str | None = None
        self.client = _sdk().Fireworks(
            api_key=settings.api_key(),
            base_url=settings.base_url or None,
            timeout=settings.timeout_s,
            max_retries=3,
        )

    def _account(self, hyperparameters: dict[str, Any] | None = None) -> str:
        account = (hyperparameters or {}).get("account_id") or self.state.get("account")
        account = account or os.environ.get("FIREWORKS_ACCOUNT_ID")
        if not account:
            raise UserError(
                "Fireworks needs the account the job runs under",
                hint="export FIREWORKS_ACCOUNT_ID=... or set hyperparameters.account_id",
            )
        self.state["account"] = account
        return str(account)

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        where = self.settings.base_url or API_URL
        return call_sdk(_sdk(), "Fireworks", self.settings.api_key_env, where, what, fn)

    # -- data -------------------------------------------------------------------------
    def upload(self, path: Path) -> str:
        from fieldwise.finetune.jobs import file_digest

        account = self._account()
        dataset_id = f"fieldwise-{file_digest(path)[:20]}"
        rows = sum(1 for line in path.open(encoding="utf-8") if line.strip())
        try:
            self._call(
                f"create dataset {dataset_id}",
                lambda: self.client.datasets.create(
                    account_id=account,
                    dataset_id=dataset_id,
                    dataset={"example_count": str(rows), "user_uploaded": {}, "format": "CHAT"},
                ),
            )
        except UserError as exc:
            if status_code(exc) != 409:  # 409: this content was uploaded before
                raise
        dataset = self._call(
            f"read dataset {dataset_id}",
            lambda: self.client.datasets.get(dataset_id, account_id=account),
        )
        if dataset.state != "READY":
            with path.open("rb") as fh:
                self._call(
                    f"upload {path.name}",
                    lambda: self.client.datasets.upload(
                        dataset_id, account_id=account, file=(path.name, fh)
                    ),
                )
            self._wait_ready(account, dataset_id)
        return f"accounts/{account}/datasets/{dataset_id}"

    def _wait_ready(self, account: str, dataset_id: str) -> None:
        deadline = time.monotonic() + DATASET_WAIT_S
        while True:
            dataset = self._call(
                f"read dataset {dataset_id}",
                lambda: self.client.datasets.get(dataset_id, account_id=account),
            )
            if dataset.state == "READY":
                return
            if time.monotonic() > deadline:
                raise UserError(f"dataset {dataset_id} not READY after {DATASET_WAIT_S:g}s")
            time.sleep(1.0)

    def estimate(
        self, *, base_model: str, training_file_id: str, path: Path, hyperparameters: dict[str, Any]
    ) -> CostEstimate:
        dataset_id = training_file_id.rsplit("/", 1)[-1]
        dataset = self._call(
            f"read dataset {dataset_id}",
            lambda: self.client.datasets.get(dataset_id, account_id=self._account(hyperparameters)),
        )
        tokens = int(dataset.estimated_token_count or 0) * int(hyperparameters.get("epochs", 1))
        return CostEstimate(
            None,
            "Fireworks prices a job once it exists; set price_per_mtok to estimate before",
            tokens or None,
        )

    # -- jobs -------------------------------------------------------------------------
    def planned_job_id(self, job_key: str) -> str | None:
        return f"fieldwise-{job_key}"

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
        account = self._account(hyperparameters)
        job_id = self.planned_job_id(job_key) or f"fieldwise-{int(time.time())}"
        params = {k: v for k, v in hyperparameters.items() if k != "account_id"}
        if suffix and "display_name" not in params:
            params["display_name"] = suffix
        try:
            self._call(
                f"create a fine-tuning job for {base_model}",
                lambda: self.client.supervised_fine_tuning_jobs.create(
                    account_id=account,
                    supervised_fine_tuning_job_id=job_id,
                    dataset=training_file_id,
                    base_model=base_model,
                    **params,
                ),
            )
        except UserError as exc:
            if status_code(exc) != 409:  # 409: the same create arrived before (a resume)
                raise
        return job_id

    def status(self, job_id: str) -> JobStatus:
        job = self._call(
            f"read job {job_id}",
            lambda: self.client.supervised_fine_tuning_jobs.get(job_id, account_id=self._account()),
        )
        raw = job.state or "JOB_STATE_UNSPECIFIED"
        state = _STATES.get(raw, "running")
        percent = job.job_progress.percent if job.job_progress else None
        cost = _money(job.estimated_cost)
        error = None
        if state == "failed":
            error = (job.status.message if job.status else None) or raw
        model = job.output_model or job_id
        if "/" not in model:
            model = f"accounts/{self._account()}/models/{model}"
        return JobStatus(
            job_id=job_id,
            state=state,
            raw_status=raw,
            fine_tuned_model=model if state == "succeeded" else None,
            error=error,
            progress=1.0
            if state == "succeeded"
            else (percent / 100 if percent is not None else None),
            cost_usd=cost if state in ("succeeded", "failed", "cancelled") else None,
        )

    def events(self, job_id: str) -> list[JobEvent]:
        return []  # Fireworks keeps no event list for these jobs; the state line shows all

    def cancel(self, job_id: str) -> None:
        self._call(
            f"cancel job {job_id}",
            lambda: self.client.supervised_fine_tuning_jobs.cancel(
                job_id, account_id=self._account(), body={}
            ),
        )

    def result_spec(self, status: JobStatus) -> RunnableSpec:
        if not status.fine_tuned_model:
            raise UserError(f"job {status.job_id} finished without a model name")
        return runnable_on_host(
            "fireworks", status.fine_tuned_model, self.settings,
            inference_url=INFERENCE_URL, key_env=self.default_key_env,
            inference_path=self.inference_path,
        )  # fmt: skip

    def download_adapter(self, status: JobStatus, dest: Path) -> Path | None:
        assert status.fine_tuned_model is not None
        model_id = status.fine_tuned_model.rsplit("/", 1)[-1]
        found = self._call(
            f"ask where to download model {model_id}",
            lambda: self.client.models.get_download_endpoint(model_id, account_id=self._account()),
        )
        urls = found.filename_to_signed_urls or {}
        if not urls:
            return None
        dest.mkdir(parents=True, exist_ok=True)
        with httpx.Client(timeout=self.settings.timeout_s, follow_redirects=True) as http:
            for name, url in urls.items():
                target = (dest / name).resolve()
                if not target.is_relative_to(dest.resolve()):
                    raise UserError(f"Fireworks named an unsafe file path: {name!r}")
                target.parent.mkdir(parents=True, exist_ok=True)
                with http.stream("GET", url) as response:
                    if response.status_code != 200:
                        raise UserError(f"downloading {name} failed: HTTP {response.status_code}")
                    with target.open("wb") as out:
                        for chunk in response.iter_bytes():
                            out.write(chunk)
        return dest


def _money(cost: Any) -> float | None:
    """A google.type.Money (units + nanos) in dollars."""
    if cost is None or (cost.units is None and cost.nanos is None):
        return None
    return float(cost.units or 0) + (cost.nanos or 0) / 1e9
