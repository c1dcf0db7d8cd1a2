"""Provider batch APIs: the same requests as the online path, sent in bulk at a discount.

Adapters are registered in :data:`fieldwise.registry.batch_apis` (one line below, or a
``fieldwise.batch_apis`` entry point; imported only when a batch runs), and a backend
names the one it uses in its ``batch_api`` class attribute. An adapter builds each
request exactly as its backend does online (``model.request``) and parses each result
with the backend's own parser, so a prediction made through a batch is stored under the
same cache key with the same output, usage and finish reason. Everything else (splitting
into batches, the store, polling, progress, resume) is the runner's
(:mod:`fieldwise.runner.batch`).
"""

from __future__ import annotations

import asyncio
import json
import re
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, ClassVar, TypeVar

from fieldwise import registry
from fieldwise.errors import UserError
from fieldwise.models._model import Generation, Model, RetryableError
from fieldwise.tasks import Example

T = TypeVar("T")

BULK_TIMEOUT_S = 900.0
"""For the calls that move a whole batch (upload, create, download): up to 256 MB each,
far past the per-request ``timeout_s`` meant for one completion."""


@dataclass
class BatchState:
    """Where a submitted batch stands. ``ended``: no request will run any more (completed,
    expired, cancelled or failed), so its results can be downloaded; ``error`` explains a
    batch that failed as a whole (its requests get it as their error)."""

    status: str
    ended: bool
    done: int
    total: int
    error: str | None = None
    files: dict[str, str | None] = field(default_factory=dict)
    """Provider file ids to download results from (OpenAI: output and error files)."""


class BatchAPI(ABC):
    """One provider's batch API, driven through its official SDK."""

    provider: ClassVar[str]
    max_requests: ClassVar[int]
    """The provider's limit on requests per batch."""
    max_bytes: ClassVar[int]
    """The provider's limit on one batch's size (the JSONL file, or the request body)."""
    uploads: ClassVar[bool] = False
    """Whether :meth:`upload` gives an input file that names the batch before it exists
    (so a create interrupted at any point can be found again with :meth:`find`)."""
    unfinished_error: ClassVar[str] = "the batch ended before this request ran"

    def __init__(self, model: Model) -> None:
        self.model = model

    @property
    def base_url(self) -> str:
        return str(getattr(self.model, "base_url", ""))

    @abstractmethod
    def encode(self, key: str, example: Example) -> bytes:
        """One request as a JSONL line (newline included), ``key`` as its ``custom_id``."""

    async def upload(self, lines: list[bytes]) -> str | None:
        """Upload the requests as an input file and return its id, for providers that
        take one (OpenAI); ``None`` where the requests go with :meth:`create`."""
        return None

    @abstractmethod
    async def create(self, lines: list[bytes], file_id: str | None) -> str:
        """Create a batch of these requests (or of the uploaded file) and return its id.

        Raise :class:`RetryableError` only where the provider said that no batch was
        made (a 429), so trying again cannot pay twice; a create whose answer was lost
        (a timeout, a dropped connection, a 5xx) raises :class:`UnconfirmedCreate`
        (see :func:`create_errors`)."""

    async def find(self, file_id: str, since: float | None) -> str | None:
        """The batch already made from an uploaded file, if any: what a create whose
        answer was lost (a timeout, a killed process) left behind. ``since``: when the
        first create for the file was sent (epoch seconds), so the search can stop at
        batches older than that; ``None``: look through them all."""
        return None

    @abstractmethod
    async def poll(self, batch_id: str) -> BatchState:
        """The batch's current state."""

    @abstractmethod
    async def results(self, state: BatchState, batch_id: str) -> dict[str, Generation]:
        """The generations of an ended batch by ``custom_id``; a request that did not run
        is absent (or present with its error)."""

    async def aclose(self) -> None:
        await self.model.aclose()


def batch_api_for(model: Model) -> BatchAPI:
    """The batch adapter of a model's backend, or a :class:`UserError` if it has none."""
    name = type(model).batch_api
    if name is None:
        raise UserError(
            f"{model.spec} cannot run as a batch: provider '{model.provider}' has no batch API",
            hint=f"batch works with {', '.join(registry.batch_apis)} models; drop batch/--batch",
        )
    cls: type[BatchAPI] = registry.batch_apis.get(name)
    return cls(model)


