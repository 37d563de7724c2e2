"""Importers (tokenfab.importers): config.json -> model row, price lists -> API price rows.

Fixture configs in tests/fixtures/configs/ copy the fields of the real Hugging Face configs
(sources in tests/fixtures/configs/README.md); each must reproduce its developer's published
total and active parameter counts within 3 % (or within the rounding of a rounded name).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from numpy.testing import assert_allclose

from tokenfab.catalog import Catalog, stale_price_warning, stale_rows
from tokenfab.errors import CatalogError
from tokenfab.importers import (
    model_from_config,
    prices_from_litellm,
    prices_from_openrouter,
    read_json,
    write_rows,
)
from tokenfab.perf.memory import ModelShape, kv_bytes_per_sequence
from tokenfab.perf.params import parameter_breakdown

FIXTURES = Path(__file__).parent / "fixtures"
CONFIGS = FIXTURES / "configs"
PRICES = FIXTURES / "prices"
DAY = date(2026, 11, 30)
TOKENFAB = Path(sys.executable).with_name("tokenfab")

# fixture -> (published total [B], published active [B], basis, rounding [B], where published)
PUBLISHED = {
    # DeepSeek-V3 report arXiv:2412.19437: 671B total, 37B activated (V3.2 adds the indexer)
    "deepseek-v3.2": (671, 37, "with_embeddings", None, "arXiv:2412.19437"),
    # Kimi K2.5 model card: 1T total, 32B activated (text model; MoonViT not counted)
    "kimi-k2.5": (1000, 32, "with_embeddings", None, "huggingface.co/moonshotai/Kimi-K2.5"),
    # Kimi K2.6 model card: 1T total, 32B activated (same text architecture as K2.5)
    "kimi-k2.6": (1000, 32, "with_embeddings", None, "huggingface.co/moonshotai/Kimi-K2.6"),
    # Qwen3-Next-80B-A3B model card: 80B total, 3B activated (a rounded name)
    "qwen3-next-80b-a3b": (80, 3, "without_embeddings", 0.5, "Qwen/Qwen3-Next-80B-A3B"),
    # GLM-5 technical report arXiv:2602.15763 (table: 744B total, 40B activated)
    "glm-5": (744, 40, "without_embeddings", None, "arXiv:2602.15763"),
    # MiniMax-M2 model card: 230B total, 10B active
    "minimax-m2": (230, 10, "without_embeddings", None, "MiniMaxAI/MiniMax-M2"),
    # gpt-oss model card arXiv:2508.10925: 116.83B total, 5.13B active
    "gpt-oss-120b": (116.83, 5.13, "without_input_embedding", None, "arXiv:2508.10925"),
    # Gemma 3 report arXiv:2503.19786 Table 1: 1,416M embedding + 25,600M non-embedding
    "gemma-3-27b": (27.016, 27.016, "with_embeddings", None, "arXiv:2503.19786"),
    # Gemma 4 model card: 31B dense, 30.7B parameters (text model; vision encoder not counted)
    "gemma-4-31b": (30.7, 30.7, "with_embeddings", None, "Gemma 4 model card"),
    # Gemma 4 model card: 26B A4B, 25.2B total, 3.8B active
    "gemma-4-26b-a4b": (25.2, 3.8, "with_embeddings", None, "Gemma 4 model card"),
    # Qwen3.5 release (2026-02-16): 397B total, 17B activated per token (rounded names, so the
    # active basis is the closest: 17.35B with both tables; text model, vision encoder not counted)
    "qwen3.5-397b-a17b": (397, 17, "with_embeddings", None, "Qwen/Qwen3.5-397B-A17B"),
    # Qwen3.5 medium series: 122B total, 10B activated (computed 122.11B / 9.77B)
    "qwen3.5-122b-a10b": (122, 10, "with_embeddings", None, "Qwen/Qwen3.5-122B-A10B"),
    # Qwen3.5 medium series: a dense 27B (computed 26.90B, text model)
    "qwen3.5-27b": (27, 27, "with_embeddings", None, "Qwen/Qwen3.5-27B"),
    # NVIDIA Nemotron 3 page (research.nvidia.com/labs/nemotron/Nemotron-3, quoted by
    # zsdodo.com/policyHall/5768.html) and arXiv:2512.20848: "3.2B active (3.6B with
    # embeddings), 31.6B total"; computed 31.58B / 3.58B (3.23B without the input table)
    "nemotron-3-nano-30b-a3b": (31.6, 3.6, "with_embeddings", None, "arXiv:2512.20848"),
    # DeepSeek-V4 model cards (huggingface.co/deepseek-ai/DeepSeek-V4-Flash, -Pro; Raschka's
    # architecture gallery quotes them): Flash 284B total, 13B activated; Pro 1.6T, 49B.
    # Computed 284.33B / 13.27B and 1573.0B / 48.85B without the input table (with it 13.80B
    # and 49.78B: Flash's 13B is the count without the embedding lookup)
    "deepseek-v4-flash": (284, 13, "without_input_embedding", None, "DeepSeek-V4-Flash card"),
    "deepseek-v4-pro": (1600, 49, "without_input_embedding", None, "DeepSeek-V4-Pro card"),
    # Hugging Face safetensors count of meta-llama/Llama-3.1-8B: 8,030,261,248
    "llama-3.1-8b": (8.03, 8.03, "with_embeddings", None, "meta-llama/Llama-3.1-8B"),
}


def _import(name: str, **kw):
    total, active, basis, _rounding, where = PUBLISHED[name]
    return model_from_config(
        read_json(CONFIGS / f"{name}.json"),
        model_id=name,
        source=f"tests/fixtures/configs/{name}.json",
        as_of=DAY,
        total_params_b=total,
        active_params_b=active,
        params_source=where,
        active_params_basis=basis,
        **kw,
    )


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_fixture_reproduces_published_counts(name: str) -> None:
    total, active, basis, rounding, _ = PUBLISHED[name]
    row = _import(name).rows[0]
    from tokenfab.catalog import Model

    p = parameter_breakdown(Model.model_validate(row))
    assert_allclose(p.total / 1e9, total, rtol=0.03)
    tol = max(0.03 * active, rounding or 0.0)
    if name == "deepseek-v3.2":
        # the 37B is DeepSeek-V3's count; V3.2 adds 61 indexers of 13.96M (0.85B, see
        # test_indexer_params_deepseek_v32), so allow that on top of 3 %
        tol += 61 * 13_959_424 / 1e9
    assert abs(p.active_as(basis) / 1e9 - active) <= tol


def test_layer_types_from_interval_pattern_and_list() -> None:
    # Qwen3-Next full_attention_interval 4: layers 3, 7, ... are full, 36 of 48 linear
    qn = _import("qwen3-next-80b-a3b").rows[0]
    assert qn["layer_types"] == "LLLF" * 12
    assert qn["linear_attention"] == "gated_deltanet"
    # Gemma 3 sliding_window_pattern 6: 52 of 62 layers local (Gemma 3 report, 5:1)
    gemma = _import("gemma-3-27b").rows[0]
    assert gemma["layer_types"].count("S") == 52 and gemma["sliding_window_layers"] == 52
    assert gemma["tie_word_embeddings"] is True  # Gemma default, not in the fixture config
    # gpt-oss layer_types list: alternating sliding (128) and full, 18 of 36
    oss = _import("gpt-oss-120b").rows[0]
    assert oss["layer_types"] == "SF" * 18 and oss["sliding_window"] == 128


def test_sparse_attention_and_mla_are_described() -> None:
    row = _import("deepseek-v3.2").rows[0]
    assert (row["attention"], row["sparse_attention"]) == ("mla", "dsa")
    assert row["sparse_attention_topk_tokens"] == 2048  # index_topk
    assert row["head_dim"] == 192  # qk_nope 128 + qk_rope 64
    assert row["native_precision"] == "fp8"  # quantization_config.quant_method
    # Kimi K2.5 ships compressed-tensors INT4 weights (num_bits 4, type int, group 32)
    assert _import("kimi-k2.5").rows[0]["native_precision"] == "int4"


def test_dense_model_row() -> None:
    row = _import("llama-3.1-8b").rows[0]
    assert (row["kind"], row["attention"], row["head_dim"]) == ("dense", "gqa", 128)
    assert row["intermediate_size"] == 14336 and row["num_experts"] == 0


def test_linear_attention_state_is_constant_per_sequence() -> None:
    from tokenfab.catalog import Model

    shape = ModelShape.from_record(Model.model_validate(_import("qwen3-next-80b-a3b").rows[0]))
    kv = [float(kv_bytes_per_sequence(shape, c, 2.0)) for c in (1000, 2000)]
    # only the 12 full-attention layers grow: 12 layers x 2 (K,V) x 2 heads x 256 x 2 bytes
    assert_allclose(kv[1] - kv[0], 1000 * 12 * 2 * 2 * 256 * 2)
    # the 36 linear layers hold 32 x 128 x 128 state + 3 x 8192 conv inputs each, at 2 bytes
    state = 36 * (32 * 128 * 128 + 3 * (2 * 2048 + 4096)) * 2
    assert_allclose(kv[0], 1000 * 12 * 2 * 2 * 256 * 2 + state)


def test_mamba2_hybrid_is_described() -> None:
    # Nemotron 3 Nano: 23 Mamba2 (M), 6 attention (*) and 23 MoE blocks (E), one each a block
    row = _import("nemotron-3-nano-30b-a3b").rows[0]
    types = row["layer_types"]
    assert (types.count("M"), types.count("F"), types.count("P")) == (23, 6, 23)
    assert row["ffn_gated"] is False  # mlp_hidden_act relu2: up and down matrices only
    assert (row["mamba_num_heads"], row["mamba_state_size"], row["mamba_groups"]) == (64, 128, 8)
    from tokenfab.catalog import Model

    model = Model.model_validate(row)
    p = parameter_breakdown(model)
    # routed expert 2 x 2688 x 1856 (no gate); 23 MoE blocks of 128 experts
    assert p.routed_expert == 2 * 2688 * 1856 and p.num_moe_layers == 23
    # shared expert 2 x 2688 x 3712 in each MoE block; no dense FFN anywhere
    assert p.shared_experts == 23 * 2 * 2688 * 3712 and p.dense_ffn == 0
    # mixers: 23 Mamba2 x 38,742,208 (mamba2_params) + 6 GQA x 2688 x (4096 + 2 x 256 + 4096)
    assert p.attention == 23 * 38_742_208 + 6 * 2688 * 8704
    # one norm a block and the final norm; 23 routers of 2688 x 128
    assert p.norms_and_router == 53 * 2688 + 23 * 2688 * 128
    shape = ModelShape.from_record(model)
    kv = [float(kv_bytes_per_sequence(shape, c, 2.0)) for c in (1000, 2000)]
    # only the 6 attention blocks grow: 6 x 2 (K, V) x 2 heads x 128 x 2 bytes a token
    assert_allclose(kv[1] - kv[0], 1000 * 6 * 2 * 2 * 128 * 2)
    # 23 Mamba2 states of 64 x 64 x 128 + 3 x (4096 + 2 x 8 x 128) conv inputs, at 2 bytes
    state = 23 * (64 * 64 * 128 + 3 * 6144) * 2
    assert_allclose(kv[0], 1000 * 6 * 2 * 2 * 128 * 2 + state)


def test_mamba2_hybrid_with_dense_mlp_blocks() -> None:
    # Nemotron-H-8B (arXiv:2504.03624, "8B"): 24 Mamba2, 4 attention and 24 dense MLP blocks
    # ('-'); shapes as public Megatron configs quote them (hidden 4096, FFN 21504 squared-ReLU,
    # 32 Q / 8 KV heads of 128, Mamba2 128 heads of 64, state 128, 8 groups, conv 4; vocab
    # 131072, untied) and as transformers' NemotronHConfig defaults
    cfg = {
        "model_type": "nemotron_h",
        "num_hidden_layers": 52,
        "hidden_size": 4096,
        "num_attention_heads": 32,
        "num_key_value_heads": 8,
        "head_dim": 128,
        "intermediate_size": 21504,
        "vocab_size": 131072,
        "max_position_embeddings": 8192,
        "tie_word_embeddings": False,
        "mlp_hidden_act": "relu2",
        "hybrid_override_pattern": "M-M-M-M*-M-M-M-M-M*-M-M-M-M-M*-M-M-M-M-M*-M-M-M-M-M-",
        "mamba_num_heads": 128,
        "mamba_head_dim": 64,
        "ssm_state_size": 128,
        "n_groups": 8,
        "conv_kernel": 4,
    }
    from tokenfab.catalog import Model

    row = model_from_config(cfg, source="x", as_of=DAY).rows[0]
    assert row["kind"] == "dense" and row["layer_types"].count("P") == 24
    p = parameter_breakdown(Model.model_validate(row))
    # 24 MLP blocks of 2 x 4096 x 21504, no FFN in the mixer blocks
    assert p.dense_ffn == 24 * 2 * 4096 * 21504
    assert_allclose(p.total / 1e9, 8.0, rtol=0.03)  # computed 8.10B


def test_mamba2_hybrid_malformed() -> None:
    cfg = read_json(CONFIGS / "nemotron-3-nano-30b-a3b.json")
    for key, change, words in (
        ("ssm_state_size", None, "ssm_state_size: missing"),
        ("hybrid_override_pattern", "M*E", "expected 52 blocks"),
        ("hybrid_override_pattern", "MX" * 26, "unknown block 'X'"),
        ("hybrid_override_pattern", "M-" * 25 + "ME", "mixes dense"),
        # Nemotron 3 Super's LatentMoE runs experts in a latent width the schema lacks
        ("moe_latent_size", 1024, "moe_latent_size: .*latent MoE"),
    ):
        bad = {**cfg, key: change}
        if change is None:
            del bad[key]
        with pytest.raises(CatalogError, match=words) as err:
            model_from_config(bad, source="x", as_of=DAY, where="nano.json")
        assert "\n" not in str(err.value) and str(err.value).startswith("nano.json: ")


@pytest.mark.parametrize(
    ("key", "text", "words"),
    [
        # Python's json reads Infinity, NaN and 1e400 (inf): int() of them raised OverflowError
        # or ValueError, printed as "bug: OverflowError ... at importers.py:102"
        ("num_hidden_layers", "Infinity", "num_hidden_layers: expected a whole number, got inf"),
        ("num_hidden_layers", "NaN", "num_hidden_layers: expected a whole number, got nan"),
        ("num_hidden_layers", "1e400", "num_hidden_layers: expected a whole number, got inf"),
        ("mlp_only_layers", '["x"]', "mlp_only_layers: expected a whole number, got 'x'"),
        # a 0 the file gives was called "missing"
        ("num_hidden_layers", "0", "num_hidden_layers: 0 is out of range; allowed: 1 or more"),
    ],
)
def test_non_finite_or_zero_config_numbers_are_named(key: str, text: str, words: str) -> None:
    cfg = json.loads((CONFIGS / "llama-3.1-8b.json").read_text())
    cfg[key] = json.loads(text)
    with pytest.raises(CatalogError) as err:
        model_from_config(cfg, source="x", as_of=DAY, where="c.json")
    assert str(err.value) == f"c.json: {words}"


def test_malformed_configs_give_one_line() -> None:
    cases = {
        "truncated.json": "not valid JSON",
        "missing-layers.json": "num_hidden_layers: missing",
    }
    for name, words in cases.items():
        with pytest.raises(CatalogError, match=words) as err:
            model_from_config(read_json(CONFIGS / name), source="x", as_of=DAY, where=name)
        assert "\n" not in str(err.value)
    v4 = read_json(CONFIGS / "deepseek-v4-flash.json")
    for key, value, words in (
        ("compress_ratios", [0, 4], "compress_ratios: expected a list of at least 43"),
        ("compress_ratios", [0, 4, 16, 128] + [4] * 40, "one indexed ratio"),
        ("compress_ratios", [0, -4] + [4] * 42, "whole numbers >= 0"),
        ("sliding_window", None, "sliding_window: missing"),
        ("o_groups", None, "o_lora_rank and o_groups"),
    ):
        with pytest.raises(CatalogError, match=words) as err:
            model_from_config({**v4, key: value}, source="x", as_of=DAY, where="v4.json")
        assert "\n" not in str(err.value) and str(err.value).startswith("v4.json: ")
    with pytest.raises(CatalogError, match="expected a JSON object"):
        model_from_config([1, 2], source="x", as_of=DAY)
    bad = json.loads((CONFIGS / "llama-3.1-8b.json").read_text())
    bad["num_hidden_layers"] = "32"
    with pytest.raises(CatalogError, match="num_hidden_layers: expected a whole number"):
        model_from_config(bad, source="x", as_of=DAY)


def test_openrouter_prices() -> None:
    result = prices_from_openrouter(
        read_json(PRICES / "openrouter.json"), as_of=DAY, source="openrouter.ai/api/v1/models"
    )
    rows = {r["model_name"]: r for r in result.rows}
    # pricing.prompt "0.00000028" USD/token = 0.28 USD/Mtok; completion 0.00000042 -> 0.42
    v32 = rows["DeepSeek: DeepSeek V3.2"]
    assert_allclose(
        [v32["input_usd_per_mtok"], v32["output_usd_per_mtok"], v32["cached_input_usd_per_mtok"]],
        [0.28, 0.42, 0.028],
    )
    # input_cache_write 0.00000375 -> 3.75; internal_reasoning 0.000015 -> 15
    claude = rows["Anthropic: Claude Sonnet 4.5"]
    assert_allclose(claude["cache_write_usd_per_mtok"], 3.75)
    assert_allclose(claude["reasoning_usd_per_mtok"], 15.0)
    # the variable-priced router (-1) is skipped and reported
    assert len(result.rows) == 2 and "1 entry" in result.notes[0]


def test_litellm_prices() -> None:
    result = prices_from_litellm(read_json(PRICES / "litellm.json"), as_of=DAY, source="litellm")
    rows = {r["model_name"]: r for r in result.rows}
    gpt = rows["gpt-5"]
    # 1.25e-06 -> 1.25; 1e-05 -> 10; cache read 1.25e-07 -> 0.125; batches half price
    assert_allclose(
        [
            gpt["input_usd_per_mtok"],
            gpt["output_usd_per_mtok"],
            gpt["cached_input_usd_per_mtok"],
            gpt["batch_input_usd_per_mtok"],
            gpt["batch_output_usd_per_mtok"],
        ],
        [1.25, 10.0, 0.125, 0.625, 5.0],
    )
    assert gpt["provider"] == "openai" and gpt["context_tokens"] == 272000
    # sample_spec and the embedding model are not chat prices
    assert set(rows) == {"gpt-5", "claude-sonnet-4-5"}


def test_malformed_price_lists() -> None:
    with pytest.raises(CatalogError, match="expected an OpenRouter models list"):
        prices_from_openrouter({"models": []}, as_of=DAY, source="x")
    with pytest.raises(CatalogError, match=r"data\[0\] \(a/b\): pricing.prompt: expected a price"):
        prices_from_openrouter(
            {"data": [{"id": "a/b", "pricing": {"prompt": "cheap", "completion": "0"}}]},
            as_of=DAY,
            source="x",
        )
    with pytest.raises(CatalogError, match="m: expected an object of prices"):
        prices_from_litellm({"m": 3}, as_of=DAY, source="x")


def test_written_rows_are_read_by_the_catalog(tmp_path: Path) -> None:
    write_rows(tmp_path, "models", _import("glm-5").rows)
    write_rows(tmp_path, "models", _import("glm-5").rows)  # same id again: replaced, not doubled
    result = prices_from_openrouter(read_json(PRICES / "openrouter.json"), as_of=DAY, source="x")
    write_rows(tmp_path, "api-prices", result.rows)
    cat = Catalog([tmp_path])
    assert cat.model("glm-5").sparse_attention == "dsa"
    assert cat.where("models", "glm-5").endswith("models.csv:2")
    assert any(p.provider.startswith("OpenRouter") for p in cat.table("api-prices").values())


def test_every_builtin_row_has_source_and_as_of() -> None:
    cat = Catalog()
    from tokenfab.catalog import TABLES

    for name in TABLES:
        for rec in cat.table(name).values():
            assert rec.source and rec.as_of


def test_stale_rows_with_an_injected_clock() -> None:
    cat = Catalog()
    # every row listed is older than the limit, and no row older than it is left out
    rows = stale_rows(cat, 12, DAY)
    listed = {(r.table, r.id) for r in rows}
    for name in ("accelerators", "models", "regions"):
        for rec in cat.table(name).values():
            old = (DAY - rec.as_of).days / 30.4375 > 12
            assert ((name, rec.id) in listed) == old
    # a later clock never lists fewer rows (monotone in time)
    assert len(stale_rows(cat, 12, date(2030, 1, 1))) >= len(rows)
    with pytest.raises(CatalogError, match="months must be positive"):
        stale_rows(cat, 0, DAY)


def test_stale_price_warning() -> None:
    # 2025-11-29 to 2026-11-30 is 366 days = 12.02 months: flagged; 2025-12-01 is 11.97
    assert stale_price_warning("p", date(2025, 11, 29), DAY) is not None
    assert stale_price_warning("p", date(2025, 12, 1), DAY) is None


def _cli(*args: str, env_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "TOKENFAB_CATALOG"}
    env["XDG_DATA_HOME"] = str(env_dir)
    return subprocess.run(
        [str(TOKENFAB), *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_cli_import_model_into_the_user_directory(tmp_path: Path) -> None:
    r = _cli(
        "catalog",
        "import-model",
        str(CONFIGS / "minimax-m2.json"),
        "--id",
        "minimax-m2-test",
        "--total-params-b",
        "230",
        "--active-params-b",
        "10",
        "--active-basis",
        "without_embeddings",
        env_dir=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    # computed 228.69B total printed next to the published 230
    assert "228.69 B computed, 230 B published" in r.stdout
    user_file = tmp_path / "tokenfab" / "catalog" / "models.csv"
    assert user_file.exists()
    # every command now finds the model without --catalog
    shown = _cli("catalog", "models", "--json", env_dir=tmp_path)
    assert "minimax-m2-test" in {m["id"] for m in json.loads(shown.stdout)}


def test_cli_import_model_refuses_an_id_the_catalog_has_without_replace(tmp_path: Path) -> None:
    # gpt-oss-120b's config imported as --id llama-3.1-8b replaced the built-in Llama 3.1 8B
    # everywhere without a word (estimate then priced "llama-3.1-8b" in mxfp4 against
    # Groq's Llama 3.1 8B API), and a second config of the same model_type (the default id)
    # replaced the first; both are refused unless --replace says so
    config = str(CONFIGS / "gpt-oss-120b.json")
    user_file = tmp_path / "tokenfab" / "catalog" / "models.csv"
    r = _cli("catalog", "import-model", config, "--id", "llama-3.1-8b", env_dir=tmp_path)
    assert r.returncode == 2 and not user_file.exists()
    assert r.stderr.strip() == (
        "error: id: 'llama-3.1-8b' is already a model in the catalog; give another --id, or "
        "--replace to replace it"
    )
    assert _cli("catalog", "import-model", config, env_dir=tmp_path).returncode == 0
    again = _cli("catalog", "import-model", config, env_dir=tmp_path)
    assert again.returncode == 2 and "is already a model in the catalog" in again.stderr
    replaced = _cli("catalog", "import-model", config, "--replace", env_dir=tmp_path)
    assert replaced.returncode == 0 and replaced.stdout.startswith("replaced model ")
    with user_file.open(encoding="utf-8") as f:
        assert len(f.read().strip().splitlines()) == 2  # the header and one row


def test_cli_import_errors_are_one_line(tmp_path: Path) -> None:
    r = _cli("catalog", "import-model", str(CONFIGS / "truncated.json"), env_dir=tmp_path)
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert "not valid JSON" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    r = _cli(
        "catalog",
        "import-prices",
        str(PRICES / "litellm.json"),
        "--format",
        "csv",
        "--as-of",
        "2026-11-30",
        env_dir=tmp_path,
    )
    assert (
        r.returncode != 0
        and "format: 'csv' is not allowed; allowed: openrouter, litellm" in r.stderr
    )


def test_a_future_as_of_is_refused_with_the_date_as_written(tmp_path: Path) -> None:
    # the line ended "(got datetime.date(2030, 1, 1))", Python's repr of the value the line
    # had already named; a date is shown as YAML and the user write it, and once
    r = _cli(
        "catalog",
        "import-prices",
        str(PRICES / "litellm.json"),
        "--format",
        "litellm",
        "--as-of",
        "2099-01-01",
        env_dir=tmp_path,
    )
    assert r.returncode == 2
    line = r.stderr.strip()
    assert "as_of: 2099-01-01 is after today" in line
    assert "datetime" not in line and line.count("2099-01-01") == 1


def test_cli_stale_lists_old_rows(tmp_path: Path) -> None:
    r = _cli("catalog", "--stale", "--today", "2026-11-30", "--json", env_dir=tmp_path)
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert rows and all(row["age_months"] > 12 for row in rows)


def test_estimate_names_its_old_prices() -> None:
    from tokenfab.catalog import estimate_price_dates, stale_price_warnings
    from tokenfab.planning import evaluate
    from tokenfab.scenario import Scenario

    cat = Catalog()
    est = evaluate(Scenario.parse({"model": "llama-3.1-8b", "accelerator": "h100-sxm"}), cat)
    dates = estimate_price_dates(est, cat)
    acc = cat.accelerator("h100-sxm")
    assert dates["purchase price of h100-sxm"] == acc.price_as_of
    # on the day of the purchase price nothing about it is stale; 13 months later it is
    assert not any("h100-sxm" in w for w in stale_price_warnings(dates, acc.price_as_of))
    later = date(acc.price_as_of.year + 1, acc.price_as_of.month, 28)
    later = date(later.year, later.month % 12 + 1, 28) if later.month < 12 else later
    warned = stale_price_warnings(dates, date(acc.price_as_of.year + 2, 1, 1))
    assert any(w.startswith("purchase price of h100-sxm is from") for w in warned)


def test_price_range_must_bracket_the_price() -> None:
    from pydantic import ValidationError

    from tokenfab.catalog import Accelerator

    b200 = Catalog().accelerator("b200").model_dump()  # 35,000 within 30,000-40,000
    with pytest.raises(ValidationError, match="must lie within"):
        Accelerator.model_validate({**b200, "price_usd_low": 36000})
    with pytest.raises(ValidationError, match="come together"):
        Accelerator.model_validate({**b200, "price_usd_high": None})


def test_new_hybrid_and_sparse_rows_are_described() -> None:
    cat = Catalog()
    # Qwen3.6-35B-A3B card: 10 x (3 Gated DeltaNet + 1 Gated Attention) over 40 layers
    q36 = cat.model("qwen3.6-35b-a3b")
    assert q36.layer_types == "LLLF" * 10 and q36.linear_attention_layers == 30
    # GLM-5 report: DeepSeek Sparse Attention with a 32-head indexer, top-2048
    glm5 = cat.model("glm-5")
    assert (glm5.sparse_attention, glm5.sparse_attention_topk_tokens) == ("dsa", 2048)
    # the open models released from September 2025 on, imported with the importer (the rows'
    # notes give each release); gpt-oss (August 2025) was already in the catalog
    new = {
        "deepseek-v3.2",
        "kimi-k2.5",
        "qwen3-next-80b-a3b",
        "qwen3.6-35b-a3b",
        "glm-4.6",
        "glm-5",
        "minimax-m2",
        "minimax-m2.5",
        "gpt-oss-120b",
    }
    assert new <= set(cat.table("models"))
    for rid in new - {"gpt-oss-120b"}:
        m = cat.model(rid)
        assert m.retrieved is not None and "import-model" in (m.notes or "")


def test_gemma4_full_layers_have_their_own_heads() -> None:
    row = _import("gemma-4-31b").rows[0]
    from tokenfab.catalog import Model

    m = Model.model_validate(row)
    # config: 50 sliding layers (window 1024) and 10 full ones of 4 KV heads x 512, k = v
    assert m.layer_types == "SSSSSF" * 10 and m.sliding_window == 1024
    assert (m.full_attention_head_dim, m.full_attention_kv_heads) == (512, 4)
    assert m.full_attention_shared_kv
    # attention parameters by hand: sliding layer q,o 5376 x 8192, k,v 5376 x 4096 -> 132.1M;
    # full layer q,o 5376 x 16384, k 5376 x 2048, no v -> 187.2M
    sliding = 2 * 5376 * 8192 + 2 * 5376 * 4096
    full = 2 * 5376 * 16384 + 5376 * 2048
    assert parameter_breakdown(m).attention == 50 * sliding + 10 * full


def test_switched_off_feature_keys_are_not_refused() -> None:
    cfg = read_json(CONFIGS / "gemma-4-31b.json")
    # num_kv_shared_layers 0, hidden_size_per_layer_input 0, enable_moe_block false: read
    assert cfg["text_config"]["num_kv_shared_layers"] == 0
    model_from_config(cfg, model_id="g4", source="s", as_of=DAY)
    cfg["text_config"]["num_kv_shared_layers"] = 20  # Gemma 4 E2B shares KV across layers
    with pytest.raises(CatalogError, match="num_kv_shared_layers: this architecture"):
        model_from_config(cfg, model_id="g4", source="s", as_of=DAY)


def test_gemma4_moe_dense_mlp_is_a_shared_expert() -> None:
    row = _import("gemma-4-26b-a4b").rows[0]
    # enable_moe_block: a 2112-wide dense MLP beside 128 experts of 704 (top 8) in all 30 layers
    assert (row["num_experts"], row["experts_per_token"], row["moe_intermediate_size"]) == (
        128,
        8,
        704,
    )
    assert (row["num_shared_experts"], row["shared_expert_intermediate_size"]) == (1, 2112)


def test_deepseek_v4_compressed_attention_is_described() -> None:
    """DeepSeek-V4-Flash's compressed attention: layer letters, KV a token, attended entries.

    Hand count from the published config (43 layers: 2 window-only, 21 compressed sparse at
    ratio 4 with a 64 x 128 indexer picking 512 entries, 20 heavily compressed at ratio 128;
    every layer keeps a 128-token window of one 512-wide entry serving as key and value).
    """
    from tokenfab.catalog import Model
    from tokenfab.perf.memory import attended_tokens

    result = _import("deepseek-v4-flash")
    row = result.rows[0]
    assert row["layer_types"] == "SS" + "CH" * 20 + "C"
    assert (row["compress_ratio_sparse"], row["compress_ratio_dense"]) == (4, 128)
    assert row["sparse_attention"] == "csa" and row["kv_shared"] and row["hc_mult"] == 4
    assert row["native_precision"] == "mxfp4"  # expert_dtype fp4
    model = Model.model_validate(row)
    shape = ModelShape.from_record(model)
    # at 1,048,576 tokens of context, 1 byte an element (FP8 cache):
    # window 43 x 128 x 512 = 2,818,048; C 21 x (512 + 128) x 262,144 = 3,523,215,360;
    # H 20 x 512 x 8,192 = 83,886,080; total 3,609,919,488 bytes
    kv = float(kv_bytes_per_sequence(shape, 1_048_576, 1.0))
    assert kv == pytest.approx(3_609_919_488, rel=1e-12)
    # one token at that context attends, summed over layers: 43 x 128 window entries,
    # 21 x 512 top-k entries, 20 x 8,192 compressed entries and the indexer's 21 x 262,144 keys
    # at 64 x 128 / (64 x 1024) = 1/8 of an entry each: 5,504 + 10,752 + 163,840 + 688,128
    per_layer = float(attended_tokens(shape, 1_048_576.0, 1024))
    assert per_layer * 43 == pytest.approx(868_224, rel=1e-12)
    # a full-attention model of the same width would attend 43 x 1,048,576 = 45.1 M entries
    assert per_layer * 43 < 0.02 * 43 * 1_048_576
    # below the window every layer attends the whole (short) context and no compressed entry
    # is complete beyond c / ratio: at 100 tokens, 43 x 100 + 21 x 25 + 20 x 100/128
    # + 21 x 25 / 8 = 4,300 + 525 + 15.625 + 65.625
    assert float(attended_tokens(shape, 100.0, 1024)) * 43 == pytest.approx(4906.25, rel=1e-12)


def test_deepseek_v4_pro_layers() -> None:
    """DeepSeek-V4-Pro: no window-only layer; 30 C and 31 H layers (the published config)."""
    row = _import("deepseek-v4-pro").rows[0]
    assert row["layer_types"] == "HH" + "CH" * 29 + "C"
    assert row["layer_types"].count("C") == 30 and row["layer_types"].count("H") == 31
    assert (row["o_groups"], row["o_lora_rank"], row["q_lora_rank"]) == (16, 1024, 1536)


def test_deepseek_sparse_attention_attends_the_top_k() -> None:
    """DeepSeek-V3.2's DSA: each attention layer caches the MLA latent (512 + 64) and an
    indexer key of 128 a token, attends the indexer's top 2,048 tokens, and the indexer scores
    every token with 64 heads of 128 (DeepSeek-V3.2-Exp inference code)."""
    from tokenfab.catalog import Model
    from tokenfab.perf.memory import attended_tokens

    shape = ModelShape.from_record(Model.model_validate(_import("deepseek-v3.2").rows[0]))
    # 61 layers x (576 + 128) elements x 100,000 tokens at one byte an element
    assert float(kv_bytes_per_sequence(shape, 100_000, 1.0)) == pytest.approx(61 * 704 * 100_000)
    # decode attends in MLA's latent space (d_qk + d_v = 576 + 512 = 1,088, 128 heads): per
    # layer 2,048 picked tokens + 100,000 keys x 64 x 128 / (128 x 1,088) = 2,048 + 5,882.35
    dec = float(attended_tokens(shape, 100_000.0, 1088))
    assert dec == pytest.approx(2048 + 100_000 * 8192 / (128 * 1088), rel=1e-12)
    # below the top-k every token is attended: 1,000 + 1,000 x 8,192 / 139,264
    assert float(attended_tokens(shape, 1000.0, 1088)) == pytest.approx(1000 * (1 + 8192 / 139264))
