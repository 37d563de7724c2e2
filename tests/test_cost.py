"""Cost of an accelerator-hour and of a million tokens (tokenfab.cost).

Expected values are worked by hand in the comments: 1.08^5 = 1.469328077, 1.08^20 = 4.660957144,
8760 h a year. The buy case is an H100 at $25,000 over 5 years at 8 %; the rent case an H100 at
AWS's $6.88 per accelerator-hour (p5.48xlarge after the June-2025 cut, data/cloud_rental.csv).
"""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose

from tokenfab.catalog import Catalog, CloudRental, CostAssumption
from tokenfab.cost import (
    CostInputs,
    OwnershipCost,
    average_power_w,
    capital_recovery_factor,
    cheapest_rental,
    cost_usd_per_mtok,
    default_cost_inputs,
    ownership_cost_from_inputs,
    ownership_cost_usd_per_hour,
    rental_cost_usd_per_hour,
    rental_rate_usd_per_accelerator_hour,
    serving_power_w,
    token_cost_usd_per_mtok,
)
from tokenfab.errors import CatalogError, ScenarioError

# The worked buy case (H100 SXM): every input explicit so the arithmetic below can be checked.
BUY = dict(
    price_usd=25_000.0,
    tdp_w=700.0,
    power_w=525.0,  # 700 W x 0.75 power-draw share
    pue=1.3,
    electricity_usd_per_kwh=0.08,
    useful_life_years=5.0,
    cost_of_capital_per_year=0.08,
    system_share_of_accelerator_price=0.64,
    facility_capex_usd_per_mw=11.7e6,
    facility_life_years=20.0,
    operations_share_per_year=0.05,
    software_usd_per_accelerator_year=4_500.0,
    network_share_of_cluster_capex=0.19,
)
# CRF(8 %, 5 y) = 0.08 x 1.469328077 / 0.469328077 = 0.2504564546
CRF_8_5 = 0.2504564546
# CRF(8 %, 20 y) = 0.08 x 4.660957144 / 3.660957144 = 0.1018522088
CRF_8_20 = 0.1018522088


class FakeCatalog:
    """Just the two methods default_cost_inputs and cheapest_rental use."""

    def __init__(self, tables: dict[str, dict[str, object]]) -> None:
        self.tables = tables

    def table(self, name: str) -> dict[str, object]:
        return self.tables[name]

    def where(self, name: str, record_id: str) -> str:
        return f"{name}.csv:{list(self.tables[name]).index(record_id) + 2}"


def _assumption(rid: str, value: float, unit: str) -> CostAssumption:
    return CostAssumption(
        id=rid, value=value, unit=unit, description="test", source="test", as_of=date(2025, 1, 1)
    )


ALL_ASSUMPTIONS = {
    "useful-life-years": (5, "years"),
    "cost-of-capital": (0.08, "fraction_per_year"),
    "system-share-of-accelerator-price": (0.64, "fraction"),
    "facility-capex-usd-per-mw": (11.7e6, "usd_per_mw"),
    "facility-life-years": (20, "years"),
    "operations-share-per-year": (0.05, "fraction_per_year"),
    "software-usd-per-accelerator-year": (4500, "usd_per_accelerator_year"),
    "network-share-of-cluster-capex": (0.19, "fraction"),
    "default-utilization": (0.8, "fraction"),
    "idle-power-share-of-tdp": (0.115, "fraction"),
    "memory-power-share": (0.88, "fraction"),
}


def _assumption_catalog(skip: str | None = None, **units: str) -> FakeCatalog:
    rows = {
        rid: _assumption(rid, value, units.get(rid.replace("-", "_"), unit))
        for rid, (value, unit) in ALL_ASSUMPTIONS.items()
        if rid != skip
    }
    return FakeCatalog({"cost-assumptions": rows})


def _rental(
    rid: str, provider: str, od: float | None, rs: float | None = None, **kw: object
) -> CloudRental:
    base = dict(
        id=rid,
        provider=provider,
        accelerator_id="h100-sxm",
        instance_type=f"{provider}-8x",
        accelerators_per_instance=8,
        on_demand_usd_per_accelerator_hour=od,
        reserved_usd_per_accelerator_hour=rs,
        location="us",
        source="test",
        as_of=date(2025, 6, 1),
    )
    base.update(kw)
    return CloudRental(**base)


