"""Where a hosted fine-tune runs once trained: the one place that knows host details.

A finished job is served by the same company's OpenAI-compatible inference API: Together
at ``api.together.xyz/v1``, Fireworks at ``api.fireworks.ai/inference/v1``, Tinker at
``.../oai/api/v1``, each with its own key variable. When the named host is registered
(``together/MODEL``, :data:`fieldwise.registry.hosts`), the spec names it and carries
only what differs from the host's defaults; otherwise it is ``openai/MODEL`` with the
host's base URL and key variable as options. Either way ``fieldwise run`` reloads the
options registered with the spec, so the model runs by name.

A service moved with ``base_url`` (a proxy, a test server) serves inference under the
same address: its ``inference_path`` is appended.
"""

from __future__ import annotations

from typing import Any

from fieldwise import registry
from fieldwise.finetune.providers._base import ProviderSettings, RunnableSpec

__all__ = ["runnable_on_host"]


def runnable_on_host(
    host: str,
    model: str,
    settings: ProviderSettings,
    *,
    inference_url: str,
    key_env: str,
    inference_path: str,
) -> RunnableSpec:
    """The spec (and options) that run ``model`` on ``host`` (see the module docstring)."""
    moved = settings.base_url.rstrip("/") + inference_path if settings.base_url else None
    options: dict[str, Any] = {}
    if host in registry.hosts.names():
        if moved:
            options["base_url"] = moved
        if settings.api_key_env != key_env:
            options["api_key_env"] = settings.api_key_env
        return RunnableSpec(f"{host}/{model}", options)
    options["base_url"] = moved or inference_url
    options["api_key_env"] = settings.api_key_env
    return RunnableSpec(f"openai/{model}", options)
