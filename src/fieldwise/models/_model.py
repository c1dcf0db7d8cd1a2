"""The one small interface every model backend implements.

A backend is a subclass of :class:`Model` with a few capability flags, a nested Pydantic
``Options`` (``extra="forbid"`` so typos fail loudly) and one async :meth:`Model.generate`
that turns a batch of examples into raw outputs. Everything else (concurrency, retries,
caching, storing, scoring) lives outside the backend.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from fieldwise._hashing import (  # noqa: F401 - moved there; still importable from here
    canonical_json,
    content_hash,
    prediction_key,
    prediction_keys,
)
from fieldwise.tasks import Example, Task

ModelKind = Literal["baseline", "api", "finetune", "imported"]
"""How the report groups and colours a model (fine-tuned vs prompted vs embedded)."""


@dataclass
class Generation:
    """One raw output. ``output`` is whatever the model said (garbage included); ``error``
    is set only when no output could be obtained (after retries)."""

    output: str | None
    error: str | None = None
    latency_s: float = 0.0
    input_tokens: int | None = None
    output_tokens: int | None = None
    finish_reason: str | None = None
    signals: dict[str, Any] | None = None
    """Confidence only the backend can give (token log-probabilities, its own probability
    per value; ``models/_signals.py``), stored beside the prediction for ``fieldwise
    trust``; ``None`` when it has none."""


class RetryableError(Exception):
    """Raised by a backend for failures worth retrying (429, 5xx, timeouts).

    ``retry_after`` carries the server's ``Retry-After`` hint in seconds, if any.
    """

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ModelOptions(BaseModel):
    """Base for every backend's options; unknown keys are an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())


class Model(ABC):
    """A model that produces raw text outputs for a task.

    Subclasses set ``provider`` (the prefix in ``provider/name`` specs) and may override:
    ``kind`` (report grouping), ``max_batch_size`` (examples per :meth:`generate` call),
    ``default_concurrency`` (calls in flight at once), ``needs_key``/``key_env_var``,
    ``key_pattern``, ``batch_api``, ``runs_on_ray`` (with :meth:`load` and
    :meth:`generate_sync`).
    """

    provider: ClassVar[str]
    kind: ClassVar[ModelKind] = "api"
    max_batch_size: ClassVar[int] = 1
    default_concurrency: ClassVar[int] = 1
    supports_schema: ClassVar[bool] = False
    needs_key: ClassVar[bool] = False
    key_env_var: ClassVar[str | None] = None
    trainable: ClassVar[bool] = False
    batch_api: ClassVar[str | None] = None
    """The name of the provider's batch API adapter in :data:`fieldwise.registry.batch_apis`,
    for backends whose provider runs requests in bulk at a discount; ``None``: online only."""
    key_pattern: ClassVar[str | None] = None
    """A regex for the provider's API key format: matching text is redacted from every
    error and printout once this class is defined, even a key nobody registered."""
    runs_on_ray: ClassVar[bool] = False
    """Whether the Ray executor can run this backend: its workers build the model, call
    :meth:`load` once and then :meth:`generate_sync` per batch (local weights: ``hf``,
    ``vllm``). The executors read capabilities like this and ``batch_api`` from the class,
    so no list of providers is kept anywhere else."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("key_pattern"):
            from fieldwise.models._errors import register_key_pattern

            register_key_pattern(cls.key_pattern)

    class Options(ModelOptions):
        pass

    def __init__(self, name: str, task: Task, options: ModelOptions | None = None) -> None:
        self.name = name
        self.task = task
        self.options = options if options is not None else self.Options()

    @classmethod
    def kind_of(cls, name: str) -> ModelKind:
        """The report group of ``provider/name``, decided from the spec alone so that the
        run record, the CLI and the report agree before (or without) building the model."""
        return cls.kind

    @property
    def spec(self) -> str:
        return f"{self.provider}/{self.name}"

    def identity(self) -> dict[str, Any]:
        """Everything that changes the output, and nothing else (no timeouts, no retries).

        Prediction cache keys hash this together with the input, so two runs with the
        same identity never compute the same prediction twice. Backends that read
        weights from disk should add a content fingerprint of them here.
        """
        return {
            "provider": self.provider,
            "name": self.name,
            "task": self.task.name,
            "options": self.options.model_dump(mode="json", exclude=self.volatile_options()),
        }

    def volatile_options(self) -> set[str]:
        """Option names that do not change outputs (excluded from the cache key)."""
        return set()

    def prepare(self, train: list[Example]) -> None:  # noqa: B027 - optional hook
        """Called once before generating, with the task's train split (maybe empty).

        Prompted models draw few-shot examples here; most models ignore it.
        """

    @abstractmethod
    async def generate(self, batch: list[Example]) -> list[Generation]:
        """Return one :class:`Generation` per example, in order.

        Raise :class:`RetryableError` for transient failures; any other exception is
        recorded as that example's error. Never raise because the output is bad: a
        model's garbage is data to score.
        """

    async def aclose(self) -> None:  # noqa: B027 - optional hook, most models hold nothing
        """Release clients, servers or GPU memory."""

    def load(self) -> None:  # noqa: B027 - optional hook, most models load lazily
        """Load weights now rather than on the first batch (a Ray worker calls it once,
        before its first :meth:`generate_sync`)."""

    def generate_sync(self, batch: list[Example]) -> list[Generation]:
        """:meth:`generate` without an event loop, for executors that call the model from
        plain worker threads or processes (Ray). Backends with ``runs_on_ray`` implement it
        (batched, one call per batch); the same contract as :meth:`generate` holds."""
        raise NotImplementedError(f"{type(self).__name__} has no generate_sync (runs_on_ray)")


class TrainableModel(Model):
    """A model that can be trained from labelled examples into a directory."""

    trainable: ClassVar[bool] = True
    training_options: ClassVar[frozenset[str]] = frozenset()
    """Options consumed by :meth:`train`: they shape the saved model, so they key the
    trained-model cache; every other option only affects prediction."""

    def volatile_options(self) -> set[str]:
        # Already part of the trained model's own fingerprint.
        return set(self.training_options)

    @classmethod
    @abstractmethod
    def train(
        cls, task: Task, examples: list[Example], out_dir: Path, options: ModelOptions | None
    ) -> Path:
        """Train on ``examples`` and save to ``out_dir`` (no pickle); return the directory."""

    @classmethod
    def training_notes(cls, task: Task) -> list[str]:
        """What the user should know before training on ``task`` (e.g. a field the model
        cannot learn and will always abstain on); printed once by ``train`` and ``run``."""
        return []
