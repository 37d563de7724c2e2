"""The vectorised pipeline gives the scalar estimate's numbers, sample by sample.

Vector = scalar over the whole path (operating point, sizing, cost, KPIs, API comparison): one
sample, and samples equal to the base values, reproduce ``estimate --json`` key for key;
samples of catalog numbers reproduce the scalar estimate run on a catalog holding those
numbers; samples of scenario fields reproduce the scalar estimate of the changed scenario.
"""

from __future__ import annotations

import math
from dataclasses import replace
from types import MappingProxyType
from typing import Any

import numpy as np
import pytest
from numpy.testing import assert_allclose

from tokenfab import pipeline
from tokenfab.catalog import Catalog, default_catalog
from tokenfab.errors import InfeasibleError, ScenarioError, TokenfabError
from tokenfab.perf.calibration import hardware
from tokenfab.perf.serving import disaggregated_split, disaggregated_split_arrays
from tokenfab.planning import evaluate as scalar_evaluate
from tokenfab.scenario import Scenario
from tokenfab.schema import EstimateResult

RTOL = 1e-12  # same formulas on arrays: equal to rounding

SCENARIOS: list[dict[str, Any]] = [
    # dense, buy, one accelerator, no demand, no targets
    dict(model="llama-3.1-8b", accelerator="h100-sxm"),
    # dense, 8 GPUs, FP8
    dict(model="llama-3.1-70b", accelerator="h100-sxm", accelerators=8, precision="fp8"),
    # rent, sized for a daily demand, with TTFT and TPOT targets
    dict(
        model="llama-3.1-70b",
        accelerator="h100-sxm",
        ownership="rent",
        tokens_per_day=2e9,
        ttft_slo_s=2,
        tpot_slo_s=0.1,
    ),
    # MoE (MLA) on 16 GPUs across two domains, with targets
    dict(
        model="deepseek-v3", accelerator="h200-sxm", accelerators=16, ttft_slo_s=5, tpot_slo_s=0.05
    ),
    # MoE, a request rate on a fixed fleet (queueing in TTFT), another region
    dict(
        model="mixtral-8x7b",
        accelerator="a100-sxm-80gb",
        requests_per_second=2.5,  # under the 2.84/s 4 x A100 carry (2026-11-30 refit)
        accelerators=4,
        region="eu",
    ),
    # MoE in MXFP4, rented, sized for a demand
    dict(model="gpt-oss-120b", accelerator="b200", tokens_per_day=1e8, ownership="rent"),
    # disaggregated prefill/decode pools, fixed fleet and sized
    dict(
        model="llama-3.1-70b",
        accelerator="h100-sxm",
        accelerators=16,
        disaggregated=True,
        precision="fp8",
    ),
    dict(
        model="llama-3.1-70b",
        accelerator="h100-sxm",
        tokens_per_day=5e9,
        disaggregated=True,
        precision="fp8",
    ),
    # a workload's lengths and targets, AMD, vLLM
    dict(model="qwen3-30b-a3b", accelerator="mi300x", workload="chat"),
    dict(model="llama-3.1-8b", accelerator="h100-sxm", objective="min-latency", utilization=0.3),
    dict(
        model="llama-3.1-70b",
        accelerator="h200-sxm",
        tokens_per_day=3e9,
        peak_to_average=2,
        ttft_slo_s=1,
        tpot_slo_s=0.05,
    ),
    # reasoning tokens and speculative decoding
    dict(
        model="deepseek-r1",
        accelerator="b200",
        accelerators=8,
        speculative_tokens=2,
        acceptance_rate=0.7,
        reasoning_tokens=2000,
    ),
    # weight-only INT4, prefix cache, agent tasks
    dict(
        model="llama-3.1-70b",
        accelerator="h100-sxm",
        precision="int4",
        accelerators=2,
        prefix_cache_hit_rate=0.5,
        steps_per_task=5,
    ),
    dict(model="llama-3.1-8b", accelerator="l40s", batch_size=16, software="vllm"),
    dict(
        model="llama-3.1-70b",
        accelerator="h100-sxm",
        accelerators=8,
        software_licence="nvidia-ai-enterprise",
    ),
    dict(model="qwen3-235b-a22b", accelerator="h100-sxm", requests_per_second=2, ttft_slo_s=3),
    # closed-loop clients (benchmarks' --max-concurrency) set the batch and the TTFT; 7 on
    # 3 replicas of 2 GPUs is 2.33 sequences each, reported as 2 whole ones
    dict(model="llama-3.1-8b", accelerator="h100-sxm", concurrency=8),
    dict(
        model="llama-3.1-70b",
        accelerator="h100-sxm",
        accelerators=6,
        tensor_parallel=2,
        concurrency=7,
    ),
    # a reserved rental at one provider: the offers and the sampled column follow them
    dict(
        model="llama-3.1-8b",
        accelerator="h100-sxm",
        ownership="rent",
        rental_term="reserved",
        rental_provider="AWS",
    ),
]


