"""Tests of tokenfab.breakeven: hand calculations, invariants and the crossover definition."""

from __future__ import annotations

import json

import numpy as np
import pytest
from numpy.testing import assert_allclose

from tokenfab import breakeven as be
from tokenfab.errors import ScenarioError


def _rates(api: float | None = 0.88) -> be.BreakEvenRates:
    # 1:1 prompt:output, $2.25/h bought ($0.75/h of it operating), $50,000 of hardware per
    # accelerator, $2.69/h rented
    return be.BreakEvenRates(
        input_tokens=1000.0,
        output_tokens=1000.0,
        buy_usd_per_accelerator_hour=2.25,
        buy_operating_usd_per_accelerator_hour=0.75,
        upfront_usd_per_accelerator=50_000.0,
        rent_usd_per_accelerator_hour=2.69,
        rent_basis="test",
        api_usd_per_mtok_blended=api,
        api_provider="test",
        missing={},
    )


def _buy_usd(v, usd_per_accelerator_hour=2.25):
    # replicas of 8 accelerators carrying 10,000 output tok/s each, paid every hour of a month
    return be.accelerators_for_volume(v, 10_000.0, 8) * usd_per_accelerator_hour * 730.0


def test_api_monthly_cost_by_hand():
    # 1e8 output tokens/day with 1e8 prompt tokens at $0.88/Mtok blended = $1.76 per Mtok of
    # output; a month is 730 h / 24 = 30.41667 d: 1e8 x 30.41667 x 1.76 / 1e6 = $5,353.33
    assert _rates().api_usd_per_mtok_output == pytest.approx(1.76, rel=1e-12)
    assert_allclose(be.api_monthly_cost_usd(1e8, 1.76), 5353.33, atol=0.005)
    assert _rates(api=None).api_usd_per_mtok_output is None


def test_accelerators_for_volume_by_hand():
    # 1e9 tokens/day = 11,574 tok/s -> ceil(1.157) = 2 replicas of 8 = 16 accelerators;
    # 16 x $2.25 x 730 h = $26,280
    assert int(be.accelerators_for_volume(1e9, 10_000.0, 8)) == 16
    assert_allclose(_buy_usd(1e9), 26_280.0, rtol=1e-12)


def test_monotone_accelerators_and_linear_api():
    grid = np.logspace(5, 12, 701)
    n = be.accelerators_for_volume(grid, 10_000.0, 8)
    assert np.all(np.diff(n) >= 0)  # more volume never needs fewer accelerators
    api = be.api_monthly_cost_usd(grid, 1.76)
    assert_allclose(api / grid, api[0] / grid[0], rtol=1e-12)  # linear in V
    for i, v in enumerate(grid[::100]):  # a vector is its scalars
        assert int(be.accelerators_for_volume(v, 10_000.0, 8)) == n[100 * i]


def test_payback_by_hand_and_none_when_no_saving():
    # $400,000 / ($50,000 - $10,000) = 10 months
    assert_allclose(be.payback_months(400_000, 50_000, 10_000), 10.0)
    assert np.isnan(be.payback_months(400_000, 10_000, 10_000))  # saving 0: never
    assert np.isnan(be.payback_months(400_000, 5_000, 10_000))  # saving < 0: never
    # at 1e6 tokens/day the API bill ($53.53) is below one 8-accelerator replica's operating
    # cost (8 x $0.75 x 730 h = $4,380): never; renting it costs 8 x $2.69 x 730 = $15,709.60,
    # so buying ($400,000 up front) pays back in 400,000 / (15,709.6 - 4,380) = 35.3 months
    c = be.MonthlyCosts(
        tokens_per_day=np.array([1e6]),
        accelerators=np.array([8]),
        buy_usd=np.array([8 * 2.25 * 730.0]),
        rent_usd=np.array([8 * 2.69 * 730.0]),
        api_usd=be.api_monthly_cost_usd(np.array([1e6]), 1.76),
        buy_operating_usd=np.array([8 * 0.75 * 730.0]),
        upfront_usd=np.array([400_000.0]),
    )
    assert np.isnan(be.payback_at(c, "api")[0])
    assert_allclose(be.payback_at(c, "rent"), [400_000 / (15_709.6 - 4_380)], rtol=1e-12)


def test_upfront_network_formula():
    # 25,000 x 1.6 / (1 - 0.2) = 50,000
    assert_allclose(be.upfront_usd_per_accelerator(25_000, 0.6, 0.2), 50_000.0)


