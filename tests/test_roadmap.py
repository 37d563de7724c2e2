"""The roadmap: each lever's saving is the difference of two estimates; the plan re-estimates."""

from __future__ import annotations

from functools import cache

import pytest
from numpy.testing import assert_allclose

from tokenfab.errors import TokenfabError
from tokenfab.planning import evaluate
from tokenfab.roadmap import (
    MTP_ACCEPTANCE_RATE,
    PREFIX_CACHE_HIT_RATE,
    Point,
    rank,
    roadmap,
    routed_point,
)
from tokenfab.scenario import Scenario

# rented, with the batch and the layout fixed by hand, so that every lever has room
BASE = Scenario.parse(
    {
        "model": "llama-3.1-70b",
        "accelerator": "h100-sxm",
        "precision": "bf16",
        "workload": "chat",
        "tokens_per_day": 2e9,
        "ownership": "rent",
        "batch_size": 32,
        "tensor_parallel": 4,
        "ttft_slo_s": 30,
        "tpot_slo_s": 0.2,
    }
)


@cache
def base_roadmap():
    return roadmap(BASE)


def test_each_levers_saving_is_the_difference_of_two_estimates():
    rm = base_roadmap()
    base = Point.of(evaluate(BASE))
    checked = 0
    for lv in rm.levers:
        if not lv.applicable or "small_model" in lv.changes:
            continue
        other = Point.of(evaluate(BASE.with_(**lv.changes)))
        assert_allclose(lv.saving_usd_per_mtok, base.usd_per_mtok - other.usd_per_mtok, rtol=1e-12)
        assert_allclose(
            lv.saving_joules_per_token,
            base.joules_per_token - other.joules_per_token,
            rtol=1e-12,
            atol=1e-15,
        )
        assert_allclose(lv.tpot_change_s, other.tpot_s - base.tpot_s, atol=1e-15)
        checked += 1
    assert checked >= 8  # precision, batch, layout, disaggregation, prefix, region, buy, reserved


def test_the_levers_this_scenario_allows_are_estimated():
    names = {lv.name: lv for lv in base_roadmap().levers}
    for name in (
        "lower precision",
        "larger batch within the SLO",
        "better layout",
        "disaggregated serving",
        "prefix caching",
        "route to a smaller model",
        "buy instead of rent",
        "reserved rental",
        "next-generation hardware",
    ):
        assert names[name].applicable, (name, names[name].note)
    # a rented accelerator-hour is priced alike in every region (the rentals catalog is not
    # regional), so no region costs less: the lever once moved "us -> <a tied region>" for a
    # 0% saving; bought, the regions' electricity prices differ and the lever applies
    region = names["another region"]
    assert not region.applicable and region.note == "no region costs less than us"
    bought = {lv.name: lv for lv in roadmap(BASE.with_(ownership="buy")).levers}
    assert bought["another region"].applicable and bought["another region"].saving_usd_per_mtok > 0
    # Llama has no MTP heads and the model prices no separate draft model
    spec = names["speculative decoding"]
    assert not spec.applicable and spec.note.startswith("not modelled")
    assert names["lower precision"].changes["precision"] == "fp8"
    assert names["prefix caching"].changes == {"prefix_cache_hit_rate": PREFIX_CACHE_HIT_RATE}


def test_routing_saving_follows_the_cascade_of_two_estimates():
    big = evaluate(BASE)
    small = evaluate(
        BASE.with_(model="llama-3.1-8b", tensor_parallel=None, batch_size=None, precision=None)
    )
    b, s = Point.of(big).usd_per_mtok, Point.of(small).usd_per_mtok
    point, _ = routed_point(big, small, 0.7, 0.85)
    # FrugalGPT cascade, every failure caught, big model always right:
    # C = 0.3 c_b + 0.7 (c_s + 0.15 c_b) per request; success 1
    assert_allclose(point.usd_per_mtok, 0.3 * b + 0.7 * (s + 0.15 * b), rtol=1e-12)
    lever = {lv.name: lv for lv in base_roadmap().levers}["route to a smaller model"]
    assert_allclose(lever.saving_usd_per_mtok, Point.of(big).usd_per_mtok - point.usd_per_mtok)


def test_levers_are_ranked_by_saving():
    savings = [lv.saving_usd_per_mtok for lv in base_roadmap().levers if lv.applicable]
    assert savings == sorted(savings, reverse=True)
    assert rank(list(reversed(base_roadmap().levers)))[0].name == base_roadmap().levers[0].name


def test_the_staged_plan_is_re_estimated_and_cheaper_at_each_stage():
    rm = base_roadmap()
    assert len(rm.stages) >= 2
    cost = rm.base.usd_per_mtok
    for stage in rm.stages:
        again = Point.of(evaluate(stage.scenario))
        assert_allclose(stage.point.usd_per_mtok, again.usd_per_mtok, rtol=1e-12)
        assert stage.point.usd_per_mtok < cost
        cost = stage.point.usd_per_mtok
    # combined, not summed: the levers interact (precision and layout both shrink the fleet)
    first_two = [lv for lv in rm.levers if lv.name in rm.stages[1].levers]
    summed = rm.base.usd_per_mtok - sum(lv.saving_usd_per_mtok for lv in first_two)
    assert abs(rm.stages[1].point.usd_per_mtok - summed) > 1e-6


