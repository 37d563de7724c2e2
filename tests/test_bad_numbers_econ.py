"""Numeric inputs of the market, factory, viability and demand models: non-finite values and
values past their declared bounds are refused with one line naming the field."""

from __future__ import annotations

import math

import pytest

from tokenfab import demand, factory, market, viability
from tokenfab.errors import ScenarioError


def test_market_samples_are_bounded_before_any_allocation():
    # 1e12 samples once reached NumPy and raised MemoryError (7.3 TiB)
    with pytest.raises(
        ScenarioError, match=r"^samples: 1000000000000 is not allowed; allowed: 0 to 1,000,000"
    ):
        market.project(samples=10**12)


@pytest.mark.parametrize("power_mw", [math.inf, math.nan, 1e6, 0.0, -1.0])
def test_factory_power_must_be_finite_and_at_most_100_gw(power_mw):
    # inf once surfaced as "accelerators: nan is outside the allowed range"
    with pytest.raises(ScenarioError, match=r"^power_mw: "):
        factory.factory(power_mw, "h100-sxm", "llama-3.1-8b")


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        (
            "cost_usd_per_request",
            {"cost_usd_per_request": math.inf, "revenue_usd_per_request": 1.0},
        ),
        (
            "cost_usd_per_request",
            {"cost_usd_per_request": math.nan, "revenue_usd_per_request": 1.0},
        ),
        (
            "revenue_usd_per_request",
            {"cost_usd_per_request": 0.1, "revenue_usd_per_request": 1e300},
        ),
        (
            "revenue_usd_per_user_month",
            {
                "cost_usd_per_request": 0.1,
                "revenue_usd_per_user_month": math.inf,
                "requests_per_user_month": 10,
            },
        ),
    ],
)
def test_viability_money_must_be_finite(field, kwargs):
    # inf once printed a margin of -inf with exit 0
    with pytest.raises(ScenarioError, match=f"^{field}: "):
        viability.viability("product", **kwargs)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"archetype": "chat", "users": 1e300}, r"archetypes\.0\.users: 1e\+300 is not allowed"),
        (
            {"archetype": "chat", "users": math.nan},
            r"archetypes\.0\.users: nan is not a finite number",
        ),
        (
            {"archetype": "chat", "users": 1000, "output_tokens": math.inf},
            r"output_tokens: inf is not a finite",
        ),
        # 1e10 users x 1e9 output tokens: far past the 1e16 tokens a day a Scenario accepts
        (
            {"archetype": "chat", "users": 1e10, "output_tokens": 1e9},
            r"^archetypes: the demand comes to",
        ),
    ],
)
def test_demand_numbers_are_finite_and_bounded(entry, message):
    with pytest.raises(ScenarioError, match=message):
        demand.build([entry])


def test_market_seed_must_not_be_negative():
    # -1 once reached NumPy's default_rng and came back as "bug: ValueError"
    with pytest.raises(ScenarioError, match=r"^seed: -1 is negative; allowed: 0 or more$"):
        market.project(samples=10, seed=-1)


def test_market_energy_model_must_be_a_catalog_model():
    # an unknown id was skipped per accelerator, leaving a market with no GW and exit 0
    from tokenfab.errors import CatalogError

    proj = market.project()
    with pytest.raises(CatalogError, match=r"^models: unknown id 'nope' in models"):
        market.add_energy(proj, model="nope")
