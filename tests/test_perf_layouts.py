"""Layouts engines can run (tokenfab.perf.operating.layout_problem / candidate_layouts), the
engine catalog, and the scale-up / scale-out communication model (tokenfab.perf.parallel).

Each refusal is a break-one-thing test: a valid scenario with one field changed, and the exact
message. The rule's engine source is in the comment (and in ``layout_source`` of
``data/serving_software.csv``).
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from numpy.testing import assert_allclose

from tokenfab.catalog import default_catalog
from tokenfab.errors import InfeasibleError, ScenarioError
from tokenfab.perf import serving as sv
from tokenfab.perf.calibration import GIB
from tokenfab.perf.memory import weight_bytes
from tokenfab.perf.operating import candidate_layouts, estimate, resolve, scenario_layouts
from tokenfab.perf.parallel import (
    allreduce_time_s,
    alltoall_time_s,
    destination_ranks,
    expert_imbalance,
    experts_on_busiest_rank,
    layer_comm_time_s,
    scaleout_latency_s,
)
from tokenfab.scenario import Scenario


def refused(message: str, **fields) -> None:
    """The scenario fails with exactly ``message``."""
    with pytest.raises(ScenarioError, match="^" + re.escape(message) + "$"):
        estimate(Scenario(**fields))


# ---------------------------------------------------------------------------------------------
# Tensor parallelism and heads
# ---------------------------------------------------------------------------------------------


def test_gemma3_27b_tp3_refused():
    # vLLM ModelConfig.verify_with_parallel_config: num_attention_heads % tp == 0; Gemma 3 27B
    # has 32 heads (config.json), 32 % 3 = 2. Before this rule it got a batch of 287.
    refused(
        "tensor_parallel: 3 does not divide gemma-3-27b's 32 attention heads "
        "(vllm needs num_attention_heads % tensor_parallel == 0)",
        model="gemma-3-27b",
        accelerator="h100-sxm",
        accelerators=3,
        tensor_parallel=3,
        software="vllm",
    )


def test_llama4_scout_tp16_refused():
    # Llama 4 Scout has 40 attention heads (config.json text_config); 40 % 16 = 8. TensorRT-LLM
    # asserts num_heads % tp_size == 0 (tensorrt_llm/_torch/modules/attention.py).
    refused(
        "tensor_parallel: 16 does not divide llama-4-scout's 40 attention heads "
        "(trtllm needs num_attention_heads % tensor_parallel == 0)",
        model="llama-4-scout",
        accelerator="h100-sxm",
        accelerators=16,
        tensor_parallel=16,
    )


def test_vllm_kv_heads_must_divide_or_be_divided():
    # Llama 4 Scout TP5: 40 heads divide, but its 8 KV heads neither divide over 5 ranks nor
    # does 5 divide into whole replicas of them (vLLM QKVParallelLinear).
    refused(
        "tensor_parallel: 5 does not divide llama-4-scout's 8 KV heads (vllm splits KV heads "
        "evenly, or replicates them when tensor_parallel is a multiple of them)",
        model="llama-4-scout",
        accelerator="h100-sxm",
        accelerators=5,
        tensor_parallel=5,
        software="vllm",
    )


def test_tensorrt_llm_rounds_kv_heads_up_per_rank():
    # TensorRT-LLM gives each rank ceil(n_kv / tp) KV heads (attention.py): Llama-3.1-70B's 8
    # KV heads at TP16 (two nodes) leave ceil(8/16) = 1 head = 1/8 of the cache on each rank.
    setup = resolve(Scenario(model="llama-3.1-70b", accelerator="h100-sxm", accelerators=16))
    lay = candidate_layouts(setup, 16, tp=16, pp=1, ep=1)
    per_rank = sv.kv_bytes_per_sequence_per_accelerator(setup.shape, lay, 1000, 2.0)
    whole = sv.kv_bytes_per_sequence_per_accelerator(setup.shape, sv.layout(), 1000, 2.0)
    assert_allclose(per_rank, whole / 8, rtol=1e-12)


def test_vllm_replicates_kv_heads_beyond_their_count():
    # Qwen3-235B-A22B: 64 heads, 4 KV heads. vLLM TP8 replicates each KV head on 2 ranks, so a
    # rank holds 1 head = 1/4 of the cache, not 1/8.
    setup = resolve(
        Scenario(model="qwen3-235b-a22b", accelerator="h200-sxm", accelerators=8, software="vllm")
    )
    lay = candidate_layouts(setup, 8, tp=8, pp=1, ep=1)
    per_rank = sv.kv_bytes_per_sequence_per_accelerator(setup.shape, lay, 1000, 2.0)
    whole = sv.kv_bytes_per_sequence_per_accelerator(setup.shape, sv.layout(), 1000, 2.0)
    assert_allclose(per_rank, whole / 4, rtol=1e-12)


# ---------------------------------------------------------------------------------------------
# Expert parallelism
# ---------------------------------------------------------------------------------------------


def test_expert_parallel_on_dense_refused():
    refused(
        "expert_parallel: llama-3.1-8b is dense; expert parallelism needs routed experts (use 1)",
        model="llama-3.1-8b",
        accelerator="h100-sxm",
        accelerators=2,
        expert_parallel=2,
    )


def test_tensorrt_llm_needs_an_even_expert_split():
    # TensorRT-LLM fused_moe/interface.py: assert num_experts % ep_size == 0 (no load balancer);
    # DeepSeek-R1 has 256 routed experts, 256 % 3 = 1.
    refused(
        "expert_parallel: 3 does not divide deepseek-r1's 256 routed experts; trtllm needs an "
        "even split (allowed: divisors of 256)",
        model="deepseek-r1",
        accelerator="b300",
        accelerators=3,
        expert_parallel=3,
    )


def test_vllm_splits_experts_86_85_85_and_the_busiest_rank_holds_86():
    # vLLM determine_expert_map: 256 // 3 = 85 a rank, the first 256 % 3 = 1 rank gets one
    # more. The busiest rank holds 86 experts of each of the 58 MoE layers, plus all of the
    # non-routed weights (attention data-parallel, tp 1).
    assert float(experts_on_busiest_rank(256, 3)) == 86.0
    assert_allclose(expert_imbalance(256, 3), 86 * 3 / 256, rtol=1e-12)
    setup = resolve(
        Scenario(
            model="deepseek-r1",
            accelerator="b300",
            accelerators=3,
            expert_parallel=3,
            software="vllm",
        )
    )
    lay = scenario_layouts(setup, 3)
    assert (float(lay.ranks_per_stage[0]), float(lay.attention_data_parallel[0])) == (3.0, 3.0)
    s = setup.shape
    bpp = setup.weight_bytes_per_param
    routed_one_expert_all_layers = float(s.params_expert * s.moe_layers) * bpp
    non_routed = float(weight_bytes(s, bpp)) - 256 * routed_one_expert_all_layers
    got = sv.weight_bytes_per_accelerator(s, lay.row(0), bpp)
    assert_allclose(got, non_routed + 86 * routed_one_expert_all_layers, rtol=1e-12)


def test_expert_parallel_must_divide_the_stage_ranks():
    # tp 2 x attention data-parallel 2 = 4 ranks a stage; EP 8 cannot split them.
    refused(
        "expert_parallel: 8 does not divide the 4 ranks of a stage "
        "(tensor_parallel 2 x attention_data_parallel 2)",
        model="mixtral-8x7b",
        accelerator="h100-sxm",
        accelerators=4,
        tensor_parallel=2,
        attention_data_parallel=2,
        expert_parallel=8,
    )


def test_moe_tensor_parallel_is_the_rest_of_the_stage():
    # SGLang-style tp 8 with ep 4: each expert split 8 / 4 = 2 ways.
    setup = resolve(Scenario(model="mixtral-8x7b", accelerator="h100-sxm", accelerators=8))
    lay = candidate_layouts(setup, 8, tp=8, pp=1, ep=4, adp=1)
    assert float(lay.moe_tensor_parallel[0]) == 2.0
    assert float(lay.accelerators[0]) == 8.0


def test_named_expert_parallel_below_tensor_parallel_is_run_not_left_unsearched():
    # `estimate --tensor-parallel 8 --expert-parallel 4` without --attention-data-parallel: a
    # stage of max(8, 4) = 8 ranks (attention DP 8 / 8 = 1), each expert split 8 / 4 = 2 ways
    # (TensorRT-LLM moe_tp_size x moe_ep_size = tp_size). It was refused with "no layout ...
    # (none searched)"; --moe-tensor-parallel 2 alone names the same layout (ep = 8 / 2 = 4).
    base = dict(model="deepseek-v3", accelerator="h200-sxm", accelerators=8, batch_size=64)
    named_ep = estimate(Scenario(**base, tensor_parallel=8, expert_parallel=4))
    named_moe_tp = estimate(Scenario(**base, tensor_parallel=8, moe_tensor_parallel=2))
    stated = estimate(
        Scenario(**base, tensor_parallel=8, expert_parallel=4, attention_data_parallel=1)
    )
    for op in (named_ep, named_moe_tp):
        degrees = (op.tensor_parallel, op.expert_parallel, op.attention_data_parallel)
        assert degrees == (8, 4, 1)
        assert op.moe_tensor_parallel == 2
        assert op.tpot_s == stated.tpot_s
    # an EP that tiles nothing is refused with its own reason, not "none searched":
    # 128 experts % 3 = 2
    refused(
        "expert_parallel: 3 does not divide gpt-oss-120b's 128 routed experts; trtllm needs an "
        "even split (allowed: divisors of 128)",
        model="gpt-oss-120b",
        accelerator="h100-sxm",
        accelerators=8,
        tensor_parallel=8,
        expert_parallel=3,
    )


def test_scenario_moe_degrees_must_tile_the_stage():
    with pytest.raises(
        ScenarioError,
        match=re.escape(
            "moe_tensor_parallel: moe_tensor_parallel x expert_parallel (8) must equal "
            "tensor_parallel x attention_data_parallel (4), the ranks of a stage"
        ),
    ):
        Scenario.parse(
            dict(
                model="mixtral-8x7b",
                accelerator="h100-sxm",
                tensor_parallel=2,
                attention_data_parallel=2,
                expert_parallel=4,
                moe_tensor_parallel=2,
            )
        )


# ---------------------------------------------------------------------------------------------
# Engines and vendors
# ---------------------------------------------------------------------------------------------


def test_an_engine_on_another_vendor_lists_its_vendors_readably():
    # vLLM's vendors in serving_software.csv: "NVIDIA;AMD;Intel;Google;AWS;Huawei"; the line
    # quoted that raw ("vllm runs on NVIDIA;AMD;Intel;... accelerators only"). A sentence
    # lists them with commas and "and"; a Cerebras WSE-3 runs none of the engines.
    from tokenfab.catalog import default_catalog
    from tokenfab.errors import ScenarioError
    from tokenfab.perf.calibration import choose_engine

    cat = default_catalog()
    with pytest.raises(ScenarioError) as exc:
        choose_engine(cat, cat.accelerator("cerebras-wse3"), "vllm")
    assert str(exc.value) == (
        "software: vllm runs on NVIDIA, AMD, Intel, Google, AWS and Huawei accelerators only; "
        "cerebras-wse3 is Cerebras (allowed here: none)"
    )
    refused(
        "software: sglang runs on NVIDIA and AMD accelerators only; trainium2 is AWS "
        "(allowed here: vllm)",
        model="llama-3.1-8b",
        accelerator="trainium2",
        software="sglang",
    )


def test_tensorrt_llm_on_mi300x_refused():
    # TensorRT-LLM is CUDA-only (its installation docs); vLLM has a ROCm backend.
    refused(
        "software: trtllm runs on NVIDIA accelerators only; mi300x is AMD (allowed here: vllm, sglang)",
        model="llama-3.1-8b",
        accelerator="mi300x",
        software="trtllm",
    )


def test_unknown_engine_names_the_catalog():
    refused(
        "software: unknown class 'tgi'; allowed: trtllm, trtllm-engine, vllm, sglang",
        model="llama-3.1-8b",
        accelerator="h100-sxm",
        software="tgi",
    )


def test_every_engine_row_states_vendors_and_layout_source():
    for row in default_catalog().table("software").values():
        assert row.vendors and row.layout_source, row.id


def test_gpu_memory_utilization_sets_the_vllm_budget():
    # vLLM: KV budget = utilization x visible memory - weights - reserve. Llama-3.1-8B bf16 on
    # H100 (80 GiB, 0.99 visible), reserve 0.14 x 16.06e9 of weights plus a profiled 8,192-token
    # step (8192 x 16 x 4096 x 2 B = 1.074e9): 0.8 x 0.99 x 85.90e9 - 1.14 x 16.06e9 - 1.074e9.
    base = Scenario(model="llama-3.1-8b", accelerator="h100-sxm", software="vllm")
    setup = resolve(base.with_(gpu_memory_utilization=0.8))
    got = sv.kv_budget_bytes(
        setup.shape, setup.hw, setup.engine.engine, sv.layout(), setup.weight_bytes_per_param
    )
    weights = 16_060_522_496
    expected = 0.8 * 0.99 * 80 * GIB - 1.14 * weights - 8192 * 16 * 4096 * 2
    assert_allclose(got, expected, rtol=1e-12)
    default = resolve(base)
    assert float(default.engine.engine.memory_utilization) == 0.9  # vLLM's documented default


# ---------------------------------------------------------------------------------------------
# Multi-node layouts and the scale-out link
# ---------------------------------------------------------------------------------------------


def test_deepseek_r1_on_16_h100_runs_across_two_nodes():
    # 671B in FP8 (~690 GB with bf16 parts) exceeds 8 x 80 GiB less reserves, so the replica
    # must span both 8-GPU nodes over the 50 GB/s-a-GPU ConnectX-7 scale-out.
    with pytest.raises(InfeasibleError, match="needs at least 16 x h100-sxm"):
        estimate(Scenario(model="deepseek-r1", accelerator="h100-sxm", accelerators=8))
    op = estimate(Scenario(model="deepseek-r1", accelerator="h100-sxm", accelerators=16))
    assert op.accelerators // op.replicas == 16


def test_replica_beyond_the_domain_needs_a_published_scale_out():
    # H20: NVIDIA publishes no reference network (accelerators.csv scaleout_source).
    acc = default_catalog().accelerator("h20")
    refused(
        "accelerators: a replica of 16 x h20 spans more than one scale-up domain of 8, and "
        f"h20's scale-out bandwidth is {acc.scaleout_source}; keep replicas within 8",
        model="llama-3.1-70b",
        accelerator="h20",
        accelerators=16,
        tensor_parallel=16,
    )


def test_model_too_big_for_one_domain_without_scale_out_says_why():
    with pytest.raises(InfeasibleError, match="does not fit in one scale-up domain of 8 x h20"):
        estimate(Scenario(model="llama-3.1-405b", accelerator="h20", accelerators=16))


def test_scale_out_figures_are_sourced():
    # DGX H100 user guide: one 400 Gb/s ConnectX-7 a GPU = 50 GB/s each way.
    cat = default_catalog()
    assert cat.accelerator("h100-sxm").scaleout_bandwidth_gb_s == 50.0
    assert cat.accelerator("gb200").scaleup_domain_size == 72
    for acc in cat.table("accelerators").values():
        assert acc.scaleout_source, f"{acc.id}: scale-out figure or the reason it is empty"


def test_collectives_within_a_domain_ignore_the_scale_out_link():
    inside = allreduce_time_s(1e7, 8, 900e9, 0.0)
    assert_allclose(allreduce_time_s(1e7, 8, 900e9, 0.0, 8, 1e9), inside, rtol=1e-12)
    assert_allclose(alltoall_time_s(1e7, 8, 900e9, 0.0, 8, 1e9), 7 / 8 * 1e7 / 450e9, rtol=1e-12)


def test_collectives_across_domains_pay_the_network_latency():
    # NCCL's tree model (src/graph/tuning.cc): 2 x log2(nodes) network hops of 5 us each on
    # top of the in-domain latency, here 10 us over two ranks and 10 + 6 x 0.367 = 12.2 us
    # over a node's 8 (perf.parallel.collective_latency_s). An 8-byte all-reduce (bandwidth
    # terms ~0) over 16 H100s in 2 nodes: 12.2 + 2 x 1 x 5 = 22.2 us; over 64 in 8 nodes:
    # 12.2 + 2 x 3 x 5 = 42.2 us. Inside one node nothing is added: 12.2 us. The all-to-all
    # keeps the flat two-rank latency: 10 + 10 = 20 us.
    args = (900e9, 10e-6, 8, 100e9)
    assert_allclose(allreduce_time_s(8.0, 16, *args), 22.2e-6, rtol=1e-3)
    assert_allclose(allreduce_time_s(8.0, 64, *args), 42.2e-6, rtol=1e-3)
    assert_allclose(allreduce_time_s(8.0, 8, *args), 12.2e-6, rtol=1e-3)
    assert_allclose(alltoall_time_s(8.0, 16, *args), 20e-6, rtol=1e-3)
    # NCCL's log2i is a floor: 3 nodes count as 2, 9 as 8
    want = [0.0, 10e-6, 10e-6, 20e-6, 30e-6]
    assert_allclose(scaleout_latency_s(np.array([1, 2, 3, 4, 9])), want, rtol=1e-12)


def test_expert_parallel_under_tensor_parallel_attention_moves_no_tokens():
    # DeepSeek-R1 decode on 8 ranks, 4 tokens: attention TP 8 with the experts EP 8 leaves every
    # token on every rank after the attention's all-reduce, so the MoE needs no dispatch or
    # combine; its output is summed by the layer's second all-reduce, as with MoE TP 8. The
    # step's communication is 2 x 61 all-reduces of 4 x 7168 x 2 = 57,344 B, nothing more.
    kw = dict(
        tokens=4,
        hidden=7168,
        layers=61,
        moe_layers=58,
        experts_per_token=8,
        pipeline_parallel=1,
        link_bytes_per_s=1800e9,
        latency_s=10e-6,
    )
    tp_only = 2 * 61 * allreduce_time_s(57_344, 8, 1800e9, 10e-6)
    ep_under_tp = layer_comm_time_s(**kw, tensor_parallel=8, expert_parallel=8)
    assert_allclose(ep_under_tp, tp_only, rtol=1e-12)
    moe_tp = layer_comm_time_s(**kw, tensor_parallel=8, expert_parallel=1)
    assert_allclose(ep_under_tp, moe_tp, rtol=1e-12)
    # attention DP 8 (tp 1): each rank's own 4 tokens go to the ranks holding their experts and
    # back, 2 all-to-alls per MoE layer of 57,344 B x 5.25 destination ranks
    dp = layer_comm_time_s(**kw, tensor_parallel=1, expert_parallel=8, attention_data_parallel=8)
    want = 2 * 58 * alltoall_time_s(57_344 * float(destination_ranks(8, 8)), 8, 1800e9, 10e-6)
    assert_allclose(dp, want, rtol=1e-12)


def test_pipeline_send_crosses_nodes_over_scale_out():
    # pp 2 x tp 8 on H100: the stage boundary sits between the two nodes; one send of
    # 100 tokens x 8192 x 2 B = 1.6384 MB at 50 GB/s one way = 32.8 us. Compare without tp
    # traffic by taking the difference of pp 2 spanning 16 and the same inside one domain.
    kw = dict(
        tokens=100,
        hidden=8192,
        layers=80,
        moe_layers=0,
        experts_per_token=0,
        tensor_parallel=1,
        expert_parallel=1,
        pipeline_parallel=2,
        link_bytes_per_s=900e9,
        latency_s=0.0,
        domain_size=8,
        scaleout_bytes_per_s=100e9,
    )
    across = layer_comm_time_s(**kw, replica_accelerators=16)
    inside = layer_comm_time_s(**kw, replica_accelerators=8)
    assert_allclose(across, 1.6384e6 / 50e9, rtol=1e-12)
    assert_allclose(inside, 1.6384e6 / 450e9, rtol=1e-12)


def test_search_offers_multi_node_layouts_only_with_scale_out():
    h100 = resolve(Scenario(model="deepseek-r1", accelerator="h100-sxm", accelerators=16))
    assert np.any(candidate_layouts(h100, 16).accelerators == 16)
    # mi325x has no published scale-out link (accelerators.csv): layouts stay in its 8-GPU domain
    mi = resolve(Scenario(model="deepseek-r1", accelerator="mi325x", accelerators=16))
    assert np.all(candidate_layouts(mi, 16).accelerators <= 8)
    # mi300x: Azure ND MI300X v5 gives each GPU a 400 Gb/s NIC, so 16-GPU layouts are offered
    mi300 = resolve(Scenario(model="deepseek-r1", accelerator="mi300x", accelerators=16))
    assert np.any(candidate_layouts(mi300, 16).accelerators == 16)


# ---------------------------------------------------------------------------------------------
# Disaggregated prefill and decode
# ---------------------------------------------------------------------------------------------


def test_disaggregation_needs_two_replicas():
    refused(
        "disaggregated: a prefill and a decode pool need at least 2 replicas; the smallest "
        "replica trtllm can run here spans 1 of the 1 accelerators",
        model="llama-3.1-8b",
        accelerator="h100-sxm",
        accelerators=1,
        disaggregated=True,
    )


def test_disaggregated_point_shows_whole_pools():
    op = estimate(
        Scenario(model="llama-3.1-8b", accelerator="h100-sxm", accelerators=4, disaggregated=True)
    )
    assert op.prefill_replicas >= 1 and op.decode_replicas >= 1
    assert op.prefill_replicas + op.decode_replicas == op.replicas
    assert op.prefill_time_share == op.prefill_replicas / op.replicas


def test_whole_pools_carry_the_slower_pool():
    # 4 replicas at 1,000 tok/s each with fractional pools, a third prefilling: a decode
    # replica makes 1000 / (2/3) = 1,500 tok/s, a prefill replica feeds 1000 / (1/3) = 3,000.
    # 1 + 3: min(4,500, 3,000) = 3,000; 2 + 2: min(3,000, 6,000) = 3,000; the first wins.
    assert sv.disaggregated_split(4, 1000.0, 1 / 3) == (1, 3, 3000.0)
    # never more than fractional pools would carry
    for r in range(2, 9):
        for s in (0.1, 0.3, 0.5, 0.8):
            assert sv.disaggregated_split(r, 100.0, s)[2] <= r * 100.0 * (1 + 1e-12)


def test_dispatch_sends_one_copy_per_destination_rank():
    # DeepEP / TensorRT-LLM all-to-all: a token goes once to each rank holding any of its
    # top-k experts. Top-8 over 8 ranks: 8 x (1 - (7/8)^8) = 5.2509 copies, not 8; one rank
    # gets the token once; over very many ranks every pick lands on its own rank (-> k).
    from tokenfab.perf.parallel import destination_ranks

    assert_allclose(destination_ranks(8, 8), 8 * (1 - (7 / 8) ** 8), rtol=1e-12)
    assert float(destination_ranks(8, 1)) == 1.0
    assert_allclose(destination_ranks(8, 1e6), 8.0, rtol=1e-4)
    assert float(destination_ranks(2, 4)) == 4 * (1 - 0.75**2)  # 1.75 of 2 picks


def test_attention_dp_moe_gathers_over_the_whole_stage():
    # TensorRT-LLM's MoE with attention DP 64 and experts MoE-TP 8 x EP 8 over 8 B200 nodes:
    # all-gather the 64 ranks' tokens, reduce-scatter the outputs (one all-reduce's halves).
    # 4 tokens a rank x 7168 x 2 B = 57,344 B; gathered 64 x = 3,670,016 B. Hierarchical
    # all-reduce: inside, with no two-rank latency but the 6 x 0.367 = 2.2 us that 8 ranks
    # add (perf.parallel.collective_latency_s), two-shot 2 x 2.2 + 2 x 7/8 x 3,670,016 /
    # 900e9 = 4.4 + 7.14 us beats one-shot 2.2 + 7 x 3,670,016 / 900e9 = 2.2 + 28.5 us;
    # across the 8 nodes 2 x 7/8 x (3,670,016 / 8) / 50e9 = 16.06 us; no all-to-all beside it
    kw = dict(
        tokens=4,
        hidden=7168,
        layers=1,
        moe_layers=1,
        experts_per_token=8,
        tensor_parallel=1,
        pipeline_parallel=1,
        link_bytes_per_s=1800e9,
        latency_s=0.0,
        domain_size=8,
        scaleout_bytes_per_s=100e9,
    )
    got = layer_comm_time_s(**kw, expert_parallel=8, moe_tensor_parallel=8)
    # plus the network's latency over 8 nodes: 2 x log2(8) x 5 us = 30 us (NCCL's tree model)
    want = 2 * 2.2e-6 + 1.75 * 3_670_016 / 900e9 + 1.75 * 458_752 / 50e9 + 30e-6
    assert_allclose(got, want, rtol=1e-12)
    # pure expert parallelism over the 64 ranks keeps the dispatch and combine all-to-alls
    ep_only = layer_comm_time_s(**kw, expert_parallel=64, moe_tensor_parallel=1)
    copies = float(destination_ranks(8, 64))
    want = 2 * alltoall_time_s(57_344 * copies, 64, 1800e9, 0.0, 8, 100e9)
    assert_allclose(ep_only, want, rtol=1e-12)
