"""``fieldwise loadtest``: throughput, latency, TTFT and accuracy under load."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from fieldwise.cli._common import console, err_console, parse_options, print_json
from fieldwise.errors import UserError

OPTION_HELP = "Backend option as key=value (repeatable), e.g. --option base_url=http://..."


def loadtest(
    model: str = typer.Option(..., "--model", "-m", help="Model spec, e.g. openai/NAME."),
    task: str = typer.Option("isaf", "--task", "-t", help="Task name, module:attr or file.py."),
    data: str = typer.Option(..., "--data", "-d", help="Examples to replay (file or hub:...)."),
    concurrency: str | None = typer.Option(
        None, "--concurrency", help="Closed-loop levels: clients in flight, e.g. 1,4,16."
    ),
    rate: str | None = typer.Option(
        None, "--rate", help="Open-loop levels: Poisson arrivals per second, e.g. 5,10."
    ),
    requests: int | None = typer.Option(
        None, "--requests", "-n", help="Requests per level (default 200, cycling the data)."
    ),
    stream: bool = typer.Option(False, "--stream", help="Stream: measure TTFT and TPOT."),
    constrained: str | None = typer.Option(
        None, "--constrained", help="Schema-constrained decoding: on, off, or on,off for both."
    ),
    latency_target: float | None = typer.Option(
        None, "--latency-target", help="Seconds: also report goodput (docs/s answered in time)."
    ),
    option: list[str] = typer.Option(None, "--option", help=OPTION_HELP),
    train: str | None = typer.Option(None, "--train", help="Train split for few-shot prompts."),
    warmup: int | None = typer.Option(
        None,
        "--warmup",
        help="Unmeasured requests per level (default: its concurrency, or one second of arrivals).",
    ),
    timeout: float = typer.Option(120.0, "--timeout", help="Seconds before a request fails."),
    seed: int = typer.Option(0, "--seed", help="Seed of the open-loop arrival times."),
    profile: str = typer.Option("reference", "--profile", help="Scoring profile for accuracy."),
    name: str | None = typer.Option(None, "--name", help="Label in the store (default: spec)."),
    project: Path = typer.Option(Path(".fieldwise"), "--project", help="Store directory."),
    as_json: bool = typer.Option(False, "--json", help="Print the results as one JSON object."),
) -> None:
    """Replay a task's examples against a model at several loads; measure speed and
    accuracy together.

    Closed loop (--concurrency): N clients each send their next request when answered.
    Open loop (--rate): requests arrive at random (Poisson) times, so queueing shows.
    Default: --concurrency 1,4,16. Results are stored with the model and a run id, and
    the report's deploy view uses them."""
    from fieldwise.loadtest import LoadTestConfig, run_loadtest
    from fieldwise.scoring import PROFILES

    if profile not in PROFILES:
        raise UserError(f"unknown profile '{profile}'", hint=f"use one of {sorted(PROFILES)}")
    if warmup is not None and warmup < 0:
        raise UserError("--warmup must be 0 or more")
    cfg = LoadTestConfig(
        spec=model,
        task=task,
        data=data,
        concurrency=[int(v) for v in _values(concurrency, "--concurrency", int)],
        rates=[float(v) for v in _values(rate, "--rate", float)],
        requests=requests,
        stream=stream,
        constrained=[str(v) for v in _values(constrained, "--constrained", str)],
        options=parse_options(option),
        train=train,
        latency_target_s=latency_target,
        warmup=warmup,
        timeout_s=timeout,
        seed=seed,
        profile=profile,
        label=name,
        project=project,
    )
    with _progress() as progress:
        result = run_loadtest(cfg, progress)
    for level in result["levels"]:
        health = level["generator"]
        if health["saturated"]:
            err_console.print(
                f"[yellow]warning:[/] the load generator was saturated at {_level(level)}: "
                f"{health['why']}; its numbers understate the server",
                highlight=False,
            )
    if as_json:
        print_json(result)
        return
    _print(result)