# -- capital recovery factor -------------------------------------------------------------------


def test_crf_known_values():
    # 8 %, 5 y: 0.08 x 1.08^5 / (1.08^5 - 1) = 0.08 x 1.469328077 / 0.469328077
    assert_allclose(capital_recovery_factor(0.08, 5), CRF_8_5, rtol=1e-9)
    # no interest: straight-line, 1 / 4
    assert_allclose(capital_recovery_factor(0.0, 4), 0.25, rtol=1e-12)
    # one year at 10 %: repay the principal plus one year's interest, 1.10
    assert_allclose(capital_recovery_factor(0.1, 1), 1.1, rtol=1e-12)
    # 8 %, 20 y: 0.08 x 4.660957144 / 3.660957144
    assert_allclose(capital_recovery_factor(0.08, 20), CRF_8_20, rtol=1e-9)


def test_crf_small_rate_is_continuous_with_zero():
    # first order in r: CRF = (1 + r (n + 1) / 2) / n; r = 1e-9, n = 5 -> 0.2 x (1 + 3e-9)
    assert_allclose(capital_recovery_factor(1e-9, 5), 0.2 * (1 + 3e-9), rtol=1e-12)


def test_crf_vector_equals_scalar():
    rates = np.array([0.0, 0.03, 0.063, 0.08, 0.15])[:, None]
    years = np.array([3.0, 4.0, 5.0, 6.0])
    grid = capital_recovery_factor(rates, years)
    assert grid.shape == (5, 4)
    for i, r in enumerate(rates[:, 0]):
        for j, n in enumerate(years):
            assert_allclose(grid[i, j], capital_recovery_factor(float(r), float(n)), rtol=1e-14)


@pytest.mark.parametrize(
    ("rate", "years", "field"),
    [
        (-0.01, 5, "cost_of_capital_per_year"),
        (1.5, 5, "cost_of_capital_per_year"),
        (0.08, 0, "useful_life_years"),
        (0.08, -3, "useful_life_years"),
        (np.nan, 5, "cost_of_capital_per_year"),
    ],
)
def test_crf_rejects_bad_input(rate, years, field):
    with pytest.raises(ScenarioError, match=field):
        capital_recovery_factor(rate, years)


# -- buying ------------------------------------------------------------------------------------


def test_buy_worked_case_to_the_cent():
    c = ownership_cost_usd_per_hour(**BUY)
    # accelerator: 25,000 x 0.2504564546 = 6,261.41 $/y; / 8760 = 0.714773 $/h
    assert_allclose(c.accelerator_capex_usd_per_hour, 25_000 * CRF_8_5 / 8760, rtol=1e-9)
    assert_allclose(c.accelerator_capex_usd_per_hour, 0.714773, atol=5e-7)
    # system: 0.64 x 25,000 = 16,000 $; x CRF = 4,007.30 $/y; / 8760 = 0.457455 $/h
    assert_allclose(c.system_capex_usd_per_hour, 0.4574547, atol=5e-7)
    # network is 19 % of all hardware: N = 0.19 / 0.81 x (25,000 + 16,000) = 9,617.28 $;
    # x CRF = 2,408.71 $/y; / 8760 = 0.274967 $/h
    assert_allclose(c.network_capex_usd_per_hour, 0.274967, atol=5e-7)
    # facility: 11.7 M$/MW x 0.0007 MW (700 W IT) = 8,190 $; x CRF(8 %, 20 y) 0.1018522
    # = 834.17 $/y; / 8760 = 0.095225 $/h
    assert_allclose(c.facility_capex_usd_per_hour, 0.0952248, atol=5e-7)
    # power: 525 W x PUE 1.3 = 682.5 W = 0.6825 kW; x 0.08 $/kWh = 0.054600 $/h
    assert_allclose(c.power_usd_per_hour, 0.0546, rtol=1e-12)
    # operations: 5 %/y x (25,000 + 16,000 + 9,617.28) = 2,530.86 $/y; / 8760 = 0.288911 $/h
    assert_allclose(c.operations_usd_per_hour, 0.2889114, atol=5e-7)
    # software: 4,500 $/y / 8760 = 0.513699 $/h
    assert_allclose(c.software_usd_per_hour, 0.5136986, atol=5e-7)
    # total: 0.7147730 + 0.4574547 + 0.2749670 + 0.0952248 + 0.0546 + 0.2889114 + 0.5136986
    #      = 2.3996296 $/h -> $2.40 an accelerator-hour
    assert_allclose(c.total_usd_per_hour, 2.3996296, atol=1e-7)
    assert round(float(c.total_usd_per_hour), 2) == 2.40