def test_crossover_consistency():
    grid = be.FINE_GRID_TOKENS_PER_DAY
    buy, api = _buy_usd(grid), be.api_monthly_cost_usd(grid, 1.76)
    x = be.crossover_tokens_per_day(grid, buy, api)
    assert x is not None
    i = int(np.flatnonzero(grid == x)[0])
    assert i > 0
    assert buy[i] <= api[i]
    assert buy[i - 1] > api[i - 1]
    # one replica costs 8 x 2.25 x 730 = $13,140 a month; the API bill reaches it at
    # 13,140 / (30.41667 x 1.76 / 1e6) = 2.4546e8 tokens/day, within one grid step (200/decade)
    assert_allclose(x, 2.4546e8, rtol=10 ** (1 / 200) - 1 + 1e-4)
    sustained = be.crossover_tokens_per_day(grid, buy, api, sustained=True)
    assert sustained is not None and sustained >= x
    assert np.all(buy[grid >= sustained] <= api[grid >= sustained])


def test_crossover_none_when_never_cheaper():
    grid = be.FINE_GRID_TOKENS_PER_DAY
    api = be.api_monthly_cost_usd(grid, 0.0002)
    assert be.crossover_tokens_per_day(grid, _buy_usd(grid), api) is None


def test_missing_options_are_nan_and_never_cheapest():
    nan = np.array([np.nan])
    c = be.MonthlyCosts(np.array([1e8]), np.array([8]), np.array([1.0]), nan, nan, nan, nan)
    assert c.cheapest() == ["buy"]


def test_hybrid_saving():
    assert_allclose(be.hybrid_saving(0.0, 0.035, 0.88), 0.0)  # nothing at the edge
    # 1 - (0.7 x 0.035 + 0.3 x 0.88) / 0.88 = 0.672159
    assert_allclose(be.hybrid_saving(0.7, 0.035, 0.88), 0.672159, atol=1e-6)
    assert_allclose(be.hybrid_saving(1.0, 0.0, 0.88), 1.0)  # free edge saves everything


@pytest.mark.parametrize(
    "call",
    [
        lambda: be.hybrid_saving(1.5, 0.1, 1.0),
        lambda: be.hybrid_saving(0.5, 0.1, 0.0),
        lambda: be.accelerators_for_volume(-1.0, 10_000.0, 8),
        lambda: be.api_monthly_cost_usd(-1.0, 1.76),
        lambda: be.crossover_tokens_per_day([2, 1], [1, 1], [1, 1]),
        lambda: be.upfront_usd_per_accelerator(1000, 0.5, 1.0),
    ],
)
def test_bad_input_raises_scenario_error(call):
    with pytest.raises(ScenarioError):
        call()


def test_from_catalog_estimate():
    from tokenfab.catalog import default_catalog
    from tokenfab.planning import evaluate
    from tokenfab.scenario import Scenario

    cat = default_catalog()
    sc = Scenario.parse({"model": "llama-3.1-70b", "accelerator": "h100-sxm", "accelerators": 8})
    r = be.breakeven_rates(evaluate(sc, cat), cat)
    # the API price is the catalog's cheapest for the model; buy is dearer per hour than 0
    assert r.api_usd_per_mtok_blended is not None and r.buy_usd_per_accelerator_hour > 0
    assert r.buy_operating_usd_per_accelerator_hour < r.buy_usd_per_accelerator_hour


def test_breakeven_has_no_fixed_8_accelerator_minimum():
    # Issue 8: crossovers rested on a replica group of one node (8 H100). Without a count, each
    # volume takes the layout needing the fewest accelerators: Llama-3.1-70B in fp8 fits one
    # H100 (~70 GB of weights in 80 GB), so 1e6 output tokens a day (11.6 tok/s) needs 1.
    from tokenfab.breakeven import analyse

    a = analyse(
        {"model": "llama-3.1-70b", "accelerator": "h100-sxm", "region": "us", "precision": "fp8"}
    )
    assert int(a.grid.accelerators[0]) == 1
    # more volume never needs fewer accelerators
    assert np.all(np.diff(a.fine.accelerators) >= 0)
    # a given count is honoured as the group the fleet grows by: whole groups of 8 at every
    # volume (it once grew by the replica of the count's own point, 2 H100 in TP2)
    fixed = analyse(
        {
            "model": "llama-3.1-70b",
            "accelerator": "h100-sxm",
            "region": "us",
            "precision": "fp8",
            "accelerators": 8,
        }
    )
    assert int(fixed.grid.accelerators[0]) == 8
    assert np.all(fixed.fine.accelerators % 8 == 0)
    assert np.all(fixed.grid.rent_accelerators % 8 == 0)


