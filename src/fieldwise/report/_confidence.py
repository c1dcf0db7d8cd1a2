"""The report's confidence section: per field and model, the coverage a model reaches at
the target risk with a threshold chosen on a calibration split and measured on held-out
rows, and the risk-coverage chart (``fieldwise.trust.confidence`` does the numbers).

It measures on the rows the grounding rates are measured on (all rows, or the seeded
5,000-row sample past that size) and reuses their evidence for the grounding signal.
Its JSON is what ``fieldwise trust --json`` prints with no run named, saved as
``trust.json``'s ``confidence``.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fieldwise.data.splits import group_key
from fieldwise.report._risk_chart import risk_coverage_grid
from fieldwise.report._trust import TrustView
from fieldwise.scoring._types import ModelResult
from fieldwise.scoring.stats import Resamples
from fieldwise.tasks._task import Example, Task
from fieldwise.trust.assess import assess_model, trust_json
from fieldwise.trust.confidence import ModelConfidence, TrustSettings, calibration_split

__all__ = ["ConfidenceView", "confidence_view"]

CHART = "risk_coverage"


@dataclass
class ConfidenceView:
    """What the template shows; ``rows`` empty when no model could be assessed."""

    risk: float = 0.05
    method: str = "platt"
    calibration_rows: int = 0
    held_out_rows: int = 0
    sampled: int = 0
    models: list[str] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    """Per path: ``{"path", "cells": [(coverage, ci, title), ...]}`` in model order."""
    chart: dict[str, str] | None = None


def confidence_view(
    task: Task,
    examples: Sequence[Example],
    results: Sequence[ModelResult],
    order: Sequence[int],
    profile: str,
    trust: TrustView,
    resamples: Resamples,
    charts_dir: Path,
    settings: TrustSettings | None = None,
) -> ConfidenceView:
    """Assess every model in ``order`` (those scored under ``profile``), add the JSON to
    ``trust.data["confidence"]`` and draw the chart into ``charts_dir``."""
    settings = settings or TrustSettings(resamples=resamples.count, seed=resamples.seed)
    view = ConfidenceView(risk=settings.risk, method=settings.method)
    rows = trust.rows or list(range(len(examples)))
    sample = [examples[i] for i in rows]
    if len(sample) < 4 or not all(ex.gold is not None for ex in sample):
        return view
    groups = [group_key(ex) for ex in sample]
    calibration = calibration_split(groups, settings.share, settings.seed)
    assessed: list[ModelConfidence] = []
    for m in order:
        r = results[m]
        scores = (r.repeats[0] if r.repeats else r.scores).get(profile)
        if scores is None or not scores.path_rows:
            continue
        signals = r.signals or [None] * len(examples)
        assessed.append(
            assess_model(
                task,
                sample,
                [r.outputs[i] for i in rows],
                label=r.label,
                profile=profile,
                settings=settings,
                calibration=calibration,
                groups=groups,
                signals=[signals[i] for i in rows],
                repeats=[[rep[i] for i in rows] for rep in r.repeat_outputs],
                path_rows={p: v[rows] for p, v in scores.path_rows.items()},
                grounding=trust.groundings.get(m),
            )
        )
    if not assessed:
        return view
    trust.data["confidence"] = trust_json(assessed, settings, profile=profile)
    view.calibration_rows, view.held_out_rows = int(calibration.sum()), int((~calibration).sum())
    view.sampled = trust.sampled
    view.models = [a.label for a in assessed]
    paths = list(assessed[0].paths)
    view.rows = [
        {"path": p, "cells": [_cell(a, p, settings.risk) for a in assessed]} for p in paths
    ]
    view.chart = _chart(assessed, paths, settings, charts_dir)
    return view


def _pct(x: float | None) -> str:
    return "—" if x is None or math.isnan(x) else f"{100 * x:.0f}"


def _cell(model: ModelConfidence, path: str, risk: float) -> tuple[str, str, str]:
    """(coverage %, its interval, a tooltip with the rest) for one model and path."""
    p = model.paths.get(path)
    if p is None or p.policy.signal is None:
        return "—", "", "no confidence signal for this field"
    cov, real = p.coverage, p.realised_risk
    ci = f"[{_pct(cov.lo)}, {_pct(cov.hi)}]" if cov is not None and not math.isnan(cov.lo) else ""
    threshold = p.policy.threshold
    title = (
        f"signal {p.policy.signal}; threshold "
        + ("none (no threshold reaches the target risk on the calibration rows)"
           if threshold is None else f"{threshold:.3f}")
        + f"; realised risk {_pct(real.value if real else math.nan)}%"
        + (f" [{_pct(real.lo)}, {_pct(real.hi)}]" if real and not math.isnan(real.lo) else "")
        + f"; ECE {p.ece:.3f}; Brier {p.brier:.3f}; AURC {p.aurc:.3f}"
        + f"; {p.held_out_rows} held-out values"
    )  # fmt: skip
    return _pct(cov.value if cov else math.nan), ci, title


def _chart(
    assessed: list[ModelConfidence], paths: list[str], settings: TrustSettings, folder: Path
) -> dict[str, str]:
    curves = [[m.paths[p].curve if p in m.paths else [] for p in paths] for m in assessed]
    points = [
        [_point(m, p) for p in paths]
        for m in assessed
    ]  # fmt: skip
    png = risk_coverage_grid(
        [m.label for m in assessed],
        paths,
        curves,
        points,
        risk=settings.risk,
        title=f"Risk-coverage per field on held-out rows (dot: the threshold chosen on the "
        f"calibration rows; dashed: {settings.risk:.0%} target risk)",
    )
    file = folder / f"{CHART}.png"
    file.write_bytes(png)
    return {"file": f"charts/{file.name}", "data": base64.b64encode(png).decode("ascii")}


def _point(model: ModelConfidence, path: str) -> tuple[float, float] | None:
    p = model.paths.get(path)
    if p is None or p.coverage is None or p.realised_risk is None:
        return None
    return p.coverage.value, p.realised_risk.value