def scalar_json(scenario: Any, catalog: Catalog | None = None) -> dict[str, Any]:
    cat = catalog or default_catalog()
    return EstimateResult.from_estimate(scalar_evaluate(scenario, cat), cat).model_dump()


def assert_row_equals(result: pipeline.PipelineResult, row: int, want: dict[str, Any]) -> None:
    for key, values in result.kpis.items():
        expected = math.nan if want[key] is None else float(want[key])
        got = float(values[row])
        if math.isnan(expected):
            assert math.isnan(got), key
        else:
            assert got == pytest.approx(expected, rel=RTOL, abs=1e-300), key


def test_kpi_keys_are_the_numeric_estimate_keys():
    keys = pipeline.kpi_keys()
    # a few from each block of estimate --json; strings and flags are not numeric
    for k in (
        "ttft_s",
        "cost_usd_per_mtok_blended",
        "co2e_kg_per_month",
        "api_usd_per_mtok_blended",
    ):
        assert k in keys
    for k in ("model", "bound", "calibrated", "cost_basis", "region"):
        assert k not in keys


@pytest.mark.parametrize("reoptimise", [False, True])
@pytest.mark.parametrize("sc", SCENARIOS, ids=lambda d: "-".join(str(v) for v in d.values()))
def test_one_sample_equals_the_scalar_estimate(sc, reoptimise):
    """No samples: the pipeline's one sample is ``estimate --json``, key for key."""
    r = pipeline.evaluate(sc, reoptimise=reoptimise)
    assert r.n == 1 and r.feasible.tolist() == [True] and r.reasons == {}
    assert_row_equals(r, 0, scalar_json(sc))


DISAGG_70B_TP4_PP2 = dict(
    model="llama-3.1-70b",
    accelerator="h100-sxm",
    tokens_per_day=5e9,
    disaggregated=True,
    precision="fp8",
    tensor_parallel=4,
    pipeline_parallel=2,
)
"""Llama 3.1 70B FP8 on TP 4 x PP 2 H100 replicas, disaggregated, 5e9 output tokens a day."""


@pytest.mark.parametrize("reoptimise", [False, True])
def test_disaggregated_sizing_raises_the_batch_before_it_adds_a_replica(reoptimise):
    # Llama 3.1 70B FP8 on TP 4 x PP 2 H100 replicas, 5e9 output tokens a day, disaggregated:
    # peak P = 5e9 / 86,400 = 57,870.4 tok/s. At batch 451 a replica makes X = 11,756 tok/s
    # with 26.47 % of its time prefilling: 5 continuous replicas carry 58,782 >= P, the
    # cheapest such cell, but whole pools of 5 (2 prefill + 3 decode) carry min(3 X / 0.7353,
    # 2 X / 0.2647) = 47,967. Adding a sixth replica (the rule before; 48 H100 given back take
    # batch 386, $65,307 a month) costs more than raising the batch at 5: at batch 845, X =
    # 13,506, s = 0.3041, 2 + 3 carry min(3 X / 0.6959, 2 X / 0.3041) = 58,225 >= P (at 722,
    # X = 13,145, s = 0.296: 56,013 < P): 40 H100, $54,526. No count of 4 carries P (32 H100
    # serve at most 44.4 requests/s of the 57.87), so 5 is the fewest. (Figures after the
    # block-scaled FP8 refit, Hopper's FP8 compute efficiency 0.42 -> 0.56: the same counts,
    # at batch 845 where the refits of 2026-12-01 before it needed 1352.)
    sc = dict(DISAGG_70B_TP4_PP2)
    want = scalar_json(sc)
    assert (want["accelerators"], want["replicas"], want["batch_size"]) == (40, 5, 845)
    assert (want["prefill_replicas"], want["decode_replicas"]) == (2, 3)
    assert want["output_tok_s_total"] >= 5e9 / 86_400
    with pytest.raises(InfeasibleError, match="cannot carry the demand's peak"):
        scalar_json({**sc, "accelerators": 32})
    r = pipeline.evaluate(sc, reoptimise=reoptimise)
    assert_row_equals(r, 0, want)
    # the fleet the rule before installed costs more
    six = scalar_json({**sc, "accelerators": 48})
    assert six["monthly_cost_usd"] > want["monthly_cost_usd"]