def test_buy_worked_case_per_million_tokens():
    total = ownership_cost_usd_per_hour(**BUY).total_usd_per_hour
    # 1,500 output tok/s per accelerator, busy 80 % of hours: 1,500 x 3,600 x 0.8 = 4.32 M tok/h;
    # 2.3996296 $/h / 4.32 Mtok/h = 0.555470 $/Mtok -> $0.56
    assert_allclose(cost_usd_per_mtok(total, 1_500.0, 0.8), 0.555470, atol=1e-6)


def test_rent_worked_case_to_the_cent():
    # AWS p5.48xlarge 55.04 $/h / 8 GPUs = 6.88 $/accelerator-hour; the rate is the cost
    assert_allclose(rental_cost_usd_per_hour(6.88), 6.88, rtol=0)
    # 1,500 tok/s x 3,600 s x 0.8 = 4.32 Mtok/h; 6.88 / 4.32 = 1.592593 $/Mtok -> $1.59
    assert_allclose(cost_usd_per_mtok(6.88, 1_500.0, 0.8), 1.592593, atol=1e-6)
    # 8 accelerators, 730 h/month: 8 x 6.88 x 730 = 40,179.20 $/month
    assert_allclose(8 * rental_cost_usd_per_hour(6.88) * 730.0, 40_179.20, atol=0.005)


def test_breakdown_lines_sum_to_total_for_arrays():
    rng = np.random.default_rng(7)
    size = 1000
    inputs = dict(
        BUY,
        price_usd=rng.uniform(5e3, 5e4, size),
        power_w=rng.uniform(100, 1000, size),
        pue=rng.uniform(1.05, 1.8, size),
        electricity_usd_per_kwh=rng.uniform(0.03, 0.2, size),
        cost_of_capital_per_year=rng.uniform(0, 0.15, size),
        useful_life_years=rng.uniform(3, 7, size),
    )
    c = ownership_cost_usd_per_hour(**inputs)
    lines = np.stack(list(c.lines().values()))
    assert lines.shape == (7, size)
    assert_allclose(lines.sum(axis=0), c.total_usd_per_hour, rtol=1e-12)
    assert_allclose(
        c.capex_usd_per_hour,
        c.accelerator_capex_usd_per_hour
        + c.system_capex_usd_per_hour
        + c.network_capex_usd_per_hour
        + c.facility_capex_usd_per_hour,
        rtol=1e-12,
    )


def test_ownership_vector_equals_scalar():
    prices = np.array([10_000.0, 25_000.0, 40_000.0])
    electricity = np.array([[0.04], [0.08], [0.14]])
    grid = ownership_cost_usd_per_hour(
        **dict(BUY, price_usd=prices, electricity_usd_per_kwh=electricity)
    ).total_usd_per_hour
    assert grid.shape == (3, 3)
    for i, e in enumerate(electricity[:, 0]):
        for j, p in enumerate(prices):
            one = ownership_cost_usd_per_hour(
                **dict(BUY, price_usd=p, electricity_usd_per_kwh=e)
            ).total_usd_per_hour
            assert np.ndim(one) == 0
            assert_allclose(grid[i, j], one, rtol=1e-14)


def test_every_line_has_the_broadcast_shape():
    c = ownership_cost_usd_per_hour(**dict(BUY, price_usd=np.full((2, 3), 25_000.0)))
    # the software line depends on no array input but still comes back (2, 3)
    assert all(np.shape(v) == (2, 3) for v in c.lines().values())


def test_higher_electricity_price_raises_buy_cost_not_rent_cost():
    cheap = ownership_cost_usd_per_hour(**dict(BUY, electricity_usd_per_kwh=0.04))
    dear = ownership_cost_usd_per_hour(**dict(BUY, electricity_usd_per_kwh=0.14))
    # only the power line moves: 0.6825 kW x (0.14 - 0.04) $/kWh = 0.06825 $/h more
    assert_allclose(dear.total_usd_per_hour - cheap.total_usd_per_hour, 0.06825, rtol=1e-9)
    assert_allclose(dear.capex_usd_per_hour, cheap.capex_usd_per_hour, rtol=0)
    # a rental's rate does not depend on the region's electricity price at all
    assert rental_cost_usd_per_hour(6.88) == rental_cost_usd_per_hour(6.88)


