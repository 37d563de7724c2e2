"""Operating points (tokenfab.perf.operating): defaults, layouts, fit, targets and invariants.

Capacities: H100 SXM has 80 GiB (85.9e9 B), of which 99 % is visible to the runtime
(``perf.serving.VISIBLE_MEMORY_SHARE``); TensorRT-LLM (NVIDIA's default software class) keeps
4 GB a GPU for its runtime (``data/serving_software.csv``), so 81.0e9 B a GPU hold weights.
"""

from __future__ import annotations

import re
from types import MappingProxyType

import numpy as np
import pytest
from numpy.testing import assert_allclose

from tokenfab.catalog import Catalog
from tokenfab.errors import InfeasibleError, ScenarioError
from tokenfab.perf.calibration import GIB
from tokenfab.perf.operating import (
    DEFAULT_INPUT_TOKENS,
    DEFAULT_OUTPUT_TOKENS,
    candidate_layouts,
    estimate,
    minimum_accelerators,
    resolve,
)
from tokenfab.scenario import Scenario

LLAMA70B_FP8_8XH100 = Scenario(
    model="llama-3.1-70b", accelerator="h100-sxm", accelerators=8, precision="fp8"
)


# ---------------------------------------------------------------------------------------------
# resolve: defaults and unsupported formats
# ---------------------------------------------------------------------------------------------


def test_resolve_reuses_what_it_derived_from_the_rows_and_keeps_it_unchanged():
    # the shape, peaks and engine of a row are derived once and shared (speed): the next
    # estimate gets the same objects, and an in-place change of one of their arrays raises
    # instead of reaching it
    cat = Catalog()
    sc = Scenario(model="llama-3.1-8b", accelerator="h100-sxm")
    a, b = resolve(sc, cat), resolve(sc.with_(input_tokens=4000), cat)
    assert b.shape is a.shape and b.engine is a.engine and b.input_tokens == 4000
    with pytest.raises(ValueError, match="read-only"):
        a.shape.layers[...] = 1.0
    lay = candidate_layouts(a, 8)
    assert candidate_layouts(b, 8) is lay
    with pytest.raises(ValueError, match="read-only"):
        lay.tensor_parallel[0] = 3.0


def test_resolve_follows_a_table_replaced_in_its_catalog():
    # a table replaced in a catalog (a new read-only mapping) is read again, not served from
    # what was derived from the old one: H100's bandwidth efficiency set to 0.5 reaches the engine
    cat = Catalog()
    sc = Scenario(model="llama-3.1-8b", accelerator="h100-sxm")
    before = resolve(sc, cat).engine
    rows = dict(cat.table("efficiency"))
    rows[before.efficiency_id] = rows[before.efficiency_id].model_copy(
        update={"bw_efficiency": 0.5}
    )
    cat._tables["efficiency"] = MappingProxyType(rows)
    after = resolve(sc, cat).engine
    assert float(before.engine.bw_efficiency) != 0.5
    assert float(after.engine.bw_efficiency) == 0.5


def test_resolve_defaults_dense_bf16():
    s = resolve(Scenario(model="llama-3.1-8b", accelerator="h100-sxm"))
    assert (s.precision, s.kv_precision) == ("bf16", "bf16")
    assert (s.input_tokens, s.output_tokens) == (DEFAULT_INPUT_TOKENS, DEFAULT_OUTPUT_TOKENS)
    assert s.engine.software == "trtllm"  # NVIDIA's default class
    assert s.engine.efficiency_id == "hopper-trtllm"
    assert s.weight_bytes_per_param == 2.0


def test_resolve_native_fp8_falls_back_to_bf16_without_fp8_units():
    # DeepSeek-V3 ships FP8; an H100 runs it in FP8 with an FP8 cache, an A100 (no FP8 peak on
    # its datasheet) in BF16.
    h = resolve(Scenario(model="deepseek-v3", accelerator="h100-sxm"))
    assert (h.precision, h.kv_precision) == ("fp8", "fp8")
    a = resolve(Scenario(model="deepseek-v3", accelerator="a100-sxm-80gb"))
    assert (a.precision, a.kv_precision) == ("bf16", "bf16")


def test_reasoning_tokens_count_as_output():
    s = resolve(
        Scenario(
            model="llama-3.1-8b",
            accelerator="h100-sxm",
            input_tokens=500,
            output_tokens=200,
            reasoning_tokens=300,
        )
    )
    assert s.output_tokens == 500  # 200 visible + 300 reasoning


