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

from fieldwise._text import url_without_credentials
from fieldwise.errors import require
from fieldwise.models._api import prompt_ceiling, resolve_api_key, schema_name
from fieldwise.models._clients import PerLoopClient
from fieldwise.models._errors import sdk_error
from fieldwise.models._model import Generation, ModelOptions
from fieldwise.models._prompted import PromptedModel, PromptedOptions
from fieldwise.models._responses import (
    TOKEN_CEILING,
    as_json_text,
    as_label,
    as_output,
    as_tokens,
    field,
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
    constrained_options: ClassVar[dict[str, dict[str, Any]]] = {
        "on": {"output_mode": "tools"},
        "off": {"output_mode": "prompt"},
    }
    needs_key: ClassVar[bool] = True
    key_env_var: ClassVar[str | None] = "ANTHROPIC_API_KEY"
    key_pattern: ClassVar[str | None] = r"\bsk-ant-[A-Za-z0-9_\-]{8,}"
    batch_api: ClassVar[str | None] = "anthropic"
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
        ident["options"]["base_url"] = url_without_credentials(self.base_url)
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
        except Exception as exc:  # noqa: BLE001 - mapped below, re-raised when unknown
            mapped = sdk_error(exc, anthropic, self.spec, self.base_url)
            if mapped is None:
                raise
            raise mapped from None
        ceiling = prompt_ceiling(request["messages"], len(str(request.get("system", ""))))
        return parse_message(
            response,
            time.perf_counter() - start,
            max_output=self.anthropic_options.max_tokens,
            max_input=ceiling + len(json.dumps(request.get("tools", []))),
        )

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


def parse_message(
    response: Any, latency_s: float, max_output: int | None = None, max_input: int | None = None
) -> Generation:
    """A :class:`Generation` from a Messages API response: the first tool input (as JSON)
    if any, else the text blocks joined. Any shape is accepted, as for the OpenAI
    backend (see ``models/_responses.py``); token counts are clamped to the request's."""
    blocks = field(response, "content")
    if blocks is None:
        raise ValueError(f"malformed response: no content ({str(response)[:200]!r})")
    if not isinstance(blocks, list):
        blocks = [{"type": "text", "text": blocks}]
    output: str | None = None
    texts = []
    for block in blocks:
        kind = field(block, "type")
        if kind == "tool_use" and output is None:
            output = as_json_text(field(block, "input"))
        elif kind == "text":
            texts.append(as_output(field(block, "text")) or "")
    if output is None and texts:
        output = "".join(texts)
    usage = field(response, "usage")
    return Generation(
        output=output,
        latency_s=latency_s,
        input_tokens=as_tokens(field(usage, "input_tokens"), max_input or TOKEN_CEILING),
        output_tokens=as_tokens(field(usage, "output_tokens"), max_output or TOKEN_CEILING),
        finish_reason=as_label(field(response, "stop_reason")),
    )
