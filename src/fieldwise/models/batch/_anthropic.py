"""Anthropic's Message Batches API: one ``/v1/messages/batches`` request carrying every
request's ``params``, polled until ``ended``, then its results streamed as JSONL."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from fieldwise.errors import require
from fieldwise.models._model import Generation
from fieldwise.models._responses import field
from fieldwise.models.anthropic_backend import AnthropicModel, parse_message
from fieldwise.models.batch import (
    BULK_TIMEOUT_S,
    BatchAPI,
    BatchState,
    create_errors,
    describe_error,
    error_generation,
    parse_result_lines,
    sdk_errors,
)
from fieldwise.tasks import Example

NOT_CREATED = frozenset({429, 529})
"""Statuses that say the batch was not made (rate-limited, overloaded), so creating it
again cannot pay twice. Anthropic takes the requests in the create itself and lists
batches with nothing that names them, so a create whose answer is lost cannot be found
again: it is not retried (see :class:`~fieldwise.models.batch.UnconfirmedCreate`)."""


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
        with create_errors(anthropic, self.model, self.base_url, NOT_CREATED):
            batch = await self.anthropic_model.client().post(
                "/v1/messages/batches",
                content=body,
                cast_to=MessageBatch,
                options={"timeout": BULK_TIMEOUT_S},
            )
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
        return BatchState(
            status=status,
            ended=ended,
            done=done,
            total=done + counts.processing,
            files={"results": batch.results_url},
        )

    async def results(self, state: BatchState, batch_id: str) -> dict[str, Generation]:
        import anthropic

        url = state.files.get("results")
        if not url:
            return {}
        # The raw file, parsed line by line here: the SDK's decoder stops the whole
        # download at the first line that is not JSON (and so would every rerun).
        with sdk_errors(anthropic, self.model, self.base_url):
            raw = await self.anthropic_model.client().get(
                url,
                cast_to=bytes,
                options={"headers": {"Accept": "application/binary"}, "timeout": BULK_TIMEOUT_S},
            )
        return parse_result_lines(raw, lambda line: _generation(line.get("result")))


def _generation(result: Any) -> Generation:
    kind = field(result, "type")
    if kind == "succeeded":
        try:
            return parse_message(field(result, "message"), 0.0)
        except (ValueError, TypeError, AttributeError) as exc:
            return error_generation(f"malformed response body ({exc})")
    if kind == "errored":
        return error_generation(f"request failed: {describe_error(field(result, 'error'))}")
    if kind == "expired":
        return error_generation("the batch expired before this request ran")
    if kind == "canceled":
        return error_generation("the batch was cancelled before this request ran")
    return error_generation(f"unknown result type {str(kind)[:100]!r}")


__all__ = ["AnthropicBatch"]
