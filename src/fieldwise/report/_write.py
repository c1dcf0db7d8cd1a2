"""Write the report: one self-contained HTML page, with its charts also saved as PNGs.

The page embeds its CSS, its few lines of JavaScript and its charts (base64 PNG), so it
opens offline, can be mailed or attached to a paper's supplement, and loads nothing from
the network. Every model output and document text goes through Jinja's autoescaping.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import json
import math
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from fieldwise._text import scrub_text
from fieldwise.data.splits import group_key
from fieldwise.errors import UserError
from fieldwise.report._analysis import FieldErrors, field_errors
from fieldwise.report._charts import KIND_COLOURS, KIND_NAMES, bar_chart
from fieldwise.report._compare import (
    comparison_table,
    field_rows,
    matrix,
    repeat_rows,
    score_matrix,
    variant_rows,
)
from fieldwise.report._export import write_export
from fieldwise.report._nested import nested_views
from fieldwise.report._rows import example_rows, select_rows
from fieldwise.report._staging import staged_folder
from fieldwise.report._summary import board, meta_rows, ranking, why
from fieldwise.report._values import STATUS_TEXT, Parsed, column, parse_all
from fieldwise.scoring._types import ModelResult
from fieldwise.scoring.stats import DEFAULT_RESAMPLES, Resamples
from fieldwise.tasks._task import Example, Task

__all__ = ["write_report"]

DEFAULT_PROFILE = "reference"


def write_report(
    task: Task,
    examples: list[Example],
    results: list[ModelResult],
    out_dir: Path,
    *,
    title: str = "",
    meta: dict[str, Any] | None = None,
    profile: str | None = None,
    resamples: Resamples | None = None,
) -> Path:
    """Write ``out_dir/report.html``, ``out_dir/charts/*.png`` and the full per-row data
    (``examples.jsonl``, ``examples.parquet``); return the HTML path.

    ``results[m].outputs[i]`` must be model m's answer to ``examples[i]``. Models are
    ranked, and wrong cells marked, by ``profile`` (default ``reference`` when every model
    was scored under it, else the first profile they share); other profiles appear as
    extra leaderboard columns. ``title`` defaults to one naming the task.

    Every pair of models is compared on the aggregate and each field with ``resamples``
    (pass the run's, so the verdict and the intervals share draws; by default 1,000
    resamples clustered by repeated text); the table is also written as
    ``out_dir/pairwise.json``, which ``fieldwise compare`` prints.

    The folder appears whole or not at all (``report/_staging.py``); a write that fails
    (a full disk) is a one-line :class:`UserError` naming the folder and the file.
    """
    profile = _check(examples, results, profile)
    final = Path(out_dir)
    # Written into a hidden sibling and moved into place whole (see ``_staging``).
    with staged_folder(final) as staging:
        name = _write_files(task, examples, results, staging, title, meta, profile, resamples)
    return final / name


def _write_files(
    task: Task,
    examples: list[Example],
    results: list[ModelResult],
    out_dir: Path,
    title: str,
    meta: dict[str, Any] | None,
    profile: str,
    resamples: Resamples | None,
) -> str:
    """Write every file of the report into ``out_dir``; return the page's file name."""
    # Labels reach matplotlib and outputs' parsed values reach the page: neither may
    # hold a lone surrogate (a cached output with ``\\ud800`` would fail every report).
    results = [replace(r, label=scrub_text(r.label)) for r in results]
    charts_dir = out_dir / "charts"
    charts_dir.mkdir()
    order = ranking(results, profile)
    fields = list(results[order[0]].scores[profile].field_names)
    parsed = [parse_all(r) for r in results]
    if resamples is None:
        resamples = Resamples.for_rows(
            len(examples), DEFAULT_RESAMPLES, 0, [group_key(ex) for ex in examples]
        )
    table = comparison_table(results, profile, fields, resamples)
    labels = [results[i].label for i in order]
    matrices = [score_matrix(r, profile, fields) for r in results]
    selection = select_rows(parsed, matrices)
    exports = write_export(out_dir, examples, results, parsed, matrices, fields, order)
    charts = _charts(results, order, profile, fields, charts_dir)
    shown = example_rows(examples, fields, order, results, parsed, matrices, selection.indices)
    shown_rows = set(selection.indices)
    trees: list[Any] = []
    leaf_errors: dict[str, Any] = {}
    if task.is_nested:
        views = nested_views(
            task, examples, results, order, parsed, profile, fields, resamples, shown_rows
        )
        trees, leaf_errors = views.trees, views.leaf_errors
        by_index = {r.index: r for r in shown}  # the rows shown, by example index
        for row, blocks in views.blocks.items():
            by_index[row].records = blocks
    context: dict[str, Any] = {
        "title": title or f"fieldwise report: {task.name}",
        "task": task,
        "profile": profile,
        "rows": len(examples),
        "generated": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "meta": meta_rows(meta),
        "fields": fields,
        "why": why(results, order, profile, fields, table),
        "matrix": matrix(table, labels),
        "pair_rows": field_rows(table, labels, fields),
        "variants": variant_rows(results, table, fields),
        "repeat_rows": repeat_rows(results, order, profile, fields),
        "pairwise": table,
        "charts": charts,
        "kinds": [
            (KIND_NAMES[k], KIND_COLOURS[k])
            for k in KIND_COLOURS
            if any(r.kind == k for r in results)
        ],
        "validity": _validity(results, order, profile),
        "errors": _errors(task, examples, results, order, parsed, profile, fields),
        "models": [(i, results[i].label) for i in order],
        "examples": shown,
        "trees": trees,
        "leaf_errors": leaf_errors,
        "selection": selection,
        "shown": shown_rows,
        "ids": [str(ex.id) for ex in examples],
        "exports": exports,
    }
    (
        context["board"],
        context["other_profiles"],
        context["stat_names"],
        context["show_coverage"],
    ) = board(results, order, profile, fields)
    (out_dir / "pairwise.json").write_text(
        json.dumps({"profile": profile, **table.to_json()}, indent=1), encoding="utf-8"
    )
    path = out_dir / "report.html"
    path.write_text(scrub_text(_template().render(**context)), encoding="utf-8")
    return path.name


def _check(examples: list[Example], results: list[ModelResult], profile: str | None) -> str:
    """Refuse inputs that cannot make a truthful report; return the ranking profile."""
    if not results:
        raise UserError("nothing to report: no model results were given")
    if not examples:
        raise UserError("nothing to report: there are no examples")
    shared = [p for p in results[0].scores if all(p in r.scores for r in results)]
    if profile is None:
        if not shared:
            raise UserError("the models share no scoring profile", hint="score them all first")
        profile = DEFAULT_PROFILE if DEFAULT_PROFILE in shared else shared[0]
    elif profile not in shared:
        raise UserError(
            f"not every model was scored under profile '{profile}'",
            hint=f"profiles all models share: {', '.join(shared) or 'none'}",
        )
    labels = [r.label for r in results]
    if len(set(labels)) != len(labels):
        dupes = sorted({x for x in labels if labels.count(x) > 1})
        raise UserError(f"model names must be unique in a report; repeated: {dupes}")
    n = len(examples)
    for r in results:
        if len(r.outputs) != n:
            raise UserError(
                f"model '{r.label}' has {len(r.outputs)} outputs for {n} examples",
                hint="outputs must be aligned with the examples row by row",
            )
        if r.scores[profile].per_row.shape[0] != n:
            raise UserError(f"model '{r.label}' was scored on a different number of rows")
    return profile


def _charts(
    results: list[ModelResult], order: list[int], profile: str, fields: list[str], folder: Path
) -> list[dict[str, str]]:
    """Draw the leaderboard and per-field charts; write each PNG and keep it for embedding."""
    labels = [r.label for r in results]
    kinds = [r.kind for r in results]
    main = [r.scores[profile] for r in results]
    specs = [
        (
            "_leaderboard" if "leaderboard" in fields else "leaderboard",
            "Aggregate score",
            bar_chart(
                labels,
                [s.aggregate for s in main],
                kinds,
                title=f"Aggregate ({profile} profile), 95% CI",
                xlabel="aggregate (0-100)",
                ci=[s.aggregate_ci for s in main],
            ),
        )
    ]
    for name in fields:
        values = [s.fields.get(name, math.nan) * 100 for s in main]
        specs.append(
            (
                name,
                name,
                bar_chart(
                    labels,
                    values,
                    kinds,
                    title=f"{name}: % of rows correct ({profile} profile)",
                    xlabel="% of rows",
                ),
            )
        )
    charts = []
    for stem, caption, png in specs:
        file = folder / f"{_safe(stem)}.png"
        file.write_bytes(png)
        charts.append(
            {
                "name": stem,
                "caption": caption,
                "file": f"charts/{file.name}",
                "data": base64.b64encode(png).decode("ascii"),
            }
        )
    return charts


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name).lstrip(".") or "field"


def _validity(results: list[ModelResult], order: list[int], profile: str) -> list[dict[str, Any]]:
    rows = []
    for i in order:
        r = results[i]
        v = r.scores[profile].validity
        rows.append(
            {
                "label": r.label,
                "counts": [v.get(k, 0) for k in STATUS_TEXT],
                "errors": int(r.stats["errors"])
                if r.repeats and "errors" in r.stats
                else sum(e is not None for e in r.errors),
                "total": sum(v.values()) or len(r.outputs),
            }
        )
    return rows


def _errors(
    task: Task,
    examples: list[Example],
    results: list[ModelResult],
    order: list[int],
    parsed: list[Parsed],
    profile: str,
    fields: list[str],
) -> list[tuple[str, str, list[tuple[int, FieldErrors]]]]:
    """Per field: (name, kind, [(model index, its errors)]) in leaderboard order."""
    out: list[tuple[str, str, list[tuple[int, FieldErrors]]]] = []
    for name in fields:
        try:
            spec = task.field(name)
        except KeyError:
            continue
        golds = [(ex.gold or {}).get(name) for ex in examples]
        per_model = [
            (i, field_errors(spec, golds, parsed[i], column(results[i].scores[profile], name)))
            for i in order
        ]
        out.append((name, spec.kind, per_model))
    return out


@functools.lru_cache(maxsize=1)
def _template() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("fieldwise.report", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["text"] = text_content
    return env.get_template("report.html.jinja")


def text_content(value: str) -> Any:
    """Escape for an element's text (``<pre>``, ``<div>``), never for an attribute.

    Quotes need no escaping there, and model outputs are mostly JSON: leaving ``"`` as is
    (instead of ``&#34;``) makes the raw-output column ~30% smaller.
    """
    from markupsafe import Markup

    return Markup(str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))