def test_fp8_on_a100_is_a_scenario_error():
    with pytest.raises(ScenarioError, match=r"fp8.*a100") as exc:
        estimate(Scenario(model="llama-3.1-8b", accelerator="a100-sxm-80gb", precision="fp8"))
    assert "bf16" in str(exc.value)  # lists what is supported


def test_context_longer_than_the_model_is_a_scenario_error():
    # 130,000 + 2,000 = 132,000 > 131,072 tokens of Llama 3.1's context
    with pytest.raises(ScenarioError, match="131,072"):
        resolve(
            Scenario(
                model="llama-3.1-8b",
                accelerator="h100-sxm",
                input_tokens=130_000,
                output_tokens=2_000,
            )
        )


def test_default_formats_of_gpt_oss_on_a100_are_runnable():
    s = resolve(Scenario(model="gpt-oss-120b", accelerator="a100-sxm-80gb"))
    assert s.precision == "mxfp4"
    assert s.kv_precision in ("bf16", "fp16")


def test_unsupported_kv_format_names_the_kv_field():
    with pytest.raises(ScenarioError, match=r"^kv_precision"):
        resolve(Scenario(model="llama-3.1-8b", accelerator="a100-sxm-80gb", kv_precision="fp8"))


# ---------------------------------------------------------------------------------------------
# Layouts and fit
# ---------------------------------------------------------------------------------------------


def test_candidate_layouts_dense_on_eight():
    # tp and pp powers of two up to 8 whose product divides 8 (tp divides 64 heads):
    # tp x pp in {1, 2, 4, 8}: 1 + 2 + 3 + 4 = 10 layouts, none with expert parallelism.
    lay = candidate_layouts(resolve(LLAMA70B_FP8_8XH100), 8)
    assert lay.tensor_parallel.size == 10
    assert np.all(8 % lay.accelerators == 0)
    assert np.all(lay.expert_parallel == 1)
    assert np.all(lay.tensor_parallel <= 8)


def test_candidate_layouts_moe_on_eight():
    # Mixtral (8 experts) on 8 GPUs: ep in {1, 2, 4, 8}, ep = 1 or ep >= tp, and
    # pp x max(tp, ep) divides 8. Counting pp choices for each (tp, ep):
    #   tp 1: ep 1 -> 4, ep 2 -> 3, ep 4 -> 2, ep 8 -> 1   = 10
    #   tp 2: ep 1 -> 3, ep 2 -> 3, ep 4 -> 2, ep 8 -> 1   =  9
    #   tp 4: ep 1 -> 2, ep 4 -> 2, ep 8 -> 1              =  5
    #   tp 8: ep 1 -> 1, ep 8 -> 1                         =  2   -> 26 layouts
    lay = candidate_layouts(
        resolve(Scenario(model="mixtral-8x22b", accelerator="h100-sxm", accelerators=8)), 8
    )
    assert lay.tensor_parallel.size == 26
    ep, tp = lay.expert_parallel, lay.tensor_parallel
    assert np.all((ep == 1) | (ep >= tp))
    assert np.all(8 % lay.accelerators == 0)


def test_layout_that_does_not_divide_the_count_is_a_scenario_error():
    # a TP2 replica cannot tile 3 accelerators
    with pytest.raises(
        ScenarioError, match=r"^accelerators: a replica of 2 .* does not divide the 3"
    ):
        estimate(
            Scenario(
                model="llama-3.1-8b", accelerator="h100-sxm", accelerators=3, tensor_parallel=2
            )
        )


@pytest.mark.parametrize(
    ("model", "precision", "expected"),
    [
        ("llama-3.1-8b", "bf16", 1),  # 16.1 GB on one 81.0 GB GPU
        # 405B fp8: 410.1 GB; 4 GPUs hold 4 x 81.0 = 324.2 GB < 410.1, 8 hold 648 GB
        ("llama-3.1-405b", "fp8", 8),
        # 405B bf16: 811.7 GB; 8 GPUs hold 648 GB, the next power of two, 16, holds 1,297 GB
        ("llama-3.1-405b", "bf16", 16),
    ],
)
def test_minimum_accelerators(model, precision, expected):
    s = resolve(Scenario(model=model, accelerator="h100-sxm", precision=precision))
    per_gpu = 80 * GIB * 0.99 - 4e9  # visible memory at utilization 1.0 less the 4 GB reserve
    assert_allclose(per_gpu, 81.04e9, rtol=1e-3)
    assert minimum_accelerators(s) == expected


