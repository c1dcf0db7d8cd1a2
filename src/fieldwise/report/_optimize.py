"""The report's prompt-optimisation section: how the prompt was found, and what it costs.

For each saved prompt a model of the run used, from the record ``fieldwise optimize``
saved with it: the search's trajectory (validation score per candidate, in the order they
were found), accuracy against prompt tokens (and so cost per 1,000 documents at the
model's price), the candidates table, the budget, what data the search saw (and that no
test row was among it), and the final prompt itself. Every text from the prompt or the
record reaches the page through autoescaping.
"""

from __future__ import annotations

import base64
import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fieldwise.runner import Price
from fieldwise.tasks import Example, Task
from fieldwise.tasks.named_prompts import PromptSpec, SavedPrompt
from fieldwise.tasks.prompts import load_template, render_messages


@dataclass(frozen=True)
class PromptUse:
    """A model of the run that used a saved prompt (what this section shows)."""

    label: str
    saved: SavedPrompt
    price: Price | None


def usd(value: float | None) -> str:
    """A cost for people; ``unknown`` when there is no price (never a silent 0)."""
    if value is None or not math.isfinite(value):
        return "unknown"
    return f"${value:.4g}" if value < 1 else f"${value:,.2f}"


def optimisation_views(uses: list[PromptUse], task: Task, charts_dir: Path) -> list[dict[str, Any]]:
    """One view per saved prompt (models sharing a prompt share its view)."""
    by_ref: dict[str, dict[str, Any]] = {}
    for use in uses:
        ref = use.saved.ref
        if ref in by_ref:
            by_ref[ref]["labels"].append(use.label)
            continue
        by_ref[ref] = _view(use, task, charts_dir)
    return list(by_ref.values())


def _view(use: PromptUse, task: Task, charts_dir: Path) -> dict[str, Any]:
    saved, record = use.saved, use.saved.record
    candidates = [c for c in record.get("candidates", []) if isinstance(c, dict)]
    best = record.get("best")
    rows = [
        {
            "id": c.get("id"),
            "parent": "—" if c.get("parent") is None else c.get("parent"),
            "change": str(c.get("change", "")),
            "shots": str(c.get("shots", "")),
            "val": f"{100 * float(c.get('val_score', math.nan)):.1f}",
            "tokens": f"{float(c.get('prompt_tokens', 0)):.0f}",
            "cost": usd(_per_1k(c, use.price)),
            "best": c.get("id") == best,
        }
        for c in candidates
    ]
    charts = []
    if candidates:
        stem = f"optimize-{_safe(saved.ref)}"
        for name, png, caption in (
            ("trajectory", _trajectory(candidates, best), "validation score per candidate"),
            ("tokens", _tokens_chart(candidates, best, use.price), "accuracy vs prompt tokens"),
        ):
            file = charts_dir / f"{stem}-{name}.png"
            file.write_bytes(png)
            charts.append(
                {
                    "caption": caption,
                    "file": f"charts/{file.name}",
                    "data": base64.b64encode(png).decode("ascii"),
                }
            )
    budget = record.get("budget", {}) if isinstance(record.get("budget"), dict) else {}
    data = record.get("data", {}) if isinstance(record.get("data"), dict) else {}
    return {
        "optimised": bool(candidates),
        "ref": saved.ref,
        "hash": saved.hash[:12],
        "labels": [use.label],
        "model": str(record.get("model", "")),
        "optimizer": str(record.get("optimizer", "")),
        "profile": str(record.get("profile", "")),
        "seed": record.get("seed"),
        "budget": budget,
        "cost": usd(budget.get("cost")),
        "cost_estimated": usd(budget.get("cost_estimated")),
        "steps": record.get("steps"),
        "proposals": record.get("proposals"),
        "accepted": record.get("accepted"),
        "stopped": str(record.get("stopped", "")),
        "data": data,
        "rows": rows,
        "charts": charts,
        "prompt": final_prompt(saved.spec, task),
        "price": "unknown (no price for this model)"
        if use.price is None
        else f"${use.price.input_per_mtok:g} in / ${use.price.output_per_mtok:g} out per 1M tokens",
    }


