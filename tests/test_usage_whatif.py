"""What-if: repricing is exact and linear; self-hosting is sized from the log's own peak."""

from __future__ import annotations

import math

import pytest

from tokenfab.usage import engines, whatif
from tokenfab.usage.schema import UsageLogError

HEADER = "timestamp,model,input_tokens,cached_input_tokens,output_tokens,reasoning_tokens,cost_usd"
# gpt-4o-mini: $0.15 in, $0.075 cached, $0.60 out per Mtok (catalog, OpenAI prompt-caching row)
# row 1: (1000-200)*0.15 + 200*0.075 + 300*0.6 = 120 + 15 + 180 = 315 -> $0.000315
# row 2: 2000*0.15 + 100*0.6 = 300 + 60 = 360 -> $0.00036
# row 3: (4000-1000)*0.15 + 1000*0.075 + 100*0.6 = 450 + 75 + 60 = 585 -> $0.000585
ROWS = [
    "2025-07-01T00:00:00Z,gpt-4o-mini,1000,200,300,0,0.000315",
    "2025-07-01T01:00:00Z,gpt-4o-mini,2000,0,100,0,0.00036",
    "2025-07-01T02:00:00Z,gpt-4o-mini,4000,1000,100,0,0.000585",
]


@pytest.fixture(scope="module")
def log(tmp_path_factory):
    p = tmp_path_factory.mktemp("whatif") / "log.csv"
    p.write_text(HEADER + "\n" + "\n".join(ROWS) + "\n", encoding="utf-8")
    return str(p)


def test_repricing_on_its_own_prices_reproduces_its_cost(log):
    res = whatif.whatif(engines.connect(), [log], ["gpt-4o-mini"], [])
    b, opt = res["baseline"], res["options"][0]
    assert b["spend_usd"] == pytest.approx(0.00126, rel=1e-12)  # 0.000315 + 0.00036 + 0.000585
    assert opt["monthly_cost_usd"] == pytest.approx(b["monthly_cost_usd"], rel=1e-12)
    assert opt["monthly_saving_usd"] == pytest.approx(0.0, abs=1e-15)


def test_repricing_on_another_model(log):
    # GPT-4.1 nano $0.10 in / $0.025 cached / $0.40 out per Mtok, on the log's
    # sums in 7000, cached 1200, out 500 -> (5800*0.1 + 1200*0.025 + 500*0.4)/1e6 = 0.00081
    res = whatif.whatif(engines.connect(), [log], ["openai-gpt-4-1-nano-2025-04"], [])
    b, opt = res["baseline"], res["options"][0]
    # span 2 h -> monthly factor 30.4375 days / (2/24 days) = 365.25
    assert b["monthly_factor"] == pytest.approx(365.25)
    assert opt["monthly_cost_usd"] == pytest.approx(0.00081 * 365.25, rel=1e-12)
    assert opt["monthly_saving_usd"] == pytest.approx((0.00126 - 0.00081) * 365.25, rel=1e-12)


def test_peak_to_average_from_the_log(log):
    tr = whatif.traffic(whatif.analyses.priced(whatif.analyses.load(engines.connect(), [log]))[0])
    # output 300 + 100 + 100 = 500 over a 2-hour span: 250 an hour; busiest hour 300 -> 1.2
    assert tr["peak_to_average"] == pytest.approx(1.2)


def test_self_hosted_is_sized_from_the_log(log):
    res = whatif.whatif(engines.connect(), [log], [], ["llama-3.1-8b:h100-sxm:us:rent"])
    o = res["options"][0]
    sc = o["scenario"]
    # 500 output tokens in 2 h -> 6000 a day; prompt mean 7000/3 -> 2333; cached share 1200/7000
    assert sc["tokens_per_day"] == pytest.approx(6000.0)
    assert sc["input_tokens"] == 2333
    assert sc["prefix_cache_hit_rate"] == pytest.approx(1200 / 7000)
    assert sc["peak_to_average"] == pytest.approx(1.2)
    assert o["accelerators"] >= 1 and o["monthly_cost_usd"] > 0 and o["co2e_kg_per_month"] > 0
    assert o["monthly_saving_usd"] == pytest.approx(
        res["baseline"]["monthly_cost_usd"] - o["monthly_cost_usd"], rel=1e-12
    )


