"""The report's deploy section: which model to deploy, at what cost and speed.

Numbers come from :mod:`fieldwise.deploy` (with the run's shared resamples); this module
lays them out and draws the Pareto charts: accuracy against the cost of 1,000 documents
and against median latency, aggregate and per field, dominated models drawn hollow.
A model whose cost is unknown is listed as ``unknown`` and left off the cost chart,
never drawn at 0. Every cost names the price table's date.
"""

from __future__ import annotations

import base64
import io
import math
from pathlib import Path
from typing import Any

from fieldwise.deploy import DeployInput, DeploySummary, ModelDeploy, summarise_deploy
from fieldwise.pricing import format_usd, provenance
from fieldwise.report._charts import KIND_COLOURS, KIND_NAMES
from fieldwise.scoring._types import ModelResult
from fieldwise.scoring.stats import PairwiseTable, Resamples


def deploy_summary(
    results: list[ModelResult], order: list[int], profile: str, resamples: Resamples
) -> DeploySummary:
    """The deploy numbers of ``results`` in leaderboard ``order``."""
    inputs = []
    for i in order:
        r = results[i]
        score = r.scores[profile]
        total = sum(score.validity.values())
        inputs.append(
            DeployInput(
                label=r.label,
                kind=r.kind,
                accuracy=score.aggregate,
                accuracy_ci=score.aggregate_ci,
                fields=dict(score.fields),
                valid=score.validity.get("ok", 0) / total if total else None,
                usage=r.usage,
            )
        )
    return summarise_deploy(inputs, resamples)


def deploy_context(
    summary: DeploySummary, table: PairwiseTable, fields: list[str], charts_dir: Path
) -> dict[str, Any]:
    """What ``_deploy.html.jinja`` shows."""
    models = summary.models
    return {
        "as_of": summary.as_of,
        "rows": [_row(m) for m in models],
        "pairs": _pairs(summary, table),
        "charts": _charts(models, fields, charts_dir),
        "prompts": _prompts(models),
        "fields": [
            (
                f,
                [m.label for m in models if m.dominated_by_field.get(f) is False],
                [m.label for m in models if m.dominated_by_field_latency.get(f) is False],
            )
            for f in fields
        ],
        "unknown": [m.label for m in models if m.cost_per_1k is None],
    }


def _row(m: ModelDeploy) -> dict[str, Any]:
    lo, hi = m.accuracy_ci
    return {
        "label": m.label,
        "kind": KIND_NAMES.get(m.kind, m.kind),
        "colour": KIND_COLOURS.get(m.kind, "#444444"),
        "accuracy": _num(m.accuracy, 1),
        "accuracy_ci": "" if math.isnan(lo) else f"[{lo:.1f}, {hi:.1f}]",
        "valid": "—" if m.valid is None else f"{m.valid:.0%}",
        "cost": format_usd(m.cost_per_1k),
        "cost_ci": ""
        if m.cost_ci is None
        else f"[{format_usd(m.cost_ci[0])}, {format_usd(m.cost_ci[1])}]",
        "price": "no price: unknown" if m.price is None else provenance(m.price),
        "price_title": "" if m.price is None else m.price.describe(),
        "p50": _ms(m.latency.get("p50")),
        "p95": _ms(m.latency.get("p95")),
        "latency_from": m.latency_from,
        "throughput": _num(m.throughput, 2),
        "throughput_from": m.throughput_from,
        "frontier": _frontier_text(m),
    }


def _frontier_text(m: ModelDeploy) -> str:
    marks = []
    if m.dominated_cost is True:
        marks.append("dominated on cost")
    if m.dominated_latency is True:
        marks.append("dominated on latency")
    if not marks and (m.dominated_cost is False or m.dominated_latency is False):
        return "on the frontier"
    return ", ".join(marks)


def _pairs(summary: DeploySummary, table: PairwiseTable) -> list[dict[str, str]]:
    out = []
    for p in summary.pairs:
        acc = table.get(p.a, p.b)
        out.append(
            {
                "pair": f"{p.a} − {p.b}",
                "accuracy": "—"
                if acc is None
                else f"{acc.diff:+.2f} [{acc.lo:+.2f}, {acc.hi:+.2f}]",
                "verdict": "—" if acc is None else acc.outcome,
                "cost": _signed_usd(p.cost_diff, p.cost_ci),
                "latency": _signed_ms(p.latency_diff, p.latency_ci),
            }
        )
    return out


