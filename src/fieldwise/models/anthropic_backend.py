"""Anthropic's Messages API (optional extra: ``pip install 'fieldwise[anthropic]'``).

The ``anthropic`` SDK is imported only when a model is created, so the rest of the
package (and this module's request/response helpers) work without it. As with the
OpenAI backend, the SDK's retries are off and HTTP outcomes map onto the runner's
contract: 408/409/429/5xx (529 "overloaded" included), connection errors and timeouts
are retried honouring ``retry-after``; 401/403/404 stop the run; other 4xx are the
example's error.

Output modes: ``prompt`` (the template asks for JSON) or ``tools`` (one forced tool whose
``input_schema`` is the task's schema; the output is the tool input as JSON text).
"""

from __future__ import annotations

import json
import os
import time
from functools import cached_property
from typing import Any, ClassVar, Literal

from fieldwise.errors import require
from fieldwise.models._clients import PerLoopClient
from fieldwise.models._model import Generation, ModelOptions, RetryableError
from fieldwise.models._prompted import PromptedModel, PromptedOptions
from fieldwise.models.openai_backend import (
    APIRequestError,
    map_status_error,
    resolve_api_key,
    schema_name,
)
from fieldwise.tasks import Example, Task
from fieldwise.tasks.prompts import Message

DEFAULT_BASE_URL = "https://api.anthropic.com"


class AnthropicOptions(PromptedOptions):
    """Options for Anthropic models (``--option key=value``)."""

    output_mode: Literal["prompt", "tools"] = "prompt"
    temperature: float | None = None  # type: ignore[assignment]
    """``None``: the model's default. Recent models and SDKs dropped sampling options,
    so they are sent (through ``extra_body``) only when set."""
    base_url: str | None = None
    api_key_env: str | None = None
    top_p: float | None = None
    timeout_s: float = 120.0


class AnthropicModel(PromptedModel):
    """Claude models through the official ``anthropic`` SDK (``AsyncAnthropic``)."""

    provider: ClassVar[str] = "anthropic"
    default_concurrency: ClassVar[int] = 8
    supports_schema: ClassVar[bool] = True
    needs_key: ClassVar[bool] = True
    key_env_var: ClassVar[str | None] = "ANTHROPIC_API_KEY"
    batch_api: ClassVar[str | None] = "fieldwise.models.batch._anthropic:AnthropicBatch"
    Options = AnthropicOptions

    def __init__(self, name: str, task: Task, options: ModelOptions | None = None) -> None:
        require("anthropic", "anthropic")
        super().__init__(name, task, options)
        opts = self.anthropic_options
        base = opts.base_url or os.environ.get("ANTHROPIC_BASE_URL") or DEFAULT_BASE_URL
        self.base_url = base.rstrip("/")
        self._api_key = resolve_api_key(opts.api_key_env, self.key_env_var or "", self.base_url)
        self._clients: PerLoopClient[Any] = PerLoopClient(self._new_client)

    @property
    def anthropic_options(self) -> AnthropicOptions:
        assert isinstance(self.options, AnthropicOptions)
        return self.options

    def volatile_options(self) -> set[str]:
        return {"api_key_env", "timeout_s"}

    def identity(self) -> dict[str, Any]:
        ident = super().identity()
        ident["options"]["base_url"] = self.base_url
        return ident

    @cached_property
    def _schema(self) -> dict[str, Any]:
        return self.task.json_schema()

    def request(self, example: Example) -> dict[str, Any]:
        """The keyword arguments of ``messages.create`` for one example."""
        return build_request(
            self.name, self.task, self.messages(example), self.anthropic_options, self._schema
        )

    def client(self) -> Any:
        """The SDK client of the running event loop (shared with the batch adapter)."""
        return self._clients.get()

    def _new_client(self) -> Any:
        import anthropic

        return anthropic.AsyncAnthropic(
            api_key=self._api_key,
            base_url=self.base_url,
            max_retries=0,
            timeout=self.anthropic_options.timeout_s,
        )

    async def generate(self, batch: list[Example]) -> list[Generation]:
        return [await self._generate_one(example) for example in batch]

    async def _generate_one(self, example: Example) -> Generation:
        import anthropic

        request = self.request(example)
        start = time.perf_counter()
        try:
            response = await self._clients.get().messages.create(**request)
        except anthropic.APIStatusError as exc:
            raise map_status_error(
                exc.status_code, exc.message, exc.response.headers, self.spec, self.base_url
            ) from exc
        except anthropic.APITimeoutError as exc:
            raise RetryableError("request timed out") from exc
        except anthropic.APIConnectionError as exc:
            raise RetryableError(f"connection error: {exc.__cause__ or exc}") from exc
        except ValueError as exc:
            raise APIRequestError(f"malformed response body ({exc})") from exc
        return parse_message(response, time.perf_counter() - start)

    async def aclose(self) -> None:
        await self._clients.aclose()


def build_request(
    model: str,
    task: Task,
    messages: list[Message],
    options: AnthropicOptions,
    schema: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Split the system prompt out of the chat messages (the Messages API takes it
    separately) and add the forced tool in ``tools`` mode."""
    system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
    req: dict[str, Any] = {
        "model": model,
        "max_tokens": options.max_tokens,
        "messages": [
            {"role": m["role"], "content": m["content"]} for m in messages if m["role"] != "system"
        ],
    }
    if system:
        req["system"] = system
    sampling = {"temperature": options.temperature, "top_p": options.top_p}
    if any(v is not None for v in sampling.values()):
        req["extra_body"] = {k: v for k, v in sampling.items() if v is not None}
    if options.output_mode == "tools":
        name = schema_name(task)
        req["tools"] = [
            {
                "name": name,
                "description": task.description or f"Record the extracted {name}.",
                "input_schema": schema if schema is not None else task.json_schema(),
            }
        ]
        req["tool_choice"] = {"type": "tool", "name": name}
    return req


def parse_message(response: Any, latency_s: float) -> Generation:
    """A :class:`Generation` from a Messages API response: the first tool input (as JSON)
    if any, else the text blocks joined."""
    blocks = getattr(response, "content", None)
    if blocks is None:
        raise ValueError(f"malformed response: no content ({str(response)[:200]!r})")
    output: str | None = None
    texts = []
    for block in blocks:
        kind = getattr(block, "type", None)
        if kind == "tool_use" and output is None:
            output = json.dumps(getattr(block, "input", None), ensure_ascii=False)
        elif kind == "text":
            texts.append(getattr(block, "text", "") or "")
    if output is None and texts:
        output = "".join(texts)
    usage = getattr(response, "usage", None)
    return Generation(
        output=output,
        latency_s=latency_s,
        input_tokens=getattr(usage, "input_tokens", None),
        output_tokens=getattr(usage, "output_tokens", None),
        finish_reason=getattr(response, "stop_reason", None),
    )
