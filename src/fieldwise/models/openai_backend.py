"""Any OpenAI-compatible chat-completions server: OpenAI, OpenPipe, Together, Fireworks,
Predibase/LoRAX, vLLM, Ollama, llama.cpp (see ``docs/backends-api.md``). Named hosts
(``together/``, ``fireworks/``, see :mod:`fieldwise.models.hosts`) are this backend bound
to a host's base URL, key variable and quirks.

The SDK's own retries are switched off: the runner owns retries, backoff, timeouts and
rate limits, so every backend behaves alike and ``Retry-After`` is honoured in one place.
This module only maps HTTP outcomes onto that contract: 408/409/429/5xx, connection
errors and timeouts become :class:`RetryableError`; a rejected key (401/403) or an unknown
model (404) is a :class:`UserError` that stops the run, since every request would fail the
same way; any other 4xx is that example's error.

The API key is read from the environment when the client is built and held only by the
client: it is never an option, never part of the identity and never written anywhere.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field

from fieldwise import registry
from fieldwise._text import url_without_credentials
from fieldwise.errors import UserError
from fieldwise.models._api import (
    is_local,
    make_strict,
    output_schema,
    prompt_ceiling,
    resolve_api_key,
    same_host,
    schema_name,
)
from fieldwise.models._clients import PerLoopClient
from fieldwise.models._errors import APIRequestError, map_status_error, retry_after_s, sdk_error
from fieldwise.models._http import HTTPError, JSONClient, Response, proxied
from fieldwise.models._model import Generation, ModelOptions, RetryableError
from fieldwise.models._prompted import LengthCounter, OutputMode, PromptedModel, PromptedOptions
from fieldwise.models._responses import TOKEN_CEILING, as_label, as_output, as_tokens, field
from fieldwise.models._signals import logprob_signals
from fieldwise.models._stream import StreamAssembler, StreamError
from fieldwise.models._vllm_json import (
    ANY_OBJECT,
    compact_grammar,
    vllm_structured_output,
    vllm_version,
)
from fieldwise.models.hosts import Host
from fieldwise.tasks import Example, Task

if TYPE_CHECKING:
    import openai

__all__ = [
    "APIRequestError",
    "logprob_signals",
    "OpenAIModel",
    "OpenAIOptions",
    "make_strict",
    "map_status_error",
    "output_schema",
    "parse_completion",
    "prompt_ceiling",
    "resolve_api_key",
    "retry_after_s",
    "schema_name",
]

OPENAI: Host = registry.hosts.get("openai")
DEFAULT_BASE_URL = OPENAI.base_url


class OpenAIOptions(PromptedOptions):
    """Options for OpenAI-compatible servers (``--option key=value``)."""

    output_mode: OutputMode = "prompt"
    base_url: str | None = None
    api_key_env: str | None = None
    strict: bool = True
    seed: int | None = None
    top_p: float | None = None
    token_limit_param: str = "auto"
    extra_body: dict[str, Any] = Field(default_factory=dict)
    timeout_s: float = 120.0
    transport: Literal["auto", "sdk"] = "auto"
    """``auto``: fieldwise's lean HTTP client (a fraction of the SDK's CPU per request),
    or the SDK's when a proxy is configured for the host; ``sdk``: always the SDK's."""
    stream: bool = False
    """Stream each completion (server-sent events) and record its time to first token;
    the output is the same, so this is not part of the cache key (``fieldwise
    loadtest --stream`` sets it)."""
    json_layout: Literal["auto", "compact", "server"] = "auto"
    """How ``json_schema``/``json_object`` output is asked of a vLLM server, whose own
    grammar allows free whitespace (``models/_vllm_json.py``): ``auto`` sends a compact
    grammar when the host says it is vLLM, ``compact`` always does (vLLM hosts only),
    ``server`` sends the plain ``response_format``."""
    logprobs: bool | None = None
    """Ask for each output token's log-probability (a confidence signal, docs/confidence.md).
    ``None``: on for a server on this machine (vLLM, ``fieldwise serve``: free), off for
    remote hosts, where some models refuse the parameter; never in ``tools`` mode, whose
    arguments get no log-probabilities, nor when streaming (``fieldwise serve`` refuses
    both together, and a load test's streamed replies are timed, not trusted)."""


class OpenAIModel(PromptedModel):
    """Chat completions through the official ``openai`` SDK (``AsyncOpenAI``)."""

    provider: ClassVar[str] = "openai"
    default_concurrency: ClassVar[int] = 16
    supports_schema: ClassVar[bool] = True
    constrained_options: ClassVar[dict[str, dict[str, Any]]] = {
        "on": {"output_mode": "json_schema"},
        "off": {"output_mode": "prompt"},
    }
    needs_key: ClassVar[bool] = True
    key_env_var: ClassVar[str | None] = OPENAI.key_env
    key_pattern: ClassVar[str | None] = r"\b(?:sk|pk|rk)-[A-Za-z0-9_\-]{16,}"
    batch_api: ClassVar[str | None] = "openai"
    Options = OpenAIOptions
    host: ClassVar[Host] = OPENAI
    _on_hosts: ClassVar[dict[Host, type[OpenAIModel]]] = {}

    @classmethod
    def on_host(cls, host: Host) -> type[OpenAIModel]:
        """This backend bound to a named host (``together/MODEL``): the host's name as the
        provider, its base URL, key variable and quirks; its batch API if it has one."""
        if host not in cls._on_hosts:
            attrs = {
                "__module__": cls.__module__,
                "__doc__": f"{cls.__name__} on the host '{host.name}' ({host.base_url}).",
                "provider": host.name,
                "host": host,
                "key_env_var": host.key_env,
                "batch_api": "openai" if host.batch else None,
            }
            cls._on_hosts[host] = type(f"{cls.__name__}_{host.name}", (cls,), attrs)
        return cls._on_hosts[host]

    def __init__(self, name: str, task: Task, options: ModelOptions | None = None) -> None:
        super().__init__(name, task, options)
        opts, host = self.openai_options, self.host
        moved = os.environ.get(host.base_url_env) if host.base_url_env else None
        self.base_url = (opts.base_url or moved or host.base_url).rstrip("/")
        if not self.base_url.startswith(("http://", "https://")):
            raise UserError(
                f"bad base_url '{self.base_url}'", hint="write http(s)://HOST[:PORT]/v1"
            )
        if opts.token_limit_param not in ("auto", "max_tokens", "max_completion_tokens"):
            raise UserError("token_limit_param must be auto, max_tokens or max_completion_tokens")
        self._api_key = resolve_api_key(opts.api_key_env, self.key_env_var or "", self.base_url)
        self._clients = PerLoopClient(self._new_client)
        self._lean: PerLoopClient[JSONClient] | None = None
        if opts.transport == "auto" and not proxied(self.base_url):
            self._lean = PerLoopClient(self._new_lean_client)
        self.lengths = LengthCounter(self.spec)

    @property
    def openai_options(self) -> OpenAIOptions:
        assert isinstance(self.options, OpenAIOptions)
        return self.options

    def volatile_options(self) -> set[str]:
        # json_layout counts only where it changes a request: see identity().
        return {"api_key_env", "timeout_s", "transport", "stream", "logprobs", "json_layout"}

    @cached_property
    def wants_logprobs(self) -> bool:
        """Whether requests ask for log-probabilities (see ``OpenAIOptions.logprobs``)."""
        opts = self.openai_options
        if opts.output_mode == "tools" or opts.stream:  # streamed: timing, not signals
            return False
        return is_local(self.base_url) if opts.logprobs is None else opts.logprobs

    def identity(self) -> dict[str, Any]:
        """The resolved base URL is part of the identity (another host is another model);
        the key is not, nor are credentials in the URL. A compact grammar sent to a vLLM
        host changes what it generates, so it is named (only there: no other host's
        cached predictions change key)."""
        ident = super().identity()
        ident["options"]["base_url"] = url_without_credentials(self.base_url)
        if self._compact_grammar is not None:
            ident["json_layout"] = "compact"
        return ident

    @cached_property
    def _vllm(self) -> str | None:
        """The vLLM version of a host that gets structured output as a compact grammar;
        ``None`` where the plain ``response_format`` goes out."""
        opts = self.openai_options
        if opts.output_mode not in ("json_schema", "json_object") or opts.json_layout == "server":
            return None
        # A named host's own API (OpenAI's, together's, ...) is not vLLM: no probe.
        named = any(same_host(self.base_url, h.base_url) for h in (OPENAI, self.host))
        if opts.json_layout == "auto" and named:
            return None
        version = vllm_version(self.base_url, self._api_key)
        return version or ("unknown" if opts.json_layout == "compact" else None)

    @cached_property
    def _compact_grammar(self) -> str | None:
        if self._vllm is None:
            return None
        if self.openai_options.output_mode == "json_object":
            return compact_grammar(ANY_OBJECT)
        return compact_grammar(*self._schema)

    def request(self, example: Example) -> dict[str, Any]:
        """The keyword arguments of ``chat.completions.create`` for one example."""
        opts = self.openai_options
        limit_param = opts.token_limit_param
        if limit_param == "auto":  # the host's own name for it, at the host's own address
            at_home = same_host(self.base_url, self.host.base_url)
            limit_param = self.host.token_limit_param if at_home else "max_tokens"
        req: dict[str, Any] = {
            "model": self.name,
            "messages": self.messages(example),
            "temperature": opts.temperature,
            limit_param: opts.max_tokens,
        }
        if opts.seed is not None:
            req["seed"] = opts.seed
        if opts.top_p is not None:
            req["top_p"] = opts.top_p
        if self.wants_logprobs:
            req["logprobs"] = True
        name = schema_name(self.task)
        schema, strict = self._schema
        if opts.output_mode == "json_object":
            req["response_format"] = {"type": "json_object"}
        elif opts.output_mode == "json_schema":
            req["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": name, "schema": schema, "strict": strict},
            }
        elif opts.output_mode == "tools":
            function = {
                "name": name,
                "description": self.task.description or f"Record the extracted {name}.",
                "parameters": schema,
                "strict": strict,
            }
            req["tools"] = [{"type": "function", "function": function}]
            req["tool_choice"] = {"type": "function", "function": {"name": name}}
        if opts.extra_body:
            req["extra_body"] = opts.extra_body
        if self._compact_grammar is not None and self._vllm is not None:
            req = vllm_structured_output(req, self._compact_grammar, self._vllm)
        return req

    @cached_property
    def _schema(self) -> tuple[dict[str, Any], bool]:
        """Built once: a task's schema costs milliseconds, a request should not."""
        strict = self.openai_options.strict and self.host.schema_dialect == "strict"
        return output_schema(self.task, strict)

    def client(self) -> openai.AsyncOpenAI:
        """The SDK client of the running event loop (shared with the batch adapter)."""
        return self._clients.get()

    @cached_property
    def _schema_chars(self) -> int:
        return len(json.dumps(self._schema[0]))

    def _new_client(self) -> openai.AsyncOpenAI:
        # The SDK costs ~0.5 s of CPU to import: only the SDK transport and the batch
        # API pay for it, not a run on the lean transport.
        import openai

        return openai.AsyncOpenAI(
            api_key=self._api_key,
            base_url=self.base_url,
            max_retries=0,
            timeout=self.openai_options.timeout_s,
        )

    def _new_lean_client(self) -> JSONClient:
        headers = {"Authorization": f"Bearer {self._api_key}", "Accept": "application/json"}
        # The SDK sends these from the same variables; the lean path must not drop them.
        for env, header in (
            ("OPENAI_ORG_ID", "OpenAI-Organization"),
            ("OPENAI_PROJECT_ID", "OpenAI-Project"),
        ):
            if os.environ.get(env) and self.base_url == OPENAI.base_url:
                headers[header] = os.environ[env]
        return JSONClient(self.base_url, headers)

    async def _send_lean(
        self, client: JSONClient, body: dict[str, Any], sink: Callable[[bytes], None] | None = None
    ) -> Response:
        """One request on the lean client (its body streamed to ``sink`` when given),
        with the same error contract as the SDK path below."""
        payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
        try:
            async with asyncio.timeout(self.openai_options.timeout_s):
                resp = await client.post("/chat/completions", payload, sink=sink)
        except TimeoutError as exc:
            raise RetryableError("request timed out") from exc
        except HTTPError as exc:
            raise RetryableError(str(exc)) from exc
        if not 200 <= resp.status < 300:
            raise map_status_error(
                resp.status, _error_message(resp.body), resp.headers, self.spec, self.base_url
            )
        return resp

    async def _post_lean(self, client: JSONClient, body: dict[str, Any]) -> dict[str, Any]:
        """The lean path's request: the same error contract as the SDK path below. The
        completion stays the parsed JSON: :func:`parse_completion` reads dicts and SDK
        objects alike, and building the SDK's object cost more CPU than the request."""
        resp = await self._send_lean(client, body)
        try:
            data = json.loads(resp.body)
        except ValueError as exc:
            raise APIRequestError(f"malformed response body ({exc})") from exc
        if not isinstance(data, dict):
            raise APIRequestError("malformed response body (not a JSON object)")
        return data

    async def generate(self, batch: list[Example]) -> list[Generation]:
        return [await self._generate_one(example) for example in batch]

    async def _generate_one(self, example: Example) -> Generation:
        # The typed ``chat.completions.create`` re-walks every request against its
        # TypedDict annotations: ~1.5 ms of CPU for an ISAF prompt with a JSON schema, the
        # largest client-side cost at high concurrency. The request is already plain
        # JSON, so it is posted as it is; errors, retries and parsing stay the SDK's.
        body = self.request(example)
        body.update(body.pop("extra_body", None) or {})
        start = time.perf_counter()
        first: float | None = None
        response: Any
        if self.openai_options.stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
            response, first = await self._post_stream(body)
        elif self._lean is not None:
            response = await self._post_lean(self._lean.get(), body)
        else:
            response = await self._post_sdk(body)
        gen = parse_completion(
            response,
            time.perf_counter() - start,
            max_output=self.openai_options.max_tokens,
            max_input=prompt_ceiling(body["messages"], self._schema_chars),
        )
        if first is not None:
            gen.ttft_s = first - start
        self.lengths.add([gen.finish_reason])
        return gen

    async def _post_stream(self, body: dict[str, Any]) -> tuple[dict[str, Any], float | None]:
        """A streamed request: the completion its events add up to, and when its first
        output token arrived (``None``: it had none). Same error contract as below."""
        assembler = StreamAssembler()
        try:
            if self._lean is not None:
                await self._send_lean(self._lean.get(), body, sink=assembler.feed)
            else:
                async with asyncio.timeout(self.openai_options.timeout_s):
                    await self._read_sdk_stream(await self._post_sdk(body, stream=True), assembler)
            assembler.close()
            return assembler.completion(), assembler.first_token_at
        except TimeoutError as exc:
            raise RetryableError("request timed out") from exc
        except StreamError as exc:
            raise APIRequestError(str(exc)) from exc

    async def _read_sdk_stream(self, stream: Any, assembler: StreamAssembler) -> None:
        import openai

        try:
            async for chunk in stream:
                assembler.add(chunk)
        except StreamError:
            raise
        except Exception as exc:  # noqa: BLE001 - mapped below, re-raised when unknown
            mapped = sdk_error(exc, openai, self.spec, self.base_url)
            if mapped is None:
                raise
            raise mapped from None

    async def _post_sdk(self, body: dict[str, Any], stream: bool = False) -> Any:
        import openai
        from openai.types.chat import ChatCompletion, ChatCompletionChunk

        try:
            if stream:
                return await self._clients.get().post(
                    "/chat/completions",
                    cast_to=ChatCompletion,
                    body=body,
                    stream=True,
                    stream_cls=openai.AsyncStream[ChatCompletionChunk],
                )
            return await self._clients.get().post(
                "/chat/completions", cast_to=ChatCompletion, body=body
            )
        except Exception as exc:  # noqa: BLE001 - mapped below, re-raised when unknown
            mapped = sdk_error(exc, openai, self.spec, self.base_url)
            if mapped is None:
                raise
            raise mapped from None

    async def aclose(self) -> None:
        """Warn about cut-off outputs once, and close the clients."""
        self.lengths.warn()
        await self._clients.aclose()
        if self._lean is not None:
            await self._lean.aclose()