@pytest.mark.parametrize("model", ["llama-3.1-70b", "gpt-oss-120b"])
def test_a_fixed_group_is_what_estimate_gives_its_count_for_the_demand(model):
    # Invariant: breakeven --accelerators 8 installs whole groups of 8 at each volume, the
    # fewest whose count carries the peak within the targets with the 2 s queue headroom a
    # sizing keeps; a row with n accelerators is `estimate --accelerators n` for that volume
    # and ownership, to the last digit (count_point, the same search on a fixed count). One
    # group fewer cannot carry it, or only with a longer queue.
    from tokenfab.catalog import default_catalog
    from tokenfab.errors import InfeasibleError
    from tokenfab.planning import evaluate
    from tokenfab.scenario import Scenario

    cat = default_catalog()
    base = {"model": model, "accelerator": "h100-sxm", "precision": "fp8", "region": "us"}
    a = be.analyse({**base, "accelerators": 8}, cat)
    for i in (6, 8, 10):  # 1e9, 1e10, 1e11 tokens a day
        v = float(a.grid.tokens_per_day[i])
        for own, usd, n in (
            ("buy", a.grid.buy_usd, a.grid.accelerators),
            ("rent", a.grid.rent_usd, a.grid.rent_accelerators),
        ):
            sc = {**base, "tokens_per_day": v, "ownership": own}
            e = evaluate(Scenario.parse({**sc, "accelerators": int(n[i])}), cat)
            assert_allclose(usd[i], e.as_dict()["monthly_cost_usd"], rtol=1e-12)
            if n[i] > 8:
                try:
                    fewer = evaluate(Scenario.parse({**sc, "accelerators": int(n[i]) - 8}), cat)
                except InfeasibleError:
                    continue
                assert fewer.op.queue_wait_s > 2.0


def test_the_fewest_groups_are_the_first_count_that_carries_not_a_halving():
    # _fewest_groups returns the fewest k >= k0 that carries, whatever carries above it. Here
    # k carries at 37, 41, 45, ... (k = 1 mod 4 from 37): a halving between counts that do
    # and do not carry (the search until 2026-12-01 probed k0 + 2**j - 1 = 32, 64, 128, ...,
    # each 0 mod 4) misses them all; 37 is the answer, and every count below it was tried
    tried = []

    def carried(k):
        tried.append(k)
        return k if k >= 37 and k % 4 == 1 else None

    assert be._fewest_groups(1, carried, "refused") == 37
    assert set(range(1, 38)) <= set(tried)
    # known not to carry: not tried (may_carry), the same answer
    tried.clear()
    assert be._fewest_groups(1, carried, "refused", lambda k: k % 4 == 1) == 37
    assert all(k % 4 == 1 for k in tried)
    # one count that carries (41) among counts that do not, past 48 all do: 41
    assert be._fewest_groups(1, lambda k: k if k == 41 or k >= 48 else None, "r") == 41


def test_the_fewest_groups_refuse_in_one_line_when_none_tried_carries():
    # None carries: refused after the 16 counts from k0 and 16 from each k0 + 2**j - 1, j =
    # 5 .. 25 (16 + 21 x 16 = 352 tried), not 2**25 of them
    from tokenfab.errors import InfeasibleError

    tried = []
    with pytest.raises(InfeasibleError, match=r"^accelerators: none carries$"):
        be._fewest_groups(3, lambda k: tried.append(k), "accelerators: none carries")
    assert len(tried) == 16 + 21 * 16


@pytest.mark.parametrize(
    ("fields", "group", "tokens_per_day"),
    [
        # Mixtral 8x7B on MI300X in groups of 4 at 10**11.78 = 6.03e11 tokens a day (a volume
        # of the fine grid): 516 groups, 2,064 MI300X, carry it; 2,068 (517 groups, which
        # replicas of 8 do not divide) do not (with the collective-latency refit of 2026-12-01;
        # the case was 10**11.74, 1,856 and 1,860, with the smooth GEMM maximum, and 10**11.75,
        # 1,920 and 1,924, before it). The halving 16 groups past the bound
        # returned 1,928 for 1,920 at 10**11.75 (and 3,424 for 3,416 at 1e12): 21 of the 1,401
        # fine volumes were off
        ({"model": "mixtral-8x7b", "accelerator": "mi300x"}, 4, 10**11.78),
        ({"model": "mixtral-8x7b", "accelerator": "mi300x"}, 4, 1e12),
        # chat's TTFT target (0.45 s), groups of 3 (which replicas of 2, 4 and 8 divide only
        # in some counts), and disaggregated pools (two replicas at least)
        ({"model": "llama-3.1-70b", "accelerator": "h100-sxm", "workload": "chat"}, 3, 1e10),
        ({"model": "llama-3.1-70b", "accelerator": "h100-sxm", "disaggregated": True}, 8, 3e10),
    ],
    ids=["mixtral-6.0e11", "mixtral-1e12", "llama-chat-3", "llama-disaggregated-8"],
)
def test_a_fixed_group_is_the_fewest_count_that_carries_by_brute_force(
    fields, group, tokens_per_day
):
    # Invariant: breakeven's count of whole groups is the first of 1, 2, 3, ... groups whose
    # count estimate places (count_point on the sizing grid, as estimate --accelerators) within
    # the targets and, without a TTFT target, with the mean queueing wait at the peak within
    # 2 s; and estimate --accelerators gives that count for the volume
    from tokenfab.catalog import default_catalog
    from tokenfab.cost import default_cost_inputs
    from tokenfab.errors import InfeasibleError
    from tokenfab.planning import evaluate, hourly_rate
    from tokenfab.scenario import Scenario
    from tokenfab.sizing import count_point, demand_output_tok_s, sizing_grid

    cat = default_catalog()
    inputs = default_cost_inputs(cat)
    sc = Scenario.parse({**fields, "tokens_per_day": tokens_per_day})
    at, buy, rent = be._plan_fleets(sc, cat, group)
    at(tokens_per_day)
    sg = sizing_grid(sc, cat)
    d = float(demand_output_tok_s(sc, sg.setup.output_tokens))

    def carries(n, rate):
        try:
            op = count_point(sg, n, d, sc.peak_to_average, rate, inputs)
        except InfeasibleError:
            return False
        return sc.ttft_slo_s is not None or op.queue_wait_s <= 2.0 * (1 + 1e-9)

    for own, sized in (("buy", buy), ("rent", rent)):
        rate = hourly_rate(sc.with_(ownership=own), sg.setup, cat, inputs)
        n = next(k * group for k in range(1, 10**5) if carries(k * group, rate))
        assert sized.accelerators[tokens_per_day] == n, (own, n)
        e = evaluate(sc.with_(ownership=own, accelerators=n), cat)
        assert e.accelerators_needed == n
        if fields["model"] == "mixtral-8x7b":  # more groups carry less: one more does not
            assert not carries(n + group, rate)


