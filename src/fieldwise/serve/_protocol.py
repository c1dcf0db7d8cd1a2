"""What a chat-completion request may say, checked before it reaches the batcher.

OpenAI's request format has many fields; this server honours some, accepts a few that
cannot change a completion (``user``, ``metadata``, ``top_logprobs: 0``, ``seed`` when
decoding greedily ...) and refuses every other one with a 400 that names the field, so a
client never gets an answer computed without a setting it asked for.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fieldwise._text import scrub_text
from fieldwise.serve._constrain import (
    ConstraintError,
    SchemaLimitError,
    SchemaLimits,
    format_key,
    json_schema_of,
)
from fieldwise.serve._types import CompletionRequest

if TYPE_CHECKING:
    from fieldwise.serve._engine import Engine

MAX_BODY_BYTES = 16 * 1024 * 1024
DEFAULT_MAX_TOKENS = 256

# Read below: what the request asks for.
_USED = {
    "model",
    "messages",
    "max_tokens",
    "max_completion_tokens",
    "temperature",
    "top_p",
    "stop",
    "response_format",
    "stream",
    "stream_options",
    "n",
    "seed",
    "logprobs",
}
# Bookkeeping fields that never change the output.
_IGNORED = {
    "user",
    "metadata",
    "store",
    "service_tier",
    "prompt_cache_key",
    "safety_identifier",
    "parallel_tool_calls",
}
# Fields accepted only with a value that asks for nothing (what most clients send by default).
_NO_OP: dict[str, tuple[Any, ...]] = {
    "top_logprobs": (None, 0),
    "presence_penalty": (None, 0),
    "frequency_penalty": (None, 0),
    "logit_bias": (None, {}),
    "tools": (None, []),
    "functions": (None, []),
    "tool_choice": (None, "none", "auto"),
    "function_call": (None, "none", "auto"),
    "modalities": (None, ["text"]),
    "audio": (None,),
    "prediction": (None,),
    "reasoning_effort": (None,),
    "verbosity": (None,),
    "web_search_options": (None,),
}
_OBJECT = {"type": "object"}
_ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant"}


class ApiError(Exception):
    """An OpenAI-shaped error: ``{"error": {"message", "type", "param", "code"}}``."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        type_: str = "invalid_request_error",
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.param, self.code, self.type = status, param, code, type_
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {} if self.retry_after is None else {"Retry-After": str(self.retry_after)}

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "message": str(self),
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }


@dataclass
class ChatCall:
    """A validated request plus how the client wants the answer delivered; a request with
    a response format gets its grammar (by ``format_key``) from the compile pool."""

    request: CompletionRequest
    stream: bool = False
    include_usage: bool = False
    format_key: str | None = None


