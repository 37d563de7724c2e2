"""The shared schema: CLI options generated from the request models, result models that
round-trip through JSON, read-only catalog tables, one-line TokenfabErrors.

Expected values are invariants (the CLI has exactly the model's fields; a JSON round trip is
the identity) or figures read from the catalogs.
"""

from __future__ import annotations

import json
import math
from dataclasses import fields as dataclass_fields
from datetime import date
from pathlib import Path

import pytest
import typer.main
from numpy.testing import assert_allclose
from pydantic import BaseModel
from typer.testing import CliRunner

from tokenfab import demand, factory, market, routing, schema, viability
from tokenfab.breakeven import analyse
from tokenfab.catalog import Catalog, default_catalog
from tokenfab.cli import ALIASES, INTERFACE_OPTIONS, app, flag
from tokenfab.cost import OwnershipCost
from tokenfab.errors import ScenarioError, TokenfabError
from tokenfab.perf.frontier import frontier
from tokenfab.planning import PLAN_KEYS, evaluate, plan_request
from tokenfab.scenario import MIN_TTFT_S, Scenario

DOCS = Path(__file__).resolve().parents[1] / "docs" / "outputs.md"
COMMAND = typer.main.get_command(app)
E8B = {"model": "llama-3.1-8b", "accelerator": "h100-sxm"}


def _click_params(command: str) -> dict[str, object]:
    cmd = COMMAND
    for word in command.split():  # `scenario new`, `usage report`: a command of a group
        cmd = cmd.commands[word]
    cmd = getattr(cmd, "commands", {}).get("show", cmd)  # `catalog` is a group; `show` the view
    return {p.name: p for p in cmd.params}


# -- requests and the CLI ----------------------------------------------------------------------


@pytest.mark.parametrize("command", sorted(schema.REQUESTS))
def test_cli_options_are_the_request_fields(command):
    model = schema.REQUESTS[command]
    params = _click_params(command)
    names = {p.opts[0] for p in params.values() if p.opts[0].startswith("--")}
    arguments = {n for n, p in params.items() if not p.opts[0].startswith("--")}
    # every request field is an option (or the positional argument), and every other option
    # is one of the few that concern only the terminal
    assert {flag(n) for n in model.model_fields if n not in arguments} | INTERFACE_OPTIONS >= names
    assert {flag(n) for n in model.model_fields if n not in arguments} <= names
    for name, field in model.model_fields.items():
        p = params[name]
        assert p.help == schema.help_text(field), name
        assert field.description in p.help, name
        if name not in arguments:
            assert tuple(p.opts) == (flag(name), *ALIASES.get(name, ())), name


@pytest.mark.parametrize("command", sorted(set(schema.REQUESTS) - {"catalog"}))
def test_help_lists_every_field_with_its_allowed_values(command):
    r = CliRunner().invoke(
        app, [*command.split(), "--help"], env={"COLUMNS": "400"}, terminal_width=400
    )
    assert r.exit_code == 0, r.output
    text = " ".join(r.output.split())  # help wraps lines
    params = _click_params(command)
    for name, field in schema.REQUESTS[command].model_fields.items():
        positional = not params[name].opts[0].startswith("--")  # `demand FILE`
        assert (f"[{name}]" if positional else flag(name)) in text, name
        for value in schema.allowed_values(field) or ():
            assert value in text, (name, value)
        assert " ".join(schema.help_text(field).split()) in text, name


def test_help_writes_a_float_default_as_the_ranges_write_numbers():
    # export-prices --help said "(default: 1000000000.0)" beside "[token/day, 1 to 1e16]"; a
    # float default is written with :g, as the ranges are: 1e9 -> 1e+09, 1.0 -> 1, 30.0 -> 30
    fields = schema.REQUESTS["estimate"].model_fields
    assert schema.help_text(fields["peak_to_average"]).endswith("(default: 1)")
    from tokenfab.schema import ExportPricesRequest, UsageSynthRequest

    tokens = schema.help_text(ExportPricesRequest.model_fields["tokens_per_day"])
    assert tokens.endswith("(default: 1e+09)")
    assert schema.help_text(UsageSynthRequest.model_fields["days"]).endswith("(default: 30)")


EXCLUDED = {
    "estimate": set(),
    "frontier": {
        "tokens_per_day",
        "requests_per_second",
        "peak_to_average",
        "region",
        "ownership",
        "rental_term",
        "rental_provider",
        "utilization",
        "batch_size",
        "concurrency",
        "objective",
        "ttft_slo_s",
        "tpot_slo_s",
        "steps_per_task",
    },
    # plan and breakeven price rentals on demand at any provider (rental_term and
    # rental_provider are for one rented deployment)
    # closed-loop client concurrency is a benchmark's load, not a demand to size or sweep
    "plan": {"utilization", "rental_term", "rental_provider", "concurrency"},
    "breakeven": {
        "concurrency",
        "tokens_per_day",
        "requests_per_second",
        "ownership",
        "rental_term",
        "rental_provider",
        "utilization",
    },
}


