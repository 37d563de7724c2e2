"""Catalog figures added for issue #17, pinned to the sources their rows cite.

Invariants over the new columns (batch prices below list prices, a source for each, dated
prices) and spot figures with the document in the comment above each check.
"""

from __future__ import annotations

from datetime import date

import pytest
from numpy.testing import assert_allclose

from tokenfab.catalog import Catalog


@pytest.fixture(scope="module")
def cat() -> Catalog:
    return Catalog()


# --- batch prices ------------------------------------------------------------------------------


def test_batch_prices_are_below_list_and_sourced(cat: Catalog) -> None:
    batch = [p for p in cat.table("api-prices").values() if p.batch_input_usd_per_mtok is not None]
    assert len(batch) >= 20
    for p in batch:
        # input and output come together, never dearer than the synchronous price
        assert p.batch_output_usd_per_mtok is not None, p.id
        assert p.batch_input_usd_per_mtok <= p.input_usd_per_mtok, p.id
        assert p.batch_output_usd_per_mtok <= p.output_usd_per_mtok, p.id
        assert "batch" in p.source.lower(), p.id


@pytest.mark.parametrize(
    ("provider", "launched"),
    # OpenAI's Batch API predates every row given one (GPT-4o onwards, 2024-05-13);
    # Anthropic Message Batches API 2024-10-08; Gemini API Batch Mode 2025-07-07
    [("OpenAI", date(2024, 5, 13)), ("Anthropic", date(2024, 10, 8)), ("Google", date(2025, 7, 7))],
)
def test_no_batch_price_before_the_batch_api(cat: Catalog, provider: str, launched: date) -> None:
    for p in cat.table("api-prices").values():
        if p.provider == provider and p.batch_input_usd_per_mtok is not None:
            assert p.effective_date >= launched, p.id


def test_batch_prices_pinned(cat: Catalog) -> None:
    # OpenAI Batch API FAQ: 50% off; GPT-5 list $1.25 / $10 -> batch $0.625 / $5
    gpt5 = cat.get("api-prices", "openai-gpt-5-2025-08")
    assert (gpt5.batch_input_usd_per_mtok, gpt5.batch_output_usd_per_mtok) == (0.625, 5)
    # Anthropic Message Batches: 50% less; Claude Sonnet 4.5 $3 / $15 -> $1.50 / $7.50
    sonnet = cat.get("api-prices", "anthropic-claude-sonnet-4-5-2025-09")
    assert (sonnet.batch_input_usd_per_mtok, sonnet.batch_output_usd_per_mtok) == (1.5, 7.5)
    # GPT-5.2 (Vercel AI Gateway, OpenAI provider, released 2025-12-11): $1.75 / $14 -> $0.875 / $7
    gpt52 = cat.get("api-prices", "openai-gpt-5-2-2025-12")
    assert (gpt52.input_usd_per_mtok, gpt52.output_usd_per_mtok) == (1.75, 14)
    assert (gpt52.batch_input_usd_per_mtok, gpt52.batch_output_usd_per_mtok) == (0.875, 7)
    # Gemini Batch Mode (2025-07-07): 50% of Gemini 2.5 Pro's $1.25 / $10
    pro = cat.get("api-prices", "google-gemini-2-5-pro-batch-2025-07")
    assert (pro.batch_input_usd_per_mtok, pro.batch_output_usd_per_mtok) == (0.625, 5)


# --- purchase prices ---------------------------------------------------------------------------


def test_every_purchase_price_is_sourced_and_dated(cat: Catalog) -> None:
    for a in cat.table("accelerators").values():
        if a.price_usd is not None:
            assert a.price_source and a.price_kind, a.id
            assert date(2020, 1, 1) <= a.price_as_of <= date(2026, 12, 31), a.id


def test_purchase_prices_pinned(cat: Catalog) -> None:
    # Reuters (2025-12-31): NVIDIA indicated about $27,000 a chip for H200 sold in China
    h200 = cat.accelerator("h200-sxm")
    assert (h200.price_usd, h200.price_kind) == (27000, "street")
    # Bernstein (late Oct 2025): GB200 NVL72 rack ~$5.9M all in, GPUs 39% of capex:
    # 0.39 x 5.9e6 / 72 = 31,958 -> stored rounded to $32,000
    gb200 = cat.accelerator("gb200")
    assert_allclose(gb200.price_usd, 0.39 * 5.9e6 / 72, rtol=0.002)
    assert gb200.price_kind == "estimate" and "Bernstein" in gb200.price_source


# --- model release dates -----------------------------------------------------------------------


def test_every_model_has_a_release_date_or_says_why(cat: Catalog) -> None:
    for m in cat.table("models").values():
        if m.released is None:
            assert "released left blank" in (m.notes or ""), m.id
        else:
            assert date(2019, 1, 1) <= m.released <= date(2026, 12, 31), m.id
    missing = [m.id for m in cat.table("models").values() if m.released is None]
    assert len(missing) <= 4, missing


def test_release_dates_pinned(cat: Catalog) -> None:
    # Llama 2 paper and release, arXiv:2307.09288, 2023-07-18
    assert cat.model("llama-2-70b").released == date(2023, 7, 18)
    # DeepSeek API news 2024-12-26 'Introducing DeepSeek-V3'
    assert cat.model("deepseek-v3").released == date(2024, 12, 26)
    # Qwen blog 'Qwen3: Think Deeper, Act Faster', 2025-04-29 (all three Qwen3 rows)
    for rid in ("qwen3-32b", "qwen3-30b-a3b", "qwen3-235b-a22b"):
        assert cat.model(rid).released == date(2025, 4, 29)


def test_full_layer_heads_need_mixed_layer_types(cat: Catalog) -> None:
    from pydantic import ValidationError

    from tokenfab.catalog import Model

    gemma4 = cat.model("gemma-4-31b").model_dump()
    # Gemma 4 config: global_head_dim 512, num_global_key_value_heads 4 on the F layers
    assert (gemma4["full_attention_head_dim"], gemma4["full_attention_kv_heads"]) == (512, 4)
    with pytest.raises(ValidationError, match="give layer_types"):
        Model.model_validate({**gemma4, "layer_types": None, "sliding_window_layers": None})
    with pytest.raises(ValidationError, match="multiple of full_attention_kv_heads"):
        Model.model_validate({**gemma4, "full_attention_kv_heads": 5})


