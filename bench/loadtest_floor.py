"""The floor under ``client_cpu_ms_per_request``: a bare asyncio client, one connection.

It sends the same chat-completion request ``N`` times, one at a time, to an
OpenAI-compatible server (e.g. ``python -m tests.fakes.latency_server ...``) and reads each
answer without parsing it (chunked bodies chunk by chunk, as they arrive), then prints the
event-loop thread's CPU per request. What ``fieldwise loadtest`` reports at one client
cannot go below this on the same machine: it is the cost of the socket reads and event-loop
wake-ups themselves, one per streamed token.

    python bench/loadtest_floor.py URL [--stream] [--requests 30]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import time
from urllib.parse import urlparse


async def floor(url: str, stream: bool, requests: int) -> float:
    """Thread CPU milliseconds per request."""
    parts = urlparse(url)
    body = json.dumps(
        {"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": stream}
    ).encode()
    head = (
        f"POST {parts.path}/chat/completions HTTP/1.1\r\nHost: {parts.hostname}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    request = head.encode() + body
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    cpu0 = time.thread_time()
    for _ in range(requests):
        writer.write(request)
        await writer.drain()
        headers = await reader.readuntil(b"\r\n\r\n")
        if b"chunked" in headers.lower():
            while True:
                size = int((await reader.readuntil(b"\r\n")).strip(), 16)
                await reader.readexactly(size + 2)
                if size == 0:
                    break
        else:
            found = re.search(rb"content-length: *(\d+)", headers, re.I)
            await reader.readexactly(int(found.group(1)) if found else 0)
    cpu = time.thread_time() - cpu0
    writer.close()
    return cpu * 1000 / requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--stream", action="store_true")
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()
    ms = asyncio.run(floor(args.url, args.stream, args.requests))
    print(f"{'streamed' if args.stream else 'not streamed'}: {ms:.2f} ms thread CPU per request")


if __name__ == "__main__":
    main()