@pytest.mark.parametrize("command", sorted(EXCLUDED))
def test_every_scenario_field_reaches_each_command_unless_excluded(command):
    # a field added to the Scenario (e.g. gpu_memory_utilization) appears in every command
    fields = set(schema.REQUESTS[command].model_fields)
    assert set(Scenario.model_fields) - EXCLUDED[command] <= fields
    assert not EXCLUDED[command] & fields


def test_shared_fields_describe_themselves_alike():
    # the same field in two commands has the same description unless its shape changed
    own = {
        "accelerator",
        "accelerators",
        "region",
        "ownership",
    }
    for command in EXCLUDED:
        for name, field in schema.REQUESTS[command].model_fields.items():
            if name not in own:
                assert field.description == Scenario.model_fields[name].description, name


def test_plan_request_has_no_accelerator_and_needs_a_demand():
    req = schema.PlanRequest.parse({"model": "llama-3.1-8b", "tokens_per_day": 1e8})
    assert req.accelerator is None  # every shipping accelerator
    assert req.region == ["us"] and req.ownership == ["buy", "rent"]
    with pytest.raises(TokenfabError, match=r"^tokens_per_day: a plan needs a demand"):
        schema.PlanRequest.parse({"model": "llama-3.1-8b"})


def test_list_fields_take_comma_separated_text():
    # a CLI option "h100-sxm, b200" and a JSON list give the same request
    a = schema.FrontierRequest.parse({"model": "m", "accelerator": "h100-sxm, b200"})
    b = schema.FrontierRequest.parse({"model": "m", "accelerator": ["h100-sxm", "b200"]})
    assert a == b
    assert [s.accelerator for s in a.scenarios()] == ["h100-sxm", "b200"]
    assert all(s.accelerators == 8 for s in a.scenarios())  # frontier's own default


def test_request_json_schema_carries_help_and_choices():
    # what an HTTP API's OpenAPI schema would publish
    props = schema.PlanRequest.model_json_schema()["properties"]
    assert (
        props["tokens_per_day"]["description"]
        == Scenario.model_fields["tokens_per_day"].description
    )
    assert props["ownership"]["items"]["enum"] == ["buy", "rent"]
    assert props["ttft_slo_s"]["anyOf"][0]["minimum"] == MIN_TTFT_S


def test_software_is_checked_against_the_catalog(tmp_path):
    # not a hard-coded list: a class added in a catalog override is accepted
    with pytest.raises(TokenfabError, match=r"^software: unknown class 'lmdeploy'; allowed: "):
        evaluate(Scenario(**E8B, software="lmdeploy"), Catalog())
    base = Catalog().table("software")["vllm"]
    row = base.model_dump(mode="json") | {"id": "lmdeploy", "name": "LMDeploy"}
    header = ",".join(row)
    values = ",".join(f'"{v}"' if v is not None else "" for v in row.values())
    (tmp_path / "serving_software.csv").write_text(f"{header}\n{values}\n", encoding="utf-8")
    est = evaluate(Scenario(**E8B, software="lmdeploy"), Catalog([tmp_path]))
    assert est.op.setup.engine.software == "lmdeploy"


# -- errors ------------------------------------------------------------------------------------

