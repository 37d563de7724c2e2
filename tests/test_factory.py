"""AI factory (tokenfab.factory)."""

from __future__ import annotations

import json

import pytest
from numpy.testing import assert_allclose

from tokenfab import factory as fc
from tokenfab import schema
from tokenfab.errors import CatalogError, ScenarioError, TokenfabError


@pytest.fixture(scope="module")
def h100():
    return fc.factory(100.0, "h100-sxm")


def test_revenue_is_the_sum_over_tiers_of_billed_tokens_times_price(h100):
    d = h100.as_dict()
    assert_allclose(
        d["revenue_usd_per_year"],
        sum(t["billed_tokens_per_year"] * t["usd_per_mtok"] / 1e6 for t in d["tiers"]),
        rtol=1e-12,
    )


def test_one_tier_by_hand(h100):
    # medium: 25 % of (100 MW / PUE 1.56) / 1,275 W accelerators (the DGX H100's 10.2 kW max
    # over its 8 GPUs: 700 W TDP + 575 W host share, data/host_power.csv; 22,894 GPUs at TDP
    # alone before host power counted, 12,569 now), at its frontier point,
    # 80 % busy, 31,536,000 s a year, $3 per million tokens blended 3 prompt : 1 output
    # (price_tiers.csv). The API catalog's median output/input price ratio is 4, so the $3
    # splits into a prompt price p_in = (3 + 1) x 3 / (3 + 4) = $1.714 and an output price
    # 4 x 1.714 = $6.857 (check: (3 x 1.714 + 6.857) / 4 = $3). The chat workload sends
    # 6,000 / 300 = 20 prompt tokens per output token, so a million output tokens earn
    # 6.857 + 20 x 1.714 = $41.14 = 13.714 x $3 (not 21 x $3, every token at the blend)
    assert fc.typical_output_to_input_price_ratio() == 4.0
    d = h100.as_dict()
    medium = next(t for t in d["tiers"] if t["name"] == "medium")
    n = 0.25 * 100e6 / d["pue"] / d["power_w_per_accelerator"]
    assert_allclose(medium["accelerators"], n, rtol=1e-12)
    assert d["power_w_per_accelerator"] == 10_200 / 8  # DGX H100 max over its 8 GPUs
    assert_allclose(n, 0.25 * 100e6 / 1.56 / 1275, rtol=1e-12)
    tokens = n * medium["output_tok_s_per_accelerator"] * d["utilization"] * 31_536_000
    assert_allclose(medium["tokens_per_year"], tokens, rtol=1e-12)
    assert medium["price_basis_kind"] == "blended"
    assert_allclose(medium["billed_tokens_per_output_token"], 96 / 7, rtol=1e-12)
    assert_allclose(medium["revenue_usd_per_year"], tokens * 41.142857 / 1e6, rtol=1e-7)
    # revenue per accelerator-hour: the year's revenue over 8,760 h of every accelerator
    assert_allclose(
        d["revenue_usd_per_accelerator_hour"],
        d["revenue_usd_per_year"] / (d["accelerators"] * 8760),
        rtol=1e-12,
    )


def test_a_blended_price_splits_into_prices_that_blend_back():
    # any ratio r: b p_in + p_out over b + 1 is the blended price, p_out / p_in = r; and a
    # workload at the blend's own mix (3 prompt per output token) earns the blended price on
    # every token: (3 + 1)(r + 3) / (3 + r) = 4 billed tokens per output token
    for r in (1.0, 3.0, 4.0, 8.0):
        p_in, p_out = (float(x) for x in fc.blended_prices(5.0, r))
        assert_allclose((3 * p_in + p_out) / 4, 5.0, rtol=1e-12)
        assert_allclose(p_out / p_in, r, rtol=1e-12)
        assert_allclose(fc.billed_tokens_per_output_token("blended", 3000, 1000, r), 4.0)


def test_the_typical_price_ratio_is_the_median_of_current_rows():
    # three current prices with output/input 2, 5 and 8 (median 5); a provider's older row
    # of the same model (ratio 100) is history, not counted
    from types import SimpleNamespace

    def row(provider, model, date, p_in, p_out):
        return SimpleNamespace(
            provider=provider,
            model_id=None,
            model_name=model,
            effective_date=date,
            input_usd_per_mtok=p_in,
            output_usd_per_mtok=p_out,
        )

    rows = [
        row("P", "A", "2024-01-01", 1, 100),
        row("P", "A", "2025-01-01", 1, 2),
        row("Q", "B", "2025-01-01", 1, 5),
        row("R", "C", "2025-01-01", 2, 16),
    ]
    assert fc.median_output_to_input_price_ratio(rows) == 5.0


def test_tier_beyond_the_hardware_earns_nothing_and_says_so(h100):
    # premium needs 400+ tok/s per user (price_tiers.csv: NVIDIA's LPX blog, Figure 10, draws
    # the premium tier at 'roughly 400 TPS per user and beyond'); the H100 frontier of a 70B
    # model tops out at 113 tok/s per user (docs/claims.md section 11), under a third of the floor
    premium = next(t for t in h100.tiers if t.name == "premium")
    assert premium.revenue_usd_per_year == 0.0 and "no revenue" in premium.note
    assert any(n.startswith("premium:") for n in h100.notes)


def test_power_scales_everything_linearly(h100):
    # twice the power, twice the accelerators, tokens and revenue
    big = fc.factory(200.0, "h100-sxm").as_dict()
    d = h100.as_dict()
    for key in ("accelerators", "tokens_per_year", "revenue_usd_per_year", "cost_usd_per_year"):
        assert_allclose(big[key], 2 * d[key], rtol=1e-12)
    assert_allclose(big["output_tok_s_per_mw"], d["output_tok_s_per_mw"], rtol=1e-12)