class UnconfirmedCreate(Exception):
    """A batch create got no answer (a timeout, a dropped connection, a 5xx): the
    provider may have made the batch or not, so creating again could pay twice."""


@contextmanager
def create_errors(
    sdk: ModuleType, model: Model, base_url: str, not_created: frozenset[int]
) -> Iterator[None]:
    """:func:`sdk_errors` for a create: a retryable failure is retried only when its
    status is one of ``not_created`` (the provider refused before making anything);
    every other one is an :class:`UnconfirmedCreate`, never retried blindly."""
    try:
        with sdk_errors(sdk, model, base_url):
            yield
    except RetryableError as exc:
        if getattr(exc.__cause__, "status_code", None) in not_created:
            raise
        raise UnconfirmedCreate(f"creating the batch got no answer: {exc}") from exc


@contextmanager
def sdk_errors(sdk: ModuleType, model: Model, base_url: str) -> Iterator[None]:
    """Map an SDK call's failures onto the runner's contract, as the online backends do:
    429/5xx/timeouts retryable, a rejected key or unknown model a :class:`UserError`."""
    from fieldwise.models._errors import map_status_error

    try:
        yield
    except sdk.APIStatusError as exc:
        raise map_status_error(
            exc.status_code, exc.message, exc.response.headers, model.spec, base_url
        ) from exc
    except sdk.APITimeoutError as exc:
        raise RetryableError("request timed out") from exc
    except sdk.APIConnectionError as exc:
        raise RetryableError(f"connection error: {exc.__cause__ or exc}") from exc


async def with_retries(
    call: Callable[[], Awaitable[T]], max_retries: int, delay: Callable[[int, float | None], float]
) -> T:
    """``call()``, retried on :class:`RetryableError` with the runner's backoff."""
    attempt = 0
    while True:
        try:
            return await call()
        except RetryableError as exc:
            if attempt >= max_retries:
                raise
            await asyncio.sleep(delay(attempt, exc.retry_after))
            attempt += 1


def error_generation(message: str) -> Generation:
    return Generation(None, error=message)


_CUSTOM_ID = re.compile(rb'"custom_id"\s*:\s*"((?:[^"\\]|\\.){1,200})"')


def parse_result_lines(
    raw: bytes, parse: Callable[[dict[str, Any]], Generation]
) -> dict[str, Generation]:
    """A results file (JSONL, one request's result per line) by ``custom_id``.

    ``parse`` turns one decoded line into its generation. A line that is not JSON (cut
    short, garbled) is the error of the request it names, when its ``custom_id`` can
    still be read, and is skipped otherwise (that request then counts as not run): either
    way the good lines are stored, the batch is closed, and only the bad rows are sent
    again by the next run."""
    found: dict[str, Generation] = {}
    for line in raw.splitlines():
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except (ValueError, RecursionError):
            match = _CUSTOM_ID.search(line)
            if match is not None:
                custom_id = match.group(1).decode("utf-8", "replace")
                found[custom_id] = error_generation("malformed result line from the provider")
            continue
        if isinstance(item, dict) and isinstance(item.get("custom_id"), str):
            try:
                found[item["custom_id"]] = parse(item)
            except (ValueError, TypeError, AttributeError, RecursionError) as exc:
                found[item["custom_id"]] = error_generation(f"malformed result ({exc})")
    return found


def describe_error(error: Any) -> str:
    """A provider's error object (``{"message": ..., "code"/"type": ...}``) in one line."""
    if isinstance(error, dict):
        inner = error.get("error")
        if isinstance(inner, dict):
            return describe_error(inner)
        message = error.get("message") or ""
        code = error.get("code") or error.get("type") or ""
        return f"{code}: {message}" if code and message else str(message or code or error)
    return str(error)


registry.batch_apis.configure(check=BatchAPI)
registry.batch_apis.register("openai", "fieldwise.models.batch._openai:OpenAIBatch")
registry.batch_apis.register("anthropic", "fieldwise.models.batch._anthropic:AnthropicBatch")

__all__ = [
    "BULK_TIMEOUT_S",
    "BatchAPI",
    "BatchState",
    "UnconfirmedCreate",
    "batch_api_for",
    "create_errors",
    "describe_error",
    "error_generation",
    "parse_result_lines",
    "sdk_errors",
    "with_retries",
]
