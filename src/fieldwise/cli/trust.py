"""``fieldwise trust``: can I trust this field? Grounding, calibrated confidence and
selective prediction per model and field, measured on rows the thresholds never saw."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import typer

from fieldwise.cli._common import console, err_console, print_json
from fieldwise.errors import UserError

RISK_HELP = "Target risk: the share of accepted values allowed to be wrong."


def trust(
    refs: list[str] = typer.Argument(
        None, help="Run ids or model names from the store; none: the latest report's numbers."
    ),
    project: Path = typer.Option(Path(".fieldwise"), "--project", help="Store directory."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    profile: str = typer.Option("reference", "--profile", help="Scoring profile (with runs)."),
    risk: float = typer.Option(0.05, "--risk", help=RISK_HELP),
    method: str = typer.Option("platt", "--calibration", help="platt or isotonic."),
    share: float = typer.Option(
        0.5, "--calibration-share", help="Share of rows (whole documents) to calibrate on."
    ),
    bootstrap: int = typer.Option(1000, "--bootstrap", help="Resamples for intervals (0: none)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the split and the resamples."),
    task: str | None = typer.Option(None, "--task", "-t", help="Task, when not the recorded one."),
) -> None:
    """Per model and field: grounded and hallucination rates, the confidence signal that
    ranks errors best, its calibration (ECE, Brier), AURC, and the coverage at a target
    risk, with the threshold chosen on a calibration split and the coverage and realised
    risk measured on the held-out rows (95% intervals).

    With no runs, prints what the latest report measured (its trust.json); with run ids
    or model names, assesses them from the store (see docs/confidence.md)."""
    if refs:
        settings = _settings(risk, method, share, bootstrap, seed)
        data = _from_store(project, list(refs), profile, settings, task)
    else:
        data = _latest(project)
    if as_json:
        print_json(data)
        return
    _print(data)


def _settings(risk: float, method: str, share: float, bootstrap: int, seed: int) -> Any:
    from fieldwise.trust._calibrate import METHODS
    from fieldwise.trust.confidence import TrustSettings

    if not 0 < risk < 1:
        raise UserError(f"--risk must be between 0 and 1, got {risk}")
    if method not in METHODS:
        raise UserError(f"unknown calibration '{method}'", hint=f"use one of {', '.join(METHODS)}")
    if not 0 < share < 1:
        raise UserError(f"--calibration-share must be between 0 and 1, got {share}")
    if bootstrap < 0:
        raise UserError("--bootstrap must be 0 or more")
    return TrustSettings(risk=risk, method=method, share=share, seed=seed, resamples=bootstrap)  # type: ignore[arg-type]


def _from_store(
    project: Path, refs: list[str], profile: str, settings: Any, task: str | None
) -> dict[str, Any]:
    from fieldwise.review.runs import assess_runs
    from fieldwise.scoring import PROFILES
    from fieldwise.store import Store

    if profile not in PROFILES:
        raise UserError(f"unknown profile '{profile}'", hint=f"use one of {sorted(PROFILES)}")
    with Store(project) as store:
        return assess_runs(store, refs, profile=profile, settings=settings, task=task)


def _latest(project: Path) -> dict[str, Any]:
    from fieldwise import _legacy

    latest = _legacy.project_dir(project) / "reports" / "latest.json"
    if not latest.is_file():
        raise UserError(
            f"no report in {project} yet", hint="run fieldwise run, or name runs to assess"
        )
    report = Path(json.loads(latest.read_text(encoding="utf-8"))["report"])
    path = report.parent / "trust.json"
    if not path.is_file():
        raise UserError(f"{report.parent} has no trust.json", hint="rerun fieldwise run")
    data = json.loads(path.read_text(encoding="utf-8"))
    confidence = data.get("confidence")
    if not isinstance(confidence, dict) or "models" not in confidence:
        raise UserError(
            "the latest report has no confidence numbers (made before fieldwise trust)",
            hint="rerun fieldwise run, or name runs to assess",
        )
    return confidence


def _pct(x: float | None, digits: int = 1) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.{digits}f}"


def _num(x: float | None) -> str:
    """Two decimals without the leading zero (the table must fit 80 columns)."""
    return "—" if x is None else f"{x:.2f}".removeprefix("0")


def _ci(pair: list[float | None]) -> str:
    return "" if pair[0] is None else f"{_pct(pair[0], 0)}-{_pct(pair[1], 0)}"


def _print(data: dict[str, Any]) -> None:
    from rich.table import Table

    risk = data.get("risk")
    for label, model in data["models"].items():
        rows = model.get("rows", {})
        console.print(
            f"[bold]{label}[/]: {data.get('profile')} profile; calibrated ({data.get('method')})"
            f" on {rows.get('calibration', '?')} rows, measured on {rows.get('held_out', '?')} "
            f"held-out rows; values accepted at {_pct(risk)}% risk (cov) and the risk realised; "
            f"grounded {_pct(model.get('grounded_rate'))}%, hallucinated "
            f"{_pct(model.get('hallucination_rate'))}% of required fields' values",
            highlight=False,
        )
        table = Table(title_justify="left", pad_edge=False, box=None)
        table.add_column("field", overflow="fold")
        table.add_column("signal", no_wrap=True)
        for name in ("ECE", "AURC", "thr", "cov%", "CI", "risk%", "CI"):
            table.add_column(name, justify="right", no_wrap=True)
        table.add_column("grnd%", justify="right", no_wrap=True)
        table.add_column("hall%", justify="right", no_wrap=True)
        for path, p in model["paths"].items():
            car = p["coverage_at_risk"]
            table.add_row(
                path,
                p["signal"] or "none",
                _num(p["ece"]),
                _num(p["aurc"]),
                _num(car["threshold"]),
                _pct(car["coverage"], 0),
                _ci(car["ci"]["coverage"]),
                _pct(car["realised_risk"], 0),
                _ci(car["ci"]["realised_risk"]),
                _pct(p.get("grounded_rate"), 0),
                _pct(p.get("hallucination_rate"), 0),
            )
        console.print(table)
    err_console.print(
        "threshold: chosen on the calibration rows (risk at most the target with 95% "
        "confidence); coverage and realised risk measured on the held-out rows, 95% CIs; "
        "--json for Brier, curves and every signal"
    )
    unreached = [
        path
        for model in data["models"].values()
        for path, p in model["paths"].items()
        if p["coverage_at_risk"]["threshold"] is None
    ]
    if unreached and isinstance(risk, float) and 0 < risk < 1:
        # With no error among n accepted values the bound is 1 - delta^(1/n).
        delta = 1 - float(data.get("confidence_level", 0.95))
        least = math.ceil(math.log(delta) / math.log(1 - risk))
        err_console.print(
            f"[yellow]note:[/] {len(unreached)} field(s) have no threshold (—): none keeps "
            f"the risk under {_pct(risk)}% with 95% confidence on the calibration rows, "
            f"which takes at least {least} accepted calibration values; label more rows, "
            "or raise --risk"
        )


def register(app: typer.Typer) -> None:
    app.command()(trust)
