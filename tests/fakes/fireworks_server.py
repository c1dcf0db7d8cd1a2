"""A fake of Fireworks' dataset and supervised fine-tuning API, for the real
``fireworks-ai`` SDK (endpoints read from its source): dataset create / upload / get, job
create (under the caller's ``supervisedFineTuningJobId``, 409 when it exists), get,
cancel, the model download endpoint (signed URLs pointing back here) and chat
completions at ``/inference/v1`` for the fine-tuned model.

A job advances one step per poll (``jobProgress.percent``); it is charged once, when it
completes (``estimatedCost``). ``hold_create``/``hold_poll`` keep an answer back (the job
already made) until released: the window a ``kill -9`` lands in.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from tests.fakes._routes import Reply, Request, RoutedServer, chat_reply

ACCOUNT = "acme"
PRICE_USD = 1.25  # per job in this fake


class FakeFireworks(RoutedServer):
    def __init__(self, *, steps: int = 3, fail: str | None = None) -> None:
        super().__init__()
        self.steps = steps
        self.fail = fail
        self.files: dict[str, bytes] = {}
        """The downloadable files of every finished model (the adapter)."""
        self.datasets: dict[str, dict[str, Any]] = {}
        self.jobs: dict[str, dict[str, Any]] = {}
        self.billed: list[str] = []
        self.hold_create: threading.Event | None = None
        self.hold_poll: threading.Event | None = None
        a = rf"/v1/accounts/(?P<account>{ACCOUNT})"
        r = self.route
        r("POST", f"{a}/datasets", self._dataset_create)
        r("GET", rf"{a}/datasets/(?P<id>[^/:]+)", self._dataset_get)
        r("POST", rf"{a}/datasets/(?P<id>[^/:]+):upload", self._dataset_upload)
        r("POST", f"{a}/supervisedFineTuningJobs", self._create)
        r("GET", rf"{a}/supervisedFineTuningJobs/(?P<id>[^/:]+)", self._get)
        r("POST", rf"{a}/supervisedFineTuningJobs/(?P<id>[^/:]+):cancel", self._cancel)
        r("GET", rf"{a}/models/(?P<id>[^/:]+):getDownloadEndpoint", self._download_endpoint)
        r("GET", r"/_files/(?P<id>[^/]+)/(?P<name>[^/]+)", self._file)
        r("POST", r"/inference/v1/chat/completions", self._chat)

    def _dataset_create(self, req: Request) -> Reply:
        body = req.json
        dataset_id = body["datasetId"]
        if dataset_id in self.datasets:
            return Reply(409, {"error": {"code": 6, "message": "dataset already exists"}})
        self.datasets[dataset_id] = {"meta": body["dataset"], "raw": b"", "state": "UPLOADING"}
        return Reply(200, self._dataset(dataset_id))

    def _dataset(self, dataset_id: str) -> dict[str, Any]:
        d = self.datasets[dataset_id]
        return {
            "name": f"accounts/{ACCOUNT}/datasets/{dataset_id}", "state": d["state"],
            "exampleCount": d["meta"].get("exampleCount"), "format": "CHAT",
            "estimatedTokenCount": str(len(d["raw"]) // 4),
        }  # fmt: skip

    def _dataset_get(self, req: Request) -> Reply:
        if req.match["id"] not in self.datasets:
            return Reply(404, {"error": {"message": "not found"}})
        return Reply(200, self._dataset(req.match["id"]))

    def _dataset_upload(self, req: Request) -> Reply:
        d = self.datasets[req.match["id"]]
        d["raw"] = req.form()["file"]
        d["state"] = "READY"
        return Reply(200, {"filenameToSignedUrls": {}})

    def _create(self, req: Request) -> Reply:
        job_id = req.query["supervisedFineTuningJobId"]
        body = req.json
        with self.lock:
            if job_id in self.jobs:
                return Reply(409, {"error": {"code": 6, "message": f"job {job_id} already exists"}})
            dataset_id = body["dataset"].rsplit("/", 1)[-1]
            if self.datasets.get(dataset_id, {}).get("state") != "READY":
                return Reply(400, {"error": {"message": "dataset is not ready"}})
            self.jobs[job_id] = {"request": body, "state": "JOB_STATE_CREATING", "step": 0}
        if self.hold_create is not None:
            self.hold(self.hold_create)
        return Reply(200, self._job(job_id))

    def _job(self, job_id: str) -> dict[str, Any]:
        job = self.jobs[job_id]
        done = job["state"] in ("JOB_STATE_COMPLETED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED")
        out: dict[str, Any] = {
            "name": f"accounts/{ACCOUNT}/supervisedFineTuningJobs/{job_id}",
            "dataset": job["request"]["dataset"], "baseModel": job["request"].get("baseModel"),
            "state": job["state"],
            "jobProgress": {"percent": int(100 * job["step"] / self.steps)},
        }  # fmt: skip
        if done:
            out["estimatedCost"] = {"currencyCode": "USD", "units": "1", "nanos": 250_000_000}
        if job["state"] == "JOB_STATE_FAILED":
            out["status"] = {"code": "INTERNAL", "message": self.fail}
        return out

    def _get(self, req: Request) -> Reply:
        job_id = req.match["id"]
        if job_id not in self.jobs:
            return Reply(404, {"error": {"message": "not found"}})
        if self.hold_poll is not None:
            self.hold(self.hold_poll)
        with self.lock:
            job = self.jobs[job_id]
            if job["state"] == "JOB_STATE_CANCELLING":
                job["state"] = "JOB_STATE_CANCELLED"
            elif job["state"] in ("JOB_STATE_CREATING", "JOB_STATE_RUNNING"):
                job["state"] = "JOB_STATE_RUNNING"
                job["step"] += 1
                if job["step"] >= self.steps:
                    job["state"] = "JOB_STATE_FAILED" if self.fail else "JOB_STATE_COMPLETED"
                    self.billed.append(job_id)
            return Reply(200, self._job(job_id))

    def _cancel(self, req: Request) -> Reply:
        job = self.jobs[req.match["id"]]
        if job["state"] in ("JOB_STATE_CREATING", "JOB_STATE_RUNNING"):
            job["state"] = "JOB_STATE_CANCELLING"
        return Reply(200, {})

    def _download_endpoint(self, req: Request) -> Reply:
        model_id = req.match["id"]
        job = self.jobs.get(model_id)
        if job is None or job["state"] != "JOB_STATE_COMPLETED":
            return Reply(404, {"error": {"message": "model not found"}})
        urls = {name: f"{self.url}/_files/{model_id}/{name}" for name in self.files}
        return Reply(200, {"filenameToSignedUrls": urls})

    def _file(self, req: Request) -> Reply:
        return Reply(
            200, raw=self.files[req.match["name"]], content_type="application/octet-stream"
        )

    def _chat(self, req: Request) -> Reply:
        body = req.json
        done = {
            f"accounts/{ACCOUNT}/models/{j}"
            for j, job in self.jobs.items() if job["state"] == "JOB_STATE_COMPLETED"
        }  # fmt: skip
        if body.get("model") not in done:
            return Reply(404, {"error": {"message": f"model {body.get('model')} not deployed"}})
        return Reply(200, chat_reply(body, json.dumps({"answer": "fine-tuned"})))