def test_catalog_table_prints_years_without_separators(cat: Catalog) -> None:
    from rich.console import Console

    from tokenfab.render import catalog_table

    console = Console(record=True, width=200)
    console.print(catalog_table("regions", [cat.region("us")], sources=False))
    text = console.export_text()
    # Ember 2024 intensity year printed as 2024, not 2,024
    assert "2024" in text and "2,024" not in text


# --- Anthropic 2026 list prices ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("price_id", "released", "list_in_out", "cache_read", "cache_write_5m"),
    [
        # platform.claude.com pricing table: Opus 4.6 $5 / $6.25 (5m) / $0.50 read / $25;
        # model page 'Released February 5, 2026'
        ("anthropic-claude-opus-4-6-2026-02", date(2026, 2, 5), (5, 25), 0.5, 6.25),
        # Sonnet 4.6 $3 / $3.75 / $0.30 / $15; 'Released February 17, 2026'
        ("anthropic-claude-sonnet-4-6-2026-02", date(2026, 2, 17), (3, 15), 0.3, 3.75),
        # Sonnet 5 model page: $2 / $10, 5m write $2.50, read $0.20; 'Released June 30, 2026'
        ("anthropic-claude-sonnet-5-2026-06", date(2026, 6, 30), (2, 10), 0.2, 2.5),
        # Opus 5.5 model page: $4 / $20, 5m write $5, read $0.20; released 2026-09-22
        ("anthropic-claude-opus-5-5-2026-09", date(2026, 9, 22), (4, 20), 0.2, 5),
        # Haiku 5.5 model page: $0.10 / $0.50 up to 100k-token prompts, 5m write $0.125
        ("anthropic-claude-haiku-5-5-2026-10", date(2026, 10, 7), (0.1, 0.5), 0.01, 0.125),
        # Fable 5.2 (released 2026-11-09): $8 / $40, read $0.20, 5m write $10
        ("anthropic-claude-fable-5-2-2026-11", date(2026, 11, 9), (8, 40), 0.2, 10),
    ],
)
def test_anthropic_2026_prices_pinned(
    cat: Catalog,
    price_id: str,
    released: date,
    list_in_out: tuple[float, float],
    cache_read: float,
    cache_write_5m: float,
) -> None:
    p = cat.get("api-prices", price_id)
    assert p.effective_date == released
    assert (p.input_usd_per_mtok, p.output_usd_per_mtok) == list_in_out
    assert p.cached_input_usd_per_mtok == cache_read
    assert p.cache_write_usd_per_mtok == cache_write_5m
    # Anthropic batch: 50% of the list price on input and output
    assert_allclose(
        (p.batch_input_usd_per_mtok, p.batch_output_usd_per_mtok),
        (list_in_out[0] / 2, list_in_out[1] / 2),
        rtol=1e-12,
    )


def test_sonnet_5_5_cache_read_cut_keeps_history(cat: Catalog) -> None:
    # Sonnet 5.5 launched 2026-09-28 with cache reads at $0.20; cut to $0.10 on 2026-10-07:
    # both rows kept, the later one current
    rows = sorted(
        (p for p in cat.table("api-prices").values() if p.model_name == "Claude Sonnet 5.5"),
        key=lambda p: p.effective_date,
    )
    assert [p.cached_input_usd_per_mtok for p in rows] == [0.2, 0.1]
    assert [p.effective_date for p in rows] == [date(2026, 9, 28), date(2026, 10, 7)]
    assert {(p.input_usd_per_mtok, p.output_usd_per_mtok) for p in rows} == {(2, 10)}


def test_cache_prices_sit_between_read_and_list(cat: Catalog) -> None:
    # invariant: a cache read costs less than an uncached input token, a cache write more
    for p in cat.table("api-prices").values():
        if p.cached_input_usd_per_mtok is not None:
            assert p.cached_input_usd_per_mtok <= p.input_usd_per_mtok, p.id
        if p.cache_write_usd_per_mtok is not None and p.provider == "Anthropic":
            assert p.cache_write_usd_per_mtok >= p.input_usd_per_mtok, p.id


# --- A100 rentals ------------------------------------------------------------------------------


def test_a100_rentals_pinned(cat: Catalog) -> None:
    rentals = cat.table("rentals")
    # datareceipts hyperscalers.json (2026-11-09): p4de.24xlarge $27.44705/h for 8 A100 80 GB
    p4de = rentals["aws-p4de-24xlarge-2026-11"]
    assert_allclose(p4de.on_demand_usd_per_accelerator_hour, 27.44705 / 8, rtol=1e-4)
    # Lambda instances page (2026-09-20): 8x A100 SXM 80 GB $2.79 per GPU-hour
    assert rentals["lambda-8x-a100-sxm-80gb-2026-09"].on_demand_usd_per_accelerator_hour == 2.79
    # RunPod pricing (2026-11-09): A100 SXM 80 GB Secure $1.79, Community $1.39
    assert rentals["runpod-a100-sxm-secure-2026-11"].on_demand_usd_per_accelerator_hour == 1.79
    assert rentals["runpod-a100-sxm-community-2026-11"].on_demand_usd_per_accelerator_hour == 1.39


def test_both_a100_parts_rent_somewhere(cat: Catalog) -> None:
    # invariant: both A100 80 GB parts now rent somewhere, each row sourced and dated
    for acc in ("a100-sxm-80gb", "a100-pcie-80gb"):
        rows = [r for r in cat.table("rentals").values() if r.accelerator_id == acc]
        assert len(rows) >= 2, acc
        for r in rows:
            assert r.source and r.as_of <= date(2026, 11, 30), r.id


