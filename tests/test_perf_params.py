"""Parameter counts from architecture (tokenfab.perf.params) against published figures.

Every row of ``data/models.csv`` must reproduce its developer's published total to 3 %, and
every MoE row its published active count to 3 % under the convention that developer uses.
The catalog is read here with ``csv.DictReader`` so the test does not depend on the loader.
"""

from __future__ import annotations

import csv
from pathlib import Path
from types import SimpleNamespace

import pytest
from numpy.testing import assert_allclose

from tokenfab.errors import CatalogError
from tokenfab.perf.params import ParamBreakdown, attention_params, ffn_params, parameter_breakdown

MODELS_CSV = Path(__file__).resolve().parents[1] / "src" / "tokenfab" / "data" / "models.csv"
TOLERANCE = 0.03

INTS = {
    "num_layers",
    "hidden_size",
    "num_attention_heads",
    "num_kv_heads",
    "head_dim",
    "intermediate_size",
    "vocab_size",
    "num_experts",
    "experts_per_token",
    "num_shared_experts",
    "moe_intermediate_size",
    "shared_expert_intermediate_size",
    "first_dense_layers",
    "moe_layer_period",
    "kv_lora_rank",
    "q_lora_rank",
    "qk_rope_head_dim",
    "qk_nope_head_dim",
    "v_head_dim",
    "sliding_window",
    "sliding_window_layers",
    "max_context_tokens",
    "linear_num_key_heads",
    "linear_num_value_heads",
    "linear_key_head_dim",
    "linear_value_head_dim",
    "linear_conv_kernel_dim",
    "sparse_attention_topk_tokens",
    "indexer_num_heads",
    "indexer_head_dim",
    "full_attention_head_dim",
    "full_attention_kv_heads",
    "mamba_num_heads",
    "mamba_head_dim",
    "mamba_state_size",
    "mamba_groups",
    "mamba_conv_kernel",
    "compress_ratio_sparse",
    "compress_ratio_dense",
    "o_lora_rank",
    "o_groups",
    "hc_mult",
}
FLOATS = {"total_params_b", "active_params_b", "params_rounding_b"}
BOOLS = {
    "tie_word_embeddings",
    "attention_bias",
    "ffn_gated",
    "ffn_bias",
    "attention_sinks",
    "attention_output_gate",
    "full_attention_shared_kv",
    "kv_shared",
}

# Each row's active_params_basis says what its publisher counts: the embedding table and head
# (Mistral AI, Meta, Qwen3, DeepSeek, Moonshot), the head only (OpenAI's gpt-oss: "attention +
# experts + unembedding"), or neither; params_rounding_b widens the tolerance to the rounding
# of a rounded name ("A3B").


def _convert(row: dict[str, str]) -> SimpleNamespace:
    """A CSV row as a record-like object: numbers as numbers, booleans as bool, empties as None."""
    out: dict[str, object] = {}
    for key, text in row.items():
        text = text.strip()
        if text == "":
            out[key] = None
        elif key in INTS:
            out[key] = int(text)
        elif key in FLOATS:
            out[key] = float(text)
        elif key in BOOLS:
            if text not in ("true", "false"):
                raise ValueError(f"{key}={text!r} is not true/false")
            out[key] = text == "true"
        else:
            out[key] = text
    return SimpleNamespace(**out)


def _load() -> list[SimpleNamespace]:
    with MODELS_CSV.open(newline="", encoding="utf-8") as handle:
        return [_convert(row) for row in csv.DictReader(handle)]


MODELS = _load()
MOE_MODELS = [m for m in MODELS if m.kind == "moe"]