@pytest.mark.parametrize("reoptimise", [False, True])
def test_disaggregated_demand_samples_size_whole_pools_as_the_scalar_sizing(reoptimise):
    # Each sample's demand sized as the scalar sizing of that demand, batch fixed (700) or
    # re-chosen, on TP 4 x PP 2. At 1.9e9 a day and batch 700: P = 21,990.7 tok/s, X =
    # 13,067.8, s = 0.29425; 2 replicas carry 26,135.7 continuous but 1 + 1 whole pools only
    # min(X / 0.70575, X / 0.29425) = 18,516.3, so 3 (1 + 2: min(2 X / 0.70575, X / 0.29425) =
    # 37,032.5). The mean wait is that of 3: rho = P / 3 / X = 0.56094, s_req = 1000 / X =
    # 0.076524 s, W = 0.56094 x 0.076524 / (2 x 0.43906) = 0.0489 s; the pipeline reported the
    # wait of the 2 it started from (rho = 0.841, W = 0.203 s). (After the block-scaled FP8
    # refit, Hopper's FP8 compute efficiency 0.42 -> 0.56; after the second refit of
    # 2026-12-01: X = 11,610.9, s = 0.3255, W = 0.0737 s; after the first collective-latency
    # refit: X = 11,505.5, s = 0.3314, W = 0.0763 s; before it the case was 2e9 a day: X =
    # 11,870.5, s = 0.3116, W = 0.078 s.)
    sc = dict(DISAGG_70B_TP4_PP2)
    if not reoptimise:
        sc["batch_size"] = 700
    demands = [1.9e9, 8e9, 3e10]
    r = pipeline.evaluate(sc, {"tokens_per_day": np.array(demands)}, reoptimise=reoptimise)
    for row, tpd in enumerate(demands):
        assert_row_equals(r, row, scalar_json({**sc, "tokens_per_day": tpd}))
    if not reoptimise:
        assert r.kpis["replicas"][0] == 3
        assert r.kpis["queue_wait_s"][0] == pytest.approx(0.0489, abs=5e-4)


@pytest.mark.parametrize("reoptimise", [False, True])
@pytest.mark.parametrize("sc", SCENARIOS[::3], ids=lambda d: "-".join(str(v) for v in d.values()))
def test_samples_of_every_input_at_base_values_equal_the_scalar_estimate(sc, reoptimise):
    """Every addressable input given as an array of its base value: every array code path
    (hardware, engine, tokens, demand, cost lines, rentals, API prices) gives the scalar."""
    specs = pipeline.fields(sc)
    samples = {k: np.full(3, f.base) for k, f in specs.items() if f.base is not None}
    r = pipeline.evaluate(sc, samples, reoptimise=reoptimise)
    want = scalar_json(sc)
    for row in range(3):
        assert_row_equals(r, row, want)


def _catalog_with(table: str, rid: str, **changes: Any) -> Catalog:
    """The built-in catalog with one record's columns changed (in memory)."""
    cat = Catalog()
    rows = dict(cat.table(table))
    rows[rid] = rows[rid].model_copy(update=changes)
    cat._tables[table] = MappingProxyType(rows)
    return cat


FIXED = dict(
    model="llama-3.1-70b",
    accelerator="h100-sxm",
    accelerators=8,
    precision="fp8",
    tensor_parallel=8,
    pipeline_parallel=1,
    expert_parallel=1,
    attention_data_parallel=1,
)


@pytest.mark.parametrize(
    "table, rid, column, values",
    [
        ("accelerators", "h100-sxm", "memory_bandwidth_tb_s", [2.5, 3.35, 4.0]),
        ("accelerators", "h100-sxm", "fp8_dense_tflops", [1000.0, 1979.0, 2500.0]),
        ("accelerators", "h100-sxm", "bf16_dense_tflops", [700.0, 989.5, 1200.0]),
        ("accelerators", "h100-sxm", "memory_gb", [60.0, 80.0, 141.0]),
        ("accelerators", "h100-sxm", "price_usd", [20_000.0, 30_000.0, 40_000.0]),
        ("accelerators", "h100-sxm", "tdp_w", [500.0, 700.0, 1000.0]),
        ("accelerators", "h100-sxm", "scaleup_bandwidth_gb_s", [300.0, 900.0, 1800.0]),
        ("regions", "us", "electricity_usd_per_kwh", [0.03, 0.08, 0.2]),
        ("regions", "us", "pue", [1.05, 1.3, 2.0]),
        ("regions", "us", "grid_co2e_g_per_kwh", [0.0, 380.0, 800.0]),
    ],
)
def test_catalog_samples_equal_the_scalar_estimate_on_that_catalog(table, rid, column, values):
    """``accelerators.<id>.<column>`` / ``regions.<id>.<column>`` samples give, sample by sample,
    the scalar estimate run on a catalog holding that value (layout and batch fixed, so both
    paths evaluate the same operating point)."""
    base = scalar_json(FIXED)
    sc = {**FIXED, "batch_size": base["batch_size"]}
    r = pipeline.evaluate(sc, {f"{table}.{rid}.{column}": np.array(values)})
    for row, v in enumerate(values):
        try:
            want = scalar_json(sc, _catalog_with(table, rid, **{column: v}))
        except InfeasibleError:  # the base batch does not fit (60 GB): infeasible in both
            assert not r.feasible[row]
            continue
        assert_row_equals(r, row, want)


