"""Model backends behind one interface, registered by name and imported lazily.

Specs read ``provider/name`` (``openai/gpt-4o``, ``hf/PATH[:ADAPTER]``, ``baseline/DIR``).
A backend is registered here by dotted path so that its optional dependencies are only
imported when it is used; third-party backends register through the
``fieldwise.models`` entry-point group (name → ``module:Class``).
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import Any

from fieldwise.errors import UserError, install_hint
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
    "model_kind",
    "parse_spec",
    "prediction_key",
    "register_backend",
]

_BACKENDS: dict[str, str] = {
    "baseline": "fieldwise.models.baseline:BaselineModel",
    "openai": "fieldwise.models.openai_backend:OpenAIModel",
    "anthropic": "fieldwise.models.anthropic_backend:AnthropicModel",
    "hf": "fieldwise.models.hf:HFModel",
    "vllm": "fieldwise.models.vllm_backend:VLLMModel",
}


def register_backend(provider: str, target: str | type[Model]) -> None:
    """Register a backend class (or its ``module:Class`` path) under a provider name."""
    if isinstance(target, type):
        target = f"{target.__module__}:{target.__qualname__}"
    _BACKENDS[provider] = target


def available_backends() -> list[str]:
    names = set(_BACKENDS)
    names.update(ep.name for ep in entry_points(group="fieldwise.models"))
    return sorted(names)


def get_backend(provider: str) -> type[Model]:
    target = _BACKENDS.get(provider)
    if target is None:
        for ep in entry_points(group="fieldwise.models"):
            if ep.name == provider:
                target = ep.value
    if target is None:
        raise UserError(
            f"unknown model provider '{provider}'",
            hint=f"use one of {', '.join(available_backends())}",
        )
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("fieldwise"):
            raise UserError(f"model provider '{provider}' is not available in this build") from exc
        raise UserError(
            f"model provider '{provider}' needs the '{exc.name}' package",
            hint=install_hint(exc.name or provider),
        ) from exc
    cls = getattr(module, attr)
    assert isinstance(cls, type) and issubclass(cls, Model)
    return cls


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
    from pydantic import ValidationError

    provider, name = parse_spec(spec)
    cls = get_backend(provider)
    try:
        opts = cls.Options(**(options or {}))
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise UserError(f"bad option '{loc}' for {spec}: {first['msg']}") from exc
    return cls(name, task, opts)
