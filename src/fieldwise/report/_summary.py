"""The leaderboard and the "who won and why" summary above it."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fieldwise.report._analysis import paired_difference
from fieldwise.report._charts import KIND_COLOURS, KIND_NAMES
from fieldwise.report._values import num, pct
from fieldwise.scoring._types import ModelResult, ModelScore

SECRET = re.compile(
    r"api.?key|secret|passw|credential|bearer|authori[sz]ation|(^|_)(token|key)$", re.IGNORECASE
)
STATS: tuple[tuple[str, str, int], ...] = (
    ("latency_s_mean", "latency (s)", 2),
    ("input_tokens", "tokens in", 0),
    ("output_tokens", "tokens out", 0),
    ("cost_usd", "cost ($)", 4),
    ("hit_token_limit", "hit token limit", 0),
)


@dataclass
class BoardRow:
    rank: int
    index: int
    label: str
    spec: str
    kind: str
    kind_name: str
    colour: str
    aggregate: str
    ci: str
    others: list[tuple[str, str]]
    validity: str
    coverage: str
    stats: list[str]
    fields: list[tuple[str, str]] = field(default_factory=list)


def ranking(results: list[ModelResult], profile: str) -> list[int]:
    """Model indices, best aggregate first (NaN last, then by label for stable ties)."""

    def key(i: int) -> tuple[float, str]:
        agg = results[i].scores[profile].aggregate
        return (math.inf if math.isnan(agg) else -agg, results[i].label)

    return sorted(range(len(results)), key=key)


def ci_text(pair: tuple[float, float]) -> str:
    lo, hi = pair
    return "" if math.isnan(lo) or math.isnan(hi) else f"[{lo:.1f}, {hi:.1f}]"


def mean_coverage(score: ModelScore) -> float:
    values = [v for v in score.coverage.values() if not math.isnan(v)]
    return float(np.mean(values)) if values else float("nan")


def board(
    results: list[ModelResult], order: list[int], profile: str, fields: list[str]
) -> tuple[list[BoardRow], list[str], list[str], bool]:
    """Leaderboard rows plus the other profiles' names, the stats columns shown and whether
    a coverage column is needed (only when some model abstained)."""
    others = [p for p in results[order[0]].scores if p != profile]
    stats = [k for k, _, _ in STATS if any(k in r.stats for r in results)]
    coverage = {
        i: min((mean_coverage(s) for s in results[i].scores.values()), default=float("nan"))
        for i in order
    }
    show_coverage = any(not math.isnan(c) and c < 0.9995 for c in coverage.values())
    rows = []
    for rank, i in enumerate(order, 1):
        r = results[i]
        main = r.scores[profile]
        ok = main.validity.get("ok", 0)
        total = sum(main.validity.values()) or main.rows
        digits = {k: d for k, _, d in STATS}
        rows.append(
            BoardRow(
                rank=rank,
                index=i,
                label=r.label,
                spec=r.spec,
                kind=r.kind,
                kind_name=KIND_NAMES.get(r.kind, r.kind),
                colour=KIND_COLOURS.get(r.kind, "#444444"),
                aggregate=num(main.aggregate, 2),
                ci=ci_text(main.aggregate_ci),
                others=[
                    (num(r.scores[p].aggregate, 2), ci_text(r.scores[p].aggregate_ci))
                    if p in r.scores
                    else ("—", "")
                    for p in others
                ],
                validity=pct(ok / total if total else float("nan")),
                coverage=pct(coverage[i]),
                stats=[_stat(r.stats.get(k), digits[k]) for k in stats],
                fields=[heat(main.fields.get(f, float("nan"))) for f in fields],
            )
        )
    names = [label for k, label, _ in STATS if k in stats]
    return rows, others, names, show_coverage


def _stat(value: float | None, digits: int) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:,.{digits}f}"


def heat(value: float) -> tuple[str, str]:
    """Cell text and a background shade from red (0) through yellow to green (1)."""
    if math.isnan(value):
        return "—", "background:#f3f3f3"
    return pct(value), f"background:hsl({value**3 * 120:.0f},70%,86%)"


def why(
    results: list[ModelResult], order: list[int], profile: str, fields: list[str]
) -> dict[str, Any]:
    """The winner, its lead over the runner-up with a paired CI, and where the lead comes from."""
    best = results[order[0]]
    out: dict[str, Any] = {
        "winner": best.label,
        "kind": KIND_NAMES.get(best.kind, best.kind),
        "aggregate": num(best.scores[profile].aggregate, 2),
        "ci": ci_text(best.scores[profile].aggregate_ci),
        "runner_up": None,
        "best_by_kind": [],
    }
    seen: set[str] = set()
    for i in order:
        r = results[i]
        if r.kind not in seen:
            seen.add(r.kind)
            out["best_by_kind"].append(
                (KIND_NAMES.get(r.kind, r.kind), r.label, num(r.scores[profile].aggregate, 2))
            )
    if len(order) < 2:
        return out
    second = results[order[1]]
    a, b = best.scores[profile], second.scores[profile]
    diff, lo, hi = (
        paired_difference(a.per_row, b.per_row)
        if a.per_row.shape == b.per_row.shape
        else (a.aggregate - b.aggregate, float("nan"), float("nan"))
    )
    gaps = sorted(
        ((a.fields.get(f, math.nan) - b.fields.get(f, math.nan)) * 100, f) for f in fields
    )
    gaps = [(g, f) for g, f in gaps if not math.isnan(g)]
    out.update(
        runner_up=second.label,
        diff=num(diff, 2),
        diff_ci=ci_text((lo, hi)),
        clear=None if math.isnan(lo) else bool(lo > 0),
        gains=[(f, f"+{g:.1f}") for g, f in reversed(gaps) if g > 0.05][:4],
        losses=[(f, f"{g:.1f}") for g, f in gaps if g < -0.05][:4],
    )
    return out


def meta_rows(meta: dict[str, Any] | None) -> list[tuple[str, str]]:
    """Run information as text; anything whose name looks like a credential is withheld."""
    rows = []
    for key, value in (meta or {}).items():
        if SECRET.search(str(key)):
            text = "(withheld)"
        elif isinstance(value, str):
            text = value
        else:
            try:
                text = json.dumps(value, default=str, ensure_ascii=False)
            except (TypeError, ValueError):
                text = str(value)
        rows.append((str(key), text if len(text) <= 500 else text[:499] + "…"))
    return rows
