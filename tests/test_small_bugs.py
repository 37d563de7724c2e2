"""Small bugs users found: numbers printed sanely, rentals priced without a power figure, range
errors in tokenfab's own words, a warning for closed-loop clients far beyond the batch."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tokenfab import cli
from tokenfab.api import create_app
from tokenfab.render import fmt

with warnings.catch_warnings():  # starlette's TestClient notes that httpx2 exists
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


def invoke(*args: str):
    return CliRunner().invoke(cli.app, list(args), catch_exceptions=False)


# -- numbers print in a readable form -------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.234e299, "1.23e+299"),  # 3 significant figures in exponent form, not 300 digits
        (-1.234e299, "-1.23e+299"),
        (float("inf"), "inf"),
        (10**20, "1e+20"),  # an int as large: the same
        (999_999_999_999_999.0, "999,999,999,999,999"),  # below 1e15: thousands separated
        (1234.4, "1,234"),
        (0.0508125, "0.0508"),
    ],
)
def test_fmt_writes_a_huge_number_in_exponent_form(value, text):
    assert fmt(value) == text


def test_route_prints_a_tiny_success_rate_cost_in_exponent_form():
    # before: the cost per success 0.1125 / 1e-300 = 1.125e299 printed as 300 digits
    r = invoke("route", "--success-big", "1e-300")
    assert r.exit_code == 0
    assert "1.13e+299" in r.stdout  # 0.1125 $/request / 1e-300 success, 3 figures
    assert not re.findall(r"\d{16,}", r.stdout)  # no run of 16 or more digits


def test_viability_prints_a_huge_negative_margin_in_exponent_form():
    # margin = (1e-290 - 1e9) / 1e-290 = -1e299, i.e. -1e301 %; before: 300 digits and a %
    r = invoke("viability", "--cost-per-request", "1e9", "--revenue-per-request", "1e-290")
    assert r.exit_code == 0
    assert "-1e+301%" in r.stdout
    assert not re.findall(r"\d{16,}", r.stdout.replace(",", ""))


def test_market_prints_runaway_volumes_in_exponent_form():
    # a 99 %/year price decline at elasticity 3 multiplies volume by 0.01**-3 = 1e6 a year:
    # 2030's market and GW run past 1e15 and print as 3 significant figures
    r = invoke(
        "market", "--scenario", "jevons", "--elasticity", "3", "--price-decline", "0.99",
        "--samples", "0",
    )  # fmt: skip
    assert r.exit_code == 0
    assert re.search(r"\de\+\d\d", r.stdout)
    assert not re.findall(r"\d{19,}", r.stdout.replace(",", ""))  # below 1e15: at most 18


# -- closed-loop clients beyond the batch ---------------------------------------------------

EST_8B = ["estimate", "--model", "llama-3.1-8b", "--accelerator", "h100-sxm"]


def test_concurrency_far_beyond_the_batch_is_a_warning_in_cli_json_and_api():
    r = invoke(*EST_8B, "--concurrency", "100000", "--json")
    d = json.loads(r.stdout)
    in_flight = d["batch_size"] * d["replicas"]  # every replica full: batch = max batch
    assert d["batch_size"] == d["max_batch_size"]
    line = d["warnings"].split("\n")[0]
    # 100,000 clients - batch x replicas in flight wait for a slot
    assert line.startswith(
        f"concurrency: 100,000 closed-loop clients exceed the {in_flight:,} sequences in flight"
    )
    assert f"{100_000 - in_flight:,} (" in line
    text = invoke(*EST_8B, "--concurrency", "100000")
    assert line[:60] in text.stdout  # printed under the table too (wrapped to the terminal)
    api = TestClient(create_app()).post(
        "/api/v1/estimate",
        json={"model": "llama-3.1-8b", "accelerator": "h100-sxm", "concurrency": 100000},
    )
    assert api.status_code == 200
    assert api.json()["warnings"].split("\n")[0] == line


def test_concurrency_within_the_batch_gives_no_warning():
    # 8 clients on one H100 with Llama 3.1 8B: all in flight (max batch is in the hundreds)
    d = json.loads(invoke(*EST_8B, "--concurrency", "8", "--json").stdout)
    assert d["batch_size"] == 8
    assert "concurrency" not in (d["warnings"] or "")


def test_a_ttft_beyond_a_second_prints_in_seconds():
    # before: "17,515,018 ms"; a TTFT over 1,000 s prints whole seconds, thousands separated
    r = invoke(*EST_8B, "--concurrency", "100000")
    row = next(line for line in r.stdout.splitlines() if "time to first token" in line)
    assert re.search(r"\d{1,3}(,\d{3})+ s ", row) and " ms" not in row


# -- plan reads a scenario file without an accelerator ---------------------------------------


def test_plan_takes_a_scenario_file_without_an_accelerator(tmp_path):
    # plan weighs every accelerator and ignores a file's accelerator, so a file with only a
    # model and a demand is a complete plan request (it was refused: "accelerator: Field
    # required"), as `plan --model llama-3.1-8b --tokens-per-day 1e9` is
    from tokenfab import schema
    from tokenfab.errors import ScenarioError

    f = tmp_path / "p.yaml"
    f.write_text("model: llama-3.1-8b\ntokens_per_day: 1.0e+9\n", encoding="utf-8")
    req = cli.request_from(schema.PlanRequest, {}, f, ("accelerator", "ownership"))
    assert (req.model, req.tokens_per_day, req.accelerator) == ("llama-3.1-8b", 1e9, None)
    # the accelerator is still required where the command needs one
    with pytest.raises(ScenarioError, match=r"accelerator: required \(not given\)"):
        cli.request_from(schema.EstimateRequest, {}, f)


# -- a rental without a published power is priced; energy and carbon are not available ---------

TPU_RENT = [
    "estimate",
    "--model",
    "llama-3.1-8b",
    "--accelerator",
    "tpu-v6e",
    "--ownership",
    "rent",
]


def test_a_rented_tpu_is_priced_without_power_and_energy_is_null():
    d = json.loads(invoke(*TPU_RENT, "--json").stdout)
    # the cheapest TPU v6e offer of the rentals catalog: Google Cloud on-demand, $2.70 a
    # chip-hour (gcp-tpu-v6e-2024-12); a month of one chip is 2.70 x 730 h = $1,971
    assert d["cost_usd_per_accelerator_hour"] == pytest.approx(2.70, rel=1e-12)
    assert d["cost_rental_usd_per_hour"] == pytest.approx(2.70, rel=1e-12)
    assert d["monthly_cost_usd"] == pytest.approx(2.70 * 730 * d["accelerators_needed"])
    assert d["cost_error"] is None
    for key in ("power_w", "tokens_per_joule", "co2e_g_per_mtok", "energy_kwh_per_month"):
        assert d[key] is None, key  # not public: null, never 0
    assert "tpu-v6e's power is not public" in d["energy_error"]


def test_a_rented_tpu_prints_its_cost_and_why_carbon_is_missing():
    out = invoke(*TPU_RENT).stdout
    head = out.splitlines()[0]
    assert head.startswith("$0.") and "carbon not available (power not public)" in head
    assert "Energy and carbon KPIs not available" in out


def test_a_bought_tpu_says_it_has_no_purchase_price_not_no_power():
    # Google sells no TPUs: the reason is the price (rent instead); energy needs power as well
    d = json.loads(
        invoke("estimate", "--model", "llama-3.1-8b", "--accelerator", "tpu-v6e", "--json").stdout
    )
    assert d["cost_error"].startswith("ownership: tpu-v6e has no sourced purchase price")
    assert "power is not public" in d["energy_error"]


def test_plan_ranks_the_rented_tpu_with_energy_null():
    r = invoke(
        "plan", "--model", "llama-3.1-8b", "--accelerator", "tpu-v6e", "--tokens-per-day", "1e9",
        "--json",
    )  # fmt: skip
    rows = json.loads(r.stdout)["options"]
    rent = next(o for o in rows if o["ownership"] == "rent")
    assert rent["feasible"] and rent["cost_usd_per_mtok_output"] > 0
    assert rent["co2e_g_per_mtok"] is None and "not public" in rent["energy_error"]
    text = invoke("plan", "--model", "llama-3.1-8b", "--accelerator", "tpu-v6e",
                  "--tokens-per-day", "1e9").stdout  # fmt: skip
    assert "n/a: the accelerator's power is not public" in text


def test_api_prices_a_rented_tpu_like_the_cli():
    api = TestClient(create_app()).post(
        "/api/v1/estimate",
        json={"model": "llama-3.1-8b", "accelerator": "tpu-v6e", "ownership": "rent"},
    )
    assert api.status_code == 200
    d = api.json()
    cli_d = json.loads(invoke(*TPU_RENT, "--json").stdout)
    assert d["cost_usd_per_mtok_output"] == pytest.approx(cli_d["cost_usd_per_mtok_output"])
    assert d["co2e_g_per_mtok"] is None and d["energy_error"] == cli_d["energy_error"]


def test_montecarlo_and_project_of_a_rented_tpu_run(tmp_path):
    f = tmp_path / "tpu.yaml"
    f.write_text("model: llama-3.1-8b\naccelerator: tpu-v6e\nownership: rent\n"
                 "tokens_per_day: 1.0e9\n")  # fmt: skip
    mc = json.loads(invoke("montecarlo", str(f), "--samples", "50", "--json").stdout)
    assert mc["kpis"]["cost_usd_per_mtok_output"]["mean"] > 0
    proj = json.loads(invoke("project", str(f), "--json").stdout)
    year0 = proj["years"][0]
    assert year0["rent_usd_per_mtok"] > 0 and year0["buy_co2e_t"] is None
    html = tmp_path / "r.html"
    assert invoke("report", str(f), "--out", str(html)).exit_code == 0
    assert "Energy and carbon not available" in html.read_text()


# -- range errors in tokenfab's words, whatever the path -----------------------------------

PYDANTIC_WORDS = ("Input should", "Field required", "Extra inputs", "List should", "valid")


def _every_request_field():
    from tokenfab import operations

    for name, op in operations.OPERATIONS.items():
        for field in op.request.model_fields:
            yield name, op, field


@pytest.mark.parametrize("value", [-1e300, 1e300, float("nan"), -1, 2.5, "abc", [1], {"a": 1}])
def test_no_request_field_answers_in_pydantic_words(value):
    # every field of every command's request (CLI flag, YAML, API body alike): a bad value is
    # one line naming the field, never pydantic's "Input should be ..."
    from tokenfab.errors import TokenfabError

    for name, op, field in _every_request_field():
        try:
            op.parse({field: value})
        except TokenfabError as exc:
            text = str(exc)
            assert not any(w in text for w in PYDANTIC_WORDS), (name, field, text)
            assert "\n" not in text


@pytest.mark.parametrize(
    ("args", "line"),
    [
        # RequestModel fields without a Scenario twin (market, route, demand): the range
        # declared on the request's own field (elasticity 0 to 3, MarketRequest)
        (("market", "--elasticity", "-3"), "elasticity: -3.0 is out of range; allowed: 0 to 3"),
        (("route", "--routed-share", "1.5"), "routed_share: 1.5 is out of range; allowed: 0 to 1"),
        (("market", "--samples", "abc"), "samples: 'abc' is not a number; allowed: 0 to 1e+06"),
        # terminal options typer checks itself: the bound they break (--top >= 1)
        (
            ("plan", "--model", "llama-3.1-8b", "--tokens-per-day", "1e9", "--top", "-1"),
            "top: -1 is out of range; allowed: 1 or more",
        ),
        (
            ("plan", "--model", "llama-3.1-8b", "--tokens-per-day", "1e9", "--top", "2.5"),
            "top: 2.5 is not a whole number",
        ),
        # an option with both bounds says both, whichever it breaks (QA: `serve --port 0` said
        # "allowed: 1 or more", a port being 1 to 65535 = 2^16 - 1)
        (("serve", "--workers", "100"), "workers: 100 is out of range; allowed: 1 to 64"),
        (("serve", "--port", "0"), "port: 0 is out of range; allowed: 1 to 65535"),
        (("serve", "--port", "65536"), "port: 65536 is out of range; allowed: 1 to 65535"),
        (("serve", "--port", "x"), "port: 'x' is not a number; allowed: 1 to 65535"),
    ],
)
def test_cli_range_errors_are_tokenfab_lines(args, line):
    assert invoke_err(*args).startswith(f"error: {line}")


def test_yaml_projection_and_api_say_the_same_range_line(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text(
        "model: llama-3.1-8b\naccelerator: h100-sxm\ntokens_per_day: 1e9\nprojection:\n  years: 0\n"
    )
    r = invoke_err("project", str(f))
    # ProjectionInputs.years is declared 1 to 30
    assert r.endswith("s.yaml:5: projection.years: 0 is out of range; allowed: 1 to 30")
    api = TestClient(create_app()).post(
        "/api/v1/project",
        json={
            "scenario": {
                "model": "llama-3.1-8b", "accelerator": "h100-sxm", "tokens_per_day": 1e9,
                "projection": {"years": 0},
            }
        },
    )  # fmt: skip
    assert api.status_code == 422
    assert api.json()["detail"] == "projection.years: 0 is out of range; allowed: 1 to 30"


def test_a_catalog_row_out_of_range_is_a_tokenfab_line(tmp_path):
    import csv

    from tokenfab.catalog import Catalog
    from tokenfab.errors import CatalogError

    src = Path(cli.__file__).parent / "data" / "accelerators.csv"
    rows = list(csv.DictReader(src.open(encoding="utf-8")))
    row = next(r for r in rows if r["id"] == "h100-sxm")
    row["memory_gb"] = "-80"
    with (tmp_path / "accelerators.csv").open("w", encoding="utf-8", newline="") as out:
        w = csv.DictWriter(out, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerow(row)
    with pytest.raises(CatalogError) as info:
        Catalog([tmp_path]).accelerator("h100-sxm")
    text = str(info.value)
    assert "memory_gb: -80 is out of range; allowed: above 0" in text
    assert "Input should" not in text


def invoke_err(*args: str) -> str:
    import subprocess
    import sys

    p = subprocess.run(
        [sys.executable, "-c", "from tokenfab.cli import main; main()", *args],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert p.returncode == 2, p.stderr
    return p.stderr.strip()


def test_a_projection_growing_past_the_demand_range_is_refused_not_a_crash(tmp_path):
    # 1e9 tokens a day x 101 a year: 1e9 x 101**14 = 1.15e37 a day by year 14, past
    # tokens_per_day's 1e16 (before: OverflowError, the fleet past int64, a "bug:" line)
    f = tmp_path / "p.yaml"
    f.write_text("model: llama-3.1-8b\naccelerator: h100-sxm\ntokens_per_day: 1e9\n")
    line = invoke_err("project", str(f), "--demand-growth-per-year", "100", "--years", "15")
    assert line.startswith("error: demand_growth_per_year: 100 a year for 14 years grows")
    assert "beyond tokens_per_day's range (at most 1e+16)" in line


def test_concurrency_with_a_prefill_pool_is_refused():
    # the prefill/decode pools never read the clients: 4 clients on an H100 prefill and an
    # H100 decode replica reported batch 223 and 8.1 requests/s (4 clients keep at most 4
    # sequences in flight), and 100,000 clients "99,777 wait in the queue, 0 ms of the 26 ms
    # TTFT". Until the pools model closed-loop clients the pair is refused, as concurrency
    # with disaggregated is
    line = invoke_err(*EST_8B, "--prefill-accelerator", "h100-sxm", "--concurrency", "4")
    assert line.startswith("error: concurrency: closed-loop clients set the batch and the load")
    assert "drop prefill_accelerator" in line


def test_a_tiny_cost_per_request_prints_its_figures_not_zeros():
    # 1 prompt and 1 output token a request: a few 1e-8 dollars, printed "$0.00000" before
    d = json.loads(invoke(*EST_8B, "--input-tokens", "1", "--output-tokens", "1", "--json").stdout)
    assert d["cost_usd_per_request"] < 1e-5
    out = invoke(*EST_8B, "--input-tokens", "1", "--output-tokens", "1").stdout
    row = next(line for line in out.splitlines() if "cost per request / per task" in line)
    assert f"${d['cost_usd_per_request']:.3g}" in row and "0.00000" not in row


def test_sensitivity_of_carbon_on_a_tpu_says_why_once(tmp_path):
    # every sample of a TPU's carbon is null (its power is not public): one line, not a
    # tornado of dashes
    f = tmp_path / "tpu.yaml"
    f.write_text("model: llama-3.1-8b\naccelerator: tpu-v6e\nownership: rent\n")
    line = invoke_err("sensitivity", str(f), "--kpi", "co2e_g_per_mtok")
    assert line.startswith("error: kpi: co2e_g_per_mtok is not available: accelerator: tpu-v6e")