BAD_REQUESTS = [
    (schema.EstimateRequest, {"accelerator": "h100-sxm"}, "model: required (not given)"),
    (
        schema.EstimateRequest,
        {**E8B, "accelerators": "abc"},
        "accelerators: 'abc' is not a number; allowed: 1 to 1e+07",
    ),
    (schema.EstimateRequest, {**E8B, "bogus": 1}, "bogus: not a field here (got 1)"),
    (schema.EstimateRequest, ["llama-3.1-8b"], "request: a mapping of field: value (got list)"),
    (schema.PlanRequest, {"model": "m", "tokens_per_day": 1, "ownership": ["api"]}, "ownership.0"),
    (
        schema.FrontierRequest,
        {"model": "m", "accelerator": []},
        "accelerator: give at least 1 (got [])",
    ),
    (schema.FrontierRequest, {"model": "m", "accelerator": ",,"}, "accelerator: ',,' names no id"),
    (
        schema.PlanRequest,
        {"model": "m", "tokens_per_day": 1, "ownership": "buy,lease"},
        "ownership: 'lease' is not allowed; allowed: buy, rent",
    ),
    (schema.BreakevenRequest, {**E8B, "accelerators": 0}, "accelerators: 0 is out of range"),
    (
        schema.CatalogRequest,
        {"name": "gpus"},
        "name: 'gpus' is not allowed; allowed: accelerators, models",
    ),
    (schema.PlanRequest, "model=m", "request: a PlanRequest is a mapping"),
    (
        schema.RouteRequest,
        {"routed_share": 1.5},
        "routed_share: 1.5 is out of range; allowed: 0 to 1",
    ),
    (
        schema.RouteRequest,
        {"success_big": 0},
        "success_big: 0 is out of range; allowed: above 0 to 1",
    ),
    (
        schema.ViabilityRequest,
        {"api_price": "x", "cost_usd_per_request": 0.01},
        "api_price: give api_price or cost_usd_per_request, not both",
    ),
    (
        schema.ViabilityRequest,
        {"revenue_usd_per_request": 0.01},
        "cost_usd_per_request: a revenue needs a cost",
    ),
    (schema.ViabilityRequest, {"cost_usd_per_request": float("nan")}, "cost_usd_per_request:"),
    (
        schema.FactoryRequest,
        {"power_mw": 0},
        "power_mw: 0 is out of range; allowed: 0.01 to 100000",
    ),
    (schema.FactoryRequest, {"shares": "free"}, "shares: 'free' is not tier=share"),
    (
        schema.FactoryRequest,
        {"shares": {"free": 2}},
        "shares.free: 2 is out of range; allowed: at most 1",
    ),
    # a stray comma is one line that says what is wrong, the value named once (by "got")
    (schema.FactoryRequest, {"mix": ","}, "mix: an empty entry; give accelerator[:model]:share"),
    (schema.FactoryRequest, {"mix": "h100-sxm:1,"}, "mix: an empty entry;"),
    (schema.FactoryRequest, {"mix": "foo"}, "mix: give accelerator[:model]:share (e.g. "),
    (schema.FactoryRequest, {"mix": "h100-sxm:0.5,foo"}, "mix: 'foo' is not accelerator"),
    (
        schema.DemandRequest,
        {},
        "file: give one of: a demand file, an archetype with users, or an archetypes list",
    ),
    # a repeated id would list the same option twice in the plan
    (
        schema.PlanRequest,
        {"model": "llama-3.1-8b", "tokens_per_day": 1e6, "accelerator": "h100-sxm,h100-sxm"},
        "accelerator: h100-sxm given more than once",
    ),
    (
        schema.PlanRequest,
        {"model": "llama-3.1-8b", "tokens_per_day": 1e6, "region": ["us", "eu", "us"]},
        "region: us given more than once",
    ),
    (schema.DemandRequest, {"archetype": "chat"}, "users: an archetype needs"),
]


@pytest.mark.parametrize(("model", "data", "message"), BAD_REQUESTS)
def test_bad_requests_are_one_line_tokenfab_errors(model, data, message):
    with pytest.raises(TokenfabError) as info:
        model.parse(data)
    text = str(info.value)
    assert message in text
    assert "\n" not in text


def test_core_entry_points_take_mappings_and_reject_other_things():
    # a mapping is validated into the request; anything else is a TokenfabError, never an
    # AttributeError or a pydantic ValidationError
    a = analyse({**E8B, "region": "us"})
    # no fixed replica group (issue 8): each volume takes the layout needing the fewest
    # accelerators; Llama-3.1-8B fits one H100, so the smallest volume needs one
    assert a.scenario.accelerators is None
    assert int(a.grid.accelerators[0]) == 1
    for bad in (None, 42, "llama-3.1-8b", {**E8B, "ownership": "buy"}):
        with pytest.raises(TokenfabError):
            analyse(bad)
    for bad in (None, {"model": "llama-3.1-8b"}, "x"):
        with pytest.raises(TokenfabError):
            evaluate(bad)
    with pytest.raises(TokenfabError):
        frontier({"model": "llama-3.1-8b"})


# -- results -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def results() -> dict[str, BaseModel]:
    cat = default_catalog()
    est = evaluate(Scenario(**E8B, accelerators=1), cat)
    unpriced = evaluate(Scenario(model="llama-3.1-8b", accelerator="gb300"), cat)
    plan = plan_request(
        {
            "model": "llama-3.1-8b",
            "tokens_per_day": 1e8,
            "accelerator": "h100-sxm,b200,rtx-4090",
            "tpot_slo_s": 0.05,
        },
        cat,
    )
    req = schema.FrontierRequest.parse({"model": "llama-3.1-8b", "accelerator": "h100-sxm"})
    fronts = [frontier(s, cat) for s in req.scenarios()]
    return {
        "estimate": schema.EstimateResult.from_estimate(est),
        "estimate_unpriced": schema.EstimateResult.from_estimate(unpriced),
        "plan": schema.PlanResult.from_options(plan),
        "frontier": schema.FrontierResult.from_frontiers(fronts),
        "breakeven": schema.BreakevenResult.from_analysis(analyse({**E8B}, cat)),
        "route": schema.RouteResult.model_validate(
            routing.analyse(schema.RouteRequest.parse({}), cat)
        ),
        "viability_seed": schema.ViabilityResult.from_rows(
            viability.analyse(schema.ViabilityRequest.parse({}), cat)
        ),
        "factory": schema.FactoryResult.model_validate(
            factory.analyse(
                schema.FactoryRequest.parse(
                    {"accelerator": "h100-sxm", "power_mw": 10, "model": "llama-3.1-8b"}
                ),
                cat,
            )[0].as_dict()
        ),
        "demand": schema.DemandResult.model_validate(
            demand.analyse(
                schema.DemandRequest.parse({"archetype": "chat", "users": 1000})
            ).as_dict()
        ),
        "market": schema.MarketResult.model_validate(
            market.analyse(schema.MarketRequest.parse({"samples": 50}), cat).as_dict()
        ),
        "viability_api": schema.ViabilityResult.from_rows(
            viability.analyse(
                schema.ViabilityRequest.parse(
                    {"api_price": "openai-gpt-4o-mini-2024-07", "revenue_usd_per_request": 0.01}
                ),
                cat,
            )
        ),
    }


