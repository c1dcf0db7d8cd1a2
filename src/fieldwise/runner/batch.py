"""Run a model through its provider's batch API: half the price, no rate-limit fights.

The same examples, cache keys and stored rows as :func:`~fieldwise.runner.run_model`; only
the transport differs. The examples not yet in the store are encoded exactly as the
online requests, split to respect the provider's per-batch limits, and submitted. Each
batch id is committed to the store with the keys it covers the moment the provider
accepts it, so a killed run polls the same batch again instead of paying for a second
one. When a batch ends its results are parsed by the backend's own parser and stored,
and the batch is marked done, in one commit. Requests that failed, or that an expired
or cancelled batch never ran, are stored with their error and are the only ones the
next run sends again. The run holds the model's lock (``store/_lock.py``), as the
online runner does, so two processes never submit the same rows.

Never paying twice for a create (OpenAI, which takes an input file): the upload is
recorded before the create, and the time a create is sent is committed before it
leaves. A create that gets no answer (a timeout, a 5xx, a dropped connection) or a run
killed while it is in flight is never retried blindly: the provider's batch list is
searched for a batch made from that file, on every poll, until one is found (and
adopted) or ``confirm_s`` (10 minutes) has passed since the create was sent; only then
is another create sent. Only a 429, which says no batch was made, is retried at once.
The one remaining window: a create the provider takes longer than ``confirm_s`` to make
visible in its list. Anthropic takes the requests in the create itself and its list
names nothing to match them by, so a create whose answer is lost is not retried; its
rows get an error and the next run sends them again, which pays twice if the provider
had made that batch (see docs/backends-api.md, "Resume semantics").
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING, ClassVar, TypeVar

from fieldwise import registry
from fieldwise._hashing import content_hash
from fieldwise.errors import UserError
from fieldwise.models._model import Generation, Model, RetryableError
from fieldwise.models._responses import clean_generation
from fieldwise.models.batch import (
    BatchAPI,
    BatchState,
    UnconfirmedCreate,
    batch_api_for,
    with_retries,
)
from fieldwise.runner._job import Executor, Price, RunJob, RunOutcome, RunPlan, result_row
from fieldwise.runner._progress import Bar
from fieldwise.store import BatchRecord, PredictionRow
from fieldwise.tasks import Example

if TYPE_CHECKING:
    from fieldwise.config import ModelConfig


@dataclass(frozen=True)
class BatchSettings:
    """How batches are cut and watched; none of it changes outputs (so none is in keys).

    ``max_requests``/``max_bytes`` default to the provider's per-batch limits (OpenAI
    50,000 requests and 200 MB per file, Anthropic 100,000 requests and 256 MB);
    ``price`` is the batch price (the pipeline makes it half the online price unless the
    config sets one).
    """

    poll_s: float = 30.0
    max_requests: int | None = None
    max_bytes: int | None = None
    price: Price | None = None
    confirm_s: float = 600.0
    """After a create that got no answer (a timeout, a 5xx, a killed run), how long from
    when it was sent to keep looking for the batch it may have made before creating
    another from the same upload (providers that take an upload only: OpenAI)."""

    def __post_init__(self) -> None:
        if self.poll_s <= 0:
            raise UserError("the batch poll interval must be positive")
        if self.confirm_s < 0:
            raise UserError("the batch confirm time must not be negative")
        if (self.max_requests is not None and self.max_requests < 1) or (
            self.max_bytes is not None and self.max_bytes < 1
        ):
            raise UserError("batch limits must be positive")


BatchProgress = Callable[[int, str], None]
"""``(completed, note)``: examples done so far (cached ones included), and a short note
on the batches (their ids and states)."""

Item = tuple[str, Example, bytes]
T = TypeVar("T")


def split_batches(
    items: Iterable[Item], max_requests: int, max_bytes: int, too_big: list[Item] | None = None
) -> Iterator[list[Item]]:
    """Cut requests, in order, into batches within both limits, lazily (one batch's
    requests in memory at a time). A request larger than ``max_bytes`` on its own goes
    to ``too_big`` instead, for the caller to report."""
    current: list[Item] = []
    size = 0
    for item in items:
        n = len(item[2])
        if n > max_bytes:
            if too_big is not None:
                too_big.append(item)
            continue
        if current and (len(current) >= max_requests or size + n > max_bytes):
            yield current
            current, size = [], 0
        current.append(item)
        size += n
    if current:
        yield current


def _row(key: str, example_id: str, gen: Generation, price: Price | None) -> PredictionRow:
    """A stored row from a result, cleaned as the online runner cleans every result (its
    error redacted, see :func:`~fieldwise.models._responses.clean_generation`); a batch
    has no per-request latency."""
    return result_row(key, example_id, clean_generation(gen), price, latency=False)


class _Batches:
    """One job's batches: what is pending, which batches are open, what each has done."""

    def __init__(
        self,
        api: BatchAPI,
        job: RunJob,
        plan: RunPlan,
        batch: BatchSettings,
        on_progress: BatchProgress | None,
    ) -> None:
        self.api, self.store, self.plan, self.batch = api, job.store, plan, batch
        self.label, self.run_id = job.label, job.run_id
        self.retry = job.settings.retry
        self.on_progress = on_progress
        self.model_hash = content_hash(api.model.identity())
        self.done, self.pending = plan.done, plan.pending
        self.open = [
            b
            for b in job.store.open_batches(self.model_hash)
            if any(k in self.pending for k in b.requests)
        ]
        self.notes = {b.id: "resumed" for b in self.open}
        self.running: dict[str, int] = {}

    def report(self) -> None:
        if self.on_progress is None:
            return
        finished = sum(self.plan.copies[k] for k in self.pending if k in self.done)
        total = self.plan.cached + finished + sum(self.running.values())
        if len(self.notes) == 1:
            note = " ".join(next(iter(self.notes.items())))
        else:
            states = Counter(self.notes.values())
            note = f"{len(self.notes)} batches: " + ", ".join(f"{n} {s}" for s, n in states.items())
        self.on_progress(min(len(self.plan.keyed), total), note)

    def store_rows(self, rows: list[PredictionRow]) -> None:
        self.store.save_predictions(self.run_id, self.label, rows)
        self.done.update((r.key, r) for r in rows)

    def error_rows(self, requests: dict[str, str], message: str) -> list[PredictionRow]:
        """An error row for each of ``requests`` (key → example id)."""
        gen = Generation(None, error=message)
        return [_row(key, example_id, gen, None) for key, example_id in requests.items()]

    async def retrying(self, call: Callable[[], Awaitable[T]]) -> T:
        return await with_retries(call, self.retry.max_retries, self.retry.delay)

    async def submit_pending(self) -> None:
        """Submit every pending request that no open batch covers, batch by batch."""
        covered = {k for b in self.open for k in b.requests}
        fresh = ((k, ex) for k, ex in self.pending.items() if k not in covered)
        max_bytes = self.batch.max_bytes or self.api.max_bytes
        max_requests = self.batch.max_requests or self.api.max_requests
        items = ((k, ex, self.api.encode(k, ex)) for k, ex in fresh)
        too_big: list[Item] = []
        for chunk in split_batches(items, max_requests, max_bytes, too_big):
            await self.submit(chunk)
            self.report()
        if too_big:
            message = f"request larger than the batch size limit ({max_bytes} bytes)"
            self.store_rows(self.error_rows({k: ex.id for k, ex, _ in too_big}, message))

    async def submit(self, chunk: list[Item]) -> None:
        """Upload (where the provider takes a file) and create one batch; record it."""
        lines = [line for _, _, line in chunk]
        record = BatchRecord(
            id="",
            provider=self.api.provider,
            base_url=self.api.base_url,
            label=self.label,
            model_hash=self.model_hash,
            run_id=self.run_id,
            input_file_id=None,
            requests={k: ex.id for k, ex, _ in chunk},
        )
        try:
            file_id = await self.retrying(partial(self.api.upload, lines))
        except UserError:
            raise
        except Exception as exc:  # noqa: BLE001 - these rows' error; the next run retries
            message = f"uploading the batch failed: {type(exc).__name__}: {exc}"
            self.store_rows(self.error_rows(record.requests, message))
            return
        if file_id is not None:
            # From here on a kill loses nothing: the file names the batch, made or not.
            record = replace(
                record, id=f"upload:{file_id}", input_file_id=file_id, status="submitting"
            )
            self.store.add_batch(record)
            lines = []  # the file carries them
        await self.create(record, lines)

    async def create(self, record: BatchRecord, lines: list[bytes]) -> None:
        """Create the batch of ``record``: from its uploaded file (OpenAI), or from
        ``lines`` (Anthropic). A create that got no answer is never sent again blindly.
        With a file, the moment it is sent is committed first, and an unanswered one
        leaves the record open for :meth:`confirm` to find the batch made from the file.
        Without one nothing names the batch it may have made, so its rows get an error
        and the next run sends them again (the one window where a batch can be paid
        twice; see docs/backends-api.md)."""
        uploaded = record.input_file_id is not None
        if uploaded:
            sent = time.time()
            self.store.mark_create_sent(record.id, sent)
            record = replace(record, create_sent_at=sent)
        try:
            batch_id = await self.retrying(partial(self.api.create, lines, record.input_file_id))
        except UserError:
            raise
        except UnconfirmedCreate as exc:
            if uploaded:
                self.open.append(record)
                self.notes[record.id] = "confirming"
            else:
                self.fail_submission(record, f"{exc} (not retried, in case the batch was made)")
            return
        except Exception as exc:  # noqa: BLE001 - these rows' error; the next run retries
            self.fail_submission(record, f"creating the batch failed: {type(exc).__name__}: {exc}")
            return
        self.created(record, batch_id)

    async def confirm(self, record: BatchRecord) -> None:
        """Finish a submission that a lost answer or a killed run left ``submitting``:
        adopt the batch made from its file; create it only when no create was ever sent,
        or when the last one was sent longer ago than ``confirm_s`` and still no batch
        names the file. Until then it stays open and is looked for on every poll."""
        assert record.input_file_id is not None
        if record.create_sent_at is None:  # killed between the upload and the create
            self.open.remove(record)
            self.notes.pop(record.id, None)
            await self.create(record, [])
            return
        try:
            batch_id = await self.retrying(
                partial(self.api.find, record.input_file_id, record.create_sent_at)
            )
        except UserError:
            raise
        except RetryableError:
            return  # the provider is unreachable: look again at the next poll
        if batch_id is not None:
            self.open.remove(record)
            self.notes.pop(record.id, None)
            self.created(record, batch_id)
            return
        if time.time() - record.create_sent_at < self.batch.confirm_s:
            self.notes[record.id] = "confirming"
            return
        self.open.remove(record)
        self.notes.pop(record.id, None)
        await self.create(record, [])

    def created(self, record: BatchRecord, batch_id: str) -> None:
        if record.status == "submitting":
            self.store.set_batch_id(record.id, batch_id)
        else:
            self.store.add_batch(replace(record, id=batch_id))
        self.open.append(replace(record, id=batch_id, status="open"))
        self.notes[batch_id] = "submitted"

    def fail_submission(self, record: BatchRecord, message: str) -> None:
        rows = self.error_rows(record.requests, message)
        if record.status == "submitting":
            self.store.close_batch(record.id, "failed", self.run_id, self.label, rows)
            self.done.update((r.key, r) for r in rows)
        else:
            self.store_rows(rows)

    async def poll_open(self) -> None:
        """Poll the open batches until every one has ended and its results are stored."""
        while self.open:
            for record in list(self.open):
                if record.status == "submitting":
                    await self.confirm(record)
                    continue
                try:
                    state = await self.retrying(partial(self.api.poll, record.id))
                except RetryableError as exc:
                    raise UserError(
                        f"cannot reach the batch API to poll batch {record.id}: {exc}",
                        hint="rerun later: the batch id is stored and will be polled again",
                    ) from exc
                except UserError as exc:
                    if getattr(exc.__cause__, "status_code", None) != 404:
                        raise
                    # Deleted, or made with another account's key: its requests are
                    # stored as errors, so the next run sends them again.
                    missing = f"batch {record.id} is unknown to {self.api.base_url} (HTTP 404)"
                    state = BatchState("missing", True, 0, 0, error=missing)
                self.notes[record.id] = state.status
                mine = sum(1 for k in record.requests if k in self.pending)
                self.running[record.id] = min(mine, state.done)
                if state.ended:
                    await self.collect(record, state)
                self.report()
            if self.open:
                await asyncio.sleep(self.batch.poll_s)

    async def collect(self, record: BatchRecord, state: BatchState) -> None:
        """Store an ended batch's results, and an error for each request without one."""
        gens: dict[str, Generation] = {}
        if state.status != "missing":
            gens = await self.retrying(partial(self.api.results, state, record.id))
        missing = state.error or f"{self.api.unfinished_error} (batch {state.status})"
        # A key another run has meanwhile stored without error keeps that prediction.
        finished = self.store.finished(record.requests)
        rows = [
            _row(
                key, example_id, gens.get(key) or Generation(None, error=missing), self.batch.price
            )
            for key, example_id in record.requests.items()
            if key not in finished
        ]
        self.store.close_batch(record.id, state.status, self.run_id, self.label, rows)
        self.done.update(finished)
        self.done.update((r.key, r) for r in rows)
        self.open.remove(record)
        self.running.pop(record.id, None)

    def outcome(self) -> RunOutcome:
        failed = sum(1 for k in self.pending if self.done.get(k) is None or self.done[k].error)
        return self.plan.outcome(failed, missing="no result from the batch")


