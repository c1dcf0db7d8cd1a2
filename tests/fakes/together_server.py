"""A fake of Together's fine-tuning API, spoken to by the real ``together`` SDK.

Endpoints are the ones the SDK calls (read from its source): the upload handshake
(``POST /v1/files`` answered with a 302 to a storage URL and ``X-Together-File-Id``, the
``PUT`` of the bytes, ``POST /v1/files/{id}/preprocess``), model limits, price
estimate, create, retrieve, events, list, cancel, the adapter download
(``/v1/finetune/download``), and chat completions for the fine-tuned model, so the
registered spec can be run by name against the same server.

A job advances one step per poll: queued, running steps 1..N (events carry
``step``/``total_steps``), completed with ``total_price`` in nano-dollars. ``fail``
makes it end in ``error``; ``hold_create``/``hold_poll`` keep the answer to a create (after
the job exists) or to the first poll until released, the window a ``kill -9`` lands in.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from tests.fakes._routes import Reply, Request, RoutedServer, chat_reply

PRICE_PER_TOKEN_NANO = 3_000  # $3 per million tokens


class FakeTogether(RoutedServer):
    def __init__(self, *, steps: int = 3, fail: str | None = None, adapter: bytes = b"") -> None:
        super().__init__()
        self.steps = steps
        self.fail = fail
        self.adapter = adapter
        self.files: dict[str, dict[str, Any]] = {}
        self.jobs: dict[str, dict[str, Any]] = {}
        self.billed: list[str] = []
        """Job ids charged for (a job is charged once it completes)."""
        self.hold_create: threading.Event | None = None
        self.hold_poll: threading.Event | None = None
        self.reply = json.dumps({"answer": "fine-tuned"})
        r = self.route
        r("POST", r"/v1/files", self._start_upload)
        r("PUT", r"/_storage/(?P<id>[^/]+)", self._store)
        r("POST", r"/v1/files/(?P<id>[^/]+)/preprocess", self._preprocess)
        r("GET", r"/v1/fine-tunes/models/limits", self._limits)
        r("POST", r"/v1/fine-tunes/estimate-price", self._estimate)
        r("POST", r"/v1/fine-tunes", self._create)
        r("GET", r"/v1/fine-tunes", self._list)
        r("GET", r"/v1/fine-tunes/(?P<id>[^/]+)", self._retrieve)
        r("GET", r"/v1/fine-tunes/(?P<id>[^/]+)/events", self._events)
        r("POST", r"/v1/fine-tunes/(?P<id>[^/]+)/cancel", self._cancel)
        r("GET", r"/v1/finetune/download", self._download)
        r("POST", r"/v1/chat/completions", self._chat)

    # -- files ------------------------------------------------------------------------
    def _start_upload(self, req: Request) -> Reply:
        form = req.form()
        with self.lock:
            file_id = f"file-{len(self.files) + 1}"
            self.files[file_id] = {"name": form["file_name"].decode(), "raw": b"", "ready": False}
        return Reply(
            302,
            {},
            headers={"Location": f"{self.url}/_storage/{file_id}", "X-Together-File-Id": file_id},
        )

    def _store(self, req: Request) -> Reply:
        self.files[req.match["id"]]["raw"] = req.body
        return Reply(200, {})

    def _preprocess(self, req: Request) -> Reply:
        f = self.files[req.match["id"]]
        f["ready"] = True
        return Reply(200, {
            "id": req.match["id"], "object": "file", "bytes": len(f["raw"]), "created_at": 0,
            "filename": f["name"], "FileType": "jsonl", "purpose": "fine-tune",
            "processing_status": "COMPLETED",
        })  # fmt: skip

    # -- jobs -------------------------------------------------------------------------
    def _limits(self, req: Request) -> Reply:
        return Reply(200, {
            "model_name": req.query.get("model_name"), "default_gradient_accumulation_steps": 1,
            "lora_training": {"default_rank": 8, "max_rank": 64, "max_batch_size": 32,
                              "max_batch_size_dpo": 16, "min_batch_size": 1,
                              "target_modules": ["q_proj", "v_proj"]},
            "full_training": None, "max_learning_rate": 1.0, "min_learning_rate": 1e-8,
            "max_num_checkpoints": 10, "max_num_epochs": 20, "max_num_evals": 10,
            "max_seq_length_sft": 8192, "max_seq_length_dpo": 4096, "min_max_seq_length": 512,
            "merge_output_lora": False, "supports_full_training": False,
            "supports_reasoning": False, "supports_tools": False, "supports_vision": False,
        })  # fmt: skip

    def _tokens(self, file_id: str, epochs: int) -> int:
        return max(1, len(self.files[file_id]["raw"]) // 4) * epochs

    def _estimate(self, req: Request) -> Reply:
        body = req.json
        tokens = self._tokens(body["training_file"], int(body.get("n_epochs") or 1))
        return Reply(200, {
            "estimation_available": True, "allowed_to_proceed": True,
            "estimated_total_price": tokens * PRICE_PER_TOKEN_NANO / 1e9,
            "estimated_train_token_count": tokens, "estimated_eval_token_count": 0,
        })  # fmt: skip

    def _create(self, req: Request) -> Reply:
        body = req.json
        if body["training_file"] not in self.files:
            return Reply(400, {"error": {"message": "training file not found"}})
        with self.lock:
            job_id = f"ft-{len(self.jobs) + 1:04d}"
            now = time.time()
            self.jobs[job_id] = {
                "request": body, "status": "pending", "step": 0, "events": [], "polls": 0,
                "created_at": now,
                "tokens": self._tokens(body["training_file"], int(body.get("n_epochs") or 1)),
            }  # fmt: skip
            self._event(job_id, "job_pending", "Fine-tune request created")
        if self.hold_create is not None:
            self.hold(self.hold_create)  # made, not answered yet
        return Reply(200, self._view(job_id))

    def _advance(self, job_id: str) -> None:
        job = self.jobs[job_id]
        if job["status"] in ("completed", "error", "cancelled"):
            return
        if job["status"] == "cancel_requested":
            job["status"] = "cancelled"
            self._event(job_id, "job_stopped", "Job cancelled")
            return
        job["polls"] += 1
        if job["status"] == "pending":
            job["status"] = "queued"
            self._event(job_id, "job_start", "Job queued")
        elif job["step"] < self.steps:
            job["status"] = "running"
            job["step"] += 1
            if self.fail and job["step"] == self.steps:
                job["status"] = "error"
                self._event(job_id, "job_error", self.fail, level="error")
                return
            self._event(job_id, "checkpoint_save", f"Step {job['step']} done",
                        step=job["step"], total_steps=self.steps)  # fmt: skip
        else:
            job["status"] = "completed"
            self.billed.append(job_id)
            self._event(job_id, "job_complete", "Job finished")

    def _event(
        self, job_id: str, kind: str, message: str, level: str = "info", **extra: Any
    ) -> None:
        stamp = (
            time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
            + f".{len(self.jobs[job_id]['events']):06d}Z"
        )
        self.jobs[job_id]["events"].append({
            "object": "fine-tune-event", "created_at": stamp, "type": kind, "message": message,
            "level": level, **extra,
        })  # fmt: skip

    def _view(self, job_id: str) -> dict[str, Any]:
        job = self.jobs[job_id]
        body = job["request"]
        done = job["status"] == "completed"
        created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(job["created_at"]))
        return {
            "id": job_id, "status": job["status"], "user_id": "u-1", "created_at": created,
            "updated_at": created, "model": body["model"], "training_file": body["training_file"],
            "n_epochs": body.get("n_epochs"), "suffix": body.get("suffix"),
            "model_output_name": _output_name(body, job_id),
            "adapter_output_name": None, "token_count": job["tokens"] if done else None,
            "total_price": job["tokens"] * PRICE_PER_TOKEN_NANO if done else None,
            "events": job["events"],
        }  # fmt: skip

    def _retrieve(self, req: Request) -> Reply:
        job_id = req.match["id"]
        if job_id not in self.jobs:
            return Reply(404, {"error": {"message": "job not found"}})
        if self.hold_poll is not None:
            self.hold(self.hold_poll)
        with self.lock:
            self._advance(job_id)
            return Reply(200, self._view(job_id))

    def _events(self, req: Request) -> Reply:
        return Reply(200, {"data": self.jobs[req.match["id"]]["events"]})

    def _list(self, req: Request) -> Reply:
        return Reply(200, {"data": [self._view(j) for j in self.jobs]})

    def _cancel(self, req: Request) -> Reply:
        job = self.jobs[req.match["id"]]
        if job["status"] not in ("completed", "error", "cancelled"):
            job["status"] = "cancel_requested"
        return Reply(200, self._view(req.match["id"]))

    def _download(self, req: Request) -> Reply:
        job = self.jobs.get(req.query.get("ft_id", ""))
        if job is None or job["status"] != "completed" or req.query.get("checkpoint") != "adapter":
            return Reply(400, {"error": {"message": "not downloadable"}})
        return Reply(200, raw=self.adapter, content_type="application/octet-stream")

    def _chat(self, req: Request) -> Reply:
        body = req.json
        names = {self._view(j)["model_output_name"] for j in self.jobs}
        if body.get("model") not in names:
            return Reply(404, {"error": {"message": f"model {body.get('model')} not found"}})
        return Reply(200, chat_reply(body, self.reply))


def _output_name(body: dict[str, Any], job_id: str) -> str:
    return f"acme/{body['model'].split('/')[-1]}-{body.get('suffix') or 'ft'}-{job_id}"