def test_new_purchase_prices_pinned(cat: Catalog) -> None:
    # Morgan Stanley VR200 NVL72 BoM (May 2026): about $55,000 a Rubin GPU
    rubin = cat.accelerator("rubin")
    assert (rubin.price_usd, rubin.price_kind) == (55000, "estimate")
    assert "Morgan Stanley" in rubin.price_source
    # Ornn research (2026): B300 modules 'around $53,000 per chip' (OEM street price)
    b300 = cat.accelerator("b300")
    assert (b300.price_usd, b300.price_kind) == (53000, "street")
    assert "Ornn" in b300.price_source


# --- OpenAI GPT-6 and Gemini 3.1 list prices ----------------------------------------------------


@pytest.mark.parametrize(
    ("price_id", "released", "list_in_out", "cache_read"),
    [
        # LiteLLM 'Day 0 Support for GPT-6 Astra': $10 / $50, cache reads $1 (from 2026-09-03)
        ("openai-gpt-6-astra-2026-09", date(2026, 9, 3), (10, 50), 1),
        # LiteLLM GPT-6 Sol and Luna (2026-09-22): Sol $2 / $10, Luna $0.10 / $0.50
        ("openai-gpt-6-sol-2026-09", date(2026, 9, 22), (2, 10), 0.2),
        ("openai-gpt-6-luna-2026-09", date(2026, 9, 22), (0.1, 0.5), 0.01),
        # GPT-6.1 Sol (DevDay 2026-09-29): Sol's $2 / $10, cache reads $0.20 -> $0.10
        ("openai-gpt-6-1-sol-2026-09", date(2026, 9, 29), (2, 10), 0.1),
        # Vercel AI Gateway: Gemini 3.1 Pro Preview $2 / $12, cache read $0.20, from 2026-02-19
        ("google-gemini-3-1-pro-preview-2026-02", date(2026, 2, 19), (2, 12), 0.2),
    ],
)
def test_openai_and_google_2026_prices_pinned(
    cat: Catalog,
    price_id: str,
    released: date,
    list_in_out: tuple[float, float],
    cache_read: float,
) -> None:
    p = cat.get("api-prices", price_id)
    assert p.effective_date == released
    assert (p.input_usd_per_mtok, p.output_usd_per_mtok) == list_in_out
    assert p.cached_input_usd_per_mtok == cache_read
    # OpenAI Batch API and Gemini Batch Mode: 50% of the list price
    assert_allclose(
        (p.batch_input_usd_per_mtok, p.batch_output_usd_per_mtok),
        (list_in_out[0] / 2, list_in_out[1] / 2),
        rtol=1e-12,
    )


# --- regional rentals --------------------------------------------------------------------------


def test_gcp_regional_h100_prices_pinned(cat: Catalog) -> None:
    rentals = cat.table("rentals")
    # Cyclenerd pricing.yml (2025-03-06): a3-highgpu-8g europe-west4 $112.5405/h for 8 GPUs
    nl = rentals["gcp-a3-highgpu-8g-europe-west4-2025-03"]
    assert_allclose(nl.on_demand_usd_per_accelerator_hour, 112.540479175233 / 8, rtol=1e-4)
    assert nl.location == "europe-west4"
    # invariant: the same price list's us-central1 ($88.49/h) is below every other region
    regional = [r for r in rentals.values() if r.id.startswith("gcp-a3-highgpu-8g-")]
    assert len(regional) == 8
    for r in regional:
        assert r.on_demand_usd_per_accelerator_hour > 88.49 / 8, r.id
        assert r.as_of == date(2025, 3, 6)


def test_region_sources_do_not_contradict_their_pue_source(cat: Catalog) -> None:
    # a row with its own pue_source must not also cite the Uptime global average for its PUE
    for r in cat.table("regions").values():
        if r.pue_source:
            assert "pue: Uptime" not in r.source, r.id


def test_runpod_h100_community_is_the_cheapest_h100(cat: Catalog) -> None:
    from tokenfab.cost import cheapest_rental

    # RunPod pricing (2026-11-09): H100 SXM Community $2.69 a GPU-hour, the same figure as the
    # May 2026 Secure row; ties go to the most recent as_of
    row = cat.table("rentals")["runpod-h100-sxm-community-2026-11"]
    assert row.on_demand_usd_per_accelerator_hour == 2.69
    assert cheapest_rental(cat, "h100-sxm").rental.id == "runpod-h100-sxm-community-2026-11"


def test_rubin_scale_out_is_two_800g_nics(cat: Catalog) -> None:
    # Wheeler's Network: eight 800 Gb/s ConnectX-9 per 4-GPU Rubin tray = 2 x 800 Gb/s a GPU
    # = 1,600 Gb/s / 8 bits = 200 GB/s each way
    assert cat.accelerator("rubin").scaleout_bandwidth_gb_s == 2 * 800 / 8


def test_minimax_m2_5_has_m2s_architecture(cat: Catalog) -> None:
    # NVIDIA NeMo Megatron Bridge: MiniMax-M2.5 is the 'same MiniMaxM2ForCausalLM architecture'
    m2, m25 = cat.model("minimax-m2"), cat.model("minimax-m2.5")
    for field in ("num_layers", "hidden_size", "num_experts", "experts_per_token", "vocab_size"):
        assert getattr(m25, field) == getattr(m2, field), field
    # xorbitsai/inference registry: 230 billion; released 2026-02-12 (announcement)
    assert (m25.total_params_b, m25.released) == (230, date(2026, 2, 12))
    # CometAPI: MiniMax-M2 released 2025-10-27 ('late October' in MiniMax's M2.5 README)
    assert m2.released == date(2025, 10, 27)


def test_minimax_m2_5_launch_prices(cat: Catalog) -> None:
    # MiniMax-M2.5 README: Lightning $0.3 in / $2.4 out per Mtok, M2.5 'costs half that'
    fast = cat.get("api-prices", "minimax-m2-5-lightning-2026-02")
    std = cat.get("api-prices", "minimax-m2-5-2026-02")
    assert (fast.input_usd_per_mtok, fast.output_usd_per_mtok) == (0.3, 2.4)
    assert_allclose(
        (std.input_usd_per_mtok, std.output_usd_per_mtok), (0.3 / 2, 2.4 / 2), rtol=1e-12
    )
    assert std.model_id == fast.model_id == "minimax-m2.5"