def test_405b_bf16_on_one_h100_names_the_minimum_count():
    # 811.7 GB of weights need more than 811.7 / 81.0 = 10.0 GPUs; layouts are powers of two
    # (tp within the 8-GPU NVLink domain x pp stages), so the message says 16.
    scenario = Scenario(model="llama-3.1-405b", accelerator="h100-sxm", precision="bf16")
    with pytest.raises(InfeasibleError) as exc:
        estimate(scenario)
    msg = str(exc.value)
    need = int(re.search(r"needs at least (\d+)", msg).group(1))
    assert need == minimum_accelerators(resolve(scenario)) == 16
    assert need & (need - 1) == 0 and need >= 811.7e9 / 81.04e9
    assert "llama-3.1-405b" in msg and "got 1" in msg
    # and 16 does serve it
    op = estimate(scenario.with_(accelerators=16))
    assert op.tensor_parallel * op.pipeline_parallel * op.replicas == 16


def test_enough_accelerators_in_no_replica_large_enough_says_why():
    # 70B bf16: 141 GB of weights; one H100 holds 81.0 GB, so a replica needs 2 (2 x 81.0 =
    # 162 GB). 3 accelerators are more than 2, but power-of-two degrees split 3 only into
    # replicas of 1, and "needs at least 2 x h100-sxm; got 3" read as a contradiction: the
    # line says 3 does not split into replicas of 2 and that a multiple of 2 is allowed.
    three = Scenario(model="llama-3.1-70b", accelerator="h100-sxm", accelerators=3)
    with pytest.raises(InfeasibleError) as exc:
        estimate(three)
    msg = str(exc.value)
    assert msg.startswith("accelerators: ") and "got 3" not in msg
    assert "replica of at least 2 x h100-sxm" in msg and "a multiple of 2" in msg
    assert estimate(three.with_(accelerators=6)).replicas >= 1  # 6 = 3 replicas of 2 serves it
    # 8 accelerators, but tensor_parallel 1 x pipeline_parallel 1 pins a replica to 1 GPU: the
    # line names the fields that do it (it once said "needs at least 2; got 8")
    pinned = three.with_(accelerators=8, tensor_parallel=1, pipeline_parallel=1)
    with pytest.raises(InfeasibleError) as exc:
        estimate(pinned)
    msg = str(exc.value)
    assert msg.startswith("tensor_parallel: ") and "got 8" not in msg
    assert "tensor_parallel 1, pipeline_parallel 1" in msg


def test_batch_that_does_not_fit_is_infeasible():
    # 223 sequences of 1,000 / 1,000 fit (test_perf_serving.py); 224 do not.
    s = Scenario(model="llama-3.1-8b", accelerator="h100-sxm", batch_size=224)
    with pytest.raises(InfeasibleError, match="223"):
        estimate(s)
    assert estimate(s.with_(batch_size=223)).batch_size == 223


# ---------------------------------------------------------------------------------------------
# Targets and load
# ---------------------------------------------------------------------------------------------


def test_tpot_slo_is_met_and_costs_throughput():
    offline = estimate(LLAMA70B_FP8_8XH100)
    slo = 0.03  # 33 tokens/s a user; the offline optimum runs at ~62 ms
    assert offline.tpot_s > slo  # so the target binds
    op = estimate(LLAMA70B_FP8_8XH100.with_(tpot_slo_s=slo))
    assert op.tpot_s <= slo
    assert op.output_tok_s_total <= offline.output_tok_s_total


def test_ttft_slo_is_met_including_queueing_at_a_stated_load():
    offline = estimate(LLAMA70B_FP8_8XH100)
    rate = 0.8 * offline.requests_per_second  # 80 % of the offline capacity
    op = estimate(LLAMA70B_FP8_8XH100.with_(ttft_slo_s=0.5, requests_per_second=rate))
    assert op.ttft_s <= 0.5
    assert op.queue_wait_s > 0  # Poisson arrivals at that load wait for a slot


