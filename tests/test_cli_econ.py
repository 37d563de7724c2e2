"""The economics commands (market, demand, route, viability) as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from numpy.testing import assert_allclose

TOKENFAB = Path(sys.executable).parent / "tokenfab"
ENV = {k: v for k, v in os.environ.items() if k != "TOKENFAB_CATALOG"}
FIXTURE = Path(__file__).parent / "fixtures" / "demand_mix.yaml"
CHAT = Path(__file__).parent / "fixtures" / "demand_chat.yaml"

RUNS = {
    "market": ("market", "--json", "--samples", "200"),
    "market_list": ("market", "--list", "--json"),
    "market_bad_elasticity": ("market", "--scenario", "jevons", "--elasticity", "4"),
    "demand": ("demand", str(FIXTURE), "--json"),
    "demand_bad": ("demand", "--archetype", "chatbot", "--users", "10"),
    "route": ("route", "--json", "--routed-share", "0"),
    "route_bad": ("route", "--routed-share", "1.5"),
    "route_study_bad": ("route", "--study", "routellm-mtbench"),
    "route_default": ("route", "--json"),
    "route_override": ("route", "--json", "--study", "routellm-mmlu", "--routed-share", "0.5"),
    "route_list": ("route", "--list", "--json"),
    "viability": ("viability", "--json"),
    "viability_one": (
        "viability",
        "--cost-per-request",
        "0.01",
        "--revenue-per-request",
        "0.0099",
        "--json",
    ),
    "factory": ("factory", "--accelerator", "h100-sxm", "--power-mw", "10", "--json"),
    "factory_bad_shares": (
        "factory",
        "--accelerator",
        "h100-sxm",
        "--shares",
        "free=0.5,premium=0.4",
    ),
    "factory_bad_power": ("factory", "--accelerator", "h100-sxm", "--power-mw", "-1"),
    "factory_mix": (
        "factory",
        "--power-mw",
        "10",
        "--mix",
        "h100-sxm:0.6",
        "--mix",
        "b200:llama-3.1-8b:0.4",
        "--json",
    ),
    "factory_demand": (
        "factory",
        "--accelerator",
        "h100-sxm",
        "--power-mw",
        "10",
        "--demand",
        str(CHAT),
        "--json",
    ),
    "factory_mix_and_accelerator": ("factory", "--accelerator", "h100-sxm", "--mix", "b200:1"),
    "factory_bad_mix": ("factory", "--mix", "b200"),
    "viability_api": (
        "viability",
        "--api-price",
        "openai-gpt-4o-mini-2024-07",
        "--revenue-per-user-month",
        "1",
        "--requests-per-user-month",
        "1000",
        "--json",
    ),
    "viability_no_cost": ("viability", "--revenue-per-request", "0.01"),
    "viability_table": ("viability",),
    "viability_month_text": (
        "viability",
        "--cost-usd-per-request",
        "0.0024",
        "--revenue-usd-per-user-month",
        "20",
        "--requests-per-user-month",
        "4500",
    ),
    "factory_text": ("factory",),
    "route_text": ("route",),
    "estimate_text": (
        "estimate",
        "--model",
        "llama-3.1-70b",
        "--accelerator",
        "h100-sxm",
        "--accelerators",
        "8",
        "--precision",
        "fp8",
        "--region",
        "us",
    ),
    "estimate_json": (
        "estimate",
        "--model",
        "llama-3.1-70b",
        "--accelerator",
        "h100-sxm",
        "--accelerators",
        "8",
        "--precision",
        "fp8",
        "--region",
        "us",
        "--json",
    ),
    "plan_demand": (
        "plan",
        "--model",
        "llama-3.1-8b",
        "--demand",
        str(FIXTURE),
        "--accelerator",
        "h100-sxm",
        "--region",
        "us",
        "--ownership",
        "rent",
        "--json",
    ),
}


def _run(args):
    return subprocess.run(
        [str(TOKENFAB), *args], capture_output=True, text=True, env=ENV, timeout=120
    )


@pytest.fixture(scope="module")
def out():
    with ThreadPoolExecutor(4) as pool:
        return dict(zip(RUNS, pool.map(_run, RUNS.values()), strict=True))


def test_market_json_shape(out):
    r = out["market"]
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert {"year", "tokens_per_year", "usd_per_mtok", "market_usd"} <= set(doc["years"][0])
    assert [s["name"] for s in doc["segments"]] == ["chat", "api", "agents", "reasoning"]
    # usd_per_mtok is spend over volume in Mtok, every year
    for y in doc["years"]:
        assert_allclose(y["usd_per_mtok"] * y["tokens_per_year"] / 1e6, y["market_usd"], rtol=1e-9)


def test_market_list(out):
    names = [s["name"] for s in json.loads(out["market_list"].stdout)["scenarios"]]
    assert {"analyst-consensus", "seed-000-revised", "jevons"} <= set(names)


@pytest.mark.parametrize(
    ("run", "field"),
    [
        ("market_bad_elasticity", "elasticity"),
        ("demand_bad", r"archetypes\.0\.archetype"),
        ("route_bad", "routed_share"),
        ("route_study_bad", "study"),
        ("factory_bad_shares", "shares"),
        ("factory_bad_power", "power_mw"),
        ("factory_mix_and_accelerator", "mix"),
        ("factory_bad_mix", "mix"),
        ("viability_no_cost", "cost_usd_per_request"),
    ],
)
def test_bad_input_one_line(out, run, field):
    r = out[run]
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr
    import re

    assert re.search(f"error: {field}:", lines[0])


def test_demand_file(out):
    doc = json.loads(out["demand"].stdout)
    # chat 1,000 x 2.8 x 300 = 840,000; batch 10,000 x 200 = 2,000,000 output tokens a day
    assert_allclose(doc["tokens_per_day"], 2_840_000)


def test_route_with_nothing_routed_equals_no_routing(out):
    doc = json.loads(out["route"].stdout)
    assert doc["cost_usd_per_request_after"] == doc["cost_usd_per_request_before"]
    assert doc["savings_per_success"] == 0.0


def test_route_unknown_study_names_the_field_and_every_study(out):
    line = out["route_study_bad"].stderr.strip()
    assert line == (
        "error: study: unknown 'routellm-mtbench'; allowed: routellm-mt-bench, "
        "routellm-mt-bench-arena, routellm-mmlu, routellm-gsm8k, hybrid-llm"
    )


def test_route_default_reads_one_named_study(out):
    r = out["route_default"]
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["study"] == "routellm-mt-bench" and "arXiv:2406.18665" in doc["study_source"]
    assert doc["from_study"] == ["routed_share", "success_small", "failure_detection"]
    # RouteLLM Table 1: 13.40% of calls to GPT-4 at 8.8 of GPT-4's 9.3 on MT Bench; a router
    # escalates nothing, so the mix keeps 8.8/9.3 of the big model's success (0.95 by default)
    assert_allclose(doc["routed_share"], 1 - 0.1340, rtol=1e-12)
    assert doc["failure_detection"] == 0.0
    assert_allclose(doc["success_rate_after"], 0.95 * 8.8 / 9.3, rtol=1e-12)
    assert "routellm-mt-bench" in doc["assumed"]


def test_route_flags_override_the_study(out):
    doc = json.loads(out["route_override"].stdout)
    assert doc["study"] == "routellm-mmlu" and doc["routed_share"] == 0.5
    assert doc["from_study"] == ["success_small", "failure_detection"]
    # RouteLLM Table 2: 35.46% to GPT-4 at 75 of 81 on MMLU -> small success relative to big
    # (75/81 - 0.3546) / 0.6454 = 0.8852, times success_big 0.95
    assert_allclose(doc["success_small"], 0.95 * (75 / 81 - 0.3546) / 0.6454, rtol=1e-12)


def test_route_list_names_the_studies(out):
    r = out["route_list"]
    assert r.returncode == 0, r.stderr
    rows = {s["name"]: s for s in json.loads(r.stdout)["studies"]}
    assert set(rows) == {
        "routellm-mt-bench",
        "routellm-mt-bench-arena",
        "routellm-mmlu",
        "routellm-gsm8k",
        "hybrid-llm",
    }
    # Hybrid LLM's abstract: "up to 40% fewer calls to the large model, with no drop in quality"
    assert rows["hybrid-llm"]["routed_share"] == pytest.approx(0.40, abs=1e-12)
    assert rows["hybrid-llm"]["quality_retained"] == 1.0


def test_viability_table_and_one_product(out):
    rows = json.loads(out["viability"].stdout)["products"]
    assert len(rows) == 8
    one = json.loads(out["viability_one"].stdout)["products"][0]
    assert one["verdict"] == "not viable" and one["breakeven_usd_per_request"] == 0.01


def test_plan_takes_the_demand_file(out):
    r = out["plan_demand"]
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)["options"]
    assert rows, "no options"


def test_demand_write_scenario_hands_off_to_plan(out, tmp_path):
    # demand FILE --write-scenario d.yaml writes the five Scenario demand fields; plan
    # --demand d.yaml (once "a demand file is a mapping with an 'archetypes' list") and plan
    # --scenario d.yaml give the plan of --demand FILE itself: same fields, same cheapest option
    written = tmp_path / "d.yaml"
    r = _run(("demand", str(FIXTURE), "--write-scenario", str(written)))
    assert r.returncode == 0, r.stderr
    same = list(RUNS["plan_demand"])
    want = json.loads(out["plan_demand"].stdout)["options"][0]
    for flag in ("--demand", "--scenario"):
        args = [
            *same[: same.index("--demand")],
            flag,
            str(written),
            *same[same.index("--demand") + 2 :],
        ]
        r = _run(args)
        assert r.returncode == 0, (flag, r.stderr)
        got = json.loads(r.stdout)["options"][0]
        assert got["monthly_cost_usd"] == pytest.approx(want["monthly_cost_usd"], rel=1e-12)


def test_a_demand_file_of_the_wrong_kind_says_which_option_takes_it(tmp_path):
    from tokenfab.demand import demand_fields, load_demand
    from tokenfab.errors import ScenarioError

    fields = tmp_path / "fields.yaml"
    fields.write_text("tokens_per_day: 1.0e+6\ninput_tokens: 500\n")
    assert demand_fields(fields) == {"tokens_per_day": 1e6, "input_tokens": 500}
    # the demand command reads archetypes only: it says where the fields file goes
    with pytest.raises(ScenarioError, match="give it to estimate, plan or factory --demand"):
        load_demand(fields)
    # a full scenario is not a demand: named field, and --scenario
    scen = tmp_path / "scen.yaml"
    scen.write_text("model: llama-3.1-8b\ntokens_per_day: 1.0e+6\n")
    with pytest.raises(ScenarioError, match=r"model: not a demand field.*goes to --scenario"):
        demand_fields(scen)


def test_factory_json(out):
    r = out["factory"]
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    for key in (
        "revenue_usd_per_year",
        "cost_usd_per_year",
        "tokens_per_year",
        "output_tok_s_per_mw",
    ):
        assert key in d
    assert {
        "name",
        "usd_per_mtok",
        "share_of_power",
        "tokens_per_year",
        "revenue_usd_per_year",
    } <= set(d["tiers"][0])
    assert_allclose(d["tokens_per_year"], sum(t["tokens_per_year"] for t in d["tiers"]), rtol=1e-12)


def test_factory_mix_sums_its_parts(out):
    # 6 MW of H100 on Llama 3.1 70B (the model's default) and 4 MW of B200 on Llama 3.1 8B;
    # the 10 MW H100 factory of the "factory" run is linear in power, so the H100 part is
    # 0.6 of it
    r = out["factory_mix"]
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    parts = d["mix"]
    assert [(p["accelerator"], p["model"]) for p in parts] == [
        ("h100-sxm", "llama-3.1-70b"),
        ("b200", "llama-3.1-8b"),
    ]
    for key in ("revenue_usd_per_year", "tokens_per_year", "cost_usd_per_year"):
        assert_allclose(d[key], sum(p["factory"][key] for p in parts), rtol=1e-12)
    whole = json.loads(out["factory"].stdout)
    assert_allclose(
        parts[0]["factory"]["revenue_usd_per_year"], 0.6 * whole["revenue_usd_per_year"], rtol=1e-9
    )


def test_factory_takes_a_demand_file(out):
    # 1e6 chat users x 2.8 requests x 300 tokens = 8.4e8 output tokens a day (demand_chat.yaml),
    # 365 days = 3.066e11 a year, over what the 10 MW H100 factory serves a year (the same
    # factory: the chat archetype has the chat workload's lengths, 6,000 and 300 tokens)
    r = out["factory_demand"]
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    whole = json.loads(out["factory"].stdout)
    assert_allclose(d["tokens_per_year"], whole["tokens_per_year"], rtol=1e-12)
    dem = d["demand"]
    assert_allclose(dem["tokens_per_day"], 8.4e8, rtol=1e-12)
    assert_allclose(dem["share_of_facility"], 3.066e11 / whole["tokens_per_year"], rtol=1e-12)
    assert_allclose(dem["power_mw_needed"], 10 * dem["share_of_facility"], rtol=1e-12)
    # chat's peak is twice the average (demand_archetypes.yaml), the facility 80 % busy
    assert_allclose(dem["peak_share_of_capacity"], dem["share_of_facility"] * 2 * 0.8, rtol=1e-12)


def test_market_and_factory_charts(tmp_path):
    r = _run(("market", "--samples", "100", "--out", str(tmp_path / "m.html")))
    assert r.returncode == 0, r.stderr
    for name in ("m.html", "m.png", "m-tokens.html", "m-tokens.png", "m-gw.html", "m-gw.png"):
        assert (tmp_path / name).stat().st_size > 0
    r = _run(("factory", "--accelerator", "h100-sxm,b200", "--out", str(tmp_path / "f.html")))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "f.png").stat().st_size > 0
    assert (tmp_path / "f-tiers.png").stat().st_size > 0


def test_viability_from_an_api_price(out):
    # GPT-4o mini $0.15 in / $0.60 out: 6,000 x 0.15 + 300 x 0.60 = $0.00108 a request;
    # $1 a user-month over 1,000 requests = $0.001 a request < cost -> not viable
    one = json.loads(out["viability_api"].stdout)["products"][0]
    assert_allclose(one["cost_usd_per_request"], 0.00108, rtol=1e-12)
    assert_allclose(one["revenue_usd_per_request"], 0.001, rtol=1e-12)
    assert one["verdict"] == "not viable"


def test_factory_demand_beyond_the_facility_says_it_cannot_be_met():
    # 1e16 output tokens a day is 3.65e18 a year; a 10 MW H100 factory makes ~4e13 a year
    # (factory --json tokens_per_year), so the demand needs ~1e5 times the facility: the line
    # says it cannot be met instead of printing a share in the millions of per cent
    r = _run(
        [
            "factory",
            "--power-mw",
            "10",
            "--mix",
            "h100-sxm:1",
            "--model",
            "llama-3.1-70b",
            "--tokens-per-day",
            "1e16",
        ]
    )
    assert r.returncode == 0, r.stderr
    assert "cannot be met" in r.stdout
    assert "% of the facility" not in r.stdout


def test_the_seed_table_prints_no_margin_for_a_product_without_revenue(out):
    # the free chatbot earns $0 a request, so (R - C) / R has no value: the table says why
    # instead of printing -inf (its JSON margin is null)
    r = out["viability_table"]
    assert r.returncode == 0, r.stderr
    row = next(line for line in r.stdout.splitlines() if "free tier" in line)
    assert "no revenue" in row and "inf" not in row


def test_viability_prints_a_user_month_revenue_per_user_month(out):
    # $20 a user-month, 4,500 requests at $0.0024: cost 4,500 x 0.0024 = $10.80 a user-month,
    # margin (20 - 10.8) / 20 = 46 %, price for the 40 % target 10.8 / 0.6 = $18 a user-month
    # ($0.004 a request); once only per-request figures and a "break-even" equal to the cost
    r = out["viability_month_text"]
    assert r.returncode == 0, r.stderr
    assert "viability (per user-month of 4,500 requests)" in r.stdout
    row = next(line for line in r.stdout.splitlines() if "viable" in line)
    assert [c.strip() for c in row.split("│")[2:7]] == ["20", "10.8", "46%", "viable", "18"]
    assert "price for 40% margin $" in r.stdout
    assert "cost $0.0024, price for 40% margin $0.004" in r.stdout


def test_the_factory_table_says_which_tiers_have_a_sourced_band_and_that_no_ttft_is_published(
    out,
):
    # price_tiers.csv: high >= 50 tok/s per user (OpenAI Priority processing's 99 % > 50 tok/s),
    # premium >= 400 (NVIDIA's LPX blog, Figure 10); free, medium and ultra have no band; no row has a
    # ttft_s_max. The default factory is GB300, which has no sourced purchase price: the note
    # says so and points to --ownership rent, an option the factory has
    r = out["factory_text"]
    assert r.returncode == 0, r.stderr
    text = " ".join(r.stdout.split())
    assert "TTFT s" in text and "tok/s/MW" in text
    # the rates are output tokens a second (FactoryTier.tok_s_per_user ...), as the next
    # column's "out tokens/yr" says; they read "tok/s/user", "tok/s/acc", "tok/s/MW"
    header = r.stdout.splitlines()[2]  # the title, the top rule, then the column names
    assert all(f"out tok/s/{x}" in header for x in ("user", "acc", "MW")), header
    assert "high >= 50, premium >= 400" in text
    assert "free, medium, ultra: no published band" in text
    assert "no tier publishes a TTFT bound" in text
    assert "gb300 has no sourced purchase price; use --ownership rent" in text
    assert "--ownership" in _run(("factory", "--help")).stdout


def test_the_route_grid_shows_the_success_rate_each_saving_costs(out):
    # default study routellm-mt-bench: no escalation (failure detection 0), big model 95 %.
    # At 70 % routed and 80 % small-model success the success rate after routing is
    # 0.3 x 0.95 + 0.7 x 0.8 = 0.845, printed beside the 61 % saving
    r = out["route_text"]
    assert r.returncode == 0, r.stderr
    text = " ".join(r.stdout.split())
    assert "failure detection 0%" in text
    row = next(line for line in r.stdout.splitlines() if line.strip("│ ").startswith("70%"))
    assert "(0.84)" in row
    assert "not retried" in text


def test_estimate_prints_embodied_carbon_beside_the_operational(out):
    # the text shows the JSON's embodied_co2e_g_per_mtok (HGX H100 PCF 164 kg + 190 kg host
    # over 5 years at 80 % busy: 354e3 g / (157,680,000 s x 0.8 x T / 1e6), T output tok/s per
    # GPU) and the total with the operational figure
    r, j = out["estimate_text"], out["estimate_json"]
    assert r.returncode == 0, r.stderr
    d = json.loads(j.stdout)
    t = d["output_tok_s_total"] / 8
    assert_allclose(d["embodied_co2e_g_per_mtok"], 354e3 / (157_680_000 * 0.8 * t / 1e6), rtol=1e-9)
    row = next(line for line in r.stdout.splitlines() if "embodied carbon" in line)
    assert f"{d['embodied_co2e_g_per_mtok']:.3g} g per 1M output tokens" in row
    assert f"{d['total_co2e_g_per_mtok']:.3g} g with the operational" in row


def test_the_gw_chart_draws_the_projection_beside_the_seeds_power():
    # each accelerator's line is the JSON's inference_gw a year (tokens / tokens per joule /
    # 31,536,000 s / 1e9); seed 003's 93.3 GW (SemiAnalysis, 2030) is a point of its own
    from tokenfab import operations
    from tokenfab.catalog import default_catalog
    from tokenfab.cli_econ import _gw_series

    cat = default_catalog()
    op = operations.get("market")
    req = op.parse({"samples": 0})
    proj = op.compute(req, cat)
    doc = op.present(proj, cat).model_dump()
    series = {s["name"]: s for s in _gw_series(proj, doc, ["k"])}
    for i, year in enumerate(doc["years"]):
        for acc, gw in year["inference_gw"].items():
            assert_allclose(series[f"all on {acc}"]["y"][i], gw, rtol=1e-12)
    seed = next(s for n, s in series.items() if "SemiAnalysis" in n)
    assert (list(seed["x"]), list(seed["y"])) == ([2030], [93.3])