def test_self_hosted_names_the_weight_format_it_priced(log):
    # a deployment string has no weight format; the plan picks the cheapest (fp8 where bf16
    # needs more accelerators), and the option said "on h100-sxm (us, rent)" without it.
    # Invariant: the option and its scenario name the format, and an estimate of that
    # scenario reproduces the monthly cost
    from tokenfab.catalog import default_catalog
    from tokenfab.planning import evaluate
    from tokenfab.scenario import Scenario

    res = whatif.whatif(engines.connect(), [log], [], ["llama-3.1-8b:h100-sxm:us:rent"])
    o = res["options"][0]
    precision = o["scenario"]["precision"]
    assert o["option"] == f"self-host llama-3.1-8b on h100-sxm (us, rent, {precision} weights)"
    est = evaluate(Scenario.parse(o["scenario"]), default_catalog())
    assert float(est.kpis.monthly_cost_usd) == pytest.approx(o["monthly_cost_usd"], rel=1e-9)


def test_self_hosted_saving_has_a_monte_carlo_spread(log):
    res = whatif.whatif(
        engines.connect(), [log], [], ["llama-3.1-8b:h100-sxm:us:rent"], samples=200
    )
    o, base = res["options"][0], res["baseline"]["monthly_cost_usd"]
    u = o["uncertainty"]
    cost, saving = u["monthly_cost_usd"], u["monthly_saving_usd"]
    assert u["samples"] == 200 and u["feasible_share"] > 0 and u["inputs_varied"]
    assert cost["p5"] <= cost["p50"] <= cost["p95"]
    # saving = the log's monthly spend - cost, so its 5th percentile is spend - cost p95
    assert saving["p5"] == pytest.approx(base - cost["p95"], rel=1e-12)
    assert saving["p95"] == pytest.approx(base - cost["p5"], rel=1e-12)
    # the point estimate lies inside the spread's support, not far outside it
    assert 0.5 * cost["p5"] <= o["monthly_cost_usd"] <= 2 * cost["p95"]


def test_self_hosted_spread_uses_the_weight_format_the_plan_chose(log):
    # llama-3.1-70b on H100 80 GB: the plan picks fp8 (70 GB of weights, 1 accelerator) where
    # bf16 would need 2 (141 GB); a spread run in bf16 cost about twice the point estimate and
    # left it below its 5th percentile. The point estimate lies inside the 5th-95th band.
    res = whatif.whatif(
        engines.connect(), [log], [], ["llama-3.1-70b:h100-sxm:us:buy"], samples=200
    )
    o = res["options"][0]
    cost = o["uncertainty"]["monthly_cost_usd"]
    assert o["accelerators"] == 1
    assert cost["p5"] <= o["monthly_cost_usd"] <= cost["p95"]


def test_routing_policy_cascade(log):
    # route half the requests to gpt-4o-mini itself (the log's own model, same prices: small
    # cost c = big cost c = 0.00126 / 3 = 0.00042 a request), right 80% of the time, failures
    # caught and re-sent: after = 0.5 c + 0.5 (c + 0.2 c) = 1.1 c -> costs 10% more
    res = whatif.whatif(engines.connect(), [log], [], [], route=["gpt-4o-mini:0.5:0.8"])
    o, base = res["options"][0], res["baseline"]["monthly_cost_usd"]
    assert o["cost_per_request_usd_before"] == pytest.approx(0.00042, rel=1e-12)
    assert o["cost_per_request_usd_after"] == pytest.approx(1.1 * 0.00042, rel=1e-12)
    assert o["monthly_cost_usd"] == pytest.approx(1.1 * base, rel=1e-12)
    assert o["monthly_saving_usd"] == pytest.approx(-0.1 * base, rel=1e-12)
    assert o["saving_per_successful_outcome"] == pytest.approx(-0.1, rel=1e-12)


