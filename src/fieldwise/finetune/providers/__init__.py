"""Hosted fine-tuning services, one module each, behind :class:`HostedProvider`.

Providers are registered by dotted path (:data:`fieldwise.registry.providers`) so that a
provider's SDK is imported only when that provider is used: OpenAI, Together (``together``
SDK), Fireworks (``fireworks-ai``) and Tinker (``tinker``: a LoRA training loop run from
this process through its training client). Adding a service means one module with a
:class:`HostedProvider` subclass and one registration line here, or, from another
package, an entry point in the ``fieldwise.providers`` group.
"""

from __future__ import annotations

from fieldwise import registry
from fieldwise.finetune.providers._base import (
    TERMINAL_STATES,
    CostEstimate,
    HostedProvider,
    JobEvent,
    JobState,
    JobStatus,
    ProviderSettings,
    RunnableSpec,
)

__all__ = [
    "TERMINAL_STATES",
    "CostEstimate",
    "HostedProvider",
    "JobEvent",
    "JobState",
    "JobStatus",
    "ProviderSettings",
    "RunnableSpec",
    "available_providers",
    "get_provider",
    "register_provider",
]

registry.providers.configure(check=HostedProvider)
registry.providers.register("openai", "fieldwise.finetune.providers._openai:OpenAIProvider")
registry.providers.register(
    "together", "fieldwise.finetune.providers._together:TogetherProvider", extra="together"
)
registry.providers.register(
    "fireworks", "fieldwise.finetune.providers._fireworks:FireworksProvider", extra="fireworks"
)
registry.providers.register(
    "tinker", "fieldwise.finetune.providers._tinker:TinkerProvider", extra="tinker"
)


register_provider = registry.providers.register
"""``register_provider(name, Class or "module:Class")``."""
available_providers = registry.providers.names
"""Built-in and installed (entry-point) provider names."""


def get_provider(name: str) -> type[HostedProvider]:
    """The provider class registered as ``name``; a UserError names the known ones."""
    cls: type[HostedProvider] = registry.providers.get(name)
    return cls
