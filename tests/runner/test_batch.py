"""The batch path (``batch: true`` / ``--batch``) against the fake batch APIs over real HTTP,
through the real ``openai`` and ``anthropic`` SDKs."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from fieldwise._hashing import content_hash, prediction_key
from fieldwise.config import BatchConfig, ModelConfig, PriceConfig
from fieldwise.errors import UserError
from fieldwise.models import Model, create_model
from fieldwise.models.batch import batch_api_for
from fieldwise.plan import plan_model
from fieldwise.runner import (
    Price,
    RetryPolicy,
    RunJob,
    RunSettings,
    execute,
    run_model,
    run_model_async,
)
from fieldwise.runner.batch import BatchExecutor, BatchSettings, run_batch_async, split_batches
from fieldwise.store import BatchRecord, Store
from fieldwise.tasks import Example, Task
from tests.fakes.batch_server import FakeBatchServer
from tests.fakes.openai_server import FakeServer
from tests.runner.helpers import docs, marker

PROVIDERS = ["openai", "anthropic"]
FAST = BatchSettings(poll_s=0.02)
QUICK_RETRY = RunSettings(retry=RetryPolicy(max_retries=3, base_s=0.01, max_s=0.05))


def batch_model(
    provider: str, server: FakeBatchServer | FakeServer, task: Task, **opts: Any
) -> Model:
    if provider == "openai":
        return create_model("openai/fake-model", task, {"base_url": server.url, **opts})
    base = server.url.removesuffix("/v1")
    return create_model("anthropic/claude-fake", task, {"base_url": base, **opts})


def run(
    model: Model,
    examples: list[Example],
    store: Store,
    batch: BatchSettings = FAST,
    settings: RunSettings = QUICK_RETRY,
) -> Any:
    return asyncio.run(run_batch_async(RunJob(model, examples, store, "m", None, settings), batch))


def sent(server: FakeBatchServer) -> list[list[str]]:
    """The user texts of each batch's requests, batch by batch."""
    out = []
    for b in server.created():
        bodies = [r["body"] if b.provider == "openai" else r["params"] for r in b.requests]
        out.append([body["messages"][-1]["content"] for body in bodies])
    return out


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_batch_stores_exactly_what_the_online_path_would(
    provider: str,
    fake_batches: FakeBatchServer,
    fake_openai: FakeServer,
    isaf: Task,
    store: Store,
    tmp_path: Any,
) -> None:
    examples = docs(5)
    opts = {"output_mode": "tools", "max_tokens": 321}
    batched = batch_model(provider, fake_batches, isaf, **opts)
    out = run(batched, examples, store)
    assert (out.computed, out.cached, out.failed) == (5, 0, 0)
    assert len(fake_batches.created()) == 1

    online = batch_model(provider, fake_openai, isaf, **opts)
    with Store(tmp_path / "online") as online_store:
        ref = run_model(online, examples, online_store, label="m", run_id=None)
    # The same request bodies (base_url aside, which is not in the body) ...
    online_bodies = {r.text: r.body for r in fake_openai.snapshot()}
    for request in fake_batches.created()[0].requests:
        body = request["body"] if provider == "openai" else request["params"]
        assert body == online_bodies[body["messages"][-1]["content"]]
    # ... the same parsed rows ...
    for got, want in zip(out.rows, ref.rows, strict=True):
        assert (got.example_id, got.output, got.error) == (want.example_id, want.output, None)
        assert (got.input_tokens, got.output_tokens) == (want.input_tokens, want.output_tokens)
        assert got.finish_reason == want.finish_reason
        assert json.loads(got.output or "")["echo"].startswith(marker(int(got.example_id[1:])))
    # ... under the online cache key: the online runner finds them all done.
    identity = batched.identity()
    assert [r.key for r in out.rows] == [prediction_key(identity, ex) for ex in examples]
    again = asyncio.run(run_model_async(batched, examples, store, label="m", run_id=None))
    assert (again.computed, again.cached) == (0, 5)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_big_jobs_are_split_within_the_limits(
    provider: str, fake_batches: FakeBatchServer, isaf: Task, store: Store
) -> None:
    fake_batches.behaviour.max_requests = 3  # the fake refuses bigger batches
    out = run(
        batch_model(provider, fake_batches, isaf),
        docs(7),
        store,
        BatchSettings(poll_s=0.02, max_requests=3),
    )
    assert out.failed == 0
    assert [len(b) for b in sent(fake_batches)] == [3, 3, 1]

    # By size: a limit a little over two requests' worth cuts batches of two.
    fresh = docs(12)[7:]
    api_model = batch_model(provider, fake_batches, isaf)
    line = batch_api_for(api_model).encode("k" * 64, fresh[0])
    fake_batches.behaviour.max_requests = 50_000
    before = len(fake_batches.created())
    out = run(api_model, fresh, store, BatchSettings(poll_s=0.02, max_bytes=len(line) * 2 + 10))
    assert out.failed == 0
    assert [len(b) for b in sent(fake_batches)[before:]] == [2, 2, 1]