@pytest.mark.parametrize(
    ("route", "message"),
    [
        ("gpt-4o-mini:0.5", "is not SMALL:ROUTED_SHARE:SMALL_SUCCESS"),
        ("gpt-4o-mini:half:0.8", "is not SMALL:ROUTED_SHARE:SMALL_SUCCESS"),
        ("gpt-4o-mini:1.5:0.8", "the routed share must be in [0, 1] (got 1.5)"),
        ("gpt-4o-mini:0.5:nan", "the small-model success must be in [0, 1] (got nan)"),
    ],
)
def test_bad_routes(log, route, message):
    with pytest.raises(UsageLogError) as info:
        whatif.whatif(engines.connect(), [log], [], [], route=[route])
    assert message in str(info.value)


def test_bad_options(log):
    with pytest.raises(UsageLogError, match="--api: 'no-such-model'"):
        whatif.whatif(engines.connect(), [log], ["no-such-model"], [])
    with pytest.raises(UsageLogError, match=r"MODEL:ACCELERATOR\[:REGION\[:OWNERSHIP\]\]"):
        whatif.parse_deployment("llama-3.1-8b")
    # a deployment that cannot run is a row that says why, beside an option that can (a typo
    # is refused: below): llama-3.1-405b's 812 GB of bf16 weights do not fit one 64 GB Jetson
    jetson = "llama-3.1-405b:jetson-agx-orin-64gb"
    res = whatif.whatif(engines.connect(), [log], ["gpt-4o-mini"], [jetson])
    assert "monthly_cost_usd" in res["options"][0]
    assert "does not fit" in res["options"][1]["error"]
    # QA: when it is the only option asked for, the command printed the failure and exited
    # 0; with nothing to compare the log with, it is a refusal naming each option and why
    with pytest.raises(UsageLogError, match=r"^whatif: no option can run: self-host " + jetson):
        whatif.whatif(engines.connect(), [log], [], [jetson])
    with pytest.raises(UsageLogError, match=r"does not fit.*; self-host llama-3.3-70b:groq-lpu"):
        whatif.whatif(engines.connect(), [log], [], [jetson, "llama-3.3-70b:groq-lpu"])


@pytest.mark.parametrize(
    ("deployment", "needle"),
    [
        ("nope", "deployment: 'nope' is not MODEL:ACCELERATOR"),
        ("llama-3.1-8b:h100-sxx", "accelerators: unknown id 'h100-sxx'"),
        ("llama-3.1-8b:h100-sxm:mars", "regions: unknown id 'mars'"),
    ],
)
def test_a_mistyped_self_host_deployment_is_refused(log, deployment, needle):
    # was a row with the error in it and exit 0
    with pytest.raises(whatif.TokenfabError, match=needle):
        whatif.whatif(engines.connect(), [log], [], [deployment])


def test_an_infinite_logged_cost_is_left_out_not_a_saving_of_inf(tmp_path):
    # QA: `usage whatif` on a log whose 2nd row has cost_usd inf printed "$inf a month" and
    # "saving $inf", exit 0. That row is malformed ("cost_usd: not a finite number") and
    # left out; the 1st row (100 in, 10 out, $1 logged) is the whole baseline. GPT-4.1 mini
    # at $0.40 in / $1.60 out per Mtok: (100*0.4 + 10*1.6)/1e6 = $0.000056 per $1 logged,
    # so the option costs 5.6e-5 of the baseline and saves the rest, both finite.
    p = tmp_path / "infc.csv"
    p.write_text(
        "timestamp,model,input_tokens,output_tokens,cost_usd\n"
        "2025-10-01T00:00:00Z,gpt-4o,100,10,1\n"
        "2025-10-02T00:00:00Z,gpt-4o,100,10,inf\n",
        encoding="utf-8",
    )
    res = whatif.whatif(engines.connect(), [str(p)], ["openai-gpt-4-1-mini-2025-04"], [])
    b, opt = res["baseline"], res["options"][0]
    assert (b["requests"], b["spend_usd"]) == (1, 1.0)
    assert opt["monthly_cost_usd"] == pytest.approx(5.6e-5 * b["monthly_cost_usd"], rel=1e-9)
    assert opt["monthly_saving_usd"] == pytest.approx(
        (1 - 5.6e-5) * b["monthly_cost_usd"], rel=1e-9
    )
    assert math.isfinite(b["monthly_cost_usd"])


