"""The deploy numbers of stored runs compared with ``fieldwise compare RUN RUN``.

Each side's price is what its newest run was configured with (``price:`` and ``batch``
in the run's recorded config), else the shipped table's for its spec, so the cost of a
batch run is the batch price; its rows' real token counts and latencies come from the
store, and its throughput from the newest load test of the same model, if any.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from fieldwise.deploy._summary import DeployInput, DeploySummary, summarise_deploy
from fieldwise.deploy._usage import collect_usage
from fieldwise.pricing import Price, batch_price_for, price_for
from fieldwise.scoring.parse import parse_output
from fieldwise.scoring.stats import Resamples, bootstrap_ci
from fieldwise.store import Store


def run_price(spec: str, config: dict[str, Any]) -> Price | None:
    """The price a recorded run's model config (``ModelConfig.model_dump()``) implies."""
    from fieldwise.config import PriceConfig

    configured = config.get("price")
    settings = PriceConfig(**configured) if isinstance(configured, dict) else None
    options = config.get("options") if isinstance(config.get("options"), dict) else {}
    if config.get("batch"):
        return batch_price_for(spec, options, settings)
    return price_for(spec, options, settings)


def sides_deploy(
    store: Store,
    sides: list[Any],
    shared: list[str],
    matrices: dict[str, np.ndarray],
    fields: list[str],
    resamples: Resamples,
) -> DeploySummary:
    """Deploy numbers for compared sides (``compare.Side``) on their shared examples."""
    runs = {r["id"]: r for r in store.runs()}
    inputs = []
    for side in sides:
        run = runs[side.runs[0]]
        rows = [side.rows[i] for i in shared]
        try:
            config = json.loads(run["config_json"] or "{}")
            price = run_price(run["spec"], config if isinstance(config, dict) else {})
        except (ValueError, TypeError):
            price = None  # a config recorded by an older version: the price is unknown
        usage = collect_usage(rows, price=price, store=store,
                              identity=json.loads(run["identity_json"]))  # fmt: skip
        usage.batched = _batched(run["spec"])
        matrix = matrices[side.name]
        with np.errstate(all="ignore"):
            columns = np.nanmean(matrix, axis=0) if len(matrix) else np.array([])
        defined = columns[~np.isnan(columns)]
        _, agg_ci = bootstrap_ci(matrix, resamples)
        valid = sum(parse_output(r.output).status == "ok" for r in rows) / max(1, len(rows))
        inputs.append(
            DeployInput(
                label=side.name,
                kind=run["kind"],
                accuracy=float(defined.mean() * 100) if len(defined) else float("nan"),
                accuracy_ci=agg_ci,
                fields={f: float(c) for f, c in zip(fields, columns, strict=True)},
                valid=valid,
                usage=usage,
            )
        )
    return summarise_deploy(inputs, resamples)


def _batched(spec: str) -> bool:
    """Whether the spec's backend runs rows in batches (its row latencies are shares)."""
    from fieldwise.errors import UserError
    from fieldwise.models import get_backend

    try:
        return get_backend(spec.partition("/")[0]).max_batch_size > 1
    except UserError:
        return False