def test_speculative_decoding_is_estimated_for_a_model_with_mtp_heads():
    sc = Scenario.parse(
        {"model": "deepseek-v3", "accelerator": "h200-sxm", "workload": "chat",
         "tokens_per_day": 2e9, "ownership": "rent", "tpot_slo_s": 0.02}
    )  # fmt: skip
    lever = {lv.name: lv for lv in roadmap(sc).levers}["speculative decoding"]
    assert lever.applicable
    assert lever.changes == {"speculative_tokens": 1, "acceptance_rate": MTP_ACCEPTANCE_RATE}
    # two tokens a step when the draft is accepted: the cheapest point spends that gain on a
    # larger batch within the TPOT target, so the cost falls (TPOT need not). A 20 ms target
    # keeps the steps memory-bound, where the draft is nearly free; at the chat workload's
    # 40 ms the cheapest point is compute-bound and the 2026-11-30 refit finds no saving
    assert lever.saving_usd_per_mtok > 0
    assert lever.point.tpot_s <= 0.02


def test_an_unpriced_scenario_is_refused():
    # GB300: no purchase price in the catalog
    sc = Scenario.parse({"model": "llama-3.1-8b", "accelerator": "gb300", "ownership": "buy"})
    with pytest.raises(TokenfabError, match=r"^roadmap: the scenario is not priced"):
        roadmap(sc)


def test_the_scenarios_own_model_as_the_small_model_is_refused():
    # routing a model to itself priced "70% of requests to llama-3.1-70b first, 85% right
    # there, the rest escalated to llama-3.1-70b" as a -44% saving: a contradictory request
    with pytest.raises(TokenfabError, match=r"^small_model: .* is the scenario's own model"):
        roadmap(BASE, small_model=BASE.model)


def test_an_unknown_small_model_is_refused_naming_the_field():
    # a typo once came back as an "infeasible" routing lever with exit 0
    with pytest.raises(TokenfabError, match=r"^small_model: unknown id 'llama-3.1-8x' in models"):
        roadmap(BASE, small_model="llama-3.1-8x")


def test_the_reserved_lever_compares_one_providers_two_terms():
    # rented from Hyperstack on-demand (3.20 $/h) the lever is Hyperstack reserved (2.72 $/h,
    # the same rate card), not the cheapest reserved offer of another provider
    from tokenfab.catalog import default_catalog
    from tokenfab.cost import default_cost_inputs

    sc = Scenario.parse(
        {
            "model": "llama-3.1-8b",
            "accelerator": "h100-sxm",
            "ownership": "rent",
            "rental_provider": "Hyperstack (NexGen Cloud)",
        }
    )
    lever = {lv.name: lv for lv in roadmap(sc).levers}["reserved rental"]
    assert lever.changes == {
        "rental_term": "reserved",
        "rental_provider": "Hyperstack (NexGen Cloud)",
    }
    assert lever.note.startswith("like with like, one provider: Hyperstack")
    base, other = Point.of(evaluate(sc)), Point.of(evaluate(sc.with_(**lever.changes)))
    assert_allclose(lever.saving_usd_per_mtok, base.usd_per_mtok - other.usd_per_mtok, rtol=1e-12)
    # by hand: the same fleet and tokens, so $/Mtok scales with the accelerator-hour,
    # rental + software (cost_assumptions.csv, USD a year / 8760 h)
    sw = default_cost_inputs(default_catalog()).software_usd_per_accelerator_year / 8760
    assert_allclose(other.usd_per_mtok / base.usd_per_mtok, (2.72 + sw) / (3.20 + sw), rtol=1e-9)
    # and back: from the reserved rental, the lever is the same provider's on-demand price
    back = {lv.name: lv for lv in roadmap(sc.with_(**lever.changes)).levers}["on-demand rental"]
    assert back.changes["rental_provider"] == "Hyperstack (NexGen Cloud)"
    assert_allclose(back.saving_usd_per_mtok, -lever.saving_usd_per_mtok, rtol=1e-9)


def test_a_reserved_lever_across_providers_says_so():
    # the cheapest H100 on-demand offer (RunPod, 2.69 $/h) has no reserved price: the lever
    # takes the cheapest reserved offer elsewhere and its note says provider and place change
    sc = Scenario.parse({"model": "llama-3.1-8b", "accelerator": "h100-sxm", "ownership": "rent"})
    lever = {lv.name: lv for lv in roadmap(sc).levers}["reserved rental"]
    assert lever.note.startswith("not like with like: RunPod publishes no reserved price")
    assert "a change of provider and place as well as of term" in lever.note
    assert lever.changes["rental_provider"] != "RunPod"


def test_a_roadmap_of_heterogeneous_pools_prices_them_and_names_them():
    # the base is estimate's two pools (prefill on H100, decode on B200): its $/Mtok is that
    # estimate's; disaggregation is already applied (it was a lever "saving" 0 %), and the
    # next generation changes the decode pool only
    sc = Scenario(
        model="llama-3.1-8b",
        accelerator="b200",
        prefill_accelerator="h100-sxm",
        tokens_per_day=1e9,
        workload="chat",
    )
    rm = roadmap(sc)
    assert_allclose(rm.base.usd_per_mtok, Point.of(evaluate(sc)).usd_per_mtok, rtol=1e-12)
    lv = {x.name: x for x in rm.levers}
    dis = lv["disaggregated serving"]
    assert not dis.applicable and "prefill on h100-sxm" in dis.note
    assert lv["next-generation hardware"].change.endswith("(the decode pool)")