def test_tokens_per_joule_uses_the_average_draw(h100):
    # serving hours (default utilisation 0.8) at up to TDP, idle hours at the idle floor
    # (cost_assumptions idle-power-share-of-tdp 0.115): GPU 700 (0.8 + 0.2 x 0.115) = 576.1 W;
    # plus the host share 575 W, half at idle rising to all at TDP (tokenfab.cost.it_power_w):
    # 576.1 + 575 (0.5 + 0.5 x 576.1 / 700) = 576.1 + 287.5 + 236.6 = 1,100.2 W, x PUE
    d = h100.as_dict()
    gpu = 700.0 * (0.8 + 0.2 * 0.115)
    it = gpu + 575.0 * (0.5 + 0.5 * gpu / 700.0)
    assert_allclose(it, 1100.2, atol=0.05)
    assert_allclose(d["average_w_per_accelerator"], it, rtol=1e-12)
    watts = d["accelerators"] * it * d["pue"]
    assert_allclose(d["tokens_per_joule"], d["tokens_per_year"] / 31_536_000 / watts, rtol=1e-12)


def test_capex_of_the_h100_factory(h100):
    # per GPU: $27,500 x 1.64 (systems) / 0.81 (network 19 % of hardware) = $55,679
    # + facility $11.7M/MW x 0.001275 MW (700 W TDP + 575 W host share) = $14,917.5;
    # x (100 MW / 1.56 / 1,275 W) GPUs
    n = 100e6 / 1.56 / 1275.0
    per_gpu = 27_500 * 1.64 / 0.81 + 11.7e6 * 1275e-6
    assert_allclose(h100.capex_usd, n * per_gpu, rtol=1e-12)


def test_carbon_per_mtok_by_hand(h100):
    # operational: N x 1,100.2 W (GPU 576.1 W plus host, as in the test above) x PUE x
    # 8,760 h x 383.8 g/kWh (us grid) over the year's Mtok;
    # embodied: N x (164 + 190) kg / 5 years over the same Mtok (data/embodied_carbon.csv)
    d = h100.as_dict()
    mtok = d["tokens_per_year"] / 1e6
    gpu = 700.0 * (0.8 + 0.2 * 0.115)
    kwh = d["accelerators"] * (gpu + 575.0 * (0.5 + 0.5 * gpu / 700.0)) * d["pue"] * 8760 / 1000
    assert_allclose(d["co2e_g_per_mtok"], kwh * 383.8 / mtok, rtol=1e-9)
    assert_allclose(
        d["embodied_co2e_g_per_mtok"], d["accelerators"] * 354e3 / 5.0 / mtok, rtol=1e-9
    )


def test_cost_per_mtok_is_cost_over_output_mtok(h100):
    d = h100.as_dict()
    assert_allclose(
        d["cost_usd_per_mtok"], d["cost_usd_per_year"] / (d["tokens_per_year"] / 1e6), rtol=1e-12
    )


def test_the_premium_band_is_nvidias_400_and_a_frontier_past_it_earns_premium_revenue():
    # price_tiers.csv: premium >= 400 output tok/s per user, NVIDIA's LPX blog (2026-03-16,
    # Figure 10: the premium tier operates "at roughly 400 TPS per user and beyond"), $45 per
    # million output tokens (The Register). B200 FP8 serves gpt-oss-120b (5.1 B active
    # parameters) past 400 tok/s per user, so premium earns there: its point is in the band and
    # its revenue is its output tokens x $45 / 1e6 (price basis: output tokens, billed once)
    b200 = fc.factory(100.0, "b200", "gpt-oss-120b", precision="fp8")
    premium = _tier(b200, "premium")
    assert premium.band == (400.0, None)
    assert premium.tok_s_per_user >= 400
    assert premium.billed_per_output_token == 1.0
    assert premium.revenue_usd_per_year > 0
    assert_allclose(premium.revenue_usd_per_year, premium.tokens_per_year * 45 / 1e6, rtol=1e-12)
    # with prefill on Rubin and decode on B200 for the 70B model, the decode pool must step in
    # 1 / 400 s = 2.5 ms, which B200 does not reach: the note says which TPOT was needed
    rubin = fc.factory(100.0, "rubin", precision="fp4", decode_accelerator="b200")
    note = _tier(rubin, "premium").note
    assert _tier(rubin, "premium").revenue_usd_per_year == 0.0
    assert "needs 400+ tok/s per user" in note and "TPOT <= 2.5 ms" in note


def test_tier_costs_add_up_to_the_factory_cost(h100):
    d = h100.as_dict()
    assert_allclose(
        sum(t["cost_usd_per_year"] for t in d["tiers"]), d["cost_usd_per_year"], rtol=1e-12
    )


def test_tier_point_picks_the_most_throughput_in_band():
    assert fc.tier_point([5, 20, 60], [900, 700, 300], 10, 50) == 1
    assert fc.tier_point([5, 20, 60], [900, 700, 300], None, None) == 0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"power_mw": -5.0}, "power_mw"),
        ({"shares": {"free": 0.5, "premium": 0.4}}, "shares"),
        ({"shares": {"free": 1.0, "gold": 0.0}}, "shares"),
        # both were dropped silently (exit 0) when every tier was in the accelerator's reach
        ({"decode_accelerator": "b2000"}, "decode_accelerator"),
        ({"kv_link_gb_s": 50.0}, "kv_link_gb_s"),
    ],
)
def test_bad_input_names_the_field(kwargs, field):
    args = {"power_mw": 10.0, "accelerator": "h100-sxm", **kwargs}
    # a ScenarioError, or for an unknown id the catalog's UnknownIdError, naming the field
    with pytest.raises((ScenarioError, CatalogError), match=rf"^{field}:"):
        fc.factory(**args)


