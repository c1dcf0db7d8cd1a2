"""PNG bar charts: the leaderboard, and every field as small multiples in one figure,
coloured by model kind.

Charts are drawn on a bare :class:`~matplotlib.figure.Figure` with the Agg canvas, never
through ``pyplot``: no global backend switch, no figure registry to leak, and safe to call
from a program that already uses matplotlib interactively.
"""

from __future__ import annotations

import functools
import io
import math
import threading
from collections.abc import Sequence
from typing import Any

from fieldwise.errors import MissingDependency

KIND_COLOURS: dict[str, str] = {
    "finetune": "#2f6db5",
    "api": "#e07b39",
    "baseline": "#7f7f7f",
    "imported": "#8e6bbf",
}
KIND_NAMES: dict[str, str] = {
    "finetune": "fine-tuned",
    "api": "prompted API",
    "baseline": "embedded baseline",
    "imported": "imported",
}


@functools.cache
def _matplotlib() -> tuple[Any, Any, Any]:
    """matplotlib's Agg canvas, Figure and Patch, imported on a helper thread.

    Importing matplotlib leaves reference cycles of caught exceptions (pyparsing's, in its
    rcParams validation) whose tracebacks hold every calling frame: imported from inside
    ``write_report``, the report's whole working data (300,000 parsed outputs at scale)
    stayed alive until a garbage collection had to walk it, ~3 s. A thread's frames do
    not reach the caller's."""
    found: list[Any] = []

    def load() -> None:
        try:
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.figure import Figure
            from matplotlib.patches import Patch
        except ImportError:  # pragma: no cover - matplotlib is a core dependency
            return
        found.extend((FigureCanvasAgg, Figure, Patch))

    thread = threading.Thread(target=load, name="fieldwise-import-matplotlib")
    thread.start()
    thread.join()
    if not found:  # pragma: no cover
        raise MissingDependency("matplotlib")
    return found[0], found[1], found[2]


def bar_chart(
    labels: Sequence[str],
    values: Sequence[float],
    kinds: Sequence[str],
    *,
    title: str,
    xlabel: str,
    ci: Sequence[tuple[float, float]] | None = None,
) -> bytes:
    """Horizontal bars (0-100), best at the top, value printed at each bar's end.

    ``values`` NaN (nothing scored) draw as an empty bar labelled "n/a". ``ci`` adds
    95% error bars; NaN bounds are left out.
    """
    FigureCanvasAgg, Figure, Patch = _matplotlib()

    order = sorted(range(len(values)), key=lambda i: _key(values[i]))
    shown = [0.0 if math.isnan(values[i]) else values[i] for i in order]
    colours = [KIND_COLOURS.get(kinds[i], "#444444") for i in order]
    names = [_short(labels[i]) for i in order]
    height = 1.3 + 0.34 * len(order)
    fig = Figure(figsize=(8.0, height), dpi=96)
    FigureCanvasAgg(fig)
    # Margins by hand: constrained layout measures every text and costs ~40% more per chart.
    left = min(0.45, (max(map(len, names), default=1) * 6.0 + 26) / (8.0 * 96))
    fig.subplots_adjust(left=left, right=0.98, top=1 - 0.62 / height, bottom=0.5 / height)
    ax = fig.add_subplot()
    ypos = list(range(len(order)))
    ax.barh(ypos, shown, color=colours, height=0.7)
    ends = list(shown)
    if ci is not None:
        lows, highs = [], []
        for n, i in enumerate(order):
            lo, hi = ci[i]
            ok = not (math.isnan(lo) or math.isnan(hi) or math.isnan(values[i]))
            lows.append(max(shown[n] - lo, 0.0) if ok else 0.0)
            highs.append(max(hi - shown[n], 0.0) if ok else 0.0)
            ends[n] = max(hi, shown[n]) if ok else shown[n]
        ax.errorbar(
            shown, ypos, xerr=[lows, highs], fmt="none", ecolor="#222222", elinewidth=1, capsize=3
        )
    for n, i in enumerate(order):
        text = "n/a" if math.isnan(values[i]) else f"{values[i]:.1f}"
        ax.text(ends[n] + 1.0, n, text, va="center", fontsize=8)
    ax.set_yticks(ypos, names, fontsize=8)
    ax.set_xlim(0, 112)
    ax.set_xlabel(xlabel, fontsize=9)
    fig.text(0.01, 1 - 0.1 / height, title, va="top", fontsize=10)
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="x", color="#e5e5e5", linewidth=0.8)
    ax.set_axisbelow(True)
    present = [k for k in KIND_COLOURS if k in set(kinds)]
    handles = [Patch(color=KIND_COLOURS[k], label=KIND_NAMES[k]) for k in present]
    fig.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(0.005, 1 - 0.3 / height),
        ncol=len(handles),
        fontsize=8,
        frameon=False,
        handlelength=1.0,
        columnspacing=1.2,
    )
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


