"""Any OpenAI-compatible chat-completions server: OpenAI, OpenPipe, Together, Fireworks,
Predibase/LoRAX, vLLM, Ollama, llama.cpp (see ``docs/backends-api.md``).

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
import copy
import ipaddress
import json
import os
import re
import time
from functools import cached_property
from typing import Any, ClassVar, Literal
from urllib.parse import urlparse

import openai
from openai.types.chat import ChatCompletion
from pydantic import Field

from fieldwise._text import url_without_credentials
from fieldwise.errors import UserError
from fieldwise.models._clients import PerLoopClient
from fieldwise.models._errors import (
    APIRequestError,
    map_status_error,
    register_secret,
    register_url_credentials,
    retry_after_s,
    sdk_error,
)
from fieldwise.models._http import HTTPError, JSONClient, proxied
from fieldwise.models._model import Generation, ModelOptions, RetryableError
from fieldwise.models._prompted import LengthCounter, OutputMode, PromptedModel, PromptedOptions
from fieldwise.models._responses import TOKEN_CEILING, as_label, as_output, as_tokens, field
from fieldwise.models._vllm_json import (
    ANY_OBJECT,
    compact_grammar,
    vllm_structured_output,
    vllm_version,
)
from fieldwise.tasks import Example, Task

__all__ = [
    "APIRequestError",
    "OpenAIModel",
    "OpenAIOptions",
    "make_strict",
    "map_status_error",
    "output_schema",
    "parse_completion",
    "resolve_api_key",
    "retry_after_s",
    "schema_name",
]

DEFAULT_BASE_URL = "https://api.openai.com/v1"
LOCAL_KEY = "not-needed"
"""Sent to local servers (vLLM, Ollama, llama.cpp) that need no key but whose clients
still insist on one."""


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
    json_layout: Literal["auto", "compact", "server"] = "auto"
    """How ``json_schema``/``json_object`` output is asked of a vLLM server, whose own
    grammar allows free whitespace (``models/_vllm_json.py``): ``auto`` sends a compact
    grammar when the host says it is vLLM, ``compact`` always does (vLLM hosts only),
    ``server`` sends the plain ``response_format``."""


class OpenAIModel(PromptedModel):
    """Chat completions through the official ``openai`` SDK (``AsyncOpenAI``)."""

    provider: ClassVar[str] = "openai"
    default_concurrency: ClassVar[int] = 16
    supports_schema: ClassVar[bool] = True
    needs_key: ClassVar[bool] = True
    key_env_var: ClassVar[str | None] = "OPENAI_API_KEY"
    key_pattern: ClassVar[str | None] = r"\b(?:sk|pk|rk)-[A-Za-z0-9_\-]{16,}"
    batch_api: ClassVar[str | None] = "openai"
    Options = OpenAIOptions

    def __init__(self, name: str, task: Task, options: ModelOptions | None = None) -> None:
        super().__init__(name, task, options)
        opts = self.openai_options
        self.base_url = opts.base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL
        self.base_url = self.base_url.rstrip("/")
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
        return {"api_key_env", "timeout_s", "transport", "json_layout"}

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
        official = urlparse(self.base_url).hostname == "api.openai.com"
        if opts.json_layout == "auto" and official:
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
        if limit_param == "auto":
            official = urlparse(self.base_url).hostname == "api.openai.com"
            limit_param = "max_completion_tokens" if official else "max_tokens"
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
        return output_schema(self.task, self.openai_options.strict)

    def client(self) -> openai.AsyncOpenAI:
        """The SDK client of the running event loop (shared with the batch adapter)."""
        return self._clients.get()

    @cached_property
    def _schema_chars(self) -> int:
        return len(json.dumps(self._schema[0]))

    def _new_client(self) -> openai.AsyncOpenAI:
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
            if os.environ.get(env) and self.base_url == DEFAULT_BASE_URL:
                headers[header] = os.environ[env]
        return JSONClient(self.base_url, headers)

    async def _post_lean(self, client: JSONClient, body: dict[str, Any]) -> ChatCompletion:
        """The lean path's request: the same error contract as the SDK path below."""
        payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
        try:
            async with asyncio.timeout(self.openai_options.timeout_s):
                resp = await client.post("/chat/completions", payload)
        except TimeoutError as exc:
            raise RetryableError("request timed out") from exc
        except HTTPError as exc:
            raise RetryableError(str(exc)) from exc
        if not 200 <= resp.status < 300:
            raise map_status_error(
                resp.status, _error_message(resp.body), resp.headers, self.spec, self.base_url
            )
        try:
            data = json.loads(resp.body)
        except ValueError as exc:
            raise APIRequestError(f"malformed response body ({exc})") from exc
        if not isinstance(data, dict):
            raise APIRequestError("malformed response body (not a JSON object)")
        # Untyped construction, as the SDK itself builds responses: no validation cost.
        return ChatCompletion.construct(**data)

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
        if self._lean is not None:
            response = await self._post_lean(self._lean.get(), body)
        else:
            response = await self._post_sdk(body)
        gen = parse_completion(
            response,
            time.perf_counter() - start,
            max_output=self.openai_options.max_tokens,
            max_input=prompt_ceiling(body["messages"], self._schema_chars),
        )
        self.lengths.add([gen.finish_reason])
        return gen

    async def _post_sdk(self, body: dict[str, Any]) -> Any:
        try:
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
    return Generation(
        output=as_output(output),
        latency_s=latency_s,
        input_tokens=as_tokens(field(usage, "prompt_tokens"), max_input or TOKEN_CEILING),
        output_tokens=as_tokens(field(usage, "completion_tokens"), max_output or TOKEN_CEILING),
        finish_reason=as_label(field(choice, "finish_reason")),
    )


