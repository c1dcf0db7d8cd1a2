"""The provider-neutral hosted fine-tuning loop, safe against ``kill -9``.

Order of events, each one written to the job record (:mod:`fieldwise.finetune.jobs`)
before the next starts:

1. the training file is checked locally and uploaded (its id recorded);
2. the cost is estimated (the service's estimate, or tokens x ``price_per_mtok``) and
   checked against ``max_cost_usd``;
3. the create: the time it is sent is recorded first, the job id the moment it returns
   (before the first wait). A create whose answer never came (timeout, kill) is not
   sent again blindly: the service's job list is searched for the job made from the
   uploaded file and that job is adopted; only after ``confirm_s`` with nothing found is
   another create sent. A service that takes caller-chosen job ids (Fireworks) gets the
   id derived from the job key, recorded before the create, so the same create sent
   twice makes one job;
4. the wait: status and events polled with a progress bar, the record updated after
   every poll; Ctrl-C leaves the job running and says how to resume or cancel;
5. the end: the real cost (what the service billed, else the estimate, marked as such),
   the runnable spec, and where the service allows it the LoRA adapter downloaded and
   offered as ``hf/BASE:ADAPTER`` and ``vllm/BASE:ADAPTER``.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from fieldwise.errors import UserError
from fieldwise.finetune.hosted import (
    HostedFinetuneConfig,
    HostedResult,
    _export_training_file,
    check_training_file,
)
from fieldwise.finetune.jobs import JobRecord, file_digest, job_key
from fieldwise.finetune.providers import (
    TERMINAL_STATES,
    CostEstimate,
    HostedProvider,
    JobEvent,
    JobStatus,
    ProviderSettings,
    get_provider,
)

__all__ = ["cancel", "run"]


class _Display:
    """A live status line with a progress bar (when the service reports progress) and
    the elapsed time, with event lines printed above it."""

    def __init__(self, console: Console | None, title: str) -> None:
        self.console = console
        self.title = title
        self.live: Live | None = None
        self.started = time.monotonic()
        self.last: JobStatus | None = None

    def __enter__(self) -> _Display:
        if self.console is not None:
            self.live = Live(self, console=self.console, refresh_per_second=4)
            self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.__exit__(None, None, None)

    def __rich__(self) -> RenderableType:
        elapsed = int(time.monotonic() - self.started)
        line = Text.assemble((f"{self.title} ", "bold"))
        status = self.last
        if status is not None:
            tokens = f"{status.trained_tokens:,}" if status.trained_tokens else "-"
            line.append(f"[{status.raw_status}]", style="cyan")
            line.append(f"  job {status.job_id}  trained tokens {tokens}")
            if status.cost_usd is not None:
                line.append(f"  {usd(status.cost_usd)}")
        line.append(f"  {elapsed // 60}m{elapsed % 60:02d}s", style="dim")
        if status is None or status.progress is None:
            return line
        grid = Table.grid(padding=(0, 1))
        grid.add_row(
            ProgressBar(total=1.0, completed=min(1.0, status.progress), width=40),
            Text(f"{100 * status.progress:5.1f}%"),
        )
        return Group(line, grid)

    def note(self, message: str) -> None:
        if self.console is not None:
            self.console.print(Text(message))

    def event(self, event: JobEvent) -> None:
        stamp = time.strftime("%H:%M:%S", time.localtime(event.created_at))
        style = "red" if event.level == "error" else "dim" if event.level == "debug" else ""
        if self.console is not None:
            self.console.print(Text(f"{stamp} {event.message}", style=style))

    def status(self, status: JobStatus) -> None:
        self.last = status
        if self.live is not None:
            self.live.refresh()


def _provider(config: HostedFinetuneConfig) -> HostedProvider:
    cls = get_provider(config.provider)
    cls.check_hyperparameters(config.hyperparameters)
    settings = ProviderSettings(
        api_key_env=config.api_key_env or cls.default_key_env, base_url=config.base_url
    )
    return cls(settings)


def _state_dir(config: HostedFinetuneConfig, state_dir: Path | None) -> Path:
    return state_dir or config.output_dir or Path(".fieldwise") / "hosted"


def _record(
    config: HostedFinetuneConfig, state_dir: Path | None, display: _Display | None
) -> tuple[JobRecord, Path | None]:
    """The job record of this config (its training file exported and checked first), or
    of ``job_id:`` when the config names one."""
    where = _state_dir(config, state_dir)
    common = {"provider": config.provider, "base_model": config.base_model,
              "base_url": config.base_url, "label": config.label}  # fmt: skip
    if config.job_id:
        path = where / f"{config.provider}-job-{_safe(config.job_id)}.json"
        record = JobRecord.load(path, key=f"job-{config.job_id}", **common)
        record.job_id = config.job_id
        return record, None
    work = config.output_dir or Path(tempfile.mkdtemp(prefix="fieldwise-hosted-"))
    work.mkdir(parents=True, exist_ok=True)
    fmt = get_provider(config.provider).training_format
    path = config.training_file or _export_training_file(config, work, fmt)
    rows = check_training_file(path, fmt)
    digest = file_digest(path)
    key = job_key(
        provider=config.provider, base_url=config.base_url, base_model=config.base_model,
        data=digest, hyperparameters=config.hyperparameters, suffix=config.suffix,
        seed=config.seed, label=config.label,
    )  # fmt: skip
    record = JobRecord.load(where / f"{config.provider}-{key}.json", key=key, **common)
    if record.file_digest not in (None, digest):  # cannot happen with the key; be sure
        record.file_id = None
    record.file_digest, record.rows = digest, rows
    return record, path


def run(
    config: HostedFinetuneConfig,
    *,
    progress: bool = True,
    console: Console | None = None,
    state_dir: Path | None = None,
) -> HostedResult:
    provider = _provider(config)
    display_console = (console or Console(stderr=True)) if progress else None
    title = f"{config.provider} fine-tune of {config.base_model}"
    try:
        with _Display(display_console, title) as display:
            record, path = _record(config, state_dir, display)
            if record.state == "succeeded" and record.result:
                display.note(f"job {record.job_id} already finished; its model is reused")
                return HostedResult(**record.result)
            if record.state in ("failed", "cancelled") and not config.job_id:
                display.note(f"job {record.job_id} {record.state}; starting a new one")
                record.start_over()
                if not provider.remote_upload:
                    record.file_id = None
            provider.state = record.provider_state
            needs_create = record.job_id is None or (
                provider.client_job_ids and record.state == "new"
            )
            if path is not None and needs_create:
                _start(provider, record, path, config, display)
            final = _wait(provider, record, config, display)
            return _finish(provider, record, final, config, display, state_dir)
    finally:
        provider.close()


def _start(
    provider: HostedProvider,
    record: JobRecord,
    path: Path,
    config: HostedFinetuneConfig,
    display: _Display,
) -> None:
    """Upload (once), estimate, and create the job (once), recording each step."""
    if record.file_id is None:
        record.file_id = provider.upload(path)
        record.save()
        display.note(f"uploaded {path.name} ({record.rows} examples) as {record.file_id}")
    if record.estimate_source is None:
        estimate = provider.estimate(
            base_model=config.base_model, training_file_id=record.file_id, path=path,
            hyperparameters=config.hyperparameters,
        )  # fmt: skip
        if estimate.usd is None and config.price_per_mtok and estimate.tokens:
            usd = estimate.tokens * config.price_per_mtok / 1e6
            estimate = CostEstimate(usd, "tokens x price_per_mtok", estimate.tokens)
        record.estimate_usd, record.estimate_source = estimate.usd, estimate.source
        record.save()
    display.note(CostEstimate(record.estimate_usd, record.estimate_source or "").text())
    _check_budget(record, config)
    lost = record.create_sent_at is not None and not provider.client_job_ids
    if lost and not provider.free_create and _adopt(provider, record, config, display):
        return
    record.create_sent_at = time.time()
    attempt = record.key + (f"-{len(record.previous_jobs)}" if record.previous_jobs else "")
    if provider.client_job_ids:
        record.job_id = provider.planned_job_id(attempt)
    record.save()  # from here on a job may exist
    # job_key only for services that take caller-chosen ids: a plugin provider written
    # before it existed keeps its create(base_model, training_file_id, ...) signature
    named = {"job_key": attempt} if provider.client_job_ids else {}
    job_id = provider.create(
        base_model=config.base_model, training_file_id=record.file_id, suffix=config.suffix,
        hyperparameters=config.hyperparameters, seed=config.seed, **named,
    )  # fmt: skip
    record.job_id, record.state = job_id, "created"
    record.save()  # committed before the first wait
    display.note(f"created job {job_id}")


def _check_budget(record: JobRecord, config: HostedFinetuneConfig) -> None:
    cap = config.max_cost_usd
    if cap is None:
        return
    if record.estimate_usd is None:
        raise UserError(
            f"max_cost_usd is {cap:g} but this job's cost is unknown ({record.estimate_source})",
            hint="set price_per_mtok to estimate it, or drop max_cost_usd",
        )
    if record.estimate_usd > cap:
        raise UserError(
            f"the job is estimated at {usd(record.estimate_usd)}, above max_cost_usd {cap:g}",
            hint="raise max_cost_usd, or train on fewer rows or epochs",
        )


def _adopt(
    provider: HostedProvider, record: JobRecord, config: HostedFinetuneConfig, display: _Display
) -> bool:
    """A create was sent before and its answer lost: adopt the job it made, if visible.
    Refuse to create again until ``confirm_s`` has passed with no such job."""
    assert record.create_sent_at is not None and record.file_id is not None
    try:
        found = provider.find_job(record.file_id, record.create_sent_at - 300)
    except NotImplementedError:
        raise UserError(
            f"a create sent at {_when(record.create_sent_at)} got no answer and "
            f"{provider.name} cannot be searched for the job it may have made",
            hint="find the job in the service's console and set job_id: in the config",
        ) from None
    if found is not None:
        record.job_id, record.state = found, "created"
        record.save()
        display.note(f"adopted job {found}, made by a create whose answer was lost")
        return True
    waited = time.time() - record.create_sent_at
    if waited < config.confirm_s:
        raise UserError(
            f"a create sent {waited:.0f}s ago got no answer and no job from it is visible "
            "yet; not creating another in case it was made",
            hint=f"rerun after {config.confirm_s - waited:.0f}s (confirm_s) to create one",
        )
    display.note(f"no job from the create sent {waited:.0f}s ago; creating one")
    return False


def _wait(
    provider: HostedProvider, record: JobRecord, config: HostedFinetuneConfig, display: _Display
) -> JobStatus:
    job_id = record.job_id
    assert job_id is not None
    seen: set[str] = set()
    deadline = time.monotonic() + config.timeout_s if config.timeout_s else None
    resume = (
        f"rerun the same command (or set job_id: {job_id}) to resume waiting; "
        "fieldwise finetune --cancel CONFIG stops it"
    )
    interval = provider.poll_interval(config.poll_interval_s)
    try:
        while True:
            status = provider.status(job_id)
            for event in provider.events(job_id):
                if event.id not in seen:
                    seen.add(event.id)
                    display.event(event)
            if status.job_id != job_id:  # a provider that had to restart it (Tinker)
                job_id = record.job_id = status.job_id
            record.state, record.raw_status = status.state, status.raw_status
            record.progress, record.cost_usd = status.progress, status.cost_usd
            record.provider_state = provider.state
            record.save()
            display.status(status)
            if status.done:
                return status
            if deadline is not None and time.monotonic() >= deadline:
                raise UserError(
                    f"job {job_id} still {status.raw_status} after {config.timeout_s:g}s",
                    hint=resume,
                )
            if interval > 0:
                time.sleep(interval)
    except KeyboardInterrupt as exc:
        record.provider_state = provider.state
        record.save()
        raise UserError(f"stopped waiting; job {job_id} keeps running", hint=resume) from exc


def _finish(
    provider: HostedProvider,
    record: JobRecord,
    final: JobStatus,
    config: HostedFinetuneConfig,
    display: _Display,
    state_dir: Path | None,
) -> HostedResult:
    job_id = final.job_id
    if final.state != "succeeded":
        record.error = final.error or "no reason given"
        record.save()
        raise UserError(f"fine-tuning job {job_id} {final.state}: {record.error}")
    runnable = provider.result_spec(final)
    if final.cost_usd is not None:
        cost, source = final.cost_usd, "service"
    elif final.trained_tokens and config.price_per_mtok:  # a per-token bill, counted here
        cost, source = final.trained_tokens * config.price_per_mtok / 1e6, "service"
    elif record.estimate_usd is not None:
        cost, source = record.estimate_usd, "estimate"
    else:
        cost, source = None, "unknown"
    display.note(
        f"cost: {usd(cost)} ({provider.cost_label if source == 'service' else 'estimated'})"
        if cost is not None
        else "cost: unknown (the service reports none)"
    )
    adapter, specs = None, {}
    if config.download_adapter:
        dest = _state_dir(config, state_dir) / f"{config.provider}-{record.key}-adapter"
        adapter = _download(provider, final, dest, display)
        if adapter is not None:
            base = config.adapter_base or adapter_base_model(adapter)
            specs = {"hf": f"hf/{base}:{adapter}", "vllm": f"vllm/{base}:{adapter}"}
    result = HostedResult(
        label=config.label or runnable.spec.partition("/")[2],
        spec=runnable.spec,
        job_id=job_id,
        provider=config.provider,
        base_model=config.base_model,
        trained_tokens=final.trained_tokens,
        options=dict(runnable.options),
        cost_usd=cost,
        cost_source=source,
        estimated_usd=record.estimate_usd,
        adapter_dir=str(adapter) if adapter else None,
        adapter_specs=specs,
    )
    record.result = asdict(result)
    record.save()
    if config.output_dir is not None:
        import json

        config.output_dir.mkdir(parents=True, exist_ok=True)
        out = config.output_dir / "hosted_model.json"
        out.write_text(json.dumps(asdict(result), indent=2) + "\n", encoding="utf-8")
    return result


def _download(
    provider: HostedProvider, final: JobStatus, dest: Path, display: _Display
) -> Path | None:
    if (dest / "adapter_config.json").is_file():
        return dest
    tmp = dest.with_name(dest.name + ".part")
    import shutil

    shutil.rmtree(tmp, ignore_errors=True)
    got = provider.download_adapter(final, tmp)
    if got is None:
        shutil.rmtree(tmp, ignore_errors=True)
        return None
    if not (got / "adapter_config.json").is_file():
        raise UserError(f"the adapter {provider.name} sent has no adapter_config.json")
    shutil.rmtree(dest, ignore_errors=True)
    got.rename(dest)
    display.note(f"downloaded the adapter to {dest}")
    return dest


def adapter_base_model(adapter: Path) -> str:
    """The Hugging Face base an adapter names (PEFT's ``base_model_name_or_path``)."""
    import json

    data = json.loads((adapter / "adapter_config.json").read_text(encoding="utf-8"))
    base = data.get("base_model_name_or_path")
    if not isinstance(base, str) or not base:
        raise UserError(f"{adapter}/adapter_config.json names no base model")
    return base


def cancel(
    config: HostedFinetuneConfig, *, console: Console | None = None, state_dir: Path | None = None
) -> str:
    """Cancel the job this config started; refuse when it never started one."""
    provider = _provider(config)
    try:
        record, _ = _record(config, state_dir, None)
        if record.job_id is None:
            raise UserError(
                "this config has not started a job here; nothing to cancel",
                hint="set job_id: to cancel a job started elsewhere",
            )
        if record.state in TERMINAL_STATES:
            raise UserError(f"job {record.job_id} already {record.state}")
        provider.state = record.provider_state
        provider.cancel(record.job_id)
        status = provider.status(record.job_id)
        record.state, record.raw_status = status.state, status.raw_status
        record.provider_state = provider.state
        record.save()
        if console is not None:
            console.print(f"job {record.job_id}: {status.raw_status}")
        return record.job_id
    finally:
        provider.close()


def usd(amount: float) -> str:
    """Dollars with cents, or four significant digits under a dollar (tests cost cents)."""
    return f"${amount:,.2f}" if amount >= 1 else f"${amount:.4g}"


def _when(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch))


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)[:80]