def test_higher_utilization_lowers_cost_per_token():
    u = np.linspace(0.1, 1.0, 10)
    cost = cost_usd_per_mtok(2.4, 1_500.0, u)
    assert np.all(np.diff(cost) < 0)
    # halving utilisation doubles the cost per token: 2.4 / (1500 x 3600 x 0.5) x 1e6 = 0.8889
    assert_allclose(cost_usd_per_mtok(2.4, 1_500.0, 0.5), 2 * cost_usd_per_mtok(2.4, 1_500.0, 1.0))
    assert_allclose(cost_usd_per_mtok(2.4, 1_500.0, 0.5), 0.888889, atol=1e-6)


def test_higher_price_longer_life_cheaper_capital():
    base = ownership_cost_usd_per_hour(**BUY).total_usd_per_hour
    assert ownership_cost_usd_per_hour(**dict(BUY, price_usd=30_000)).total_usd_per_hour > base
    assert ownership_cost_usd_per_hour(**dict(BUY, useful_life_years=6)).total_usd_per_hour < base


def test_network_share_zero_means_no_network_line():
    c = ownership_cost_usd_per_hour(**dict(BUY, network_share_of_cluster_capex=0.0))
    assert c.network_capex_usd_per_hour == 0.0
    # operations then fall on 41,000 $ of hardware: 0.05 x 41,000 / 8760 = 0.234018 $/h
    assert_allclose(c.operations_usd_per_hour, 0.234018, atol=5e-7)


def test_serving_power_idle_compute_and_memory_bound():
    # idle floor 0.115 x 700 = 80.5 W with nothing busy
    assert_allclose(serving_power_w(700.0, 0.115, 0.0, 0.0, 0.88), 80.5)
    # a compute-bound step (matrix units busy all the step) draws the vendor's maximum, TDP
    assert_allclose(serving_power_w(700.0, 0.115, 0.3, 1.0, 0.88), 700.0)
    # a memory-bound step streaming HBM at peak with idle matrix units draws less:
    # 700 (0.115 + 0.885 x 0.88) = 700 x 0.8938 = 625.66 W
    assert_allclose(serving_power_w(700.0, 0.115, 1.0, 0.0, 0.88), 625.66)
    # power never falls as either unit gets busier (invariant)
    share = np.linspace(0, 1, 11)
    assert np.all(np.diff(serving_power_w(700.0, 0.115, share, 0.1, 0.88)) >= 0)
    assert np.all(np.diff(serving_power_w(700.0, 0.115, 0.5, share, 0.88)) >= 0)
    with pytest.raises(ScenarioError, match="hbm_busy_share"):
        serving_power_w(700.0, 0.115, 1.5, 0.0, 0.88)


def test_average_power_mixes_serving_and_idle_hours():
    # 25 % of hours at 500 W, the rest idle at 80 W: 0.25 x 500 + 0.75 x 80 = 185 W
    assert_allclose(average_power_w(500.0, 80.0, 0.25), 185.0)
    assert_allclose(average_power_w(500.0, 80.0, 1.0), 500.0)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("price_usd", -1.0),
        ("tdp_w", 0.0),
        ("power_w", -5.0),
        ("pue", 0.9),
        ("electricity_usd_per_kwh", -0.01),
        ("useful_life_years", 0.0),
        ("cost_of_capital_per_year", -0.02),
        ("system_share_of_accelerator_price", -0.1),
        ("facility_capex_usd_per_mw", -1.0),
        ("facility_life_years", 0.0),
        ("operations_share_per_year", 1.5),
        ("software_usd_per_accelerator_year", -10.0),
        ("network_share_of_cluster_capex", 1.0),
    ],
)
def test_ownership_rejects_each_bad_field(field, value):
    # start from the valid worked case and break one field
    with pytest.raises(ScenarioError, match=rf"^{field}: ") as err:
        ownership_cost_usd_per_hour(**dict(BUY, **{field: value}))
    assert f"{value:g}" in str(err.value)
    assert "allowed range" in str(err.value)
    assert "\n" not in str(err.value)


