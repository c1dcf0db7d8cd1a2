"""A fake OpenAI-compatible server whose latencies follow a known distribution.

The load-test checks compare measured percentiles with the truth, so the truth must be
known exactly: each response waits a log-normal time (median ``--median``, log-sd
``--sigma``), and when streamed, its first token comes after a log-normal TTFT (median
``--ttft-median``) and every further token ``--tpot`` seconds after the previous one.

The draws are stratified, not random. A request whose last user message holds a marker
``[q=0.1234]`` waits exactly the log-normal quantile at that level, so a test whose
documents carry the quantiles (i + 0.5) / n, i = 0..n-1, and that replays each once per
level sees the distribution itself, not a sample of it, whatever the order, concurrency
or warm-up: what the check measures is the client's timing error, not sampling noise
(with random draws the p99 of a few hundred requests wanders by ~5% on its own).
Requests without a marker get, in a seeded shuffled order, every ``--period``
consecutive requests exactly the quantiles at (i + 0.5) / period.

It is a bare asyncio HTTP/1.1 server (keep-alive, ``TCP_NODELAY``, chunked event
streams) that waits with timers and costs little CPU per request; ``GET /_stats`` returns
the process CPU seconds and requests served, so benchmarks can report its own cost.
Every wait is scheduled on an absolute deadline from the moment the request arrived, so
timer overshoots do not add up along a stream. Run it in its own process::

    python -m tests.fakes.latency_server --median 0.2 --sigma 0.4 --period 300

It prints its base URL (``http://127.0.0.1:PORT/v1``) on the first line of stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import queue
import random
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass
from pathlib import Path

MARKER = re.compile(r"\[q=(0\.\d+)\]")
REPLY = {"name": "x", "start_date": "2011-01-01", "event_type": ["detention"]}
"""The content every response carries (valid JSON; what it scores does not matter)."""


@dataclass
class Schedule:
    """Stratified log-normal draws: one shuffled period of quantiles after another."""

    median: float
    sigma: float
    period: int
    seed: int

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._queue: list[float] = []

    def quantile(self, q: float) -> float:
        return self.median * math.exp(self.sigma * statistics.NormalDist().inv_cdf(q))

    def next(self, marker: float | None = None) -> float:
        if marker is not None:
            return self.quantile(marker)
        if not self._queue:
            self._queue = [self.quantile((i + 0.5) / self.period) for i in range(self.period)]
            self._rng.shuffle(self._queue)
        return self._queue.pop()


class LatencyServer:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.total = Schedule(args.median, args.sigma, args.period, args.seed)
        self.ttft = Schedule(args.ttft_median, args.sigma, args.period, args.seed + 1)
        self.requests = 0
        self.cpu0 = time.process_time()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                arrived = asyncio.get_running_loop().time()
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                length = 0
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value.strip())
                body = await reader.readexactly(length) if length else b""
                if method == "GET" and path.endswith("/_stats"):
                    self._json(writer, self.stats())
                elif method == "POST" and path.endswith("/chat/completions"):
                    self.requests += 1
                    request = json.loads(body)
                    q = marker(request)
                    if request.get("stream"):
                        await self._stream(writer, request, arrived, q)
                    else:
                        await self._sleep_until(arrived + self.total.next(q))
                        self._json(writer, completion(request))
                else:
                    self._json(writer, {"error": {"message": "not found"}}, 404)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def stats(self) -> dict[str, float]:
        return {"cpu_s": time.process_time() - self.cpu0, "requests": self.requests}

    async def _sleep_until(self, deadline: float) -> None:
        await asyncio.sleep(max(0.0, deadline - asyncio.get_running_loop().time()))

    def _json(self, writer: asyncio.StreamWriter, payload: object, status: int = 200) -> None:
        data = json.dumps(payload).encode()
        writer.write(
            f"HTTP/1.1 {status} OK\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\n\r\n".encode()
            + data
        )

    async def _stream(
        self, writer: asyncio.StreamWriter, request: dict, arrived: float, q: float | None
    ) -> None:
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        text = json.dumps(REPLY)
        n = self.args.tokens
        pieces = [text[i * len(text) // n : (i + 1) * len(text) // n] for i in range(n)]
        first = arrived + self.ttft.next(q)
        _chunk(writer, {"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]})
        for i, piece in enumerate(pieces):
            await self._sleep_until(first + i * self.args.tpot)
            _chunk(writer, {"choices": [{"index": 0, "delta": {"content": piece}}]})
            await writer.drain()
        finish = {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
        _chunk(writer, finish)
        usage = {"prompt_tokens": 100, "completion_tokens": n, "total_tokens": 100 + n}
        _chunk(writer, {"choices": [], "usage": usage})
        writer.write(_frame(b"data: [DONE]\n\n"))
        writer.write(b"0\r\n\r\n")


def marker(request: dict) -> float | None:
    """The quantile a request's last user message asks for (``[q=0.25]``), if any."""
    for message in reversed(request.get("messages") or []):
        if message.get("role") == "user":
            found = MARKER.search(str(message.get("content", "")))
            return float(found.group(1)) if found else None
    return None


