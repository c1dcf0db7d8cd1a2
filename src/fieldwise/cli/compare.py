"""``fieldwise compare``: paired tests between models, within a run or across runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich import box
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from fieldwise.cli._common import console, err_console, print_json
from fieldwise.errors import UserError


def compare(
    refs: list[str] = typer.Argument(
        None, help="Run ids or model names from the store (two or more); none: the latest report."
    ),
    project: Path = typer.Option(Path(".fieldwise"), "--project", help="Store directory."),
    as_json: bool = typer.Option(False, "--json", help="Print the table as one JSON object."),
    profile: str | None = typer.Option(
        None,
        "--profile",
        help="Scoring profile (default: reference; with no runs, the latest report's).",
    ),
    bootstrap: int = typer.Option(
        1000, "--bootstrap", min=0, help="Resamples (across runs; 0: none)."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the resamples and sign flips."),
    task: str | None = typer.Option(None, "--task", "-t", help="Task, when not the recorded one."),
    gold_from: int | None = typer.Option(
        None, "--gold-from", help="When gold differs, score all against run N's (1 = first)."
    ),
    show_all: bool = typer.Option(False, "--all", help="Also list non-significant fields."),
    strip_fences: bool = typer.Option(
        False,
        "--strip-fences",
        help="Read the object inside ```json fences (strict; never reference).",
    ),
) -> None:
    """Every pair of models, aggregate and per field: paired difference, 95% CI, p-value,
    Holm-corrected verdict and minimum detectable difference.

    With no arguments, prints the pairwise table of the project's latest report (under
    --profile when given: the report keeps one table per profile). With run ids or model
    names, compares them on the examples they share (later minus earlier) and says which
    fields improved or regressed significantly."""
    from fieldwise.compare import compare_runs
    from fieldwise.scoring import PROFILES
    from fieldwise.scoring.profiles import GROUNDING_SUFFIX
    from fieldwise.store import Store

    if profile is not None and profile.removesuffix(GROUNDING_SUFFIX) not in PROFILES:
        raise UserError(f"unknown profile '{profile}'", hint=f"use one of {sorted(PROFILES)}")
    if refs:
        if gold_from is not None and not 1 <= gold_from <= len(refs):
            raise UserError(f"--gold-from must be between 1 and {len(refs)}")
        with Store(project) as store:
            result = compare_runs(
                store,
                list(refs),
                task=task,
                profile=profile or "reference",
                bootstrap=bootstrap,
                seed=seed,
                gold_from=None if gold_from is None else gold_from - 1,
                strip_fences=strip_fences,
            )
        data = result.to_json()
    else:
        data = _latest_table(project, profile)
    if as_json:
        print_json(data)
        return
    _print(data, show_all)


def _latest_table(project: Path, profile: str | None) -> dict[str, Any]:
    """The latest report's pairwise table: the ranking profile's (``pairwise.json``) by
    default, or ``profile``'s, which the report writes beside it for every profile."""
    from fieldwise import _legacy
    from fieldwise.report import pairwise_file

    latest = _legacy.project_dir(project) / "reports" / "latest.json"
    if not latest.is_file():
        raise UserError(
            f"no report in {project} yet", hint="run fieldwise run, or name two runs to compare"
        )
    report = Path(json.loads(latest.read_text(encoding="utf-8"))["report"])
    table = report.parent / "pairwise.json"
    if not table.is_file():
        raise UserError(f"{report.parent} has no pairwise.json", hint="rerun fieldwise run")
    data: dict[str, Any] = json.loads(table.read_text(encoding="utf-8"))
    if profile is None or data.get("profile") == profile:
        return data
    other = report.parent / pairwise_file(profile)
    if not other.is_file():
        kept = sorted(p.name for p in report.parent.glob("pairwise*.json"))
        raise UserError(
            f"the latest report has no pairwise table under profile '{profile}' "
            f"(it has {', '.join(kept)})",
            hint="rerun fieldwise run, or name the runs to compare",
        )
    data = json.loads(other.read_text(encoding="utf-8"))
    return data


def _print(data: dict[str, Any], show_all: bool) -> None:
    """One small table per pair, so that 80 columns hold every number whole: the pair
    and its row count head the table, the test behind each p-value is named once below."""
    from fieldwise.compare import table_rows
    from fieldwise.scoring.stats import AGGREGATE

    for warning in data.get("warnings", []):
        err_console.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)
    pairs, hidden = table_rows(data, show_all)
    groups = data["clusters"]
    console.print(
        f"{data.get('profile', '')} profile, {data['rows_scored']} rows"
        + (f" in {groups} groups" if groups != data["rows_scored"] else "")
        + f", {data['resamples']} resamples, Holm across {len(data['comparisons'])} tests"
        + ", Holm-level intervals",
        highlight=False,
    )
    for pair, rows in pairs.items():
        console.print()
        console.print(_pair_table(pair, rows))
    tests = {
        kind: sorted({c["test"] for c in data["comparisons"] if (c["target"] == AGGREGATE) == agg})
        for kind, agg in (("aggregate", True), ("fields", False))
    }
    console.print(
        "p: " + "; ".join(f"{kind} {', '.join(names)}" for kind, names in tests.items() if names),
        highlight=False,
    )
    if any("ci_holm" not in c for c in data["comparisons"]):
        console.print("this table predates Holm-adjusted intervals: rerun fieldwise run for them")
    if hidden:
        console.print(f"{hidden} field comparisons are not significant after correction (--all)")
    for change in data.get("changes", []):
        up = ", ".join(change["improved"]) or "nothing"
        down = ", ".join(change["regressed"]) or "nothing"
        console.print(Text(f"{change['to']} vs {change['from']}: improved {up}; regressed {down}"))
    mde = data["resolution"].get(AGGREGATE)
    if mde is not None:
        console.print(
            f"with {data['rows_scored']} rows, differences under {mde:.1f} points on the "
            "aggregate are not resolvable (80% power, α = 0.05; median over pairs)"
        )


def _pair_table(pair: str, rows: list[dict[str, str]]) -> Table:
    """One pair's comparisons. Numbers never wrap or shrink; a long field name wraps."""
    from fieldwise.compare import TABLE_COLUMNS

    sizes = sorted({row["n"] for row in rows})
    one_size = len(sizes) == 1
    title = Text(pair + (f" ({sizes[0]} rows)" if one_size else ""), style="bold")
    columns = [*TABLE_COLUMNS[:1], *([] if one_size else ["n"]), *TABLE_COLUMNS[1:]]
    table = Table(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        show_edge=False,
        collapse_padding=True,
    )
    for name in columns:
        table.add_column(
            name,
            justify="left" if name in ("target", "verdict") else "right",
            no_wrap=name != "target",
            overflow="fold",
        )
    styles = {"win": "green", "loss": "red"}
    for row in rows:
        table.add_row(*(Text(row[name]) for name in columns), style=styles.get(row["verdict"], ""))
    return table


def register(app: typer.Typer) -> None:
    app.command()(compare)
