"""``fieldwise finetune`` and ``fieldwise serve``: make models, then put them online.

``finetune`` takes any mix of local (LoRA/QLoRA) and hosted configs; a config that names
a ``provider`` is a hosted job. Every config is validated before the first one trains, so
a typo in the last file fails in a second, not after hours. Each finished model is
registered in the project's store under its ``name``, so ``fieldwise run`` can list it
by name alone.
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from fieldwise.cli._common import err_console
from fieldwise.errors import UserError

if TYPE_CHECKING:
    from fieldwise.finetune.config import FinetuneConfig
    from fieldwise.finetune.hosted import HostedFinetuneConfig, HostedResult
    from fieldwise.finetune.local import FinetuneResult

PROJECT = typer.Option(
    Path(".fieldwise"), "--project", help="Store directory the models are registered in."
)


def _is_hosted(path: Path) -> bool:
    from fieldwise.config import load_yaml_mapping
    from fieldwise.finetune.hosted import is_hosted_config

    return is_hosted_config(load_yaml_mapping(path))


def finetune(
    configs: list[Path] = typer.Argument(..., help="Fine-tuning YAML file(s), run in order."),
    project: Path = PROJECT,
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress output."),
    cancel: bool = typer.Option(
        False, "--cancel", help="Cancel the hosted job(s) these configs started, instead."
    ),
) -> None:
    """Fine-tune one model per config (local LoRA/QLoRA or a hosted job) and register each.

    A hosted job is recorded under --project before anything is paid for: rerunning the
    same command (even after kill -9) resumes it instead of starting another."""
    from fieldwise.finetune.config import load_config
    from fieldwise.finetune.hosted import (
        cancel_hosted_job,
        load_hosted_config,
        run_hosted_finetune,
    )
    from fieldwise.finetune.local import check_unique, run_finetune
    from fieldwise.store import Store

    if len(set(configs)) != len(configs):
        raise UserError("the same config is given twice")

    hosted_cfgs: dict[Path, HostedFinetuneConfig] = {}
    local_cfgs: dict[Path, FinetuneConfig] = {}
    for path in configs:
        if _is_hosted(path):
            hosted_cfgs[path] = load_hosted_config(path)
        else:
            local_cfgs[path] = load_config(path)
    check_unique(list(local_cfgs.items()))
    state_dir = project / "hosted"
    if cancel:
        if local_cfgs:
            raise UserError(f"--cancel stops hosted jobs; {next(iter(local_cfgs))} is local")
        for cfg in hosted_cfgs.values():
            cancel_hosted_job(cfg, console=err_console, state_dir=state_dir)
        return
    for index, path in enumerate(configs, 1):
        if not quiet:
            err_console.print(f"[bold][{index}/{len(configs)}][/] {path}")
        result: HostedResult | FinetuneResult
        extra: dict[str, str] = {}
        if path in hosted_cfgs:
            result = run_hosted_finetune(
                hosted_cfgs[path], progress=not quiet, console=err_console, state_dir=state_dir
            )
            note = f"hosted job {result.job_id} on {result.provider}"
            extra = {f"{result.label}-{kind}": spec for kind, spec in result.adapter_specs.items()}
        else:
            # Trainers print their log dicts to stdout; stdout carries only the results.
            with contextlib.redirect_stdout(sys.stderr):
                result = run_finetune(local_cfgs[path], progress=not quiet)
            note = f"LoRA of {result.base_model}; run card in {result.output_dir}"
        options = getattr(result, "options", None)  # a hosted model's base URL, key variable
        with Store(project) as store:
            store.register_model(result.label, result.spec, result.kind, options, note=note)
            for label, spec in extra.items():
                store.register_model(label, spec, "finetune", note=f"{note}, downloaded adapter")
        print(json.dumps({"label": result.label, "spec": result.spec, "kind": result.kind}))
        for label, spec in extra.items():
            print(json.dumps({"label": label, "spec": spec, "kind": "finetune"}))


def serve(
    base: str = typer.Option(..., "--base", help="Base model: a local folder or a Hub name."),
    adapter: list[str] = typer.Option(
        None, "--adapter", help="A LoRA adapter as NAME=DIR (repeatable)."
    ),
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8000, "--port"),
    max_batch_size: int = typer.Option(8, "--max-batch-size", min=1),
    batch_window_ms: float = typer.Option(15.0, "--batch-window-ms", min=0.0),
    max_request_seconds: float = typer.Option(
        120.0,
        "--max-request-seconds",
        min=0.001,
        help="Most generation time one request may take; it then ends as 'length'.",
    ),
    base_name: str | None = typer.Option(None, "--name", help="Model name of the bare base."),
    device: str | None = typer.Option(None, "--device", help="cpu, cuda, cuda:1 ..."),
    tokenizer: str | None = typer.Option(None, "--tokenizer", help="Tokenizer folder."),
    max_schema_bytes: int = typer.Option(
        65536, "--max-schema-bytes", min=1, help="Largest response_format schema (compact JSON)."
    ),
    max_schema_complexity: int = typer.Option(
        10000,
        "--max-schema-complexity",
        min=1,
        help="Highest estimated compile cost of a schema (about 1 ms each; docs/serving.md).",
    ),
    max_schema_branches: int = typer.Option(
        256, "--max-schema-branches", min=1, help="Most choices in one anyOf/oneOf/enum."
    ),
    compile_workers: int = typer.Option(
        2, "--compile-workers", min=1, help="Threads that compile response_format schemas."
    ),
    compile_timeout: float = typer.Option(
        30.0,
        "--compile-timeout",
        min=0.001,
        help="Seconds a schema may wait for a compile slot, and may take to compile.",
    ),
) -> None:
    """Serve a base model and its LoRA adapters behind one OpenAI-compatible endpoint.

    Requests default to temperature 0 (greedy, reproducible), where OpenAI's API
    defaults to 1; send temperature explicitly to sample.
    """
    from fieldwise.models._local import check_adapter_folder
    from fieldwise.serve import SchemaLimits, parse_adapters
    from fieldwise.serve import serve as run_server

    adapters = parse_adapters(adapter or [])
    for name, path in adapters.items():  # in a second, before torch is even imported
        check_adapter_folder(path, f"adapter '{name}': ")
    run_server(
        host,
        port,
        base,
        adapters,
        max_batch_size=max_batch_size,
        batch_window_ms=batch_window_ms,
        max_request_s=max_request_seconds,
        base_name=base_name,
        device=device,
        tokenizer=tokenizer,
        schema_limits=SchemaLimits(max_schema_bytes, max_schema_complexity, max_schema_branches),
        compile_workers=compile_workers,
        compile_timeout_s=compile_timeout,
    )


def register(app: typer.Typer) -> None:
    app.command("finetune")(finetune)
    app.command("serve")(serve)
