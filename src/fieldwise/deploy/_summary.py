"""The deploy view's numbers: per model accuracy, cost, latency and throughput, the
Pareto frontiers, and paired cost and latency differences with intervals.

Intervals come from the run's shared resamples (``scoring.stats``), the same draws the
accuracy intervals and verdicts use: the cost of 1,000 documents varies with which
documents they are (long ones cost more), and a paired difference between two models
on the same documents is much tighter than the gap between two separate intervals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fieldwise.deploy._pareto import dominated
from fieldwise.pricing import Price, price_table, provenance
from fieldwise.scoring._types import Usage
from fieldwise.scoring.stats import Resamples, bootstrap_ci

Interval = tuple[float, float] | None


@dataclass
class DeployInput:
    """One model as the deploy view needs it (built from a report's ``ModelResult`` or
    a compared side): accuracy 0-100 with its interval, per-field shares right, the
    share of valid outputs, and its per-row usage."""

    label: str
    kind: str
    accuracy: float
    accuracy_ci: tuple[float, float]
    fields: dict[str, float]
    valid: float | None
    usage: Usage | None


@dataclass
class ModelDeploy(DeployInput):
    """A model's deploy numbers: its inputs, its cost, speed and Pareto standing."""

    price: Price | None
    cost_per_1k: float | None
    cost_ci: Interval
    latency: dict[str, float | None]
    latency_from: str
    throughput: float | None
    throughput_from: str
    prompt_tokens: dict[str, float] = field(default_factory=dict)
    prompt_estimated: bool = False
    dominated_cost: bool | None = None
    dominated_latency: bool | None = None
    dominated_by_field: dict[str, bool | None] = field(default_factory=dict)
    """Per field: dominated on (that field's share right, cost of 1,000 documents)."""
    dominated_by_field_latency: dict[str, bool | None] = field(default_factory=dict)
    """Per field: dominated on (that field's share right, median latency)."""


@dataclass
class PairDeploy:
    """``a`` minus ``b`` on the rows both have: cost of 1,000 documents (USD) and mean
    latency (s), each with its 95% paired bootstrap interval."""

    a: str
    b: str
    cost_diff: float | None
    cost_ci: Interval
    latency_diff: float | None
    latency_ci: Interval


@dataclass
class DeploySummary:
    models: list[ModelDeploy]
    pairs: list[PairDeploy]
    as_of: str

    def get(self, label: str) -> ModelDeploy:
        return next(m for m in self.models if m.label == label)

    def pair(self, a: str, b: str) -> PairDeploy | None:
        for p in self.pairs:
            if (p.a, p.b) == (a, b):
                return p
            if (p.b, p.a) == (a, b):
                return PairDeploy(a, b, _neg(p.cost_diff), _flip(p.cost_ci),
                                  _neg(p.latency_diff), _flip(p.latency_ci))  # fmt: skip
        return None

    def to_json(self) -> dict[str, Any]:
        """Per model ``cost_per_1k_docs``, ``latency_s`` percentiles and
        ``throughput_docs_s`` (``null`` where unknown), with the prices' date, and every
        detail under ``deploy``: per model numbers and intervals, and paired differences.
        (Top-level keys sit beside a pairwise table's own, ``models`` among them.)"""
        details = {m.label: _model_json(m) for m in self.models}
        return {
            "prices_as_of": self.as_of,
            "cost_per_1k_docs": {k: d["cost_per_1k_docs"] for k, d in details.items()},
            "latency_s": {k: d["latency_s"] for k, d in details.items()},
            "throughput_docs_s": {k: d["throughput_docs_s"] for k, d in details.items()},
            "deploy": {
                "models": details,
                "pairs": [
                    {
                        "a": p.a,
                        "b": p.b,
                        "cost_per_1k_docs_diff": _r(p.cost_diff, 6),
                        "cost_per_1k_docs_diff_ci": _ci(p.cost_ci, 6),
                        "latency_s_diff": _r(p.latency_diff, 4),
                        "latency_s_diff_ci": _ci(p.latency_ci, 4),
                    }
                    for p in self.pairs
                ],
            },
        }