ROUND_TRIPS = [
    "estimate",
    "estimate_unpriced",
    "plan",
    "frontier",
    "breakeven",
    "route",
    "viability_seed",
    "viability_api",
    "factory",
    "demand",
    "market",
]


@pytest.mark.parametrize("name", ROUND_TRIPS)
def test_results_round_trip_through_json(results, name):
    result = results[name]
    text = result.model_dump_json()
    again = type(result).model_validate_json(text)
    assert again == result
    assert again.model_dump_json() == text
    assert "NaN" not in text and "Infinity" not in text  # strict JSON: null, not NaN


def test_estimate_result_carries_its_stale_price_warnings():
    # the warnings are the core's: the result holds them, the CLI only prints them
    cat = default_catalog()
    est = evaluate(Scenario(**E8B, accelerators=1), cat)
    bought = cat.accelerator("h100-sxm").price_as_of
    fresh = schema.EstimateResult.from_estimate(est, cat, today=bought)
    assert not any("h100-sxm" in line for line in fresh.stale_price_lines())
    # two years on the purchase price is over 12 months old
    later = date(bought.year + 2, bought.month, 1)
    old = schema.EstimateResult.from_estimate(est, cat, today=later)
    assert any(line.startswith("purchase price of h100-sxm") for line in old.stale_price_lines())
    assert old.stale_prices == "; ".join(old.stale_price_lines())


def test_route_and_viability_results_carry_the_core_figures(results):
    route = results["route"]
    # without routing every request goes to the big model
    assert route.cost_usd_per_request_before == route.cost_usd_per_request_big
    assert len(route.grid.savings_per_success) == len(route.grid.routed_share)
    (one,) = results["viability_api"].products
    # GPT-4o mini $0.15 in / $0.60 out: 6,000 x 0.15e-6 + 300 x 0.60e-6 = $0.00108 a request;
    # margin at $0.01 a request: (0.01 - 0.00108) / 0.01 = 0.892
    assert_allclose(one.cost_usd_per_request, 0.00108, rtol=1e-12)
    assert_allclose(one.margin, 0.892, rtol=1e-12)
    assert one.seed_margin is None and one.margin_range_from_columns is None
    # seed 003's table has eight products, each with the margin range its columns allow
    seed = results["viability_seed"].products
    assert len(seed) == 8 and all(len(r.margin_range_from_columns) == 2 for r in seed)


def test_factory_and_demand_results_add_up(results):
    f = results["factory"]
    # the factory's output tokens are its tiers' (each tier a share of the power)
    assert_allclose(f.tokens_per_year, sum(t.tokens_per_year for t in f.tiers), rtol=1e-12)
    assert_allclose(sum(t.share_of_power for t in f.tiers), 1.0, rtol=1e-12)
    assert_allclose(f.output_tok_s_per_gw, f.output_tok_s_per_mw * 1e3, rtol=1e-12)
    d = results["demand"]
    # 1,000 chat users x 1 session x 2.8 requests = 2,800 calls x 300 output tokens = 840,000
    assert_allclose(d.calls_per_day, 2800, rtol=1e-12)
    assert_allclose(d.tokens_per_day, 840_000, rtol=1e-12)
    assert d.scenario["tokens_per_day"] == d.tokens_per_day


def test_market_result_sums_its_segments(results):
    m = results["market"]
    # a year's spend is its segments' spend, and spend over volume is the blended price
    for i, year in enumerate(m.years):
        assert_allclose(year.market_usd, sum(s.years[i].market_usd for s in m.segments), rtol=1e-9)
        assert_allclose(year.usd_per_mtok * year.tokens_per_year / 1e6, year.market_usd, rtol=1e-9)
        assert year.market_usd_percentiles is not None  # 50 samples: a fan


def test_factory_shares_parse_from_text():
    req = schema.FactoryRequest.parse({"shares": "free=0.25, premium=0.75"})
    assert req.shares == {"free": 0.25, "premium": 0.75}


def test_estimate_result_has_every_key_of_the_estimate(results):
    est = evaluate(Scenario(**E8B, accelerators=1))
    d = est.as_dict()
    dumped = results["estimate"].model_dump()
    assert set(d) <= set(dumped), set(d) - set(dumped)
    # and the same values: a flat object, the estimate's own numbers
    for k, v in d.items():
        if isinstance(v, float):
            assert_allclose(dumped[k], v, rtol=1e-12, err_msg=k)
        else:
            assert dumped[k] == v, k
    # a rental line does not apply to an owned accelerator-hour
    assert dumped["cost_rental_usd_per_hour"] is None
    # the owned lines add up to the accelerator-hour (planning.hourly_cost)
    lines = [
        v
        for k, v in dumped.items()
        if k.startswith("cost_") and k.endswith("_usd_per_hour") and v is not None
    ]
    assert len(lines) == len(dataclass_fields(OwnershipCost))  # every owned line, no rental
    assert_allclose(sum(lines), dumped["cost_usd_per_accelerator_hour"], rtol=1e-12)