@pytest.mark.parametrize(
    "factor, values",
    [
        ("bw_efficiency", [0.5, 0.8]),
        ("compute_efficiency", [0.3, 0.9]),
        ("overhead_ms", [0.0, 3.0]),
    ],
)
def test_efficiency_samples_equal_the_scalar_estimate_with_that_factor(factor, values):
    from tokenfab.perf.calibration import efficiency_column

    sc = {**FIXED, "batch_size": 64}
    setup = pipeline._Base.build(Scenario.parse(sc), default_catalog(), None).setup
    eid = setup.engine
    assert eid.efficiency_id is not None  # h100 with TensorRT-LLM has a fitted row
    # the compute efficiency an estimate uses is its format's matrix rate's column
    column = (
        efficiency_column(setup.accelerator, setup.precision)
        if factor == "compute_efficiency"
        else factor
    )
    r = pipeline.evaluate(sc, {f"efficiency.{factor}": np.array(values)})
    for row, v in enumerate(values):
        cat = _catalog_with("efficiency", eid.efficiency_id, **{column: v})
        assert_row_equals(r, row, scalar_json(sc, cat))


@pytest.mark.parametrize(
    "field, values",
    [
        ("input_tokens", [200.0, 1000.0, 4000.0]),
        ("output_tokens", [100.0, 1000.0, 3000.0]),
        ("utilization", [0.1, 0.6, 1.0]),
        ("prefix_cache_hit_rate", [0.0, 0.5, 0.9]),
        ("steps_per_task", [1.0, 4.0, 10.0]),
    ],
)
def test_scenario_field_samples_equal_the_scalar_estimate_of_that_scenario(field, values):
    sc = {**FIXED, "batch_size": 32}
    r = pipeline.evaluate(sc, {field: np.array(values)})
    for row, v in enumerate(values):
        one = {**sc, field: int(v) if field.endswith("tokens") else v}
        assert_row_equals(r, row, scalar_json(one))


@pytest.mark.parametrize("tokens_per_day", [5e8, 2e9, 2e10])
def test_demand_samples_resize_the_fleet_as_the_scalar_sizing_does(tokens_per_day):
    """A sized deployment with layout and batch fixed: the scalar sizing of each demand."""
    sc = {**FIXED, "accelerators": None, "batch_size": 64, "tokens_per_day": 1e9, "ttft_slo_s": 5}
    r = pipeline.evaluate(sc, {"tokens_per_day": np.array([tokens_per_day])})
    try:
        want = scalar_json({**sc, "tokens_per_day": tokens_per_day})
    except InfeasibleError as exc:  # 2e10 a day: the queue at batch 64 misses the 5 s TTFT
        assert str(exc).startswith("ttft_slo_s")
        assert r.reasons == {"TTFT SLO missed": 1}
        return
    assert_row_equals(r, 0, want)


def test_chunks_do_not_change_the_numbers():
    rng = np.random.default_rng(1)
    s = {
        "accelerators.h100-sxm.memory_bandwidth_tb_s": rng.uniform(2.0, 4.0, 50),
        "utilization": rng.uniform(0.2, 1.0, 50),
        "input_tokens": rng.uniform(100, 8000, 50),
    }
    a = pipeline.evaluate(FIXED, s, chunk_size=7)
    b = pipeline.evaluate(FIXED, s, chunk_size=65_536)
    for k in a.kpis:
        assert_allclose(a.kpis[k], b.kpis[k], rtol=0, equal_nan=True)
    assert a.reasons == b.reasons


def test_infeasible_samples_are_counted_by_reason_and_nan():
    """At the base batch, a chip with 40 GB holds no 70B FP8 shard (70 GB / 8 = 8.8 GB of
    weights, but the KV of the base batch no longer fits); a TPOT target of 1 ms is missed."""
    sc = {**FIXED, "tpot_slo_s": 0.5}
    r = pipeline.evaluate(
        sc,
        {
            "accelerators.h100-sxm.memory_gb": np.array([80.0, 10.0, 80.0]),
            "tpot_slo_s": np.array([0.5, 0.5, 0.001]),
        },
    )
    assert r.feasible.tolist() == [True, False, False]
    assert r.reasons == {"does not fit in memory": 1, "TPOT SLO missed": 1}
    assert all(math.isnan(r.kpis[k][1]) for k in r.kpis)
    assert not math.isnan(r.kpis["cost_usd_per_mtok_blended"][0])
    assert r.feasible_share == pytest.approx(1 / 3)


def test_a_fixed_fleet_that_cannot_carry_the_sampled_demand_is_infeasible():
    sc = {**SCENARIOS[4]}  # mixtral on 4 x A100 at 2.5 requests/s
    r = pipeline.evaluate(sc, {"requests_per_second": np.array([2.5, 1e4])})
    assert r.feasible.tolist() == [True, False]
    assert r.reasons == {"demand exceeds capacity": 1}


def test_tokens_beyond_the_context_are_infeasible():
    r = pipeline.evaluate(FIXED, {"input_tokens": np.array([1000.0, 200_000.0])})
    # llama-3.1-70b holds 131,072 tokens of context
    assert r.reasons == {"tokens exceed the model's context": 1}