def summarise_deploy(inputs: list[DeployInput], resamples: Resamples | None) -> DeploySummary:
    """Every model's deploy numbers, frontiers marked, and every pair's differences."""
    models = [_model(inp, resamples) for inp in inputs]
    costs = [m.cost_per_1k for m in models]
    accs = [m.accuracy for m in models]
    for m, flag in zip(models, dominated(costs, accs), strict=True):
        m.dominated_cost = flag
    for m, flag in zip(models, dominated([m.latency.get("p50") for m in models], accs),
                       strict=True):  # fmt: skip
        m.dominated_latency = flag
    latencies = [m.latency.get("p50") for m in models]
    for name in sorted({f for m in models for f in m.fields}):
        gains = [m.fields.get(name, math.nan) for m in models]
        for m, flag, slow in zip(
            models, dominated(costs, gains), dominated(latencies, gains), strict=True
        ):
            m.dominated_by_field[name] = flag
            m.dominated_by_field_latency[name] = slow
    pairs = []
    for i, a in enumerate(inputs):
        for b in inputs[i + 1 :]:
            pairs.append(_pair(a, b, resamples))
    return DeploySummary(models, pairs, price_table().as_of)


def _model(inp: DeployInput, resamples: Resamples | None) -> ModelDeploy:
    usage = inp.usage
    cost = cost_ci = None
    latency: dict[str, float | None] = {"p50": None, "p95": None, "p99": None}
    latency_from = throughput_from = "not measured"
    throughput = None
    if usage is not None:
        per_doc = usage.cost_usd * 1000.0
        if np.isfinite(per_doc).any():
            cost = float(np.nanmean(per_doc))
            cost_ci = _interval(per_doc, resamples)
        speed = usage.speed or {}
        if speed.get("source") == "loadtest" and speed.get("latency_s"):
            latency = {k: speed["latency_s"].get(k) for k in ("p50", "p95", "p99")}
            latency_from = speed["describe"]
        elif np.isfinite(usage.latency_s).any():
            found = np.nanpercentile(usage.latency_s, [50, 95, 99])
            latency = {k: float(v) for k, v in zip(("p50", "p95", "p99"), found, strict=True)}
            latency_from = "the run's rows"
            if usage.batched:
                latency_from += " (each a batch's time over its size)"
        if speed.get("throughput_docs_s"):
            throughput = float(speed["throughput_docs_s"])
            throughput_from = speed["describe"]
    return ModelDeploy(
        **vars(inp),
        price=None if usage is None else usage.price,
        cost_per_1k=cost,
        cost_ci=cost_ci,
        latency=latency,
        latency_from=latency_from,
        throughput=throughput,
        throughput_from=throughput_from,
        prompt_tokens=dict(usage.prompt_tokens) if usage else {},
        prompt_estimated=bool(usage and usage.prompt_estimated),
    )


def _pair(a: DeployInput, b: DeployInput, resamples: Resamples | None) -> PairDeploy:
    cost = cost_ci = latency = latency_ci = None
    if a.usage is not None and b.usage is not None:
        dc = (a.usage.cost_usd - b.usage.cost_usd) * 1000.0
        if np.isfinite(dc).any():
            cost, cost_ci = float(np.nanmean(dc)), _interval(dc, resamples)
        dl = a.usage.latency_s - b.usage.latency_s
        if np.isfinite(dl).any():
            latency, latency_ci = float(np.nanmean(dl)), _interval(dl, resamples)
    return PairDeploy(a.label, b.label, cost, cost_ci, latency, latency_ci)


def _interval(values: np.ndarray, resamples: Resamples | None) -> Interval:
    """95% bootstrap interval of the mean of ``values`` (NaN rows left out)."""
    if resamples is None or resamples.count <= 0 or resamples.n != len(values):
        return None
    columns, _ = bootstrap_ci(values[:, None], resamples)
    lo, hi = columns[0]
    return None if math.isnan(lo) or math.isnan(hi) else (float(lo), float(hi))


def _model_json(m: ModelDeploy) -> dict[str, Any]:
    return {
        "kind": m.kind,
        "accuracy": _r(m.accuracy, 4),
        "accuracy_ci": [_r(x, 4) for x in m.accuracy_ci],
        "valid": _r(m.valid, 4),
        "cost_per_1k_docs": _r(m.cost_per_1k, 6),
        "cost_per_1k_docs_ci": _ci(m.cost_ci, 6),
        "price": None if m.price is None else m.price.describe(),
        "price_source": None if m.price is None else provenance(m.price),
        "latency_s": {k: _r(v, 4) for k, v in m.latency.items()},
        "latency_from": m.latency_from,
        "throughput_docs_s": _r(m.throughput, 4),
        "throughput_from": m.throughput_from,
        "prompt_tokens": m.prompt_tokens or None,
        "dominated": {"cost": m.dominated_cost, "latency": m.dominated_latency},
    }


def _r(value: float | None, digits: int) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), digits)


def _ci(ci: Interval, digits: int) -> list[float | None] | None:
    return None if ci is None else [_r(ci[0], digits), _r(ci[1], digits)]


def _neg(x: float | None) -> float | None:
    return None if x is None else -x


def _flip(ci: Interval) -> Interval:
    return None if ci is None else (-ci[1], -ci[0])