def test_an_accelerator_without_power_leaves_buy_missing_not_a_crash():
    """tpu-v6e lists no tdp_w and no purchase price (Google rents TPUs, sells none): buy is
    missing, saying why (the price), and rent is priced (the rent is the cost)."""
    from tokenfab.catalog import default_catalog
    from tokenfab.planning import evaluate
    from tokenfab.scenario import Scenario

    cat = default_catalog()
    sc = Scenario.parse({"model": "llama-3.1-8b", "accelerator": "tpu-v6e"})
    r = be.breakeven_rates(evaluate(sc, cat), cat)
    assert r.buy_usd_per_accelerator_hour is None
    assert "tpu-v6e has no sourced purchase price" in r.missing["buy"]
    assert r.rent_usd_per_accelerator_hour == pytest.approx(2.70)  # gcp-tpu-v6e-2024-12


def test_the_queue_bound_adds_the_replicas_plan_adds():
    # 1e9 output tokens a day = 11,574 tok/s on replicas of 11,750 tok/s with 1,000-token
    # answers: one carries it at 98.5 % busy, but then each replica serves a request every
    # 1000 / 11,750 = 0.0851 s and the M/D/1 wait is 0.985 x 0.0851 / (2 x 0.015) = 2.8 s;
    # with at most 2 s (MLPerf's Llama 2 70B Server TTFT limit) it takes two
    from tokenfab.sizing import DEFAULT_QUEUE_WAIT_S

    assert int(be.accelerators_for_volume(1e9, 11_750.0, 1)) == 1
    n = be.accelerators_for_volume(1e9, 11_750.0, 1, output_tokens=1000, queue_wait_s=2.0)
    assert int(n) == 2
    assert DEFAULT_QUEUE_WAIT_S == 2.0


@pytest.mark.parametrize(
    ("model", "workload"),
    [("llama-3.1-70b", None), ("llama-3.1-8b", "chat"), ("gpt-oss-120b", None)],
)
def test_breakeven_rows_are_plans_deployments_bought_and_rented(model, workload):
    # Invariant: one demand, one answer. A breakeven row at V tokens a day is what `plan`
    # answers for V with that ownership: the same accelerators and the same monthly cost, to
    # the last digit, bought (ranked and priced with power at its utilisation) and rented.
    # Breakeven once sized each volume with its own rule (the layout with the fewest
    # accelerators at a fixed capacity) and priced every volume at the power of the 1e6
    # volume's point: $8,029 against plan's $8,303 a month for Llama 3.1 70B FP8 on H100 at
    # 1e9. Dense (70B; 8B under chat's TTFT and TPOT targets) and MoE (gpt-oss-120b).
    from tokenfab.catalog import default_catalog
    from tokenfab.planning import plan
    from tokenfab.scenario import Scenario

    cat = default_catalog()
    base = {"model": model, "accelerator": "h100-sxm", "precision": "fp8", "region": "us"}
    if workload:
        base["workload"] = workload
    a = be.analyse(base, cat)
    for i in (2, 6, 8, 10):  # 1e7, 1e9, 1e10, 1e11 tokens a day
        v = float(a.grid.tokens_per_day[i])
        for own, usd, n in (
            ("buy", a.grid.buy_usd, a.grid.accelerators),
            ("rent", a.grid.rent_usd, a.grid.rent_accelerators),
        ):
            sc = Scenario.parse({**base, "tokens_per_day": v, "ownership": own})
            (option,) = plan(sc, ["h100-sxm"], ["us"], [own], cat)
            assert int(n[i]) == option.estimate.accelerators_needed, (v, own)
            assert_allclose(usd[i], option.estimate.as_dict()["monthly_cost_usd"], rtol=1e-12)


