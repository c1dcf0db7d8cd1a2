"""A fake of the Tinker API for the real ``tinker`` SDK (endpoints and wire formats read
from its source): client config (API-key auth, plain httpx transport), sessions and
heartbeats, telemetry, futures (``create_model``, ``forward_backward`` in protobuf,
``optim_step``, ``save_weights``, ``load_weights``, ``save_weights_for_sampler``,
``save_weights_external``) resolved through ``retrieve_future`` (JSON, or protobuf for
``ForwardBackwardOutput``), ``get_info``, external-weights download URLs pointing back
here, and chat completions at ``/oai/api/v1`` for a ``tinker://`` sampler path.

Every forward_backward's tokens are billed when processed (``billed_tokens``);
``hold_forward`` keeps calls (from the ``hold_from``-th on) at the door until released,
and one whose client hung up meanwhile is dropped unqueued: the window a ``kill -9``
lands in. (A call the service had already queued would be processed and billed even if
its client died; see docs/finetuning.md.) ``fail_forward`` makes a forward_backward fail.
"""

from __future__ import annotations

import itertools
import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from tinker.proto import tinker_public_pb2 as pb

from tests.fakes._routes import Reply, Request, RoutedServer, chat_reply

API = "/api/v1"


class FakeTinker(RoutedServer):
    def __init__(self) -> None:
        super().__init__()
        self.sessions: list[str] = []
        self.finished: dict[str, str] = {}
        self.models: dict[str, dict[str, Any]] = {}
        self.checkpoints: set[str] = set()
        self.external: dict[str, dict[str, bytes]] = {}
        self.adapter_files: dict[str, bytes] = {}
        self.futures: dict[str, tuple[str, Any]] = {}
        self.billed_tokens = 0
        self.steps = 0
        self.hold_forward: threading.Event | None = None
        self.hold_from = 1
        """``hold_forward`` holds the forward_backward calls from this one on (1: all)."""
        self.forwards = 0
        self.fail_forward: str | None = None
        self.keys_seen: set[str] = set()
        self._ids = itertools.count(1)
        r = self.route
        r("POST", f"{API}/client/config", lambda q: Reply(200, {
            "pjwt_auth_enabled": False, "use_pyqwest_transport": False,
            "parallel_fwdbwd_chunks": False, "proto_compress_fwdbwd": False,
        }))  # fmt: skip
        r(
            "POST",
            f"{API}/client/dynamic_config",
            lambda q: Reply(200, {"refresh_interval_sec": 300}),
        )
        r("POST", f"{API}/create_session", self._session)
        r("POST", f"{API}/session_heartbeat", lambda q: Reply(200, {"type": "session_heartbeat"}))
        r("POST", rf"{API}/sessions/(?P<session>[^/]+)/finish", self._finish)
        r("POST", f"{API}/telemetry", lambda q: Reply(200, {"status": "accepted"}))
        r("POST", f"{API}/create_model", self._create_model)
        r("POST", f"{API}/get_info", self._get_info)
        r("POST", f"{API}/forward_backward", self._forward_backward)
        r("POST", f"{API}/optim_step", self._optim_step)
        r("POST", f"{API}/save_weights", self._save_weights)
        r("POST", f"{API}/load_weights", self._load_weights)
        r("POST", f"{API}/save_weights_for_sampler", self._save_for_sampler)
        r("POST", f"{API}/save_weights_external", self._save_external)
        r("POST", f"{API}/retrieve_future", self._retrieve)
        urls = rf"{API}/training_runs/(?P<run>[^/]+)/checkpoints/(?P<cp>.+)/external_weights_urls"
        r("GET", urls, self._urls)
        r("GET", r"/_external/(?P<cp>[^/]+)/(?P<name>[^/]+)", self._file)
        r("POST", r"/oai/api/v1/chat/completions", self._chat)

    # -- helpers ----------------------------------------------------------------------
    def _future(self, kind: str, result: Any, model_id: str | None = None) -> Reply:
        with self.lock:
            request_id = f"req-{next(self._ids)}"
            self.futures[request_id] = (kind, result)
        return Reply(200, {"request_id": request_id, "model_id": model_id})

    def _key(self, req: Request) -> None:
        self.keys_seen.add(req.headers.get("x-api-key", ""))

    # -- endpoints --------------------------------------------------------------------
    def _finish(self, req: Request) -> Reply:
        body = json.loads(req.body or b"{}")
        self.finished[req.match["session"]] = body["reason"]["type"]
        return Reply(200, {})

    def _session(self, req: Request) -> Reply:
        self._key(req)
        session = f"sess-{len(self.sessions) + 1}"
        self.sessions.append(session)
        return Reply(200, {"type": "create_session", "session_id": session})

    def _create_model(self, req: Request) -> Reply:
        body = req.json
        model_id = f"{body['session_id']}:train:{body['model_seq_id']}"
        self.models[model_id] = {"base": body["base_model"], "lora": body.get("lora_config")}
        return self._future("json", {"type": "create_model", "model_id": model_id}, model_id)

    def _get_info(self, req: Request) -> Reply:
        model_id = req.json["model_id"]
        base = self.models[model_id]["base"]
        return Reply(200, {
            "type": "get_info", "model_id": model_id, "is_lora": True, "lora_rank": 8,
            "model_data": {"arch": "llama", "model_name": base, "tokenizer_id": base},
        })  # fmt: skip

    def _forward_backward(self, req: Request) -> Reply:
        msg = pb.ForwardBackwardRequest()
        msg.ParseFromString(req.body)
        if msg.model_id not in self.models:
            return Reply(400, {"error": "unknown model"})
        with self.lock:
            self.forwards += 1
            held = self.hold_forward is not None and self.forwards >= self.hold_from
        if held and self.hold_forward is not None:
            self.hold(self.hold_forward)  # at the door: not queued, processed nor billed
            if self.stopping.is_set() or req.client_gone():
                return Reply(503, {"error": "the client went away before it was queued"})
        if self.fail_forward:
            return self._future("json", {"error": self.fail_forward, "category": "user"})
        tokens = sum(
            len(chunk.encoded_text.tokens) // 4 for datum in msg.data for chunk in datum.model_input
        )
        with self.lock:
            self.billed_tokens += tokens
        out = pb.ForwardBackwardOutput(loss_fn_output_type="ArrayRecord")
        out.metrics["loss:sum"] = 1.0 / (1 + self.steps)
        return self._future("proto", out.SerializeToString(), msg.model_id)

    def _optim_step(self, req: Request) -> Reply:
        with self.lock:
            self.steps += 1
        params = req.json.get("adam_params") or {}
        return self._future("json", {"metrics": {"lr": params.get("learning_rate", 0.0)}})

    def _save_weights(self, req: Request) -> Reply:
        body = req.json
        path = f"tinker://{body['model_id']}/weights/{body['path']}"
        self.checkpoints.add(path)
        return self._future("json", {"type": "save_weights", "path": path})

    def _load_weights(self, req: Request) -> Reply:
        body = req.json
        if body["path"] not in self.checkpoints:
            return self._future(
                "json", {"error": f"no checkpoint {body['path']}", "category": "user"}
            )
        model_id = f"{body['session_id']}:train:{body['model_seq_id']}"
        source = body["path"][len("tinker://") :].split("/", 1)[0]
        self.models[model_id] = dict(self.models[source])
        return self._future(
            "json", {"type": "load_weights", "path": body["path"], "model_id": model_id}
        )

    def _save_for_sampler(self, req: Request) -> Reply:
        body = req.json
        path = f"tinker://{body['model_id']}/sampler_weights/{body['path']}"
        self.checkpoints.add(path)
        return self._future("json", {"type": "save_weights_for_sampler", "path": path})

    def _save_external(self, req: Request) -> Reply:
        body = req.json
        path = f"tinker://{body['model_id']}/external_weights/{body['path']}"
        self.external[path] = dict(self.adapter_files)
        return self._future("json", {"type": "save_weights_external", "path": path})

    def _retrieve(self, req: Request) -> Reply:
        kind, result = self.futures[req.json["request_id"]]
        if kind == "proto":
            return Reply(200, raw=result, content_type="application/x-protobuf")
        return Reply(200, result)

    def _urls(self, req: Request) -> Reply:
        path = f"tinker://{req.match['run']}/{req.match['cp']}"
        if path not in self.external:
            return Reply(404, {"error": "no such checkpoint"})
        token = str(abs(hash(path)))
        self._exported = {token: self.external[path]}
        urls = {name: f"{self.url}/_external/{token}/{name}" for name in self.external[path]}
        expires = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        return Reply(200, {"urls": urls, "expires": expires})

    def _file(self, req: Request) -> Reply:
        return Reply(200, raw=self._exported[req.match["cp"]][req.match["name"]],
                     content_type="application/octet-stream")  # fmt: skip

    def _chat(self, req: Request) -> Reply:
        body = req.json
        if body.get("model") not in self.checkpoints or "/sampler_weights/" not in body.get(
            "model", ""
        ):
            return Reply(404, {"error": {"message": f"no sampler weights {body.get('model')}"}})
        return Reply(200, chat_reply(body, json.dumps({"answer": "fine-tuned"})))