def test_error_message_names_field_value_and_range():
    with pytest.raises(ScenarioError) as err:
        ownership_cost_usd_per_hour(**dict(BUY, price_usd=-1.0))
    assert str(err.value) == "price_usd: -1 is outside the allowed range [0, inf)"
    with pytest.raises(ScenarioError) as err:
        cost_usd_per_mtok(1.0, 100.0, np.array([0.5, 1.2, 0.3]))
    assert str(err.value) == "utilization: 1.2 (element 1 of 3) is outside the allowed range (0, 1]"


@pytest.mark.parametrize("u", [0.0, -0.2, 1.01, np.nan])
def test_cost_per_mtok_rejects_bad_utilization(u):
    with pytest.raises(ScenarioError, match=r"^utilization: "):
        cost_usd_per_mtok(2.0, 1000.0, u)


def test_cost_per_mtok_rejects_zero_throughput():
    with pytest.raises(ScenarioError, match=r"^tokens_per_s: "):
        cost_usd_per_mtok(2.0, 0.0, 0.5)


def test_rental_rejects_non_positive_rate():
    with pytest.raises(ScenarioError, match=r"^rate_usd_per_accelerator_hour: "):
        rental_cost_usd_per_hour(0.0)


# -- input / output split ----------------------------------------------------------------------


def test_token_split_worked_case():
    # $24/h deployment, 30,000 prompt tok/s and 3,000 output tok/s, 25 % of time on prefill,
    # 80 % utilised: served seconds per hour = 3600 x 0.8 = 2880
    t = token_cost_usd_per_mtok(24.0, 30_000.0, 3_000.0, 0.25, 0.8)
    # input:  24 x 0.25 / (30,000 x 2880) x 1e6 = 6 / 86.4 = 0.069444 $/Mtok
    assert_allclose(t.input_usd_per_mtok, 0.069444, atol=1e-6)
    # output: 24 x 0.75 / (3,000 x 2880) x 1e6 = 18 / 8.64 = 2.083333 $/Mtok
    assert_allclose(t.output_usd_per_mtok, 2.083333, atol=1e-6)
    # blended: 24 / (33,000 x 2880) x 1e6 = 24 / 95.04 = 0.252525 $/Mtok
    assert_allclose(t.blended_usd_per_mtok, 0.252525, atol=1e-6)


def test_token_split_conserves_the_hourly_cost():
    rng = np.random.default_rng(3)
    cost, t_in = rng.uniform(1, 100, 200), rng.uniform(1e3, 1e5, 200)
    t_out = rng.uniform(1e2, 1e4, 200)
    share, u = rng.uniform(0, 1, 200), rng.uniform(0.1, 1, 200)
    t = token_cost_usd_per_mtok(cost, t_in, t_out, share, u)
    served_mtok_in = t_in * 3600 * u / 1e6
    served_mtok_out = t_out * 3600 * u / 1e6
    # the tokens served in an hour, priced at the split rates, pay exactly the hour
    assert_allclose(
        served_mtok_in * t.input_usd_per_mtok + served_mtok_out * t.output_usd_per_mtok,
        cost,
        rtol=1e-12,
    )
    assert_allclose((served_mtok_in + served_mtok_out) * t.blended_usd_per_mtok, cost, rtol=1e-12)
    # blended equals cost_usd_per_mtok on all tokens
    assert_allclose(t.blended_usd_per_mtok, cost_usd_per_mtok(cost, t_in + t_out, u), rtol=1e-12)


def test_token_split_rejects_bad_share():
    with pytest.raises(ScenarioError, match=r"^prefill_time_share: 1.5 "):
        token_cost_usd_per_mtok(10.0, 1e4, 1e3, 1.5, 1.0)


# -- rentals -----------------------------------------------------------------------------------


