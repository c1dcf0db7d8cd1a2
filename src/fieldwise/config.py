"""The project config (``fieldwise.yaml``): task, data and models in one typed object.

Paths inside a config file are relative to the file's own directory, so a project folder
can be moved or shared as a whole. With no file, :func:`default_config` describes the
offline main job: the ISAF task, its packaged sample and the embedded baseline model.
"""

from __future__ import annotations

import itertools
import json
import re
import typing
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from fieldwise import _legacy
from fieldwise._text import read_utf8
from fieldwise.errors import UserError, did_you_mean

ModelKindName = Literal["baseline", "api", "finetune", "imported"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())


class DataConfig(_Strict):
    """Where examples come from. ``train`` alone is split group-aware into train/test;
    ``cv: K`` instead judges trainable models by K-fold cross-validation on it."""

    train: str | None = "sample"
    test: str | None = None
    test_size: float = Field(0.2, gt=0, lt=1)
    cv: int | None = Field(None, ge=2)
    seed: int = 0
    skip_invalid: bool = False
    limit: int | None = Field(None, ge=1)
    group: str | None = None
    """Column naming each row's document group (default: the task's ``group_column``);
    without one, rows that share a text form a group."""


class PriceConfig(_Strict):
    """A model's price, overriding the shipped price table (``fieldwise prices``).

    One of: token prices (USD per 1M tokens, input and output both given: a price is
    never half-known and silently zero); ``per_hour`` (USD per hour of a self-hosted
    model's hardware, turned into a cost per document by its measured throughput); or
    ``same_as: HOST/MODEL`` (a fine-tune its host serves at the base model's rate). The
    batch prices default to half the online ones (what OpenAI and Anthropic charge).
    """

    input_per_mtok: float | None = Field(None, ge=0)
    output_per_mtok: float | None = Field(None, ge=0)
    cached_input_per_mtok: float | None = Field(None, ge=0)
    batch_input_per_mtok: float | None = Field(None, ge=0)
    batch_output_per_mtok: float | None = Field(None, ge=0)
    per_hour: float | None = Field(None, gt=0)
    same_as: str | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> PriceConfig:
        tokens = [self.input_per_mtok, self.output_per_mtok]
        token_extras = [
            self.cached_input_per_mtok,
            self.batch_input_per_mtok,
            self.batch_output_per_mtok,
        ]
        kinds = sum(
            [
                any(v is not None for v in tokens + token_extras),
                self.per_hour is not None,
                self.same_as is not None,
            ]
        )
        if kinds != 1:
            raise ValueError(
                "give token prices (input_per_mtok and output_per_mtok), per_hour, "
                "or same_as: exactly one kind"
            )
        if any(v is not None for v in tokens + token_extras) and None in tokens:
            raise ValueError("token prices need both input_per_mtok and output_per_mtok")
        return self


class BatchConfig(_Strict):
    """``batch: true`` or ``batch: {poll_s: ..., ...}``: send the pending examples through
    the provider's batch API. The limits default to the provider's per-batch limits."""

    poll_s: float = Field(30.0, gt=0)
    max_requests: int | None = Field(None, ge=1)
    max_bytes: int | None = Field(None, ge=1)
    confirm_s: float = Field(600.0, ge=0)
    """After a create that got no answer, how long to look for the batch it may have made
    before creating another (OpenAI; see docs/backends-api.md)."""


MAX_REPEATS = 1000
"""The most ``repeats`` a model may ask for (issue 15: ``repeats: 1000000000`` planned for
minutes at 900 MB before sending a request); see also ``runner._job.MAX_PLANNED``."""


class OptimizeConfig(_Strict):
    """``optimize:`` on a model entry: search for a better prompt for it before the run
    (``fieldwise optimize``), then run the entry as two variants, ``prompt=original``
    and ``prompt=NAME``, paired in the report. See docs/optimize.md."""

    budget: int = Field(..., ge=1)
    """Model calls the search may make (task model and optimiser together)."""
    name: str | None = None
    """The saved prompt's name (default: the entry's name with ``-opt``)."""
    seed: int = 0
    val: str | None = None
    """Validation rows (a file); default: ``val_size`` of data.train, split by group."""
    val_size: float = Field(0.3, gt=0, lt=1)
    optimizer: str | None = None
    """The reflection model's spec (default: the model itself; for ``simulated/X``,
    ``simulated-optimizer/X``)."""
    optimizer_options: dict[str, Any] = Field(default_factory=dict)
    optimizer_price: PriceConfig | None = None
    minibatch: int = Field(4, ge=1)
    profile: str = "reference"


