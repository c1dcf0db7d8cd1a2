"""What every HTTP API backend shares, whatever its wire format: the key, the schema sent
with a request, the prompt-size ceiling and the token-limit parameter.

These were inside the OpenAI backend, so the Anthropic backend imported that module to
reach them; any third-party API backend can use them from here. The error mapping and
redaction every API backend shares is :mod:`fieldwise.models._errors`.
"""

from __future__ import annotations

import copy
import ipaddress
import os
import re
from typing import Any
from urllib.parse import urlparse

from fieldwise.errors import UserError
from fieldwise.models._errors import register_secret, register_url_credentials
from fieldwise.tasks import Task

__all__ = [
    "LOCAL_KEY",
    "is_local",
    "make_strict",
    "output_schema",
    "prompt_ceiling",
    "resolve_api_key",
    "same_host",
    "schema_name",
]

LOCAL_KEY = "not-needed"
"""Sent to local servers (vLLM, Ollama, llama.cpp) that need no key but whose clients
still insist on one."""


def same_host(url: str, other: str) -> bool:
    """Whether two base URLs name the same host (a host's quirks apply only there)."""
    return (urlparse(url).hostname or "") == (urlparse(other).hostname or "")


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
    local servers; otherwise a :class:`UserError` naming the variable to set.
    Credentials in ``base_url`` (``http://user:SECRET@host``) are registered as secrets
    first, so no error or log line shows them."""
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