def test_kimi_k2_5_release_date(cat: Catalog) -> None:
    # LLM Stats (2026-01-27) and NYU Shanghai RITS: Kimi K2.5 released January 27, 2026
    assert cat.model("kimi-k2.5").released == date(2026, 1, 27)


def test_glm_4_6_release_date(cat: Catalog) -> None:
    # aiwiki.ai, morphllm.com (from Z.ai's release notes) and apxml.com: 2025-09-30
    assert cat.model("glm-4.6").released == date(2025, 9, 30)


# --- EU member states and operator PUE ---------------------------------------------------------

EU_MEMBER_STATES = {
    # id: (Eurostat nrg_pc_205 2025-S2, band IC, excl. VAT, EUR/MWh; Ember 2024 gCO2e/kWh), as
    # pulled from the Eurostat API in EU27-data-sovereignty model/eu27_parameters.csv and exported
    # by thegreenwebfoundation/co2.js data/output/average-intensities.json (commit 6628f83f)
    "eu-de": (226.4, 344.14),
    "eu-nl": (199.1, 253.31),
    "eu-fr": (153.4, 44.18),
    "eu-se": (97.0, 35.82),
    "eu-es": (132.4, 146.15),
    "eu-it": (220.3, 287.53),
    "eu-pl": (191.5, 614.98),
    "eu-dk": (121.6, 143.3),
    "eu-be": (186.6, 117.58),
}


@pytest.mark.parametrize(("rid", "figures"), list(EU_MEMBER_STATES.items()))
def test_eu_member_states_pinned(cat: Catalog, rid: str, figures: tuple[float, float]) -> None:
    eur_per_mwh, g_per_kwh = figures
    r = cat.region(rid)
    # EUR/MWh / 1000 x 1.0824 USD/EUR (ECB 2024 average, the rate of the other EU rows)
    assert_allclose(r.electricity_usd_per_kwh, eur_per_mwh / 1000 * 1.0824, atol=5e-5)
    assert (r.grid_co2e_g_per_kwh, r.grid_co2e_year, r.parent) == (g_per_kwh, 2024, "eu")
    assert "nrg_pc_205" in r.source and "Ember" in r.source and r.retrieved == date(2026, 11, 30)


def test_eu_member_state_grids_order_as_ember_reports(cat: Catalog) -> None:
    # Ember 2024: Sweden (hydro, nuclear) and France (nuclear) below 50 g; Poland (coal) the highest
    low = [r for r in EU_MEMBER_STATES if cat.region(r).grid_co2e_g_per_kwh < 50]
    assert sorted(low) == ["eu-fr", "eu-se"]
    assert max(EU_MEMBER_STATES, key=lambda r: cat.region(r).grid_co2e_g_per_kwh) == "eu-pl"


@pytest.mark.parametrize(
    ("rid", "low", "high"),
    [
        # Google campus TTM PUE (datacenters.google/efficiency, read 2025-10-16): Loudoun County
        # 2nd facility 1.08, Central Ohio (Lancaster) 1.04, Singapore 1.13, Dublin 1.08; the high
        # end is the row's survey value (Uptime 2024 global 1.56, EU EED average 1.36)
        ("us-va", 1.08, 1.56),
        ("us-oh", 1.04, 1.56),
        ("singapore", 1.13, 1.56),
        ("eu-ie", 1.08, 1.36),
        # Microsoft datacenter efficiency page: Poland 1.19, Sweden 1.16
        ("eu-pl", 1.19, 1.36),
        ("eu-se", 1.16, 1.36),
    ],
)
def test_operator_pue_ranges_pinned(cat: Catalog, rid: str, low: float, high: float) -> None:
    r = cat.region(rid)
    assert (r.pue_low, r.pue, r.pue_high) == (low, high, high)
    assert "datacenters." in r.pue_source and "not a confidence interval" in r.pue_source


def test_operator_pue_is_below_every_survey_average(cat: Catalog) -> None:
    # an invariant of the sources: hyperscale campuses (Google fleet TTM about 1.09) run below the
    # survey averages of typical sites (Uptime 2024 1.56, EU EED 1.36)
    with_range = [r for r in cat.table("regions").values() if r.pue_low is not None]
    assert len(with_range) >= 15
    for r in with_range:
        assert 1.0 < r.pue_low < 1.3 <= r.pue == r.pue_high, r.id


def test_qwen3_5_rows_match_their_fixtures(cat: Catalog) -> None:
    from tokenfab.perf.params import parameter_breakdown

    # Qwen3.5-397B-A17B: 15 x (3 Gated DeltaNet + 1 attention) = 45 linear of 60 layers, 512
    # experts top-10; computed 396.35B total (0.16 % under the published 397B)
    big = cat.model("qwen3.5-397b-a17b")
    assert big.layer_types.count("L") == 45 and (big.num_experts, big.experts_per_token) == (
        512,
        10,
    )
    assert_allclose(parameter_breakdown(big).total / 1e9, 397, rtol=0.03)
    assert big.released == date(2026, 2, 16)
    mid = cat.model("qwen3.5-122b-a10b")
    assert mid.layer_types.count("L") == 36 and (mid.num_experts, mid.experts_per_token) == (256, 8)
    assert_allclose(parameter_breakdown(mid).total / 1e9, 122, rtol=0.03)


def test_kimi_k2_5_list_price_pinned(cat: Catalog) -> None:
    # platform.moonshot.ai pricing (big-AGI transcription, 2026-01-26): $0.60 in, $3.00 out, $0.10
    # cache read per 1M tokens; the cache read is 1/6 of the input price
    p = cat.get("api-prices", "moonshot-kimi-k2-5-2026-01")
    assert (p.input_usd_per_mtok, p.output_usd_per_mtok, p.cached_input_usd_per_mtok) == (
        0.6,
        3,
        0.1,
    )
    assert p.model_id == "kimi-k2.5" and p.effective_date == date(2026, 1, 26)