def test_a_tier_with_only_an_upper_speed_bound_says_so(tmp_path):
    # a user tier that caps speed at 0.5 tok/s per user lies below every frontier point:
    # no revenue, and the note names the cap (a ':g' of the missing floor crashed before)
    from tokenfab.catalog import Catalog

    (tmp_path / "price_tiers.csv").write_text(
        "id,name,usd_per_mtok,output_tok_s_per_user_max,share_of_power,price_basis,source,as_of\n"
        "capped,Capped,1,0.5,0,blended input and output,tokenfab test fixture,2026-01-01\n"
    )
    f = fc.factory(100.0, "h100-sxm", catalog=Catalog([tmp_path]))
    capped = next(t for t in f.tiers if t.name == "capped")
    assert capped.revenue_usd_per_year == 0.0
    assert "needs <= 0.5 tok/s per user" in capped.note
    # the output states each tier's price basis as the tier catalog gives it
    tiers = {t["name"]: t for t in f.as_dict()["tiers"]}
    assert tiers["capped"]["price_basis"] == "blended input and output"
    assert tiers["premium"]["price_basis"].startswith("output tokens")


def _tier(f, name="t"):
    return next(t for t in f.tiers if t.name == name)


def _tiers_csv(tmp_path, rows):
    from tokenfab.catalog import Catalog

    (tmp_path / "price_tiers.csv").write_text(
        "id,name,usd_per_mtok,output_tok_s_per_user_min,share_of_power,price_basis,ttft_s_max,"
        "source,as_of\n" + "".join(f"{r},tokenfab test fixture,2026-01-01\n" for r in rows)
    )
    return Catalog([tmp_path])


def test_each_price_basis_bills_the_workload_token_mix(tmp_path):
    # three tiers at the same $2 and the same frontier point (no band), 1/3 of the power each,
    # on the catalog chat workload (6,000 prompt, 300 output tokens, workloads.csv):
    # output bills 1 token per output token, input 6,000/300 = 20, blended (3:1, split at
    # the API catalog's median output/input price ratio 4) (3 + 1)(4 + 20) / (3 + 4) = 13.71,
    # so revenues stand 1 : 20 : 13.71 on equal output tokens
    cat = _tiers_csv(
        tmp_path,
        [
            "o,O,2,,0.3333333333,output tokens,",
            "i,I,2,,0.3333333333,input tokens,",
            "b,B,2,,0.3333333334,blended,",
        ],
    )
    f = fc.factory(100.0, "h100-sxm", shares={"o": 1 / 3, "i": 1 / 3, "b": 1 / 3}, catalog=cat)
    t = {x.name: x for x in f.tiers}
    assert_allclose(t["o"].tokens_per_year, t["i"].tokens_per_year, rtol=1e-12)
    o = t["o"].revenue_usd_per_year
    assert_allclose(o, t["o"].tokens_per_year * 2.0 / 1e6, rtol=1e-12)
    assert_allclose(t["i"].revenue_usd_per_year, 20.0 * o, rtol=1e-12)
    assert_allclose(t["b"].revenue_usd_per_year, 96 / 7 * o, rtol=1e-12)


def test_a_basis_the_factory_cannot_read_names_the_tier(tmp_path):
    from tokenfab.errors import CatalogError

    cat = _tiers_csv(tmp_path, ["x,X,2,,1,per request,"])
    with pytest.raises(CatalogError, match=r"^price_basis of tier x: 'per request'"):
        fc.factory(100.0, "h100-sxm", shares={"x": 1.0}, catalog=cat)


def test_ttft_ceiling_of_a_tier_is_honoured(tmp_path):
    # the same tier with and without a TTFT ceiling: an impossible 1 ms ceiling earns nothing
    # and says so; a ceiling at the open tier's own TTFT keeps that very point
    free = _tiers_csv(tmp_path, ["t,T,2,,1,output,"])
    open_tier = _tier(fc.factory(100.0, "h100-sxm", shares={"t": 1.0}, catalog=free))
    assert open_tier.ttft_s is not None and open_tier.ttft_s > 0.001
    (tmp_path / "a").mkdir()
    tight = _tier(
        fc.factory(
            100.0,
            "h100-sxm",
            shares={"t": 1.0},
            catalog=_tiers_csv(tmp_path / "a", ["t,T,2,,1,output,0.001"]),
        )
    )
    assert tight.revenue_usd_per_year == 0.0 and "TTFT <= 0.001 s" in tight.note
    (tmp_path / "b").mkdir()
    row = f"t,T,2,,1,output,{open_tier.ttft_s * (1 + 1e-9)!r}"
    same = _tier(
        fc.factory(100.0, "h100-sxm", shares={"t": 1.0}, catalog=_tiers_csv(tmp_path / "b", [row]))
    )
    assert_allclose(same.revenue_usd_per_year, open_tier.revenue_usd_per_year, rtol=1e-12)


@pytest.mark.parametrize(
    ("accelerator", "model"), [("h100-sxm", "llama-3.1-70b"), ("b200", "deepseek-v3")]
)
def test_tier_points_are_the_pipeline_estimate_of_the_frontier_point(accelerator, model):
    # the factory reads each tier's operating point off tokenfab.pipeline.evaluate (the path
    # of `estimate` and `montecarlo`): an estimate of the tier's layout and batch on one
    # replica, built here by hand, gives the same figures, and so does the frontier grid
    import numpy as np

    from tokenfab.pipeline import evaluate
    from tokenfab.scenario import Scenario

    f = fc.factory(100.0, accelerator, model)
    fr = f.frontier
    served = [t for t in f.tiers if t.tok_s_per_user is not None]
    assert served
    for t in served:
        i = int(np.argmin(np.abs(fr.tok_s_per_accelerator - t.output_tok_s_per_accelerator)))
        tp, pp = int(fr.tensor_parallel[i]), int(fr.pipeline_parallel[i])
        ep, adp = int(fr.expert_parallel[i]), int(fr.attention_data_parallel[i])
        sc = Scenario(
            model=model,
            accelerator=accelerator,
            accelerators=pp * tp * adp,  # one replica (DeepSeek-V3 on B200: ADP 2 to 8)
            tensor_parallel=tp,
            pipeline_parallel=pp,
            expert_parallel=ep,
            attention_data_parallel=adp,
            batch_size=int(fr.batch_size[i]),
            workload="chat",
            precision=f.precision,
            ttft_slo_s=3600.0,  # targets that never bind: the tier chooses by its own band
            tpot_slo_s=3600.0,
        )
        r = evaluate(sc).kpis
        assert_allclose(
            t.output_tok_s_per_accelerator, r["output_tok_s_per_accelerator"][0], rtol=1e-12
        )
        assert_allclose(t.tok_s_per_user, r["output_tok_s_per_user"][0], rtol=1e-12)
        assert_allclose(t.ttft_s, r["ttft_s"][0], rtol=1e-12)
        # the frontier grid and the estimate are one model: the same point, the same figures
        assert_allclose(t.output_tok_s_per_accelerator, fr.tok_s_per_accelerator[i], rtol=1e-9)
        assert_allclose(t.tok_s_per_user, fr.tok_s_per_user[i], rtol=1e-9)
        assert_allclose(t.ttft_s, fr.ttft_s[i], rtol=1e-9)