def test_cost_rises_with_the_electricity_price_and_carbon_with_the_grid():
    prices = np.linspace(0.02, 0.4, 20)
    r = pipeline.evaluate(FIXED, {"regions.us.electricity_usd_per_kwh": prices})
    assert np.all(np.diff(r.kpis["cost_usd_per_mtok_blended"]) > 0)
    grid = np.linspace(0.0, 900.0, 10)
    r = pipeline.evaluate(FIXED, {"regions.us.grid_co2e_g_per_kwh": grid})
    assert r.kpis["co2e_g_per_mtok"][0] == 0.0
    assert np.all(np.diff(r.kpis["co2e_g_per_mtok"]) > 0)


def test_rent_uses_the_cheapest_sampled_offer():
    sc = SCENARIOS[2]
    f = pipeline.fields(sc)
    offers = [k for k in f if k.startswith("rentals.")]
    assert len(offers) >= 2
    cheapest = min(f[k].base for k in offers)
    # every offer at twice its price: the cheapest doubles too
    r = pipeline.evaluate(sc, {k: np.array([2.0 * f[k].base]) for k in offers})
    assert r.kpis["cost_rental_usd_per_hour"][0] == pytest.approx(2 * cheapest, rel=1e-12)


def test_reoptimised_batch_is_within_five_percent_of_the_scalar_grid_optimum():
    """With the layout fixed in the scenario, the scalar estimate of each changed scenario
    searches its own batch grid; the pipeline re-chooses on the base grid."""
    sc = dict(FIXED)
    lengths = [100.0, 300.0, 1000.0, 3000.0, 8000.0]
    r = pipeline.evaluate(sc, {"input_tokens": np.array(lengths)}, reoptimise=True)
    assert r.feasible.all()
    for row, i in enumerate(lengths):
        want = scalar_json({**sc, "input_tokens": int(i)})
        got = r.kpis["output_tok_s_total"][row]
        assert got == pytest.approx(want["output_tok_s_total"], rel=0.05)


def test_reoptimised_targets_pick_a_smaller_batch_instead_of_failing():
    sc = dict(FIXED)
    fixed = pipeline.evaluate(sc, {"tpot_slo_s": np.array([0.03])})
    again = pipeline.evaluate(sc, {"tpot_slo_s": np.array([0.03])}, reoptimise=True)
    assert fixed.reasons == {"TPOT SLO missed": 1}  # the max-throughput batch is slower
    assert again.feasible.all() and again.kpis["tpot_s"][0] <= 0.03
    assert again.kpis["batch_size"][0] < fixed.base["batch_size"]


@pytest.mark.parametrize(
    "samples, match",
    [
        ({"bandwidth": [1.0]}, "bandwidth: unknown input; allowed: scenario fields"),
        ({"accelerators.b200.price_usd": [1.0]}, "not an input of this scenario; allowed: "),
        ({"models.llama-3.1-70b.hidden_size": [1.0]}, "its architecture .* efficiency.<factor>"),
        ({"utilization": [0.5, 0.6], "input_tokens": [100.0]}, "input_tokens: 1 sample, but"),
        ({"utilization": [0.5, 1.5]}, r"utilization: 1.5 \(sample 1 of 2\) is outside"),
        ({"regions.us.pue": [0.9]}, r"regions.us.pue: 0.9 .* \[1, 3\]"),
        ({"input_tokens": [[1.0, 2.0]]}, "1-D array"),
        ({"tokens_per_day": [1e9]}, "tokens_per_day: the scenario states no demand"),
        ({"peak_to_average": [2.0]}, "peak_to_average: the scenario states no demand"),
        ({"acceptance_rate": [0.5]}, "acceptance_rate: the scenario drafts no speculative"),
        ({"utilization": ["a"]}, "utilization: samples are not numbers"),
        ({"utilization": [math.nan]}, "utilization: nan"),
    ],
)
def test_bad_samples_are_refused_naming_the_key(samples, match):
    with pytest.raises(ScenarioError, match=match):
        pipeline.evaluate(FIXED, {k: np.asarray(v) for k, v in samples.items()})


def test_absurd_sample_counts_are_refused_before_any_work():
    n = 20_000_000  # x 60 keys x 8 bytes = 9.6 GB of results
    big = np.broadcast_to(np.float64(0.5), (n,))  # no memory of its own
    with pytest.raises(ScenarioError, match=r"samples: 20,000,000 samples x \d+ keys need"):
        pipeline.evaluate(FIXED, {"utilization": big})


def test_bad_options_are_refused():
    with pytest.raises(TokenfabError, match="chunk_size"):
        pipeline.evaluate(FIXED, chunk_size=0)
    with pytest.raises(TokenfabError, match="keys: 'model' is not a numeric estimate key"):
        pipeline.evaluate(FIXED, keys=["model"])