def test_breakeven_crossovers_equal_those_of_every_fine_volume():
    # the crossovers come from every 10th fine volume, refined where buying changes side
    # against the API or renting (plan_monthly_costs): on the fine grid from 1e7 to 1e8 tokens
    # a day they equal those of sizing each of its 201 volumes, one search each. Llama 3.1 70B
    # FP8 on H100: one accelerator is cheaper than the API from 2.57e7, dearer again once a
    # second is needed, cheaper for good from 5.13e7 (claims.md section 1)
    from tokenfab.catalog import default_catalog

    cat = default_catalog()
    a = be.analyse({"model": "llama-3.1-70b", "accelerator": "h100-sxm", "precision": "fp8"}, cat)
    v = be.FINE_GRID_TOKENS_PER_DAY[400:601]  # 1e7 to 1e8
    api = a.rates.api_usd_per_mtok_output
    coarse = be.plan_monthly_costs(a.scenario, cat, v, api, refine=True)
    full = be.plan_monthly_costs(a.scenario, cat, v, api)
    assert coarse.tokens_per_day.size < 0.2 * v.size
    for x, y in ((coarse.api_usd, full.api_usd), (coarse.rent_usd, full.rent_usd)):
        w, f = coarse.tokens_per_day, full.tokens_per_day
        for sustained in (False, True):
            got = be.crossover_tokens_per_day(w, coarse.buy_usd, x, sustained)
            assert got == be.crossover_tokens_per_day(f, full.buy_usd, y, sustained)
    assert be.crossover_tokens_per_day(v, full.buy_usd, full.api_usd) == pytest.approx(
        2.5704e7, rel=1e-4
    )
    assert be.crossover_tokens_per_day(v, full.buy_usd, full.api_usd, True) == pytest.approx(
        5.1286e7, rel=1e-4
    )


def test_the_refined_fine_grid_is_strictly_ascending():
    # the refinement adds volumes between two sized ones where buying changes side; it once
    # iterated over the list it appended to and sized a volume twice (Llama 3.1 8B BF16 on
    # H100: "the grid must be strictly ascending" from the CLI)
    a = be.analyse({"model": "llama-3.1-8b", "accelerator": "h100-sxm", "region": "us"})
    assert np.all(np.diff(a.fine.tokens_per_day) > 0)
    assert set(a.fine.tokens_per_day) <= set(be.FINE_GRID_TOKENS_PER_DAY)


def test_breakeven_with_a_prefill_pool_installs_what_plan_installs():
    # Llama 3.1 70B FP8, decode on B200, prefill on H100: a row at V is plan's two pools for
    # V (tokenfab.perf.hetero.hetero_point sized for it, priced by tokenfab.pools), bought and
    # rented, to the last digit. Breakeven once grew the two pools of the point without a
    # demand: 34 against plan's 33 accelerators at 1e10, costs within 2 % (the factors of
    # 2026-12-01 with the plain roofline maximum); with the smooth GEMM maximum plan itself
    # needed 34 there, 35 after the collective-latency refit, 36 after the all-reduce and
    # per-kernel refit (the second of 2026-12-01: 20 H100 prefilling at 5,849 prompt tok/s
    # each, 16 B200 decoding), and 31 after the block-scaled FP8 refit (Hopper's FP8 compute
    # efficiency 0.42 -> 0.56): 1e10 / 86,400 = 115,741 output tok/s with as many prompt
    # tokens (1,000 in, 1,000 out), over an H100's 7,810 prompt tok/s = 14.8 -> 15 prefilling,
    # over a B200's 7,537 output tok/s = 15.4 -> 16 decoding.
    from tokenfab.catalog import default_catalog
    from tokenfab.planning import plan
    from tokenfab.scenario import Scenario

    cat = default_catalog()
    base = {
        "model": "llama-3.1-70b",
        "accelerator": "b200",
        "prefill_accelerator": "h100-sxm",
        "precision": "fp8",
        "region": "us",
    }
    a = be.analyse(base, cat)
    assert a.rates.rent_basis.startswith("prefill h100-sxm: ")
    for i in (6, 8, 10):  # 1e9, 1e10, 1e11 tokens a day
        v = float(a.grid.tokens_per_day[i])
        for own, usd, n in (
            ("buy", a.grid.buy_usd, a.grid.accelerators),
            ("rent", a.grid.rent_usd, a.grid.rent_accelerators),
        ):
            sc = Scenario.parse({**base, "tokens_per_day": v, "ownership": own})
            (option,) = plan(sc, ["b200"], ["us"], [own], cat)
            assert int(n[i]) == option.estimate.accelerators_needed, (v, own)
            assert_allclose(usd[i], option.estimate.as_dict()["monthly_cost_usd"], rtol=1e-12)
            if i == 8 and own == "buy":
                d = option.estimate.as_dict()
                assert (d["prefill_accelerators"], d["decode_accelerators"]) == (15, 16)
    assert int(a.grid.accelerators[8]) == 15 + 16  # plan's count after the block-scaled refit