def test_a_latency_target_that_does_not_bind_changes_nothing():
    # Issue 8: --ttft-slo-s 1000 moved TTFT from 43 ms to 2.4 s (queueing at saturation was
    # added only when a target was set). With no stated load TTFT is the prompt's own time, so
    # a target far above it selects the same point as no target.
    offline = estimate(LLAMA70B_FP8_8XH100)
    loose = estimate(LLAMA70B_FP8_8XH100.with_(ttft_slo_s=1000.0, tpot_slo_s=1000.0))
    assert loose.as_dict() == offline.as_dict()


def test_missed_ttft_is_reported_as_ttft():
    # a prompt of 1,000 tokens cannot be prefilled in 1 microsecond; TPOT has no target here
    with pytest.raises(InfeasibleError, match=r"^ttft_slo_s: .*TTFT <= 1e-06 s"):
        estimate(LLAMA70B_FP8_8XH100.with_(ttft_slo_s=1e-6))


def test_both_targets_missed_name_both():
    fast = estimate(LLAMA70B_FP8_8XH100.with_(objective="min-latency"))
    with pytest.raises(InfeasibleError, match=r"^tpot_slo_s: .*; ttft_slo_s: "):
        estimate(LLAMA70B_FP8_8XH100.with_(tpot_slo_s=fast.tpot_s * 0.5, ttft_slo_s=1e-6))


def test_impossible_tpot_slo_is_infeasible():
    # 10 us a token is 1,000x below any H100's weight-read time for 70B parameters.
    with pytest.raises(InfeasibleError, match="tpot_slo_s"):
        estimate(LLAMA70B_FP8_8XH100.with_(tpot_slo_s=1e-5))


def test_requests_beyond_capacity_are_infeasible():
    # 1e4 requests/s of 1,000 tokens is 1e7 tok/s; 8 H100s make a few thousand: refused on the
    # field the user fixed, as every entry point refuses it (tokenfab.sizing.count_point)
    with pytest.raises(InfeasibleError, match=r"^accelerators: 8 x h100-sxm cannot carry"):
        estimate(LLAMA70B_FP8_8XH100.with_(requests_per_second=1e4))


def test_given_load_is_carried():
    # 5 requests/s of 1,000 output tokens: the chosen point serves at least 5/s, below the
    # offline capacity.
    offline = estimate(LLAMA70B_FP8_8XH100)
    op = estimate(LLAMA70B_FP8_8XH100.with_(requests_per_second=5.0))
    assert op.requests_per_second >= 5.0
    assert op.requests_per_second <= offline.requests_per_second
    assert op.batch_size <= offline.batch_size


def test_min_latency_is_batch_one_and_fastest():
    offline = estimate(LLAMA70B_FP8_8XH100)
    op = estimate(LLAMA70B_FP8_8XH100.with_(objective="min-latency"))
    assert op.batch_size == 1
    assert op.request_latency_s < offline.request_latency_s
    assert op.tpot_s < offline.tpot_s


# ---------------------------------------------------------------------------------------------
# Invariants of every estimate
# ---------------------------------------------------------------------------------------------

SCENARIOS = [
    Scenario(model="llama-3.1-8b", accelerator="h100-sxm", batch_size=1),
    Scenario(model="llama-3.1-8b", accelerator="h100-sxm"),
    Scenario(
        model="llama-3.1-8b", accelerator="a100-sxm-80gb", input_tokens=2000, output_tokens=200
    ),
    LLAMA70B_FP8_8XH100,
    LLAMA70B_FP8_8XH100.with_(tpot_slo_s=0.03),
    LLAMA70B_FP8_8XH100.with_(requests_per_second=5.0),
    LLAMA70B_FP8_8XH100.with_(objective="min-latency"),
    Scenario(model="mixtral-8x22b", accelerator="h100-sxm", accelerators=8, precision="bf16"),
    Scenario(model="deepseek-v3", accelerator="h200-sxm", accelerators=8),
    Scenario(model="gpt-oss-120b", accelerator="b200"),
    Scenario(model="gemma-3-27b", accelerator="l40s", accelerators=2, precision="fp8"),
    Scenario(model="llama-3.1-8b", accelerator="mi300x", prefix_cache_hit_rate=0.5),
]


@pytest.mark.parametrize(
    "scenario", SCENARIOS, ids=lambda s: f"{s.model}-{s.accelerator}-{s.accelerators}"
)
def test_estimate_never_exceeds_its_roofline(scenario):
    d = estimate(scenario).as_dict()
    assert d["output_tok_s_total"] <= d["roofline_output_tok_s_total"]
    assert 0 < d["roofline_fraction"] <= 1