def test_fields_list_units_ranges_and_base_values():
    generic = pipeline.fields()
    assert generic["accelerators.<id>.price_usd"].unit == "USD"
    assert generic["utilization"].allowed == "[0.001, 1]"
    f = pipeline.fields(FIXED)
    # H100 SXM datasheet: 3.35 TB/s, 80 GB; the scenario's region is the default, us
    assert f["accelerators.h100-sxm.memory_bandwidth_tb_s"].base == 3.35
    assert f["accelerators.h100-sxm.memory_gb"].base == 80.0
    assert "accelerators.h100-sxm.fp4_dense_tflops" not in f  # Hopper has no FP4 units
    assert f["tokens_per_day"].base is None  # no demand in this scenario


def test_keys_select_what_is_kept():
    r = pipeline.evaluate(FIXED, {"utilization": np.array([0.5, 1.0])}, keys=["monthly_cost_usd"])
    assert list(r.kpis) == ["monthly_cost_usd"]
    # the installed fleet costs the same whatever its utilisation (power aside: small)
    assert r.kpis["monthly_cost_usd"][1] == pytest.approx(r.kpis["monthly_cost_usd"][0], rel=0.1)


@pytest.mark.parametrize("replicas", [2, 3, 4, 7, 16, 101])
@pytest.mark.parametrize("share", [1e-15, 0.01, 1 / 3, 0.5, 0.77, 1.0])
def test_vector_disaggregated_split_equals_the_scalar_search(replicas, share):
    p, d, x = disaggregated_split_arrays(np.array([replicas]), np.array([850.0]), np.array([share]))
    assert (int(p[0]), int(d[0]), float(x[0])) == disaggregated_split(replicas, 850.0, share)


def test_hardware_with_values_equals_hardware_of_the_changed_record():
    cat = default_catalog()
    acc = cat.accelerator("h100-sxm")
    changed = acc.model_copy(update={"memory_bandwidth_tb_s": 4.0, "bf16_dense_tflops": 1000.0})
    for precision in ("bf16", "fp8", "int4", "mxfp4"):
        hv = hardware(acc, precision, {"memory_bandwidth_tb_s": 4.0, "bf16_dense_tflops": 1000.0})
        hc = hardware(changed, precision)
        for f in hv.__dataclass_fields__:
            assert_allclose(getattr(hv, f), getattr(hc, f), rtol=0, err_msg=f"{precision} {f}")


def test_an_array_of_bandwidths_no_longer_breaks_the_batch_grid():
    """The fault #13 names: hardware with a sample axis through the grid step."""
    cat = default_catalog()
    acc = cat.accelerator("h100-sxm")
    bw = np.array([2.0, 3.35, 4.8])
    r = pipeline.evaluate(
        {"model": "llama-3.1-8b", "accelerator": "h100-sxm"},
        {"accelerators.h100-sxm.memory_bandwidth_tb_s": bw},
        reoptimise=True,
    )
    assert r.feasible.all()
    assert np.all(np.diff(r.kpis["output_tok_s_total"]) > 0)  # more bandwidth, more tokens
    hw = hardware(acc, "bf16", {"memory_bandwidth_tb_s": bw})
    assert replace(hw).hbm_bytes_per_s.tolist() == [2.0e12, 3.35e12, 4.8e12]


def test_the_grid_step_takes_hardware_with_a_sample_axis():
    """``evaluate_grid`` with three bandwidths gives a (3, layouts, batches) grid whose row k
    is the grid of bandwidth k alone, wherever row k's batch is also on the single grid."""
    from tokenfab.perf.operating import evaluate_grid, resolve, scenario_layouts

    cat = default_catalog()
    setup = resolve(Scenario(model="llama-3.1-70b", accelerator="h100-sxm", precision="fp8"), cat)
    lay = scenario_layouts(setup, 8)
    bw = np.array([2.0e12, 3.35e12, 4.8e12])
    many = evaluate_grid(replace(setup, hw=replace(setup.hw, hbm_bytes_per_s=bw)), lay)
    assert many.tpot_s.shape[:2] == (3, lay.tensor_parallel.size)
    for k, one_bw in enumerate(bw):
        one = evaluate_grid(replace(setup, hw=replace(setup.hw, hbm_bytes_per_s=one_bw)), lay)
        # the same batches (the memory, hence the grid, does not depend on bandwidth)
        assert_allclose(many.batch[k], one.batch, rtol=0)
        assert_allclose(many.tpot_s[k], one.tpot_s, rtol=1e-12)
        assert_allclose(many.output_tok_s_replica[k], one.output_tok_s_replica, rtol=1e-12)
        assert (many.valid[k] == one.valid).all()


def test_utilisation_of_a_sized_deployment_follows_from_its_demand_and_is_refused():
    with pytest.raises(ScenarioError, match="utilization: the scenario sizes for a demand"):
        pipeline.evaluate(SCENARIOS[2], {"utilization": np.array([0.5])})


