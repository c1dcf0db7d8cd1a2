"""Cost arithmetic by hand (API, batch, hourly), the shipped table and config overrides."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from pydantic import ValidationError

from fieldwise.config import ModelConfig, PriceConfig
from fieldwise.errors import UserError
from fieldwise.models import Generation
from fieldwise.plan import run_settings
from fieldwise.pricing import (
    UNKNOWN,
    Price,
    batch_price_for,
    format_usd,
    host_of,
    price_for,
    price_table,
    table_price,
)
from fieldwise.pricing._table import TABLE_PATH
from fieldwise.runner.batch import BatchExecutor


def test_api_cost_by_hand() -> None:
    price = Price(input_per_mtok=2.5, output_per_mtok=10.0, cached_input_per_mtok=1.25)
    # 1,200 input tokens at $2.50/M + 300 output at $10/M = 0.003 + 0.003
    assert price.cost(Generation("x", input_tokens=1200, output_tokens=300)) == pytest.approx(0.006)
    # 1,000 of the 1,200 served from the prompt cache at $1.25/M:
    # 200 * 2.5e-6 + 1000 * 1.25e-6 + 300 * 10e-6 = 0.0005 + 0.00125 + 0.003
    gen = Generation("x", input_tokens=1200, output_tokens=300, cached_input_tokens=1000)
    assert price.cost(gen) == pytest.approx(0.00475)
    # No cached rate published: cached tokens are billed as ordinary input.
    plain = Price(input_per_mtok=2.5, output_per_mtok=10.0)
    assert plain.cost(gen) == pytest.approx(0.006)
    # No counts at all: the cost is unknown, not 0.
    assert price.cost(Generation("x")) is None


def test_batch_cost_by_hand() -> None:
    online = table_price("openai/gpt-4o-mini")
    assert online is not None and online.batch_discount == 0.5
    batch = online.batch()
    assert batch is not None
    assert (batch.input_per_mtok, batch.output_per_mtok) == (0.075, 0.3)
    # 10,000 in + 2,000 out at the batch price: 10000 * 0.075e-6 + 2000 * 0.3e-6 = 0.00135
    assert batch.cost(Generation("x", input_tokens=10_000, output_tokens=2_000)) == pytest.approx(
        0.00135
    )
    # Together publishes no per-model batch price: unknown, never the online price.
    together = table_price("together/meta-llama/Llama-3.3-70B-Instruct-Turbo")
    assert together is not None and together.batch() is None


def test_hourly_cost_by_hand() -> None:
    price = Price(per_hour=2.5)
    assert price.hourly and price.cost(Generation("x", input_tokens=10, output_tokens=10)) is None
    # $2.50 an hour at 5 documents a second: 2.5 / 3600 / 5 = $0.000138889 per document
    assert price.per_doc_hourly(5.0) == pytest.approx(2.5 / 3600 / 5)
    assert price.per_doc_hourly(5.0) * 1000 == pytest.approx(0.138889, rel=1e-5)
    # Throughput unknown: so is the cost.
    assert price.per_doc_hourly(None) is None and price.per_doc_hourly(0.0) is None
    assert price.batch() is None


def test_unknown_is_never_zero_or_blank() -> None:
    assert format_usd(None) == UNKNOWN == "unknown"
    assert format_usd(float("nan")) == "unknown"
    assert format_usd(0.0) == "$0"
    assert format_usd(0.00123) == "$0.00123"
    assert format_usd(12.345) == "$12.35"


@pytest.mark.parametrize(
    ("spec", "base_url", "expected"),
    [
        ("openai/gpt-4o-mini", None, (0.15, 0.6)),
        ("openai/gpt-4o-mini-2024-07-18", None, (0.15, 0.6)),  # dated snapshot
        ("openai/gpt-4o-2024-05-13", None, (5.0, 15.0)),  # its own, dearer row wins
        ("openai/ft:gpt-4o-mini-2024-07-18:acme::abc123", None, (0.3, 1.2)),  # fine-tune
        ("anthropic/claude-3-5-haiku-20241022", None, (0.8, 4.0)),
        ("anthropic/claude-sonnet-4-20250514", None, (3.0, 15.0)),
        ("anthropic/claude-sonnet-4-0", None, (3.0, 15.0)),  # alias
        ("anthropic/claude-haiku-4-5-latest", None, (1.0, 5.0)),
        ("openai/openai/gpt-oss-120b", "https://api.together.xyz/v1", (0.15, 0.6)),
        ("together/openai/gpt-oss-120b", None, (0.15, 0.6)),
        ("fireworks/accounts/fireworks/models/gpt-oss-20b", None, (0.07, 0.3)),
        (
            "openai/accounts/fireworks/models/kimi-k2p6",
            "https://api.fireworks.ai/inference/v1",
            (0.95, 4.0),
        ),  # fmt: skip
    ],
)
def test_table_lookup(spec: str, base_url: str | None, expected: tuple[float, float]) -> None:
    price = table_price(spec, base_url)
    assert price is not None
    assert (price.input_per_mtok, price.output_per_mtok) == expected
    assert price.source == "table" and price.as_of == price_table().as_of


@pytest.mark.parametrize(
    ("spec", "base_url"),
    [
        ("openai/my-model", "http://127.0.0.1:8000/v1"),  # a server the user runs
        ("openai/gpt-4o-mini", "http://127.0.0.1:8000/v1"),  # same name, not OpenAI's
        ("openai/no-such-model", None),
        ("hf/Qwen/Qwen2.5-0.5B-Instruct", None),
        ("baseline/models/base", None),
    ],
)
def test_no_price_is_unknown(spec: str, base_url: str | None) -> None:
    assert table_price(spec, base_url) is None


def test_base_url_from_the_environment_decides_the_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://localhost:8000/v1")
    assert host_of("openai") is None
    assert table_price("openai/gpt-4o-mini") is None
    monkeypatch.setenv("OPENAI_BASE_URL", "https://api.together.xyz/v1")
    assert host_of("openai") == "together"


def test_shipped_table_is_dated_and_complete() -> None:
    data = json.loads(TABLE_PATH.read_text(encoding="utf-8"))
    dt.date.fromisoformat(data["as_of"])
    for host in ("openai", "anthropic", "together", "fireworks"):
        assert data["hosts"][host]["models"], host
    for host, rows in price_table().hosts.items():
        for name, price in rows.items():
            assert price.input_per_mtok > 0 and price.output_per_mtok > 0, (host, name)
            assert price.verified in ("official", "cross-checked", "unverified"), (host, name)
            if price.cached_input_per_mtok is not None:
                assert price.cached_input_per_mtok < price.input_per_mtok, (host, name)


def test_config_overrides_the_table() -> None:
    configured = PriceConfig(input_per_mtok=1.0, output_per_mtok=2.0)
    price = price_for("openai/gpt-4o-mini", {}, configured)
    assert price is not None and (price.input_per_mtok, price.output_per_mtok) == (1.0, 2.0)
    assert price.source == "config"
    # batch prices default to half the configured ones, or are given
    batch = batch_price_for("openai/gpt-4o-mini", {}, configured)
    assert batch == Price(0.5, 1.0)
    explicit = PriceConfig(input_per_mtok=1, output_per_mtok=2, batch_output_per_mtok=0.25)
    assert batch_price_for("openai/x", {}, explicit) == Price(0.5, 0.25)


def test_same_as_prices_a_fine_tune_at_its_hosts_rate() -> None:
    configured = PriceConfig(same_as="together/meta-llama/Llama-3.3-70B-Instruct-Turbo")
    price = price_for("openai/my-lora", {"base_url": "http://127.0.0.1:1/v1"}, configured)
    assert price is not None and price.input_per_mtok == 1.04
    assert price.source == "same_as"
    with pytest.raises(UserError, match="no row"):
        price_for("openai/x", {}, PriceConfig(same_as="together/not-a-model"))


def test_price_config_refuses_half_known_and_mixed_prices() -> None:
    with pytest.raises(ValidationError, match="both"):
        PriceConfig(input_per_mtok=1.0)
    with pytest.raises(ValidationError, match="exactly one kind"):
        PriceConfig(input_per_mtok=1.0, output_per_mtok=1.0, per_hour=2.0)
    with pytest.raises(ValidationError, match="exactly one kind"):
        PriceConfig()
    with pytest.raises(ValidationError):
        PriceConfig(per_hour=0)
    assert PriceConfig(per_hour=2.5).per_hour == 2.5


def test_runs_get_table_prices_unless_configured() -> None:
    settings = run_settings(ModelConfig(spec="openai/gpt-4o-mini"))
    assert settings.price == Price(0.15, 0.6, cached_input_per_mtok=0.075, batch_discount=0.5)
    local = run_settings(ModelConfig(spec="openai/m", options={"base_url": "http://127.0.0.1:1"}))
    assert local.price is None
    hourly = run_settings(ModelConfig(spec="hf/x", price=PriceConfig(per_hour=2.5)))
    assert hourly.price is not None and hourly.price.per_hour == 2.5
    batch = BatchExecutor.from_config(ModelConfig(spec="anthropic/claude-haiku-4-5", batch=True))
    assert isinstance(batch, BatchExecutor)
    assert batch.settings.price == Price(0.5, 2.5, cached_input_per_mtok=0.05)


def test_prices_command_lists_the_dated_table(capsys: pytest.CaptureFixture[str]) -> None:
    from tests.cli.helpers import cli

    code, out, _ = cli(capsys, "prices", "--json", "--host", "together")
    data = json.loads(out)
    assert code == 0 and data["as_of"] == price_table().as_of
    models = {p["model"] for p in data["prices"]}
    assert "meta-llama/Llama-3.3-70B-Instruct-Turbo" in models
    assert {p["host"] for p in data["prices"]} == {"together"}
    code, _, err = cli(capsys, "prices", "--host", "nowhere")
    assert code == 2 and "no host" in err
