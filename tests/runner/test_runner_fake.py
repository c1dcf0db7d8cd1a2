"""The runner against the fake OpenAI server, through the real ``openai`` client."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from fieldwise._hashing import prediction_key
from fieldwise.errors import UserError
from fieldwise.models import Model
from fieldwise.runner import (
    Price,
    RetryPolicy,
    RunOutcome,
    RunSettings,
    make_progress,
    run_model,
    run_model_async,
)
from fieldwise.store import Store
from fieldwise.tasks import Example, Task
from tests.fakes.openai_server import GARBAGE_TEXT, LEAKY_401, FakeServer, echo_reply
from tests.runner.helpers import docs, marker, openai_model

FAST_RETRY = RetryPolicy(max_retries=3, base_s=0.01, max_s=2.0)


def run(
    model: Model, examples: list[Example], store: Store, label: str = "m", **settings: object
) -> RunOutcome:
    merged: dict[str, object] = {"retry": FAST_RETRY, **settings}
    rs = RunSettings(**merged)  # type: ignore[arg-type]

    async def main() -> RunOutcome:
        try:
            return await run_model_async(
                model, examples, store, label=label, run_id=None, settings=rs
            )
        finally:
            await model.aclose()

    return asyncio.run(main())


def test_concurrent_run_records_outputs_latency_tokens_and_cost(
    fake_openai: FakeServer, isaf: Task, store: Store
) -> None:
    fake_openai.behaviour.latency_s = 0.1
    examples = docs(16)
    price = Price(input_per_mtok=2.0, output_per_mtok=8.0)
    out = run(openai_model(fake_openai, isaf), examples, store, concurrency=8, price=price)
    assert (out.computed, out.cached, out.failed) == (16, 0, 0)
    assert [r.example_id for r in out.rows] == [e.id for e in examples]
    assert [r.output for r in out.rows] == [echo_reply(e.text) for e in examples]
    for row in out.rows:
        assert row.latency_s is not None and row.latency_s >= 0.1
        assert row.input_tokens and row.output_tokens
        expected = (row.input_tokens * 2.0 + row.output_tokens * 8.0) / 1e6
        assert row.cost_usd == pytest.approx(expected)
        assert row.finish_reason == "stop"
    assert len(fake_openai.log) == 16
    events = sorted(
        [(r.started, 1) for r in fake_openai.log]
        + [(r.finished or 0.0, -1) for r in fake_openai.log]
    )
    in_flight, peak = 0, 0
    for _, step in events:
        in_flight += step
        peak = max(peak, in_flight)
    assert 4 <= peak <= 8, "requests overlap, and never more than the concurrency limit"
    stored = store.predictions_for_label("m")
    assert sorted(r["example_id"] for r in stored) == sorted(e.id for e in examples)


@pytest.mark.parametrize("header", ["retry-after", "retry-after-ms"])
def test_429_is_retried_after_the_servers_delay(
    fake_openai: FakeServer, isaf: Task, store: Store, header: str
) -> None:
    b = fake_openai.behaviour
    b.retry_after_s, b.retry_after_header = (0.3, 0.3), header
    b.faults = {marker(0): ["429", "429"]}
    out = run(openai_model(fake_openai, isaf), docs(3), store)
    assert out.failed == 0 and out.rows[0].output == echo_reply(docs(1)[0].text)
    tries = fake_openai.requests_for(marker(0))
    assert [t.fault for t in tries] == ["429", "429", "ok"]
    gaps = [b.started - a.started for a, b in zip(tries, tries[1:], strict=False)]
    assert all(g >= 0.3 for g in gaps), gaps


def test_a_waiting_retry_does_not_hold_a_slot(
    fake_openai: FakeServer, isaf: Task, store: Store
) -> None:
    fake_openai.behaviour.retry_after_s = (0.5, 0.5)
    fake_openai.behaviour.faults = {marker(0): ["429"]}
    out = run(openai_model(fake_openai, isaf), docs(5), store, concurrency=1)
    assert out.failed == 0
    first, retry = fake_openai.requests_for(marker(0))
    others = [r for r in fake_openai.log if marker(0) not in r.text]
    assert len(others) == 4 and all(first.started < r.started < retry.started for r in others)


def test_500_is_retried(fake_openai: FakeServer, isaf: Task, store: Store) -> None:
    fake_openai.behaviour.faults = {marker(1): ["500"]}
    out = run(openai_model(fake_openai, isaf), docs(3), store)
    assert out.failed == 0
    assert [t.fault for t in fake_openai.requests_for(marker(1))] == ["500", "ok"]


@pytest.mark.parametrize("where", ["runner", "client"])
def test_hangs_time_out_are_retried_then_recorded(
    fake_openai: FakeServer, isaf: Task, store: Store, where: str
) -> None:
    fake_openai.behaviour.faults = {marker(0): ["hang"] * 10}
    fake_openai.behaviour.hang_s = 10
    retry = RetryPolicy(max_retries=2, base_s=0.01)
    if where == "runner":
        model, timeout = openai_model(fake_openai, isaf), 0.3
    else:
        model, timeout = openai_model(fake_openai, isaf, timeout_s=0.3), 30.0
    out = run(model, docs(3), store, retry=retry, timeout_s=timeout)
    assert out.failed == 1
    assert out.rows[0].output is None
    assert out.rows[0].error is not None and "gave up after 3 tries" in out.rows[0].error
    assert "timed out" in out.rows[0].error
    assert len(fake_openai.requests_for(marker(0))) == 3
    assert all(r.error is None for r in out.rows[1:])


def test_malformed_body_is_an_error_and_retried_next_run(
    fake_openai: FakeServer, isaf: Task, store: Store
) -> None:
    fake_openai.behaviour.faults = {marker(0): ["malformed"], marker(1): ["400"]}
    out = run(openai_model(fake_openai, isaf), docs(3), store)
    assert out.failed == 2
    assert out.rows[0].error and "malformed response body" in out.rows[0].error
    assert out.rows[1].error and "HTTP 400" in out.rows[1].error
    assert out.rows[2].error is None
    assert len(fake_openai.requests_for(marker(0))) == 1, "a bad body is not retried at once"
    again = run(openai_model(fake_openai, isaf), docs(3), store)
    assert (again.computed, again.cached, again.failed) == (2, 1, 0)
    assert len(fake_openai.requests_for(marker(2))) == 1


def test_non_json_text_is_stored_as_the_output(
    fake_openai: FakeServer, isaf: Task, store: Store
) -> None:
    fake_openai.behaviour.faults = {marker(0): ["text"]}
    out = run(openai_model(fake_openai, isaf), docs(2), store)
    assert out.rows[0].output == GARBAGE_TEXT and out.rows[0].error is None
    assert store.finished([out.rows[0].key])[out.rows[0].key].output == GARBAGE_TEXT


def test_second_run_is_served_from_the_store(
    fake_openai: FakeServer, isaf: Task, store: Store
) -> None:
    first = run(openai_model(fake_openai, isaf), docs(5), store)
    assert len(fake_openai.log) == 5
    second = run(openai_model(fake_openai, isaf), docs(5), store)
    assert len(fake_openai.log) == 5, "a cached run must make zero requests"
    assert (second.computed, second.cached) == (0, 5)
    assert [r.output for r in second.rows] == [r.output for r in first.rows]
    other = run(openai_model(fake_openai, isaf, output_mode="tools"), docs(5), store)
    assert other.computed == 5, "another output mode is another model"


def test_duplicate_texts_are_computed_once(
    fake_openai: FakeServer, isaf: Task, store: Store
) -> None:
    examples = [*docs(2), Example("copy", docs(1)[0].text)]
    seen: list[int] = []
    model = openai_model(fake_openai, isaf)

    async def main() -> RunOutcome:
        return await run_model_async(
            model, examples, store, label="m", run_id=None, on_progress=seen.append
        )

    out = asyncio.run(main())
    assert len(fake_openai.log) == 2 and sum(seen) == 3
    assert out.rows[2].output == out.rows[0].output
    # each example keeps its own id, so files written from the rows pair up with the gold
    assert [r.example_id for r in out.rows] == ["e0", "e1", "copy"]
    assert out.rows[0].key == prediction_key(model.identity(), examples[2])


def test_rejected_key_stops_the_run_without_echoing_it(
    fake_openai: FakeServer, isaf: Task, store: Store
) -> None:
    fake_openai.behaviour.script = ["401"] * 50
    with pytest.raises(UserError) as info:
        run(openai_model(fake_openai, isaf), docs(20), store, concurrency=2)
    assert "rejected the API key" in str(info.value)
    assert "sk-abc" not in str(info.value) and LEAKY_401 not in str(info.value)
    assert len(fake_openai.log) < 20, "the run stops instead of failing every example"
    assert store.predictions_for_label("m") == []


def test_api_key_never_reaches_the_store(
    fake_openai: FakeServer, isaf: Task, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "sk-live-SECRET-4242-do-not-store"
    monkeypatch.setenv("MY_PROVIDER_KEY", secret)
    model = openai_model(fake_openai, isaf, api_key_env="MY_PROVIDER_KEY", output_mode="tools")
    project = tmp_path / "p"
    with Store(project) as store:
        from fieldwise.store import RunRecord

        run_id = store.start_run(
            RunRecord(
                "m",
                model.spec,
                "api",
                "isaf",
                model.identity(),
                {},
                None,
                "fp",
                None,
                3,
                "0",
                None,
                {"options": model.options.model_dump(mode="json")},
            )
        )
        store.register_model("m", model.spec, "api", model.options.model_dump(mode="json"))
        out = run(model, docs(3), store)
        store.finish_run(run_id)
    assert out.failed == 0
    assert {r.auth for r in fake_openai.log} == {f"Bearer {secret}"}, "the key was really used"
    for path in (p for p in project.rglob("*") if p.is_file()):
        data = path.read_bytes()
        assert secret.encode() not in data and b"SECRET-4242" not in data, path.name
    assert json.dumps(model.identity()).find(secret) == -1


def test_run_model_keeps_a_started_progress_display(
    fake_openai: FakeServer, isaf: Task, store: Store
) -> None:
    run(openai_model(fake_openai, isaf), docs(2), store)  # two cached rows to jump over
    progress = make_progress(transient=True)
    with progress:
        out = run_model(
            openai_model(fake_openai, isaf),
            docs(5),
            store,
            label="m",
            run_id=None,
            progress=progress,
        )
        assert progress.live.is_started, "a caller's display outlives one model"
        (task,) = progress.tasks
        assert (task.completed, task.total) == (5, 5)
    assert (out.cached, out.computed) == (2, 3)