@pytest.mark.parametrize("tokens_per_day", [3e8, 1e9, 5e9, 2e10])
def test_reoptimised_sizing_costs_within_five_percent_of_the_scalar_sizing(tokens_per_day):
    """A sized deployment, the batch re-chosen per sample: monthly cost within 5 % of the
    scalar sizing of the same demand on the same layout (the grids differ in their end only)."""
    base = dict(
        model="llama-3.1-70b",
        accelerator="h100-sxm",
        precision="fp8",
        tokens_per_day=2e9,
        ttft_slo_s=2,
        tpot_slo_s=0.1,
    )
    b = scalar_json(base)
    fixed_layout = {
        **base,
        **{
            k: b[k]
            for k in (
                "tensor_parallel",
                "pipeline_parallel",
                "expert_parallel",
                "attention_data_parallel",
            )
        },
    }
    r = pipeline.evaluate(base, {"tokens_per_day": np.array([tokens_per_day])}, reoptimise=True)
    want = scalar_json({**fixed_layout, "tokens_per_day": tokens_per_day})
    assert r.kpis["accelerators"][0] == pytest.approx(want["accelerators"], rel=0.05)
    assert r.kpis["monthly_cost_usd"][0] == pytest.approx(want["monthly_cost_usd"], rel=0.05)


def test_a_separate_prefill_pool_is_refused_in_one_line():
    # was "bug: IndexError ... at pipeline.py" (montecarlo, sensitivity; HTTP 500): the
    # estimate prices two pools, the grid the pipeline samples is one accelerator's
    sc = {"model": "llama-3.1-70b", "accelerator": "h200-sxm", "prefill_accelerator": "b200"}
    with pytest.raises(
        ScenarioError,
        match=r"^prefill_accelerator: this command evaluates one .* breakeven and project",
    ):
        pipeline.evaluate(sc, {})


@pytest.mark.parametrize("sc", SCENARIOS, ids=lambda d: "-".join(str(v) for v in d.values()))
def test_the_calculators_estimate_is_the_pipelines_one_sample(sc):
    """``estimate --json`` (CLI, HTTP API, web page, report) takes its numbers from the
    pipeline: each numeric key is the one-sample value bit for bit, and equals the scalar
    estimate to rounding; the names and notes are the scalar estimate's."""
    from tokenfab import operations

    op = operations.get("estimate")
    got = op.run(sc).model_dump()
    one = pipeline.evaluate(sc)
    for key, values in one.kpis.items():
        v = float(values[0])
        if math.isnan(v):
            assert got[key] is None, key
        else:  # the same chunk of the same code: equal, not close
            assert got[key] == pytest.approx(v, rel=0, abs=0), key
    want = scalar_json(sc)
    # precision_note is the estimate operation's own line (another evaluation, in the format
    # plan would choose: tests/test_planning.py), not part of the scalar estimate
    want["precision_note"] = got["precision_note"]
    for key, value in want.items():
        if key in one.kpis and value is not None:
            assert got[key] == pytest.approx(value, rel=RTOL, abs=1e-300), key
        else:
            assert got[key] == value, key


def test_a_reserved_rental_prices_the_reserved_offer_and_samples_its_column():
    # was: the pipeline priced the cheapest ON-DEMAND offer whatever rental_term said
    # (2.69 USD/h, RunPod) where the estimate priced the reserved one
    sc = dict(model="llama-3.1-8b", accelerator="h100-sxm", ownership="rent")
    aws = {**sc, "rental_term": "reserved", "rental_provider": "AWS"}
    # AWS Capacity Block p5.48xlarge, data/cloud_rental.csv: 39.33 $/h / 8 GPUs (stored 4.916)
    cost = pipeline.evaluate(aws).kpis["cost_usd_per_accelerator_hour"][0]
    assert_allclose(cost, 39.33 / 8, rtol=1e-4)
    # a 12-month term only: the SemiAnalysis neocloud index, ~2.65 $/GPU-h (2026-06)
    one_year = {**sc, "rental_term": "reserved-1y"}
    assert_allclose(pipeline.evaluate(one_year).kpis["cost_usd_per_accelerator_hour"][0], 2.65)
    keys = [k for k in pipeline.fields(aws) if k.startswith("rentals.")]
    # only the provider's offers, addressed by the reserved column
    assert keys == [  # the us-east-1 and us-east-2 Capacity Blocks
        "rentals.aws-p5-capacity-block-2024.reserved_usd_per_accelerator_hour",
        "rentals.aws-p5-capacity-block-2024-us-east-2.reserved_usd_per_accelerator_hour",
    ]


def test_a_scenario_the_pipeline_refuses_is_estimated_by_the_scalar_path():
    # a separate prefill pool: the calculator still answers, from the scalar estimate alone
    # (tokenfab.pipeline.estimate_result)
    from tokenfab import operations

    sc = {"model": "llama-3.1-70b", "accelerator": "h200-sxm", "prefill_accelerator": "b200"}
    got = operations.get("estimate").run(sc).model_dump()
    want = scalar_json(sc)
    want["precision_note"] = got["precision_note"]  # the operation's own line (test_planning)
    assert got == want