@pytest.mark.parametrize("acc", ["gb300", "mi325x", "mi350x"])
def test_unpriced_accelerators_say_not_public(cat: Catalog, acc: str) -> None:
    # issue #17: a price that is not public is stated, not left silently blank
    a = cat.accelerator(acc)
    assert a.price_usd is None and "Price: not public" in (a.notes or "")


def test_deepseek_v4_prices_keep_the_launch_list_as_history(cat: Catalog) -> None:
    # DeepSeek pricing page (tokenmix.ai transcription, 2026-04-30): V4-Flash $0.14 in / $0.28 out,
    # cache hit $0.0028 (one tenth of launch after the 2026-04-26 cut); V4-Pro listed $1.74 / $3.48,
    # then from 2026-06-01 the 75 %-off price $0.435 / $0.87 = 1.74 / 4 and 3.48 / 4 is the list price
    flash = cat.get("api-prices", "deepseek-v4-flash-2026-04")
    assert (flash.input_usd_per_mtok, flash.output_usd_per_mtok) == (0.14, 0.28)
    assert_allclose(flash.cached_input_usd_per_mtok, 0.028 / 10, rtol=1e-12)
    old, new = (cat.get("api-prices", f"deepseek-v4-pro-2026-{m}") for m in ("04", "06"))
    assert_allclose(
        [new.input_usd_per_mtok, new.output_usd_per_mtok], [1.74 / 4, 3.48 / 4], rtol=1e-12
    )
    assert old.model_name == new.model_name and old.effective_date < new.effective_date


def test_middle_east_country_rows_pinned(cat: Catalog) -> None:
    # Saudi ECRA industrial tariff SAR 0.18/kWh at the SAR 3.75 peg: 0.18 / 3.75 = 0.048
    sa = cat.region("me-sa")
    assert_allclose(sa.electricity_usd_per_kwh, 0.18 / 3.75, atol=5e-5)
    # DEWA industrial top slab 38 fils + fuel surcharge 5 fils = AED 0.43 at AED 3.6725 per USD
    ae = cat.region("me-ae")
    assert_allclose(ae.electricity_usd_per_kwh, 0.43 / 3.6725, atol=5e-5)
    # Ember 2023 via co2.js: Saudi Arabia 696.31, UAE 492.7 gCO2e/kWh; both under the seed region
    assert (sa.grid_co2e_g_per_kwh, ae.grid_co2e_g_per_kwh) == (696.31, 492.7)
    assert sa.parent == ae.parent == "middle-east"


def test_llama_3_3_70b_has_its_groq_price(cat: Catalog) -> None:
    from tokenfab.planning import latest_api_prices

    # Groq pricing (aicost data_groq.rs): Llama 3.3 70B Versatile $0.59 in / $0.79 out per 1M
    prices = latest_api_prices(cat, "llama-3.3-70b")
    assert [(p.provider, p.input_usd_per_mtok, p.output_usd_per_mtok) for p in prices] == [
        ("Groq", 0.59, 0.79)
    ]


def test_kimi_k2_6_shares_k2_5s_text_architecture(cat: Catalog) -> None:
    from tokenfab.perf.params import parameter_breakdown

    # Raschka's gallery: K2.6 'uses the same text architecture as Kimi K2.5'; model card 1T / 32B
    a, b = cat.model("kimi-k2.5"), cat.model("kimi-k2.6")
    arch = ("num_layers", "hidden_size", "num_experts", "experts_per_token", "kv_lora_rank")
    assert [getattr(a, k) for k in arch] == [getattr(b, k) for k in arch] == [61, 7168, 384, 8, 512]
    assert_allclose(parameter_breakdown(b).total / 1e9, 1000, rtol=0.03)
    assert b.released == date(2026, 4, 20) and b.native_precision == "int4"


def test_qwen3_5_27b_is_a_dense_hybrid(cat: Catalog) -> None:
    # Qwen3.5-27B config: 64 layers, full_attention_interval 4 -> 16 attention + 48 DeltaNet
    # layers, dense FFN 17408; computed 26.90B against the name's 27B
    from tokenfab.perf.params import parameter_breakdown

    m = cat.model("qwen3.5-27b")
    assert (m.kind, m.layer_types.count("F"), m.layer_types.count("L")) == ("dense", 16, 48)
    assert_allclose(parameter_breakdown(m).total / 1e9, 27, rtol=0.03)


def test_nemotron_3_nano_is_a_mamba2_hybrid(cat: Catalog) -> None:
    # NVIDIA's Nemotron 3 page: 31.6B total, 3.6B active with embeddings; 23 Mamba2, 6
    # attention and 23 MoE blocks (arXiv:2512.20848)
    from tokenfab.perf.memory import ModelShape, kv_bytes_per_sequence
    from tokenfab.perf.params import parameter_breakdown

    m = cat.model("nemotron-3-nano-30b-a3b")
    assert (m.mamba_layers, m.layer_types.count("F"), m.ffn_blocks) == (23, 6, 23)
    p = parameter_breakdown(m)
    assert_allclose([p.total / 1e9, p.active / 1e9], [31.6, 3.6], rtol=0.03)
    # a 100k-token sequence: 6 blocks x 2 x 2 heads x 128 x 2 bytes a token, plus 23 states of
    # 542,720 elements at 2 bytes -- about 0.64 GB, a tenth of a 52-layer all-attention model's
    kv = float(kv_bytes_per_sequence(ModelShape.from_record(m), 100_000, 2.0))
    assert_allclose(kv, 100_000 * 6144 + 23 * 542_720 * 2)
    assert m.released == date(2025, 12, 15)