def test_a_price_id_prices_cached_tokens_as_its_model_name_does(tmp_path):
    # QA: `--api openai-gpt-4o-2024-08` (the id the report shows for gpt-4o-2024-08-06) billed
    # cached tokens at the full input price, while the name borrowed the $1.25 cached price of
    # OpenAI's prompt-caching row (same $2.50 / $10 list prices); one label, two costs.
    # GPT-4o: $2.50 in, $1.25 cached, $10 out per Mtok. Rows: 1000 in / 100 out, and 2000 in
    # (1000 cached) / 200 out: (2000*2.5 + 1000*1.25 + 300*10) / 1e6 = 0.00925
    p = tmp_path / "log.csv"
    p.write_text(
        "timestamp,model,input_tokens,cached_input_tokens,output_tokens\n"
        "2025-10-01T00:00:00Z,gpt-4o-2024-08-06,1000,0,100\n"
        "2025-10-01T01:00:00Z,gpt-4o-2024-08-06,2000,1000,200\n",
        encoding="utf-8",
    )
    # one run each: both in one run name one price twice, which is refused (test below)
    res = whatif.whatif(engines.connect(), [str(p)], ["openai-gpt-4o-2024-08"], [])
    (by_id,) = res["options"]
    (by_name,) = whatif.whatif(engines.connect(), [str(p)], ["gpt-4o-2024-08-06"], [])["options"]
    factor = res["baseline"]["monthly_factor"]  # 30.4375 days / (1/24 day) = 730.5
    assert factor == pytest.approx(730.5)
    assert by_id["option"] == by_name["option"] == "API openai-gpt-4o-2024-08"
    assert by_id["monthly_cost_usd"] == pytest.approx(0.00925 * factor, rel=1e-12)
    assert by_name["monthly_cost_usd"] == pytest.approx(0.00925 * factor, rel=1e-12)
    # repricing the log on its own prices gives back its cost, by id as by name
    assert by_id["monthly_saving_usd"] == pytest.approx(0.0, abs=1e-12)


def test_a_route_to_an_unknown_model_names_the_route_option(log):
    # QA: the error was labelled `--api:` though no --api was given
    with pytest.raises(UsageLogError, match=r"^--route: 'no-such-model' is neither"):
        whatif.whatif(engines.connect(), [log], [], [], route=["no-such-model:0.5:0.8"])


def test_a_mistyped_ownership_is_refused_beside_a_good_option(log):
    # QA: `--api gpt-4o-mini --self-host llama-3.1-8b:h100-sxm:us:lease` printed the typo as a
    # row that could not run and exited 0; like an unknown id it is refused up front
    with pytest.raises(
        UsageLogError, match=r"ownership 'lease' is not allowed; allowed: buy, rent"
    ):
        whatif.whatif(engines.connect(), [log], ["gpt-4o-mini"], ["llama-3.1-8b:h100-sxm:us:lease"])


def test_whatif_takes_threads_as_report_does():
    # QA: docs/usage.md gives every usage command `--threads N`; whatif had no such option
    from tokenfab.errors import ScenarioError
    from tokenfab.schema import UsageWhatifRequest

    assert UsageWhatifRequest.parse({"logs": "log.csv", "threads": 1}).threads == 1
    with pytest.raises(ScenarioError, match=r"^threads: 0 is out of range; allowed: 1 to 1024"):
        UsageWhatifRequest.parse({"logs": "log.csv", "threads": 0})


def test_the_same_deployment_twice_is_refused(log):
    # QA: whatif printed the same self-hosted row twice where export-prices refuses it;
    # llama-3.1-8b:h100-sxm is llama-3.1-8b:h100-sxm:us:buy with the defaults filled in
    with pytest.raises(
        UsageLogError, match=r"^deployment: llama-3\.1-8b:h100-sxm:us:buy is named twice"
    ):
        whatif.whatif(
            engines.connect(), [log], [], ["llama-3.1-8b:h100-sxm", "llama-3.1-8b:h100-sxm:us:buy"]
        )