@pytest.mark.parametrize("utilization", [0.9, 0.95])
def test_closed_loop_samples_follow_each_samples_memory(utilization):
    """300 clients on two H100s: the batch is what each sample's memory holds, the other
    clients wait for a slot; each sample equals the scalar estimate with that memory share."""
    sc = dict(model="llama-3.1-70b", accelerator="h100-sxm", accelerators=2, concurrency=300)
    r = pipeline.evaluate(sc, {"gpu_memory_utilization": np.array([utilization])})
    assert_row_equals(r, 0, scalar_json({**sc, "gpu_memory_utilization": utilization}))
    assert r.kpis["batch_size"][0] < 300 and r.kpis["queue_wait_s"][0] > 0


# bodies like bench/bench_api_load.py's: other models, accelerators, counts and lengths
CALCULATOR_BODIES = [
    dict(model="gpt-oss-20b", accelerator="mi300x", accelerators=2, input_tokens=7000),
    dict(model="gpt-oss-20b", accelerator="gb200", region="japan", ownership="rent"),
    dict(model="qwen3-30b-a3b", accelerator="mi325x", accelerators=8, output_tokens=1950),
    dict(model="qwen3-30b-a3b", accelerator="a100-sxm-80gb", accelerators=4, region="brazil"),
    dict(model="llama-3.1-70b", accelerator="b200", accelerators=4, precision="fp8"),
    dict(model="llama-3.1-8b", accelerator="l40s", accelerators=2, ownership="rent"),
]


@pytest.mark.parametrize(
    "sc",
    [
        *SCENARIOS[:2],
        *CALCULATOR_BODIES,
        SCENARIOS[2],  # sized for a daily demand, rented, with targets
        SCENARIOS[4],  # a request rate on a fixed fleet (queueing)
        dict(model="qwen3-30b-a3b", accelerator="mi300x", tokens_per_day=1e9, output_tokens=300),
        dict(model="llama-3.1-8b", accelerator="b200", requests_per_second=20, accelerators=2),
    ],
    ids=str,
)
def test_the_calculator_computes_the_steady_state_once(sc, monkeypatch):
    """Without a demand the calculator's one sample takes the steady state, the roofline and
    the largest batch of the point the scalar search chose from that search's grid
    (``OperatingPoint.grid_point``), and the memory per accelerator from the operating point,
    instead of computing them again; with a demand, the throughput at the layout's top batch
    (the queue's service rate) from the same grid row. The answer does not call the serving
    model after the search, and is still the pipeline's own one sample bit for bit
    (invariant: the same functions of the same inputs)."""
    from tokenfab import operations
    from tokenfab.planning import evaluate

    est = evaluate(sc, kpis=False)
    # the grid's point is the operating point's: its batch and the layout's largest batch
    assert est.op.grid_point.state.batch_size == est.op.batch_size
    assert est.op.grid_point.max_batch == est.op.max_batch_size

    def again(*args, **kwargs):
        raise AssertionError("the steady state was computed a second time")

    with monkeypatch.context() as m:
        for name in (
            "_state",
            "_output_tok_s",
            "evaluate_grid",  # the base layout's row again (_row_stats)
            "max_batch_size",
            "kv_budget_bytes",
            "weight_bytes_per_accelerator",
            "runtime_reserve_bytes",
        ):
            m.setattr(pipeline, name, again)
        got = operations.get("estimate").present(est, default_catalog()).model_dump()
    one = pipeline.evaluate(sc)  # computes every number itself, as Monte Carlo does
    for key, values in one.kpis.items():
        v = float(values[0])
        assert got[key] is None if math.isnan(v) else got[key] == v, key


@pytest.mark.parametrize("reoptimise", [False, True])
def test_a_decode_faster_than_predicted_keeps_the_chat_example_feasible(reoptimise):
    # A sample whose decode is 5 % faster than predicted (model_error.decode_time_ratio 0.95)
    # carries the peak on fewer replicas; sized without a TTFT budget the queue of that
    # smaller fleet took the TTFT past the example's 1 s target and every such sample was
    # infeasible (0 %). Sized with the wait the target leaves after the TTFT service
    # (tokenfab.sizing.replicas_for_ttft), a faster machine is never infeasible where the
    # prediction is feasible, and its fleet has no more accelerators than the prediction's.
    # (Not "costs no more": with the count set by the TTFT queue both samples take 204 H100,
    # and the faster one carries the load at batch 35 instead of 42, where the power model's
    # HBM busy share is higher: $276,034 against $275,707 a month, after the block-scaled
    # FP8 refit of 2026-12-01.)
    import yaml

    with open("examples/chat-llama-70b-h100.yaml", encoding="utf-8") as fh:
        sc = yaml.safe_load(fh)
    r = pipeline.evaluate(
        sc, {"model_error.decode_time_ratio": np.array([0.95, 1.0])}, reoptimise=reoptimise
    )
    assert r.feasible.tolist() == [True, True] and r.reasons == {}
    assert (r.kpis["ttft_s"] <= 1.0).all()
    count = r.kpis["accelerators"]
    assert count[0] <= count[1]