def test_a_tier_out_of_reach_is_served_by_heterogeneous_pools(tmp_path):
    # two tiers, half the power each: "g" without a speed band (the H100 frontier serves it)
    # and "f" at >= 350 tok/s per user, beyond H100's reach on Llama 3.1 8B (at most ~280 at
    # TP 8 with the 2026-12-01 step model, per-layer costs included); with decode on
    # B200 (prefill staying on H100) "f" is served by the pools of perf.hetero.hetero_point
    from tokenfab.cost import HOURS_PER_YEAR
    from tokenfab.perf.hetero import hetero_point
    from tokenfab.scenario import MAX_TTFT_S, Scenario

    cat = _tiers_csv(tmp_path, ["g,G,2,,0.5,output,", "f,F,10,350,0.5,output,"])
    kw = dict(shares={"g": 0.5, "f": 0.5}, catalog=cat)
    alone = fc.factory(100.0, "h100-sxm", "llama-3.1-8b", **kw)
    assert _tier(alone, "f").revenue_usd_per_year == 0.0
    mixed = fc.factory(100.0, "h100-sxm", "llama-3.1-8b", decode_accelerator="b200", **kw)
    f = _tier(mixed, "f")
    assert f.pools["prefill_accelerator"] == "h100-sxm" and f.pools["decode_accelerator"] == "b200"
    hp = hetero_point(
        Scenario(
            model="llama-3.1-8b",
            accelerator="b200",
            prefill_accelerator="h100-sxm",
            workload="chat",
            precision=mixed.precision,
            tpot_slo_s=1 / 350,
            ttft_slo_s=MAX_TTFT_S,
        )
    )
    # the tier's IT power, 50 MW / PUE 1.56, holds k pairs of pools drawing
    # N_p x 1,275 W + N_d x 1,787.5 W (TDPs plus host shares: DGX H100 10,200 / 8 and DGX B200
    # 14,300 / 8, data/host_power.csv); each carries X output tok/s, busy 80 %
    n_p, n_d = hp.prefill.accelerators, hp.decode.accelerators
    k = 50e6 / 1.56 / (n_p * 1275 + n_d * 1787.5)
    tokens = k * hp.output_tok_s_total * 0.8 * 8760 * 3600
    assert_allclose(f.tokens_per_year, tokens, rtol=1e-9)
    assert_allclose(f.revenue_usd_per_year, tokens * 10 / 1e6, rtol=1e-9)  # $10 per output Mtok
    assert 1 / hp.tpot_s >= 350
    assert_allclose(f.pools["decode_accelerators"], k * n_d, rtol=1e-12)
    # the served tier is unchanged, and the factory's cost is the sum of the tiers' costs
    assert_allclose(
        _tier(mixed, "g").revenue_usd_per_year, _tier(alone, "g").revenue_usd_per_year, rtol=1e-12
    )
    d = mixed.as_dict()
    assert_allclose(
        d["cost_usd_per_year"], sum(t["cost_usd_per_year"] for t in d["tiers"]), rtol=1e-12
    )
    assert f.cost_usd_per_year > 0
    assert f.cost_usd_per_year < k * (n_p + n_d) * 100 * HOURS_PER_YEAR  # under $100/h each
    # the JSON gives each pool's count beside the tier's total: k N_p + k N_d = k (N_p + N_d)
    tiers = {t["name"]: t for t in d["tiers"]}
    assert_allclose(tiers["f"]["prefill_accelerators"], k * n_p, rtol=1e-9)
    assert_allclose(
        tiers["f"]["prefill_accelerators"] + tiers["f"]["decode_accelerators"],
        tiers["f"]["accelerators"],
        rtol=1e-12,
    )
    assert tiers["g"]["prefill_accelerators"] is None  # one accelerator type
    # what the pooled tier assumes is stated: pools at TDP plus host share and the link
    assert (
        "assumed: both pools provisioned at TDP plus the host's share (1275 W, 1787.5 W)" in f.note
    )


def test_pools_that_cannot_be_modelled_earn_nothing_and_say_why(tmp_path):
    # the Groq 3 LPU has no serving-engine row and no published power (accelerators.csv): no
    # tokens per MW are computed for it, and the tier's note says so
    cat = _tiers_csv(tmp_path, ["g,G,2,,0.5,output,", "f,F,45,1000,0.5,output,"])
    f = fc.factory(
        100.0,
        "b200",
        shares={"g": 0.5, "f": 0.5},
        catalog=cat,
        decode_accelerator="groq3-lpu",
    )
    t = _tier(f, "f")
    assert t.revenue_usd_per_year == 0.0 and t.pools is None
    assert "with decode on groq3-lpu: not modelled" in t.note
    # NVIDIA publishes no LPU/LPX power (searched 2026-11-30; accelerators.csv leaves tdp_w
    # empty): the note says so rather than assume one
    assert "nor is its power public" in t.note


# ------------------------------------------------------------------------------------------
# A facility split across accelerators and models (issue #15: "accelerator (or a mix), model
# mix"), and a demand's use of the facility
# ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def b200_8b():
    return fc.factory(100.0, "b200", "llama-3.1-8b")