def test_unpriced_estimate_keeps_every_key_with_nulls(results):
    d = json.loads(results["estimate_unpriced"].model_dump_json())
    # accelerators.csv has no sourced purchase price for gb300
    assert d["cost_usd_per_mtok_blended"] is None and "price" in d["cost_error"]
    assert d["co2e_kg_per_month"] > 0
    assert set(d) == set(schema.EstimateResult.model_fields)


def test_plan_option_keys_follow_the_planning_keys(results):
    fields = list(schema.PlanOption.model_fields)
    assert fields == [  # licence: the software licence on the option (planning._licence_note)
        "accelerator",
        "region",
        "ownership",
        *PLAN_KEYS,
        "feasible",
        "reason",
        "licence",
    ]
    rows = results["plan"].options
    feasible = [r for r in rows if r.feasible]
    assert feasible and all(r.tpot_s <= 0.05 for r in feasible)
    assert all(r.cost_usd_per_mtok_blended is None and r.reason for r in rows if not r.feasible)


def test_breakeven_result_matches_its_rows(results):
    b = results["breakeven"]
    # the table grid: 1e6 .. 1e11 output tokens a day in half-decades
    assert_allclose([r.tokens_per_day for r in b.rows], [10 ** (6 + k / 2) for k in range(11)])
    for r in b.rows:
        priced = {
            k: getattr(r, f"{k}_usd_per_month")
            for k in ("buy", "rent", "api")
            if getattr(r, f"{k}_usd_per_month") is not None
        }
        assert r.cheapest == min(priced, key=priced.get)
    for value in b.summary().values():
        assert value is None or (math.isfinite(value) and value > 0)


def test_every_result_field_is_described_and_numbers_have_units():
    for command, model in schema.RESULTS.items():
        for name, field in model.model_fields.items():
            assert field.description, (command, name)
            t = schema.value_type(field)
            if t in (int, float):
                assert schema.unit_of(field), (command, name)


def test_docs_outputs_is_generated_from_the_schema():
    assert DOCS.read_text(encoding="utf-8") == schema.markdown(), (
        "docs/outputs.md is stale: python -m tokenfab.schema > docs/outputs.md"
    )


# -- catalog tables are read-only --------------------------------------------------------------


def test_mutating_a_returned_table_does_not_change_the_next_lookup():
    cat = default_catalog()
    table = cat.table("accelerators")
    before = cat.accelerator("h100-sxm")
    with pytest.raises(TypeError):
        table["h100-sxm"] = None  # type: ignore[index]
    with pytest.raises(TypeError):
        del table["h100-sxm"]  # type: ignore[attr-defined]
    with pytest.raises(AttributeError):
        table.clear()  # type: ignore[attr-defined]
    with pytest.raises(ValueError):  # a frozen record (pydantic ValidationError)
        before.memory_gb = 1.0  # type: ignore[misc]
    # a copy is the caller's to change
    mine = dict(table)
    mine.pop("h100-sxm")
    assert default_catalog().accelerator("h100-sxm") is before
    assert before.memory_gb == 80  # accelerators.csv: H100 SXM 80 GB


# -- charts ------------------------------------------------------------------------------------


def test_charts_leave_the_callers_matplotlib_backend(tmp_path):
    import matplotlib

    from tokenfab import charts

    original = matplotlib.get_backend()
    matplotlib.use("svg")
    try:
        series = [{"name": "a", "x": [1.0, 2.0], "y": [3.0, 4.0], "color": charts.COLORS[0]}]
        bars = [{"name": "a", "y": [1.0, 2.0], "color": charts.COLORS[0]}]
        for html, png in (
            charts.line_chart(tmp_path / "c.html", series, "t", "x", "y"),
            charts.bar_chart(tmp_path / "b.html", ["p", "q"], bars, "t", "y"),
        ):
            assert matplotlib.get_backend() == "svg"
            assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"  # PNG signature (RFC 2083)
            assert html.exists()
    finally:
        matplotlib.use(original)


def test_embodied_carbon_table_is_read_only():
    from tokenfab.carbon import embodied_table

    table = embodied_table()
    with pytest.raises(TypeError):
        table["h100-sxm"] = None  # type: ignore[index]
    assert embodied_table()["h100-sxm"].accelerator_kgco2e > 0


# -- interfaces --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "model", [*schema.REQUESTS.values(), *schema.RESULTS.values()], ids=lambda m: m.__name__
)
def test_every_model_has_a_json_schema_with_every_field_described(model):
    # what an HTTP API (FastAPI/OpenAPI) would publish for a JSON body or a response
    props = model.model_json_schema()["properties"]
    assert set(props) == set(model.model_fields)
    assert all(p.get("description") for p in props.values()), [
        k for k, p in props.items() if not p.get("description")
    ]