def test_catalog_holds_the_expected_models():
    expected = {
        "llama-2-7b",
        "llama-2-70b",
        "llama-3.1-8b",
        "llama-3.1-70b",
        "llama-3.3-70b",
        "llama-3.1-405b",
        "llama-4-scout",
        "llama-4-maverick",
        "mixtral-8x7b",
        "mixtral-8x22b",
        "deepseek-v3",
        "deepseek-r1",
        "qwen3-32b",
        "qwen3-30b-a3b",
        "qwen3-235b-a22b",
        "gpt-oss-20b",
        "gpt-oss-120b",
        "gemma-3-27b",
        "mistral-small-3.1",
        "mistral-large-2",
        "kimi-k2",
        "glm-4.5",
        "gpt-j-6b",
    }
    assert len(MODELS) == len({m.id for m in MODELS})  # no duplicate ids
    assert expected <= {m.id for m in MODELS}  # others may be added


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.id)
def test_total_matches_published(model):
    # Published totals: model cards and papers named in each row's params_source.
    computed_b = parameter_breakdown(model).total / 1e9
    tolerance_b = max(
        TOLERANCE * model.total_params_b, getattr(model, "params_rounding_b", None) or 0.0
    )
    assert abs(computed_b - model.total_params_b) <= tolerance_b


@pytest.mark.parametrize("model", MOE_MODELS, ids=lambda m: m.id)
def test_active_matches_published(model):
    p = parameter_breakdown(model)
    counted_b = p.active_as(getattr(model, "active_params_basis", None) or "with_embeddings") / 1e9
    tolerance_b = max(
        TOLERANCE * model.active_params_b, getattr(model, "params_rounding_b", None) or 0.0
    )
    assert abs(counted_b - model.active_params_b) <= tolerance_b


@pytest.mark.parametrize("model", [m for m in MODELS if m.kind == "dense"], ids=lambda m: m.id)
def test_dense_models_use_every_parameter(model):
    p = parameter_breakdown(model)
    assert p.num_moe_layers == 0
    assert p.active == p.total


def test_llama_3_1_8b_by_hand():
    # Llama-3.1-8B, config.json: 32 layers, d=4096, 32 q heads, 8 kv heads of 128, FFN 14336,
    # vocabulary 128256, untied.
    #   embedding  = 128256 * 4096                                   =   525,336,576
    #   lm_head    = 128256 * 4096                                   =   525,336,576
    #   attention  = 32 * (4096*4096 + 2*4096*1024 + 4096*4096)      = 1,342,177,280
    #   dense FFN  = 32 * 3 * 4096 * 14336                           = 5,637,144,576
    #   norms      = (2*32 + 1) * 4096                               =       266,240
    #   total                                                        = 8,030,261,248
    # (Hugging Face lists 8.03B for meta-llama/Llama-3.1-8B.)
    model = next(m for m in MODELS if m.id == "llama-3.1-8b")
    p = parameter_breakdown(model)
    assert p.embedding == 525_336_576
    assert p.lm_head == 525_336_576
    assert p.attention == 1_342_177_280
    assert p.dense_ffn == 5_637_144_576
    assert p.norms_and_router == 266_240
    assert p.total == 8_030_261_248
    assert p.per_token_matmul == 8_030_261_248 - 525_336_576


def test_deepseek_v3_by_hand():
    # DeepSeek-V3, config.json; per layer MLA attention:
    #   q_a 7168*1536 + q_b 1536*128*192 + kv_a 7168*(512+64) + kv_b 512*128*(128+128)
    #   + o 128*128*7168 = 11,010,048 + 37,748,736 + 4,128,768 + 16,777,216 + 117,440,512
    #   = 187,105,280; one expert 3*7168*2048 = 44,040,192; 58 MoE layers (61 - 3 dense).
    # total ~671.0B (report: 671B), active with embedding table and head ~37.5B (report: 37B).
    model = next(m for m in MODELS if m.id == "deepseek-v3")
    assert attention_params(model) == 187_105_280
    p = parameter_breakdown(model)
    assert p.routed_expert == 44_040_192
    assert p.num_moe_layers == 58
    assert p.shared_experts == 58 * 44_040_192
    assert p.dense_ffn == 3 * 3 * 7168 * 18432
    assert_allclose(p.total / 1e9, 671.0, rtol=0.002)
    assert_allclose(p.active / 1e9, 37.55, rtol=0.002)


