"""The views only distill and migrate have, written beside the run's report.

The report (``report.html``) compares the models like any run: leaderboard, paired
tests, per-field scores, examples. ``distill.html`` adds, per field: the rows scored,
teacher and student accuracy against human gold, teacher–student agreement, the
inherited-error rate, and, per filter, the student trained without it and the filter's
effect on accuracy and on inherited errors (with the filter minus without).
``migrate.html`` adds the equivalence table: per field and on the aggregate, the paired
difference, its TOST interval, the margin (and where it came from), the p-value and the
verdict. Every label and field name is escaped: model and field names come from the
user's config and task.
"""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fieldwise.distill.distill import DistillResult
    from fieldwise.distill.migrate import MigrateResult

__all__ = ["write_equivalence_page", "write_page"]

_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem;color:#222}
table{border-collapse:collapse;margin:1rem 0}th,td{padding:.3rem .6rem;border-bottom:1px solid #ddd}
th{text-align:left;background:#f6f6f6}td.n{text-align:right;font-variant-numeric:tabular-nums}
.better{color:#1a7f37}.worse{color:#b42318}p.note{color:#555;max-width:60rem}
"""


def _pct(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{100 * value:.1f}"


def _delta(value: float | None, lower_is_better: bool) -> str:
    """A signed difference in points, coloured by whether the filter helped."""
    if value is None or math.isnan(value):
        return "-"
    good = value < 0 if lower_is_better else value > 0
    css = "" if abs(value) < 5e-4 else ("better" if good else "worse")
    return f'<span class="{css}">{100 * value:+.1f}</span>'


def _acc(score: Any, name: str) -> float | None:
    return score.fields.get(name) if score is not None else None


def _sub(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def write_page(result: DistillResult, out_dir: Path, meta: dict[str, Any]) -> Path:
    """Write ``out_dir/distill.html`` and return its path."""
    out_dir = Path(out_dir)
    e = html.escape
    m = result.student.measures
    heads = ["field", "gold rows", "teacher", "student", "agreement", "inherited errors"]
    for f in result.without:
        heads += [f"no {f}: student", f"no {f}: inherited", f"{f}: effect on student",
                  f"{f}: effect on inherited"]  # fmt: skip
    rows = []
    for name in m.fields:
        student = _acc(result.student.score, name)
        inherited = m.inherited.get(name)
        cells = [
            f"<th>{e(name)}</th>",
            f'<td class="n">{m.rows.get(name, 0)}</td>',
            f'<td class="n">{_pct(_acc(result.teacher_score, name))}</td>',
            f'<td class="n">{_pct(student)}</td>',
            f'<td class="n">{_pct(m.agreement.get(name))}</td>',
            f'<td class="n">{_pct(inherited)}</td>',
        ]
        for run in result.without.values():
            other = _acc(run.score, name)
            other_inh = run.measures.inherited.get(name)
            cells += [
                f'<td class="n">{_pct(other)}</td>',
                f'<td class="n">{_pct(other_inh)}</td>',
                f'<td class="n">{_delta(_sub(student, other), lower_is_better=False)}</td>',
                f'<td class="n">{_delta(_sub(inherited, other_inh), lower_is_better=True)}</td>',
            ]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    dropped = ", ".join(f"{e(k)}: {v}" for k, v in result.dropped.items()) or "none"
    intro = (
        f"Trained on {result.kept} kept teacher labels (dropped by filter: {dropped}); "
        f"scored on {result.rows} rows of {e(result.evaluated_on)}."
    )
    note = (
        "Accuracy: the field's score against human gold, in %. Agreement: the student's "
        "answer scored against the teacher's. Inherited errors: the share of rows where the "
        "teacher is wrong and the student gives the teacher's answer (the student wrong "
        "exactly where, and how, the teacher was). A filter's effect is the student trained "
        "with it minus the student trained without it, in points: green where the filter "
        "helped (higher accuracy, fewer inherited errors)."
    )
    title = f"Distillation: teacher {result.teacher.label} → student {result.student.name}"
    return _write(out_dir / "distill.html", title, intro, heads, rows, note, meta)


def write_equivalence_page(result: MigrateResult, out_dir: Path, meta: dict[str, Any]) -> Path:
    """Write ``out_dir/migrate.html`` (the TOST table) and return its path."""
    e = html.escape
    level = round((1 - 2 * result.equivalence[0].alpha) * 100) if result.equivalence else 90
    heads = ["target", "rows", "old", "new", "new − old", f"{level}% interval", "margin",
             "p (TOST)", "verdict"]  # fmt: skip
    rows = []
    for q in result.equivalence:
        old: float | None
        new: float | None
        if q.target == "aggregate":
            old, new = result.old_score.aggregate / 100, result.new_score.aggregate / 100
        else:
            old, new = _acc(result.old_score, q.target), _acc(result.new_score, q.target)
        margin = "-" if math.isnan(q.margin) else f"{q.margin:.1f}"
        if q.margin_source == "mde" and margin != "-":
            margin += " (MDE)"
        css = {"equivalent": "better", "worse": "worse"}.get(q.verdict, "")
        cells = [_num(q.diff), f"[{_num(q.lo)}, {_num(q.hi)}]", margin,
                 "-" if math.isnan(q.p) else f"{q.p:.3g}"]  # fmt: skip
        rows.append(
            f'<tr><th>{e(q.target)}</th><td class="n">{q.n}</td>'
            f'<td class="n">{_pct(old)}</td><td class="n">{_pct(new)}</td>'
            + "".join(f'<td class="n">{c}</td>' for c in cells)
            + f'<td class="{css}">{e(q.verdict)}</td></tr>'
        )
    intro = (
        f"{e(result.new_entry.label)} was trained on {result.trained} of "
        f"{e(result.old.label)}'s answers and compared with it on {result.rows} rows, "
        f"against {e(result.reference)}. Overall: <b>{e(result.verdict)}</b>."
    )
    note = (
        "Scores in %, differences in points. Equivalent: the interval lies inside ±margin "
        "(two one-sided tests). Worse: not shown equivalent and the 95% interval lies below 0. "
        "Margin: the smallest difference these rows can resolve (MDE) unless --margin."
    )
    title = f"Migration: {result.old.label} → {result.new_entry.label}"
    return _write(out_dir / "migrate.html", title, intro, heads, rows, note, meta)


def _num(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:+.1f}"


def _write(
    path: Path,
    title: str,
    intro: str,
    heads: list[str],
    rows: list[str],
    note: str,
    meta: dict[str, Any],
) -> Path:
    """One self-contained page: ``intro`` and ``note`` are HTML built from escaped parts;
    the title, headers and ``meta`` are escaped here."""
    e = html.escape
    info = "".join(f"<tr><th>{e(k)}</th><td>{e(str(v))}</td></tr>" for k, v in meta.items())
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{e(title)}</title>
<style>{_STYLE}</style></head><body>
<h1>{e(title)}</h1>
<p>{intro} The full comparison (leaderboard, paired tests, examples) is in
<a href="report.html">report.html</a>.</p>
<table><thead><tr>{"".join(f"<th>{e(h)}</th>" for h in heads)}</tr></thead>
<tbody>{"".join(rows)}</tbody></table>
<p class="note">{note}</p>
<table>{info}</table>
</body></html>
"""
    path.write_text(page, encoding="utf-8")
    return path