def test_tpu_rentals_are_google_list_prices(cat: Catalog) -> None:
    # Trillium at general availability (2024-12-11): 2.70 on demand, 1.89 (1 year) and 1.22
    # (3 years) a chip-hour; v5e 1.20 a chip-hour (secondary sources quoting Google's list)
    rent = cat.table("rentals")
    v6e = [rent[f"gcp-tpu-v6e-2024-12{s}"] for s in ("", "-1yr", "-3yr")]
    assert v6e[0].on_demand_usd_per_accelerator_hour == 2.70
    assert [(r.reserved_usd_per_accelerator_hour, r.reserved_term_months) for r in v6e[1:]] == [
        (1.89, 12),
        (1.22, 36),
    ]
    assert rent["gcp-tpu-v5e-2026-01"].on_demand_usd_per_accelerator_hour == 1.20
    for r in [*v6e, rent["gcp-tpu-v5e-2026-01"]]:
        assert r.accelerators_per_instance == 1 and r.retrieved == date(2026, 11, 30)
        assert cat.accelerator(r.accelerator_id).tdp_w is None  # TPU power: not public


def test_rubin_cpx_separates_dense_from_nvidia_headline(cat: Catalog) -> None:
    # NVIDIA: 30 PF NVFP4, 128 GB GDDR7; the NVL144 CPX rack's 8 EF NVFP4 is 144 CPX x 30 PF
    # + 72 Rubin packages x 50 PF (7.92 EF), so 30 PF shares Rubin's 'inference' basis; the
    # stored dense rate is SemiAnalysis's 20 PF (30 / 20 = 3:2, as it reads Rubin)
    cpx, rubin = cat.accelerator("rubin-cpx"), cat.accelerator("rubin")
    assert (cpx.memory_gb, cpx.fp4_dense_tflops) == (128, 20_000)
    assert abs((144 * 30_000 + 72 * rubin.fp4_dense_tflops) / 1e6 - 8) < 0.1
    assert cpx.tdp_w is None and cpx.price_usd is None and cpx.scaleup_bandwidth_gb_s is None
    assert "Price: not public" in cpx.notes and cpx.retrieved == date(2026, 11, 30)


def test_kimi_k2_6_api_price(cat: Catalog) -> None:
    # Cloudflare Workers AI: 0.95 in, 4.00 out, 0.16 cached input per 1M tokens; 256k context
    row = cat.get("api-prices", "cloudflare-kimi-k2-6-2026")
    assert (row.input_usd_per_mtok, row.output_usd_per_mtok) == (0.95, 4.0)
    assert row.cached_input_usd_per_mtok == 0.16 and row.context_tokens == 262_144
    assert cat.model(row.model_id).released == date(2026, 4, 20)


def test_trainium1_datasheet_and_rentals(cat: Catalog) -> None:
    # AWS Neuron docs, Trainium Architecture: 190 BF16/cFP8 TFLOPS, 380 INT8 TOPS, 32 GiB at
    # 820 GiB/s; Trn1 Architecture: NeuronLink-v2 384 GiB/s a device, 16 chips a trn1.32xlarge
    # with 800 Gbps of EFA (800 / 16 / 8 = 6.25 GB/s a chip)
    t1 = cat.accelerator("trainium1")
    assert (t1.bf16_dense_tflops, t1.fp8_dense_tflops, t1.int8_dense_tops) == (190, 190, 380)
    assert_allclose(t1.memory_gb, 32 * 2**30 / 1e9, atol=0.01)  # 34.36 GB
    assert_allclose(t1.memory_bandwidth_tb_s, 820 * 2**30 / 1e12, atol=1e-4)  # 0.8805 TB/s
    assert_allclose(t1.scaleup_bandwidth_gb_s, 384 * 2**30 / 1e9, atol=0.1)  # 412.3 GB/s
    assert t1.scaleout_bandwidth_gb_s == 800 / 16 / 8
    assert t1.tdp_w is None and t1.price_usd is None  # power not public; not sold
    rent = cat.table("rentals")
    # usage.ai (2026-06-25): trn1.32xlarge $21.50 an hour on demand / 16 chips
    assert rent["aws-trn1-32xlarge-2026-06"].on_demand_usd_per_accelerator_hour == 21.50 / 16
    # AWS Capacity Blocks (Melbourne): $15.49 an instance-hour, $0.968 a chip-hour
    block = rent["aws-trn1-capacity-block-2024-ap-southeast-4"]
    assert_allclose(block.reserved_usd_per_accelerator_hour, 15.49 / 16, atol=5e-4)


def test_tpu_v4_is_the_tpu_with_published_power(cat: Catalog) -> None:
    # Google Cloud TPU v4 page: 275 TFLOPS bf16/int8, 32 GiB HBM2 at 1200 GBps, measured
    # min/mean/max power 90/170/192 W, 4096 chips a pod
    v4 = cat.accelerator("tpu-v4")
    assert (v4.bf16_dense_tflops, v4.int8_dense_tops, v4.tdp_w) == (275, 275, 192)
    assert (v4.memory_bandwidth_tb_s, v4.scaleup_domain_size) == (1.2, 4096)
    # no other TPU publishes a per-chip power figure
    accs = cat.table("accelerators").values()
    others = [a for a in accs if a.vendor == "Google" and a.id != "tpu-v4"]
    assert others and all(a.tdp_w is None for a in others)


def test_tpu_v5p_datasheet_and_rental(cat: Catalog) -> None:
    # Google Cloud TPU v5p page: 459 TFLOPS BF16 and FP8, 95 GiB at 2765 GBps, ICI 1200 GBps
    # bidirectional, DCN 50 Gbps a chip, 8960 chips a pod; $4.20 a chip-hour (secondary source)
    v5p = cat.accelerator("tpu-v5p")
    assert (v5p.bf16_dense_tflops, v5p.fp8_dense_tflops) == (459, 459)
    assert_allclose(v5p.memory_gb, 95 * 2**30 / 1e9, atol=0.05)
    assert (v5p.scaleup_bandwidth_gb_s, v5p.scaleup_domain_size) == (1200, 8960)
    assert v5p.scaleout_bandwidth_gb_s == 50 / 8
    assert cat.table("rentals")["gcp-tpu-v5p-2026-01"].on_demand_usd_per_accelerator_hour == 4.20