def test_catalog_directories_do_not_outlive_one_invocation(tmp_path):
    # --catalog lives on the invocation's context, not in module state: a second command in
    # the same process without --catalog sees the built-in catalog again
    us = Catalog().region("us")
    us_default = default_catalog().region("us")
    row = us.model_dump(mode="json") | {"electricity_usd_per_kwh": 2 * us.electricity_usd_per_kwh}
    header = ",".join(row)
    values = ",".join(
        "" if v is None else '"' + str(v).replace('"', '""') + '"' for v in row.values()
    )
    (tmp_path / "regions.csv").write_text(f"{header}\n{values}\n", encoding="utf-8")
    args = ["estimate", "--model", "llama-3.1-8b", "--accelerator", "h100-sxm", "--json"]
    runner = CliRunner()
    first = runner.invoke(app, args)
    override = runner.invoke(app, ["--catalog", str(tmp_path), *args])
    # nothing of it is left behind for code that runs outside an invocation
    from tokenfab.cli import _catalog

    assert _catalog().region("us") is us_default
    again = runner.invoke(app, args)
    power = [json.loads(r.stdout)["cost_power_usd_per_hour"] for r in (first, override, again)]
    # the power line is proportional to the electricity price: twice the price, twice the line
    assert_allclose(power[1], 2 * power[0], rtol=1e-12)
    assert power[2] == power[0]


def test_plan_refuses_two_output_formats():
    # --json and --csv both write stdout; one must be chosen, not silently the first
    r = CliRunner().invoke(
        app, ["plan", "--model", "llama-3.1-8b", "--tokens-per-day", "1e6", "--json", "--csv"]
    )
    assert isinstance(r.exception, TokenfabError)
    assert "--json, --csv: choose one output format" in str(r.exception)


@pytest.mark.parametrize(
    ("request_model", "body", "field"),
    [
        (schema.PlanRequest, {"model": "llama-3.1-8b", "tokens_per_day": 1e6}, "accelerator"),
        (schema.ExportPricesRequest, {"format": "litellm"}, "deployment"),
    ],
)
def test_an_empty_id_list_is_refused_not_read_as_the_default(request_model, body, field):
    # the rule: an empty list names nothing, so it is an error, as the CLI's `--accelerator ""`
    # is (id_list: "names no id"); the API's {"accelerator": []} planned every shipping
    # accelerator, the default of leaving the field out
    with pytest.raises(ScenarioError) as err:
        request_model.parse({**body, field: []})
    assert str(err.value) == f"{field}: give at least 1 (got [])"
    assert getattr(request_model.parse(body), field) is None  # left out: the default


@pytest.mark.parametrize(
    ("body", "message"),
    [
        # the age of a row is measured from today only in the stale list; the table of
        # `catalog accelerators --today 2020-01-01` was the table of today
        (
            {"name": "accelerators", "today": "2020-01-01"},
            "today: the date stale rows are measured from; give stale too, or drop today",
        ),
        # the stale list and the overview print no sources; --sources was dropped there
        (
            {"name": "accelerators", "stale": 3, "sources": True},
            "sources: the stale list shows ids and dates only; drop sources",
        ),
        ({"sources": True}, "sources: shows one catalog's rows with their sources; give a"),
    ],
)
def test_catalog_refuses_an_option_where_it_changes_nothing(body, message):
    with pytest.raises(ScenarioError) as err:
        schema.CatalogRequest.parse(body)
    assert str(err.value).startswith(message)
    # where they apply they stay allowed
    schema.CatalogRequest.parse({"stale": 3, "today": "2020-01-01"})
    schema.CatalogRequest.parse({"name": "accelerators", "sources": True})


@pytest.mark.parametrize("fmt", ["--json", "--csv"])
def test_plan_refuses_top_with_a_format_that_lists_every_option(fmt):
    # the rule: an option that changes nothing is refused, not dropped. --json and --csv list
    # every option whatever --top says, so `plan ... --top 1 --json` printed all four of
    # h100-sxm's; --top is refused before the plan runs
    args = ["plan", "--model", "llama-3.1-8b", "--tokens-per-day", "1e6", "--accelerator"]
    r = CliRunner().invoke(app, [*args, "h100-sxm", "--top", "1", fmt])
    assert isinstance(r.exception, TokenfabError)
    assert str(r.exception) == f"top: cuts the table only; {fmt} lists every option; drop --top"
    # without --top the format runs; the default 15 is not a choice the user made
    assert CliRunner().invoke(app, [*args, "h100-sxm", fmt]).exit_code == 0


@pytest.mark.parametrize("model", [schema.EstimateRequest, Scenario])
def test_a_yes_no_value_is_not_read_as_a_number(model):
    # pydantic's lax mode turns `true` into 1; `batch_size: true` must not become batch 1
    data = {"model": "llama-3.1-8b", "accelerator": "h100-sxm", "batch_size": True}
    with pytest.raises(TokenfabError, match="batch_size: true is a yes/no value"):
        model.parse(data)