def test_rental_rate_terms():
    r = _rental("a", "P", 3.0, 2.0)
    assert rental_rate_usd_per_accelerator_hour(r) == 3.0
    assert rental_rate_usd_per_accelerator_hour(r, "reserved") == 2.0
    assert rental_rate_usd_per_accelerator_hour(r, "any") == 2.0
    only_od = _rental("b", "P", 3.0)
    with pytest.raises(ScenarioError, match="no reserved price"):
        rental_rate_usd_per_accelerator_hour(only_od, "reserved")
    with pytest.raises(ScenarioError, match="unknown term 'spot'"):
        rental_rate_usd_per_accelerator_hour(only_od, "spot")  # type: ignore[arg-type]


def test_cheapest_rental_ignores_superseded_prices():
    rentals = {
        # the same offer at two dates: the 2023 price (1.99) has been replaced by 2.50
        "old": _rental("old", "A", 1.99, as_of=date(2023, 1, 1)),
        "new": _rental("new", "A", 2.50, as_of=date(2025, 6, 1)),
        "other": _rental("other", "B", 2.70, 2.10),
        "b200": _rental("b200", "B", 5.0, accelerator_id="b200", instance_type="B-b200"),
    }
    cat = FakeCatalog({"rentals": rentals})
    q = cheapest_rental(cat, "h100-sxm")
    assert (q.rental.id, q.usd_per_accelerator_hour) == ("new", 2.50)
    q = cheapest_rental(cat, "h100-sxm", "reserved")
    assert (q.rental.id, q.usd_per_accelerator_hour) == ("other", 2.10)
    assert cheapest_rental(cat, "h100-sxm", "any").usd_per_accelerator_hour == 2.10
    with pytest.raises(CatalogError, match="no reserved price for accelerator 'b200'"):
        cheapest_rental(cat, "b200", "reserved")
    with pytest.raises(CatalogError, match=r"no rental for accelerator 'h100'.*h100-sxm"):
        cheapest_rental(cat, "h100")


def test_cheapest_rental_in_the_shipped_catalog():
    cat = Catalog()
    q = cheapest_rental(cat, "h100-sxm", "on-demand")
    rows = [
        r
        for r in cat.table("rentals").values()
        if r.accelerator_id == "h100-sxm" and r.on_demand_usd_per_accelerator_hour is not None
    ]

    def superseded(r: CloudRental) -> bool:  # a later row of the same offer replaces it
        return any(
            (o.provider, o.instance_type, o.location) == (r.provider, r.instance_type, r.location)
            and o.as_of > r.as_of
            for o in rows
        )

    current = [r.on_demand_usd_per_accelerator_hour for r in rows if not superseded(r)]
    assert q.usd_per_accelerator_hour == min(current)
    assert q.rental.accelerator_id == "h100-sxm"
    # the superseded 2023 AWS list price (12.29 $/h) is not a current offer
    assert "aws-p5-48xlarge-2023" not in {r.id for r in rows if not superseded(r)}


# -- defaults ----------------------------------------------------------------------------------


def test_default_cost_inputs_reads_every_id():
    ci = default_cost_inputs(_assumption_catalog())
    assert ci == CostInputs(
        useful_life_years=5,
        cost_of_capital_per_year=0.08,
        system_share_of_accelerator_price=0.64,
        facility_capex_usd_per_mw=11.7e6,
        facility_life_years=20,
        operations_share_per_year=0.05,
        software_usd_per_accelerator_year=4500,
        default_utilization=0.8,
        idle_power_share_of_tdp=0.115,
        memory_power_share=0.88,
        network_share_of_cluster_capex=0.19,
    )
    # wired through, the defaults reproduce the worked buy case: 2.3996296 $/h
    c = ownership_cost_from_inputs(
        ci,
        price_usd=25_000,
        tdp_w=700,
        power_w=525.0,  # 0.75 x 700 W
        pue=1.3,
        electricity_usd_per_kwh=0.08,
    )
    assert isinstance(c, OwnershipCost)
    assert_allclose(c.total_usd_per_hour, 2.3996296, atol=1e-7)
    # a frozen dataclass: vary one assumption with dataclasses.replace
    longer = dataclasses.replace(ci, useful_life_years=6)
    assert longer.useful_life_years == 6 and ci.useful_life_years == 5


def test_default_cost_inputs_network_is_optional():
    ci = default_cost_inputs(_assumption_catalog(skip="network-share-of-cluster-capex"))
    assert ci.network_share_of_cluster_capex == 0.0