def test_a_mix_of_two_is_the_sum_of_two_factories_at_their_shares(h100, b200_8b):
    # 100 MW: 60 % to H100 SXM serving Llama 3.1 70B, 40 % to B200 serving Llama 3.1 8B.
    # A factory is linear in its power, so the mix is 0.6 x the 100 MW H100 factory plus
    # 0.4 x the 100 MW B200 one. Accelerators by hand: 0.6 x 100e6 / 1.56 / 1,275 W = 30,166
    # H100 plus 0.4 x 100e6 / 1.56 / 1,787.5 W = 14,345 B200 (TDP plus host share: DGX H100
    # 10.2 kW / 8, DGX B200 14.3 kW / 8, data/host_power.csv; us PUE 1.56) = 44,511 (80,586 at
    # TDP alone)
    m = fc.factory_mix(
        100.0, [("h100-sxm", "llama-3.1-70b", 0.6), ("b200", "llama-3.1-8b", 0.4)]
    ).as_dict()
    a, b = h100.as_dict(), b200_8b.as_dict()
    assert_allclose(m["accelerators"], 0.6 * 100e6 / 1.56 / 1275 + 0.4 * 100e6 / 1.56 / 1787.5)
    assert_allclose(m["accelerators"], 44_511, rtol=1e-4)
    for key in ("revenue_usd_per_year", "cost_usd_per_year", "tokens_per_year", "capex_usd"):
        assert_allclose(m[key], 0.6 * a[key] + 0.4 * b[key], rtol=1e-12)
    # per MW: the power-weighted mean of the two factories' figures
    assert_allclose(
        m["output_tok_s_per_mw"],
        0.6 * a["output_tok_s_per_mw"] + 0.4 * b["output_tok_s_per_mw"],
        rtol=1e-12,
    )
    # each tier is the sum of the two parts' tiers
    for t, ta, tb in zip(m["tiers"], a["tiers"], b["tiers"], strict=True):
        assert t["name"] == ta["name"] == tb["name"]
        for key in ("revenue_usd_per_year", "tokens_per_year", "cost_usd_per_year"):
            assert_allclose(t[key], 0.6 * ta[key] + 0.4 * tb[key], rtol=1e-12)
    # grams a year add up: gCO2e/Mtok is the token-weighted mean of the parts'
    mtok_a, mtok_b = 0.6 * a["tokens_per_year"] / 1e6, 0.4 * b["tokens_per_year"] / 1e6
    assert_allclose(
        m["co2e_g_per_mtok"],
        (a["co2e_g_per_mtok"] * mtok_a + b["co2e_g_per_mtok"] * mtok_b) / (mtok_a + mtok_b),
        rtol=1e-12,
    )
    assert [p["share_of_power"] for p in m["mix"]] == [0.6, 0.4]
    assert_allclose(m["mix"][1]["factory"]["power_mw"], 40.0)
    # revenue per accelerator-hour: the accelerator-weighted mean of the parts' (revenue adds
    # up, and so do the accelerators)
    n_a, n_b = 0.6 * a["accelerators"], 0.4 * b["accelerators"]
    assert_allclose(
        m["revenue_usd_per_accelerator_hour"],
        (a["revenue_usd_per_accelerator_hour"] * n_a + b["revenue_usd_per_accelerator_hour"] * n_b)
        / (n_a + n_b),
        rtol=1e-12,
    )


def test_a_mix_of_one_is_the_factory(h100):
    m = fc.factory_mix(100.0, [("h100-sxm", "llama-3.1-70b", 1.0)]).as_dict()
    d = h100.as_dict()
    for key in ("revenue_usd_per_year", "cost_usd_per_year", "tokens_per_joule", "margin"):
        assert_allclose(m[key], d[key], rtol=1e-12)


@pytest.mark.parametrize(
    ("mix", "field"),
    [
        ([("h100-sxm", "llama-3.1-70b", 0.6), ("b200", "llama-3.1-8b", 0.3)], "mix:"),
        ([("h100-sxm", "llama-3.1-70b", 0.0), ("b200", "llama-3.1-8b", 1.0)], "mix.0.share:"),
        ([], "mix:"),
        # 1e-4 of 10 MW is below the smallest factory (10 kW): the entry is named
        ([("h100-sxm", "llama-3.1-70b", 0.9999), ("b200", "llama-3.1-8b", 1e-4)], "mix.1 "),
        ([("h100-sxm", "no-such-model", 1.0)], "mix.0 "),
        # one accelerator and model twice is one part split in two (its rows printed twice):
        # refused with the summed share to give instead, 0.3 + 0.7 = 1
        (
            [("h100-sxm", "llama-3.1-70b", 0.3), ("h100-sxm", "llama-3.1-70b", 0.7)],
            r"mix: h100-sxm:llama-3\.1-70b is given twice; give each accelerator and model "
            r"once, with the shares summed \(h100-sxm:llama-3\.1-70b:1\)",
        ),
    ],
)
def test_a_bad_mix_names_the_entry(mix, field):
    with pytest.raises(TokenfabError, match=rf"^{field}"):
        fc.factory_mix(10.0, mix)


def test_an_unknown_model_is_the_models_error_not_the_accelerators():
    # h100-sxm is a known accelerator: the line names the model's catalog, not "accelerator:"
    with pytest.raises(CatalogError, match=r"^models: unknown id 'no-such-model'"):
        fc.factory(10.0, "h100-sxm", "no-such-model")
    # the entry, then the same line (it read "mix.0 (...): models: unknown id ...")
    with pytest.raises(
        CatalogError,
        match=r"^mix\.0 \(h100-sxm:no-such-model:1\): unknown id 'no-such-model' in models",
    ):
        fc.factory_mix(10.0, [("h100-sxm", "no-such-model", 1.0)])


