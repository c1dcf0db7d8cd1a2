"""Streamed chat completions (``stream: true``): server-sent events into one completion.

Streaming changes no output; it is how time to first token (TTFT) and time per output
token are measured. :class:`StreamAssembler` takes the raw bytes of an event stream as
they arrive (``data: {...}`` lines, ``data: [DONE]`` at the end), notes the moment the
first output token came (the first non-empty content or tool-call argument delta: the
role-only first chunk many servers send is not a token), and rebuilds the completion a
non-streamed request would have returned (choices[0].message, finish_reason and, when
the server honours ``stream_options.include_usage``, usage), so the same parser turns
both into a :class:`~fieldwise.models.Generation`.
"""

from __future__ import annotations

import json
import time
from typing import Any

from fieldwise.models._responses import field


class StreamError(Exception):
    """The stream carried an error event, or was not an event stream of JSON chunks."""


class StreamAssembler:
    """Feed it bytes (:meth:`feed`) or parsed chunks (:meth:`add`); read
    :meth:`completion` and :attr:`first_token_at` (``time.perf_counter()`` seconds)."""

    def __init__(self) -> None:
        self._buffer = b""
        self._data: list[bytes] = []
        self._content: list[str] = []
        self._calls: dict[int, dict[str, Any]] = {}
        self.finish_reason: Any = None
        self.usage: Any = None
        self.first_token_at: float | None = None
        self.done = False
        self.chunks = 0

    def feed(self, data: bytes) -> None:
        """Raw stream bytes in any split; complete events are parsed as they close."""
        self._buffer += data
        while b"\n" in self._buffer:
            line, _, self._buffer = self._buffer.partition(b"\n")
            line = line.rstrip(b"\r")
            if not line:
                self._dispatch()
            elif line.startswith(b"data:"):
                self._data.append(line[5:].lstrip(b" "))
            # other SSE fields (event:, id:, retry:, comments) carry nothing we use

    def close(self) -> None:
        """The stream ended: an event without its closing blank line still counts."""
        if self._buffer.strip():
            self.feed(b"\n")
        self._dispatch()

    def _dispatch(self) -> None:
        if not self._data:
            return
        payload, self._data = b"\n".join(self._data), []
        if payload.strip() == b"[DONE]":
            self.done = True
            return
        try:
            chunk = json.loads(payload)
        except ValueError as exc:
            raise StreamError(f"malformed stream event ({exc}): {payload[:200]!r}") from None
        self.add(chunk)

    def add(self, chunk: Any) -> None:
        """One parsed chunk (a dict, or an SDK chunk object)."""
        error = field(chunk, "error")
        if error:
            message = field(error, "message") or error
            raise StreamError(f"the server sent an error in the stream: {message}")
        self.chunks += 1
        usage = field(chunk, "usage")
        if usage:
            self.usage = usage
        choices = field(chunk, "choices")
        if not isinstance(choices, list) or not choices:
            return
        choice = choices[0]
        delta = field(choice, "delta") or {}
        token = False
        text = field(delta, "content")
        if isinstance(text, str) and text:
            self._content.append(text)
            token = True
        for call in field(delta, "tool_calls") or []:
            index = field(call, "index")
            slot = self._calls.setdefault(index if isinstance(index, int) else 0, {})
            function = field(call, "function") or {}
            name = field(function, "name")
            if name:
                slot["name"] = name
            arguments = field(function, "arguments")
            if isinstance(arguments, str) and arguments:
                slot["arguments"] = slot.get("arguments", "") + arguments
                token = True
        if token and self.first_token_at is None:
            self.first_token_at = time.perf_counter()
        reason = field(choice, "finish_reason")
        if reason:
            self.finish_reason = reason

    def completion(self) -> dict[str, Any]:
        """The non-streamed completion this stream adds up to."""
        message: dict[str, Any] = {"role": "assistant", "content": "".join(self._content)}
        if self._calls:
            message["tool_calls"] = [
                {
                    "type": "function",
                    "function": {"name": c.get("name"), "arguments": c.get("arguments", "")},
                }
                for _, c in sorted(self._calls.items())
            ]
        if not self.chunks:
            raise StreamError("the stream held no completion chunks")
        return {
            "choices": [{"message": message, "finish_reason": self.finish_reason}],
            "usage": _plain(self.usage),
        }


def _plain(value: Any) -> Any:
    """SDK usage objects as dicts (the parser reads both, this keeps them comparable)."""
    if value is None or isinstance(value, dict):
        return value
    dump = getattr(value, "model_dump", None)
    return dump() if callable(dump) else value