def test_a_request_over_the_size_limit_is_an_error_not_a_send(
    fake_batches: FakeBatchServer, isaf: Task, store: Store
) -> None:
    out = run(
        batch_model("openai", fake_batches, isaf),
        docs(2),
        store,
        BatchSettings(poll_s=0.02, max_bytes=100),
    )
    assert out.failed == 2 and not fake_batches.created()
    assert all("larger than the batch size limit" in (r.error or "") for r in out.rows)


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("fault", ["fail", "expire"])
def test_failed_or_expired_requests_are_stored_and_only_they_are_retried(
    provider: str, fault: str, fake_batches: FakeBatchServer, isaf: Task, store: Store
) -> None:
    bad = {marker(1), marker(4)}
    setattr(fake_batches.behaviour, fault, set(bad))
    model = batch_model(provider, fake_batches, isaf)
    out = run(model, docs(6), store)
    assert out.failed == 2
    errors = {r.example_id: r.error for r in out.rows if r.error}
    assert set(errors) == {"e1", "e4"}
    expected = "context too long" if fault == "fail" else "expire"
    assert all(expected in e for e in errors.values()), errors
    assert store.batches()[0]["status"] == (
        "expired" if fault == "expire" else "completed" if provider == "openai" else "ended"
    )

    setattr(fake_batches.behaviour, fault, set())
    again = run(batch_model(provider, fake_batches, isaf), docs(6), store)
    assert (again.computed, again.cached, again.failed) == (2, 4, 0)
    assert sorted(t[:9] for t in sent(fake_batches)[1]) == sorted(bad)
    assert [r.output for r in again.rows[:1]] == [out.rows[0].output]


def test_a_batch_that_fails_as_a_whole_gives_every_row_its_reason(
    fake_batches: FakeBatchServer, isaf: Task, store: Store
) -> None:
    fake_batches.behaviour.fail_batch = "line 3 is not valid JSON"
    out = run(batch_model("openai", fake_batches, isaf), docs(3), store)
    assert out.failed == 3
    assert all("line 3 is not valid JSON" in (r.error or "") for r in out.rows)
    fake_batches.behaviour.fail_batch = None
    assert run(batch_model("openai", fake_batches, isaf), docs(3), store).failed == 0


@pytest.mark.parametrize("provider", PROVIDERS)
def test_an_interrupted_run_resumes_the_same_batch(
    provider: str, fake_batches: FakeBatchServer, isaf: Task, store: Store
) -> None:
    fake_batches.behaviour.processing_s = 30
    model = batch_model(provider, fake_batches, isaf)

    async def interrupted() -> None:
        task = asyncio.ensure_future(run_batch_async(RunJob(model, docs(4), store, "m"), FAST))
        while not fake_batches.polls:
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(interrupted())
    [record] = store.open_batches(store.batches()[0]["model_hash"])
    assert len(record.requests) == 4 and not store.finished(record.requests)

    fake_batches.behaviour.processing_s = 0
    out = run(batch_model(provider, fake_batches, isaf), docs(4), store)
    assert out.failed == 0 and len(fake_batches.created()) == 1
    assert not store.open_batches(record.model_hash)
    assert store.batches()[0]["finished_at"] is not None


