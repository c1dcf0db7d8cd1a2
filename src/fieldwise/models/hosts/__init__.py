"""Named OpenAI-compatible hosts: ``together/MODEL``, ``fireworks/MODEL``, ``openai/MODEL``.

Many services speak OpenAI's chat-completions wire format and differ only in where they
are, which variable holds their key and a few quirks. A :class:`Host` records exactly
that, and a host is one small module (as pydantic-ai's ``providers/``) registered in
:data:`fieldwise.registry.hosts` by one line below, or by a ``fieldwise.hosts`` entry
point in another package. A spec whose provider is a host's name runs on the OpenAI
backend bound to that host (:meth:`OpenAIModel.on_host
<fieldwise.models.openai_backend.OpenAIModel.on_host>`), so nobody repeats its base URL
and key variable as options.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from fieldwise import registry

__all__ = ["Host"]


@dataclass(frozen=True)
class Host:
    """What differs between hosts that speak the same wire format."""

    name: str
    """The spec prefix: ``NAME/MODEL``."""
    base_url: str
    """Where its OpenAI-compatible API is (``.../v1``); the ``base_url`` option overrides."""
    key_env: str
    """The environment variable its API key is read from (``api_key_env`` overrides)."""
    token_limit_param: Literal["max_tokens", "max_completion_tokens"] = "max_tokens"
    """How the host names the output-token limit. Applied at the host's own address;
    anywhere else (a proxy, a local server) ``max_tokens``, which every compatible server
    takes. The ``token_limit_param`` option overrides."""
    schema_dialect: Literal["strict", "plain"] = "plain"
    """``strict``: ``json_schema``/``tools`` carry the schema rewritten into OpenAI's
    strict-mode subset, with ``strict: true`` (what OpenAI needs for guaranteed
    conformance); ``plain``: the task's JSON Schema as it is, ``strict: false``."""
    batch: bool = False
    """Whether it serves OpenAI's Batch API (``/v1/files`` + ``/v1/batches``)."""
    base_url_env: str | None = None
    """A variable that, when set, moves the host (``OPENAI_BASE_URL``)."""


registry.hosts.configure(check=Host)
registry.hosts.register("openai", "fieldwise.models.hosts._openai:HOST")
registry.hosts.register("together", "fieldwise.models.hosts._together:HOST")
registry.hosts.register("fireworks", "fieldwise.models.hosts._fireworks:HOST")
