"""Prompts and small helpers shared by the serve tests."""

from __future__ import annotations

from typing import Any

MAX_TOKENS = 12
PROMPTS = [
    "An Afghan and coalition security force detained several suspected insurgents.",
    "Coalition forces killed two insurgents in Kandahar province.",
    "A weapons cache was found near Kabul.",
    "Security forces arrested a Taliban leader in Helmand.",
]

# Small enough for a random model to finish under the grammar within a few dozen tokens.
SCHEMA = {
    "type": "object",
    "properties": {
        "province": {"type": "string", "enum": ["kabul", "helmand"]},
        "airstrike": {"type": "boolean"},
    },
    "required": ["province", "airstrike"],
    "additionalProperties": False,
}
SCHEMA_FORMAT: dict[str, Any] = {
    "type": "json_schema",
    "json_schema": {"name": "event", "schema": SCHEMA},
}


def messages(text: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": "Extract JSON."}, {"role": "user", "content": text}]


class RawConnection:
    """One TCP connection speaking HTTP/1.1 by hand, for framing a client library won't send."""

    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        import socket
        from urllib.parse import urlsplit

        parts = urlsplit(base_url)
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=timeout)
        self.buffer = b""

    def __enter__(self) -> RawConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self) -> bool:
        data = self.sock.recv(65536)
        self.buffer += data
        return bool(data)

    def response(self) -> tuple[int, dict[str, str], bytes]:
        """The next response: status, lower-cased headers, body (by Content-Length)."""
        while b"\r\n\r\n" not in self.buffer:
            if not self._fill():
                raise ConnectionError(f"connection closed; got {self.buffer!r}")
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, v in (x.split(":", 1) for x in lines)}
        length = int(headers.get("content-length", "0"))
        while len(self.buffer) < length:
            if not self._fill():
                raise ConnectionError("connection closed mid-body")
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return int(status_line.split()[1]), headers, body


def chat_body(model: str = "tiny", text: str = "hi", **extra: object) -> dict[str, object]:
    return {"model": model, "messages": [{"role": "user", "content": text}], **extra}