def test_a_yaml_key_given_twice_is_refused(tmp_path):
    # PyYAML keeps the last of two equal keys; which model was meant cannot be known
    from tokenfab.fileio import load_yaml

    text = "model: llama-3.1-8b\naccelerator: h100-sxm\nmodel: llama-3.1-70b\n"
    with pytest.raises(
        TokenfabError, match=r"s.yaml:3: key 'model' appears twice \(first on line 1\)"
    ):
        load_yaml(text, "s.yaml")


def test_every_json_output_is_one_object_with_its_list_under_a_key(results):
    # a reader can rely on an object at the top (a key can be added without breaking it):
    # plan's options, frontier's points and viability's products are lists under a key
    for name, key in (("plan", "options"), ("frontier", "points"), ("viability_seed", "products")):
        doc = json.loads(results[name].model_dump_json())
        assert isinstance(doc, dict) and isinstance(doc[key], list) and doc[key], name
    plan = results["plan"]
    assert plan.feasible_options == sum(o.feasible for o in plan.options)


def test_cached_tables_handed_to_callers_are_read_only():
    # precisions and demand archetypes are cached and shared like the catalog tables
    from tokenfab.perf.precision import precision_table

    with pytest.raises(TypeError):
        precision_table()["fp8"] = None  # type: ignore[index]
    arch = demand.archetypes()
    with pytest.raises(TypeError):
        arch["chat"]["output_tokens"]["value"] = 1  # type: ignore[index]
    assert demand.archetypes()["chat"]["output_tokens"]["value"] == 300  # seed 001's figure


def test_list_outputs_are_typed_objects():
    # market --list and demand --list print one object each, validated by their models
    r = CliRunner().invoke(app, ["market", "--list", "--json"])
    listed = schema.MarketList.model_validate_json(r.stdout)
    assert {s.name for s in listed.scenarios} >= {"analyst-consensus", "seed-000-revised"}
    r = CliRunner().invoke(app, ["demand", "--list", "--json"])
    arch = schema.DemandList.model_validate_json(r.stdout)
    chat = next(a for a in arch.archetypes if a.name == "chat")
    assert chat.parameters["output_tokens"].value == 300
    assert {a.name for a in arch.archetypes} == set(demand.archetypes())


def test_literal_choices_follow_the_modules_that_read_them():
    # the request models' allowed values are the formats the readers and writers accept
    from tokenfab.calibrate.importers import READERS
    from tokenfab.usage.adapters import ADAPTERS
    from tokenfab.usage.export import FORMATS

    assert set(schema.LOG_FORMATS) == set(ADAPTERS)
    assert set(schema.EXPORT_FORMATS) == set(FORMATS)
    assert set(schema.MEASUREMENT_FORMATS) == set(READERS)


def _bounds(field) -> tuple[object, object]:
    """The (lower, upper) bound a field declares, looking inside Optional and Annotated."""
    from typing import Annotated, get_args, get_origin

    from pydantic.fields import FieldInfo

    metas, low, high = list(field.metadata), None, None

    def walk(a: object) -> None:
        if get_origin(a) is Annotated:
            metas.extend(get_args(a)[1:])
            walk(get_args(a)[0])
        else:
            for x in get_args(a):
                walk(x)

    walk(field.annotation)
    for m in metas:
        for c in m.metadata if isinstance(m, FieldInfo) else [m]:
            low = next(
                (getattr(c, k) for k in ("ge", "gt") if getattr(c, k, None) is not None), low
            )
            high = next(
                (getattr(c, k) for k in ("le", "lt") if getattr(c, k, None) is not None), high
            )
    return low, high


def test_every_numeric_request_field_declares_its_range():
    # inf, 1e30 and 1e-300 are refused by a declared range, not by luck downstream
    missing = []
    for command, model in {**schema.REQUESTS, **schema.NESTED_REQUESTS}.items():
        for name, field in model.model_fields.items():
            t = schema.value_type(field)
            if schema.is_list(field):
                t = schema._strip_optional(t.__args__[0])
            if t in (int, float) and None in _bounds(field):
                missing.append(f"{command}.{name}")
    assert not missing


@pytest.mark.parametrize(
    ("command", "args", "field"),
    [
        ("factory", ["--power-mw", "1e-300"], "power_mw"),
        ("demand", ["--archetype", "chat", "--users", "1e-300"], "users"),
        (
            "viability",
            [
                "--revenue-per-user-month",
                "1",
                "--requests-per-user-month",
                "1e-300",
                "--cost-per-request",
                "0.001",
            ],
            "requests_per_user_month",
        ),
        ("catalog", ["--stale", "1e30"], "stale"),
        ("market", ["--seed", "1e30"], "seed"),
    ],
)
def test_underflowing_and_overflowing_numbers_are_refused(command, args, field):
    r = CliRunner().invoke(app, [command, *args])
    assert r.exit_code != 0
    assert isinstance(r.exception, TokenfabError) and str(r.exception).startswith(f"{field}:")


