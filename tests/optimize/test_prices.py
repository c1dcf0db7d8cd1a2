"""The optimiser's budget is priced like a run: the config's price, else the shipped
price table's row, else unknown (never 0), and an hourly price has no per-call cost."""

from __future__ import annotations

from fieldwise.config import ModelConfig
from fieldwise.optimize._budget import plan_budget
from fieldwise.optimize._project import _optimizer_settings
from fieldwise.pricing import Price, table_price
from fieldwise.report._optimize import _per_1k


def _entry(**optimize: object) -> ModelConfig:
    return ModelConfig(spec="simulated/isaf", optimize={"budget": 60, **optimize})


def test_the_optimiser_gets_the_price_tables_row_for_its_spec() -> None:
    settings = _optimizer_settings(_entry(optimizer="openai/gpt-5-mini"))
    assert settings is not None and settings.price is not None
    assert settings.price == table_price("openai/gpt-5-mini")
    assert settings.price.source == "table" and settings.price.input_per_mtok > 0


def test_the_configs_optimizer_price_wins_and_an_unknown_spec_stays_unknown() -> None:
    priced = _optimizer_settings(
        _entry(
            optimizer="openai/gpt-5-mini",
            optimizer_price={"input_per_mtok": 1.0, "output_per_mtok": 3.0},
        )
    )
    assert priced is not None and priced.price == Price(1.0, 3.0)
    unknown = _optimizer_settings(_entry(optimizer="simulated-optimizer/isaf"))
    assert unknown is not None and unknown.price is None
    # no optimiser of its own: the model optimises itself at its own price
    assert _optimizer_settings(_entry()) is None


def test_budget_cost_by_hand_and_unknown_for_missing_or_hourly_prices() -> None:
    price = Price(2.0, 8.0)
    plan = plan_budget(200, 10, 4, (1000.0, 100.0), (3000.0, 500.0), price, price)
    by_hand = (
        plan.task_calls * (1000 * 2.0 + 100 * 8.0) + plan.optimizer_calls * (3000 * 2.0 + 500 * 8.0)
    ) / 1e6
    assert plan.cost is not None and abs(plan.cost - by_hand) < 1e-12
    assert plan_budget(200, 10, 4, (1000.0, 100.0), (1.0, 1.0), None, price).cost is None
    hourly = Price(per_hour=2.5)
    assert plan_budget(200, 10, 4, (1000.0, 100.0), (1.0, 1.0), hourly, price).cost is None
    assert _per_1k({"prompt_tokens": 900, "output_tokens": 50}, hourly) is None
    assert _per_1k({"prompt_tokens": 1000, "output_tokens": 0}, Price(2.0, 8.0)) == 2.0


def test_the_budget_line_names_the_price_tables_date_or_the_missing_price() -> None:
    from fieldwise.optimize._run import _provenance
    from fieldwise.pricing import price_table

    table = table_price("openai/gpt-5-mini")
    said = _provenance((table, None))
    assert f"price table of {price_table().as_of}" in said
    assert "no price for the optimiser" in said
    assert _provenance((Price(1.0, 2.0), Price(1.0, 2.0))) == "from the config"
