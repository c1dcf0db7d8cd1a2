"""The leaderboard and the "who won and why" summary above it."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fieldwise._text import hide_url_credentials
from fieldwise.report._charts import KIND_COLOURS, KIND_NAMES
from fieldwise.report._values import num, pct
from fieldwise.scoring._types import ModelResult, ModelScore
from fieldwise.scoring.stats import Comparison, PairwiseTable

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
class FieldCell:
    """One model's score on one field in the scores-by-field table."""

    text: str
    style: str
    coverage: str = ""
    """Shown under the score when the ranking profile lets models abstain."""
    note: str = ""
    """Why the score is what it is, when the page knows (a field never predicted)."""


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
    coverage: str
    """Coverage under the ranking profile ("" when that profile has no abstentions)."""
    others: list[tuple[str, str, str]]
    """Per other profile: aggregate, interval and coverage ("" as above)."""
    validity: str
    stats: list[str]
    fields: list[FieldCell] = field(default_factory=list)


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


def valid_share(score: ModelScore) -> float:
    """The share of outputs that parsed and validated. With repeats the validity counts
    cover every repeat's outputs, so the share is of those, never of rows (300%)."""
    total = sum(score.validity.values()) or score.rows
    return score.validity.get("ok", 0) / total if total else float("nan")


def board(
    results: list[ModelResult],
    order: list[int],
    profile: str,
    fields: list[str],
    abstaining: set[str],
    notes: dict[str, dict[int, str]] | None = None,
) -> tuple[list[BoardRow], list[str], list[str]]:
    """Leaderboard rows plus the other profiles' names and the stats columns shown.

    A profile in ``abstaining`` (a null neither right nor wrong) gets its coverage beside
    every score: without it a score that skips abstentions reads as better than it is.
    ``notes[field][model index]`` explains a field's score in its cell's tooltip."""
    others = [p for p in results[order[0]].scores if p != profile]
    stats = [k for k, _, _ in STATS if any(k in r.stats for r in results)]
    notes = notes or {}
    rows = []
    for rank, i in enumerate(order, 1):
        r = results[i]
        main = r.scores[profile]
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
                coverage=pct(mean_coverage(main)) if profile in abstaining else "",
                others=[
                    (
                        num(r.scores[p].aggregate, 2),
                        ci_text(r.scores[p].aggregate_ci),
                        pct(mean_coverage(r.scores[p])) if p in abstaining else "",
                    )
                    if p in r.scores
                    else ("—", "", "")
                    for p in others
                ],
                validity=pct(valid_share(main)),
                stats=[_stat(r.stats.get(k), digits[k], k) for k in stats],
                fields=[
                    _field_cell(main, f, profile in abstaining, notes.get(f, {}).get(i, ""))
                    for f in fields
                ],
            )
        )
    names = [label for k, label, _ in STATS if k in stats]
    return rows, others, names


def _field_cell(score: ModelScore, name: str, abstains: bool, note: str) -> FieldCell:
    text, style = heat(score.fields.get(name, float("nan")))
    cover = score.coverage.get(name, float("nan"))
    coverage = f"{pct(cover, 0)}%" if abstains and not math.isnan(cover) else ""
    return FieldCell(text, style, coverage, note)


def _stat(value: float | None, digits: int, key: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "unknown" if key == "cost_usd" else "—"  # an unknown cost never reads as free
    return f"{value:,.{digits}f}"


def heat(value: float) -> tuple[str, str]:
    """Cell text and a background shade from red (0) through yellow to green (1)."""
    if math.isnan(value):
        return "—", "background:#f3f3f3"
    return pct(value), f"background:hsl({value**3 * 120:.0f},70%,86%)"


def why(
    results: list[ModelResult],
    order: list[int],
    profile: str,
    fields: list[str],
    table: PairwiseTable,
) -> dict[str, Any]:
    """The winner, its lead over the runner-up, and where the lead comes from.

    Only what survives the pairwise tests (Holm across every pair and field) is claimed:
    the lead is "significant" or not, and the fields named as its source are those where
    the winner is significantly better (or worse) than the runner-up.
    """
    best = results[order[0]]
    out: dict[str, Any] = {
        "winner": best.label,
        "kind": KIND_NAMES.get(best.kind, best.kind),
        "aggregate": num(best.scores[profile].aggregate, 2),
        "coverage": pct(mean_coverage(best.scores[profile])),
        "ci": ci_text(best.scores[profile].aggregate_ci),
        "runner_up": None,
        "best_by_kind": [],
        "resolution": table.resolution_text(),
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
    lead = table.get(best.label, second.label)
    assert lead is not None
    field_cmp = [(f, table.get(best.label, second.label, f)) for f in fields]
    found = [(f, c) for f, c in field_cmp if c is not None and c.significant]
    gains = sorted((c.diff, f) for f, c in found if c.diff > 0)
    losses = sorted((c.diff, f) for f, c in found if c.diff < 0)
    out.update(
        runner_up=second.label,
        diff=num(lead.diff, 2),
        diff_ci=ci_text((lead.lo_holm, lead.hi_holm)),
        ci_level=level_text(lead.level_holm),
        ci_agrees=excludes_zero(lead) == lead.significant,
        family=sum(not math.isnan(c.p) for c in table.rows),
        boot_ci=ci_text((lead.lo, lead.hi)),
        p_holm=_p_text(lead.p_holm),
        significant=lead.significant,
        mde=num(lead.mde, 1),
        below_mde=not math.isnan(lead.mde) and abs(lead.diff) < lead.mde,
        gains=[(f, f"+{g:.1f}") for g, f in reversed(gains)][:4],
        losses=[(f, f"{g:.1f}") for g, f in losses][:4],
    )
    return out


def level_text(level: float) -> str:
    """A confidence level with its tail to two significant digits: 95%, 99.64%."""
    if math.isnan(level):
        return ""
    tail = (1.0 - level) * 100.0
    digits = max(0, math.ceil(-math.log10(tail)) + 1) if tail > 0 else 2
    return f"{level * 100:.{digits}f}".rstrip("0").rstrip(".") + "%"


def excludes_zero(c: Comparison) -> bool:
    """Whether ``c``'s Holm-matched interval lies wholly on one side of 0."""
    return c.lo_holm > 0.0 or c.hi_holm < 0.0


def _p_text(p: float) -> str:
    if math.isnan(p):
        return "—"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def meta_rows(meta: dict[str, Any] | None) -> list[tuple[str, str]]:
    """Run information as text; anything whose name looks like a credential is withheld,
    and credentials inside a URL are replaced."""
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
        text = hide_url_credentials(text)
        rows.append((str(key), text if len(text) <= 500 else text[:499] + "…"))
    return rows