def test_maverick_interleaves_moe_and_dense_layers():
    # interleave_moe_layer_step 2 over 48 layers: 24 MoE layers (1, 3, ..., 47), 24 dense
    # layers of width intermediate_size_mlp 16384; one routed + one shared expert of 8192 each.
    model = next(m for m in MODELS if m.id == "llama-4-maverick")
    p = parameter_breakdown(model)
    assert p.num_moe_layers == 24
    assert p.dense_ffn == 24 * 3 * 5120 * 16384
    assert p.shared_experts == 24 * 3 * 5120 * 8192
    assert p.routed_expert == 3 * 5120 * 8192


def test_gpt_oss_counts_biases_and_sinks():
    # gpt-oss-120b attention per layer: q 2880*4096 + k,v 2*2880*512 + o 4096*2880
    # = 26,542,080 weights, q/k/v biases 4096 + 2*512, 64 sink logits: 26,547,264.
    # One expert: 3*2880*2880 weights and 2*2880 + 2880 biases = 24,891,840.
    # Router: 2880*128 weights + 128 biases per layer.
    model = next(m for m in MODELS if m.id == "gpt-oss-120b")
    assert attention_params(model) == 26_547_264
    p = parameter_breakdown(model)
    assert p.routed_expert == 24_891_840
    assert p.norms_and_router == (2 * 36 + 1) * 2880 + 36 * (2880 * 128 + 128)
    # Model card table: attention 0.96B, MLP 114.71B (experts + router), embed+unembed 1.16B.
    assert_allclose(p.attention / 1e9, 0.96, atol=0.005)
    assert_allclose((p.routed_experts + 36 * (2880 * 128 + 128)) / 1e9, 114.71, atol=0.005)
    assert_allclose((p.embedding + p.lm_head) / 1e9, 1.16, atol=0.005)


def test_gpt_j_has_two_matrix_ffn_with_biases():
    # GPT-J: fc_in 4096x16384 + bias 16384, fc_out 16384x4096 + bias 4096.
    assert ffn_params(4096, 16384, gated=False, bias=True) == 134_238_208


def test_tied_embedding_counts_once_and_serves_as_head():
    model = next(m for m in MODELS if m.id == "gemma-3-27b")
    p = parameter_breakdown(model)
    assert p.lm_head == 0
    assert p.per_token_matmul == p.total  # the lookup table is the output head


def test_record_without_optional_attributes_defaults_to_gated_ffn():
    # A catalog record that lacks ffn_gated/ffn_bias/attention_sinks counts a bias-free GLU.
    row = next(m for m in MODELS if m.id == "llama-2-7b")
    bare = SimpleNamespace(
        **{
            k: v
            for k, v in vars(row).items()
            if k not in ("ffn_gated", "ffn_bias", "attention_sinks")
        }
    )
    assert parameter_breakdown(bare) == parameter_breakdown(row)
    assert parameter_breakdown(row).total == 6_738_415_616  # HF safetensors count


def test_breakdown_is_frozen():
    p = parameter_breakdown(MODELS[0])
    assert isinstance(p, ParamBreakdown)
    with pytest.raises(AttributeError):
        p.embedding = 0.0  # type: ignore[misc]


def test_moe_without_expert_width_is_rejected():
    row = next(m for m in MODELS if m.id == "mixtral-8x7b")
    broken = SimpleNamespace(**{**vars(row), "moe_intermediate_size": None})
    with pytest.raises(CatalogError, match="moe_intermediate_size"):
        parameter_breakdown(broken)


def test_dense_layers_without_ffn_width_are_rejected():
    row = next(m for m in MODELS if m.id == "deepseek-v3")
    broken = SimpleNamespace(**{**vars(row), "intermediate_size": None})
    with pytest.raises(CatalogError, match="intermediate_size"):
        parameter_breakdown(broken)


def test_moe_layout_without_moe_layers_is_rejected():
    row = next(m for m in MODELS if m.id == "glm-4.5")
    broken = SimpleNamespace(**{**vars(row), "first_dense_layers": 92})
    with pytest.raises(CatalogError, match="leave no MoE layer"):
        parameter_breakdown(broken)