@pytest.mark.parametrize(
    "scenario", SCENARIOS, ids=lambda s: f"{s.model}-{s.accelerator}-{s.accelerators}"
)
def test_operating_point_is_self_consistent(scenario):
    op = estimate(scenario)
    d = op.as_dict()
    ranks = max(op.tensor_parallel, op.expert_parallel)
    assert op.replicas * op.pipeline_parallel * ranks == op.accelerators
    assert 1 <= op.batch_size <= op.max_batch_size
    # each replica's round moves batch_size tokens in at least tpot_s (a round also carries the
    # prompt a sequence's own TPOT leaves out)
    assert op.output_tok_s_total <= op.replicas * op.batch_size / op.tpot_s * (1 + 1e-9)
    assert_allclose(
        d["output_tok_s_per_accelerator"], op.output_tok_s_total / op.accelerators, rtol=1e-12
    )
    assert_allclose(
        d["requests_per_second"], op.output_tok_s_total / op.setup.output_tokens, rtol=1e-12
    )
    # weights + reserve + KV never exceed the accelerator's memory
    used = (
        d["weights_gb_per_accelerator"]
        + d["reserve_gb_per_accelerator"]
        + d["kv_gb_per_accelerator"]
    )
    assert used * 1e9 <= op.setup.accelerator.memory_gb * GIB
    assert op.ttft_s >= op.queue_wait_s >= 0


@pytest.mark.parametrize(
    "scenario",
    [
        LLAMA70B_FP8_8XH100,
        Scenario(model="deepseek-v3", accelerator="h200-sxm", accelerators=8),
        Scenario(
            model="qwen3-30b-a3b", accelerator="h100-sxm", speculative_tokens=2, acceptance_rate=0.7
        ),
        LLAMA70B_FP8_8XH100.with_(accelerators=16, disaggregated=True),
    ],
    ids=["dense", "moe", "speculative", "disaggregated"],
)
def test_grid_equals_the_engine_and_its_roofline_evaluated_apart(scenario):
    # evaluate_grid runs the engine and its roofline as one call on a leading axis of two
    # (speed); element by element that must equal the two calls made separately
    from dataclasses import fields

    from tokenfab.perf.operating import evaluate_grid, scenario_layouts, speculation
    from tokenfab.perf.serving import disaggregated_state, steady_state

    setup = resolve(scenario)
    lay = scenario_layouts(setup, scenario.accelerators or 1)
    grid = evaluate_grid(setup, lay)
    col = lay.column()
    state = disaggregated_state if scenario.disaggregated else steady_state
    common = (col, setup.weight_bytes_per_param, setup.kv_bytes_per_element)
    kw = dict(
        batch_size=grid.batch,
        input_tokens=setup.input_tokens,
        output_tokens=setup.output_tokens,
        prefix_cache_hit_rate=setup.prefix_cache_hit_rate,
        **speculation(scenario),
    )
    eng = setup.engine.engine
    st = state(setup.shape, setup.hw, eng, *common, **kw)
    roof = state(setup.shape, setup.hw, eng.roofline(), *common, **kw)
    shape = grid.batch.shape
    for f in fields(st):
        grid_name = {"output_tok_s": "output_tok_s_replica"}.get(f.name, f.name)
        grid_name = {"prefill_tok_s": "prefill_tok_s_replica"}.get(grid_name, grid_name)
        if hasattr(grid, grid_name) and f.name != "batch_size":
            assert_allclose(
                getattr(grid, grid_name), np.broadcast_to(getattr(st, f.name), shape), rtol=0
            )
    assert_allclose(grid.roofline_output_tok_s_replica, roof.output_tok_s, rtol=0)
    assert_allclose(grid.roofline_tpot_s, np.broadcast_to(roof.tpot_s, shape), rtol=0)