def field_grid(
    labels: Sequence[str],
    kinds: Sequence[str],
    fields: Sequence[str],
    values: Sequence[Sequence[float]],
    *,
    title: str,
    notes: Sequence[Sequence[str]] | None = None,
    columns: int = 5,
) -> bytes:
    """Small multiples: one small panel per field, the models in the same order (the
    leaderboard's, best on top) and colours in every panel, model names on the left
    column only. ``values[m][f]`` is model m's % on field f (NaN: "n/a");
    ``notes[m][f]`` is printed after the value (e.g. the coverage behind a strict score).

    Thirteen fields on two models fit in ~350 px where a full-width chart per field took
    ~2,000 px to say the same."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - matplotlib is a core dependency
        raise MissingDependency("matplotlib") from exc

    models, n = len(labels), len(fields)
    cols = max(1, min(columns, n))
    rows = max(1, math.ceil(n / cols))
    names = [_short(x, 24) for x in labels]
    panel_h = 0.42 + 0.2 * models
    height = 0.45 + rows * (panel_h + 0.32)
    left_in = max(map(len, names), default=1) * 0.062 + 0.15
    width = 13.0
    fig = Figure(figsize=(width, height), dpi=96)
    FigureCanvasAgg(fig)
    fig.subplots_adjust(
        left=left_in / width,
        right=0.99,
        top=1 - 0.42 / height,
        bottom=0.3 / height,
        wspace=0.08,
        hspace=0.32 / panel_h + 0.15,
    )
    axes = fig.subplots(rows, cols, sharex=True, sharey=True, squeeze=False)
    ypos = list(range(models))[::-1]  # first model on top
    colours = [KIND_COLOURS.get(k, "#444444") for k in kinds]
    for k, ax in enumerate(axes.flat):
        if k >= n:
            ax.set_visible(False)
            continue
        shown = [0.0 if math.isnan(values[m][k]) else values[m][k] for m in range(models)]
        ax.barh(ypos, shown, color=colours, height=0.72)
        for m in range(models):
            v = values[m][k]
            text = "n/a" if math.isnan(v) else f"{v:.1f}"
            if notes is not None and notes[m][k]:
                text += f" ({notes[m][k]})"
            ax.text(shown[m] + 2.0, ypos[m], text, va="center", fontsize=7)
        ax.set_title(_short(fields[k], 34), fontsize=8.5, loc="left", pad=3)
        ax.set_xlim(0, 135)
        ax.set_xticks([0, 50, 100])
        ax.tick_params(labelsize=7, length=2)
        ax.spines[["top", "right"]].set_visible(False)
        ax.grid(axis="x", color="#e5e5e5", linewidth=0.6)
        ax.set_axisbelow(True)
    axes[0][0].set_yticks(ypos, names, fontsize=7.5)
    fig.text(0.005, 1 - 0.08 / height, title, va="top", fontsize=10)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


def _key(value: float) -> float:
    """Sort ascending (barh draws bottom-up, so the best ends on top); NaN at the bottom."""
    return -math.inf if math.isnan(value) else value


def _short(label: str, limit: int = 42) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"