def test_a_prefill_pools_rates_are_the_pools_of_estimate_without_a_demand():
    # each pool's accelerator-hour at its own pool's utilisation, as estimate prices it
    # without a demand (tokenfab.pools.evaluate_pools: served = 0.8 x what the pools carry,
    # each pool busy served / its capacity), not both at the catalog's 0.8
    from tokenfab.catalog import default_catalog
    from tokenfab.planning import evaluate
    from tokenfab.scenario import Scenario

    cat = default_catalog()
    sc = Scenario.parse(
        {
            "model": "llama-3.1-70b",
            "accelerator": "b200",
            "prefill_accelerator": "h100-sxm",
            "precision": "fp8",
        }
    )
    rates = be.pool_breakeven_rates(sc, cat)
    for own, got in (
        ("buy", rates.buy_usd_per_accelerator_hour),
        ("rent", rates.rent_usd_per_accelerator_hour),
    ):
        decode = evaluate(sc.with_(ownership=own), cat).pools.decode
        assert_allclose(got, decode.cost.total_usd_per_hour, rtol=1e-12)


def test_a_fixed_decode_group_beside_a_prefill_pool_is_what_estimate_gives():
    # Invariant: breakeven --prefill-accelerator b200 --accelerators 8 installs whole groups
    # of 8 decoding H100 at each volume, the fewest that carry its peak, with the prefill pool
    # sized for it; a row with d decode accelerators is `estimate --prefill-accelerator b200
    # --accelerators d` for that volume and ownership, to the last digit, and d - 8 cannot
    # carry it. By hand at 1e9 tokens a day (11,574 tok/s): one group (8 H100 decoding, 1
    # B200 prefilling) carries it; rented, (8 x $2.69 RunPod H100 SXM + 1 x $6.00 Hyperstack
    # B200) x 730 h = $20,089.60 a month. Breakeven once grew the decode replica of the group's
    # point without a demand (4 H100) beside its prefill replica, priced at the catalog's
    # default utilisation: 5 accelerators, $7,281 bought and $12,235 rented at 1e8 and 1e9,
    # against estimate's 9, $12,653 / $12,770 and $20,090.
    from tokenfab.catalog import default_catalog
    from tokenfab.errors import InfeasibleError
    from tokenfab.planning import evaluate
    from tokenfab.scenario import Scenario

    cat = default_catalog()
    base = {
        "model": "llama-3.1-70b",
        "accelerator": "h100-sxm",
        "prefill_accelerator": "b200",
        "precision": "fp8",
        "region": "us",
    }
    a = be.analyse({**base, "accelerators": 8}, cat)
    for i in (4, 6, 8, 10):  # 1e8, 1e9, 1e10, 1e11 tokens a day
        v = float(a.grid.tokens_per_day[i])
        for own, usd, n in (
            ("buy", a.grid.buy_usd, a.grid.accelerators),
            ("rent", a.grid.rent_usd, a.grid.rent_accelerators),
        ):
            sc = {**base, "tokens_per_day": v, "ownership": own}
            d = None
            for k in range(1, 200):  # the fewest whole groups estimate accepts
                try:
                    e = evaluate(Scenario.parse({**sc, "accelerators": 8 * k}), cat)
                except InfeasibleError:
                    continue
                d = 8 * k
                break
            assert d is not None
            assert int(n[i]) == e.accelerators_needed == d + e.pools.prefill.accelerators
            assert_allclose(usd[i], e.as_dict()["monthly_cost_usd"], rtol=1e-9)
            if own == "buy":  # the lines paid month by month and the hardware, as estimate
                lines = sum(e.cost.lines[k] for k in be.OPERATING_LINES) * e.accelerators_needed
                assert_allclose(a.grid.buy_operating_usd[i], lines * 730, rtol=1e-9)
    assert_allclose(a.grid.rent_usd[6], (8 * 2.69 + 1 * 6.00) * 730, rtol=1e-9)
    assert int(a.grid.accelerators[6]) == 9


