"""Tinker (Thinking Machines) LoRA fine-tuning through the official ``tinker`` SDK.

Tinker runs the GPU work; the training loop runs here, through its training client:
``create_lora_training_client`` is the "create" (the job id is the training run's model
id), and each poll is a chunk of steps (``forward_backward`` with ``cross_entropy`` on
the completion tokens, then ``optim_step``), ended by ``save_state`` so the chunk is a
checkpoint. The job record keeps the last checkpoint (``self.state``): a killed run
resumes from it (``create_training_client_from_state_with_optimizer``), repeating at most
the steps after it (``checkpoint_every``). A run killed before its first checkpoint has
trained nothing, so it starts a fresh LoRA; nothing is paid twice there.

Examples are tokenised exactly as the local LoRA trainer does
(:mod:`fieldwise.finetune.encode`, chat template, loss on the completion only) with the
base model's tokenizer (``hyperparameters.tokenizer``: a local folder or Hub id; default
the one Tinker names). Tinker bills per token: the estimate is the tokens to train x
``price_per_mtok``, the cost after is the tokens actually sent (resumed steps included).
The final weights are saved for sampling and run on Tinker's OpenAI-compatible API
(``.../oai/api/v1``, model = the ``tinker://`` path); they are also exported
(``save_weights_external``) and downloaded as a PEFT adapter.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import httpx
import numpy as np

from fieldwise.errors import UserError
from fieldwise.finetune.providers._base import (
    CostEstimate,
    HostedProvider,
    JobEvent,
    JobStatus,
    ProviderSettings,
    RunnableSpec,
)
from fieldwise.finetune.providers._hosting import runnable_on_host
from fieldwise.finetune.providers._sdk import call_sdk, check_hyperparameters, lazy_sdk

T = TypeVar("T")

_sdk = lazy_sdk("tinker")


API_URL = "https://tinker.thinkingmachines.dev/services/tinker-prod"
INFERENCE_PATH = "/oai/api/v1"

_HYPERPARAMETERS: dict[str, type | tuple[type, ...]] = {
    "n_epochs": int,
    "batch_size": int,
    "learning_rate": (int, float),
    "lora_rank": int,
    "checkpoint_every": int,
    "tokenizer": str,
    "max_seq_length": int,
}


class TinkerProvider(HostedProvider):
    name: ClassVar[str] = "tinker"
    spec_prefix: ClassVar[str] = "tinker"
    default_key_env: ClassVar[str] = "TINKER_API_KEY"
    key_pattern: ClassVar[str | None] = r"\btml-[A-Za-z0-9_\-]{16,}"
    inference_path: ClassVar[str] = INFERENCE_PATH
    cost_label: ClassVar[str] = "tokens sent x price_per_mtok"
    remote_upload: ClassVar[bool] = False
    free_create: ClassVar[bool] = True

    @classmethod
    def check_hyperparameters(cls, hyperparameters: dict[str, Any]) -> None:
        check_hyperparameters("Tinker", _HYPERPARAMETERS, hyperparameters, positive=True)

    def __init__(self, settings: ProviderSettings) -> None:
        super().__init__(settings)
        self.key = settings.api_key()
        self._service: Any = None
        self._finish = "interrupted"  # the session's end reason, unless the job ended
        self._trainer: Any = None
        self._data: list[Any] | None = None
        self._events: list[JobEvent] = []

    # -- plumbing ---------------------------------------------------------------------
    def _call(self, what: str, fn: Callable[[], T]) -> T:
        where = self.settings.base_url or API_URL
        try:
            return call_sdk(_sdk(), "Tinker", self.settings.api_key_env, where, what, fn)
        except _sdk().TinkerError as exc:  # request failures, expired futures
            raise UserError(f"Tinker could not {what}: {exc}") from exc

    def service(self) -> Any:
        if self._service is None:
            self._service = self._call(
                "open a session",
                lambda: _sdk().ServiceClient(
                    base_url=self.settings.base_url or API_URL, api_key=self.key
                ),
            )
        return self._service

    def close(self) -> None:
        if self._service is not None:
            # the session ends (its heartbeats stop); the training run stays resumable
            with contextlib.suppress(Exception):  # closing must not hide the result
                self._service.close(self._finish).result(timeout=30)
            self._service = None

    def _note(self, message: str) -> None:
        ident = hashlib.sha1(f"{time.time_ns()}{message}".encode()).hexdigest()
        self._events.append(JobEvent(ident, int(time.time()), "info", message))

    # -- data -------------------------------------------------------------------------
    def upload(self, path: Path) -> str:
        """Nothing leaves this machine: Tinker trains on token ids sent step by step.
        The file is remembered (and its digest, checked again on resume)."""
        from fieldwise.finetune.jobs import file_digest

        digest = file_digest(path)
        self.state.update(file=str(path.resolve()), digest=digest)
        return f"local:{digest[:16]}"

    def _datums(self, hyperparameters: dict[str, Any], base_model: str) -> list[Any]:
        if self._data is not None:
            return self._data
        from fieldwise.finetune.encode import completion_ids, prompt_ids
        from fieldwise.finetune.jobs import file_digest

        path = Path(self.state["file"])
        if not path.is_file() or file_digest(path) != self.state.get("digest"):
            raise UserError(
                f"the training file {path} changed or went away since the job started",
                hint="restore it, or move the job record away to start a new job",
            )
        tokenizer = _tokenizer(hyperparameters.get("tokenizer") or base_model)
        limit = int(hyperparameters.get("max_seq_length", 4096))
        data = []
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            messages = json.loads(line)["messages"]
            prompt, target = messages[:-1], str(messages[-1]["content"])
            p = prompt_ids(tokenizer, prompt, "chat_template")
            c = completion_ids(tokenizer, prompt, target, "chat_template")
            tokens = (p + c)[:limit]
            weights = ([0.0] * len(p) + [1.0] * len(c))[:limit]
            data.append(
                _sdk().types.Datum(
                    model_input=_sdk().types.ModelInput.from_ints(tokens[:-1]),
                    loss_fn_inputs={
                        "target_tokens": _sdk().types.TensorData.from_numpy(np.array(tokens[1:])),
                        "weights": _sdk().types.TensorData.from_numpy(
                            np.array(weights[1:], dtype=np.float32)
                        ),
                    },
                )
            )
        self._data = data
        return data

    def estimate(
        self, *, base_model: str, training_file_id: str, path: Path, hyperparameters: dict[str, Any]
    ) -> CostEstimate:
        data = self._datums(hyperparameters, base_model)
        tokens = sum(d.model_input.length for d in data) * int(hyperparameters.get("n_epochs", 1))
        return CostEstimate(None, "Tinker bills per token; set price_per_mtok", tokens)

    # -- the job ----------------------------------------------------------------------
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
        data = self._datums(hyperparameters, base_model)
        batch = int(hyperparameters.get("batch_size", 8))
        epochs = int(hyperparameters.get("n_epochs", 1))
        per_epoch = -(-len(data) // batch)
        self.state.update(
            base_model=base_model, seed=seed, step=0, total_steps=per_epoch * epochs,
            tokens_sent=0, checkpoint=None, sampler_path=None, cancelled=False,
            hyperparameters=dict(hyperparameters), suffix=suffix or "fieldwise",
        )  # fmt: skip
        self._trainer = self._new_trainer()
        return str(self._trainer.model_id)

    def _new_trainer(self) -> Any:
        hp = self.state["hyperparameters"]
        return self._call(
            f"create a LoRA training run of {self.state['base_model']}",
            lambda: (
                self.service()
                .create_lora_training_client(
                    base_model=self.state["base_model"],
                    rank=int(hp.get("lora_rank", 32)),
                    seed=self.state.get("seed"),
                )
                .result()
            ),
        )

    def _live_trainer(self) -> Any:
        """This process's training client; after a restart, rebuilt from the last
        checkpoint (weights and optimizer), or a fresh run when none was saved."""
        if self._trainer is not None:
            return self._trainer
        checkpoint = self.state.get("checkpoint")
        if checkpoint:
            self._trainer = self._call(
                f"resume from {checkpoint}",
                lambda: (
                    self.service()
                    .create_training_client_from_state_with_optimizer(checkpoint)
                    .result()
                ),
            )
            self._note(f"resumed at step {self.state['step']} from {checkpoint}")
        else:
            self.state.update(step=0)
            self._trainer = self._new_trainer()
            self._note("no checkpoint yet: started a fresh LoRA run (nothing was trained)")
        return self._trainer

    def poll_interval(self, configured: float) -> float:
        return 0.0  # each poll trains; there is nothing to wait for

    def status(self, job_id: str) -> JobStatus:
        s = self.state
        if s.get("cancelled"):
            return self._status(job_id, "cancelled", "cancelled")
        if s.get("sampler_path"):
            return self._status(job_id, "succeeded", "completed")
        trainer = self._live_trainer()
        hp = s["hyperparameters"]
        data = self._datums(hp, s["base_model"])
        batch = int(hp.get("batch_size", 8))
        every = int(hp.get("checkpoint_every", 10))
        adam = _sdk().types.AdamParams(learning_rate=float(hp.get("learning_rate", 1e-4)))
        per_epoch = -(-len(data) // batch)
        try:
            for _ in range(every):
                if s["step"] >= s["total_steps"]:
                    break
                start = (s["step"] % per_epoch) * batch
                chunk = data[start : start + batch]
                fb = trainer.forward_backward(chunk, "cross_entropy")
                opt = trainer.optim_step(adam)
                out = fb.result()
                opt.result()
                s["step"] += 1
                s["tokens_sent"] += sum(d.model_input.length for d in chunk)
                loss = out.metrics.get("loss:sum")
                shown = f", loss {loss:.4f}" if loss is not None else ""
                self._note(f"step {s['step']}/{s['total_steps']}{shown}")
            name = f"{s['suffix']}-step-{s['step']:06d}"
            s["checkpoint"] = trainer.save_state(name).result().path
            if s["step"] >= s["total_steps"]:
                final = f"{s['suffix']}-final"
                s["sampler_path"] = trainer.save_weights_for_sampler(final).result().path
                self._note(f"saved {s['sampler_path']} for sampling")
                return self._status(trainer.model_id, "succeeded", "completed")
        except _sdk().RequestFailedError as exc:
            s["error"] = str(exc)
            return self._status(trainer.model_id, "failed", "failed")
        except _sdk().TinkerError as exc:
            raise UserError(
                f"Tinker training stopped at step {s['step']}: {exc}",
                hint="rerun the same command to resume from the last checkpoint",
            ) from exc
        return self._status(trainer.model_id, "running", f"step {s['step']}/{s['total_steps']}")

    def _status(self, job_id: str, state: Any, raw: str) -> JobStatus:
        s = self.state
        if state in ("succeeded", "failed"):
            self._finish = "success" if state == "succeeded" else "errored"
        total = s.get("total_steps") or 0
        return JobStatus(
            job_id=str(job_id),
            state=state,
            raw_status=raw,
            trained_tokens=s.get("tokens_sent"),
            fine_tuned_model=s.get("sampler_path"),
            error=s.get("error"),
            progress=min(1.0, s.get("step", 0) / total) if total else None,
        )

    def events(self, job_id: str) -> list[JobEvent]:
        out, self._events = self._events, []
        return out

    def cancel(self, job_id: str) -> None:
        """Training only moves while this loop runs: cancelling marks the job so no run
        resumes it (checkpoints stay in the account until their TTL)."""
        self.state["cancelled"] = True

    def result_spec(self, status: JobStatus) -> RunnableSpec:
        if not status.fine_tuned_model:
            raise UserError(f"job {status.job_id} finished without sampler weights")
        return runnable_on_host(
            "tinker", status.fine_tuned_model, self.settings,
            inference_url=API_URL + INFERENCE_PATH, key_env=self.default_key_env,
            inference_path=self.inference_path,
        )  # fmt: skip

    def download_adapter(self, status: JobStatus, dest: Path) -> Path | None:
        trainer = self._live_trainer()
        name = f"{self.state.get('suffix', 'fieldwise')}-adapter"
        path = self._call(
            "export the adapter", lambda: trainer.save_weights_external(name).result().path
        )
        rest = _sdk().RestClient(base_url=self.settings.base_url or API_URL, api_key=self.key)
        urls = self._call(
            "ask where to download the adapter",
            lambda: rest.get_external_weights_urls(path).result().urls,
        )
        dest.mkdir(parents=True, exist_ok=True)
        with httpx.Client(timeout=self.settings.timeout_s, follow_redirects=True) as http:
            for file_name, url in urls.items():
                target = (dest / file_name).resolve()
                if not target.is_relative_to(dest.resolve()):
                    raise UserError(f"Tinker named an unsafe file path: {file_name!r}")
                target.parent.mkdir(parents=True, exist_ok=True)
                response = http.get(url)
                if response.status_code != 200:
                    raise UserError(f"downloading {file_name} failed: HTTP {response.status_code}")
                target.write_bytes(response.content)
        return dest


def _tokenizer(source: str) -> Any:
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(source)
    except (OSError, ValueError) as exc:
        raise UserError(
            f"cannot load the tokenizer '{source}' to tokenise the training data: {exc}",
            hint="set hyperparameters.tokenizer to a local tokenizer folder or Hub id",
        ) from None
