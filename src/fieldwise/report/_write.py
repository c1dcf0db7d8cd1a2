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
from dataclasses import dataclass, replace
from itertools import repeat
from pathlib import Path
from typing import Any

from fieldwise._gc import gc_paused
from fieldwise._text import scrub_text
from fieldwise.data.splits import group_key
from fieldwise.errors import UserError
from fieldwise.report._analysis import FieldErrors, field_errors
from fieldwise.report._charts import KIND_COLOURS, KIND_NAMES, bar_chart, field_grid
from fieldwise.report._compare import (
    comparison_table,
    field_rows,
    matrix,
    repeat_rows,
    score_matrix,
    variant_rows,
)
from fieldwise.report._confidence import confidence_view
from fieldwise.report._deploy import deploy_context, deploy_summary
from fieldwise.report._export import write_export
from fieldwise.report._nested import nested_views
from fieldwise.report._notes import abstaining_profiles, abstentions, by_field, coverage_note
from fieldwise.report._optimize import PromptUse, optimisation_views
from fieldwise.report._rows import example_rows, select_rows
from fieldwise.report._staging import staged_folder
from fieldwise.report._summary import board, meta_rows, ranking, why
from fieldwise.report._trust import trust_view
from fieldwise.report._values import STATUS_TEXT, Parsed, column, parse_all
from fieldwise.scoring._types import ModelResult, ModelScore
from fieldwise.scoring.stats import DEFAULT_RESAMPLES, PairwiseTable, Resamples
from fieldwise.tasks._task import Example, Task
from fieldwise.trust.ood import OodRun

__all__ = ["WrittenReport", "pairwise_file", "write_report", "write_report_full"]

DEFAULT_PROFILE = "reference"


@dataclass(frozen=True)
class WrittenReport:
    """A report written to disk, and its pairwise table (as in ``pairwise.json``), so a
    caller that goes on to print the verdicts need not read the file back."""

    path: Path
    pairwise: dict[str, Any]


def write_report(*args: Any, **kwargs: Any) -> Path:
    """:func:`write_report_full`, returning only the HTML path."""
    return write_report_full(*args, **kwargs).path


@gc_paused()  # millions of short-lived objects at 100,000 rows: see fieldwise._gc
def write_report_full(
    task: Task,
    examples: list[Example],
    results: list[ModelResult],
    out_dir: Path,
    *,
    title: str = "",
    meta: dict[str, Any] | None = None,
    profile: str | None = None,
    resamples: Resamples | None = None,
    ood: OodRun | None = None,
    prompts: list[PromptUse] | None = None,
) -> WrittenReport:
    """Write ``out_dir/report.html``, ``out_dir/charts/*.png`` and the full per-row data
    (``examples.jsonl``, ``examples.parquet``); return the HTML path.

    ``results[m].outputs[i]`` must be model m's answer to ``examples[i]``. Models are
    ranked, and wrong cells marked, by ``profile`` (default ``reference`` when every model
    was scored under it, else the first profile they share); other profiles appear as
    extra leaderboard columns. ``title`` defaults to one naming the task.

    Every pair of models is compared on the aggregate and each field with ``resamples``
    (pass the run's, so the verdict and the intervals share draws; by default 1,000
    resamples clustered by repeated text); the table is also written as
    ``out_dir/pairwise.json``, which ``fieldwise compare`` prints, and, on the same
    resamples, one ``pairwise.<profile>.json`` per profile every model was scored under
    (``fieldwise compare --profile``), and the deploy view's numbers (cost per 1,000
    documents, latency, throughput) as ``out_dir/deploy.json``.

    Every value is aligned with its text (grounding columns, evidence on hover); ``ood``,
    the models' outputs on out-of-domain probes, adds that section; both are also saved
    as ``out_dir/trust.json`` (``report/_trust.py``).

    ``prompts`` (the saved prompts the models used, with their optimisation records)
    adds the prompt-optimisation section.

    The folder appears whole or not at all (``report/_staging.py``); a write that fails
    (a full disk) is a one-line :class:`UserError` naming the folder and the file.
    """
    profile = _check(examples, results, profile)
    final = Path(out_dir)
    # Written into a hidden sibling and moved into place whole (see ``_staging``).
    with staged_folder(final) as staging:
        written = _write_files(
            task, examples, results, staging, title, meta, profile, resamples, ood, prompts
        )
    return WrittenReport(final / written.path.name, written.pairwise)