def _values(text: str | None, option: str, kind: Callable[[str], Any]) -> list[Any]:
    if text is None:
        return []
    try:
        return [kind(part.strip()) for part in text.split(",") if part.strip()]
    except ValueError:
        raise UserError(
            f"bad {option} '{text}'", hint=f"write a list, e.g. {option} 1,4,16"
        ) from None


@contextmanager
def _progress() -> Iterator[Callable[[str, int], Callable[[], None]]]:
    """A progress bar per level on stderr, redrawn at most every 50 ms: the ticks run on
    the load generator's thread, whose CPU per request is what it reports."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    bars = Progress(
        "{task.description}", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=err_console, transient=False,
    )  # fmt: skip
    open_tasks: list[tuple[Any, int]] = []

    def finish() -> None:
        for task_id, total in open_tasks:
            bars.update(task_id, completed=total)
        open_tasks.clear()

    def start(description: str, total: int) -> Callable[[], None]:
        finish()
        task_id = bars.add_task(description, total=total)
        open_tasks.append((task_id, total))
        state = {"done": 0, "shown": 0.0}

        def tick() -> None:
            state["done"] += 1
            now = time.monotonic()
            if now - state["shown"] > 0.05:
                state["shown"] = now
                bars.update(task_id, completed=state["done"])

        return tick

    with bars:
        yield start
        finish()


def _level(level: dict[str, Any]) -> str:
    if level["rate"] is not None:
        return f"{level['rate']:g} req/s"
    return f"concurrency {level['concurrency']}"


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value * 1000:,.0f}"


def _fmt(value: float | None, digits: int) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


_COLUMNS: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
    ("level", _level),
    ("constrained", lambda lv: {True: "on", False: "off", None: "—"}[lv["constrained"]]),
    ("requests", lambda lv: str(lv["requests"])),
    ("docs/s", lambda lv: _fmt(lv["throughput_docs_s"], 2)),
    ("goodput/s", lambda lv: _fmt(lv.get("goodput_docs_s"), 2)),
    ("tokens/s", lambda lv: _fmt(lv["output_tokens_s"], 0)),
    ("p50 ms", lambda lv: _ms(lv["latency_s"]["p50"])),
    ("p95 ms", lambda lv: _ms(lv["latency_s"]["p95"])),
    ("p99 ms", lambda lv: _ms(lv["latency_s"]["p99"])),
    ("TTFT p50", lambda lv: _ms(lv["ttft_s"]["p50"])),
    ("TTFT p95", lambda lv: _ms(lv["ttft_s"]["p95"])),
    ("TPOT p50", lambda lv: _ms(lv["tpot_s"]["p50"])),
    ("errors", lambda lv: str(lv["errors"])),
    ("valid", lambda lv: "—" if lv["valid"] is None else f"{lv['valid']:.0%}"),
    ("accuracy", lambda lv: _fmt(lv["accuracy"], 1)),
    ("CPU ms/req", lambda lv: _fmt(lv["client_cpu_ms_per_request"], 2)),
]


def _print(result: dict[str, Any]) -> None:
    """One row per level; columns that say nothing for this run (no streaming, no
    latency target, no constrained switch) left out."""
    levels = result["levels"]
    table = Table(title=f"{result['label']} on {result['task']}", title_justify="left")
    shown = [
        (head, cell)
        for head, cell in _COLUMNS
        if head in ("level", "requests") or any(cell(lv) != "—" for lv in levels)
    ]
    for head, _ in shown:
        table.add_column(head, justify="left" if head == "level" else "right", no_wrap=True)
    for lv in levels:
        table.add_row(*(cell(lv) for _, cell in shown))
    console.print(table)
    runs = sorted({lv["run"] for lv in levels})
    console.print(f"stored as run {', '.join(map(str, runs))} (fieldwise store runs)")


def register(app: typer.Typer) -> None:
    app.command()(loadtest)