def test_demand_uses_its_share_of_the_facility(h100):
    # 1e12 output tokens a day, 365 days: 3.65e14 a year over the H100 factory's tokens a year;
    # the power it needs is that share of 100 MW; at a peak twice the average it uses
    # share x 2 x 0.8 (utilisation) of what the facility carries busy all the time
    f = fc.factory(100.0, "h100-sxm", tokens_per_day=1e12, peak_to_average=2.0)
    dem = f.as_dict()["demand"]
    share = 3.65e14 / h100.tokens_per_year
    assert_allclose(dem["share_of_facility"], share, rtol=1e-12)
    assert_allclose(dem["power_mw_needed"], share * 100.0, rtol=1e-12)
    assert_allclose(dem["peak_share_of_capacity"], share * 2.0 * 0.8, rtol=1e-12)
    assert_allclose(dem["power_mw_for_peak"], share * 2.0 * 0.8 * 100.0, rtol=1e-12)
    assert h100.as_dict()["demand"] is None  # no demand, no demand block
    # the demand does not change the factory
    assert_allclose(f.revenue_usd_per_year, h100.revenue_usd_per_year, rtol=1e-12)


def test_token_lengths_as_the_workload_gives_them_change_nothing(h100):
    # the chat workload is 6,000 prompt, 300 output, 0 reasoning tokens (workloads.csv):
    # given explicitly (as a chat demand file gives them), the factory is the same
    f = fc.factory(100.0, "h100-sxm", input_tokens=6000, output_tokens=300, reasoning_tokens=0)
    assert_allclose(f.revenue_usd_per_year, h100.revenue_usd_per_year, rtol=1e-12)
    # a prompt twice as long bills more blended tokens per output token: 40 prompt tokens per
    # output token, output priced 4x the prompt: (3 + 1)(4 + 40) / (3 + 4) = 25.14
    longer = fc.factory(100.0, "h100-sxm", input_tokens=12_000)
    medium = next(t for t in longer.tiers if t.name == "medium")
    assert_allclose(medium.billed_per_output_token, 176 / 7, rtol=1e-12)
    assert any("12000 prompt" in n for n in longer.notes)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"tokens_per_day": -1.0}, "tokens_per_day"),
        ({"tokens_per_day": 1e9, "peak_to_average": 0.5}, "peak_to_average"),
        ({"peak_to_average": 2.0}, "peak_to_average"),  # a peak without a demand
    ],
)
def test_a_bad_demand_names_the_field(kwargs, field):
    with pytest.raises(ScenarioError, match=rf"^{field}:"):
        fc.factory(10.0, "h100-sxm", **kwargs)


def test_frontier_points_carry_ttft_power_tokens_per_mw_and_cost():
    # issue 15: the frontier the factory reads carries TTFT, the operating-point power, output
    # tok/s per MW and $/Mtok. Each point: tok/s per MW = tok/s per accelerator x 1e6 / (draw x
    # PUE 1.56, region us); $/Mtok = a bought H100-hour at the point's average draw (80 %
    # busy, idle the rest) x 1e6 / (tok/s x 0.8 x 3,600 s)
    from tokenfab.catalog import default_catalog
    from tokenfab.cost import average_power_w, default_cost_inputs
    from tokenfab.operations import get
    from tokenfab.planning import hourly_cost

    cat = default_catalog()
    op = get("frontier")
    fronts = op.compute(
        op.parse({"model": "llama-3.1-70b", "accelerator": ["h100-sxm", "tpu-v6e"]}), cat
    )
    pts = op.present(fronts, cat).model_dump()["points"]
    inputs = default_cost_inputs(cat)
    h100 = [p for p in pts if p["accelerator"] == "h100-sxm"]
    for p in h100:
        # IT draw with the host's 575 W share (data/host_power.csv), between the idle floor,
        # 80.5 + 575 (0.5 + 0.5 x 0.115) = 401.06 W (11.5 % of the 700 W TDP,
        # cost_assumptions.csv), and TDP plus the whole host share, 1,275 W
        idle_it = 80.5 + 575 * (0.5 + 0.5 * 0.115)
        assert p["ttft_s"] > 0 and idle_it - 1e-9 <= p["power_w"] <= 1275
        assert_allclose(
            p["output_tok_s_per_mw"], p["tok_s_per_accelerator"] * 1e6 / (p["power_w"] * 1.56)
        )
        assert inputs.idle_power_share_of_tdp == 0.115
        avg = float(average_power_w(p["power_w"], idle_it, 0.8))
        hour = hourly_cost(
            cat.accelerator("h100-sxm"), cat.region("us"), "buy", cat, inputs, power_w=avg
        ).total_usd_per_hour
        assert_allclose(p["usd_per_mtok"], hour * 1e6 / (p["tok_s_per_accelerator"] * 0.8 * 3600))
    # the TPU v6e has no published power: no draw, no tokens per MW, no cost
    tpu = [p for p in pts if p["accelerator"] == "tpu-v6e"]
    assert tpu and all(p["power_w"] is None and p["usd_per_mtok"] is None for p in tpu)


def test_the_factory_sets_the_tier_price_beside_the_models_market(h100):
    # Llama 3.1 70B's cheapest API is Together AI's $0.88 a million tokens, prompt and output
    # alike (api_prices.csv): 0.88 x (6,000 + 300) / 300 = $18.48 per million output tokens on
    # the chat mix; the medium tier bills $3 x 13.714 = $41.14 (test_one_tier_by_hand), 2.2x
    note = next(n for n in h100.notes if n.startswith("market check:"))
    assert "(Together AI) bills $18.5 per million output tokens" in note
    assert "the medium tier bills $41.1 (2.2x)" in note