class ModelConfig(_Strict):
    """One model: ``spec`` is ``provider/name``; ``provider/auto`` trains a trainable
    backend (e.g. ``baseline/auto``) on the train split first. With ``name`` alone, the
    spec is the one ``fieldwise finetune`` registered under that name in the store."""

    spec: str = ""
    name: str | None = None
    kind: ModelKindName | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    concurrency: int | None = Field(None, ge=1)
    rpm: float | None = Field(None, gt=0)
    tpm: float | None = Field(None, gt=0)
    timeout_s: float = Field(120.0, gt=0)
    max_retries: int = Field(6, ge=0)
    price: PriceConfig | None = None
    executor: str = "local"
    """How the rows are run: ``local`` (this process), ``ray`` (an ``hf``/``vllm`` model on
    a Ray cluster, ``docs/ray.md``), ``batch`` (the provider's batch API, as ``batch:``),
    or an executor a plugin registered."""
    ray_address: str = "auto"
    ray_workers: int = Field(1, ge=1)
    """Ray actors, each with its own copy of the model (one per GPU for one engine each)."""
    ray_gpus_per_worker: float = Field(0.0, ge=0)
    batch: bool | BatchConfig = False
    repeats: int = Field(1, ge=1)
    """Predict each example this many times (sampled decoding); each repeat is its own
    stored prediction, and the model is scored on each row's mean over repeats. At most
    :data:`MAX_REPEATS` (every repeat is planned, keyed and stored up front)."""
    variants: dict[str, list[Any]] = Field(default_factory=dict)
    """Option values to try: the entry expands into one sibling model per combination,
    named ``name[key=value,...]`` (see docs/statistics.md)."""
    variant_of: str | None = None
    variant: dict[str, Any] = Field(default_factory=dict)
    prompt: str | None = None
    """A named prompt (``fieldwise optimize --name``): ``NAME``, ``NAME@vN`` or
    ``original`` (the model's own); the same as ``options: {prompt: ...}``."""
    optimize: OptimizeConfig | None = None

    @field_validator("repeats")
    @classmethod
    def _few_repeats(cls, value: int) -> int:
        if value > MAX_REPEATS:
            raise ValueError(
                f"repeats is {value:,}; at most {MAX_REPEATS:,} (each repeat is a full "
                "pass over the data, planned and stored up front)"
            )
        return value

    @model_validator(mode="after")
    def _spec_or_name(self) -> ModelConfig:
        if not self.spec and not self.name:
            raise ValueError("a model needs a spec (provider/name) or a registered name")
        if self.prompt is not None:
            if self.options.get("prompt", self.prompt) != self.prompt:
                raise ValueError("prompt and options.prompt name different prompts")
            self.options = {**self.options, "prompt": self.prompt}
        return self

    @property
    def prompt_name(self) -> str | None:
        """The prompt ``optimize:`` saves: its ``name``, else ``LABEL-opt`` (made safe)."""
        if self.optimize is None:
            return None
        if self.optimize.name:
            return self.optimize.name
        base = re.sub(r"[^A-Za-z0-9_.-]+", "-", self.variant_of or self.label).strip("-.")
        return f"{base or 'model'}-opt"

    @property
    def label(self) -> str:
        return self.name or self.spec

    @property
    def batch_config(self) -> BatchConfig | None:
        """The batch settings when this model runs through a batch API, else ``None``."""
        if isinstance(self.batch, BatchConfig):
            return self.batch
        return BatchConfig() if self.batch else None


class ImportConfig(_Strict):
    """Predictions made elsewhere: a JSONL of ``{"id", "output"}`` (needs ``name``), or a
    file / ``hub:`` dataset with a per-row ``predictions`` dict of model → output."""

    path: str
    name: str | None = None
    kind: ModelKindName = "imported"
    kinds: dict[str, ModelKindName] = Field(default_factory=dict)
    ood: str | None = None
    """The same model's ``{"id", "output"}`` lines for the project's ``ood`` probes."""

    @model_validator(mode="after")
    def _ood_needs_name(self) -> ImportConfig:
        if self.ood is not None and not self.name:
            raise ValueError("an import with ood outputs needs a name")
        return self