def test_a_rate_limited_create_is_retried_and_a_lost_answer_never_pays_twice(
    fake_batches: FakeBatchServer, isaf: Task, store: Store
) -> None:
    fake_batches.behaviour.create_status = [429]
    fake_batches.behaviour.lose_creates = 1  # then created, but the 500 hides it
    out = run(batch_model("openai", fake_batches, isaf), docs(3), store)
    assert out.failed == 0
    assert len(fake_batches.created()) == 1
    assert len(fake_batches.files) == 2  # one upload, one output file: no second upload


def test_anthropic_does_not_retry_a_create_that_may_have_succeeded(
    fake_batches: FakeBatchServer, isaf: Task, store: Store
) -> None:
    fake_batches.behaviour.create_status = [500]
    out = run(batch_model("anthropic", fake_batches, isaf), docs(2), store)
    assert out.failed == 2 and not fake_batches.created()
    assert all("not retried" in (r.error or "") for r in out.rows)
    again = run(batch_model("anthropic", fake_batches, isaf), docs(2), store)
    assert again.failed == 0 and len(fake_batches.created()) == 1


def batch_settings(mc: ModelConfig) -> BatchSettings | None:
    """The batch settings a model entry's plan runs with (``None``: not a batch)."""
    executor = plan_model(mc).executor
    return executor.settings if isinstance(executor, BatchExecutor) else None


def test_cost_is_at_the_batch_price(
    fake_batches: FakeBatchServer, isaf: Task, store: Store
) -> None:
    price = PriceConfig(input_per_mtok=2.0, output_per_mtok=8.0)
    settings = batch_settings(ModelConfig(spec="openai/x", price=price, batch=True))
    assert settings is not None and settings.price == Price(1.0, 4.0)
    custom = PriceConfig(input_per_mtok=2.0, output_per_mtok=8.0, batch_input_per_mtok=1.5)
    assert batch_settings(ModelConfig(spec="openai/x", price=custom, batch=True)).price == Price(  # type: ignore[union-attr]
        1.5, 4.0
    )
    out = run(
        batch_model("openai", fake_batches, isaf),
        docs(2),
        store,
        BatchSettings(poll_s=0.02, price=settings.price),
    )
    for row in out.rows:
        assert row.input_tokens and row.output_tokens
        assert row.cost_usd == pytest.approx(
            (row.input_tokens * 1.0 + row.output_tokens * 4.0) / 1e6
        )
        assert row.latency_s is None


def test_batch_on_a_backend_without_a_batch_api_is_an_error() -> None:
    with pytest.raises(UserError, match="no batch API"):
        batch_settings(ModelConfig(spec="baseline/auto", batch=True))
    assert batch_settings(ModelConfig(spec="baseline/auto")) is None
    cfg = ModelConfig(spec="anthropic/c", batch={"poll_s": 5, "max_requests": 10})  # type: ignore[arg-type]
    assert cfg.batch_config == BatchConfig(poll_s=5, max_requests=10)
    with pytest.raises(ValueError):
        ModelConfig(spec="openai/x", batch={"poll_s": 0})  # type: ignore[arg-type]
    with pytest.raises(UserError, match="both batch and executor: ray"):
        plan_model(ModelConfig(spec="openai/x", batch=True, executor="ray"))


