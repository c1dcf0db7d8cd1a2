"""The request and result types shared by the engine, the batcher and the HTTP layer."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class CompletionRequest:
    """A validated chat-completion request, reduced to what changes the output."""

    model: str
    messages: list[dict[str, str]]
    max_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 1.0
    stop: list[str] = field(default_factory=list)
    response_format: dict[str, Any] | None = None
    grammar: Any = field(default=None, compare=False, repr=False)
    """The compiled ``response_format``, set by the app's compile pool before the request
    is queued, so the generation thread never compiles (it would stall every batch)."""
    logprobs: bool = False
    """Return each token's log-probability (recorded for a whole batch when any of its
    requests asks, so it is no part of :meth:`group_key`)."""

    def group_key(self) -> tuple[str, float, float, str]:
        """Requests with equal keys can share one ``generate`` call."""
        fmt = json.dumps(self.response_format, sort_keys=True) if self.response_format else ""
        return (self.model, self.temperature, self.top_p if self.temperature else 1.0, fmt)


@dataclass
class Completion:
    text: str
    prompt_tokens: int
    completion_tokens: int
    # OpenAI's "stop" or "length" (also when the time limit cut it); "cancelled" when the
    # client went away, which no client sees.
    finish_reason: str
    timed_out: bool = False
    logprobs: list[tuple[str, float]] | None = None
    """Per token, its text (the pieces rebuild ``text``) and log-probability, when asked."""
