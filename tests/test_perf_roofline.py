"""Roofline step times and communication (tokenfab.perf.roofline, tokenfab.perf.parallel).

The headline check is the one every LLM-inference calculator should pass: Llama-3.1-8B in BF16
at batch 1 on one H100 SXM is bound by reading its weights, at about 3.35 TB/s / 16 GB = 210
tokens/s. Datasheet figures are the catalog's (H100 SXM: 3.35 TB/s, 989.5 dense BF16 TFLOP/s).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from numpy.testing import assert_allclose

from tokenfab.catalog import default_catalog
from tokenfab.perf.calibration import choose_engine, hardware
from tokenfab.perf.memory import ModelShape, weight_bytes
from tokenfab.perf.operating import estimate
from tokenfab.perf.parallel import allreduce_time_s, alltoall_time_s, layer_comm_time_s
from tokenfab.perf.roofline import (
    GEMM_OVERLAP_EXPONENT,
    attention_flops_per_token,
    smooth_max,
    step_time_s,
)
from tokenfab.perf.serving import layout, round_time
from tokenfab.scenario import Scenario

H100_HBM_BYTES_PER_S = 3.35e12  # H100 SXM datasheet, 3.35 TB/s
LLAMA8B_PARAMS = 8_030_261_248  # Meta model card, exact (hand count in test_perf_memory.py)
LLAMA8B_EMBEDDING = 128_256 * 4_096  # vocab x hidden = 525,336,576


def llama8b_h100(precision: str = "bf16"):
    cat = default_catalog()
    acc = cat.accelerator("h100-sxm")
    shape = ModelShape.from_record(cat.model("llama-3.1-8b"))
    return shape, hardware(acc, precision), choose_engine(cat, acc).engine


# ---------------------------------------------------------------------------------------------
# step_time_s and attention_flops_per_token
# ---------------------------------------------------------------------------------------------


def test_step_time_compute_bound_hand_value():
    # Reading 1 GB at 1 TB/s takes 1 ms; 1e15 FLOP at 1e15 FLOP/s x 0.5 takes 2 s; plus 3 ms of
    # communication and 1 ms of overhead: 2.004 s, compute-bound.
    t, mem = step_time_s(1e9, 1e15, 1e12, 1e15, 1.0, 0.5, 3e-3, 1e-3)
    assert_allclose(t, 2.004, rtol=1e-12)
    assert not bool(mem)


def test_step_time_memory_bound_with_efficiency():
    # 16.06 GB at 3.35 TB/s x 0.7 = 6.8486 ms; 2 x 8.03e9 FLOP at 989.5 TFLOP/s = 16 us.
    t, mem = step_time_s(16.06e9, 2 * 8.03e9, 3.35e12, 989.5e12, bw_efficiency=0.7)
    assert_allclose(t, 16.06e9 / (0.7 * 3.35e12), rtol=1e-12)
    assert bool(mem)


def test_step_time_vector_equals_scalar():
    rng = np.random.default_rng(7)
    bytes_read = rng.uniform(1e8, 1e11, 50)
    flops = rng.uniform(1e10, 1e15, 50)
    bw = rng.uniform(1e12, 8e12, 50)
    peak = rng.uniform(1e14, 2e15, 50)
    t, mem = step_time_s(bytes_read, flops, bw, peak, 0.8, 0.6, 1e-5, 2e-4)
    for i in range(50):
        ti, mi = step_time_s(bytes_read[i], flops[i], bw[i], peak[i], 0.8, 0.6, 1e-5, 2e-4)
        assert_allclose(t[i], ti, rtol=1e-12)
        assert mem[i] == mi


def test_smooth_max_hand_values_and_limits():
    # (3^2 + 4^2)^(1/2) = 5; the maximum where p is infinite; zero stays zero
    assert float(smooth_max(3.0, 4.0, 2.0)) == 5.0
    assert float(smooth_max(3.0, 4.0)) == 4.0
    assert float(smooth_max(0.0, 0.0, 2.0)) == 0.0
    # p = 1 is the sum, p = 3: (27 + 64)^(1/3) = 4.4979
    assert_allclose(smooth_max(3.0, 4.0, 1.0), 7.0, rtol=1e-12)
    assert_allclose(smooth_max(3.0, 4.0, 3.0), 91.0 ** (1 / 3), rtol=1e-12)
    # never below the larger time nor above the sum (invariants of any p >= 1)
    rng = np.random.default_rng(3)
    a, b = rng.uniform(0, 1, 200), rng.uniform(0, 1, 200)
    m = smooth_max(a, b, GEMM_OVERLAP_EXPONENT)
    assert np.all(m >= np.maximum(a, b)) and np.all(m <= a + b)


def test_step_time_overlap_exponent_hand_value():
    # 3 GB at 1 TB/s = 3 ms of memory, 4e12 FLOP at 1e15 = 4 ms of products: 5 ms at p = 2,
    # 4 ms at the roofline's plain maximum; plus 1 ms of communication either way
    t2, mem = step_time_s(3e9, 4e12, 1e12, 1e15, comm_s=1e-3, overlap_exponent=2.0)
    assert_allclose(t2, 6e-3, rtol=1e-12)
    assert not bool(mem)
    t_inf, _ = step_time_s(3e9, 4e12, 1e12, 1e15, comm_s=1e-3)
    assert_allclose(t_inf, 5e-3, rtol=1e-12)


def test_dequant_passes_stay_hard_limits_beside_the_smooth_maximum():
    # a weight-only kernel's CUDA-core pass (5 ms) is in series with the products (1 ms): 6 ms
    # bind, above sqrt(3^2 + 1^2) = 3.16 ms of memory against products alone
    t, _ = step_time_s(3e9, 1e12, 1e12, 1e15, dequant_s=5e-3, overlap_exponent=2.0)
    assert_allclose(t, 6e-3, rtol=1e-12)


def test_gemm_steps_take_the_smooth_maximum_and_the_roofline_the_maximum():
    # Llama-3.1-8B BF16 on one H100 at batch 512 with 512-token contexts: the engine's GEMMs
    # take sqrt(t_mem^2 + t_comp^2); Engine.roofline() the plain maximum, so it stays a bound
    shape, hw, eng = llama8b_h100()
    roof = eng.roofline()
    assert float(eng.gemm_overlap_exponent) == GEMM_OVERLAP_EXPONENT == 2.0
    assert np.isinf(roof.gemm_overlap_exponent)
    smooth = round_time(
        shape,
        hw,
        dataclasses.replace(roof, gemm_overlap_exponent=np.asarray(2.0)),
        layout(),
        2.0,
        2.0,
        512,
        512,
    )
    hard = round_time(shape, hw, roof, layout(), 2.0, 2.0, 512, 512)
    assert float(smooth.time_s) > float(hard.time_s)
    # the GEMM phase alone: weights (STEP_BYTES less the cache) against 2 x 512 x params
    gemm_bytes = STEP_BYTES - 2 * 131_072
    mem_s = gemm_bytes / H100_HBM_BYTES_PER_S
    comp_s = 2 * 512 * (LLAMA8B_PARAMS - LLAMA8B_EMBEDDING) / hw.peak_flops_per_s
    assert_allclose(
        float(smooth.time_s - hard.time_s),
        np.hypot(mem_s, comp_s) - max(mem_s, comp_s),
        rtol=1e-9,
    )


def test_attention_flops_hand_value():
    # Llama-3.1-8B shape, one token attending to 2,048 keys:
    # 2 x 32 layers x 32 heads x (128 + 128) x 2,048 = 1,073,741,824 FLOP
    assert_allclose(attention_flops_per_token(32, 128, 128, 2048, 32), 1_073_741_824.0, rtol=0)


def test_attention_flops_mla_decode_dims():
    # DeepSeek-V3 decodes in the latent space: q.K over 512 + 64 = 576 dims, values 512 dims;
    # 2 x 61 x 128 x (576 + 512) x 1,000 = 16,990,208,000 FLOP a token at a 1k context.
    s = ModelShape.from_record(default_catalog().model("deepseek-v3"))
    assert (float(s.decode_qk_dim), float(s.decode_v_dim)) == (576.0, 512.0)
    got = attention_flops_per_token(
        s.attention_heads, s.decode_qk_dim, s.decode_v_dim, 1000, s.layers
    )
    assert_allclose(got, 2 * 61 * 128 * (576 + 512) * 1000, rtol=0)


# ---------------------------------------------------------------------------------------------
# Communication
# ---------------------------------------------------------------------------------------------


def test_allreduce_hand_value_four_a100s():
    # 1 MB over 4 ranks of 600 GB/s bidirectional NVLink3 (300 GB/s one way), 5 us over two
    # ranks: alpha(4) = 5 + 2 x (5.9 - 3.7) / 6 = 5.733 us (sgl-project/sglang#2904's slope).
    # One-shot: 5.733 + 3 x 1e6 / 300e9 = 5.733 + 10 = 15.733 us; two-shot: 2 x 5.733
    # + 2 x 3/4 x 1e6 / 300e9 = 11.467 + 5 = 16.467 us; the faster is taken.
    assert_allclose(allreduce_time_s(1e6, 4, 600e9, 5e-6), 15.7333e-6, rtol=1e-4)
    # 16 MB: one-shot 5.733 + 160 us, two-shot 11.467 + 80 us = 91.467 us
    assert_allclose(allreduce_time_s(16e6, 4, 600e9, 5e-6), 91.4667e-6, rtol=1e-4)


def test_allreduce_latency_grows_with_ranks_as_measured():
    # sgl-project/sglang#2904, TensorRT-LLM's custom all-reduce on H100 at 512 B: 3.7, 4.8 and
    # 5.9 us over 2, 4 and 8 ranks; the model's line through the ends gives 3.7, 4.43, 5.9
    # (4 ranks within 8 % of the measured 4.8). 512 B adds (d - 1) x 512 / 450e9 < 0.01 us.
    got = [float(allreduce_time_s(512.0, d, 900e9, 3.7e-6)) for d in (2, 4, 8)]
    assert_allclose(got, [3.7e-6, 4.433e-6, 5.9e-6], rtol=2e-3)


def test_allreduce_single_rank_is_free_and_vector_equals_scalar():
    ranks = np.array([1.0, 2.0, 4.0, 8.0])
    vec = allreduce_time_s(16e6, ranks, 900e9, 10e-6)
    assert vec[0] == 0.0
    # 2 ranks: one-shot 10 us + 16e6 / 450e9 = 45.56 us (two-shot: 20 us + the same bytes)
    assert_allclose(vec[1], 16e6 / 450e9 + 10e-6, rtol=1e-12)
    assert_allclose(
        vec, [float(allreduce_time_s(16e6, n, 900e9, 10e-6)) for n in ranks], rtol=1e-12
    )
    assert np.all(np.diff(vec) > 0)  # more ranks: more bytes a rank and a longer latency


def test_alltoall_hand_value():
    # 8 ranks each sending 8 MB spread evenly, 900 GB/s bidirectional: 7/8 x 8e6 / 450e9
    # = 15.56 us, plus 10 us.
    assert_allclose(alltoall_time_s(8e6, 8, 900e9, 10e-6), 7 / 8 * 8e6 / 450e9 + 10e-6, rtol=1e-12)
    assert float(alltoall_time_s(8e6, 1, 900e9, 10e-6)) == 0.0


def test_layer_comm_tensor_parallel_hand_value():
    # 16 tokens x hidden 8192 x 2 bytes = 262,144 B per all-reduce; 80 layers x 2 all-reduces
    # over tp = 8 on 900 GB/s, 10 us over two ranks so 10 + 6 x 0.367 = 12.2 us over 8:
    # one-shot 12.2 + 7 x 262,144 / 450e9 = 12.2 + 4.078 us beats two-shot 24.4 + 1.02 us;
    # 160 x 16.278 us.
    act = 16 * 8192 * 2.0
    expected = 160 * (10e-6 + 6 * (5.9e-6 - 3.7e-6) / 6 + 7 * act / 450e9)
    got = layer_comm_time_s(16, 8192, 80, 0, 0, 8, 1, 1, 900e9, 10e-6)
    assert_allclose(got, expected, rtol=1e-12)
    # no parallelism: no communication
    assert float(layer_comm_time_s(16, 8192, 80, 0, 0, 1, 1, 1, 900e9, 10e-6)) == 0.0


# ---------------------------------------------------------------------------------------------
# Llama-3.1-8B at batch 1 on an H100 SXM: the memory roofline
# ---------------------------------------------------------------------------------------------

# Bytes one decode step reads at batch 1 with a 2-token context, at the roofline:
#   every matrix in bf16 including the output head: (8,030,261,248 - 525,336,576) x 2
#     = 15,009,849,344 B. The input embedding is a lookup of one 8 KiB row, not a stream of the
#     table, so the 1.05 GB table is not read (memory.ModelShape.params_always_read);
#   the KV cache: 2 tokens x 131,072 B (32 layers x 2 x 8 heads x 128 x 2 B) = 262,144 B;
#   total 15,010,111,488 B; 3.35e12 / 15,010,111,488 = 223.18 tokens/s.
# Counting the full 16.06 GB (both tables) would give 3.35e12 / 16.06e9 = 208.6 tokens/s, 7 %
# lower: the "about 208.6" is that bound, and the model's figure sits 1.07x above it.
STEP_BYTES = (LLAMA8B_PARAMS - LLAMA8B_EMBEDDING) * 2 + 2 * 131_072
ROOFLINE_TOK_S = H100_HBM_BYTES_PER_S / STEP_BYTES


def test_llama_8b_batch1_round_is_memory_bound_at_the_roofline():
    shape, hw, eng = llama8b_h100()
    assert STEP_BYTES == 15_010_111_488
    r = round_time(shape, hw, eng.roofline(), layout(), 2.0, 2.0, 1, 2)
    assert bool(r.memory_bound)
    assert_allclose(r.bytes_per_accelerator, STEP_BYTES, rtol=1e-12)
    assert_allclose(1.0 / r.time_s, ROOFLINE_TOK_S, rtol=1e-12)
    assert_allclose(ROOFLINE_TOK_S, 223.18, rtol=1e-4)


def test_llama_8b_batch1_estimate_roofline_near_bandwidth_over_weights():
    # estimate() at batch 1, 1 prompt token and 2 output tokens (mean context 1 + 2/2 = 2):
    # its roofline is the 223.18 tokens/s above, within 8 % of 3.35e12 / 16.06e9 = 208.6.
    op = estimate(
        Scenario(
            model="llama-3.1-8b",
            accelerator="h100-sxm",
            batch_size=1,
            input_tokens=1,
            output_tokens=2,
        )
    )
    d = op.as_dict()
    assert d["bound"] == "memory"
    assert d["precision"] == "bf16"
    assert_allclose(d["roofline_output_tok_s_total"], ROOFLINE_TOK_S, rtol=1e-9)
    naive = H100_HBM_BYTES_PER_S / float(weight_bytes(llama8b_h100()[0], 2.0))
    assert_allclose(naive, 208.6, rtol=1e-3)  # 3.35e12 / 16,060,522,496 = 208.59
    assert naive < d["roofline_output_tok_s_total"] < 1.08 * naive
    # the calibrated estimate is below its roofline (efficiency < 1 and a step overhead)
    assert d["output_tok_s_total"] < d["roofline_output_tok_s_total"]


def test_more_bandwidth_means_faster_decode():
    # At the roofline a memory-bound step scales exactly as 1/bandwidth; with the calibrated
    # engine (fixed overhead) it still gets strictly faster.
    shape, hw, eng = llama8b_h100()
    scale = np.array([1.0, 1.5, 2.0, 4.0, 8.0])
    faster = dataclasses.replace(hw, hbm_bytes_per_s=H100_HBM_BYTES_PER_S * scale)
    roof = round_time(shape, faster, eng.roofline(), layout(), 2.0, 2.0, 1, 2)
    assert_allclose(roof.time_s, STEP_BYTES / (H100_HBM_BYTES_PER_S * scale), rtol=1e-12)
    real = round_time(shape, faster, eng, layout(), 2.0, 2.0, 1, 2)
    assert np.all(np.diff(real.time_s) < 0)
    # a compute-bound step (256 sequences with 8k prompt tokens of prefill) never slows down
    big = round_time(shape, faster, eng, layout(), 2.0, 2.0, 256, 1500, 8192, 1000)
    assert np.all(np.diff(big.time_s) <= 0)


@pytest.mark.parametrize(
    ("sequences", "prefill_tokens"),
    [(1, 0.0), (64, 0.0), (256, 8192.0), (2048, 8192.0)],
)
def test_higher_compute_efficiency_never_slows_a_step(sequences, prefill_tokens):
    shape, hw, eng = llama8b_h100()
    eff = np.array([0.1, 0.2, 0.35, 0.5, 0.75, 1.0])
    better = dataclasses.replace(eng, compute_efficiency=eff)
    r = round_time(shape, hw, better, layout(), 2.0, 2.0, sequences, 1500, prefill_tokens, 1000)
    assert np.all(np.diff(r.time_s) <= 0)


def test_compute_efficiency_matters_when_compute_bound():
    # 256 sequences at a 1,000-token context plus 8,192 prefill tokens: 2 x 8,448 x 7.5e9 =
    # 1.27e14 FLOP of matrices (128 ms at 989.5 TFLOP/s, more at lower efficiency) against
    # 15.0 GB of weights + 256 x 1,000 x 131,072 B = 33.6 GB of KV (48.6 GB / (0.70 x 3.35 TB/s)
    # = 21 ms): compute-bound at every efficiency, so each rise makes the step strictly faster.
    shape, hw, eng = llama8b_h100()
    eff = np.array([0.1, 0.2, 0.35, 0.5, 0.75, 1.0])
    r = round_time(
        shape,
        hw,
        dataclasses.replace(eng, compute_efficiency=eff),
        layout(),
        2.0,
        2.0,
        256,
        1000,
        8192,
        1000,
    )
    assert not np.any(r.memory_bound)
    assert np.all(np.diff(r.time_s) < 0)


def test_fp8_weights_read_half_the_matrix_bytes():
    # FP8: matrices in 1 byte, the output head and the 65 RMSNorm vectors (65 x 4,096 =
    # 266,240) stay 2 bytes (memory.KEPT_16BIT):
    # (8,030,261,248 - 2 x 525,336,576) x 1 + 266,240 + 525,336,576 x 2 = 8,030,527,488 B
    # (+ KV in fp8, 2 tokens x 65,536 B = 131,072 B).
    shape, hw, eng = llama8b_h100("fp8")
    r = round_time(shape, hw, eng.roofline(), layout(), 1.0, 1.0, 1, 2)
    norms = 65 * 4096
    expected = (LLAMA8B_PARAMS - 2 * LLAMA8B_EMBEDDING) + norms + LLAMA8B_EMBEDDING * 2 + 2 * 65_536
    assert_allclose(r.bytes_per_accelerator, expected, rtol=1e-12)


def test_weight_only_dequant_in_series_then_overlapping_further_tiles():
    # read 1 ms (1e9 B at 1e12 B/s), products 0.5 ms (5e11 FLOP at 1e15): one dequantisation
    # pass of 0.8 ms precedes the products, 0.8 + 0.5 = 1.3 ms > 1 ms read, compute-bound;
    # four tiles' passes (3.2 ms) overlap the products and set the step alone
    t, mem = step_time_s(1e9, 5e11, 1e12, 1e15, dequant_s=0.8e-3)
    assert_allclose(float(t), 1.3e-3, rtol=1e-12)
    assert not bool(mem)
    t, _ = step_time_s(1e9, 5e11, 1e12, 1e15, dequant_s=0.8e-3, dequant_all_tiles_s=3.2e-3)
    assert_allclose(float(t), 3.2e-3, rtol=1e-12)
    # a pass of 0.2 ms: 0.2 + 0.5 < 1 ms read, memory sets the step
    t, mem = step_time_s(1e9, 5e11, 1e12, 1e15, dequant_s=0.2e-3)
    assert_allclose(float(t), 1e-3, rtol=1e-12)
    assert bool(mem)