def test_report_and_whatif_read_one_span_from_a_one_row_log(tmp_path):
    # QA: a one-row log spans 0 s; `usage report` said "0.0 days" while `usage whatif` scaled it
    # as its 1-hour floor, 0.04 days. One rule now: span = max(last - first, 1 h), so both give
    # 1/24 = 0.041667 days, and whatif's month is 30.4375 / (1/24) = 730.5 times the row's spend
    # (0.000315 x 730.5 = 0.2301075 USD)
    from io import StringIO

    from rich.console import Console

    from tokenfab.usage import analyses
    from tokenfab.usage.render import text

    p = tmp_path / "one.csv"
    p.write_text(HEADER + "\n" + ROWS[0] + "\n", encoding="utf-8")
    rep = analyses.report(engines.connect(), [str(p)])
    res = whatif.whatif(engines.connect(), [str(p)], ["gpt-4o-mini"], [])
    assert rep["summary"]["days"] == pytest.approx(1 / 24, rel=1e-12)
    assert res["baseline"]["days"] == rep["summary"]["days"]
    assert res["baseline"]["monthly_factor"] == pytest.approx(730.5, rel=1e-12)
    assert res["baseline"]["monthly_cost_usd"] == pytest.approx(0.2301075, rel=1e-9)
    buf = StringIO()
    text(rep, Console(file=buf, width=140))
    assert "1 request over 0.04 days" in buf.getvalue()  # one request: singular
    # a span over the floor is the timestamps' own: the 3-row log's 2 h is 2/24 days in both
    two = analyses.report(engines.connect(), [log_path(tmp_path)])
    assert two["summary"]["days"] == pytest.approx(2 / 24, rel=1e-12)


def log_path(tmp_path):
    p = tmp_path / "three.csv"
    p.write_text(HEADER + "\n" + "\n".join(ROWS) + "\n", encoding="utf-8")
    return str(p)


@pytest.mark.parametrize("others", [{"api": ["gpt-4o-mini"]}, {"route": ["gpt-4o-mini:0.6:0.9"]}])
def test_samples_without_a_self_hosted_option_is_refused_not_dropped(others):
    # the rule: only a self-hosted option's cost has a spread to sample (an API or a route is
    # repriced exactly), so `whatif LOG --api gpt-4o-mini --samples 10` printed what it prints
    # without --samples; a sample count with no --self-host is now an error naming both
    from tokenfab.errors import ScenarioError
    from tokenfab.schema import UsageWhatifRequest

    with pytest.raises(ScenarioError) as err:
        UsageWhatifRequest.parse({"logs": "log.csv", **others, "samples": 10})
    assert str(err.value) == (
        "samples: samples the self-hosted options' cost; give self_host too, or drop samples"
    )
    # the default count with an API alone, and a count with a deployment, stay allowed
    assert UsageWhatifRequest.parse({"logs": "log.csv", **others}).samples == 1000
    both = {"logs": "log.csv", **others, "self_host": ["llama-3.1-8b:h100-sxm"], "samples": 10}
    assert UsageWhatifRequest.parse(both).samples == 10


def test_a_model_name_and_its_price_id_are_refused_as_one_price(log):
    # QA: gpt-4o-mini resolves to the catalog price openai-gpt-4o-mini-2024-07 (the row that
    # prices the log, see HEADER), so naming both printed the same repriced row twice, where
    # the same id twice is refused ("api: ... given more than once")
    with pytest.raises(UsageLogError) as err:
        whatif.whatif(engines.connect(), [log], ["gpt-4o-mini", "openai-gpt-4o-mini-2024-07"], [])
    assert str(err.value) == (
        "api: 'gpt-4o-mini' and 'openai-gpt-4o-mini-2024-07' name one price "
        "(openai-gpt-4o-mini-2024-07); list it once"
    )