def test_the_breakeven_table_says_its_volumes_are_output_tokens(results):
    # breakeven's volume is output tokens a day (BreakevenRow.tokens_per_day; the chart's
    # axis says so); the table's first column read "tokens/day"
    from rich.console import Console

    from tokenfab import render

    b = results["breakeven"]
    rows = [r.model_dump() for r in b.rows]
    console = Console(width=200, record=True)
    console.print(render.breakeven_table("t", rows, b.summary_lines()))
    header = next(line for line in console.export_text().splitlines() if "$/month" in line)
    assert "output tokens/day" in header


def test_a_crossover_at_the_grid_floor_reads_as_cheaper_everywhere(results):
    # llama-3.1-8b on one H100: buying is cheaper than renting from the grid's first volume
    # (a bought hour costs less than a rented one at any use), so there is no crossing to show
    b = results["breakeven"]
    assert b.grid_floor_tokens_per_day == 1e5  # breakeven.FINE_GRID_TOKENS_PER_DAY[0]
    assert b.crossover_buy_vs_rent_tokens_per_day == b.grid_floor_tokens_per_day
    lines = dict(b.summary_lines())
    # the volume says what it counts, as the table's "output tokens/day" column does (both
    # read "tokens/day", which a reader could take for prompt and output tokens together)
    assert lines["buying cheaper than renting from"] == (
        "every volume (the lowest searched is 1e+05 output tokens/day)"
    )
    # a real crossing above the floor is shown as a volume: llama-3.1-70b on one H100 group
    # (the API is cheaper at low volume, buying above a few 1e7 tokens a day)
    b70 = schema.BreakevenResult.from_analysis(
        analyse({"model": "llama-3.1-70b", "accelerator": "h100-sxm"}, default_catalog())
    )
    api = b70.crossover_buy_vs_api_tokens_per_day
    assert api is not None and api > b70.grid_floor_tokens_per_day
    assert dict(b70.summary_lines())["buying cheaper than the API from"] == (
        f"{api:.3g} output tokens/day"
    )


def test_breakeven_summary_labels_are_words_with_the_unit_on_the_value(results):
    # the labels were the keys with spaces: "payback vs api at 10M tokens per day months" beside
    # "408.9 months", "crossover buy vs api sustained tokens per day"; now each reads as words
    # and the unit is on the value only. 3 crossovers + 2 paybacks x 3 volumes = 9 lines.
    labels = [what for what, _ in results["breakeven"].summary_lines()]
    assert labels == [
        "buying cheaper than the API from",
        "buying cheaper than the API for good from",
        "buying cheaper than renting from",
        *(
            f"payback of buying vs {against} at {volume} tokens/day"
            for against in ("the API", "renting")
            for volume in ("10M", "100M", "1B")
        ),
    ]


def test_a_bad_mix_names_its_value_once():
    # the line names the value once ("got ','"), not twice as "'' is not ... (got ',')"
    with pytest.raises(TokenfabError) as info:
        schema.FactoryRequest.parse({"mix": ","})
    assert str(info.value).count("','") == 1 and "''" not in str(info.value)
    with pytest.raises(TokenfabError) as info:
        schema.FactoryRequest.parse({"mix": "foo"})
    assert str(info.value).count("foo") == 1


def test_catalog_stale_months_are_above_zero_in_the_request_as_in_the_catalog():
    # stale_rows refuses 0 months ("months must be positive"); the request said 0 to 1200 and
    # let 0 through to that other message; now the request's own range says above 0
    from tokenfab.errors import TokenfabError
    from tokenfab.schema import CatalogRequest

    with pytest.raises(
        TokenfabError, match=r"^stale: 0 is out of range; allowed: above 0 to 1200$"
    ):
        CatalogRequest.parse({"stale": 0})
    assert CatalogRequest.parse({"stale": 0.5}).stale == 0.5


@pytest.mark.parametrize(
    ("cls", "body", "field", "value"),
    [
        # QA: `factory --accelerator h100-sxm,h100-sxm` printed the same factory twice
        ("FactoryRequest", {"accelerator": "h100-sxm,h100-sxm"}, "accelerator", "h100-sxm"),
        # over HTTP the list comes as a list
        ("FactoryRequest", {"accelerator": ["b200", "b200"]}, "accelerator", "b200"),
        ("UsageWhatifRequest", {"logs": "a.csv", "api": "gpt-4o,gpt-4o"}, "api", "gpt-4o"),
    ],
)
def test_a_list_names_each_id_once(cls, body, field, value):
    with pytest.raises(
        TokenfabError, match=rf"^{field}: {value} given more than once; list each once"
    ):
        getattr(schema, cls).parse(body)


def test_a_nested_entrys_own_check_names_one_path():
    # a demand entry's yes/no check (DemandEntry's model-level validator) names its field,
    # and the entry's place comes before it: "archetypes.0.users: ...", one dotted path as a
    # range error at the same place has ("archetypes.0.users: -5 is out of range"), not
    # "archetypes.0: users: ..."
    body = {"archetypes": [{"archetype": "chat", "users": True}]}
    with pytest.raises(TokenfabError) as exc:
        schema.DemandRequest.parse(body)
    assert str(exc.value).startswith("archetypes.0.users: true is a yes/no value"), exc.value
