"""Anthropic's Message Batches API: one ``/v1/messages/batches`` request carrying every
request's ``params``, polled until ``ended``, then its results streamed as JSONL."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from fieldwise.errors import require
from fieldwise.models._model import Generation, RetryableError
from fieldwise.models.anthropic_backend import AnthropicModel, parse_message
from fieldwise.models.batch import (
    BULK_TIMEOUT_S,
    BatchAPI,
    BatchState,
    describe_error,
    error_generation,
    sdk_errors,
)
from fieldwise.models.openai_backend import APIRequestError
from fieldwise.tasks import Example

NOT_CREATED = {429, 503, 529}
"""Statuses that say the batch was not created, so creating it again cannot pay twice."""


class AnthropicBatch(BatchAPI):
    provider: ClassVar[str] = "anthropic"
    max_requests: ClassVar[int] = 100_000
    max_bytes: ClassVar[int] = 256_000_000

    def __init__(self, model: Any) -> None:
        require("anthropic", "anthropic")
        assert isinstance(model, AnthropicModel)
        super().__init__(model)
        self.anthropic_model = model

    def encode(self, key: str, example: Example) -> bytes:
        params = self.anthropic_model.request(example)
        params.update(params.pop("extra_body", None) or {})
        line = {"custom_id": key, "params": params}
        return json.dumps(line, ensure_ascii=False).encode("utf-8") + b"\n"

    async def create(self, lines: list[bytes], file_id: str | None) -> str:
        import anthropic
        from anthropic.types.messages import MessageBatch

        # The encoded lines are the body as they are: the typed create() would re-walk
        # every request against its TypedDicts and serialize it all a second time.
        body = b'{"requests":[' + b",".join(line.rstrip(b"\n") for line in lines) + b"]}"
        try:
            with sdk_errors(anthropic, self.model, self.base_url):
                batch = await self.anthropic_model.client().post(
                    "/v1/messages/batches",
                    content=body,
                    cast_to=MessageBatch,
                    options={"timeout": BULK_TIMEOUT_S},
                )
        except RetryableError as exc:
            status = getattr(exc.__cause__, "status_code", None)
            if status in NOT_CREATED:
                raise
            # A timeout or 5xx may hide a batch that was created: never risk a second.
            raise APIRequestError(f"creating the batch failed (not retried): {exc}") from exc
        return str(batch.id)

    async def poll(self, batch_id: str) -> BatchState:
        import anthropic

        with sdk_errors(anthropic, self.model, self.base_url):
            batch = await self.anthropic_model.client().messages.batches.retrieve(batch_id)
        counts = batch.request_counts
        done = counts.succeeded + counts.errored + counts.canceled + counts.expired
        ended = batch.processing_status == "ended"
        status = batch.processing_status
        if ended:
            status = "expired" if counts.expired else "canceled" if counts.canceled else "ended"
        return BatchState(status=status, ended=ended, done=done, total=done + counts.processing)

    async def results(self, state: BatchState, batch_id: str) -> dict[str, Generation]:
        import anthropic

        found: dict[str, Generation] = {}
        client = self.anthropic_model.client()
        with sdk_errors(anthropic, self.model, self.base_url):
            results = await client.messages.batches.results(batch_id, timeout=BULK_TIMEOUT_S)
            async for item in results:
                found[item.custom_id] = _generation(item.result)
        return found


def _generation(result: Any) -> Generation:
    kind = getattr(result, "type", None)
    if kind == "succeeded":
        try:
            return parse_message(result.message, 0.0)
        except (ValueError, TypeError, AttributeError) as exc:
            return error_generation(f"malformed response body ({exc})")
    if kind == "errored":
        error = getattr(result, "error", None)
        dumped = error.model_dump() if error is not None and hasattr(error, "model_dump") else error
        return error_generation(f"request failed: {describe_error(dumped)}")
    if kind == "expired":
        return error_generation("the batch expired before this request ran")
    if kind == "canceled":
        return error_generation("the batch was cancelled before this request ran")
    return error_generation(f"unknown result type {kind!r}")


__all__ = ["AnthropicBatch"]
