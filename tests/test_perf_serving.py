"""Serving model: layouts, memory budget, rounds, steady state and queueing (tokenfab.perf.serving).

Engine memory settings come from ``data/serving_software.csv``: TensorRT-LLM (``trtllm``) uses
all of memory, reserves 4 GB for the runtime, gives 90 % of the rest to KV and reserves KV for a
whole output; vLLM uses 90 % of memory, reserves 3 GB, gives all of the rest to KV and reserves
half the output on average. Both allow 8,192 tokens a step. H100 SXM memory is 80 GiB.
"""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest
from numpy.testing import assert_allclose

from tokenfab.catalog import default_catalog
from tokenfab.perf import serving as sv
from tokenfab.perf.calibration import GIB, choose_engine, hardware
from tokenfab.perf.memory import ModelShape, weight_bytes

LLAMA8B_BF16_BYTES = 16_060_522_496  # 8,030,261,248 params x 2 B (test_perf_memory.py)
LLAMA8B_KV_PER_TOKEN = 131_072  # 32 layers x 2 x 8 KV heads x 128 x 2 B
LLAMA8B_EMBEDDING_BYTES = 128_256 * 4_096 * 2  # the input table, 1,050,673,152 B


def setup(
    model_id: str, acc_id: str = "h100-sxm", precision: str = "bf16", software: str | None = None
):
    cat = default_catalog()
    acc = cat.accelerator(acc_id)
    shape = ModelShape.from_record(cat.model(model_id))
    return shape, hardware(acc, precision), choose_engine(cat, acc, software).engine


# ---------------------------------------------------------------------------------------------
# Layouts and memory
# ---------------------------------------------------------------------------------------------


def test_layout_counts():
    # tp 2, pp 4, ep 8: a stage spans max(2, 8) = 8 ranks, a replica 4 x 8 = 32 accelerators,
    # and attention runs 8 / 2 = 4 ways data-parallel.
    lay = sv.layout(2, 4, 8)
    assert float(lay.ranks_per_stage) == 8.0
    assert float(lay.accelerators) == 32.0
    assert float(lay.attention_data_parallel) == 4.0


def test_dense_weights_split_over_tp_and_pp():
    # Llama-3.1-70B bf16 = 141,107,412,992 B (70.55e9 params x 2); tp 4 x pp 2 holds 1/8 each.
    shape, _, _ = setup("llama-3.1-70b")
    total = float(weight_bytes(shape, 2.0))
    assert_allclose(total, 141_107_412_992.0, rtol=1e-12)
    assert_allclose(
        sv.weight_bytes_per_accelerator(shape, sv.layout(4, 2, 1), 2.0), total / 8, rtol=1e-12
    )


def test_routed_experts_split_over_expert_parallel_ranks():
    # DeepSeek-V3 fp8, tp 1 x ep 8: the 58 x 256 routed experts (653,908,770,816 params, 1 B
    # each) are spread over the 8 ranks; the rest (attention, dense, shared, embeddings) is
    # replicated on each rank of the attention data-parallel group.
    shape, _, _ = setup("deepseek-v3", precision="fp8")
    routed = 58 * 256 * float(shape.params_expert)
    assert_allclose(routed, 653_908_770_816.0, rtol=1e-12)
    total = float(weight_bytes(shape, 1.0))
    expected = (total - routed) + routed / 8
    assert_allclose(
        sv.weight_bytes_per_accelerator(shape, sv.layout(1, 1, 8), 1.0), expected, rtol=1e-12
    )


def test_kv_split_stops_at_the_kv_head_count():
    # Llama-3.1-70B has 8 KV heads: tp 8 splits a 1,000-token cache 8 ways
    # (327,680 x 1,000 / 8 = 40,960,000 B); tp 16 cannot split further and replicates.
    shape, _, _ = setup("llama-3.1-70b")
    tp = np.array([1.0, 2.0, 8.0, 16.0])
    got = sv.kv_bytes_per_sequence_per_accelerator(shape, sv.layout(tp), 1000, 2.0)
    assert_allclose(got, 327_680 * 1000 / np.array([1, 2, 8, 8]), rtol=1e-12)
    # MLA keeps one latent for all heads: DeepSeek-V3 at tp 8 holds the whole 70,272 B a token
    mla, _, _ = setup("deepseek-v3", precision="fp8")
    assert_allclose(
        sv.kv_bytes_per_sequence_per_accelerator(mla, sv.layout(8), 1000, 2.0),
        70_272 * 1000,
        rtol=1e-12,
    )


