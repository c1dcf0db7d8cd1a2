"""``serve`` closes a connection whose request headers do not arrive in time (slowloris),
and still answers a client that sends a whole request."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

pytest.importorskip("uvicorn")

from fieldwise.serve import _uvicorn  # noqa: E402
from fieldwise.serve._http import HeaderTimeoutProtocol  # noqa: E402


async def _hello(scope: dict[str, Any], receive: Any, send: Any) -> None:
    headers = [(b"content-length", b"5")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"hello"})


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    monkeypatch.setattr(HeaderTimeoutProtocol, "header_timeout_s", 0.5)
    sock = socket.create_server(("127.0.0.1", 0))
    srv = _uvicorn(SimpleNamespace(asgi=_hello))  # type: ignore[arg-type]
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    try:
        yield sock.getsockname()[1]
    finally:
        srv.should_exit = True
        thread.join(10)
        sock.close()


def _closed_within(conn: socket.socket, seconds: float) -> bool:
    conn.settimeout(seconds)
    try:
        return conn.recv(1024) == b""
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True


def test_slow_headers_are_cut_off_and_whole_requests_answered(server: int) -> None:
    with socket.create_connection(("127.0.0.1", server)) as slow:
        slow.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # never finishes its headers
        assert _closed_within(slow, 5), "a slow client kept its connection"
    with socket.create_connection(("127.0.0.1", server)) as idle:
        assert _closed_within(idle, 5), "a client that sends nothing kept its connection"
    with socket.create_connection(("127.0.0.1", server)) as good:
        good.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        good.settimeout(5)
        reply = b""
        while not reply.endswith(b"hello"):
            chunk = good.recv(4096)
            assert chunk, reply
            reply += chunk
        assert reply.startswith(b"HTTP/1.1 200") and reply.endswith(b"hello")
        # A kept-alive connection that starts a second request and stalls is cut off too.
        time.sleep(0.7)  # longer than the header deadline: idle time is keep-alive's
        good.sendall(b"GET / HTTP/1.1\r\nHo")
        assert _closed_within(good, 5)