def load_json(body: bytes) -> Any:
    """The decoded body; a 400 for anything ``json`` refuses (also nesting or huge numbers)."""
    try:
        data = json.loads(body or b"null")
    except RecursionError:
        raise ApiError(400, "request body is nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError, int digit limit
        raise ApiError(400, f"request body is not valid JSON: {exc}") from None
    # UTF-8 bytes cannot hold a lone surrogate; only a \uD800-\uDFFF escape can make one,
    # and neither the tokenizer nor the JSON of an error reply can encode it.
    if _SURROGATE_ESCAPE.search(body or b""):
        where = _lone_surrogate(data, "")
        if where is not None:
            raise ApiError(
                400,
                f"{where or 'the body'} holds a lone surrogate (an unpaired \\uD800-\\uDFFF "
                "escape); text must be valid Unicode",
                param=where or None,
            )
    return data


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _lone_surrogate(value: Any, where: str) -> str | None:
    """Where in parsed JSON the first string holding a lone surrogate is (``a.b[2]``)."""
    if isinstance(value, str):
        return None if scrub_text(value) is value else where
    if isinstance(value, dict):
        for key, item in value.items():
            path = f"{where}.{key}" if where else str(key)
            if scrub_text(key) is not key:
                return path
            found = _lone_surrogate(item, path)
            if found is not None:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found = _lone_surrogate(item, f"{where}[{i}]")
            if found is not None:
                return found
    return None


def parse_chat(body: bytes, host: Engine, limits: SchemaLimits | None = None) -> ChatCall:
    """Validate a ``/v1/chat/completions`` body (OpenAI semantics) into a :class:`ChatCall`.

    Nothing is compiled here: a response format is checked against ``limits`` and then
    compiled by the app's pool (``serve/_compile.py``).
    """
    data = load_json(body)
    if not isinstance(data, dict):
        raise ApiError(400, "request body must be a JSON object")
    _refuse_unsupported(data)
    model = data.get("model")
    resolve_model(host, model)
    if data.get("n", 1) not in (1, None):
        raise ApiError(400, "only n=1 is supported", param="n")
    temperature = _number(data, "temperature", 0.0, 0.0, 2.0)
    if data.get("seed") is not None and temperature > 0:
        raise ApiError(
            400,
            "'seed' is not supported when sampling (requests share one random state in a "
            "batch); use temperature 0 for reproducible output",
            param="seed",
        )
    stop = data.get("stop") or []
    stop = [stop] if isinstance(stop, str) else stop
    if not isinstance(stop, list) or not all(isinstance(s, str) and s for s in stop):
        raise ApiError(400, "'stop' must be a string or a list of strings", param="stop")
    messages = _messages(data.get("messages"))
    stream, include_usage = _streaming(data)
    response_format = _response_format(data.get("response_format"), host, limits or SchemaLimits())
    logprobs = data.get("logprobs")
    if logprobs is not None and not isinstance(logprobs, bool):
        raise ApiError(400, "'logprobs' must be true or false", param="logprobs")
    if logprobs and stream:
        raise ApiError(400, "'logprobs' is supported without streaming only", param="logprobs")
    request = CompletionRequest(
        model=str(model),
        messages=messages,
        max_tokens=_max_tokens(data, host, messages),
        temperature=temperature,
        top_p=_number(data, "top_p", 1.0, 0.0, 1.0),
        stop=stop,
        response_format=response_format,
        logprobs=bool(logprobs),
    )
    key = format_key(response_format) if response_format is not None else None
    return ChatCall(request, stream, include_usage, key)


def resolve_model(host: Engine, name: Any) -> None:
    """404 ``model_not_found`` (listing what is served) unless ``name`` is served."""
    if not isinstance(name, str) or not name:
        raise ApiError(400, "'model' must be a model name", param="model")
    try:
        host.resolve(name)
    except KeyError:
        raise ApiError(
            404,
            f"The model '{name}' does not exist; served: {', '.join(host.names)}",
            param="model",
            code="model_not_found",
        ) from None


def _refuse_unsupported(data: dict[str, Any]) -> None:
    for key, value in data.items():
        if key in _USED or key in _IGNORED:
            continue
        allowed = _NO_OP.get(key, ())
        if any(value == a and isinstance(value, bool) == isinstance(a, bool) for a in allowed):
            continue
        if key in ("tools", "functions", "tool_choice", "function_call"):
            hint = "; ask for response_format json_schema instead"
        else:
            hint = ""
        raise ApiError(400, f"'{key}' is not supported by this server{hint}", param=key)


def _number(body: dict[str, Any], key: str, default: float, lo: float, hi: float) -> float:
    value = body.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ApiError(400, f"'{key}' must be a number", param=key)
    if not lo <= value <= hi:
        raise ApiError(400, f"'{key}' must be between {lo:g} and {hi:g}", param=key)
    return float(value)


def _max_tokens(data: dict[str, Any], host: Engine, messages: list[dict[str, str]]) -> int:
    """The requested budget, capped at what the context leaves after the prompt."""
    key = "max_completion_tokens" if data.get("max_completion_tokens") is not None else "max_tokens"
    value = data.get(key)
    if value is None:
        value = DEFAULT_MAX_TOKENS
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ApiError(400, f"'{key}' must be a positive integer", param=key)
    context = host.context_length
    if context is None:
        return value
    n_prompt = host.prompt_length(messages)
    if n_prompt >= context:
        raise ApiError(
            400,
            f"the prompt is {n_prompt} tokens; this model's context is {context} tokens, "
            "with room left for at least one generated token",
            param="messages",
            code="context_length_exceeded",
        )
    return min(value, context - n_prompt)


def _messages(raw: Any) -> list[dict[str, str]]:
    if not isinstance(raw, list) or not raw:
        raise ApiError(400, "'messages' must be a non-empty list", param="messages")
    out = []
    for i, msg in enumerate(raw):
        where = f"messages[{i}]"
        role = _ROLES.get(str(msg.get("role"))) if isinstance(msg, dict) else None
        if role is None:
            raise ApiError(
                400, f"{where} needs a role of system, developer, user or assistant", param=where
            )
        if msg.get("tool_calls") or msg.get("function_call"):
            raise ApiError(400, f"{where}: tool calls are not supported", param=where)
        content = msg.get("content")
        if isinstance(content, list):  # content parts: only text is supported
            if not all(isinstance(p, dict) and p.get("type") == "text" for p in content):
                raise ApiError(400, f"{where}: only text content parts are supported", param=where)
            content = "".join(str(p.get("text", "")) for p in content)
        if not isinstance(content, str):
            raise ApiError(400, f"{where}.content must be a string", param=where)
        out.append({"role": role, "content": content})
    return out


def _streaming(data: dict[str, Any]) -> tuple[bool, bool]:
    stream = data.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise ApiError(400, "'stream' must be true or false", param="stream")
    options = data.get("stream_options")
    if options is None:
        return bool(stream), False
    if not isinstance(options, dict):
        raise ApiError(400, "'stream_options' must be an object", param="stream_options")
    unknown = set(options) - {"include_usage", "include_obfuscation"}
    if unknown:
        name = sorted(unknown)[0]
        raise ApiError(400, f"'stream_options.{name}' is not supported", param="stream_options")
    include = options.get("include_usage", False)
    if not isinstance(include, bool):
        raise ApiError(400, "'stream_options.include_usage' must be true or false")
    return bool(stream), include


def _response_format(raw: Any, host: Engine, limits: SchemaLimits) -> dict[str, Any] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
        raise ApiError(
            400, "'response_format' must be an object with a type", param="response_format"
        )
    if raw["type"] == "text":
        return None
    if raw["type"] == "json_object":
        # OpenAI's json_object is an object; a bare "any JSON" grammar also allows lists,
        # numbers and free whitespace, which is what an untrained model then writes.
        raw = {"type": "json_schema", "json_schema": {"name": "object", "schema": _OBJECT}}
    try:
        found = json_schema_of(raw)
        if found is not None:
            limits.check(*found)
        host.constrainer()  # xgrammar is installed (else the 400 says how to get it)
    except SchemaLimitError as exc:
        raise ApiError(400, str(exc), param="response_format", code=exc.limit) from None
    except ConstraintError as exc:
        raise ApiError(400, str(exc), param="response_format") from None
    return raw
