"""Hosted fine-tuning services, one module each, behind :class:`HostedProvider`.

Providers are registered by dotted path so that a provider's SDK is imported only when
that provider is used. Adding a host (Together, Fireworks, ...) means one module with a
:class:`HostedProvider` subclass and one :func:`register_provider` call.
"""

from __future__ import annotations

import importlib

from fieldwise.errors import UserError, install_hint
from fieldwise.finetune.providers._base import (
    TERMINAL_STATES,
    HostedProvider,
    JobEvent,
    JobState,
    JobStatus,
    ProviderSettings,
)

__all__ = [
    "TERMINAL_STATES",
    "HostedProvider",
    "JobEvent",
    "JobState",
    "JobStatus",
    "ProviderSettings",
    "available_providers",
    "get_provider",
    "register_provider",
]

_PROVIDERS: dict[str, str] = {
    "openai": "fieldwise.finetune.providers._openai:OpenAIProvider",
}


def register_provider(name: str, target: str | type[HostedProvider]) -> None:
    """Register a provider class (or its ``module:Class`` path) under ``name``."""
    if isinstance(target, type):
        target = f"{target.__module__}:{target.__qualname__}"
    _PROVIDERS[name] = target


def available_providers() -> list[str]:
    return sorted(_PROVIDERS)


def get_provider(name: str) -> type[HostedProvider]:
    """The provider class registered as ``name``; a UserError names the known ones."""
    target = _PROVIDERS.get(name)
    if target is None:
        raise UserError(
            f"unknown fine-tuning provider '{name}'",
            hint=f"use one of {', '.join(available_providers())}",
        )
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise UserError(
            f"fine-tuning provider '{name}' needs the '{exc.name}' package",
            hint=install_hint(exc.name or name),
        ) from exc
    cls = getattr(module, attr)
    assert isinstance(cls, type) and issubclass(cls, HostedProvider)
    return cls
