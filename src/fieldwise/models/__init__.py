"""Model backends behind one interface, registered by name and imported lazily.

Specs read ``provider/name`` (``openai/gpt-4o``, ``hf/PATH[:ADAPTER]``, ``baseline/DIR``).
A backend is registered here (one line in :data:`fieldwise.registry.models`) by dotted
path, so that its optional dependencies are only imported when it is used; third-party
backends declare an entry point in the ``fieldwise.models`` group (name →
``module:Class``), which needs no change here.
"""

from __future__ import annotations

from typing import Any

from fieldwise import registry
from fieldwise.errors import UserError
from fieldwise.models._model import (
    Generation,
    Model,
    ModelKind,
    ModelOptions,
    RetryableError,
    TrainableModel,
    content_hash,
    prediction_key,
)
from fieldwise.tasks import Task

__all__ = [
    "Generation",
    "Model",
    "ModelKind",
    "ModelOptions",
    "RetryableError",
    "TrainableModel",
    "content_hash",
    "create_model",
    "get_backend",
    "instantiate",
    "key_variables",
    "model_kind",
    "parse_spec",
    "prediction_key",
    "register_backend",
]

registry.models.configure(check=Model)
registry.models.register("baseline", "fieldwise.models.baseline:BaselineModel")
registry.models.register("openai", "fieldwise.models.openai_backend:OpenAIModel")
registry.models.register("anthropic", "fieldwise.models.anthropic_backend:AnthropicModel")
registry.models.register("hf", "fieldwise.models.hf:HFModel", extra="hf")
registry.models.register("vllm", "fieldwise.models.vllm_backend:VLLMModel", extra="vllm")
registry.models.register("lora", "fieldwise.finetune.lora:LoraModel", extra="finetune")
registry.models.register("simulated", "fieldwise.models.simulated:SimulatedModel")
registry.models.register("simulated-optimizer", "fieldwise.models.simulated:SimulatedOptimizer")


register_backend = registry.models.register
"""``register_backend(provider, Class or "module:Class")``."""


def available_backends() -> list[str]:
    """Built-in and installed (entry-point) provider names, named hosts included."""
    names = registry.models.names()
    return names + [h for h in registry.hosts.names() if h not in names]


def get_backend(provider: str) -> type[Model]:
    """The backend class of a provider name, imported on first use. A named host
    (``together``, see :mod:`fieldwise.models.hosts`) is the OpenAI backend bound to it."""
    if provider not in registry.models and provider in registry.hosts:
        from fieldwise.models.openai_backend import OpenAIModel

        return OpenAIModel.on_host(registry.hosts.get(provider))
    if provider not in registry.models:
        raise UserError(
            f"unknown model provider '{provider}'",
            hint=f"use one of: {', '.join(available_backends())}",
        )
    cls: type[Model] = registry.models.get(provider)
    return cls


def _key_holders() -> list[Any]:
    """Every registered backend, hosted provider and named host whose dependencies are
    installed."""
    found: list[Any] = []
    for kind in (registry.models, registry.providers, registry.hosts):
        for name in kind.names():
            try:
                found.append(kind.get(name))
            except UserError:
                continue
    return found


def key_variables() -> set[str]:
    """Every environment variable a registered backend or hosted provider reads its key
    from, e.g. for tests to clear them all."""
    names = (
        getattr(c, "key_env_var", None)
        or getattr(c, "default_key_env", None)
        or getattr(c, "key_env", None)
        for c in _key_holders()
    )
    return {n for n in names if n}


def parse_spec(spec: str) -> tuple[str, str]:
    """Split ``provider/name`` into its parts; the name may itself contain slashes."""
    provider, sep, name = spec.partition("/")
    if not sep or not provider or not name:
        raise UserError(
            f"bad model spec '{spec}'",
            hint="write provider/name, e.g. openai/gpt-4o, hf/PATH[:ADAPTER], baseline/DIR",
        )
    return provider, name


def model_kind(spec: str) -> ModelKind:
    """How the report groups ``provider/name`` (the one place kinds are decided; a
    config's ``kind:`` overrides it)."""
    provider, name = parse_spec(spec)
    return get_backend(provider).kind_of(name)


def create_model(spec: str, task: Task, options: dict[str, Any] | None = None) -> Model:
    """Instantiate a backend from its spec, validating options against its ``Options``."""
    provider, name = parse_spec(spec)
    return instantiate(get_backend(provider), name, task, options)


def instantiate(
    cls: type[Model], name: str, task: Task, options: dict[str, Any] | None = None
) -> Model:
    """Build ``cls`` (a backend already looked up) as ``provider/name``, validating the
    options against its ``Options``."""
    from pydantic import ValidationError

    try:
        opts = cls.Options(**(options or {}))
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise UserError(f"bad option '{loc}' for {cls.provider}/{name}: {first['msg']}") from exc
    return cls(name, task, opts)