def _prompts(models: list[ModelDeploy]) -> list[dict[str, Any]]:
    rows = []
    for m in models:
        split = m.prompt_tokens
        if not split:
            continue
        total = sum(split.values()) or 1.0
        rows.append(
            {
                "label": m.label,
                "parts": [(k, f"{v:,.0f}", 100.0 * v / total) for k, v in split.items()],
                "total": f"{total:,.0f}",
                "estimated": m.prompt_estimated,
            }
        )
    return rows


def _charts(models: list[ModelDeploy], fields: list[str], folder: Path) -> list[dict[str, str]]:
    specs: list[tuple[str, str, bytes | None]] = [
        ("deploy_cost", "Accuracy against cost of 1,000 documents", _scatter(models, "cost")),
        ("deploy_latency", "Accuracy against median latency", _scatter(models, "latency")),
        ("deploy_fields_cost", "Per field: share right against cost of 1,000 documents",
         _fields_chart(models, fields, "cost")),
        ("deploy_fields_latency", "Per field: share right against median latency",
         _fields_chart(models, fields, "latency")),
    ]  # fmt: skip
    charts = []
    for stem, caption, png in specs:
        if png is None:
            continue
        file = folder / f"{stem}.png"
        file.write_bytes(png)
        data = base64.b64encode(png).decode("ascii")
        charts.append({"caption": caption, "file": f"charts/{file.name}", "data": data})
    return charts


def _axis(m: ModelDeploy, axis: str) -> float | None:
    return m.cost_per_1k if axis == "cost" else m.latency.get("p50")


def _scatter(models: list[ModelDeploy], axis: str) -> bytes | None:
    placed = [m for m in models if _axis(m, axis) is not None and not math.isnan(m.accuracy)]
    if len(placed) < 1:
        return None
    fig, ax = _figure(7.5, 4.2)
    xs = [float(_axis(m, axis) or 0.0) for m in placed]
    flags = [m.dominated_cost if axis == "cost" else m.dominated_latency for m in placed]
    _points(ax, placed, xs, [m.accuracy for m in placed], flags, label=True)
    scale = " (log scale)" if _log_x(ax, xs) else ""
    name = "USD per 1,000 documents" if axis == "cost" else "median latency, seconds"
    ax.set_xlabel(name + scale, fontsize=9)
    ax.set_ylabel("aggregate accuracy (0-100)", fontsize=9)
    ax.margins(x=0.25, y=0.12)
    return _png(fig)


def _fields_chart(models: list[ModelDeploy], fields: list[str], axis: str) -> bytes | None:
    """Small multiples, one panel per field: its share right against cost or latency.

    Panels share both axes (one set of tick labels per row and column), carry their
    field's name inside, and draw no grid: with a dozen fields, per-panel titles and tick
    labels were most of the report's added time."""
    placed = [m for m in models if _axis(m, axis) is not None]
    if not placed or not fields:
        return None
    cols = min(4, len(fields))
    rows = math.ceil(len(fields) / cols)
    from matplotlib.ticker import FixedLocator, LogLocator, MaxNLocator, NullLocator

    fig, _ = _figure(2.4 * cols, 1.7 * rows + 0.4, subplots=False)
    axes = fig.subplots(rows, cols, sharex=True, sharey=True, squeeze=False).ravel()
    xs = [float(_axis(m, axis) or 0.0) for m in placed]
    log = _log_x(axes[0], xs)
    axes[0].set_xlim(*_span(xs, log))
    axes[0].set_ylim(-5, 108)
    # Few ticks, no minor ones: building tick objects was most of this chart's time.
    axes[0].yaxis.set_major_locator(FixedLocator([0, 50, 100]))
    axes[0].xaxis.set_major_locator(LogLocator(numticks=3) if log else MaxNLocator(3))
    axes[0].xaxis.set_minor_locator(NullLocator())
    for k, ax in enumerate(axes):
        if k >= len(fields):
            ax.set_visible(False)
            continue
        name = fields[k]
        ys = [100.0 * m.fields.get(name, math.nan) for m in placed]
        flags = (
            [m.dominated_by_field.get(name) for m in placed]
            if axis == "cost"
            else [m.dominated_by_field_latency.get(name) for m in placed]
        )
        ax.set_autoscale_on(False)
        _points(ax, placed, xs, ys, flags, label=False, grid=False)
        ax.text(0.02, 0.98, name, transform=ax.transAxes, fontsize=7, va="top")
        ax.tick_params(labelsize=6, length=2)
        if k + cols >= len(fields):  # no panel below: this one shows the x labels
            ax.xaxis.set_tick_params(labelbottom=True)
    unit = "USD per 1,000 documents" if axis == "cost" else "median latency (s)"
    fig.supxlabel(unit + (" (log scale)" if log else ""), fontsize=8)
    fig.supylabel("% of rows right", fontsize=8)
    fig.subplots_adjust(hspace=0.15, wspace=0.08, left=0.07, right=0.98, top=0.98,
                        bottom=0.35 / (1.7 * rows + 0.4) + 0.05)  # fmt: skip
    return _png(fig)


