"""``fieldwise loadtest``: how fast a model serves a task's documents, and how well.

Replays a task's examples against a model through the model interface (any
OpenAI-compatible endpoint, ``fieldwise serve``, vLLM, the hosts, and the in-process
backends), closed loop at given concurrencies and open loop at Poisson rates, optionally
streamed (time to first token, time per output token) and with schema-constrained
decoding on and off. Every level reports throughput, latency percentiles, errors, the
validity and accuracy of the very outputs it timed, and what the generator itself cost,
and is stored with the model's identity and a run id, where the deploy view finds it.

    from fieldwise.loadtest import LoadTestConfig, run_loadtest
    result = run_loadtest(LoadTestConfig(spec="openai/m", task="isaf", data="test.jsonl",
                                         concurrency=[1, 4, 16]))
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fieldwise.errors import UserError
from fieldwise.loadtest._driver import Dispatcher, LevelRun, closed_loop, open_loop
from fieldwise.loadtest._metrics import LevelSpec, summarise
from fieldwise.store._speed import best_measurement, model_hash, save_level
from fieldwise.tasks import Example, Task

__all__ = [
    "LevelSpec",
    "LoadTestConfig",
    "best_measurement",
    "model_hash",
    "run_loadtest",
]

DEFAULT_REQUESTS = 200
"""Requests per level when not given: enough for a p99 between order statistics."""


@dataclass
class LoadTestConfig:
    """What to load-test and how (the ``fieldwise loadtest`` options)."""

    spec: str
    task: str = "isaf"
    data: str = "sample"
    concurrency: list[int] = field(default_factory=list)
    rates: list[float] = field(default_factory=list)
    requests: int | None = None
    stream: bool = False
    constrained: list[str] = field(default_factory=list)
    """``on``/``off`` settings to compare; empty: the model's options as given."""
    options: dict[str, Any] = field(default_factory=dict)
    train: str | None = None
    latency_target_s: float | None = None
    warmup: int | None = None
    """Unmeasured requests at the start of each level; ``None``: the level's concurrency
    (closed loop: one per client, opening its connection) or one second of arrivals."""
    timeout_s: float | None = 120.0
    seed: int = 0
    profile: str = "reference"
    label: str | None = None
    project: Path = Path(".fieldwise")

    def levels(self) -> list[LevelSpec]:
        if not self.concurrency and not self.rates:
            return [LevelSpec(concurrency=c) for c in (1, 4, 16)]
        return [LevelSpec(concurrency=c) for c in self.concurrency] + [
            LevelSpec(rate=r) for r in self.rates
        ]


Progress = Callable[[str, int], Callable[[], None]]
"""``progress(description, total)`` returns the callable to advance by one request."""


def run_loadtest(cfg: LoadTestConfig, progress: Progress | None = None) -> dict[str, Any]:
    """Run every level (for each constrained setting); store and return the results."""
    from fieldwise.data import load_examples
    from fieldwise.store import Store
    from fieldwise.tasks import load_task

    _check(cfg)
    task = load_task(cfg.task)
    dataset = load_examples(task, cfg.data)
    if not dataset.examples:
        raise UserError(f"{cfg.data} has no examples to replay")
    train = load_examples(task, cfg.train).examples if cfg.train else []
    requests = cfg.requests or DEFAULT_REQUESTS
    levels: list[dict[str, Any]] = []
    with Store(cfg.project) as store:
        store.save_dataset(task.name, dataset.fingerprint, dataset.source, dataset.examples)
        settings: list[str | None] = list(cfg.constrained) or [None]
        for setting in settings:
            model_options = _options(cfg, setting)
            levels += asyncio.run(
                _run_setting(cfg, task, dataset, train, model_options, setting, requests,
                             store, progress)
            )  # fmt: skip
    return {"model": cfg.spec, "label": cfg.label or cfg.spec, "task": task.name,
            "levels": levels}  # fmt: skip


def _check(cfg: LoadTestConfig) -> None:
    if any(c < 1 for c in cfg.concurrency):
        raise UserError("--concurrency values must be at least 1")
    if any(not r > 0 for r in cfg.rates):
        raise UserError("--rate values must be above 0 (requests per second)")
    if cfg.requests is not None and cfg.requests < 1:
        raise UserError("--requests must be at least 1")
    if cfg.latency_target_s is not None and not cfg.latency_target_s > 0:
        raise UserError("--latency-target must be above 0 seconds")
    for setting in cfg.constrained:
        if setting not in ("on", "off"):
            raise UserError(f"--constrained takes on, off or on,off; got '{setting}'")