def expand_variants(mc: ModelConfig) -> list[ModelConfig]:
    """One model per combination of ``mc.variants`` (the entry itself when it has none).

    Each variant's options are the entry's with the combination applied; it is named
    ``label[key=value,...]`` and remembers its base name and combination, so the report
    can pair variants that differ in one switch.
    """
    if mc.optimize is not None and "prompt" not in mc.variants:
        if "prompt" in mc.options:
            raise ValueError("a model with optimize: runs its own prompt and the optimised one")
        mc = mc.model_copy(
            update={"variants": {**mc.variants, "prompt": ["original", mc.prompt_name]}}
        )
    if not mc.variants:
        return [mc]
    for key, values in mc.variants.items():
        if not isinstance(values, list) or len(values) < 2:
            raise ValueError(f"variants.{key} must list at least two values")
        if len({json.dumps(v, sort_keys=True) for v in values}) != len(values):
            raise ValueError(f"variants.{key} repeats a value")
    keys = list(mc.variants)
    out = []
    for combo in itertools.product(*(mc.variants[k] for k in keys)):
        chosen = dict(zip(keys, combo, strict=True))
        tag = ",".join(f"{k}={_show(v)}" for k, v in chosen.items())
        out.append(
            mc.model_copy(
                update={
                    "name": f"{mc.label}[{tag}]",
                    "options": {**mc.options, **chosen},
                    "variants": {},
                    "variant_of": mc.label,
                    "variant": chosen,
                }
            )
        )
    return out