@pytest.mark.parametrize("prefill", [None, "b200"])
def test_a_group_that_cannot_hold_the_model_is_refused_with_or_without_a_prefill_pool(prefill):
    # Llama 3.1 70B in BF16 is 141 GB of weights: more than one 80 GB H100 holds. A group of
    # one is refused in one line, with a prefill pool as without: one rule for both paths
    # (the searches step one group at a time near their bound, and counts of groups that
    # do not hold the model alone are not monotone: odd counts of one H100 hold no layout)
    from tokenfab.errors import InfeasibleError

    req = {"model": "llama-3.1-70b", "accelerator": "h100-sxm", "accelerators": 1}
    if prefill:
        req["prefill_accelerator"] = prefill
    with pytest.raises(InfeasibleError, match=r"^accelerators: .* needs at least 2 x h100-sxm"):
        be.analyse(req)


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"accelerators": 8},
        {"prefill_accelerator": "b200"},
        {"prefill_accelerator": "b200", "accelerators": 8},
    ],
    ids=["plan", "groups", "pools", "pools-groups"],
)
def test_every_field_of_a_row_is_estimates_for_that_volume(extra):
    # Invariant: each of breakeven's four paths (plan's deployment, whole groups of 8, plan's
    # two pools, whole decode groups beside a prefill pool) sizes every volume on grids made
    # once (sizing_grid, hetero_grid) with the rates of one ownership made once; a row is
    # still, field by field, `estimate` for that volume and ownership (with the fewest whole
    # groups it accepts where a group is given): the accelerators bought and rented, the
    # monthly cost, the lines paid month by month (x 730 h) and the hardware bought up front
    # (each pool's accelerators x its price with server and network shares)
    from tokenfab.catalog import default_catalog
    from tokenfab.cost import default_cost_inputs
    from tokenfab.errors import InfeasibleError
    from tokenfab.planning import evaluate
    from tokenfab.scenario import Scenario

    cat = default_catalog()
    inputs = default_cost_inputs(cat)
    base = {"model": "llama-3.1-70b", "precision": "fp8", "accelerator": "h100-sxm", **extra}
    a = be.analyse(base, cat)
    group = extra.get("accelerators")
    for i in (4, 7):  # 1e8 and 3.16e9 tokens a day
        v = float(a.grid.tokens_per_day[i])
        for own, n in (("buy", a.grid.accelerators), ("rent", a.grid.rent_accelerators)):
            sc = {**base, "tokens_per_day": v, "ownership": own, "accelerators": None}
            e = None
            for k in range(1, 100) if group else [None]:  # the fewest groups estimate accepts
                try:
                    e = evaluate(Scenario.parse({**sc, "accelerators": k and k * group}), cat)
                    break
                except InfeasibleError:
                    continue
            assert int(n[i]) == e.accelerators_needed, (v, own)
            usd = a.grid.buy_usd if own == "buy" else a.grid.rent_usd
            assert_allclose(usd[i], e.as_dict()["monthly_cost_usd"], rtol=1e-12)
            if own == "buy":
                lines = sum(e.cost.lines.get(k, 0.0) for k in be.OPERATING_LINES)
                assert_allclose(a.grid.buy_operating_usd[i], lines * n[i] * 730, rtol=1e-12)
                pools = [(e.accelerators_needed, e.op.setup.accelerator)]
                if e.pools is not None:
                    pools = [
                        (p.accelerators, p.accelerator) for p in (e.pools.prefill, e.pools.decode)
                    ]
                upfront = sum(m * be.accelerator_upfront_usd(acc, inputs) for m, acc in pools)
                assert_allclose(a.grid.upfront_usd[i], upfront, rtol=1e-12)


@pytest.mark.parametrize("model", ["llama-3.1-70b", "llama-3.1-8b"])
def test_breakeven_without_a_format_takes_plans_format_at_each_volume(model):
    # Invariant: breakeven without --precision installs at V what `plan` installs for V,
    # format included: plan compares the model's native BF16 with FP8 on an accelerator with
    # an FP8 peak (planning._precisions) and takes the cheaper a month, for each ownership.
    # Breakeven once kept BF16: Llama 3.1 70B on H100 at 1e9 tokens a day, 12 H100 at
    # $16,665 a month bought, while plan gave 6 in FP8 at $8,383.
    from tokenfab.catalog import default_catalog
    from tokenfab.planning import plan
    from tokenfab.scenario import Scenario

    cat = default_catalog()
    base = {"model": model, "accelerator": "h100-sxm", "region": "us"}
    a = be.analyse(base, cat)
    g = a.grid
    for i in (0, 4, 6, 8):  # 1e6, 1e8, 1e9, 1e10 tokens a day
        v = float(g.tokens_per_day[i])
        for own, usd, n, fmt in (
            ("buy", g.buy_usd, g.accelerators, g.precision),
            ("rent", g.rent_usd, g.rent_accelerators, g.rent_precision),
        ):
            sc = Scenario.parse({**base, "tokens_per_day": v, "ownership": own})
            best = plan(sc, ["h100-sxm"], ["us"], [own], cat)[0]
            d = best.estimate.as_dict()
            assert str(fmt[i]) == d["precision"], (v, own)
            assert int(n[i]) == best.estimate.accelerators_needed, (v, own)
            assert_allclose(usd[i], d["monthly_cost_usd"], rtol=1e-12)
    if model == "llama-3.1-70b":  # the QA case: plan's FP8, 6 H100 at $8,287 after the
        # block-scaled FP8 refit (Hopper's FP8 compute efficiency 0.42 -> 0.56): 1e9 / 86,400
        # = 11,574 output tok/s over replicas of 2 H100 (tensor parallel 2) carrying 2 x 1,988
        # = 3,976 tok/s = 2.91 -> 3 replicas, 6 H100 x $1.892 an owned hour x 730 h = $8,287
        # (BF16: 12 H100, $16,603). 8 H100 at $10,868 after the all-reduce and per-kernel
        # refit of 2026-12-01, $10,867 after the collective-latency refit before it, $10,879
        # with the smooth GEMM maximum; 6 at $8,383 with the plain maximum.
        assert (str(g.precision[6]), int(g.accelerators[6])) == ("fp8", 6)
        assert g.buy_usd[6] == pytest.approx(6 * 1.8919 * 730, abs=1)


