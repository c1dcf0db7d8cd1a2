"""Compact JSON from vLLM: its structured outputs allow free whitespace by default.

vLLM compiles a ``response_format`` schema with whitespace allowed between every token
(only a server started with ``--structured-outputs-config.disable_any_whitespace true``
differs, and vLLM 0.32 ignores the per-request flag of that name). A model that never
saw the schema then writes ``{"invoice_number"`` followed by spaces until ``max_tokens``
(0 of 12 outputs valid on a real vLLM server in issue 15). So on a vLLM host fieldwise
sends the schema as a grammar that allows no free whitespace, in the compact layout
fine-tunes are trained on (:data:`~fieldwise.tasks.prompts.JSON_SEPARATORS`), exactly as
the local grammar of ``hf/`` and ``serve`` does: ``structured_outputs.grammar`` (vLLM >=
0.10.2; ``guided_grammar`` before) holding xgrammar's EBNF for the schema.

Whether a host is vLLM is read once per model from its ``GET /models`` (vLLM lists its
models as ``owned_by: "vllm"``), and which grammar field to use from ``GET /version``.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fieldwise.errors import UserError
from fieldwise.tasks.prompts import JSON_SEPARATORS

log = logging.getLogger(__name__)

ANY_OBJECT: dict[str, Any] = {"type": "object"}
"""What ``json_object`` asks for (an object, not any JSON value)."""


def compact_grammar(schema: dict[str, Any], strict: bool = True) -> str:
    """xgrammar's EBNF for ``schema`` with no free whitespace and compact separators."""
    try:
        import xgrammar as xgr
    except ImportError:
        raise UserError(
            "asking a vLLM server for compact JSON needs the 'xgrammar' package",
            hint="pip install 'fieldwise[constrained]', or set the option json_layout=server",
        ) from None
    try:
        grammar = xgr.Grammar.from_json_schema(
            json.dumps(schema),
            any_whitespace=False,
            separators=JSON_SEPARATORS,
            strict_mode=strict,
        )
    except Exception as exc:  # xgrammar raises its own types for schemas it cannot take
        raise UserError(f"cannot turn the task's JSON schema into a grammar: {exc}") from exc
    return str(grammar)


def vllm_version(base_url: str, api_key: str, timeout_s: float = 10.0) -> str | None:
    """The vLLM version serving ``base_url`` (``.../v1``; ``"unknown"`` when it hides
    it), or ``None`` when the host is not vLLM or cannot be asked (down, not JSON)."""
    import httpx

    headers = {"Authorization": f"Bearer {api_key}"}
    try:
        reply = httpx.get(f"{base_url}/models", headers=headers, timeout=timeout_s)
        models = reply.json().get("data") if reply.status_code == 200 else None
    except (httpx.HTTPError, ValueError, AttributeError) as exc:
        log.debug("cannot tell whether %s is vLLM: %s", base_url, exc)
        return None
    if not isinstance(models, list) or not any(
        isinstance(m, dict) and m.get("owned_by") == "vllm" for m in models
    ):
        return None
    try:
        root = base_url.removesuffix("/v1")
        found = httpx.get(f"{root}/version", headers=headers, timeout=timeout_s).json()["version"]
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        return "unknown"
    return str(found)


def vllm_structured_output(request: dict[str, Any], grammar: str, version: str) -> dict[str, Any]:
    """``request`` (chat-completions keywords) with its ``response_format`` replaced by
    vLLM's grammar constraint for that vLLM ``version``, enforced token by token."""
    out = {k: v for k, v in request.items() if k != "response_format"}
    extra = dict(request.get("extra_body") or {})
    if _before(version, (0, 10, 2)):
        extra["guided_grammar"] = grammar
    else:
        extra["structured_outputs"] = {**extra.get("structured_outputs", {}), "grammar": grammar}
    out["extra_body"] = extra
    return out


def _before(version: str, release: tuple[int, ...]) -> bool:
    """``version`` is an older release than ``release`` (unknown versions are new)."""
    parts = []
    for piece in version.split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit()) if piece[:1].isdigit() else ""
        if not digits:
            return False
        parts.append(int(digits))
    return tuple(parts) < release