def test_deepseek_v4_rows_reproduce_published_counts(cat: Catalog) -> None:
    from tokenfab.perf.params import parameter_breakdown

    # DeepSeek's cards: V4-Flash 284B total / 13B activated, V4-Pro 1.6T / 49B (the active
    # count without the input embedding table; see tests/test_importers.py)
    for rid, total, active in (("deepseek-v4-flash", 284, 13), ("deepseek-v4-pro", 1600, 49)):
        m = cat.model(rid)
        p = parameter_breakdown(m)
        assert_allclose(p.total / 1e9, total, rtol=0.03)
        assert_allclose(p.active_as(m.active_params_basis) / 1e9, active, rtol=0.03)
        assert m.released == date(2026, 4, 24)
    # the API price rows now point at the models
    prices = cat.table("api-prices")
    assert prices["deepseek-v4-flash-2026-04"].model_id == "deepseek-v4-flash"
    assert prices["deepseek-v4-pro-2026-06"].model_id == "deepseek-v4-pro"


# --- rentals for accelerators that had no price (issue #17, gaps pass) --------------------------


@pytest.mark.parametrize(
    ("rid", "acc", "instance_usd_per_h", "gpus"),
    [
        # Oracle Cost Estimator (gpuhunt fixture, 2026-09-18) and skypilot's OCI catalog: the
        # 4-GPU GB300 shape at $72/h = $18.00 a GPU-hour (part B112140: $18)
        ("oci-bm-gpu-gb300-4-2026-09", "gb300", 72.0, 4),
        # BM.GPU.MI355X.8 at $68.8/h = $8.60 a GPU-hour (part B111758: $8.6)
        ("oci-bm-gpu-mi355x-8-2026-09", "mi355x", 68.8, 8),
        # BM.GPU.GB200.4 $64/h = $16; BM.GPU.B300.8 $120/h = $15; BM.GPU.MI300X.8 $48/h = $6
        ("oci-bm-gpu-gb200-4-2026-09", "gb200", 64.0, 4),
        ("oci-bm-gpu-b300-8-2026-09", "b300", 120.0, 8),
        ("oci-bm-gpu-mi300x-8-2026-09", "mi300x", 48.0, 8),
        # BM.GPU.H100.8 and BM.GPU.H200.8 $80/h = $10; BM.GPU.A100-v2.8 $32/h = $4
        ("oci-bm-gpu-h100-8-2026-09", "h100-sxm", 80.0, 8),
        ("oci-bm-gpu-h200-8-2026", "h200-sxm", 80.0, 8),
        ("oci-bm-gpu-a100-v2-8-2026-09", "a100-sxm-80gb", 32.0, 8),
        # instances.vantage.sh: p6-b300.48xlarge $142.416/h for 8 B300 = $17.802
        ("aws-p6-b300-48xlarge-2025-12", "b300", 142.416, 8),
    ],
)
def test_instance_prices_divide_into_gpu_hours(
    cat: Catalog, rid: str, acc: str, instance_usd_per_h: float, gpus: int
) -> None:
    r = cat.table("rentals")[rid]
    assert (r.accelerator_id, r.accelerators_per_instance) == (acc, gpus)
    assert_allclose(r.on_demand_usd_per_accelerator_hour, instance_usd_per_h / gpus, rtol=1e-9)
    assert r.source and r.retrieved == date(2026, 12, 1)


def test_gb300_and_mi355x_rent_somewhere(cat: Catalog) -> None:
    from tokenfab.cost import cheapest_rental

    # invariant: GB300 and MI355X now have a rental; their purchase prices stay not public
    # (GB300) or HSBC's ASP (MI355X), so a rental is what prices them without a purchase price
    assert cheapest_rental(cat, "gb300").rental.id == "oci-bm-gpu-gb300-4-2026-09"
    assert cheapest_rental(cat, "mi355x").usd_per_accelerator_hour == 8.6
    assert cat.accelerator("gb300").price_usd is None
    # Oracle lists GB300 ($18) above GB200 ($16) and B300 ($15): the rack-scale premium
    oci = {
        r.accelerator_id: r.on_demand_usd_per_accelerator_hour
        for r in cat.table("rentals").values()
        if r.provider == "Oracle Cloud (OCI)"
    }
    assert oci["gb300"] > oci["gb200"] > oci["b300"] > oci["h100-sxm"] > oci["mi300x"]


def test_h100_pcie_rentals_pinned(cat: Catalog) -> None:
    from tokenfab.cost import cheapest_rental

    rent = cat.table("rentals")
    # RunPod pricing (2026-11-09): H100 PCIe 80 GB Secure $2.89, Community $1.99 a GPU-hour
    assert rent["runpod-h100-pcie-secure-2026-11"].on_demand_usd_per_accelerator_hour == 2.89
    assert rent["runpod-h100-pcie-community-2026-11"].on_demand_usd_per_accelerator_hour == 1.99
    # Lambda instances page (2026-09-20): 1x H100 PCIe $3.29 per GPU per hour
    assert rent["lambda-1x-h100-pcie-2026-09"].on_demand_usd_per_accelerator_hour == 3.29
    assert cheapest_rental(cat, "h100-pcie").rental.id == "runpod-h100-pcie-community-2026-11"
    # invariant: on each RunPod tier the PCIe card rents below the SXM part
    pcie = rent["runpod-h100-pcie-community-2026-11"].on_demand_usd_per_accelerator_hour
    sxm = rent["runpod-h100-sxm-community-2026-11"].on_demand_usd_per_accelerator_hour
    assert pcie < sxm
    pcie = rent["runpod-h100-pcie-secure-2026-11"].on_demand_usd_per_accelerator_hour
    assert pcie < rent["runpod-h100-sxm-secure-2026-11"].on_demand_usd_per_accelerator_hour