def test_tier_tokens_per_mw_by_hand(h100):
    # a tier's output tok/s per MW of the power given to it: s N T u / (s P) = N T u / P, with
    # N = 100 MW / PUE 1.56 / 700 W accelerators, T its point's tok/s per accelerator and u 0.8
    # busy; a tier given no power (ultra, share 0) has none
    d = h100.as_dict()
    for t in d["tiers"]:
        if t["share_of_power"] == 0:
            assert t["output_tok_s_per_mw"] is None
            continue
        expected = d["accelerators"] * t["output_tok_s_per_accelerator"] * 0.8 / 100.0
        assert_allclose(t["output_tok_s_per_mw"], expected, rtol=1e-12)
    # the facility's figure is the power-weighted mean of the tiers'
    assert_allclose(
        d["output_tok_s_per_mw"],
        sum(t["share_of_power"] * (t["output_tok_s_per_mw"] or 0) for t in d["tiers"]),
        rtol=1e-12,
    )


def test_a_mix_gives_each_tier_its_tokens_per_mw(h100, b200_8b):
    # mixed tiers: both parts' tokens over the tier's share of the whole facility's power;
    # 60 % H100 + 40 % B200 at the same tier shares is 0.6 and 0.4 of the two 100 MW factories
    mix = fc.factory_mix(100.0, [("h100-sxm", "llama-3.1-70b", 0.6), ("b200", "llama-3.1-8b", 0.4)])
    d = mix.as_dict()
    for t, a, b in zip(
        d["tiers"], h100.as_dict()["tiers"], b200_8b.as_dict()["tiers"], strict=True
    ):
        if t["share_of_power"] == 0:
            assert t["output_tok_s_per_mw"] is None
            continue
        expected = 0.6 * a["output_tok_s_per_mw"] + 0.4 * b["output_tok_s_per_mw"]
        assert_allclose(t["output_tok_s_per_mw"], expected, rtol=1e-9)


def test_the_notes_name_the_sourced_bands_and_the_missing_ttft(h100):
    # price_tiers.csv gives a speed floor to high (50) and premium (400) only and a TTFT
    # ceiling to no tier: the note lists exactly those and says the TTFT is not a bound
    note = next(n for n in h100.notes if n.startswith("tier speed bands"))
    assert "high >= 50, premium >= 400" in note
    assert "free, medium, ultra: no published band" in note
    assert "no tier publishes a TTFT bound" in note


def test_the_token_length_note_appears_only_when_lengths_differ_from_the_workload(h100):
    # the chat workload is 6,000 / 300 tokens: giving those same lengths is no change
    same = fc.factory(100.0, "h100-sxm", input_tokens=6000, output_tokens=300)
    assert not any("token lengths" in n for n in same.notes)
    assert not any("token lengths" in n for n in h100.notes)


def test_an_accelerator_without_a_purchase_price_is_not_priced_and_says_what_to_add():
    # GB300 has no price_usd in accelerators.csv: bought, cost, capex and margin are null and
    # the note names the two ways out; rented, it costs the cheapest on-demand offer, OCI's
    # BM.GPU.GB300.4 at $72 / 4 = $18.00 a GPU-hour (cloud_rental.csv), for every hour of the
    # year: 10 MW / PUE 1.56 / 1,686.1 W (1,400 W TDP + 286.1 W host share of a GB300 NVL72
    # rack, data/host_power.csv) = 3,802 GPUs x $18 x 8,760 h = $599M a year, no capex
    d = fc.factory(10.0, "gb300").as_dict()
    assert d["cost_usd_per_year"] is None and d["margin"] is None and d["capex_usd"] is None
    assert "gb300 has no sourced purchase price" in d["cost_basis"]
    assert "--ownership rent" in d["cost_basis"] and "price_usd" in d["cost_basis"]
    r = fc.factory(10.0, "gb300", ownership="rent").as_dict()
    n = 10e6 / 1.56 / (1400 + 286.1)
    assert_allclose(r["accelerators"], n, rtol=1e-12)
    assert_allclose(r["cost_usd_per_year"], n * 18.0 * 8760, rtol=1e-12)
    assert r["capex_usd"] is None and r["ownership"] == "rent"
    rev = r["revenue_usd_per_year"]
    assert_allclose(r["margin"], (rev - r["cost_usd_per_year"]) / rev, rtol=1e-12)
    assert r["cost_basis"].startswith("rented at $18 an accelerator-hour")


def test_renting_changes_only_the_cost(h100):
    # ownership prices the accelerators; it moves no token, revenue or carbon figure
    rented = fc.factory(100.0, "h100-sxm", ownership="rent").as_dict()
    bought = h100.as_dict()
    for key in ("tokens_per_year", "revenue_usd_per_year", "co2e_g_per_mtok", "accelerators"):
        assert_allclose(rented[key], bought[key], rtol=1e-12)
    assert rented["capex_usd"] is None and bought["capex_usd"] is not None
    with pytest.raises(ScenarioError, match=r"^ownership: 'lease' is not allowed"):
        fc.factory(10.0, "h100-sxm", ownership="lease")


def test_power_in_gw_is_a_thousand_mw(h100):
    # 0.1 GW = 100 MW: the same factory as the fixture's (a factory is linear in its power)
    from tokenfab.schema import FactoryRequest

    req = FactoryRequest.model_validate({"power_gw": 0.1, "accelerator": "h100-sxm"})
    (f,) = fc.analyse(req)
    assert f.power_mw == 100.0
    assert_allclose(f.revenue_usd_per_year, h100.revenue_usd_per_year, rtol=1e-12)


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"power_gw": 1, "power_mw": 5}, "power_gw: give the facility's power in MW or in GW"),
        ({"power_gw": 200}, "100"),  # above 100 GW = MAX_POWER_MW / 1,000
        ({"power_gw": -1}, "1e-05"),  # below 0.01 MW = MIN_POWER_MW / 1,000
    ],
)
def test_bad_power_in_gw_names_the_field(given, message):
    # the one line the CLI prints and the API returns as a 422 (operations' parse)
    from tokenfab import operations

    with pytest.raises(TokenfabError, match=r"^power_gw: ") as err:
        operations.get("factory").parse(given)
    assert message in str(err.value)


