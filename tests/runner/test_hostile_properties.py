"""Property-style: any JSON a server can send is stored and scored, never a crash or a
hang. Hypothesis draws the bodies; the real SDKs parse them off real HTTP."""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldwise._text import scrub_text
from fieldwise.models import create_model
from fieldwise.models._model import Generation
from fieldwise.models._responses import as_output, as_tokens, clean_generation
from fieldwise.models.anthropic_backend import parse_message
from fieldwise.models.openai_backend import parse_completion
from fieldwise.runner import RetryPolicy, RunSettings, run_model
from fieldwise.scoring import score_outputs
from fieldwise.store import PredictionRow, Store
from fieldwise.tasks import Example, load_task
from tests.fakes.hostile_server import anthropic_message, completion
from tests.fakes.openai_server import Behaviour, FakeServer, RawReply

ISAF = load_task("isaf")

text = st.text(alphabet=st.characters(codec=None), max_size=40)  # lone surrogates included
scalars = st.none() | st.booleans() | st.integers() | st.floats() | text
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=12,
)
# Values placed where the API puts a message, a content, a usage, a choice.
content_like = json_values | st.lists(
    st.fixed_dictionaries(
        {"type": st.sampled_from(["text", "image_url", "x"]), "text": json_values}
    ),
    max_size=3,
)
usage_like = json_values | st.fixed_dictionaries(
    {"prompt_tokens": json_values, "completion_tokens": json_values}
)
openai_bodies = st.one_of(
    json_values,
    st.builds(
        lambda content, usage, finish, calls: completion(
            {"role": "assistant", "content": content, "tool_calls": calls},
            usage=usage,
            finish=finish,
        ),
        content_like,
        usage_like,
        json_values,
        st.none() | st.lists(st.fixed_dictionaries({"function": json_values}), max_size=2),
    ),
    st.builds(lambda choices: completion(choices=choices), json_values),
)
anthropic_bodies = st.one_of(
    json_values,
    st.builds(
        anthropic_message,
        json_values
        | st.lists(st.fixed_dictionaries({"type": st.just("text"), "text": json_values})),
        usage_like,
        json_values,
    ),
)


def _check(gen: Generation) -> None:
    assert gen.output is None or isinstance(gen.output, str)
    assert gen.output is None or scrub_text(gen.output) == gen.output
    for tokens in (gen.input_tokens, gen.output_tokens):
        assert tokens is None or (type(tokens) is int and 0 <= tokens <= 10**7)
    assert gen.finish_reason is None or isinstance(gen.finish_reason, str)


@settings(max_examples=300, deadline=None)
@given(body=openai_bodies)
def test_parse_completion_accepts_any_body(body: Any) -> None:
    try:
        gen = parse_completion(body, 0.1, max_output=1024, max_input=5000)
    except ValueError as exc:
        assert "no choices" in str(exc)
        return
    _check(gen)
    assert (gen.output_tokens or 0) <= 1024


@settings(max_examples=300, deadline=None)
@given(body=anthropic_bodies)
def test_parse_message_accepts_any_body(body: Any) -> None:
    try:
        gen = parse_message(body, 0.1, max_output=1024)
    except ValueError as exc:
        assert "no content" in str(exc)
        return
    _check(gen)


@settings(max_examples=300, deadline=None)
@given(output=json_values, tokens=json_values, finish=json_values, latency=json_values)
def test_clean_generation_types_every_field(
    output: Any, tokens: Any, finish: Any, latency: Any
) -> None:
    gen = Generation(output, None, latency, tokens, tokens, finish)  # type: ignore[arg-type]
    cleaned = clean_generation(gen)
    _check(cleaned)
    assert isinstance(cleaned.latency_s, float) and math.isfinite(cleaned.latency_s)
    assert as_output(output) == cleaned.output
    assert as_tokens(tokens) == cleaned.input_tokens


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(output=text, error=st.none() | text, ident=text)
def test_store_holds_any_text(tmp_path: Path, output: str, error: str | None, ident: str) -> None:
    with Store(tmp_path / "p") as store:
        store.save_predictions(None, ident or "m", [PredictionRow("k", ident, output, error)])
        row = store.predictions_by_key(["k"])["k"]
    assert row.output == scrub_text(output) and row.error == (error and scrub_text(error))


@pytest.fixture(scope="module")
def server() -> Iterator[FakeServer]:
    fake = FakeServer(Behaviour()).start()
    yield fake
    fake.stop()


_n = itertools.count()


@pytest.mark.timeout(300)
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=openai_bodies | anthropic_bodies, provider=st.sampled_from(["openai", "anthropic"]))
def test_any_json_over_http_is_stored_and_scored(
    server: FakeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: Any, provider: str
) -> None:
    data = json.dumps(body, allow_nan=True).encode()
    server.behaviour.raw = lambda request, auth: RawReply(200, data)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-property-test-key-0000")
    base = server.url if provider == "openai" else server.url.removesuffix("/v1")
    model = create_model(f"{provider}/p", ISAF, {"base_url": base})
    example = Example(f"e{next(_n)}", f"document {next(_n)}")
    settings_ = RunSettings(timeout_s=5, tpm=60_000, retry=RetryPolicy(max_retries=0))
    with Store(tmp_path / "store") as store:
        outcome = run_model(
            model, [example], store, label=provider, run_id=None, settings=settings_
        )
        (row,) = outcome.rows
        stored = store.predictions_by_key([row.key])[row.key]
    assert stored.output == row.output and stored.error == row.error
    assert (row.output is None) != (row.error is None) or row.output is None
    gold = {f.name: None for f in ISAF.fields}
    scores = score_outputs(ISAF, [gold], [row.output], n_boot=0)
    assert set(scores) and all(s.rows == 1 for s in scores.values())