def _error_message(body: bytes) -> str:
    """An error response's ``error.message`` (or its text), as the SDK would report it."""
    text = body.decode("utf-8", "replace")
    try:
        data = json.loads(text)
    except ValueError:
        return text[:300]
    error = data.get("error") if isinstance(data, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    return str(message) if message else text[:300]


def parse_completion(
    response: Any, latency_s: float, max_output: int | None = None, max_input: int | None = None
) -> Generation:
    """One :class:`Generation` from a chat completion; a tool call's arguments win over
    message text. Raises (recorded as the example's error) only when there is no choice.

    Any shape is accepted (see ``models/_responses.py``): content parts are joined,
    arguments given as an object become its JSON, and token counts are clamped to what
    the request allowed (``max_output``, ``max_input``), so one absurd report cannot
    stall a ``tpm`` limit or inflate a cost."""
    choices = field(response, "choices")
    if not choices or not isinstance(choices, list):
        raise ValueError(f"malformed response: no choices ({str(response)[:200]!r})")
    choice = choices[0]
    message = field(choice, "message")
    output = field(message, "content")
    tool_calls = field(message, "tool_calls")
    for call in tool_calls if isinstance(tool_calls, list) else []:
        arguments = field(field(call, "function"), "arguments")
        if arguments is not None:
            output = arguments
            break
    usage = field(response, "usage")
    text = as_output(output)
    return Generation(
        output=text,
        latency_s=latency_s,
        input_tokens=as_tokens(field(usage, "prompt_tokens"), max_input or TOKEN_CEILING),
        output_tokens=as_tokens(field(usage, "completion_tokens"), max_output or TOKEN_CEILING),
        finish_reason=as_label(field(choice, "finish_reason")),
        cached_input_tokens=as_tokens(
            field(field(usage, "prompt_tokens_details"), "cached_tokens"),
            max_input or TOKEN_CEILING,
        ),
        signals=logprob_signals(field(choice, "logprobs"), text),
    )