@pytest.mark.parametrize(
    ("given", "field"),
    [
        # 1,000 + 100,000,000 tokens: output_tokens alone is over the 131,072-token context
        # (the line named input_tokens)
        ({"output_tokens": 100_000_000}, "output_tokens"),
        ({"input_tokens": 200_000}, "input_tokens"),
        # 100,000 + 100,000 = 200,000 > 131,072, neither alone: the sum is named
        ({"input_tokens": 100_000, "output_tokens": 100_000}, "input_tokens + output_tokens"),
    ],
)
def test_a_request_longer_than_the_context_names_the_field(given, field):
    from tokenfab.perf.operating import resolve

    sc = Scenario(model="llama-3.1-8b", accelerator="h100-sxm", **given)
    with pytest.raises(ScenarioError) as exc:
        resolve(sc)
    msg = str(exc.value)
    assert msg.startswith(f"{field}: ")
    # Llama 3.1's context: 131,072 tokens (models.csv)
    assert msg.endswith(
        "exceed llama-3.1-8b's context of 131,072 tokens; allowed: a total up to 131,072"
    )


def test_a_memory_utilisation_too_low_to_hold_anything_names_the_field():
    # --gpu-memory-utilization 0.01 on an H100 (80 GiB = 85.90 GB, 99 % visible): 85.90 x 0.99
    # x 0.01 = 0.850 GB usable a GPU, below the runtime reserve, so no count of H100s holds
    # Llama 3.1 8B; the line said "does not fit on any number of x h100-sxm (80 GB each)"
    sc = Scenario(model="llama-3.1-8b", accelerator="h100-sxm", gpu_memory_utilization=0.01)
    with pytest.raises(InfeasibleError) as exc:
        estimate(sc)
    msg = str(exc.value)
    assert msg.startswith("gpu_memory_utilization: llama-3.1-8b in bf16")
    assert "does not fit on any number of h100-sxm" in msg
    assert "0.85 GB usable at gpu_memory_utilization 0.01" in msg
    assert "allowed: above 0 to 1" in msg


def test_deepseek_fp8_on_hopper_runs_at_the_block_scaled_fp8_efficiency():
    from tokenfab.catalog import default_catalog

    cat = default_catalog()
    row = cat.table("efficiency")["hopper-trtllm"]
    block = row.compute_efficiency_8bit_block or row.compute_efficiency_8bit

    def ce(model: str, accelerator: str = "h200-sxm") -> float:
        sc = Scenario(
            model=model, accelerator=accelerator, accelerators=8, precision="fp8", software="trtllm"
        )
        return float(resolve(sc, cat).engine.engine.compute_efficiency)

    # DeepSeek-V3 ships block-scaled FP8 (models.csv fp8_checkpoint_block 128); Llama 3.1's FP8
    # checkpoints scale per tensor
    assert ce("deepseek-v3") == block
    assert ce("llama-3.1-70b") == row.compute_efficiency_8bit
    # Blackwell applies block scales in its tensor cores: DeepSeek FP8 at the FP8 column there
    bw = cat.table("efficiency")["blackwell-trtllm"]
    assert ce("deepseek-v3", "b200") == bw.compute_efficiency_8bit


def test_fp8_scales_names_the_checkpoint_a_user_runs():
    from tokenfab.catalog import default_catalog

    cat = default_catalog()
    row = cat.table("efficiency")["hopper-trtllm"]

    def ce(model: str, **extra) -> float:
        sc = Scenario(
            model=model,
            accelerator="h200-sxm",
            accelerators=8,
            precision="fp8",
            software="trtllm",
            **extra,
        )
        return float(resolve(sc, cat).engine.engine.compute_efficiency)

    # NVIDIA's nvidia/Qwen3-235B-A22B-FP8 is a Model Optimizer per-tensor checkpoint (the
    # TensorRT-LLM performance overview; bench/data/measured_throughput_added.md): per_tensor
    # runs it at the 8-bit column, where Qwen's own block-scaled release takes the block one
    assert ce("qwen3-235b-a22b") == row.compute_efficiency_8bit_block
    assert ce("qwen3-235b-a22b", fp8_scales="per_tensor") == row.compute_efficiency_8bit
    # and block says so of a model whose published checkpoint is BF16 (Llama 3.1 70B)
    assert ce("llama-3.1-70b", fp8_scales="block") == row.compute_efficiency_8bit_block
    # the option describes FP8 weights: given with another format it is refused, named
    with pytest.raises(ScenarioError, match=r"^fp8_scales: describes fp8 weights; precision is"):
        Scenario.parse(
            {
                "model": "qwen3-32b",
                "accelerator": "h100-sxm",
                "precision": "bf16",
                "fp8_scales": "block",
            }
        )
