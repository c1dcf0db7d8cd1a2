"""A fake of OpenAI's Batch API and Anthropic's Message Batches API over real HTTP.

A threaded server on ``127.0.0.1:0`` that the real ``openai`` and ``anthropic`` SDKs talk
to: multipart uploads to ``/v1/files``, ``/v1/batches`` jobs over them with output and
error files at ``/v1/files/ID/content``, and ``/v1/messages/batches`` with results
streamed from the batch's ``results_url``. Replies are the online fake's
(:mod:`tests.fakes.openai_server`), so a batch answers exactly what the online path would.

A batch runs for ``processing_s`` seconds after it is created (its request counts grow
linearly meanwhile), then ends. Per-request outcomes are chosen by markers in the last
user message: ``fail`` markers get a 400 error, ``expire`` markers are never run (the
batch ends as expired). ``fail_batch`` makes OpenAI batches fail validation as a whole.
The server enforces ``max_requests``/``max_bytes`` per batch, as the providers do.

Standalone (for benchmarks): ``python -m tests.fakes.batch_server`` prints its base URL
and serves ``GET /_stats`` (batches created, files uploaded, polls) as JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import email.parser
import email.policy
import itertools
import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.fakes.openai_server import _anthropic_reply, _last_user_text, _openai_reply, echo_reply


@dataclass
class BatchBehaviour:
    processing_s: float = 0.0
    fail: set[str] = field(default_factory=set)
    expire: set[str] = field(default_factory=set)
    fail_batch: str | None = None
    max_requests: int = 50_000
    max_bytes: int = 200_000_000
    create_status: list[int] = field(default_factory=list)
    """Statuses to answer the next batch creations with instead of creating (e.g. 429)."""
    lose_creates: int = 0
    """Create this many batches but answer 500, as if the answer was lost on the way."""
    create_delay_s: float = 0.0
    """Seconds a create takes before the batch exists (time to kill the client mid-way)."""
    echo_key: bool = False
    """Per-request errors echo the caller's credential, as some gateways' errors do."""
    malformed: set[str] = field(default_factory=set)
    """Markers whose result line is cut short in the results file (not JSON any more)."""
    download_delay_s: float = 0.0
    """Seconds a results download (OpenAI file content, Anthropic results) is held before
    it is answered (time to kill the client while it downloads)."""


@dataclass
class FakeBatch:
    id: str
    provider: str
    created: float
    requests: list[dict[str, Any]]
    input_file_id: str | None = None
    metadata: dict[str, Any] | None = None
    results: list[tuple[str, str, dict[str, Any]]] | None = None
    """Once ended: (custom_id, outcome, payload) per request; outcome ok/fail/expire."""
    files: dict[str, str] = field(default_factory=dict)


class FakeBatchServer:
    def __init__(self, behaviour: BatchBehaviour | None = None) -> None:
        self.behaviour = behaviour or BatchBehaviour()
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, FakeBatch] = {}
        self.polls = 0
        self.creates_received = 0
        self.downloads = 0
        """Results downloads received (counted before ``download_delay_s``)."""
        self.auth: list[str] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.fake = self

    @property
    def url(self) -> str:
        """An OpenAI base URL (``.../v1``); Anthropic's is :attr:`root`."""
        return f"{self.root}/v1"

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def start(self) -> FakeBatchServer:
        thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def created(self, provider: str | None = None) -> list[FakeBatch]:
        with self._lock:
            return [b for b in self.batches.values() if provider in (None, b.provider)]

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids):04d}"

    def state(self, batch: FakeBatch) -> tuple[bool, int]:
        """(ended, requests done so far); ends the batch (fixing its results) when due."""
        b = self.behaviour
        elapsed = time.monotonic() - batch.created
        n = len(batch.requests)
        if elapsed < b.processing_s:
            return False, int(n * elapsed / b.processing_s)
        with self._lock:
            if batch.results is None:
                batch.results = [self._run(batch.provider, r) for r in batch.requests]
                if batch.provider == "openai":
                    self._write_files(batch)
        return True, n

    def _run(self, provider: str, request: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
        body = request["body"] if provider == "openai" else request["params"]
        text = _last_user_text(body)
        if any(m in text for m in self.behaviour.expire):
            return request["custom_id"], "expire", {}
        if any(m in text for m in self.behaviour.fail):
            message = "context too long"
            if self.behaviour.echo_key and self.auth:
                message += f" (request made with key {self.auth[-1].removeprefix('Bearer ')})"
            return request["custom_id"], "fail", {"message": message}
        content = echo_reply(text)
        reply = (
            _openai_reply(body, content)
            if provider == "openai"
            else _anthropic_reply(body, content)
        )
        return request["custom_id"], "ok", reply

    def _write_files(self, batch: FakeBatch) -> None:
        out, err = [], []
        assert batch.results is not None
        for i, (custom_id, outcome, payload) in enumerate(batch.results):
            line: dict[str, Any] = {"id": f"batch_req_{i}", "custom_id": custom_id}
            if outcome == "ok":
                line["response"] = {"status_code": 200, "request_id": f"r{i}", "body": payload}
                line["error"] = None
                out.append(line)
            elif outcome == "fail":
                error = {"error": {"message": payload["message"], "type": "invalid_request_error"}}
                line["response"] = {"status_code": 400, "request_id": f"r{i}", "body": error}
                line["error"] = None
                err.append(line)
            else:
                line["response"] = None
                line["error"] = {"code": "batch_expired", "message": "This request expired."}
                err.append(line)
        for name, lines in (("output", out), ("error", err)):
            if lines:
                file_id = self.new_id("file")
                self.files[file_id] = b"".join(self._line(x, batch) for x in lines)
                batch.files[name] = file_id

    def _line(self, item: dict[str, Any], batch: FakeBatch) -> bytes:
        """One results-file line; cut short when its request carries a ``malformed`` marker."""
        raw = json.dumps(item).encode()
        request = next(r for r in batch.requests if r["custom_id"] == item["custom_id"])
        body = request["body"] if batch.provider == "openai" else request["params"]
        if any(m in _last_user_text(body) for m in self.behaviour.malformed):
            raw = raw[: len(raw) // 2]
        return raw + b"\n"

    def openai_batch(self, batch: FakeBatch) -> dict[str, Any]:
        if self.behaviour.fail_batch is not None:  # refused at validation: nothing runs
            batch.results, batch.files = [], {}
        ended, done = self.state(batch)
        status = "in_progress"
        failed = 0
        if ended:
            outcomes = [o for _, o, _ in batch.results or []]
            failed = sum(o != "ok" for o in outcomes)
            status = "expired" if "expire" in outcomes else "completed"
        if self.behaviour.fail_batch is not None:
            status, ended = "failed", True
        errors = None
        if status == "failed":
            message = self.behaviour.fail_batch
            errors = {"object": "list", "data": [{"code": "invalid_file", "message": message}]}
        return {
            "id": batch.id,
            "object": "batch",
            "endpoint": "/v1/chat/completions",
            "completion_window": "24h",
            "status": status,
            "input_file_id": batch.input_file_id,
            "output_file_id": batch.files.get("output") if ended else None,
            "error_file_id": batch.files.get("error") if ended else None,
            "created_at": int(time.time()),
            "errors": errors,
            "metadata": batch.metadata,
            "request_counts": {
                "total": len(batch.requests),
                "completed": (done - failed) if status != "failed" else 0,
                "failed": failed,
            },
        }

    def anthropic_batch(self, batch: FakeBatch) -> dict[str, Any]:
        ended, done = self.state(batch)
        counts = dict.fromkeys(("processing", "succeeded", "errored", "canceled", "expired"), 0)
        if ended:
            for _, outcome, _ in batch.results or []:
                key = {"ok": "succeeded", "fail": "errored", "expire": "expired"}[outcome]
                counts[key] += 1
        else:
            counts["succeeded"] = done
            counts["processing"] = len(batch.requests) - done
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        return {
            "id": batch.id,
            "type": "message_batch",
            "processing_status": "ended" if ended else "in_progress",
            "request_counts": counts,
            "created_at": stamp,
            "expires_at": stamp,
            "ended_at": stamp if ended else None,
            "archived_at": None,
            "cancel_initiated_at": None,
            "results_url": f"{self.root}/v1/messages/batches/{batch.id}/results" if ended else None,
        }

    def anthropic_results(self, batch: FakeBatch) -> bytes:
        out = []
        for custom_id, outcome, payload in batch.results or []:
            if outcome == "ok":
                result: dict[str, Any] = {"type": "succeeded", "message": payload}
            elif outcome == "fail":
                inner = {"type": "invalid_request_error", "message": payload["message"]}
                result = {"type": "errored", "error": {"type": "error", "error": inner}}
            else:
                result = {"type": "expired"}
            out.append(self._line({"custom_id": custom_id, "result": result}, batch))
        return b"".join(out)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeBatchServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client killed or timed out mid-request is expected here; the default would
        print a server-side traceback into the test's stderr."""


def _multipart_file(content_type: str, raw: bytes) -> tuple[bytes | None, str | None]:
    """The uploaded file and the ``purpose`` field of a multipart/form-data body."""
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + raw)
    data, purpose = None, None
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if name == "file":
            data = payload
        elif name == "purpose" and payload is not None:
            purpose = payload.decode()
    return data, purpose


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        """Silence the default per-request stderr line."""

    def _send(self, status: int, payload: Any, content_type: str = "application/json") -> None:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _error(self, status: int, message: str) -> None:
        self._send(
            status,
            {"type": "error", "error": {"type": "invalid_request_error", "message": message}},
        )

    def _record_auth(self) -> None:
        fake = self.server.fake
        value = self.headers.get("Authorization") or self.headers.get("x-api-key") or ""
        with fake._lock:
            fake.auth.append(value)

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        fake = self.server.fake
        self._record_auth()
        path = self.path.split("?")[0].rstrip("/")
        if path.endswith("/_stats"):
            created = fake.created()
            stats = {
                "batches": len(created),
                "requests": sum(len(b.requests) for b in created),
                "files": len(fake.files),
                "polls": fake.polls,
            }
            self._send(200, stats)
        elif m := re.fullmatch(r"/v1/files/([\w-]+)/content", path):
            data = fake.files.get(m.group(1))
            if data is None:
                self._error(404, "no such file")
            else:
                self._hold_download()
                self._send(200, data, "application/octet-stream")
        elif path == "/v1/batches":
            rows = [fake.openai_batch(b) for b in reversed(fake.created("openai"))]
            self._send(200, {"object": "list", "data": rows, "has_more": False})
        elif m := re.fullmatch(r"/v1/batches/([\w-]+)", path):
            self._poll(m.group(1), "openai")
        elif m := re.fullmatch(r"/v1/messages/batches/([\w-]+)/results", path):
            batch = fake.batches.get(m.group(1))
            if batch is None or batch.results is None:
                self._error(404, "no results yet")
            else:
                self._hold_download()
                self._send(200, fake.anthropic_results(batch), "application/binary")
        elif m := re.fullmatch(r"/v1/messages/batches/([\w-]+)", path):
            self._poll(m.group(1), "anthropic")
        else:
            self._error(404, f"not found: {path}")

    def _hold_download(self) -> None:
        fake = self.server.fake
        with fake._lock:
            fake.downloads += 1
        time.sleep(fake.behaviour.download_delay_s)

    def _poll(self, batch_id: str, provider: str) -> None:
        fake = self.server.fake
        batch = fake.batches.get(batch_id)
        if batch is None or batch.provider != provider:
            self._error(404, f"no batch {batch_id}")
            return
        with fake._lock:
            fake.polls += 1
        view = fake.openai_batch if provider == "openai" else fake.anthropic_batch
        self._send(200, view(batch))

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        fake = self.server.fake
        self._record_auth()
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        path = self.path.split("?")[0].rstrip("/")
        if path == "/v1/files":
            data, purpose = _multipart_file(self.headers.get("Content-Type", ""), raw)
            if data is None or purpose != "batch":
                self._error(400, "expected a file with purpose=batch")
                return
            if len(data) > fake.behaviour.max_bytes:
                self._error(400, f"file is larger than {fake.behaviour.max_bytes} bytes")
                return
            file_id = fake.new_id("file")
            with fake._lock:
                fake.files[file_id] = data
            self._send(
                200,
                {
                    "id": file_id,
                    "object": "file",
                    "bytes": len(data),
                    "created_at": int(time.time()),
                    "filename": "batch.jsonl",
                    "purpose": "batch",
                    "status": "processed",
                },
            )
            return
        body = json.loads(raw or b"{}")
        if fake.behaviour.create_status and path in ("/v1/batches", "/v1/messages/batches"):
            status = fake.behaviour.create_status.pop(0)
            self._error(status, "slow down")
            return
        if path in ("/v1/batches", "/v1/messages/batches"):
            with fake._lock:
                fake.creates_received += 1
            time.sleep(fake.behaviour.create_delay_s)
        if path == "/v1/batches":
            data = fake.files.get(body.get("input_file_id", ""))
            if data is None:
                self._error(400, "no such input file")
                return
            requests = [json.loads(line) for line in data.splitlines() if line.strip()]
            if not self._within_limits(requests, len(data)):
                return
            batch = FakeBatch(
                fake.new_id("batch"),
                "openai",
                time.monotonic(),
                requests,
                input_file_id=body["input_file_id"],
                metadata=body.get("metadata"),
            )
            with fake._lock:
                fake.batches[batch.id] = batch
            if fake.behaviour.lose_creates > 0:
                fake.behaviour.lose_creates -= 1
                self._error(500, "internal error")
                return
            self._send(200, fake.openai_batch(batch))
        elif path == "/v1/messages/batches":
            if not self.headers.get("Content-Type", "").startswith("application/json"):
                self._error(415, "the body must be application/json")
                return
            requests = body.get("requests") or []
            if not self._within_limits(requests, len(raw)):
                return
            batch = FakeBatch(fake.new_id("msgbatch"), "anthropic", time.monotonic(), requests)
            with fake._lock:
                fake.batches[batch.id] = batch
            self._send(200, fake.anthropic_batch(batch))
        else:
            self._error(404, f"not found: {path}")

    def _within_limits(self, requests: list[dict[str, Any]], size: int) -> bool:
        b = self.server.fake.behaviour
        if len(requests) > b.max_requests or size > b.max_bytes:
            self._error(400, f"batch over the limits ({len(requests)} requests, {size} bytes)")
            return False
        if len({r.get("custom_id") for r in requests}) != len(requests):
            self._error(400, "custom_id values must be unique")
            return False
        return True


@pytest.fixture
def fake_batches() -> Iterator[FakeBatchServer]:
    """A running :class:`FakeBatchServer` whose batches end at once."""
    server = FakeBatchServer().start()
    try:
        yield server
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> None:
    """Serve in the foreground (for benchmarks): print the base URL, then serve forever."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processing", type=float, default=0.0)
    args = parser.parse_args(argv)
    server = FakeBatchServer(BatchBehaviour(processing_s=args.processing))
    print(server.url, flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server._httpd.serve_forever(poll_interval=0.05)


if __name__ == "__main__":
    main()