def test_max_batch_trtllm_hand_value():
    # Llama-3.1-8B bf16, 1 x H100, 1,000 in / 1,000 out, TensorRT-LLM:
    #   KV budget = (80 x 2^30 x 0.99 visible x 1.0 - 4e9 - 16,060,522,496) x 0.9
    #             = 58,481,846,968 B
    #   per sequence = 131,072 x (1,000 + 1.0 x 1,000) = 262,144,000 B  -> 223.09 -> 223
    #   token budget 8,192 / (1 + 1,000/1,000) = 4,096; engine limit 2,048.  min = 223
    shape, hw, eng = setup("llama-3.1-8b", software="trtllm")
    budget = (80 * GIB * 0.99 - 4e9 - LLAMA8B_BF16_BYTES) * 0.9
    assert_allclose(sv.kv_budget_bytes(shape, hw, eng, sv.layout(), 2.0), budget, rtol=1e-12)
    assert int(budget // (LLAMA8B_KV_PER_TOKEN * 2000)) == 223
    assert float(sv.max_batch_size(shape, hw, eng, sv.layout(), 2.0, 2.0, 1000, 1000)) == 223.0


def test_max_batch_vllm_hand_value():
    # vLLM: 80 x 2^30 x 0.99 x 0.9 - 1.14 x 16,060,522,496 (weights and the 0.14 weight-share
    # reserve) - 8,192 x 16 x 4,096 x 2 (profiled activations) = 57,153,579,745 B;
    # per sequence 131,072 x (1,000 + 0.5 x 1,000) = 196,608,000 B -> 290.70 -> 290
    shape, hw, eng = setup("llama-3.1-8b", software="vllm")
    budget = 80 * GIB * 0.99 * 0.9 - 1.14 * LLAMA8B_BF16_BYTES - 8192 * 16 * 4096 * 2
    assert int(budget // (LLAMA8B_KV_PER_TOKEN * 1500)) == 290
    assert float(sv.max_batch_size(shape, hw, eng, sv.layout(), 2.0, 2.0, 1000, 1000)) == 290.0
    # a KV budget given (the caller computed it) is the one used: the hand value's, and half
    # of it holds 145 of those 196,608,000-byte sequences
    args = (shape, hw, eng, sv.layout(), 2.0, 2.0, 1000, 1000, None)
    assert (
        float(sv.max_batch_size(*args, sv.kv_budget_bytes(shape, hw, eng, sv.layout(), 2.0))) == 290
    )
    assert float(sv.max_batch_size(*args, budget / 2)) == 145.0


def test_max_batch_token_budget_binds_for_long_prompts():
    # 2,000 in / 10 out: each sequence brings 2,000 / 10 = 200 prefill tokens per decode token,
    # so a step of 8,192 tokens carries floor(8,192 / 201) = 40 sequences (KV would allow 224).
    shape, hw, eng = setup("llama-3.1-8b", software="trtllm")
    assert float(sv.max_batch_size(shape, hw, eng, sv.layout(), 2.0, 2.0, 2000, 10)) == 40.0


def test_more_memory_never_lowers_the_maximum_batch():
    shape, hw, eng = setup("llama-3.1-70b")
    mem = np.array([40.0, 80.0, 96.0, 141.0, 192.0, 288.0]) * GIB
    bigger = dataclasses.replace(hw, memory_bytes=mem)
    got = sv.max_batch_size(shape, bigger, eng, sv.layout(), 2.0, 2.0, 1000, 1000)
    assert got[0] == 0.0  # 141 GB of weights do not fit in 40 GiB
    assert np.all(np.diff(got) >= 0)
    assert got[-1] > got[2]


def test_model_that_does_not_fit_has_zero_batch():
    # Llama-3.1-405B bf16 is 811.7 GB; one 80 GiB H100 holds 85.9 GB.
    shape, hw, eng = setup("llama-3.1-405b")
    assert float(sv.kv_budget_bytes(shape, hw, eng, sv.layout(), 2.0)) < 0
    assert float(sv.max_batch_size(shape, hw, eng, sv.layout(), 2.0, 2.0, 1000, 1000)) == 0.0


# ---------------------------------------------------------------------------------------------
# MoE: bytes a step reads
# ---------------------------------------------------------------------------------------------

# Mixtral 8x22B (56 layers, all MoE, top-2 of 8 experts of 3 x 6144 x 16384 = 301,989,888
# params; attention 4,932,501,504; norms and router 3,446,784; head 32,768 x 6,144 =
# 201,326,592), bf16, at the roofline, context 0 so no KV is read:
#   batch 1: (4,932,501,504 + 3,446,784 + 201,326,592) x 2 + 2 x 56 x 301,989,888 x 2
#          = 10,274,549,760 + 67,645,734,912 = 77,920,284,672 B
#   a dense model of the same 141 B parameters reads all 281,260,142,592 B.
#   large batch: every expert is touched, 8 x 56 x 301,989,888 x 2 = 270,582,939,648 B of
#   experts, total 281,260,142,592 - 201,326,592 x 2 (the input table) = 280,857,489,408 B.
MIXTRAL_EXPERT = 3 * 6144 * 16384
MIXTRAL_ALWAYS = 4_932_501_504 + 3_446_784 + 32_768 * 6_144


def test_moe_batch1_reads_only_the_routed_experts():
    shape, hw, eng = setup("mixtral-8x22b")
    assert_allclose(shape.params_expert, MIXTRAL_EXPERT, rtol=0)
    assert_allclose(shape.params_always_read, MIXTRAL_ALWAYS, rtol=0)
    r = sv.round_time(shape, hw, eng.roofline(), sv.layout(), 2.0, 2.0, 1, 0.0)
    expected = MIXTRAL_ALWAYS * 2 + 2 * 56 * MIXTRAL_EXPERT * 2
    assert expected == 77_920_284_672
    assert_allclose(r.bytes_per_accelerator, expected, rtol=1e-12)
    total = float(weight_bytes(shape, 2.0))
    assert_allclose(total, 281_260_142_592.0, rtol=1e-12)
    assert float(r.bytes_per_accelerator) < 0.3 * total


def test_moe_large_batch_reads_all_experts():
    shape, hw, eng = setup("mixtral-8x22b")
    r = sv.round_time(shape, hw, eng.roofline(), sv.layout(), 2.0, 2.0, 10_000, 0.0)
    total = float(weight_bytes(shape, 2.0))
    assert_allclose(r.bytes_per_accelerator, total - 32_768 * 6_144 * 2, rtol=1e-12)
    assert_allclose(total - 32_768 * 6_144 * 2, 280_857_489_408.0, rtol=1e-12)


def test_moe_efficiency_slows_expert_arithmetic_not_expert_bytes():
    # issue #11's known fault: moe_efficiency divided the routed experts' bytes as well as their
    # FLOPs. The bytes of Mixtral-8x22B at batch 1 stay the hand value of the test above
    # (77,920,284,672 B) whatever moe_efficiency is; only the FLOPs grow, by 1 / 0.5
    shape, hw, eng = setup("mixtral-8x22b")
    full = eng.roofline()
    half = dataclasses.replace(full, moe_efficiency=np.asarray(0.5))
    a = sv.round_time(shape, hw, full, sv.layout(), 2.0, 2.0, 1, 0.0)
    b = sv.round_time(shape, hw, half, sv.layout(), 2.0, 2.0, 1, 0.0)
    assert_allclose(b.bytes_per_accelerator, 77_920_284_672, rtol=1e-12)
    assert_allclose(a.bytes_per_accelerator, b.bytes_per_accelerator, rtol=0)
    # expert FLOPs: 2 x 2 experts x params_expert x 56 layers; doubled at half the efficiency
    expert_flops = 2.0 * 2 * MIXTRAL_EXPERT * 56
    assert_allclose(b.flops_per_accelerator - a.flops_per_accelerator, expert_flops, rtol=1e-9)


def test_moe_bytes_grow_with_batch_toward_all_experts_deepseek_v3():
    # DeepSeek-V3 fp8: at batch 1 a layer reads 8 of 256 experts; the expert bytes grow with the
    # batch as 256 (1 - (31/32)^T) and reach all 58 x 256 experts (653.9 GB at 1 B each).
    shape, hw, eng = setup("deepseek-v3", precision="fp8")
    batch = np.array([1.0, 8.0, 64.0, 512.0, 100_000.0])
    r = sv.round_time(shape, hw, eng.roofline(), sv.layout(), 1.0, 1.0, batch, 0.0)
    always = float(shape.params_attention + shape.params_dense + shape.params_shared) * 1.0
    # norms and the 58 router gates stay BF16 (memory.KEPT_16BIT): one more byte each
    always += float(shape.params_norms_router) * 1.0
    always += float(shape.params_lm_head) * 2.0
    touched = 256 * (1 - (31 / 32) ** batch)
    expected = always + touched * 58 * float(shape.params_expert) * 1.0
    assert_allclose(r.bytes_per_accelerator, expected, rtol=1e-12)
    assert np.all(np.diff(r.bytes_per_accelerator) > 0)
    all_experts = 58 * 256 * float(shape.params_expert)
    assert_allclose(r.bytes_per_accelerator[-1] - always, all_experts, rtol=1e-12)
    assert float(r.bytes_per_accelerator[0]) < 0.1 * float(weight_bytes(shape, 1.0))


# ---------------------------------------------------------------------------------------------
# Rounds and steady state: vector = scalar, monotonicity
# ---------------------------------------------------------------------------------------------

BATCHES = np.array([1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 226.0])


def test_round_time_vector_equals_scalar():
    shape, hw, eng = setup("llama-3.1-70b")
    lay = sv.layout(8)
    vec = sv.round_time(shape, hw, eng, lay, 2.0, 2.0, BATCHES, 1500.0, BATCHES * 2.0, 500.0)
    for i, b in enumerate(BATCHES):
        one = sv.round_time(shape, hw, eng, lay, 2.0, 2.0, b, 1500.0, b * 2.0, 500.0)
        assert_allclose(vec.time_s[i], one.time_s, rtol=1e-12)
        assert_allclose(vec.bytes_per_accelerator[i], one.bytes_per_accelerator, rtol=1e-12)
        assert_allclose(vec.flops_per_accelerator[i], one.flops_per_accelerator, rtol=1e-12)
        assert_allclose(vec.comm_s[i], one.comm_s, rtol=1e-12)
        assert vec.memory_bound[i] == one.memory_bound


def test_round_time_vector_over_layouts_equals_scalar():
    # A (layout x batch) grid in one call, as operating.evaluate_grid does.
    shape, hw, eng = setup("mixtral-8x22b")
    tp, pp, ep = (
        np.array([1.0, 2.0, 4.0, 8.0]),
        np.array([4.0, 2.0, 1.0, 1.0]),
        np.array([1.0, 2.0, 4.0, 8.0]),
    )
    lay = sv.layout(tp[:, None], pp[:, None], ep[:, None])
    grid = sv.round_time(shape, hw, eng, lay, 2.0, 2.0, BATCHES[None, :], 1000.0)
    for i in range(4):
        for j, b in enumerate(BATCHES):
            one = sv.round_time(shape, hw, eng, sv.layout(tp[i], pp[i], ep[i]), 2.0, 2.0, b, 1000.0)
            assert_allclose(grid.time_s[i, j], one.time_s, rtol=1e-12)


def test_gemms_and_attention_each_meet_their_own_roofline_by_hand():
    # Llama-3.1-8B BF16 on one H100 at the roofline, 1,024 sequences of 100 tokens of context.
    # The GEMMs are compute-bound: 2 x 1024 x 7.505e9 FLOP (6.980e9 parameters + the 0.525e9
    # LM head) / 989.5 TFLOP/s = 15.53 ms (their 15.01 GB of weights stream in 4.48 ms).
    # Attention is memory-bound: 1024 x 100 x 131,072 B of KV / 3.35 TB/s = 4.01 ms (its
    # 2 x 32 x 32 x 256 x 100 x 1024 = 5.4e10 FLOP take 0.05 ms). The kernels run one after the
    # other: 19.54 ms, where one roofline over the whole step gave max(8.49, 15.59) = 15.59 ms.
    shape, hw, eng = setup("llama-3.1-8b")
    r = sv.round_time(shape, hw, eng.roofline(), sv.layout(1), 2.0, 2.0, 1024.0, 100.0)
    assert_allclose(r.time_s, 19.54e-3, rtol=1e-3)
    assert_allclose(r.bytes_per_accelerator, 15.01e9 + 1024 * 100 * LLAMA8B_KV_PER_TOKEN, rtol=1e-3)
    assert not r.memory_bound  # 8.49 ms of memory in all against 15.59 ms of arithmetic


def test_phased_roofline_lies_between_one_roofline_and_no_overlap():
    # Invariant: summing each phase's roofline is never faster than one roofline over the whole
    # step (max of the totals) and never slower than no overlap at all (sum of the totals).
    shape, hw, eng = setup("qwen3-235b-a22b", "h200-sxm", "fp8")
    roof = eng.roofline()
    lay = sv.layout(8)
    r = sv.round_time(shape, hw, roof, lay, 1.0, 1.0, BATCHES, 3000.0, BATCHES * 4.0, 1000.0)
    memory_s = r.bytes_per_accelerator / hw.hbm_bytes_per_s
    compute_s = r.flops_per_accelerator / hw.peak_flops_per_s
    step = r.time_s - r.comm_s
    assert np.all(step >= np.maximum(memory_s, compute_s) * (1 - 1e-12))
    assert np.all(step <= (memory_s + compute_s) * (1 + 1e-12))


def test_per_layer_overhead_adds_layers_times_its_cost_to_a_round_by_hand():
    # Llama-3.1-8B has 32 layers: at 25 us a layer a round costs 32 x 25 us = 0.8 ms more,
    # whether one stage runs all 32 layers or two stages run 16 each (a round is pp steps).
    shape, hw, eng = setup("llama-3.1-8b")
    assert int(shape.layers) == 32
    base = dataclasses.replace(eng, overhead_per_layer_s=np.asarray(0.0))
    slow = dataclasses.replace(eng, overhead_per_layer_s=np.asarray(25e-6))
    for pp in (1, 2):
        lay = sv.layout(1, pp)
        t0 = sv.round_time(shape, hw, base, lay, 2.0, 2.0, BATCHES, 1500.0).time_s
        t1 = sv.round_time(shape, hw, slow, lay, 2.0, 2.0, BATCHES, 1500.0).time_s
        assert_allclose(t1 - t0, 0.8e-3, rtol=1e-9)


def test_per_layer_overhead_vector_equals_scalar():
    # A column of per-layer costs against a row of batches equals one call per pair.
    shape, hw, eng = setup("deepseek-v3", "h200-sxm", "fp8")
    costs = np.array([0.0, 10e-6, 40e-6])
    vec_eng = dataclasses.replace(eng, overhead_per_layer_s=costs[:, None])
    lay = sv.layout(8)
    grid = sv.round_time(shape, hw, vec_eng, lay, 1.0, 1.0, BATCHES[None, :], 2000.0)
    for i, c in enumerate(costs):
        one_eng = dataclasses.replace(eng, overhead_per_layer_s=np.asarray(c))
        for j, b in enumerate(BATCHES):
            one = sv.round_time(shape, hw, one_eng, lay, 1.0, 1.0, b, 2000.0)
            assert_allclose(grid.time_s[i, j], one.time_s, rtol=1e-12)


def test_round_times_equal_one_round_time_call_per_case():
    # steady_state evaluates its rounds in one stacked call (speed); element by element each
    # case must be the call made on its own, here over a (layout x batch) grid of a MoE model
    shape, hw, eng = setup("mixtral-8x22b")
    lay = sv.layout(np.array([[2.0], [8.0]]), np.array([[4.0], [1.0]]), np.array([[2.0], [8.0]]))
    args = (shape, hw, eng, lay, 2.0, 2.0)
    b = BATCHES[None, :]
    cases = [
        (b, 1500.0, 0.0, 0.0, 1.0),  # pure decode
        (b, 1500.0, b * 2.0, 500.0, 3.0),  # decode and prompts, 2 draft tokens verified
        (1.0, 800.0, 4096.0, 2048.0, 1.0),  # one sequence and a prompt chunk: scalars
    ]
    for case, stacked in zip(cases, sv.round_times(args, cases), strict=True):
        one = sv.round_time(*args, *case)
        for f in dataclasses.fields(one):  # the cases share one broadcast shape
            got = getattr(stacked, f.name)
            assert_allclose(got, np.broadcast_to(getattr(one, f.name), got.shape), rtol=0, atol=0)


def test_round_times_with_touched_experts_equal_one_call_per_case():
    # a MoE steady state stacks all its rounds, each with its experts (speed): a case giving
    # own_touched_experts must be round_time's own default to the last bit, and a case giving
    # other experts (the mixed round's mean) the call made with them
    shape, hw, eng = setup("mixtral-8x22b")
    lay = sv.layout(np.array([[2.0], [8.0]]), np.array([[4.0], [1.0]]), np.array([[2.0], [8.0]]))
    args = (shape, hw, eng, lay, 2.0, 2.0)
    b = BATCHES[None, :]
    plain = (b, 1500.0, 0.0, 0.0, 1.0)
    chunk = (b, 1500.0, b * 2.0, 500.0, 3.0)
    cases = [
        (*plain, sv.own_touched_experts(shape, lay, b)),
        (*chunk, sv.own_touched_experts(shape, lay, b, b * 2.0, 3.0)),
        (*plain, np.full(b.shape, 8.0)),  # all 8 experts a layer, whatever the batch
    ]
    expected = [sv.round_time(*args, *plain), sv.round_time(*args, *chunk)]
    expected.append(sv.round_time(*args, *plain, np.full(b.shape, 8.0)))
    for one, stacked in zip(expected, sv.round_times(args, cases), strict=True):
        for f in dataclasses.fields(one):
            got = getattr(stacked, f.name)
            assert_allclose(got, np.broadcast_to(getattr(one, f.name), got.shape), rtol=0, atol=0)
    # every expert read is at least the batch's own touch (top-2 of 8 a token): no less time,
    # and more at batch 1, where a token reads 2 (a check that the sixth argument is used)
    assert np.all(expected[2].time_s >= expected[0].time_s)
    assert np.all(expected[2].time_s[:, 0] > expected[0].time_s[:, 0])


@pytest.mark.parametrize("static", [False, True])
def test_steady_state_vector_equals_scalar(static):
    shape, hw, eng = setup("llama-3.1-8b")
    vec = sv.steady_state(shape, hw, eng, sv.layout(), 2.0, 2.0, BATCHES, 1000, 1000, 0.25, static)
    for i, b in enumerate(BATCHES):
        one = sv.steady_state(shape, hw, eng, sv.layout(), 2.0, 2.0, b, 1000, 1000, 0.25, static)
        for f in dataclasses.fields(one):
            assert_allclose(
                getattr(vec, f.name)[i], getattr(one, f.name), rtol=1e-12, err_msg=f.name
            )


@pytest.mark.parametrize(
    ("model", "gamma", "alpha"),
    [("llama-3.1-8b", 0, 0.0), ("mixtral-8x7b", 0, 0.0), ("deepseek-v3", 2, 0.7)],
)
def test_steady_output_tok_s_is_steady_states_throughput(model, gamma, alpha):
    # the two-round shortcut (roofline, top request rate) is the same computation as the
    # full steady state's throughput: equal to the last bit, dense, MoE and MTP drafting
    shape, hw, eng = setup(model, "h200-sxm", "fp8")
    lay = sv.layout(8)
    args = (shape, hw, eng, lay, 1.0, 1.0, BATCHES, 3000.0, 500.0, 0.2)
    full = sv.steady_state(*args, speculative_tokens=gamma, acceptance_rate=alpha)
    fast = sv.steady_output_tok_s(*args, speculative_tokens=gamma, acceptance_rate=alpha)
    assert np.array_equal(fast, full.output_tok_s)
    assert np.all(fast > 0)


def test_bigger_batch_more_total_less_per_user():
    # Llama-3.1-8B bf16 on one H100 (max batch 226 at 1,000 / 1,000): total output tokens/s
    # rises and each user's speed (1 / TPOT) falls as the batch grows.
    shape, hw, eng = setup("llama-3.1-8b")
    for e in (eng, eng.roofline()):
        st = sv.steady_state(shape, hw, e, sv.layout(), 2.0, 2.0, BATCHES, 1000, 1000)
        assert np.all(np.diff(st.output_tok_s) > 0)
        assert np.all(np.diff(1.0 / st.tpot_s) < 0)
    # a sequence's TPOT leaves out its own prompt (prefilled once, in TTFT), so the batch moves
    # at most batch / TPOT tokens a second, and exactly that at batch 1 with no prompt
    st = sv.steady_state(shape, hw, eng, sv.layout(), 2.0, 2.0, BATCHES, 1000, 1000)
    assert np.all(st.output_tok_s <= BATCHES / st.tpot_s * (1 + 1e-12))


def test_longer_context_means_slower_tpot():
    shape, hw, eng = setup("llama-3.1-70b")
    ctx = np.array([128.0, 1000.0, 4000.0, 16_000.0, 64_000.0])
    st = sv.steady_state(shape, hw, eng, sv.layout(8), 2.0, 2.0, 32, ctx, 1000)
    assert np.all(np.diff(st.tpot_s) > 0)
    r = sv.round_time(shape, hw, eng, sv.layout(8), 2.0, 2.0, 32, ctx)
    assert np.all(np.diff(r.time_s) > 0)


def test_continuous_round_is_a_mixed_round():
    # A continuous-batching round at batch B carries B decode tokens and B x 1,000 / 500 = 2B
    # prefill tokens; decoders attend to 1,000 + 500 / 2 = 1,250 tokens and prompt tokens to
    # half the prompt, 500.
    shape, hw, eng = setup("llama-3.1-8b")
    st = sv.steady_state(shape, hw, eng, sv.layout(), 2.0, 2.0, 64, 1000, 500)
    r = sv.round_time(shape, hw, eng, sv.layout(), 2.0, 2.0, 64, 1250, 128, 500)
    assert_allclose(st.output_tok_s, 64 / r.time_s, rtol=1e-12)
    # TPOT: the rounds one sequence decodes in carry the other 63 prompts' chunks, 63 x 2 tokens
    seen = sv.round_time(shape, hw, eng, sv.layout(), 2.0, 2.0, 64, 1250, 126, 500)
    assert_allclose(st.tpot_s, seen.time_s, rtol=1e-12)
    assert_allclose(st.prefill_tok_s, 2 * 64 / r.time_s, rtol=1e-12)


def test_static_batching_hand_composition():
    # Static batch of 16: prefill 16 x 1,000 prompt tokens, then 999 decode rounds;
    # tokens/s = 16 x 1,000 / (t_prefill + 999 t_decode).
    shape, hw, eng = setup("llama-3.1-8b")
    st = sv.steady_state(
        shape, hw, eng, sv.layout(), 2.0, 2.0, 16, 1000, 1000, static_batching=True
    )
    pre = sv.round_time(shape, hw, eng, sv.layout(), 2.0, 2.0, 0.0, 0.0, 16_000, 500)
    dec = sv.round_time(shape, hw, eng, sv.layout(), 2.0, 2.0, 16, 1500)
    assert_allclose(st.output_tok_s, 16_000 / (pre.time_s + 999 * dec.time_s), rtol=1e-12)
    assert_allclose(st.ttft_service_s, pre.time_s, rtol=1e-12)


def test_prefix_cache_hits_never_slow_serving():
    shape, hw, eng = setup("llama-3.1-70b")
    hit = np.array([0.0, 0.25, 0.5, 0.9])
    st = sv.steady_state(shape, hw, eng, sv.layout(8), 2.0, 2.0, 128, 8000, 200, hit)
    assert np.all(np.diff(st.output_tok_s) >= 0)
    assert np.all(np.diff(st.ttft_service_s) <= 0)
    assert st.output_tok_s[-1] > st.output_tok_s[0]


# ---------------------------------------------------------------------------------------------
# M/D/1 queueing
# ---------------------------------------------------------------------------------------------


def test_md1_wait_hand_value():
    # rho = 1.5/s x 0.5 s = 0.75: W = 0.75 x 0.5 / (2 x 0.25) = 0.75 s
    assert_allclose(sv.md1_wait_s(1.5, 0.5), 0.75, rtol=1e-12)
    # rho = 0.2 x 2 = 0.4: W = 0.4 x 2 / (2 x 0.6) = 0.6667 s
    assert_allclose(sv.md1_wait_s(0.2, 2.0), 2 / 3, rtol=1e-12)


def test_md1_wait_saturation_and_vector():
    rate = np.array([0.0, 0.5, 0.9, 0.99, 1.0, 2.0])
    w = sv.md1_wait_s(rate, 1.0)
    assert w[0] == 0.0
    assert np.all(np.isinf(w[-2:]))
    assert np.all(np.diff(w[:4]) > 0)
    assert_allclose(w[:4], [float(sv.md1_wait_s(r, 1.0)) for r in rate[:4]], rtol=1e-12)
    # 0.99: 0.99 / (2 x 0.01) = 49.5 s
    assert_allclose(w[3], 49.5, rtol=1e-9)


def test_md1_docstring_math_survives():
    # The Notes equation must reach Sphinx as written: a non-raw docstring turns "\rho" into a
    # carriage return followed by "ho".
    doc = sv.md1_wait_s.__doc__
    assert "\\rho" in doc and "\r" not in doc


# ---------------------------------------------------------------------------------------------
# Latency semantics (issue 8)


def test_tpot_is_one_decode_step_at_batch_1_whatever_the_prompt():
    # Llama-3.1-8B bf16, one H100, batch 1, 128,000 in / 100 out. TPOT is the time per output
    # token after the first: the prompt is prefilled once, in TTFT, so each later token costs
    # one decode step at ~128,050 tokens of context -- 16 GB of weights plus
    # 128,050 x 131,072 B = 16.8 GB of KV (32 layers x 8 KV heads x 128 x 2 x 2 B a token),
    # ~33 GB at 3.35 TB/s: ~10 ms at the physical limit, tens of ms with the engine's
    # efficiencies. Before the fix the prompt's 1,280 tokens a round were charged to TPOT
    # (129 ms).
    shape, hw, eng = setup("llama-3.1-8b")
    st = sv.steady_state(shape, hw, eng, sv.layout(), 2.0, 2.0, 1, 128_000, 100)
    step = sv.round_time(shape, hw, eng, sv.layout(), 2.0, 2.0, 1, 128_050)
    assert_allclose(st.tpot_s, step.time_s, rtol=1e-12)
    assert 0.009 < float(st.tpot_s) < 0.05
    # the prompt is still paid once, in TTFT, and in the throughput
    assert float(st.ttft_service_s) > 50 * float(st.tpot_s)
    assert float(st.output_tok_s) < 1.0 / float(st.tpot_s)


def test_long_prompt_short_output_runs_by_chunked_prefill():
    # 9,000 prompt tokens and 1 output token need 9,001 tokens of work per request, more than
    # one 8,192-token engine step; chunked prefill spreads the prompt over ceil(9000 / 8191) = 2
    # steps, so one sequence at a time still runs (it did not before: "does not fit").
    shape, hw, eng = setup("llama-3.1-8b")
    assert float(sv.max_batch_size(shape, hw, eng, sv.layout(), 2.0, 2.0, 9000, 1)) == 1.0
    st = sv.steady_state(shape, hw, eng, sv.layout(), 2.0, 2.0, 1, 9000, 1)
    one_chunk = sv.round_time(shape, hw, eng, sv.layout(), 2.0, 2.0, 1, 9000.5, 8191, 4500)
    assert_allclose(st.ttft_service_s, 2 * one_chunk.time_s, rtol=1e-12)


# ---------------------------------------------------------------------------------------------
# Weight-only formats pay for dequantising their weights
# ---------------------------------------------------------------------------------------------


def _static_batch_tok_s(precision: str, batch: int) -> float:
    """Output tokens a second of a static batch of 128-token prompts and 128-token outputs:
    one prefill round of ``batch x 128`` tokens, then 128 decode rounds (the benchmark's
    method), Llama-3.1-8B on one H100 SXM under the TensorRT-LLM engine runtime."""
    cat = default_catalog()
    acc = cat.accelerator("h100-sxm")
    shape = ModelShape.from_record(cat.model("llama-3.1-8b"), precision)
    hw = hardware(acc, precision)
    eng = choose_engine(cat, acc, "trtllm-engine").engine
    bpp = {"fp8": 1.0, "int4": 0.515625}[precision]
    kv = {"fp8": 1.0, "int4": 2.0}[precision]  # the formats' default KV caches
    lay = sv.layout()
    t = float(sv.round_time(shape, hw, eng, lay, bpp, kv, 0.0, 0.0, batch * 128.0, 64.0).time_s)
    ctx = 128.0 + np.arange(128.0)
    t += float(np.sum(sv.round_time(shape, hw, eng, lay, bpp, kv, float(batch), ctx).time_s))
    return batch * 128 / t


@pytest.mark.parametrize(
    ("batch", "published"),
    # NVIDIA/TensorRT-Model-Optimizer@benchmark.md (H100, TensorRT-LLM v0.9, Llama-3-8B,
    # 128/128 tokens), INT4-AWQ over FP8 tokens/s: 392.99 / 337.67 = 1.16 at batch 2,
    # 2,037.54 / 2,368.69 = 0.86 at batch 32 (tokenfab: 1.12 and 0.91 with the Hopper
    # trtllm-engine fit of 2026-12-01, bandwidth 0.783, compute 0.58 at the 8-bit rate; 1.15 and
    # 0.90 with the fit of 2026-11-30)
    [(2, 1.16), (32, 0.86)],
)
def test_int4_over_fp8_follows_the_published_ratios(batch, published):
    ratio = _static_batch_tok_s("int4", batch) / _static_batch_tok_s("fp8", batch)
    assert ratio == pytest.approx(published, rel=0.15)


def test_int4_faster_than_fp8_at_batch_2_slower_at_32_and_64():
    # the published direction (same source): half the bytes win while a step only streams
    # weights; dequantising every weight before multiplying it loses once the batch grows.
    # At batch 64 the benchmark gives 2,308.57 / 2,404.86 = 0.96; tokenfab gives 0.79, outside
    # 15 %: the benchmark's FP8 run gains only 1.5 % from batch 32 to 64 (2,368.69 -> 2,404.86
    # tokens/s), a limit the model does not have, so only the direction is checked there
    assert _static_batch_tok_s("int4", 2) > _static_batch_tok_s("fp8", 2)
    assert _static_batch_tok_s("int4", 32) < _static_batch_tok_s("fp8", 32)
    assert _static_batch_tok_s("int4", 64) < _static_batch_tok_s("fp8", 64)


def test_int4_direction_survives_a_refit_of_the_efficiencies():
    # the dequantisation rate is the chip's issue rate, not a fitted share: move the fitted
    # Hopper trtllm-engine factors (2026-11-30: bandwidth 0.78, compute 0.55) over bandwidth
    # 0.75-0.90 and compute 0.45-0.65 and INT4 stays faster at batch 2, slower at batch 32.
    # Below a bandwidth efficiency of about 0.72 FP8 reads slowly enough to win at batch 32
    # (the fit before 2026-11-30 had 0.70): the direction depends on the bandwidth share
    cat = default_catalog()
    acc = cat.accelerator("h100-sxm")
    eng0 = choose_engine(cat, acc, "trtllm-engine").engine
    lay = sv.layout()

    def tok_s(precision, batch, eng):
        shape = ModelShape.from_record(cat.model("llama-3.1-8b"), precision)
        hw = hardware(acc, precision)
        bpp = {"fp8": 1.0, "int4": 0.515625}[precision]
        kv = {"fp8": 1.0, "int4": 2.0}[precision]
        t = float(sv.round_time(shape, hw, eng, lay, bpp, kv, 0.0, 0.0, batch * 128.0).time_s)
        ctx = 128.0 + np.arange(128.0)
        t += float(np.sum(sv.round_time(shape, hw, eng, lay, bpp, kv, float(batch), ctx).time_s))
        return batch * 128 / t

    for bw in (0.75, 0.90):
        for comp in (0.45, 0.65):
            eng = dataclasses.replace(
                eng0, bw_efficiency=np.asarray(bw), compute_efficiency=np.asarray(comp)
            )
            assert tok_s("int4", 2, eng) > tok_s("fp8", 2, eng), (bw, comp)
            assert tok_s("int4", 32, eng) < tok_s("fp8", 32, eng), (bw, comp)


def test_dequant_cost_only_for_weight_only_formats():
    # FP8 and BF16 weights reach the tensor cores as stored: no dequantisation; INT4 on H100:
    # 989.5e12 / (32 x 11) = 2.811e12 elements a second (perf.precision: 32 tensor FLOPs an
    # issue slot, 11 issue slots an element)
    acc = default_catalog().accelerator("h100-sxm")
    assert np.isinf(hardware(acc, "fp8").dequant_elements_per_s)
    assert np.isinf(hardware(acc, "bf16").dequant_elements_per_s)
    assert_allclose(hardware(acc, "int4").dequant_elements_per_s, 989.5e12 / 352, rtol=1e-12)


def test_dequant_step_by_hand():
    # Llama-3.1-8B INT4, batch 1 on H100: 6,979,588,096 non-embedding params (8,030,261,248
    # minus the input table and output head of 525,336,576 each) dequantised once at
    # 989.5e12 / 352 a second = 2.4829 ms, then the products 2 x (6,979,588,096 + 525,336,576)
    # = 15.0098e9 FLOPs at 989.5e12 = 15.17 us in series: 2.4981 ms, above the 1.24 ms read
    # (roofline engine: efficiencies 1, no overhead)
    shape, hw, eng = setup("llama-3.1-8b", precision="int4", software="trtllm-engine")
    eng = eng.roofline()
    r = sv.round_time(shape, hw, eng, sv.layout(), 0.515625, 2.0, 1.0, 0.0)
    expected = 6_979_588_096 * 352 / 989.5e12 + 2 * (6_979_588_096 + 525_336_576) / 989.5e12
    assert_allclose(float(r.time_s), expected, rtol=1e-3)
    assert_allclose(expected * 1e3, 2.4981, rtol=1e-4)
    assert not bool(r.memory_bound)


def test_dequant_rate_does_not_follow_the_fitted_compute_efficiency():
    # halving the compute efficiency adds only the products' time (15.17 us at efficiency 1,
    # 30.34 us at 0.5, test_dequant_step_by_hand): the 2.4829 ms dequantisation is unchanged
    shape, hw, eng = setup("llama-3.1-8b", precision="int4", software="trtllm-engine")
    eng = eng.roofline()
    half = dataclasses.replace(eng, compute_efficiency=np.asarray(0.5))
    one = sv.round_time(shape, hw, eng, sv.layout(), 0.515625, 2.0, 1.0, 0.0)
    slow = sv.round_time(shape, hw, half, sv.layout(), 0.515625, 2.0, 1.0, 0.0)
    products_s = 2 * (6_979_588_096 + 525_336_576) / 989.5e12
    assert_allclose(float(slow.time_s) - float(one.time_s), products_s, rtol=1e-6)


def test_dequant_paid_once_per_tile_of_128_rows():
    # 256 prompt tokens in one step: two tiles of 128 rows, each dequantising every weight
    # (tensor cores made unboundedly fast so that only reading and dequantising remain)
    shape, hw, eng = setup("llama-3.1-8b", precision="int4", software="trtllm-engine")
    hw = dataclasses.replace(hw, peak_flops_per_s=np.asarray(1e30))
    eng = eng.roofline()
    one = sv.round_time(shape, hw, eng, sv.layout(), 0.515625, 2.0, 0.0, 0.0, 128.0, 0.0)
    two = sv.round_time(shape, hw, eng, sv.layout(), 0.515625, 2.0, 0.0, 0.0, 256.0, 0.0)
    dq = 6_979_588_096 / (989.5e12 / 352)
    assert_allclose(float(one.time_s), dq, rtol=1e-3)
    assert_allclose(float(two.time_s), 2 * dq, rtol=1e-3)


def test_round_time_int4_vector_equals_scalar():
    shape, hw, eng = setup("mixtral-8x22b", precision="int4")
    lay = sv.layout(4)
    batches = np.array([1.0, 2.0, 32.0, 200.0])
    vec = sv.round_time(shape, hw, eng, lay, 0.515625, 2.0, batches, 900.0, batches * 300.0, 80.0)
    for i, b in enumerate(batches):
        one = sv.round_time(shape, hw, eng, lay, 0.515625, 2.0, b, 900.0, b * 300.0, 80.0)
        assert_allclose(vec.time_s[i], one.time_s, rtol=1e-12)
        assert vec.memory_bound[i] == one.memory_bound


# ---------------------------------------------------------------------------------------------
# Closed-loop client concurrency
# ---------------------------------------------------------------------------------------------


def test_closed_loop_ttft_one_cohort_step_when_prefill_keeps_up():
    # 64 clients, 1,024-token prompts, 128-token outputs, one H100 with Llama-3.1-8B: room
    # 8,192 - 64 = 8,128 tokens a step, cohorts of floor(8,128 / 1,024) = 7 prompts; the
    # 64 / 7 = 9.1 cohorts' prefill steps fit between 127 decode steps, so a returning cohort
    # waits one step: 7 x 1,024 = 7,168 prompt tokens beside 57 decoding sequences.
    shape, hw, eng = setup("llama-3.1-8b")
    lay = sv.layout()
    ttft = sv.closed_loop_ttft_s(shape, hw, eng, lay, 2.0, 2.0, 64, 1024, 128)
    step = sv.round_time(shape, hw, eng, lay, 2.0, 2.0, 57, 1088, 7168, 512)
    assert_allclose(ttft, step.time_s, rtol=1e-12)


def test_closed_loop_ttft_queues_when_every_step_prefills():
    # The same with 9-token outputs: 64 / 7 = 9.14 cohorts take turns, and only 8 decode steps
    # separate a cohort's turns, so it waits 9.14 - 8 = 1.14 steps (the docstring's example).
    shape, hw, eng = setup("llama-3.1-8b")
    lay = sv.layout()
    ttft = sv.closed_loop_ttft_s(shape, hw, eng, lay, 2.0, 2.0, 64, 1024, 9)
    step = sv.round_time(shape, hw, eng, lay, 2.0, 2.0, 57, 1028.5, 7168, 512)
    assert_allclose(ttft, (64 / 7 - 8) * step.time_s, rtol=1e-12)


def test_closed_loop_ttft_long_prompt_takes_several_chunks():
    # One client, a 20,000-token prompt: one prompt a cohort, ceil(20,000 / 8,191) = 3 steps of
    # a full 8,191-token chunk (the budget less the client's own decode token).
    shape, hw, eng = setup("llama-3.1-8b")
    lay = sv.layout()
    ttft = sv.closed_loop_ttft_s(shape, hw, eng, lay, 2.0, 2.0, 1, 20_000, 100)
    step = sv.round_time(shape, hw, eng, lay, 2.0, 2.0, 0, 20_050, 8191, 10_000)
    assert_allclose(ttft, 3 * step.time_s, rtol=1e-12)


def test_closed_loop_ttft_rises_with_clients_and_vector_equals_scalar():
    shape, hw, eng = setup("llama-3.1-70b")
    lay = sv.layout(8)
    clients = np.array([1.0, 4.0, 16.0, 64.0, 256.0, 1024.0])
    vec = sv.closed_loop_ttft_s(shape, hw, eng, lay, 2.0, 2.0, clients, 2048, 64)
    assert np.all(np.diff(vec) > 0)
    for i, n in enumerate(clients):
        one = sv.closed_loop_ttft_s(shape, hw, eng, lay, 2.0, 2.0, n, 2048, 64)
        assert_allclose(vec[i], one, rtol=1e-12)


def test_closed_loop_ttft_one_client_is_front_end_plus_prefill():
    # One client, a 1,024-token prompt: room 8,192 - 1 = 8,191 tokens, one prompt a cohort in
    # one step (c = 1, k = 1); both the steady wait max(1, 1 - 127) and the first wave's
    # (1 + 1) / 2 x 1 are one step, so TTFT = front end + that step (the prompt alone, context
    # 512), whatever share of the run the first wave is.
    shape, hw, eng = setup("llama-3.1-8b")
    lay = sv.layout()
    step = sv.round_time(shape, hw, eng, lay, 2.0, 2.0, 0, 1088, 1024, 512)
    for share in (0.0, 0.1, 1.0):
        ttft = sv.closed_loop_ttft_s(shape, hw, eng, lay, 2.0, 2.0, 1, 1024, 128, 0.05, share)
        assert_allclose(ttft, 0.05 + step.time_s, rtol=1e-12)


def test_closed_loop_ttft_first_wave_queues_for_admission():
    # 64 clients, 1,024-token prompts, 9-token outputs: one step admits 7 of them (8,128 tokens
    # of room), so k = 64 / 7 = 9.1429 cohorts. Steady state: 9.1429 - 8 = 1.1429 steps. First
    # wave, all 64 at once: the j-th cohort waits j steps, a mean of (9.1429 + 1) / 2 = 5.0714.
    # A run of 10 requests a client (first-wave share 0.1): 0.9 x 1.1429 + 0.1 x 5.0714 =
    # 1.5357 steps, plus a 30 ms front end.
    shape, hw, eng = setup("llama-3.1-8b")
    lay = sv.layout()
    step = sv.round_time(shape, hw, eng, lay, 2.0, 2.0, 57, 1028.5, 7168, 512)
    ttft = sv.closed_loop_ttft_s(shape, hw, eng, lay, 2.0, 2.0, 64, 1024, 9, 0.03, 0.1)
    k = 64 / 7
    assert_allclose(ttft, 0.03 + (0.9 * (k - 8) + 0.1 * (k + 1) / 2) * step.time_s, rtol=1e-12)
    assert_allclose(0.9 * (k - 8) + 0.1 * (k + 1) / 2, 1.5357, atol=1e-4)


def test_closed_loop_ttft_front_end_adds_and_first_wave_never_shortens():
    # the front end is added as it is; the first wave waits at least the steady state's steps
    # (its mean (k + 1) c / 2 >= max(c, k c - o + 1) whenever prefill keeps up, and the
    # first wave carries no decode steps to hide behind)
    shape, hw, eng = setup("llama-3.1-70b")
    lay = sv.layout(8)
    clients = np.array([1.0, 4.0, 16.0, 64.0, 256.0])
    plain = sv.closed_loop_ttft_s(shape, hw, eng, lay, 2.0, 2.0, clients, 2048, 512)
    front = sv.closed_loop_ttft_s(shape, hw, eng, lay, 2.0, 2.0, clients, 2048, 512, 0.12)
    assert_allclose(front - plain, 0.12, rtol=1e-9)
    wave = sv.closed_loop_ttft_s(shape, hw, eng, lay, 2.0, 2.0, clients, 2048, 512, 0.0, 0.2)
    assert np.all(wave >= plain)


def test_closed_loop_ttft_with_both_terms_rises_with_clients_and_vector_equals_scalar():
    shape, hw, eng = setup("deepseek-v3", precision="fp8")
    lay = sv.layout(8)
    clients = np.array([1.0, 2.0, 4.0, 16.0, 64.0, 256.0, 1024.0])
    share = np.array([0.0, 0.05, 0.1, 0.1, 0.1, 0.5, 1.0])
    vec = sv.closed_loop_ttft_s(shape, hw, eng, lay, 1.0, 1.0, clients, 4096, 256, 0.04, 0.1)
    assert np.all(np.diff(vec) > 0)
    both = sv.closed_loop_ttft_s(shape, hw, eng, lay, 1.0, 1.0, clients, 4096, 256, 0.04, share)
    for i, n in enumerate(clients):
        one = sv.closed_loop_ttft_s(shape, hw, eng, lay, 1.0, 1.0, n, 4096, 256, 0.04, share[i])
        assert_allclose(both[i], one, rtol=1e-12)


def test_mean_touched_experts_counts_whole_prompt_rounds_by_hand():
    # DeepSeek-V3 (256 routed experts, top-8) at 4 sequences, 8,192-token prompts and
    # 1,024-token outputs, TP 8, 8,188 tokens of room: one prompt a cohort (8,188 of its tokens
    # a step), p = 4 x 8,192 / 1,024 = 32 prompt tokens a round on average, so a share
    # f = 32 / 8,188 of the rounds carries a chunk. n(4) = 256 (1 - (31/32)^4) = 30.53 and
    # n(8,192) = 256: mean 30.53 (1 - f) + 256 f = 31.41 experts, not the n(36) = 174.4 that
    # 36 evenly spread tokens would touch.
    shape = ModelShape.from_record(default_catalog().model("deepseek-v3"))
    mean = sv._mean_touched_experts(shape, sv.layout(8), 4.0, 8192.0, 1024.0, 8188.0)
    f = 32 / 8188
    n4 = 256 * (1 - (31 / 32) ** 4)
    n_chunk = 256 * (1 - (31 / 32) ** 8192)
    assert_allclose(mean, (1 - f) * n4 + f * n_chunk, rtol=1e-12)
    assert_allclose(mean, 31.41, atol=0.01)
    assert_allclose(256 * (1 - (31 / 32) ** 36), 174.4, atol=0.1)


def test_mean_touched_experts_spreads_when_every_round_prefills():
    # 64 sequences, 2,000-token prompts, 10-token outputs: 64 x 200 = 12,800 prompt tokens a
    # round, more than a 4-prompt cohort (8,000 of 8,128 tokens of room): every round carries
    # prompt tokens, and the round reads the experts of its 64 + 12,800 tokens.
    shape = ModelShape.from_record(default_catalog().model("deepseek-v3"))
    mean = sv._mean_touched_experts(shape, sv.layout(8), 64.0, 2000.0, 10.0, 8128.0)
    assert_allclose(mean, 256 * (1 - (31 / 32) ** 12_864), rtol=1e-12)


def test_moe_round_reads_the_mean_experts_dense_round_unchanged():
    # a dense model has no routed experts: the continuous round is the even mix, as before
    shape, hw, eng = setup("llama-3.1-8b")
    st = sv.steady_state(shape, hw, eng, sv.layout(), 2.0, 2.0, 64, 1000, 500)
    r = sv.round_time(shape, hw, eng, sv.layout(), 2.0, 2.0, 64, 1250, 128, 500)
    assert_allclose(st.output_tok_s, 64 / r.time_s, rtol=1e-12)
    # DeepSeek-V3 with long prompts at small batch: fewer bytes than the even spread
    shape, hw, eng = setup("deepseek-v3", "h200-sxm", "fp8")
    lay = sv.layout(8)
    st = sv.steady_state(shape, hw, eng, lay, 1.0, 1.0, 4, 8192, 1024)
    even = sv.round_time(shape, hw, eng, lay, 1.0, 1.0, 4, 8704, 24, 4096)
    dec = sv.round_time(shape, hw, eng, lay, 1.0, 1.0, 4, 8704)
    assert dec.time_s < st.tpot_s < even.time_s


@pytest.mark.parametrize("model", ["llama-3.1-70b", "gpt-oss-120b"])
def test_fewer_sequences_than_stages_leave_stages_idle(model):
    # claims.md found batch-1 TPOT falling with pipeline stages (GB200, gpt-oss-120b FP8:
    # 504 tok/s per user at PP 1, 684 at PP 8): a round sent 1/8 of a sequence through each
    # of 8 stages, reading 1/8 of its cache (and, for a MoE, the experts of 1/8 of a token).
    # A micro-batch holds whole sequences: one sequence crosses all 8 stages in turn, each
    # step carrying it whole, so its round takes as long as 8 sequences' (one a micro-batch);
    # the stages are busy 1/8 of it, so a step's bytes and FLOPs over the round are 1/8
    from tokenfab.perf import operating as o
    from tokenfab.scenario import Scenario

    cat = default_catalog()
    setup_ = o.resolve(Scenario(model=model, accelerator="gb200", precision="fp8"), cat)
    shape, hw, eng = o._args(setup_)
    args = (shape, hw, eng, sv.layout(1, 8, 1), setup_.weight_bytes_per_param)
    args = (*args, setup_.kv_bytes_per_element)
    one = sv.round_time(*args, 1.0, 2000.0)
    eight = sv.round_time(*args, 8.0, 2000.0)
    assert_allclose(one.time_s, eight.time_s, rtol=1e-12)
    assert_allclose(one.bytes_per_accelerator, eight.bytes_per_accelerator / 8, rtol=1e-12)
    assert_allclose(one.flops_per_accelerator, eight.flops_per_accelerator / 8, rtol=1e-12)
    # and per-user speed no longer rises with stages: PP 8 adds overhead and hops, never speed
    tpot = [
        o.estimate(
            Scenario(
                model=model,
                accelerator="gb200",
                precision="fp8",
                tensor_parallel=1,
                pipeline_parallel=pp,
                batch_size=1,
                accelerators=pp,
            ),
            cat,
        ).tpot_s
        for pp in (1, 2, 4, 8)
    ]
    assert all(a <= b for a, b in itertools.pairwise(tpot)), tpot