def _options(cfg: LoadTestConfig, setting: str | None) -> dict[str, Any]:
    """The model's options for one constrained setting, streaming switched on if asked."""
    from fieldwise.models import get_backend, parse_spec

    provider, _ = parse_spec(cfg.spec)
    cls = get_backend(provider)
    options = dict(cfg.options)
    if setting is not None:
        if not cls.constrained_options:
            raise UserError(
                f"'{provider}' models have no constrained decoding to switch on or off",
                hint="drop --constrained",
            )
        options.update(cls.constrained_options[setting])
    if cfg.stream:
        if "stream" not in cls.Options.model_fields:
            raise UserError(
                f"'{provider}' models cannot stream",
                hint="--stream works with OpenAI-compatible endpoints (openai/, serve, vLLM)",
            )
        options["stream"] = True
    return options


async def _run_setting(
    cfg: LoadTestConfig,
    task: Task,
    dataset: Any,
    train: list[Example],
    options: dict[str, Any],
    setting: str | None,
    requests: int,
    store: Any,
    progress: Progress | None,
) -> list[dict[str, Any]]:
    from fieldwise import __version__
    from fieldwise.models import create_model, model_kind
    from fieldwise.store import RunRecord

    model = create_model(cfg.spec, task, options)
    try:
        opts = model.options.model_dump()
        if opts.get("few_shot") and not train:
            raise UserError("the model asks for few-shot examples", hint="give --train FILE")
        model.prepare(train)
        identity = model.identity()
        label = cfg.label or cfg.spec
        run_id = store.start_run(
            RunRecord(
                label=label,
                spec=cfg.spec,
                kind=model_kind(cfg.spec),
                task=task.name,
                identity=identity,
                decoding=identity.get("options", {}),
                template_hash=identity.get("prompt"),
                dataset_fingerprint=dataset.fingerprint,
                dataset_source=dataset.source,
                n_examples=requests,
                package_version=__version__,
                git_sha=None,
                config={"loadtest": _describe(cfg, setting, requests)},
            )
        )
        status = "failed"
        try:
            levels = await _levels(cfg, task, dataset.examples, model, requests, progress)
            for level in levels:
                level["constrained"] = None if setting is None else setting == "on"
                level["stream"] = cfg.stream
                save_level(store, run_id=run_id, label=label, spec=cfg.spec,
                           identity=identity, level=level)  # fmt: skip
                level["run"] = run_id
            status = "finished"
            return levels
        finally:
            store.finish_run(run_id, status)
    finally:
        await model.aclose()


async def _levels(
    cfg: LoadTestConfig,
    task: Task,
    examples: list[Example],
    model: Any,
    requests: int,
    progress: Progress | None,
) -> list[dict[str, Any]]:
    dispatch = Dispatcher(model, cfg.timeout_s)
    out = []
    try:
        await dispatch.send(examples[0])  # loads weights, checks the endpoint answers
        for n, level in enumerate(cfg.levels()):
            what = (
                f"{level.concurrency} concurrent"
                if level.rate is None
                else f"{level.rate:g} requests/s (Poisson)"
            )
            warmup = cfg.warmup
            if warmup is None:
                warmup = level.concurrency or math.ceil(level.rate or 1)
            tick = progress(f"level {n + 1}: {what}", warmup + requests) if progress else None
            if level.rate is None:
                assert level.concurrency is not None
                run = await closed_loop(
                    dispatch, examples, level.concurrency, requests, tick, warmup
                )
            else:
                run = await open_loop(
                    dispatch, examples, level.rate, requests, cfg.seed, tick, warmup
                )
            scores = _scores(task, run, cfg.profile)
            out.append(summarise(level, run, scores=scores,
                                 latency_target_s=cfg.latency_target_s))  # fmt: skip
    finally:
        await dispatch.aclose()
    return out


def _scores(task: Task, run: LevelRun, profile: str) -> tuple[float | None, float | None]:
    """(share of valid JSON outputs, accuracy 0-100 when every example has gold)."""
    from fieldwise.scoring import prepare_golds, score_outputs
    from fieldwise.scoring.parse import parse_output

    samples = run.measured
    outputs = [s.gen.output if s.gen.error is None else None for s in samples]
    if not outputs:
        return None, None
    valid = sum(parse_output(o).status == "ok" for o in outputs) / len(outputs)
    golds = [s.example.gold for s in samples]
    if any(g is None for g in golds):
        return valid, None
    table = prepare_golds(task, [g or {} for g in golds])
    score = score_outputs(task, table, outputs, (profile,), n_boot=0)[profile]
    return valid, float(score.aggregate)


def _describe(cfg: LoadTestConfig, setting: str | None, requests: int) -> dict[str, Any]:
    return {
        "concurrency": cfg.concurrency,
        "rates": cfg.rates,
        "requests": requests,
        "stream": cfg.stream,
        "constrained": setting,
        "warmup": cfg.warmup,
        "seed": cfg.seed,
        "latency_target_s": cfg.latency_target_s,
        "data": cfg.data,
    }