def test_breakeven_names_its_format_in_the_rows_and_the_title():
    # a format given is every row's; the CLI title names it (JSON: each row's precision).
    # Llama 3.1 70B in BF16 on H100 at 1e9: twice the weight bytes of FP8, 12 H100 not 6
    from typer.testing import CliRunner

    from tokenfab.cli import app

    args = ["breakeven", "--model", "llama-3.1-70b", "--accelerator", "h100-sxm"]
    out = CliRunner().invoke(app, [*args, "--precision", "bf16", "--json"])
    assert out.exit_code == 0, out.output
    d = json.loads(out.output)
    assert {r["precision"] for r in d["rows"]} == {"bf16"}
    assert {r["rent_precision"] for r in d["rows"]} == {"bf16"}
    assert d["rows"][6]["accelerators"] == 12
    # without a format each row takes plan's, so the title names every format the rows hold.
    # On H100 every row is FP8 since the block-scaled FP8 refit (Hopper's FP8 compute
    # efficiency 0.42 -> 0.56; the rented row at 3.16e8 was BF16 on 4 H100 before), so the
    # two formats are shown on B200: BF16's 141 GB of weights fit one B200 (180 GB), so up to
    # 1e8 tokens a day one B200 serves either format, rented at the same $6.00/h = $4,380 a
    # month, and the tie goes to the native BF16 (plan's order); bought, FP8 draws less power
    # (671 W against 784 W at 1e6: $1,713 against $1,724 a month). From 3.16e8 BF16 needs 2
    # B200 and FP8 still 1: FP8 both ways.
    args = ["breakeven", "--model", "llama-3.1-70b", "--accelerator", "b200"]
    out = CliRunner().invoke(app, args)
    assert out.exit_code == 0, out.output
    rows = json.loads(CliRunner().invoke(app, [*args, "--json"]).output)["rows"]
    assert [r["precision"] for r in rows] == ["fp8"] * 11
    assert [r["rent_precision"] for r in rows] == ["bf16"] * 5 + ["fp8"] * 6
    assert "Break-even: llama-3.1-70b fp8 or bf16 by volume on b200 (us)" in out.output


def test_a_payback_beyond_the_useful_life_is_not_reported():
    # Llama 3.1 70B FP8 on one H100 at 10M tokens a day: hardware 27,500 x 1.64 / 0.81 =
    # $55,679 up front (system share 0.64, network 0.19), the API bill 1e7 x 30.42 x $1.76 /
    # 1e6 = $535.33 a month against $255.69 of operating cost (its power at the busy shares of
    # the block-scaled FP8 refit; $255.69, $255.71 and $255.77 before): 55,679 / 279.64 = 199
    # months, beyond the 5-year useful life (60 months): null with the reason, not "199.1
    # months" (in BF16, the format breakeven kept, it printed 4427.7 months). At 1e9, 6 H100
    # since the block-scaled FP8 refit: 6 x 55,679 = $334,074 up front, the API bill 1e9 x
    # 30.42 x $1.76 / 1e6 = $53,533.33 against $1,623.61 of operating cost: 334,074 /
    # 51,909.72 = 6.44 months, within the life (8.6 on 8 H100 before; 6.4 on 6 with the plain
    # maximum).
    from tokenfab.schema import BreakevenResult

    a = be.analyse({"model": "llama-3.1-70b", "accelerator": "h100-sxm", "region": "us"})
    assert a.useful_life_years == 5.0
    assert a.payback_vs_api_months[0] == pytest.approx(55_679.01 / (535.333 - 255.689), rel=1e-4)
    r = BreakevenResult.from_analysis(a)
    key = "payback_vs_api_at_10M_tokens_per_day_months"
    assert getattr(r, key) is None
    assert r.payback_reasons[key].startswith("not within the 5-year useful life (60 months)")
    assert int(a.grid.accelerators[6]) == 6
    assert r.payback_vs_api_at_1B_tokens_per_day_months == pytest.approx(
        6 * 55_679.01 / (53_533.33 - 1_623.61), rel=1e-4
    )
    assert "payback_vs_api_at_1B_tokens_per_day_months" not in r.payback_reasons
    lines = dict(r.summary_lines())
    assert lines["payback of buying vs the API at 10M tokens/day"].startswith("not within")
    assert be.payback_within_life(60.0, 5.0) == (60.0, "")  # the life itself pays back
    assert be.payback_within_life(60.01, 5.0)[0] is None
    assert be.payback_within_life(float("nan"), 5.0)[1].startswith("never")