def test_tpu_v4_rental_is_googles_evaluation_price(cat: Catalog) -> None:
    # INFER question 1114 (2022-08-11): Cloud TPU v4 on-demand / evaluation price $3.22 a
    # chip-hour on Google's pricing page; v4 runs only in us-central2
    r = cat.table("rentals")["gcp-tpu-v4-2022-08"]
    assert (r.on_demand_usd_per_accelerator_hour, r.accelerators_per_instance) == (3.22, 1)
    assert r.as_of == date(2022, 8, 11) and r.location.startswith("us-central2")
    # the one TPU with published power: its rental carries an energy cost
    assert cat.accelerator("tpu-v4").tdp_w == 192


def test_vultr_prepaid_amd_prices_are_reserved_without_a_term(cat: Catalog) -> None:
    # Vultr pricing page (2025-08-19): bare metal 'Starting from' per GPU-hour for pre-paid
    # contract terms: MI325X $2.000, MI300X $1.850; no contract length on the page
    rent = cat.table("rentals")
    for rid, usd in (
        ("vultr-bm-mi325x-prepaid-2025-08", 2.0),
        ("vultr-bm-mi300x-prepaid-2025-08", 1.85),
    ):
        r = rent[rid]
        assert r.reserved_usd_per_accelerator_hour == usd and r.reserved_term_months is None
        assert r.on_demand_usd_per_accelerator_hour is None


def test_nebius_b300_price_from_october_2026(cat: Catalog) -> None:
    # nebius.com/prices (read 2026-10-07): HGX B300 $7.85 a GPU-hour, '$9.50 effective October 1'
    r = cat.table("rentals")["nebius-hgx-b300-2026-10"]
    assert (r.on_demand_usd_per_accelerator_hour, r.as_of) == (9.5, date(2026, 10, 1))


@pytest.mark.parametrize(
    ("acc", "usd", "instance_usd", "old_id", "old_usd", "old_as_of"),
    [
        # nebius.com/prices (read 2026-10-07, api-evangelist/nebius plans/nebius-plans-pricing.yml):
        # HGX H100 $3.85 -> '$4.50 effective October 1, 2026', 16 vCPUs and 200 GB RAM a GPU,
        # so the 8gpu-128vcpu-1600gb preset is 8 x 4.50 = 36.00 $/h. It supersedes the skypilot
        # snapshot's $2.95 (23.60 $/h / 8), dated 2025-08-12 by skypilot PR #6628's show-gpus output.
        ("h100-sxm", 4.5, 36.0, "nebius-8x-h100-sxm", 2.95, date(2025, 8, 12)),
        # HGX H200 $4.50 -> $5.40: 8 x 5.40 = 43.20 $/h; the snapshot's $3.50 (28.00 / 8) is the
        # price docs.nebius.com gives for the 1gpu-16vcpu-200gb preset from 2025-10-01.
        ("h200-sxm", 5.4, 43.2, "nebius-8x-h200-sxm", 3.5, date(2025, 10, 1)),
        # HGX B200 $7.15 -> $8.50, 20 vCPUs and 224 GB RAM a GPU (8gpu-160vcpu-1792gb / 8):
        # 8 x 8.50 = 68.00 $/h; the snapshot's $5.50 (44.00 / 8) is in PR #6628 on 2025-08-12.
        ("b200", 8.5, 68.0, "nebius-8x-b200", 5.5, date(2025, 8, 12)),
    ],
)
def test_nebius_rental_in_force_is_the_october_2026_price(
    cat: Catalog,
    acc: str,
    usd: float,
    instance_usd: float,
    old_id: str,
    old_usd: float,
    old_as_of: date,
) -> None:
    from tokenfab.cost import cheapest_rental

    q = cheapest_rental(cat, acc, "on-demand", provider="Nebius")
    assert q.usd_per_accelerator_hour == usd and q.rental.as_of == date(2026, 10, 1)
    assert_allclose(q.usd_per_accelerator_hour * q.rental.accelerators_per_instance, instance_usd)
    # the older row is the same offer (provider, preset, location), kept as history, not current
    old = cat.table("rentals")[old_id]
    assert (old.on_demand_usd_per_accelerator_hour, old.as_of) == (old_usd, old_as_of)
    same_offer = ("provider", "instance_type", "location", "reserved_term_months")
    assert all(getattr(old, f) == getattr(q.rental, f) for f in same_offer)
    assert old.as_of < q.rental.as_of


@pytest.mark.parametrize(
    ("acc", "usd"),
    [
        # InferenceX-app PR #1071 (2026-09-08), July 2026 'Rent - 3 Year Commit' rates
        ("gb300", 5.0),
        ("mi355x", 2.9),
        ("b300", 4.25),
        ("gb200", 4.0),
        ("b200", 3.7),
        ("h200-sxm", 2.9),
        ("h100-sxm", 2.0),
        # left unchanged by that PR: MI325X 1.6, MI300X 1.3 (gpu-keys.ts)
        ("mi325x", 1.6),
        ("mi300x", 1.3),
        # PR #1083: TPUv7 $2.00 a chip-hour; PR #1123: VR200 $8.50 a GPU-hour
        ("tpu-v7", 2.0),
        ("rubin", 8.5),
    ],
)
def test_semianalysis_three_year_rental_model_pinned(cat: Catalog, acc: str, usd: float) -> None:
    from tokenfab.cost import cheapest_rental
    from tokenfab.errors import CatalogError

    r = cat.table("rentals")[f"semianalysis-{acc}-3y-rent-2026"]
    assert (r.reserved_usd_per_accelerator_hour, r.reserved_term_months) == (usd, 36)
    assert r.on_demand_usd_per_accelerator_hour is None and "SemiAnalysis" in r.source
    # invariant: a 3-year commitment never costs more than the same chip's cheapest on-demand
    try:
        on_demand = cheapest_rental(cat, acc).usd_per_accelerator_hour
    except CatalogError:  # no on-demand rental (TPU7x, Rubin): nothing to compare
        assert acc in ("tpu-v7", "rubin")
        return
    assert usd <= on_demand
