"""Red-team cases against ``serve`` (issue 15 §4), each in a bounded test.

The schema flood is the red team's repro: 45 concurrent requests, each with its own
~100 kB ``response_format`` (an ``anyOf`` of 1,500 objects). Before, they compiled on
the request threads and every other completion timed out 18 minutes later; now they are
refused by the schema limits, and with the limits lifted the compile pool holds them
while other completions go on.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.serve.helpers import RawConnection, chat_body

ATTACKERS = 45


def attack_format(seed: int, branches: int = 1500) -> dict[str, Any]:
    """A distinct ~100 kB schema per seed: an anyOf of ``branches`` small objects."""
    objects = [
        {"type": "object", "properties": {f"s{seed}k{i}": {"type": "integer"}}}
        for i in range(branches)
    ]
    schema = {"anyOf": objects}
    return {"type": "json_schema", "json_schema": {"name": f"a{seed}", "schema": schema}}


def _post(url: str, body: dict[str, Any], timeout: float = 120) -> httpx.Response:
    return httpx.post(f"{url}/chat/completions", json=body, timeout=timeout)


def _quick_completions(url: str, stop: threading.Event) -> list[float]:
    """Plain completions, one after another until ``stop``: how long each took."""
    took = []
    while not stop.is_set() or not took:
        started = time.monotonic()
        reply = _post(url, chat_body(text="quick", max_tokens=2), timeout=60)
        assert reply.status_code == 200, reply.text
        took.append(time.monotonic() - started)
    return took


def _flood(url: str, formats: list[dict[str, Any]]) -> tuple[list[httpx.Response], list[float]]:
    """Send every format at once while plain completions run beside them."""
    stop = threading.Event()
    with ThreadPoolExecutor(len(formats) + 1) as pool:
        quick = pool.submit(_quick_completions, url, stop)
        body = [chat_body(max_tokens=2, response_format=f) for f in formats]
        replies = list(pool.map(lambda b: _post(url, b), body))
        stop.set()
        return replies, quick.result()


def test_the_schema_flood_is_refused_by_the_limits(server: str) -> None:
    formats = [attack_format(seed) for seed in range(ATTACKERS)]
    assert 90_000 < len(json.dumps(formats[0])) < 130_000
    started = time.monotonic()
    replies, quick = _flood(server, formats)
    assert time.monotonic() - started < 60
    for reply in replies:
        assert reply.status_code == 400
        error = reply.json()["error"]
        assert error["code"] == "max_schema_bytes" and "--max-schema-bytes" in error["message"]
    assert max(quick) < 15, quick
    # Cut to 100 branches (7 kB) the same shape is refused for what it would cost.
    small = _post(server, chat_body(max_tokens=2, response_format=attack_format(0, 100)))
    assert small.status_code == 400 and small.json()["error"]["code"] == "max_schema_complexity"


@pytest.fixture(scope="module")
def open_server(models: dict[str, Path]) -> Iterator[str]:
    """Schema limits lifted: only the compile pool (one thread, two waiting) stands guard."""
    from fieldwise.serve import SchemaLimits, create_app, running_server

    app = create_app(
        str(models["base"]),
        {},
        device="cpu",
        base_name="tiny",
        schema_limits=SchemaLimits(max_bytes=10**7, max_complexity=10**9, max_branches=10**6),
        compile_workers=1,
        compile_queue=2,
        compile_timeout_s=20,
    )
    try:
        with running_server(app) as url:
            yield url
    finally:
        app.close()


@pytest.mark.slow
def test_with_limits_lifted_the_pool_holds_the_flood(open_server: str) -> None:
    root = open_server.removesuffix("/v1")
    seen: list[tuple[int, str]] = []
    stop = threading.Event()

    def watch_health() -> None:
        while not stop.is_set():
            reply = httpx.get(f"{root}/health", timeout=30)
            seen.append((reply.status_code, reply.json()["status"]))
            time.sleep(0.05)

    watcher = threading.Thread(target=watch_health)
    watcher.start()
    try:
        # 100 branches each: ~1 s to compile here (1,500 would take minutes of CPU).
        formats = [attack_format(s, branches=100) for s in range(ATTACKERS)]
        replies, quick = _flood(open_server, formats)
    finally:
        stop.set()
        watcher.join()
    codes = [r.status_code for r in replies]
    # At most one compiling and two queued at any time: the rest are told to come back.
    assert codes.count(200) >= 1 and codes.count(503) >= 20, codes
    assert set(codes) <= {200, 503}, codes
    busy = next(r for r in replies if r.status_code == 503)
    assert busy.headers["retry-after"] == "1" and busy.json()["error"]["code"] == "compile_busy"
    assert (503, "saturated") in seen
    assert max(quick) < 15, quick
    stats = httpx.get(f"{open_server}/stats").json()["compile"]
    assert stats["compiled"] == codes.count(200) and stats["refused"] >= 20
    # A compiled schema is cached by its hash: asking again costs no compile.
    first_ok = codes.index(200)
    again = _post(open_server, chat_body(max_tokens=2, response_format=formats[first_ok]))
    assert again.status_code == 200
    after = httpx.get(f"{open_server}/stats").json()["compile"]
    assert after["compiled"] == stats["compiled"] and after["cache_hits"] > stats["cache_hits"]
    assert httpx.get(f"{root}/health").json()["status"] == "ok"


def test_a_lone_surrogate_is_400_not_500(server: str) -> None:
    body = b'{"model": "tiny", "messages": [{"role": "user", "content": "a \\ud800 b"}]}'
    reply = httpx.post(
        f"{server}/chat/completions", content=body, headers={"content-type": "application/json"}
    )
    assert reply.status_code == 400, reply.text
    assert reply.json()["error"]["param"] == "messages[0].content"
    # A surrogate *pair* is one valid character, and is answered.
    pair = body.replace(b"\\ud800", b"\\ud83d\\ude00")
    ok = httpx.post(
        f"{server}/chat/completions",
        content=pair.replace(b'"tiny"', b'"tiny", "max_tokens": 2'),
        headers={"content-type": "application/json"},
    )
    assert ok.status_code == 200, ok.text


def test_a_lone_surrogate_in_the_schema_or_model_name_is_400(server: str) -> None:
    for raw in (
        b'{"model": "\\udfff", "messages": [{"role": "user", "content": "x"}]}',
        b'{"model": "tiny", "messages": [{"role": "user", "content": "x"}], '
        b'"response_format": {"type": "json_schema", "json_schema": {"name": "x", '
        b'"schema": {"enum": ["\\ud800"]}}}}',
    ):
        reply = httpx.post(
            f"{server}/chat/completions", content=raw, headers={"content-type": "application/json"}
        )
        assert reply.status_code == 400, reply.text


def test_slowloris_connections_do_not_starve_other_requests(server: str) -> None:
    """Dozens of clients trickling their headers hold sockets, not the server."""
    parts = urlsplit(server)
    socks = []
    try:
        for _ in range(40):
            sock = socket.create_connection((parts.hostname, parts.port), timeout=10)
            sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\nX-Slow: ")
            socks.append(sock)
        for sock in socks:
            sock.sendall(b"a")
        started = time.monotonic()
        reply = _post(server, chat_body(text="quick", max_tokens=2), timeout=30)
        assert reply.status_code == 200 and time.monotonic() - started < 15
        for sock in socks:  # still trickling: the server kept them without a reply
            sock.sendall(b"b")
    finally:
        for sock in socks:
            sock.close()
    with RawConnection(server) as conn:  # and nothing they did broke the server
        conn.send(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
        assert conn.response()[0] == 200


def test_streaming_clients_dropping_mid_stream_are_all_cancelled(server: str) -> None:
    before = httpx.get(f"{server}/stats").json()["cancelled"]

    def read_one_piece_and_leave(i: int) -> None:
        body = chat_body(text=f"stream {i}", max_tokens=2**20, stream=True)
        with httpx.stream("POST", f"{server}/chat/completions", json=body, timeout=60) as reply:
            lines = (line for line in reply.iter_lines() if line)
            next(lines)  # the role chunk
            next(lines)  # one piece of text; leaving the block closes the connection

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(read_one_piece_and_leave, range(8)))
    deadline = time.monotonic() + 30
    while httpx.get(f"{server}/stats").json()["cancelled"] < before + 8:
        assert time.monotonic() < deadline, "rows kept generating after their clients left"
        time.sleep(0.1)
    reply = _post(server, chat_body(text="after", max_tokens=2), timeout=30)
    assert reply.status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/v1/models/../../etc/passwd",
        "/v1/models/..%2F..%2Fetc%2Fpasswd",
        "/v1/models/%2Fetc%2Fpasswd",
    ],
)
def test_model_paths_are_names_not_files(server: str, path: str) -> None:
    root = server.removesuffix("/v1")
    with RawConnection(server) as conn:
        conn.send(f"GET {path} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
        status, headers, body = conn.response()
    assert status == 404 and headers["content-type"] == "application/json"
    assert b"root:" not in body
    assert httpx.get(f"{root}/health").status_code == 200


@pytest.mark.parametrize("name", ["../evil", "a.b", "/abs", "two words", ""])
def test_adapter_names_that_are_paths_are_refused_before_loading(
    name: str, models: dict[str, Path]
) -> None:
    from fieldwise.errors import UserError
    from fieldwise.serve import create_app, parse_adapters

    with pytest.raises(UserError, match="adapter"):
        parse_adapters([f"{name}={models['alpha']}"])
    with pytest.raises(UserError, match="bad adapter name"):
        create_app(str(models["base"]), {name: str(models["alpha"])}, device="cpu")
