"""OpenAI's Batch API: a JSONL file of chat-completion requests uploaded to ``/v1/files``,
one ``/v1/batches`` job over it, and output/error files to download when it ends.

Any OpenAI-compatible host that implements these endpoints works the same way; one that
does not answers 404, which stops the run with the backend's usual message.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

import openai
from openai.types import Batch, FileObject
from openai.types.chat import ChatCompletion

from fieldwise.models._model import Generation
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
from fieldwise.models.openai_backend import OpenAIModel, parse_completion
from fieldwise.tasks import Example

ENDED = {"completed", "expired", "cancelled", "failed"}
NOT_CREATED = frozenset({429})
"""The one retryable status that says no batch was made; 5xx and timeouts may hide one."""
CLOCK_SKEW_S = 3600.0
""":meth:`OpenAIBatch.find` stops at batches made this long before the first create
for the file was sent: none older can be its batch, whatever the two clocks say."""


class OpenAIBatch(BatchAPI):
    provider: ClassVar[str] = "openai"
    max_requests: ClassVar[int] = 50_000
    max_bytes: ClassVar[int] = 200_000_000

    uploads: ClassVar[bool] = True

    def __init__(self, model: Any) -> None:
        assert isinstance(model, OpenAIModel)
        super().__init__(model)
        self.openai_model = model

    def encode(self, key: str, example: Example) -> bytes:
        body = self.openai_model.request(example)
        body.update(body.pop("extra_body", None) or {})
        line = {"custom_id": key, "method": "POST", "url": "/v1/chat/completions", "body": body}
        return json.dumps(line, ensure_ascii=False).encode("utf-8") + b"\n"

    async def upload(self, lines: list[bytes]) -> str | None:
        with sdk_errors(openai, self.model, self.base_url):
            upload: FileObject = await self.openai_model.client().files.create(
                file=("fieldwise-batch.jsonl", b"".join(lines), "application/jsonl"),
                purpose="batch",
                timeout=BULK_TIMEOUT_S,
            )
        return upload.id

    async def create(self, lines: list[bytes], file_id: str | None) -> str:
        assert file_id is not None, "OpenAI batches are made from an uploaded file"
        with create_errors(openai, self.model, self.base_url, NOT_CREATED):
            batch: Batch = await self.openai_model.client().batches.create(
                input_file_id=file_id,
                endpoint="/v1/chat/completions",
                completion_window="24h",
                metadata={"created_by": "fieldwise"},
            )
        return batch.id

    async def find(self, file_id: str, since: float | None) -> str | None:
        # The list is newest first (the SDK follows the pages): stop at batches made
        # well before the first create for this file was sent.
        cutoff = None if since is None else since - CLOCK_SKEW_S
        with sdk_errors(openai, self.model, self.base_url):
            async for batch in self.openai_model.client().batches.list(limit=100):
                if batch.input_file_id == file_id:
                    return batch.id
                if cutoff is not None and batch.created_at and batch.created_at < cutoff:
                    break
        return None

    async def poll(self, batch_id: str) -> BatchState:
        with sdk_errors(openai, self.model, self.base_url):
            batch = await self.openai_model.client().batches.retrieve(batch_id)
        counts = batch.request_counts
        done = (counts.completed + counts.failed) if counts else 0
        error = None
        if batch.status == "failed":
            reasons = batch.errors.data if batch.errors and batch.errors.data else []
            found = "; ".join(describe_error(e.model_dump()) for e in reasons)
            error = f"batch failed: {found or 'no reason given'}"
        return BatchState(
            status=batch.status,
            ended=batch.status in ENDED,
            done=done,
            total=counts.total if counts else 0,
            error=error,
            files={"output": batch.output_file_id, "error": batch.error_file_id},
        )

    async def results(self, state: BatchState, batch_id: str) -> dict[str, Generation]:
        found: dict[str, Generation] = {}
        for file_id in (state.files.get("error"), state.files.get("output")):
            if not file_id:
                continue
            with sdk_errors(openai, self.model, self.base_url):
                client = self.openai_model.client()
                content = await client.files.content(file_id, timeout=BULK_TIMEOUT_S)
            found.update(parse_result_lines(content.content, parse_result))
        return found


def parse_result(line: dict[str, Any]) -> Generation:
    """One decoded line of an output or error file as the generation of its request."""
    response = line.get("response")
    if not isinstance(response, dict):
        response = {}
    status, body = response.get("status_code"), response.get("body")
    if status == 200 and isinstance(body, dict):
        try:
            return parse_completion(ChatCompletion.construct(**body), 0.0)
        except (ValueError, TypeError, AttributeError) as exc:
            return error_generation(f"malformed response body ({exc})")
    if line.get("error"):
        message = describe_error(line["error"])
    elif status is not None:
        message = f"HTTP {status}: {describe_error(body)}"
    else:
        message = "no response"
    return error_generation(message)


__all__ = ["OpenAIBatch", "parse_result"]