def _write_files(
    task: Task,
    examples: list[Example],
    results: list[ModelResult],
    out_dir: Path,
    title: str,
    meta: dict[str, Any] | None,
    profile: str,
    resamples: Resamples | None,
    ood: OodRun | None,
    prompts: list[PromptUse] | None,
) -> WrittenReport:
    """Write every file of the report into ``out_dir`` (the staging folder)."""
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
    abstaining = abstaining_profiles(results)
    charts = _charts(results, order, profile, fields, charts_dir, profile in abstaining)
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
    nested_names = {s.name for s in task.fields if not s.is_leaf}
    trust = trust_view(
        task, examples, results, parsed, profile, fields, selection.indices, resamples, ood
    )
    confidence = confidence_view(
        task, examples, results, order, profile, trust, resamples, charts_dir
    )
    context: dict[str, Any] = {
        "trust": trust,
        "confidence": confidence,
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
        "nested_cols": {j for j, f in enumerate(fields) if f in nested_names},
        "trees": trees,
        "leaf_errors": leaf_errors,
        "selection": selection,
        "shown": shown_rows,
        "ids": [str(ex.id) for ex in examples],
        "exports": exports,
        "optimisations": optimisation_views(prompts or [], task, charts_dir),
    }
    notes = abstentions(task, examples, results, order, parsed, fields)
    context["notes"] = notes
    context["notes_by_field"] = by_field(notes)
    context["abstaining"] = abstaining
    context["coverage_note"] = coverage_note(list(results[order[0]].scores), abstaining)
    context["board"], context["other_profiles"], context["stat_names"] = board(
        results, order, profile, fields, abstaining, context["notes_by_field"]
    )
    pairwise_json = _write_tables(out_dir, profile, table, results, resamples)
    deploy = deploy_summary(results, order, profile, resamples)
    context["deploy"] = deploy_context(deploy, table, fields, charts_dir)
    (out_dir / "deploy.json").write_text(json.dumps(deploy.to_json(), indent=1), encoding="utf-8")
    trust.write(out_dir)
    path = out_dir / "report.html"
    path.write_text(scrub_text(_template().render(**context)), encoding="utf-8")
    return WrittenReport(path, pairwise_json)


def pairwise_file(profile: str) -> str:
    """The name of a profile's pairwise table beside the report (the ranking profile's
    is also ``pairwise.json``)."""
    return f"pairwise.{_safe(profile)}.json"


def _write_tables(
    out_dir: Path,
    profile: str,
    table: PairwiseTable,
    results: list[ModelResult],
    resamples: Resamples,
) -> dict[str, Any]:
    """``pairwise.json`` for the ranking profile, and one table per other profile every
    model was scored under, on the same resamples: ``fieldwise compare --profile X``
    prints X's table, never the ranking profile's under X's name. Returns the ranking
    profile's table, as written."""
    shared = [p for p in results[0].scores if all(p in r.scores for r in results)]
    ranking_table: dict[str, Any] = {"profile": profile, **table.to_json()}
    for name in shared:
        if name == profile:
            data, files = table.to_json(), ["pairwise.json", pairwise_file(name)]
        else:
            fields = list(results[0].scores[name].field_names)
            data, files = (
                comparison_table(results, name, fields, resamples).to_json(),
                [pairwise_file(name)],
            )
        text = json.dumps({"profile": name, **data}, indent=1)
        for file in files:
            (out_dir / file).write_text(text, encoding="utf-8")
    return ranking_table


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
    results: list[ModelResult],
    order: list[int],
    profile: str,
    fields: list[str],
    folder: Path,
    abstains: bool,
) -> list[dict[str, str]]:
    """Draw the leaderboard and the fields' small multiples; write each PNG and keep it
    for embedding. Under a profile that lets models abstain, each field's value carries
    the share of rows the model answered."""
    labels = [r.label for r in results]
    kinds = [r.kind for r in results]
    main = [r.scores[profile] for r in results]
    ranked = [main[i] for i in order]
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
        ),
        (
            "_fields" if "fields" in fields else "fields",
            "Every field",
            field_grid(
                [labels[i] for i in order],
                [kinds[i] for i in order],
                fields,
                [[s.fields.get(f, math.nan) * 100 for f in fields] for s in ranked],
                title=f"% of rows right per field ({profile} profile"
                + ("; in brackets, % of rows answered where not all)" if abstains else ")"),
                notes=[[_answered(s, f) for f in fields] for s in ranked] if abstains else None,
            ),
        ),
    ]
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


def _answered(score: ModelScore, name: str) -> str:
    value = score.coverage.get(name, math.nan)
    return "" if math.isnan(value) or value >= 0.9995 else f"{value * 100:.0f}%"


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
    gold_rows: list[dict[str, Any]] = [ex.gold or {} for ex in examples]
    for name in fields:
        try:
            spec = task.field(name)
        except KeyError:
            continue
        golds = list(map(dict.get, gold_rows, repeat(name)))  # a field's gold, in C
        per_model = []
        for i in order:
            score = results[i].scores[profile]
            per_model.append(
                (i, field_errors(spec, golds, parsed[i], column(score, name), score.path_rows))
            )
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
    env.filters["wrap"] = breakable
    return env.get_template("report.html.jinja")


def text_content(value: str) -> Any:
    """Escape for an element's text (``<pre>``, ``<div>``), never for an attribute.

    Quotes need no escaping there, and model outputs are mostly JSON: leaving ``"`` as is
    (instead of ``&#34;``) makes the raw-output column ~30% smaller.
    """
    from markupsafe import Markup

    return Markup(str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))


def breakable(name: str) -> Any:
    """A field or model name, escaped, that may wrap only after ``_``, ``.``, ``-`` or
    ``]`` (``min_leaders_<wbr>captured``), never mid-word: narrow headers without the
    table scrolling sideways."""
    from markupsafe import Markup, escape

    return Markup(re.sub(r"([_.\-\]])", r"\1<wbr>", str(escape(name))))