def _span(xs: list[float], log: bool) -> tuple[float, float]:
    """The x range with a margin (in log space for a log axis)."""
    lo, hi = min(xs), max(xs)
    if log:
        return lo / 1.5, hi * 1.5
    pad = (hi - lo) * 0.15 or abs(hi) * 0.15 or 1.0
    return lo - pad, hi + pad


def _points(ax: Any, models: list[ModelDeploy], xs: list[float], ys: list[float],
            flags: list[bool | None], *, label: bool, grid: bool = True) -> None:  # fmt: skip
    """Frontier models filled, dominated ones hollow; the frontier joined by a line.
    Two scatter calls per panel, not one per model: each call rescales shared axes."""
    size = 46 if label else 22
    for hollow in (False, True):
        pick = [
            i
            for i, (y, f) in enumerate(zip(ys, flags, strict=True))
            if not math.isnan(y) and (f is True) == hollow
        ]
        if not pick:
            continue
        colours = [KIND_COLOURS.get(models[i].kind, "#444444") for i in pick]
        ax.scatter([xs[i] for i in pick], [ys[i] for i in pick], s=size, linewidths=1.4,
                   facecolors="none" if hollow else colours, edgecolors=colours,
                   zorder=3)  # fmt: skip
    if label:
        for m, x, y, flag in zip(models, xs, ys, flags, strict=True):
            if math.isnan(y):
                continue
            text = m.label if len(m.label) <= 28 else m.label[:27] + "…"
            ax.annotate(text + (" (dominated)" if flag is True else ""), (x, y), fontsize=7,
                        xytext=(4, 4), textcoords="offset points")  # fmt: skip
    front = sorted((x, y) for x, y, f in zip(xs, ys, flags, strict=True) if f is False)
    if len(front) > 1:
        ax.plot([p[0] for p in front], [p[1] for p in front], color="#999999", linewidth=0.8,
                linestyle="--", zorder=2, drawstyle="steps-post")  # fmt: skip
    ax.spines[["top", "right"]].set_visible(False)
    if grid:
        ax.grid(color="#eeeeee", linewidth=0.6)


def _log_x(ax: Any, xs: list[float]) -> bool:
    """A log x axis when the values span more than 20x (prices often span 100x)."""
    positive = [x for x in xs if x > 0]
    if positive and len(positive) == len(xs) and max(positive) / min(positive) > 20:
        ax.set_xscale("log")
        return True
    return False


def _figure(width: float, height: float, subplots: bool = True) -> tuple[Any, Any]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=96)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot() if subplots else None
    if ax is not None:
        fig.subplots_adjust(left=0.1, right=0.97, top=0.95, bottom=0.13)
    return fig, ax


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


def _num(value: float | None, digits: int) -> str:
    if value is None or math.isnan(value):
        return "—"
    return f"{value:,.{digits}f}"


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value * 1000:,.0f} ms"


def _signed_usd(diff: float | None, ci: tuple[float, float] | None) -> str:
    if diff is None:
        return "unknown"
    text = f"{'+' if diff >= 0 else '−'}{format_usd(abs(diff))}"
    if ci is not None:
        text += f" [{ci[0]:+.4g}, {ci[1]:+.4g}]"
    return text


def _signed_ms(diff: float | None, ci: tuple[float, float] | None) -> str:
    if diff is None:
        return "—"
    text = f"{diff * 1000:+,.0f} ms"
    if ci is not None:
        text += f" [{ci[0] * 1000:+,.0f}, {ci[1] * 1000:+,.0f}]"
    return text