def prompt_ceiling(messages: list[Any], extra_chars: int = 0) -> int:
    """An upper bound on a request's prompt tokens: its characters (no tokenizer makes
    more than one token per character), ``extra_chars`` for a schema or tools, and room
    for a chat template."""
    chars = sum(len(str(m.get("content", ""))) + 16 for m in messages)
    return chars + extra_chars + 1024


def is_local(base_url: str) -> bool:
    """Loopback servers (vLLM, Ollama, llama.cpp on this machine) usually need no key."""
    host = urlparse(base_url).hostname or ""
    if host in ("localhost", "0.0.0.0"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def resolve_api_key(api_key_env: str | None, default_env: str, base_url: str) -> str:
    """The key from ``api_key_env`` (or the provider's default variable); a dummy for
    local servers; otherwise a :class:`UserError` naming the variable to set."""
    register_url_credentials(base_url)
    env_name = api_key_env or default_env
    key = os.environ.get(env_name)
    if key:
        register_secret(key)
        return key
    if is_local(base_url):
        return LOCAL_KEY
    hint = f"set {env_name}" if api_key_env else f"set {default_env} or the api_key_env option"
    raise UserError(f"no API key for {base_url}", hint=hint)


def schema_name(task: Task) -> str:
    """The task name as a schema/tool name (``^[a-zA-Z0-9_-]{1,64}$``)."""
    return re.sub(r"[^a-zA-Z0-9_-]", "_", task.name)[:64] or "extract"


def output_schema(task: Task, strict: bool = True) -> tuple[dict[str, Any], bool]:
    """The task's JSON schema, made strict-mode compatible when asked and possible.

    Returns the schema and whether it is strict; a schema strict mode cannot express
    (free-form objects, extra properties) falls back to the plain schema, ``strict=False``.
    """
    schema = task.json_schema()
    if not strict:
        return schema, False
    try:
        return make_strict(schema), True
    except _NotStrict:
        return schema, False


class _NotStrict(Exception):
    pass


def make_strict(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``schema`` in OpenAI strict mode's subset, at every level of nesting.

    Every object is closed (``additionalProperties: false``) and lists all its properties
    in ``required``; ``default`` and ``discriminator`` go; ``oneOf`` becomes ``anyOf``
    (a tagged union's branches are disjoint anyway); a ``$ref`` with sibling keywords is
    inlined (a bare ``$ref`` into ``$defs`` stays, which strict mode allows, and so does
    a recursive one). A field becomes required but is not made nullable: it accepts
    ``null`` exactly when the Pydantic type does (``X | None``), so whatever the
    constrained model writes also validates against the Pydantic model, where a null in
    a defaulted ``int`` field would not.
    """
    root = copy.deepcopy(schema)
    defs = root.get("$defs", {})

    def visit(node: Any, inlining: frozenset[str]) -> Any:
        if not isinstance(node, dict):
            raise _NotStrict
        node.pop("default", None)
        node.pop("discriminator", None)
        ref = node.get("$ref")
        if ref is not None and len(node) > 1:
            name = str(ref).rsplit("/", 1)[-1]
            target = defs.get(name)
            if target is None:
                raise _NotStrict
            if name in inlining:  # a recursive model: keep the bare reference
                return {"$ref": ref}
            merged = {**copy.deepcopy(target), **{k: v for k, v in node.items() if k != "$ref"}}
            return visit(merged, inlining | {name})
        if "oneOf" in node:
            node["anyOf"] = node.pop("oneOf")
        all_of = node.pop("allOf", None)
        if all_of is not None:
            if not isinstance(all_of, list) or len(all_of) != 1:
                raise _NotStrict
            return visit({**all_of[0], **node}, inlining)
        if node.get("type") == "object" or "properties" in node:
            props = node.get("properties")
            if not props or node.get("additionalProperties") not in (None, False):
                raise _NotStrict
            node["properties"] = {k: visit(v, inlining) for k, v in props.items()}
            node["required"] = list(props)
            node["additionalProperties"] = False
        for key in ("items", "additionalItems"):
            if isinstance(node.get(key), dict):
                node[key] = visit(node[key], inlining)
        for key in ("anyOf", "prefixItems"):
            if isinstance(node.get(key), list):
                node[key] = [visit(v, inlining) for v in node[key]]
        if isinstance(node.get("$defs"), dict):
            node["$defs"] = {k: visit(v, frozenset({k})) for k, v in node["$defs"].items()}
        return node

    return dict(visit(root, frozenset()))
