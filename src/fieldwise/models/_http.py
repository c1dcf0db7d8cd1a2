"""A lean keep-alive HTTP/1.1 client for posting JSON to one origin.

Why not the SDK's httpx stack: at 32 requests in flight, the ``openai`` SDK plus httpx
spend about 1.9 ms of CPU per chat completion on this project's 2-core benchmark box (request
building, the connection pool's bookkeeping, response models), more than everything else
in a run put together; this client spends a fraction of that (``docs/benchmarks.md``,
"Runner on the CLI path"). It does only what a JSON API call needs: ``POST`` with a
``Content-Length`` body, responses with ``Content-Length``, chunked or read-to-close
bodies, ``gzip``/``deflate`` if a server compresses anyway, TLS with certifi's roots (or
the system's), and reuse of idle connections (a request that fails on a reused connection
before any response byte arrived is sent once more on a fresh one, as browsers and
urllib3 do, since the server may have closed it while idle).

What it does not do: proxies, HTTP/2, redirects, cookies. A backend that finds a proxy
configured for its host uses its SDK's client instead (see :func:`proxied`).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import urllib.request
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlparse

MAX_BODY = 64 * 1024 * 1024
"""Largest response body read (bytes); a bigger one is an error, not a memory blow-up."""


class HTTPError(Exception):
    """The connection failed or the server broke the protocol (worth retrying)."""


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    """Lower-cased names."""
    body: bytes


def proxied(url: str) -> bool:
    """Whether the environment routes requests to ``url`` through a proxy."""
    parsed = urlparse(url)
    proxies = urllib.request.getproxies()
    if not (proxies.get(parsed.scheme) or proxies.get("all")):
        return False
    return not urllib.request.proxy_bypass(parsed.hostname or "")


def _ssl_context() -> ssl.SSLContext:
    try:
        import certifi
    except ImportError:  # pragma: no cover - certifi comes with the SDKs
        return ssl.create_default_context()
    return ssl.create_default_context(cafile=certifi.where())


_Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class JSONClient:
    """Pooled connections to the origin of ``base_url``; paths are joined onto its path.

    Connections belong to the event loop that opened them: use one client per loop
    (``PerLoopClient``). ``headers`` are sent with every request.
    """

    def __init__(self, base_url: str, headers: dict[str, str], max_idle: int = 256) -> None:
        parsed = urlparse(base_url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError(f"not an http(s) URL: {base_url}")
        self.host = parsed.hostname
        self.tls = parsed.scheme == "https"
        self.port = parsed.port or (443 if self.tls else 80)
        self.prefix = parsed.path.rstrip("/")
        default_port = self.port == (443 if self.tls else 80)
        authority = self.host if default_port else f"{self.host}:{self.port}"
        fixed = {"Host": authority, "Accept-Encoding": "identity", **headers}
        self._head = "".join(f"{k}: {v}\r\n" for k, v in fixed.items())
        self._ssl = _ssl_context() if self.tls else None
        self._idle: list[_Conn] = []
        self._max_idle = max_idle

    async def post(
        self, path: str, body: bytes, sink: Callable[[bytes], None] | None = None
    ) -> Response:
        """POST ``body`` (JSON) and read the whole response.

        With ``sink``, a successful (2xx) response's body is handed to ``sink`` piece by
        piece as it arrives (a server-sent event stream) and ``Response.body`` is empty;
        an error response is read whole as usual."""
        head = (
            f"POST {self.prefix}{path} HTTP/1.1\r\n{self._head}"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode("latin-1")
        while self._idle:
            conn = self._idle.pop()
            if conn[1].is_closing() or conn[0].at_eof():
                conn[1].close()
                continue
            try:
                return await self._exchange(conn, head, body, sink=sink)
            except _Stale:
                continue  # closed by the server while idle: try the next (or a new) one
        return await self._exchange(await self._connect(), head, body, fresh=True, sink=sink)

    async def _connect(self) -> _Conn:
        try:
            return await asyncio.open_connection(self.host, self.port, ssl=self._ssl, limit=1 << 20)
        except (OSError, ssl.SSLError) as exc:
            raise HTTPError(f"cannot connect to {self.host}:{self.port}: {exc}") from exc

    async def _exchange(
        self,
        conn: _Conn,
        head: bytes,
        body: bytes,
        fresh: bool = False,
        sink: Callable[[bytes], None] | None = None,
    ) -> Response:
        reader, writer = conn
        keep = answered = False
        try:
            writer.write(head + body)
            await writer.drain()
            try:
                raw = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError as exc:
                if not fresh and not exc.partial:
                    raise _Stale from exc
                raise HTTPError("the server closed the connection without answering") from exc
            answered = True
            status, headers, keep_alive = _parse_head(raw)
            if sink is not None and 200 <= status < 300:
                if headers.get("content-encoding", "").lower().strip() not in ("", "identity"):
                    raise ValueError("a compressed event stream is not supported")
                await _stream_body(reader, headers, sink)
                data = b""
            else:
                data = await _read_body(reader, headers, status)
            # Reusable only when the whole body was read and its end was marked (a
            # read-to-close body used the connection up; a failed read left it dirty).
            keep = keep_alive and (
                "content-length" in headers or "chunked" in headers.get("transfer-encoding", "")
            )
            return Response(status, headers, _decode(data, headers.get("content-encoding", "")))
        except (ConnectionError, BrokenPipeError) as exc:
            if not fresh and not answered:
                raise _Stale from exc
            raise HTTPError(f"connection error: {exc}") from exc
        except (
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            ValueError,
            zlib.error,
        ) as exc:
            raise HTTPError(f"bad HTTP response: {exc}") from exc
        finally:
            if keep and len(self._idle) < self._max_idle:
                self._idle.append(conn)
            else:
                writer.close()

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for _, writer in idle:
            writer.close()
        for _, writer in idle:
            with contextlib.suppress(OSError, ssl.SSLError):
                await writer.wait_closed()


class _Stale(Exception):
    """A reused connection turned out to be closed before the request got an answer."""


def _parse_head(raw: bytes) -> tuple[int, dict[str, str], bool]:
    lines = raw.decode("latin-1").split("\r\n")
    version, _, rest = lines[0].partition(" ")
    if not version.startswith("HTTP/"):
        raise ValueError(f"not an HTTP status line: {lines[0][:80]!r}")
    status = int(rest[:3])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    connection = headers.get("connection", "").lower()
    keep = "close" not in connection and (version != "HTTP/1.0" or "keep-alive" in connection)
    return status, headers, keep


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str], status: int) -> bytes:
    if status in (204, 304) or 100 <= status < 200:
        return b""
    parts: list[bytes] = []
    await _stream_body(reader, headers, parts.append)
    return b"".join(parts)


async def _stream_body(
    reader: asyncio.StreamReader, headers: dict[str, str], sink: Callable[[bytes], None]
) -> None:
    """Hand a body to ``sink`` as it arrives: chunk by chunk (chunked), whole (with a
    ``Content-Length``), or read by read until the server closes; over ``MAX_BODY``
    bytes in all is an error, not a memory blow-up."""
    size = 0
    if "chunked" in headers.get("transfer-encoding", "").lower():
        while True:
            line = await reader.readuntil(b"\r\n")
            n = int(line.split(b";", 1)[0].strip(), 16)
            if n == 0:
                while await reader.readuntil(b"\r\n") != b"\r\n":
                    pass  # trailers
                return
            size += n
            if size > MAX_BODY:
                raise ValueError(f"response body over {MAX_BODY} bytes")
            sink(await reader.readexactly(n))
            await reader.readexactly(2)
    length = headers.get("content-length")
    if length is not None:
        if int(length) > MAX_BODY:
            raise ValueError(f"response body over {MAX_BODY} bytes")
        sink(await reader.readexactly(int(length)))
        return
    while piece := await reader.read(65536):
        size += len(piece)
        if size > MAX_BODY:
            raise ValueError(f"response body over {MAX_BODY} bytes")
        sink(piece)


def _decode(data: bytes, encoding: str) -> bytes:
    encoding = encoding.lower().strip()
    if encoding in ("", "identity"):
        return data
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompress(data, 16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return zlib.decompress(data)
    raise ValueError(f"unsupported content-encoding {encoding!r}")
