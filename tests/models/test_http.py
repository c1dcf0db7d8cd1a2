"""The lean HTTP client against real sockets: reuse, stale connections, body framings."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import Awaitable, Callable

import pytest

from fieldwise.models import Model, RetryableError, create_model
from fieldwise.models._http import HTTPError, JSONClient, proxied
from fieldwise.tasks import Example, Task, load_task
from tests.fakes.openai_server import FakeServer
from tests.fakes.openai_server import fake_openai as fake_openai  # noqa: F401 - fixture


@pytest.fixture
def isaf() -> Task:
    return load_task("isaf")


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length")
    )
    return await reader.readexactly(length)


async def _serve(handler: Handler) -> tuple[asyncio.Server, str]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}/v1"


def test_connections_are_reused_and_bodies_framed_every_way() -> None:
    connections = 0
    replies = [
        b'HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n{"n": "cl"}',
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b'5\r\n{"n":\r\n8\r\n "chnk"}\r\n0\r\n\r\n',
    ]
    packed = gzip.compress(b'{"n": "gz"}')
    replies.append(
        b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(packed)
        + packed
    )

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        for reply in replies:
            await _read_request(reader)
            writer.write(reply)
            await writer.drain()
        await _read_request(reader)  # the last reply closes the connection
        writer.write(b'HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{"n": "eof"}')
        await writer.drain()
        writer.close()

    async def main() -> list[str]:
        server, url = await _serve(handler)
        client = JSONClient(url, {"Authorization": "Bearer x"})
        out = []
        for _ in range(4):
            resp = await client.post("/chat/completions", b"{}")
            assert resp.status == 200
            out.append(json.loads(resp.body)["n"])
        await client.close()
        server.close()
        return out

    assert asyncio.run(main()) == ["cl", "chnk", "gz", "eof"]
    assert connections == 1


def test_a_connection_closed_while_idle_is_replaced_without_an_error() -> None:
    connections = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
        await writer.drain()
        writer.close()  # keep-alive promised, then closed: the client finds out on reuse

    async def main() -> None:
        server, url = await _serve(handler)
        client = JSONClient(url, {})
        for _ in range(3):
            assert (await client.post("/x", b"{}")).body == b"{}"
            await asyncio.sleep(0.05)
        await client.close()
        server.close()

    asyncio.run(main())
    assert connections == 3


def test_a_fresh_connection_that_dies_is_an_http_error() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.close()

    async def main() -> None:
        server, url = await _serve(handler)
        client = JSONClient(url, {})
        with pytest.raises(HTTPError, match="closed the connection"):
            await client.post("/x", b"{}")
        server.close()
        with pytest.raises(HTTPError, match="cannot connect"):
            await JSONClient(url, {}).post("/x", b"{}")

    asyncio.run(main())


def test_backend_on_the_lean_path_matches_the_sdk_path(fake_openai: FakeServer, isaf: Task) -> None:
    ex = Example("a", "[m1] Kabul: two insurgents were detained.")
    outs = {}
    for transport in ("auto", "sdk"):
        model = create_model(
            "openai/fake", isaf, {"base_url": fake_openai.url, "transport": transport}
        )
        assert (model._lean is None) == (transport == "sdk")

        async def one(model: object = model) -> object:
            assert isinstance(model, Model)
            try:
                return (await model.generate([ex]))[0]
            finally:
                await model.aclose()

        outs[transport] = asyncio.run(one())
    assert outs["auto"].output == outs["sdk"].output  # type: ignore[attr-defined]
    assert outs["auto"].input_tokens == outs["sdk"].input_tokens  # type: ignore[attr-defined]
    bodies = [r.body for r in fake_openai.snapshot()]
    assert bodies[0] == bodies[1]
    assert {r.auth for r in fake_openai.snapshot()} == {"Bearer not-needed"}

    fake_openai.behaviour.script = ["429"]
    fake_openai.behaviour.retry_after_s = (0.7, 0.7)
    model = create_model("openai/fake", isaf, {"base_url": fake_openai.url})

    async def limited() -> None:
        try:
            await model.generate([ex])
        finally:
            await model.aclose()

    with pytest.raises(RetryableError) as info:
        asyncio.run(limited())
    assert info.value.retry_after == pytest.approx(0.7)
    assert "slow down" in str(info.value)


def test_a_configured_proxy_sends_the_backend_through_the_sdk(
    isaf: Task, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    assert proxied("https://api.openai.com/v1")
    assert not proxied("http://127.0.0.1:8000/v1")
    assert create_model("openai/gpt-4o", isaf)._lean is None
