"""Which model to deploy: accuracy beside cost, latency and throughput, on the user's data.

``collect_usage`` turns a model's stored rows into per-row costs (at the shipped table's
or the config's prices) and latencies, with its best measured throughput;
``summarise_deploy`` puts every model's numbers side by side with the Pareto frontiers
of accuracy against cost and against latency, and paired cost and latency differences
with intervals. The report's deploy section and ``fieldwise compare --json`` both use it.
"""

from __future__ import annotations

from fieldwise.deploy._pareto import dominated, frontier
from fieldwise.deploy._summary import (
    DeployInput,
    DeploySummary,
    ModelDeploy,
    PairDeploy,
    summarise_deploy,
)
from fieldwise.deploy._usage import collect_usage, prompt_split

__all__ = [
    "DeployInput",
    "DeploySummary",
    "ModelDeploy",
    "PairDeploy",
    "collect_usage",
    "dominated",
    "frontier",
    "prompt_split",
    "summarise_deploy",
]


def deploy_table_rows(data: dict[str, object]) -> list[list[str]]:
    """Readable rows (model, accuracy, cost / 1k docs, p50, p95, docs/s) from the deploy
    JSON (``deploy.json`` of a report, or ``fieldwise compare --json``)."""
    from fieldwise.pricing import format_usd

    deploy = data.get("deploy")
    models = deploy.get("models") if isinstance(deploy, dict) else None
    rows = []
    for label, m in models.items() if isinstance(models, dict) else []:
        lat = m.get("latency_s") or {}
        rows.append(
            [
                str(label),
                "—" if m.get("accuracy") is None else f"{m['accuracy']:.2f}",
                format_usd(m.get("cost_per_1k_docs")),
                "—" if lat.get("p50") is None else f"{lat['p50'] * 1000:,.0f} ms",
                "—" if lat.get("p95") is None else f"{lat['p95'] * 1000:,.0f} ms",
                "—" if m.get("throughput_docs_s") is None else f"{m['throughput_docs_s']:,.2f}",
            ]
        )
    return rows


DEPLOY_COLUMNS = ("model", "accuracy", "cost / 1k docs", "p50", "p95", "docs/s")