class BatchExecutor(Executor):
    """Through the provider's batch API (``batch: true``, ``--batch``): backends declare
    theirs in ``batch_api``."""

    name: ClassVar[str] = "batch"
    capability: ClassVar[str | None] = "batch_api"
    bar_suffix: ClassVar[str] = " (batch)"

    def __init__(self, settings: BatchSettings | None = None) -> None:
        self.settings = settings or BatchSettings()

    @classmethod
    def from_config(cls, config: ModelConfig) -> Executor:
        """The entry's ``batch:`` settings, at its batch price (by default half the
        online price, what OpenAI and Anthropic charge)."""
        cfg = config.batch_config
        price = None
        if config.price is not None:
            p = config.price
            price = Price(
                p.input_per_mtok / 2 if p.batch_input_per_mtok is None else p.batch_input_per_mtok,
                p.output_per_mtok / 2
                if p.batch_output_per_mtok is None
                else p.batch_output_per_mtok,
            )
        # The config's keys are the settings' names (poll_s, max_requests, ...).
        return cls(BatchSettings(**(cfg.model_dump() if cfg is not None else {}), price=price))

    def refusal(self, label: str, backend: type[Model]) -> UserError:
        return UserError(
            f"model '{label}' cannot run as a batch: provider '{backend.provider}' has no "
            "batch API",
            hint=f"batch works with {', '.join(registry.batch_apis)} models; drop batch/--batch",
        )

    def run(self, job: RunJob, bar: Bar) -> RunOutcome:
        """Ctrl-C stops polling; the batches go on at the provider and the next run picks
        them up. The bar's rate column shows each batch's id and state."""
        return asyncio.run(run_batch_job(job, self.settings, bar.show))


async def run_batch_async(
    job: RunJob,
    batch: BatchSettings | None = None,
    on_progress: BatchProgress | None = None,
    on_wait: Callable[[], None] | None = None,
) -> RunOutcome:
    """Predict every example of ``job`` not already in the store through the provider's
    batch API; return all rows in example order (see the module docstring for resume
    semantics). Repeats work as online: each repeat is its own request under its own key.
    Another process predicting with the same model on the same store is waited for
    (``on_wait`` is called once if so)."""
    async with job.locked(on_wait):
        return await run_batch_job(job, batch or BatchSettings(), on_progress)


async def run_batch_job(
    job: RunJob, batch: BatchSettings, on_progress: BatchProgress | None
) -> RunOutcome:
    """The batch engine on ``job``, with the model's lock already held. The model is
    closed afterwards. A :class:`UserError` (no key, key rejected, no batch API at that
    host) stops the run; the batches already submitted stay in the store."""
    api = batch_api_for(job.model)
    try:
        state = _Batches(api, job, job.plan(), batch, on_progress)
        state.report()
        await state.submit_pending()
        await state.poll_open()
    finally:
        await api.aclose()
    return state.outcome()


__all__ = ["BatchExecutor", "BatchSettings", "run_batch_async", "split_batches"]
