"""The risk-coverage chart: one small panel per field, one line per model.

Each line is a model's held-out risk-coverage curve for the field (accepting its most
confident values first); the dashed line is the target risk and the dot the operating
point the calibration split chose (coverage, realised risk on held-out rows). Drawn like
the other charts: a bare Agg figure, no ``pyplot``.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

from fieldwise.errors import MissingDependency

PALETTE = (
    "#2f6db5",
    "#e07b39",
    "#3a9a5b",
    "#c0392b",
    "#8e6bbf",
    "#7f7f7f",
    "#b8860b",
    "#17becf",
    "#d6619a",
    "#556b2f",
)


def risk_coverage_grid(
    labels: Sequence[str],
    fields: Sequence[str],
    curves: Sequence[Sequence[list[list[float]]]],
    points: Sequence[Sequence[tuple[float, float] | None]],
    *,
    risk: float,
    title: str,
    columns: int = 5,
) -> bytes:
    """``curves[m][f]``: model m's ``[coverage, risk]`` points on field f (empty: no
    signal); ``points[m][f]``: its operating point or ``None``."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.lines import Line2D
    except ImportError as exc:  # pragma: no cover - matplotlib is a core dependency
        raise MissingDependency("matplotlib") from exc

    n = len(fields)
    cols = max(1, min(columns, n))
    rows = max(1, math.ceil(n / cols))
    width, panel_h = 13.0, 1.9
    height = 0.9 + rows * (panel_h + 0.35)
    fig = Figure(figsize=(width, height), dpi=96)
    FigureCanvasAgg(fig)
    fig.subplots_adjust(
        left=0.05, right=0.99, top=1 - 0.75 / height, bottom=0.45 / height, wspace=0.18,
        hspace=0.35 / panel_h + 0.25,
    )  # fmt: skip
    axes = fig.subplots(rows, cols, sharex=True, squeeze=False)
    top = max(
        [risk * 2.5]
        + [r for model in curves for curve in model for _, r in curve]
        + [p[1] for model in points for p in model if p is not None and not math.isnan(p[1])]
    )
    top = min(1.0, top * 1.1) or 0.05
    for k, ax in enumerate(axes.flat):
        if k >= n:
            ax.set_visible(False)
            continue
        for m in range(len(labels)):
            colour = PALETTE[m % len(PALETTE)]
            curve = curves[m][k]
            if curve:  # earlier models drawn wider, so a later one on the same line shows
                lw = max(1.0, 2.6 - 0.4 * m)
                # One point (every value has the same confidence): a mark, not a line.
                mark = {"marker": "s", "ms": 3.5} if len(curve) == 1 else {}
                ax.plot([c for c, _ in curve], [r for _, r in curve], color=colour, lw=lw, **mark)
            point = points[m][k]
            if point is not None and point[0] > 0 and not math.isnan(point[1]):
                ax.plot([point[0]], [point[1]], "o", color=colour, ms=4)
        ax.axhline(risk, color="#444444", lw=0.8, ls="--")
        ax.set_title(_short(fields[k], 34), fontsize=8.5, loc="left", pad=3)
        ax.set_xlim(0, 1.02)
        ax.set_ylim(-0.03 * top, top)  # a curve at zero risk stays above the axis
        ax.set_xticks([0, 0.5, 1.0], ["0", "50%", "100%"])
        ax.tick_params(labelsize=7, length=2)
        ax.yaxis.set_major_formatter(lambda v, _: f"{v * 100:.0f}%")
        ax.spines[["top", "right"]].set_visible(False)
        ax.grid(color="#eeeeee", linewidth=0.6)
    handles = [
        Line2D([0], [0], color=PALETTE[m % len(PALETTE)], lw=1.5, label=_short(labels[m], 28))
        for m in range(len(labels))
    ]
    handles.append(Line2D([0], [0], color="#444444", lw=0.8, ls="--", label="target risk"))
    fig.legend(
        handles=handles, loc="upper left", bbox_to_anchor=(0.005, 1 - 0.3 / height),
        ncol=min(len(handles), 6), fontsize=8, frameon=False, handlelength=1.5,
    )  # fmt: skip
    fig.text(0.005, 1 - 0.08 / height, title, va="top", fontsize=10)
    fig.text(0.5, 0.08 / height, "coverage (share of values accepted)", ha="center", fontsize=8)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


def _short(label: str, limit: int) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"