def _show(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


DEFAULT_MODELS = (
    ModelConfig(spec="baseline/auto", name="baseline"),
    # The same trained model, saying null where its calibrated confidence is below 0.5:
    # the strict profile scores it on what it answers and reports coverage beside it.
    ModelConfig(spec="baseline/auto", name="baseline-abstain", options={"abstain": True}),
)
"""The offline main job's models: the embedded extractor, guessing and abstaining."""


class ProjectConfig(_Strict):
    task: str = "isaf"
    data: DataConfig = Field(default_factory=DataConfig)
    models: list[ModelConfig] = Field(default_factory=lambda: list(DEFAULT_MODELS))
    imports: list[ImportConfig] = Field(default_factory=list)
    profiles: list[str] = Field(default_factory=lambda: ["reference", "strict"], min_length=1)
    """Every model is scored under each; the first ranks the run's summary, its report
    and the pairwise table a bare ``fieldwise compare`` prints (``[strict, reference]``
    ranks by strict)."""
    bootstrap: int = Field(1000, ge=0)
    strip_fences: bool = False
    """Let profiles that accept it (``strict``; never ``reference``) score the object
    inside an output wrapped in a Markdown code fence (validity class ``fenced``)."""
    output: str = ".fieldwise"
    title: str | None = None
    ood: str | None = None
    """Out-of-domain probes (``fieldwise data ood``) every model also answers; the report
    then gains its out-of-domain section (docs/trust.md)."""
    base_dir: Path = Field(default_factory=Path.cwd, exclude=True)

    @model_validator(mode="after")
    def _unique_labels(self) -> ProjectConfig:
        self.models = [v for m in self.models for v in expand_variants(m)]
        labels = [m.label for m in self.models]
        dupes = {x for x in labels if labels.count(x) > 1}
        if dupes:
            raise ValueError(f"model names must be unique; repeated: {sorted(dupes)}")
        return self

    @model_validator(mode="after")
    def _inline_finetune_configs(self) -> ProjectConfig:
        """A model's ``finetune`` option naming a local fine-tuning YAML (``lora/auto``) is
        read here, relative to this file, and kept inline: the trained-model cache is
        keyed by the config's content, so editing the YAML retrains."""
        for i, mc in enumerate(self.models):
            source = mc.options.get("finetune")
            if isinstance(source, str):
                self.models[i] = mc.model_copy(
                    update={"options": {**mc.options, "finetune": _read_finetune(self, source)}}
                )
        return self

    def resolve(self, value: str | None) -> str | None:
        """A path relative to the config file; ``sample``/``hub:``/builtin names unchanged."""
        if value is None or value == "sample" or value.startswith("hub:"):
            return value
        path = Path(value)
        return str(path if path.is_absolute() else self.base_dir / path)

    def resolve_task(self) -> str:
        module, sep, attr = self.task.partition(":")
        if module.endswith(".py"):
            return f"{self.resolve(module)}{sep}{attr}"
        return self.task

    @property
    def output_dir(self) -> Path:
        return _legacy.project_dir(Path(self.resolve(self.output) or ".fieldwise").resolve())


def _read_finetune(config: ProjectConfig, source: str) -> dict[str, Any]:
    """A local fine-tuning YAML as a mapping, its base model resolved against its folder."""
    path = Path(config.resolve(source) or source)
    data = load_yaml_mapping(path)
    if isinstance(data.get("base_model"), str):
        data["base_model"] = resolve_model(data["base_model"], path.parent)
    return data


def resolve_model(base_model: str, base_dir: Path) -> str:
    """A path-looking or existing relative path is local; anything else is a Hub id."""
    expanded = Path(base_model).expanduser()
    if base_model.startswith(("./", "../", "/", "~")) or (base_dir / expanded).exists():
        return str((base_dir / expanded).resolve())
    return base_model


def default_config(base_dir: Path | None = None) -> ProjectConfig:
    return ProjectConfig(base_dir=base_dir or Path.cwd())


CONFIG_FILENAME = "fieldwise.yaml"


def find_config(folder: str | Path = ".") -> Path | None:
    """The project config in ``folder`` (``fieldwise.yaml``), or None when it has none."""
    return _legacy.config_file(Path(folder), CONFIG_FILENAME)


def load_yaml_mapping(path: Path) -> dict[str, Any]:
    """A YAML file that must hold a mapping with string keys (a config), with one-line
    errors for a missing file, bytes that are not UTF-8, invalid YAML and keys that
    are not strings (``1: x`` or ``[a]: x``), each naming the file and line."""
    if not path.is_file():
        raise UserError(f"config file not found: {path}")
    text = read_utf8(path)
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: invalid YAML: {' '.join(str(exc).split())}") from None
    except RecursionError:
        raise UserError(f"{path}: YAML nested too deep to read") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a mapping at the top level")
    _check_keys(data, path, text)
    return data


def _check_keys(value: Any, path: Path, text: str, where: str = "") -> None:
    if isinstance(value, list):
        for i, item in enumerate(value):
            _check_keys(item, path, text, f"{where}[{i}]")
    if not isinstance(value, dict):
        return
    for key, item in value.items():
        if not isinstance(key, str):
            line = next(
                (n for n, t in enumerate(text.splitlines(), 1) if t.strip().startswith(str(key))),
                None,
            )
            at = f"{path}:{line}" if line else str(path)
            raise UserError(
                f"{at}: key {key!r} under '{where or '(top level)'}' is not a string",
                hint="quote it",
            )
        _check_keys(item, path, text, f"{where}.{key}" if where else key)


def load_config(path: str | Path) -> ProjectConfig:
    """Read and validate a YAML project config (a file, or a folder holding
    ``fieldwise.yaml``); errors name the offending key."""
    path = Path(path)
    if path.is_dir():
        found = find_config(path)
        if found is None:
            raise UserError(f"no {CONFIG_FILENAME} in {path}")
        path = found
    data = load_yaml_mapping(path)
    if "base_dir" in data:
        raise UserError(
            f"{path}: base_dir: not a config key",
            hint="paths in a config are relative to the config file's own folder",
        )
    try:
        return ProjectConfig(**data, base_dir=path.resolve().parent)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"]) or "(top level)"
        message, hint = first["msg"], None
        if first["type"] == "extra_forbidden" and first["loc"]:
            message = "unknown key"
            hint = did_you_mean(str(first["loc"][-1]), config_keys(first["loc"][:-1]))
        raise UserError(f"{path}: {loc}: {message}", hint=hint) from exc


def config_keys(where: tuple[int | str, ...] = ()) -> list[str]:
    """The keys a config accepts at ``where`` (``("data",)``, ``("models", 0)``), for
    did-you-mean hints; empty when ``where`` is not a section of the config."""
    cls: type[BaseModel] | None = ProjectConfig
    for part in where:
        if isinstance(part, int) or cls is None:
            continue
        info = cls.model_fields.get(part)
        cls = _model_in(info.annotation) if info is not None else None
    if cls is None:
        return []
    return [name for name, info in cls.model_fields.items() if not info.exclude]


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The config section class inside ``X``, ``X | None`` or ``list[X]``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None