@pytest.mark.parametrize(
    "missing", ["facility-life-years", "cost-of-capital", "default-utilization"]
)
def test_default_cost_inputs_missing_id(missing):
    with pytest.raises(CatalogError, match=f"missing id '{missing}'"):
        default_cost_inputs(_assumption_catalog(skip=missing))


def test_default_cost_inputs_wrong_unit():
    message = "'useful-life-years' has unit 'fraction'; allowed: years"
    with pytest.raises(CatalogError, match=message):
        default_cost_inputs(_assumption_catalog(useful_life_years="fraction"))


def test_default_cost_inputs_from_the_shipped_catalog(tmp_path: Path):
    # the shipped table, with any id it lacks supplied by a user override directory
    shipped = Catalog().table("cost-assumptions")
    lines = ["id,value,unit,description,source,as_of"]
    for rid, (value, unit) in ALL_ASSUMPTIONS.items():
        if rid not in shipped:
            lines.append(f"{rid},{value},{unit},test value,test,2025-01-01")
    (tmp_path / "cost_assumptions.csv").write_text("\n".join(lines) + "\n")
    ci = default_cost_inputs(Catalog([tmp_path]))
    assert ci.useful_life_years == shipped["useful-life-years"].value
    assert 0 < ci.default_utilization <= 1
    assert 0 < ci.idle_power_share_of_tdp < 1
    assert 0 < ci.memory_power_share <= 1


def test_fixed_term_reservations_and_one_providers_offers():
    cat = Catalog()
    # a 12-month term only: the SemiAnalysis neocloud 1-year H100 contract index, the June
    # 2026 row (~2.65 $/GPU-h) superseding March's (2.35); Capacity Blocks and Hyperstack's
    # contracts state no 12-month term
    q = cheapest_rental(cat, "h100-sxm", "reserved-1y")
    assert (q.rental.reserved_term_months, q.usd_per_accelerator_hour) == (12, 2.65)
    # a 36-month term: SemiAnalysis's modelled 3-year-commit rate, $2.00 a GPU-hour
    # (InferenceX-app PR #1071, 2026-09-08), below the 1-year index's 2.65
    q3 = cheapest_rental(cat, "h100-sxm", "reserved-3y")
    assert (q3.rental.reserved_term_months, q3.usd_per_accelerator_hour) == (36, 2.0)
    # no 36-month A100 price is in the catalog (Hyperstack's contract states no term):
    # refused naming the term and the terms priced
    with pytest.raises(CatalogError, match=r"^rental_term: no reserved-3y price .*reserved$"):
        cheapest_rental(cat, "a100-sxm-80gb", "reserved-3y")
    # one provider's two terms (Hyperstack rate card, 2026-08-26): 3.20 on-demand, 2.72 reserved
    hs = "hyperstack (nexgen cloud)"  # any case
    assert cheapest_rental(cat, "h100-sxm", "on-demand", hs).usd_per_accelerator_hour == 3.2
    assert cheapest_rental(cat, "h100-sxm", "reserved", hs).usd_per_accelerator_hour == 2.72
    # AWS p5.48xlarge on-demand 55.04 $/h / 8 GPUs (instances.vantage.sh, 2026-04)
    assert cheapest_rental(cat, "h100-sxm", "on-demand", "AWS").usd_per_accelerator_hour == 6.88
    with pytest.raises(CatalogError, match=r"^rental_provider: no 'Lambda' rental .*'h200-sxm'"):
        cheapest_rental(cat, "h200-sxm", "on-demand", "Lambda")


def test_rental_provider_is_checked_and_for_rentals_only():
    from tokenfab.planning import evaluate
    from tokenfab.scenario import Scenario

    sc = {"model": "llama-3.1-8b", "accelerator": "h100-sxm", "ownership": "rent"}
    with pytest.raises(ScenarioError, match=r"^rental_provider: unknown provider 'Hyperstak'"):
        evaluate({**sc, "rental_provider": "Hyperstak"})
    with pytest.raises(ScenarioError, match=r"rental_provider: .*give ownership: rent"):
        Scenario.parse({**sc, "ownership": "buy", "rental_provider": "AWS"})
    # pinned: the provider's cheapest offer, its name in the price basis
    est = evaluate({**sc, "rental_provider": "hyperstack (nexgen cloud)"})
    assert est.cost.lines["rental"] == 3.2 and "Hyperstack" in est.cost.basis