def _frame(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def _chunk(writer: asyncio.StreamWriter, event: dict) -> None:
    writer.write(_frame(b"data: " + json.dumps(event).encode() + b"\n\n"))


def completion(request: dict) -> dict:
    return {
        "id": "chatcmpl-latency",
        "object": "chat.completion",
        "model": request.get("model", "fake"),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": json.dumps(REPLY)},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--median", type=float, default=0.2, help="median latency (s)")
    parser.add_argument("--sigma", type=float, default=0.4, help="log-sd of the latencies")
    parser.add_argument("--ttft-median", type=float, default=0.1, help="median TTFT (s)")
    parser.add_argument("--tpot", type=float, default=0.005, help="s between streamed tokens")
    parser.add_argument("--tokens", type=int, default=20, help="tokens per streamed reply")
    parser.add_argument("--period", type=int, default=300, help="requests per stratum set")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


@contextlib.contextmanager
def running(**options: object) -> Iterator[str]:
    """The server on a background thread (for functional tests; timing checks run it in
    its own process, see ``spawn``); yields its base URL. ``options`` are the flags."""
    args = parse_args([])
    for key, value in options.items():
        setattr(args, key, value)
    ready: queue.Queue[str] = queue.Queue()
    loop = asyncio.new_event_loop()

    async def start() -> None:
        server = LatencyServer(args)
        listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
        ready.put(f"http://127.0.0.1:{listener.sockets[0].getsockname()[1]}/v1")
        await listener.serve_forever()

    thread = threading.Thread(target=lambda: _run(loop, start()), daemon=True)
    thread.start()
    try:
        yield ready.get(timeout=10)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)


def _run(loop: asyncio.AbstractEventLoop, main: Awaitable[None]) -> None:
    with contextlib.suppress(RuntimeError):  # "loop stopped before Future completed"
        loop.run_until_complete(main)


@contextlib.contextmanager
def spawn(*flags: str) -> Iterator[str]:
    """The server in its own process (no GIL shared with the client); yields its URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.latency_server", *flags],
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline().strip()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def server_stats(url: str) -> dict[str, float]:
    """The server's own CPU seconds and requests served (``GET /_stats``)."""
    with urllib.request.urlopen(url + "/_stats", timeout=10) as resp:  # noqa: S310 - loopback
        return dict(json.load(resp))


async def serve(args: argparse.Namespace) -> None:
    server = LatencyServer(args)
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0, backlog=1024)
    port = listener.sockets[0].getsockname()[1]
    print(f"http://127.0.0.1:{port}/v1", flush=True)
    async with listener:
        await listener.serve_forever()


def main(argv: list[str] | None = None) -> None:
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(parse_args(argv)))


if __name__ == "__main__":
    main()