def test_a_tier_with_no_power_shows_no_speed(h100):
    # the catalog's ultra tier gets 0 % of the power (price_tiers.csv share_of_power): no
    # accelerator serves it, so it shows no tok/s per user nor TTFT (it showed the frontier
    # point it would have run at) and 0 output tok/s per accelerator
    [ultra] = [t for t in h100.as_dict()["tiers"] if t["name"] == "ultra"]
    assert ultra["share_of_power"] == 0
    assert ultra["tok_s_per_user"] is None and ultra["ttft_s"] is None
    assert ultra["output_tok_s_per_accelerator"] == 0
    assert ultra["tokens_per_year"] == 0


def test_a_small_factory_writes_revenue_in_a_unit_that_fits():
    # 0.01 MW: 10,000 W / PUE 1.56 / the W budgeted per GB300 (TDP with its host share) =
    # about 3.8 accelerators' worth of power, kept fractional (schema:
    # FactoryResult.accelerators); revenue about $2M a year, which a fixed billions column
    # wrote "$0.0B/yr"
    import os
    import subprocess
    import sys
    from pathlib import Path

    f = fc.factory(0.01, "gb300")
    d = f.as_dict()
    assert d["pue"] == 1.56  # regions.csv, us
    assert_allclose(d["accelerators"], 0.01e6 / 1.56 / d["power_w_per_accelerator"], rtol=1e-9)
    assert d["accelerators"] % 1 != 0  # fractional, as documented
    exe = Path(sys.executable).parent / "tokenfab"
    env = {k: v for k, v in os.environ.items() if k != "TOKENFAB_CATALOG"}
    out = subprocess.run(
        [str(exe), "factory", "--power-mw", "0.01"], capture_output=True, text=True, env=env
    ).stdout
    assert "$0.0B" not in out
    rev = d["revenue_usd_per_year"]
    assert 1e6 <= rev < 1e9
    assert f"revenue ${rev / 1e6:.3g}M/yr" in out
    assert f"{d['accelerators']:.3g} accelerators' worth of power" in out


def test_factory_says_the_basis_of_tokens_per_power_and_per_joule():
    # input: factory --accelerator h100-sxm --power-mw 10. Expected: tok/s per GW is over the
    # provisioned capacity (tokens_per_year / 31,536,000 s / 0.01 GW) and tokens/J over the
    # average facility draw (accelerators x average W x PUE); the text says which, and the
    # figures printed are the JSON's. It once printed "7.71e+07 output tok/s per GW, 0.0893
    # output tokens/J" with no basis, two figures on two different powers.
    import re

    from typer.testing import CliRunner

    from tokenfab.cli import app

    args = ["factory", "--accelerator", "h100-sxm", "--power-mw", "10"]
    d = json.loads(CliRunner().invoke(app, [*args, "--json"]).stdout)
    per_gw = d["tokens_per_year"] / 31_536_000 / 0.01
    draw_w = d["accelerators"] * d["average_w_per_accelerator"] * d["pue"]
    assert d["output_tok_s_per_gw"] == pytest.approx(per_gw, rel=1e-9)
    assert d["tokens_per_joule"] == pytest.approx(d["tokens_per_year"] / 31_536_000 / draw_w)
    text = " ".join(CliRunner().invoke(app, args).stdout.split())
    # the line gives the table's unit (out tok/s/MW), per GW beside it: 1 GW = 1,000 MW
    assert re.search(
        f"{per_gw / 1e3:,.0f} output tok/s per MW of capacity ({per_gw / 1e6:.3g} M per GW), "
        f"{d['tokens_per_joule']:.3g} output tokens/J of average draw".replace("+", r"\+")
        .replace("(", r"\(")
        .replace(")", r"\)"),
        text,
    )
    assert "out tok/s/MW" in text  # the table's column, in the same unit
    fields = schema.FactoryResult.model_fields
    assert "capacity" in fields["output_tok_s_per_mw"].description
    assert "average draw" in fields["tokens_per_joule"].description


def test_an_unknown_workload_or_a_prompt_too_long_is_not_the_accelerators_fault():
    # QA: both read "accelerator: gb300: no frontier for llama-3.1-70b (...)": the line
    # blamed the accelerator for the workload's id and for the model's context, which no
    # accelerator changes
    with pytest.raises(CatalogError, match=r"^workloads: unknown id 'no-such-workload'"):
        fc.factory(10.0, "h100-sxm", "llama-3.1-70b", workload="no-such-workload")
    # llama-3.1-70b's context is 131,072 tokens; 200,000 + 300 exceed it
    with pytest.raises(ScenarioError, match=r"^input_tokens: 200,000 input \+ 300 output"):
        fc.factory(10.0, "h100-sxm", "llama-3.1-70b", input_tokens=200_000)


def test_a_tier_given_twice_in_shares_is_refused():
    # QA: "free=0.5,free=0.5" kept the second and said "the tier shares sum to 0.5"
    from tokenfab.schema import FactoryRequest

    with pytest.raises(ScenarioError, match=r"^shares: tier 'free' is given twice"):
        FactoryRequest.parse({"shares": "free=0.5,free=0.5"})


def test_a_model_larger_than_one_domain_gets_replicas_that_hold_it():
    # QA: `factory --model deepseek-r1 --accelerator h100-sxm` stopped with "needs at least
    # 16 x h100-sxm (80 GB each); got 8", and factory has no option to give more. DeepSeek
    # R1's 673 GB of FP8 weights need 16 H100s; the facility is still sized by power:
    # 100 MW / PUE 1.56 / (700 W + 575 W host share) = 50,276.5 accelerators, as for any model
    f = fc.factory(100.0, "h100-sxm", "deepseek-r1")
    assert_allclose(f.accelerators, 100e6 / 1.56 / 1275.0, rtol=1e-12)
    assert f.notes[0] == (
        "replicas: deepseek-r1 in fp8 does not fit 8 x h100-sxm; each replica has 16 "
        "(the fewest that hold it)"
    )
    assert f.revenue_usd_per_year > 0
