"""Hosted fine-tuning services, one module each, behind :class:`HostedProvider`.

Providers are registered by dotted path (:data:`fieldwise.registry.providers`) so that a
provider's SDK is imported only when that provider is used. Adding a host (Together,
Fireworks, ...) means one module with a :class:`HostedProvider` subclass and one
registration line here, or, from another package, an entry point in the
``fieldwise.providers`` group.
"""

from __future__ import annotations

from fieldwise import registry
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

registry.providers.configure(check=HostedProvider)
registry.providers.register("openai", "fieldwise.finetune.providers._openai:OpenAIProvider")


register_provider = registry.providers.register
"""``register_provider(name, Class or "module:Class")``."""
available_providers = registry.providers.names
"""Built-in and installed (entry-point) provider names."""


def get_provider(name: str) -> type[HostedProvider]:
    """The provider class registered as ``name``; a UserError names the known ones."""
    cls: type[HostedProvider] = registry.providers.get(name)
    return cls