def test_the_sync_wrapper_shows_progress(
    fake_batches: FakeBatchServer, isaf: Task, store: Store
) -> None:
    from fieldwise.runner import make_progress

    progress = make_progress()
    model = batch_model("openai", fake_batches, isaf)
    out = execute(RunJob(model, docs(3), store, "m"), BatchExecutor(FAST), progress)
    assert out.failed == 0
    [task] = progress.tasks
    assert task.completed == 3 and "completed" in task.fields["rate"]
    assert task.description == "m (batch)"
    model = batch_model("openai", fake_batches, isaf)
    split = BatchExecutor(BatchSettings(poll_s=0.02, max_requests=2))
    out = execute(RunJob(model, docs(7), store, "m"), split, progress)
    assert out.failed == 0 and progress.tasks[1].fields["rate"] == "2 batches: 2 completed"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_stored_batch_the_provider_does_not_know_is_sent_again(
    provider: str, fake_batches: FakeBatchServer, isaf: Task, store: Store
) -> None:
    model = batch_model(provider, fake_batches, isaf)
    examples = docs(2)
    identity = model.identity()
    keys = {prediction_key(identity, ex): ex.id for ex in examples}
    store.add_batch(
        BatchRecord("batch_gone", provider, "x", "m", content_hash(identity), None, None, keys)
    )
    out = run(model, examples, store)
    assert out.failed == 2 and all("unknown to" in (r.error or "") for r in out.rows)
    assert not fake_batches.created() and not store.open_batches(content_hash(identity))
    again = run(batch_model(provider, fake_batches, isaf), examples, store)
    assert again.failed == 0 and len(fake_batches.created()) == 1


def test_split_batches_keeps_order_and_both_limits() -> None:
    ex = Example("e", "t")
    items = [(str(i), ex, b"x" * size) for i, size in enumerate([4, 4, 4, 9, 1, 1, 1, 1, 3])]
    too_big: list[Any] = []
    chunks = list(split_batches(iter(items), max_requests=3, max_bytes=8, too_big=too_big))
    assert [[k for k, _, _ in c] for c in chunks] == [["0", "1"], ["2", "4", "5"], ["6", "7", "8"]]
    assert [k for k, _, _ in too_big] == ["3"]
    assert all(sum(len(x) for _, _, x in c) <= 8 and len(c) <= 3 for c in chunks)


def test_a_create_whose_answer_is_lost_is_found_not_repeated(
    fake_batches: FakeBatchServer, isaf: Task, store: Store
) -> None:
    fake_batches.behaviour.lose_creates = 1
    no_retries = RunSettings(retry=RetryPolicy(max_retries=0))
    out = run(batch_model("openai", fake_batches, isaf), docs(3), store, settings=no_retries)
    assert out.failed == 0 and len(fake_batches.created()) == 1
    assert [b["id"] for b in store.batches()] == [fake_batches.created()[0].id]


def test_an_upload_left_without_a_batch_is_created_from_the_same_file(
    fake_batches: FakeBatchServer, isaf: Task, store: Store
) -> None:
    """What a run killed between the upload and the create leaves in the store."""
    model = batch_model("openai", fake_batches, isaf)
    api = batch_api_for(model)
    examples = docs(3)
    identity = model.identity()
    keys = [prediction_key(identity, ex) for ex in examples]
    lines = [api.encode(k, ex) for k, ex in zip(keys, examples, strict=True)]

    async def upload() -> str | None:
        try:
            return await api.upload(lines)
        finally:
            await api.aclose()

    file_id = asyncio.run(upload())
    assert file_id is not None
    record = BatchRecord(
        f"upload:{file_id}", "openai", model.base_url, "m", content_hash(identity), None,  # type: ignore[attr-defined]
        file_id, {k: ex.id for k, ex in zip(keys, examples, strict=True)}, status="submitting",
    )  # fmt: skip
    store.add_batch(record)
    out = run(batch_model("openai", fake_batches, isaf), examples, store)
    assert out.failed == 0
    [made] = fake_batches.created()
    assert made.input_file_id == file_id and len(fake_batches.files) == 2  # input + output
    assert [b["id"] for b in store.batches()] == [made.id]


def test_repeats_are_separate_requests_under_the_online_keys(
    fake_batches: FakeBatchServer, isaf: Task, store: Store
) -> None:
    model = batch_model("openai", fake_batches, isaf, temperature=1.0)
    examples = docs(3)
    out = asyncio.run(run_batch_async(RunJob(model, examples, store, "m", repeats=2), FAST))
    assert (out.computed, out.failed) == (6, 0) and len(out.repeats) == 2
    assert [len(b) for b in sent(fake_batches)] == [6]
    again = asyncio.run(run_model_async(model, examples, store, label="m", run_id=None, repeats=2))
    assert (again.computed, again.cached) == (0, 6)
    assert [r.key for r in again.repeats[1]] == [r.key for r in out.repeats[1]]