def _per_1k(candidate: dict[str, Any], price: Price | None) -> float | None:
    if price is None:
        return None
    tokens_in = float(candidate.get("prompt_tokens") or 0)
    tokens_out = float(candidate.get("output_tokens") or 0)
    return 1000 * (tokens_in * price.input_per_mtok + tokens_out * price.output_per_mtok) / 1e6


def final_prompt(spec: PromptSpec, task: Task) -> str:
    """The prompt as the model reads it, for a placeholder document, with the few-shot
    policy described (a nearest-neighbour prompt has different examples per input)."""
    from fieldwise.tasks.prompts import PromptTemplate

    template = PromptTemplate("final", spec.template) if spec.template else load_template()
    shots = [] if spec.shots.per_input else [s.example() for s in spec.shots.examples]
    messages = render_messages(
        spec.task_for(task), Example("document", "{the document}"), template, shots
    )
    if spec.instruction.strip():
        messages[0]["content"] += "\n\n" + spec.instruction.strip()
    parts = [f"[{m['role']}]\n{m['content']}" for m in messages]
    if spec.shots.per_input:
        parts.insert(1, f"[examples]\n{spec.shots.describe()}, each a user/assistant pair")
    return "\n\n".join(parts)


def _figure(width: float = 6.4, height: float = 3.2) -> tuple[Any, Any]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=96)
    FigureCanvasAgg(fig)
    fig.subplots_adjust(left=0.11, right=0.97, top=0.86, bottom=0.17)
    return fig, fig.add_subplot()


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _trajectory(candidates: list[dict[str, Any]], best: Any) -> bytes:
    fig, ax = _figure()
    ids = [c["id"] for c in candidates]
    scores = [100 * float(c["val_score"]) for c in candidates]
    running = [max(scores[: i + 1]) for i in range(len(scores))]
    ax.plot(ids, running, color="#2f6db5", lw=1.5, label="best so far")
    ax.scatter(ids, scores, color="#e07b39", zorder=3, s=22, label="candidate")
    for c, score in zip(candidates, scores, strict=True):
        if c["id"] == best:
            ax.scatter([c["id"]], [score], s=120, facecolors="none", edgecolors="#222", zorder=4)
    ax.set_xlabel("candidate (in the order found)", fontsize=8)
    ax.set_ylabel("validation score", fontsize=8)
    ax.set_title("Optimisation trajectory", fontsize=10)
    ax.tick_params(labelsize=8)
    ax.legend(fontsize=7, loc="lower right")
    return _png(fig)


def _tokens_chart(candidates: list[dict[str, Any]], best: Any, price: Price | None) -> bytes:
    fig, ax = _figure()
    xs = [float(c.get("prompt_tokens") or 0) for c in candidates]
    ys = [100 * float(c["val_score"]) for c in candidates]
    colours = ["#2f6db5" if c["id"] == best else "#e07b39" for c in candidates]
    ax.scatter(xs, ys, c=colours, s=26, zorder=3)
    for c, x, y in zip(candidates, xs, ys, strict=True):
        ax.annotate(str(c["id"]), (x, y), textcoords="offset points", xytext=(4, 3), fontsize=7)
    ax.set_xlabel("prompt tokens per document (mean)", fontsize=8)
    ax.set_ylabel("validation score", fontsize=8)
    ax.tick_params(labelsize=8)
    per_token = 0.0 if price is None else 1000 * price.input_per_mtok / 1e6
    if per_token > 0:
        top = ax.secondary_xaxis(
            "top", functions=(lambda t: t * per_token, lambda c: c / per_token)
        )
        top.set_xlabel("input cost per 1,000 documents (USD)", fontsize=8)
        top.tick_params(labelsize=7)
    else:
        ax.set_title("Accuracy vs prompt tokens (no price: cost unknown)", fontsize=10)
    return _png(fig)


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in name)
