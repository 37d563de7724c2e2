"""Weight bytes, KV-cache bytes and touched experts (tokenfab.perf.memory), checked by hand.

Architecture numbers are the Hugging Face configs stored in ``data/models.csv``; each comment
shows the arithmetic from those config values.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from numpy.testing import assert_allclose

from tokenfab.catalog import default_catalog
from tokenfab.perf.memory import (
    EMBEDDING_BYTES_PER_PARAM,
    ModelShape,
    expected_distinct_experts,
    kv_bytes_per_sequence,
    kv_bytes_per_token,
    weight_bytes,
)

# Llama-3.1-8B (config: 32 layers, hidden 4096, 32 heads, 8 KV heads of 128, FFN 14336,
# vocab 128256, untied head):
#   embedding = 128256 x 4096                                  =   525,336,576
#   attention = 32 x (2 x 4096^2 + 2 x 4096 x 1024)            = 1,342,177,280
#   FFN       = 32 x 3 x 4096 x 14336                          = 5,637,144,576
#   norms     = (2 x 32 + 1) x 4096                            =       266,240
#   total     = 2 x 525,336,576 (embedding + head) + the rest  = 8,030,261,248
# which is the exact count on Meta's model card.
LLAMA8B_EMBEDDING = 128256 * 4096
LLAMA8B_PARAMS = (
    2 * LLAMA8B_EMBEDDING + 32 * (2 * 4096**2 + 2 * 4096 * 1024) + 32 * 3 * 4096 * 14336
)
LLAMA8B_PARAMS += (2 * 32 + 1) * 4096


def shape(model_id: str) -> ModelShape:
    return ModelShape.from_record(default_catalog().model(model_id))


def test_llama_8b_parameter_count_matches_model_card():
    # Guard for the hand count above: 8,030,261,248 (Llama 3.1 model card).
    assert LLAMA8B_PARAMS == 8_030_261_248


def test_llama_8b_bf16_weight_bytes():
    # Every parameter in 2 bytes: 8,030,261,248 x 2 = 16,060,522,496 B; embedding and head are
    # separate tables and both counted.
    assert_allclose(weight_bytes(shape("llama-3.1-8b"), 2.0), 16_060_522_496.0, rtol=1e-12)


def test_llama_8b_fp8_weight_bytes_keep_embeddings_in_16_bits():
    # Matrices in 1 byte; embedding, head and the 65 RMSNorm weight vectors (2 a layer x 32 +
    # the final one, 4,096 each = 266,240) in 2 bytes (memory.KEPT_16BIT):
    # (8,030,261,248 - 2 x 525,336,576 - 266,240) x 1 + (2 x 525,336,576 + 266,240) x 2
    #   = 6,979,321,856 + 2,101,878,784 = 9,081,200,640 B
    norms = (2 * 32 + 1) * 4096
    kept = 2 * LLAMA8B_EMBEDDING + norms
    expected = (LLAMA8B_PARAMS - kept) * 1.0 + kept * 2.0
    assert expected == 9_081_200_640
    assert EMBEDDING_BYTES_PER_PARAM == 2.0
    assert_allclose(weight_bytes(shape("llama-3.1-8b"), 1.0), expected, rtol=1e-12)


def test_tied_head_is_counted_once():
    # Gemma 3 27B ties its output head to the embedding table (262208 x 5376 = 1,409,630,208
    # params). Bytes in bf16 are 2 x (attention + FFN + norms + one embedding table), i.e. the
    # head adds nothing.
    s = shape("gemma-3-27b")
    assert float(s.head_tied) == 1.0
    assert_allclose(s.params_embedding, 262208 * 5376, rtol=0)
    matrix = s.params_attention + s.params_dense
    assert_allclose(weight_bytes(s, 2.0), 2.0 * (matrix + 262208 * 5376), rtol=1e-12)


def test_weight_bytes_broadcast_over_formats():
    # One call over [bf16, fp8, fp4] equals three scalar calls, element by element.
    s = shape("mixtral-8x22b")
    bpp = np.array([2.0, 1.0, 4.5 / 8])
    assert_allclose(weight_bytes(s, bpp), [float(weight_bytes(s, b)) for b in bpp], rtol=1e-12)
    assert np.all(np.diff(weight_bytes(s, bpp)) < 0)  # fewer bits, fewer bytes


def test_kv_bytes_llama_70b():
    # 80 layers x 2 (K and V) x 8 KV heads x 128 x 2 bytes = 327,680 B a token (GQA)
    assert_allclose(kv_bytes_per_token(shape("llama-3.1-70b"), 2.0), 80 * 2 * 8 * 128 * 2, rtol=0)
    assert 80 * 2 * 8 * 128 * 2 == 327_680


def test_kv_bytes_deepseek_v3_mla():
    # MLA caches one latent (kv_lora_rank 512) plus a shared RoPE key (qk_rope_head_dim 64) a
    # layer: 61 layers x (512 + 64) x 2 bytes = 70,272 B a token.
    m = default_catalog().model("deepseek-v3")
    assert (m.num_layers, m.kv_lora_rank, m.qk_rope_head_dim) == (61, 512, 64)
    assert_allclose(kv_bytes_per_token(shape("deepseek-v3"), 2.0), 61 * (512 + 64) * 2, rtol=0)
    assert 61 * (512 + 64) * 2 == 70_272


def test_kv_bytes_fp8_halves_bf16():
    # The element size is a plain factor: 327,680 / 2 = 163,840 B a token in FP8.
    assert_allclose(kv_bytes_per_token(shape("llama-3.1-70b"), 1.0), 163_840.0, rtol=0)


def test_sliding_window_gemma_3_27b_at_32k():
    # Gemma 3 27B: 62 layers, 16 KV heads of 128: 2 x 16 x 128 x 2 = 8,192 B per token and
    # layer. 52 of the 62 layers keep a 1,024-token window, 10 keep all 32,768 tokens:
    #   windowed: 8,192 x (10 x 32,768 + 52 x 1,024) = 8,192 x 380,928 = 3,120,562,176 B
    #   no window: 8,192 x 62 x 32,768 = 16,642,998,272 B
    s = shape("gemma-3-27b")
    m = default_catalog().model("gemma-3-27b")
    assert (m.num_layers, m.num_kv_heads, m.head_dim) == (62, 16, 128)
    assert (m.sliding_window, m.sliding_window_layers) == (1024, 52)
    windowed = kv_bytes_per_sequence(s, 32_768, 2.0)
    no_window = kv_bytes_per_sequence(
        dataclasses.replace(s, window_layer_share=np.asarray(0.0)), 32_768, 2.0
    )
    assert_allclose(windowed, 8_192 * (10 * 32_768 + 52 * 1_024), rtol=1e-12)
    assert_allclose(no_window, 8_192 * 62 * 32_768, rtol=1e-12)
    assert windowed < no_window


def test_gemma_4_full_layers_cache_their_own_heads():
    # Gemma 4 31B: sliding layers 16 KV heads x 256, full layers 4 KV heads x 512 (K and V
    # both cached): 2 x 16 x 256 x 2 = 16,384 B and 2 x 4 x 512 x 2 = 8,192 B a token and
    # layer. At 262,144 tokens: 10 x 8,192 x 262,144 + 50 x 16,384 x 1,024 B = 22.3 GB, not
    # the 60 x 16,384 x 262,144 = 257.7 GB of treating every layer like a sliding one in full
    s = shape("gemma-4-31b")
    assert_allclose(s.full_kv_scale, 0.5) and assert_allclose(s.full_attention_scale, 2.0)
    assert s.kv_shards_max == 4  # the full layers' 4 KV heads bound the cache's split
    got = kv_bytes_per_sequence(s, 262_144, 2.0)
    assert_allclose(got, 10 * 8_192 * 262_144 + 50 * 16_384 * 1_024, rtol=1e-12)
    # inside the window every layer keeps every token
    assert_allclose(
        kv_bytes_per_sequence(s, 1_000, 2.0), (10 * 8_192 + 50 * 16_384) * 1_000, rtol=1e-12
    )


def test_sliding_window_is_no_saving_inside_the_window():
    # Up to 1,024 tokens every layer keeps every token: 507,904 B x 1,000 tokens.
    s = shape("gemma-3-27b")
    assert_allclose(kv_bytes_per_sequence(s, 1_000, 2.0), 62 * 8_192 * 1_000, rtol=1e-12)


def test_kv_per_sequence_vector_equals_scalar_and_grows():
    s = shape("gemma-3-27b")
    ctx = np.array([1.0, 512.0, 1024.0, 4096.0, 32_768.0, 131_072.0])
    vec = kv_bytes_per_sequence(s, ctx, 2.0)
    assert_allclose(vec, [float(kv_bytes_per_sequence(s, c, 2.0)) for c in ctx], rtol=1e-12)
    assert np.all(np.diff(vec) > 0)


@pytest.mark.parametrize(
    ("experts", "k", "tokens", "expected"),
    [
        (8, 2, 1, 2.0),  # one token touches its top-2
        (8, 2, 2, 3.5),  # 8 x (1 - (6/8)^2) = 8 x (1 - 0.5625) = 3.5
        (8, 2, 3, 4.625),  # 8 x (1 - (3/4)^3) = 8 x 37/64 = 4.625
        (256, 8, 1, 8.0),  # DeepSeek-V3's top-8 of 256
        (0, 0, 100, 0.0),  # a dense model has no routed experts
    ],
)
def test_expected_distinct_experts_hand_values(experts, k, tokens, expected):
    assert_allclose(expected_distinct_experts(experts, k, tokens), expected, rtol=1e-12)


def test_expected_distinct_experts_tends_to_all_experts():
    # Non-decreasing in the batch, never above E, and E x (1 - (3/4)^200) = 8 to 1e-24 at T = 200.
    tokens = np.array([1, 2, 4, 8, 16, 64, 200, 10_000], dtype=float)
    touched = expected_distinct_experts(8, 2, tokens)
    assert np.all(np.diff(touched) >= 0)
    assert np.all(touched <= 8)
    assert_allclose(touched[-2:], 8.0, rtol=1e-12)
    # 256 experts, top-8, 64 tokens: 256 x (1 - (31/32)^64) = 222.8 (the docstring value)
    assert_allclose(expected_distinct_experts(256, 8, 64), 256 * (1 - (31 / 32) ** 64), rtol=1e-12)


def test_expected_distinct_experts_vector_equals_scalar():
    e = np.array([8.0, 64.0, 256.0, 128.0])
    k = np.array([2.0, 6.0, 8.0, 4.0])
    t = np.array([[1.0], [7.0], [300.0]])
    vec = expected_distinct_experts(e, k, t)
    assert vec.shape == (3, 4)
    for i in range(3):
        for j in range(4):
            assert_allclose(
                vec[i, j], float(expected_distinct_experts(e[j], k[j], t[i, 0])), rtol=1e-12
            )


def test_stack_and_take_round_trip():
    # Stacking two shapes and evaluating once equals evaluating each shape.
    a, b = shape("llama-3.1-70b"), shape("deepseek-v3")
    st = ModelShape.stack([a, b])
    assert_allclose(
        weight_bytes(st, 2.0),
        [float(weight_bytes(a, 2.0)), float(weight_bytes(b, 2.0))],
        rtol=1e-12,
    )
    assert_allclose(kv_bytes_per_token(st.take(np.array([1])), 2.0), [70_272.0], rtol=0)


def test_moe_active_parameters_per_token():
    # Mixtral 8x22B: 56 MoE layers, top-2 of 8 experts of 3 x 6144 x 16384 = 301,989,888 params.
    # A token multiplies with the always-read weights and 2 x 56 experts, so about 39B of 141B
    # (Mistral AI's "39B active").
    s = shape("mixtral-8x22b")
    assert_allclose(s.params_expert, 3 * 6144 * 16384, rtol=0)
    active = s.params_always_read + 2 * 56 * 3 * 6144 * 16384
    assert_allclose(s.params_per_token_matmul, active, rtol=1e-12)
    assert_allclose(s.params_per_token_matmul + s.params_embedding, 39e9, rtol=0.03)


def test_llama_405b_fp8_checkpoint_keeps_attention_and_end_layers_in_bf16():
    # Meta's FP8 checkpoint quantises only the FFN matrices and skips the first and the last
    # layer (models.csv fp8_checkpoint_16bit = "attention;ffn_first_last"; Llama 3 paper
    # arXiv:2407.21783 section 6.2). d = 16,384, 128 query / 8 KV heads of 128, FFN 53,248, 126
    # layers. Attention a layer: q and o 2 x 16,384^2 = 536,870,912, k and v 2 x 16,384 x 1,024 =
    # 33,554,432 -> 570,425,344; x 126 = 71,873,593,344. One FFN: 3 x 16,384 x 53,248 =
    # 2,617,245,696; two layers 5,234,491,392. Kept in 16 bits: 77,108,084,736 parameters, one
    # extra byte each over an all-FP8 count.
    m = default_catalog().model("llama-3.1-405b")
    assert m.fp8_checkpoint_16bit == "attention;ffn_first_last"
    kept = 126 * (2 * 16_384**2 + 2 * 16_384 * 1_024) + 2 * 3 * 16_384 * 53_248
    assert kept == 77_108_084_736
    served = ModelShape.from_record(m, "fp8")
    assert_allclose(served.params_kept_16bit, kept, rtol=1e-12)
    all_fp8 = weight_bytes(ModelShape.from_record(m), 1.0)
    assert_allclose(weight_bytes(served, 1.0) - all_fp8, kept * (2.0 - 1.0), rtol=1e-12)
    # 410,060,226,560 B all-FP8 (matrices 1 B, embedding, head and norms 2 B) + 77,108,084,736
    # = 487,168,311,296 B, i.e. 487 GB: 61 GB on each of 8 GPUs rather than 51 GB
    assert_allclose(weight_bytes(served, 1.0), 487_168_311_296.0, rtol=1e-12)
    # in bf16 nothing changes: 2 x 405,853,388,800 = 811,706,777,600 B
    assert_allclose(weight_bytes(ModelShape.from_record(m, "bf16"), 2.0), 811_706_777_600.0)


def test_fp8_checkpoint_16bit_rejects_unknown_parts():
    # A typo in the catalog column must not silently count as "every projection in FP8".
    from pydantic import ValidationError

    from tokenfab.catalog import Model

    row = default_catalog().model("llama-3.1-405b").model_dump()
    row["fp8_checkpoint_16bit"] = "attention;lm_heads"
    with pytest.raises(ValidationError, match="lm_heads"):
        Model(**row)


def test_llama4_maverick_fp8_checkpoint_quantises_only_the_routed_experts():
    # Meta's Llama-4-Maverick-17B-128E-Instruct-FP8 quantises only the routed experts of the
    # MoE layers; attention, the 24 dense-layer FFNs and the shared experts stay BF16
    # (meta-llama/llama-models@28fa4e3:models/llama4/quantization/loader.py: "Quantize only
    # routed experts, not shared", MoE blocks only; models.csv fp8_checkpoint_16bit =
    # "attention;dense_ffn;shared_experts"). d = 5,120, 40 query / 8 KV heads of 128, 48 layers,
    # 24 dense FFNs of 16,384, 24 MoE layers of 128 routed + 1 shared expert of 8,192.
    #   attention  48 x (2 x 5,120^2 + 2 x 5,120 x 1,024) =  3,019,898,880
    #   dense FFN  24 x 3 x 5,120 x 16,384                 =  6,039,797,760
    #   shared     24 x 3 x 5,120 x 8,192                  =  3,019,898,880
    #   kept in 16 bits                                    = 12,079,595,520, one extra byte each
    m = default_catalog().model("llama-4-maverick")
    assert m.fp8_checkpoint_16bit == "attention;dense_ffn;shared_experts"
    kept = 48 * (2 * 5_120**2 + 2 * 5_120 * 1_024) + 24 * 3 * 5_120 * (16_384 + 8_192)
    assert kept == 12_079_595_520
    served = ModelShape.from_record(m, "fp8")
    assert_allclose(served.params_kept_16bit, kept, rtol=1e-12)
    all_fp8 = weight_bytes(ModelShape.from_record(m), 1.0)
    assert_allclose(weight_bytes(served, 1.0) - all_fp8, kept, rtol=1e-12)
    # Routed experts 24 x 128 x 3 x 5,120 x 8,192 = 386,547,056,640 at 1 byte; the kept
    # 12,079,595,520, embedding and head 2 x 202,048 x 5,120 = 2,068,971,520 and norms and
    # routers 16,225,280 (14,164,792,320 parameters) at 2 bytes:
    # 386,547,056,640 + 28,329,584,640 = 414,876,641,280 B, / 8 / 2^30 = 48.30 GiB a GPU at TP8. vLLM loads 48.8682 GiB a GPU for this
    # checkpoint at TP8 (github.com/vllm-project/vllm/issues/16152, "Model loading took 48.8682
    # GiB"; that includes the vision encoder, which tokenfab does not count): -1.2 %. With every
    # matrix in FP8 it was 402.8 GB, 46.89 GiB a GPU (-4.0 %); had the checkpoint also kept the
    # last MoE layer's experts in BF16 (llama-models' fp8_mixed mode) it would be 50.17 GiB
    # (+2.7 %, above the log before the vision encoder is even added).
    assert_allclose(weight_bytes(served, 1.0), 414_876_641_280.0, rtol=1e-12)
    per_gpu_gib = float(weight_bytes(served, 1.0)) / 8 / 2**30
    assert_allclose(per_gpu_gib, 48.8682, rtol=0.02)
    assert per_gpu_gib < 48.8682


def test_fp8_checkpoint_dense_ffn_supersedes_first_last():
    # 'dense_ffn' keeps every dense FFN; with 'ffn_first_last' too it must not count two twice
    m = default_catalog().model("llama-4-maverick")
    both = m.model_copy(update={"fp8_checkpoint_16bit": "dense_ffn;ffn_first_last"})
    only = m.model_copy(update={"fp8_checkpoint_16bit": "dense_ffn"})
    assert_allclose(
        ModelShape.from_record(both, "fp8").params_kept_16bit,
        ModelShape.from_record(only, "fp8").params_kept_16bit,
    )
