"""The ``tokenfab`` command line, run as a user runs it: the installed console script.

Every command runs once, in parallel, in a module-scoped fixture (each is ~0.5 s of process
start-up); the tests then check exit codes, stderr and the numbers in the JSON/CSV output.
The expected values are invariants of the KPI definitions (kpis.py) or figures read from the
catalogs, so each can be checked by hand.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from numpy.testing import assert_allclose

from tokenfab.catalog import TABLES, Catalog

TOKENFAB = Path(sys.executable).parent / "tokenfab"
ENV = {k: v for k, v in os.environ.items() if k != "TOKENFAB_CATALOG"}
HOURS_PER_MONTH = 730.0  # 8760 h / 12, kpis.HOURS_PER_MONTH
SECONDS_PER_DAY = 86_400.0

# llama-3.1-70b in FP8 on 8 x H100 SXM: the scenario of the project's issues
EST = (
    "estimate",
    "--model",
    "llama-3.1-70b",
    "--accelerator",
    "h100-sxm",
    "--accelerators",
    "8",
    "--precision",
    "fp8",
)
# the same without a count: with a demand, the estimate sizes the deployment itself
EST_SIZED = tuple(a for i, a in enumerate(EST) if i not in (5, 6))
E8B = ("estimate", "--model", "llama-3.1-8b", "--accelerator", "h100-sxm")

SCENARIO_YAML = "model: llama-3.1-70b\naccelerator: h100-sxm\naccelerators: 8\nprecision: fp8\n"
BAD_YAML = "model: [llama-3.1-70b\n  accelerator: : h100-sxm\n"

COMMANDS: dict[str, tuple[str, ...]] = {
    # catalogs
    "catalog": ("catalog",),
    "catalog_models_json": ("catalog", "models", "--json"),
    "catalog_accelerators_sources": ("catalog", "accelerators", "--sources"),
    # estimate and its flags
    "base": (*EST, "--json"),
    "text": EST,
    "util_0.4": (*EST, "--utilization", "0.4", "--json"),
    "japan_buy": (*EST, "--region", "japan", "--json"),
    "us_rent": (*EST, "--ownership", "rent", "--json"),
    "japan_rent": (*EST, "--ownership", "rent", "--region", "japan", "--json"),
    "tpd_1e9": (*EST_SIZED, "--tokens-per-day", "1e9", "--json"),
    "tpd_1e10": (*EST_SIZED, "--tokens-per-day", "1e10", "--json"),
    "tpd_1e10_peak3": (
        *EST_SIZED,
        "--tokens-per-day",
        "1e10",
        "--peak-to-average",
        "3",
        "--json",
    ),
    "rps_30": (*EST_SIZED, "--requests-per-second", "30", "--json"),
    "rps_1e4": (*EST_SIZED, "--requests-per-second", "1e4", "--json"),
    "rps_1e4_on_8": (*EST, "--requests-per-second", "1e4", "--json"),
    "util_with_demand": (*EST_SIZED, "--tokens-per-day", "1e9", "--utilization", "0.5"),
    "peak_without_demand": (*EST, "--peak-to-average", "2"),
    "acceptance_without_draft": (*EST, "--acceptance-rate", "0.7"),
    "unpriced_buy": (
        "estimate",
        "--model",
        "llama-3.1-70b",
        "--accelerator",
        "gb300",
        "--accelerators",
        "8",
        "--precision",
        "fp8",
        "--ownership",
        "buy",
        "--json",
    ),
    # bad input
    "unknown_model": ("estimate", "--model", "llama-3.1-70bb", "--accelerator", "h100-sxm"),
    "unknown_accelerator": ("estimate", "--model", "llama-3.1-70b", "--accelerator", "h100-sx"),
    "fp8_on_a100": (
        "estimate",
        "--model",
        "llama-3.1-8b",
        "--accelerator",
        "a100-sxm-80gb",
        "--precision",
        "fp8",
    ),
    "does_not_fit": (
        "estimate",
        "--model",
        "llama-3.1-405b",
        "--accelerator",
        "h100-sxm",
        "--accelerators",
        "1",
        "--precision",
        "bf16",
    ),
    "negative_input_tokens": (*E8B, "--input-tokens", "-5"),
    "utilization_1.5": (*E8B, "--utilization", "1.5"),
    "prefix_cache_1.0": (*E8B, "--prefix-cache-hit-rate", "1.0"),
    "impossible_tpot": (*E8B, "--tpot-slo-s", "0.00001"),
    "unknown_region": (*E8B, "--region", "mars"),
    "bad_yaml": ("estimate", "--scenario", "bad.yaml"),
    "broken_catalog": ("--catalog", "broken", *E8B),
    "unknown_flag": (*E8B, "--bogus"),
    # plan, frontier, break-even
    "plan_json": ("plan", "--model", "llama-3.1-8b", "--tokens-per-day", "1e8", "--json"),
    "plan_csv": ("plan", "--model", "llama-3.1-8b", "--tokens-per-day", "1e8", "--csv"),
    "plan_infeasible": (
        "plan",
        "--model",
        "llama-3.1-8b",
        "--tokens-per-day",
        "1e8",
        "--tpot-slo-s",
        "0.0001",
    ),
    "frontier": (
        "frontier",
        "--model",
        "llama-3.1-8b",
        "--accelerator",
        "h100-sxm,b200",
        "--accelerators",
        "1",
        "--out",
        "charts/f.html",
        "--json",
    ),
    "breakeven": (
        "breakeven",
        "--model",
        "llama-3.1-8b",
        "--accelerator",
        "h100-sxm",
        "--region",
        "us",
    ),
    "breakeven_json": (
        "breakeven",
        "--model",
        "llama-3.1-8b",
        "--accelerator",
        "h100-sxm",
        "--region",
        "us",
        "--json",
    ),
    # scenario files
    "scenario": ("estimate", "--scenario", "scenario.yaml", "--json"),
    "scenario_override": ("estimate", "--scenario", "scenario.yaml", "--region", "japan", "--json"),
}


def tokenfab(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the installed ``tokenfab`` console script with the built-in catalogs only."""
    return subprocess.run(
        [str(TOKENFAB), *args], cwd=cwd, env=ENV, capture_output=True, text=True, timeout=120
    )


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("cli")
    (d / "scenario.yaml").write_text(SCENARIO_YAML, encoding="utf-8")
    (d / "bad.yaml").write_text(BAD_YAML, encoding="utf-8")
    (d / "broken").mkdir()
    (d / "charts").mkdir()  # --out needs its folder to exist
    # an accelerators override missing the required columns (source, as_of, ...)
    (d / "broken" / "accelerators.csv").write_text("id,vendor\nfoo\n", encoding="utf-8")
    return d


@pytest.fixture(scope="module")
def runs(workdir: Path) -> dict[str, subprocess.CompletedProcess[str]]:
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {k: pool.submit(tokenfab, *a, cwd=workdir) for k, a in COMMANDS.items()}
    return {k: f.result() for k, f in futures.items()}


def ok_json(runs: dict[str, subprocess.CompletedProcess[str]], name: str):
    r = runs[name]
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    return json.loads(r.stdout)


# -- catalog -----------------------------------------------------------------------------------


def test_catalog_overview_lists_every_catalog(runs):
    r = runs["catalog"]
    assert r.returncode == 0, r.stderr
    for name in TABLES:
        assert name in r.stdout


def test_catalog_models_json_records_are_sourced(runs):
    records = ok_json(runs, "catalog_models_json")
    assert len(records) >= 16
    for rec in records:
        assert rec["source"], rec["id"]
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", rec["as_of"]), rec["id"]


def test_catalog_sources_column(runs):
    r = runs["catalog_accelerators_sources"]
    assert r.returncode == 0, r.stderr
    assert "source" in r.stdout
    assert "h100-sxm" in r.stdout


# -- estimate ----------------------------------------------------------------------------------

ESTIMATE_KEYS = [
    "model",
    "accelerator",
    "accelerators",
    "tensor_parallel",
    "precision",
    "batch_size",
    "input_tokens",
    "output_tokens",
    "prefill_tok_s",
    "output_tok_s_total",
    "output_tok_s_per_accelerator",
    "output_tok_s_per_user",
    "ttft_s",
    "tpot_s",
    "roofline_output_tok_s_total",
    "bound",
    "cost_usd_per_accelerator_hour",
    "cost_usd_per_mtok_input",
    "cost_usd_per_mtok_output",
    "cost_usd_per_mtok_blended",
    "cost_usd_per_request",
    "accelerators_needed",
    "monthly_cost_usd",
    "power_w",
    "tokens_per_joule",
    "energy_kwh_per_month",
    "co2e_kg_per_month",
    "co2e_g_per_mtok",
]


def test_estimate_json_is_one_flat_object_with_the_issue_keys(runs):
    d = ok_json(runs, "base")
    assert isinstance(d, dict)
    assert not [k for k in ESTIMATE_KEYS if k not in d]
    assert not [k for k, v in d.items() if isinstance(v, dict | list)]
    assert (d["model"], d["accelerator"], d["accelerators"], d["precision"]) == (
        "llama-3.1-70b",
        "h100-sxm",
        8,
        "fp8",
    )


def test_estimate_json_invariants(runs):
    d = ok_json(runs, "base")
    # per-accelerator throughput is the total over the accelerators
    assert_allclose(
        d["output_tok_s_per_accelerator"] * d["accelerators"], d["output_tok_s_total"], rtol=1e-9
    )
    # what one user sees is one token per TPOT
    assert_allclose(d["output_tok_s_per_user"], 1.0 / d["tpot_s"], rtol=1e-9)
    # the estimate never beats the roofline of the same hardware
    assert d["output_tok_s_total"] <= d["roofline_output_tok_s_total"]
    # energy_kwh_per_month is *facility* energy (IT power x PUE x 730 h, kpis.py), so carbon is
    # that energy times the grid intensity of the region (us: 383.8 g/kWh, regions.csv) / 1000
    us = Catalog().region("us")
    assert d["region"] == "us"
    assert_allclose(
        d["co2e_kg_per_month"], d["energy_kwh_per_month"] * us.grid_co2e_g_per_kwh / 1000, rtol=1e-9
    )
    # facility energy: 8 x power per accelerator x PUE 1.56 x 730 h / 1000
    assert_allclose(
        d["energy_kwh_per_month"], d["power_w"] * us.pue * HOURS_PER_MONTH / 1000, rtol=1e-9
    )
    # installed capacity is paid every hour of the 730-hour month
    assert_allclose(
        d["monthly_cost_usd"],
        d["cost_usd_per_accelerator_hour"] * d["accelerators_needed"] * HOURS_PER_MONTH,
        rtol=1e-9,
    )
    # without a demand the deployment is the given 8 accelerators
    assert d["accelerators_needed"] == 8
    assert d["cost_error"] is None


def test_estimate_text_output(runs):
    r = runs["text"]
    assert r.returncode == 0, r.stderr
    # the panel title names the model and accelerator by their catalog names
    cat = Catalog()
    assert cat.model("llama-3.1-70b").name in r.stdout
    assert f"8 x {cat.accelerator('h100-sxm').name}" in r.stdout


def test_higher_utilization_lowers_cost_per_token(runs):
    base, low = ok_json(runs, "base"), ok_json(runs, "util_0.4")
    assert base["utilization"] == 0.8  # cost_assumptions.csv default_utilization
    assert low["utilization"] == 0.4
    # half the tokens served; the installed cost is the same except the power line, which
    # falls as more hours idle (average draw = u x serving + (1 - u) x idle)
    assert low["cost_power_usd_per_hour"] < base["cost_power_usd_per_hour"]
    others = [k for k in base if k.startswith("cost_") and k.endswith("_usd_per_hour")]
    for k in others:
        if k != "cost_power_usd_per_hour":
            assert low[k] == base[k], k
    # per token: (C - dP) / (T u / 2) = 2 C / (T u) minus the power saving
    saving = base["cost_power_usd_per_hour"] - low["cost_power_usd_per_hour"]
    hourly = base["cost_usd_per_accelerator_hour"]
    assert_allclose(
        low["cost_usd_per_mtok_blended"],
        2 * base["cost_usd_per_mtok_blended"] * (hourly - saving) / hourly,
        rtol=1e-9,
    )
    assert low["cost_usd_per_mtok_blended"] > base["cost_usd_per_mtok_blended"]


def test_region_electricity_price_moves_buy_cost_not_rent(runs):
    us, jp = ok_json(runs, "base"), ok_json(runs, "japan_buy")
    us_rent, jp_rent = ok_json(runs, "us_rent"), ok_json(runs, "japan_rent")
    cat = Catalog()
    # regions.csv: Japan 0.14 $/kWh > US 0.0806 $/kWh, same PUE 1.56
    assert cat.region("japan").electricity_usd_per_kwh > cat.region("us").electricity_usd_per_kwh
    assert jp["cost_usd_per_accelerator_hour"] > us["cost_usd_per_accelerator_hour"]
    # only the power line moves, in proportion to the price: 0.14 / 0.0806
    ratio = cat.region("japan").electricity_usd_per_kwh / cat.region("us").electricity_usd_per_kwh
    assert_allclose(jp["cost_power_usd_per_hour"], us["cost_power_usd_per_hour"] * ratio, rtol=1e-9)
    assert jp["cost_accelerator_capex_usd_per_hour"] == us["cost_accelerator_capex_usd_per_hour"]
    # a rental is a market price: the region's electricity does not change it
    assert us_rent["cost_usd_per_accelerator_hour"] == jp_rent["cost_usd_per_accelerator_hour"]
    assert us_rent["ownership"] == "rent"
    # carbon follows the grid: Japan 483.4 g/kWh vs US 383.8 g/kWh at the same energy
    assert_allclose(jp["co2e_kg_per_month"] / us["co2e_kg_per_month"], 483.4 / 383.8, rtol=1e-9)


def _check_sizing(d: dict, demand_tok_s: float, peak: float) -> int:
    """Replicas installed: whole replicas whose capacity at the reached batch carries the peak,
    and the utilisation is the average demand over that capacity; returns the count."""
    replicas = d["replicas"]
    per_replica_accelerators = d["accelerators_needed"] // replicas
    assert replicas * per_replica_accelerators == d["accelerators_needed"]
    per_replica_tok_s = d["output_tok_s_per_accelerator"] * per_replica_accelerators
    assert replicas * per_replica_tok_s >= demand_tok_s * peak * (1 - 1e-9)
    assert_allclose(d["utilization"], demand_tok_s / (replicas * per_replica_tok_s), rtol=1e-9)
    return replicas


def test_tokens_per_day_sizes_the_deployment(runs):
    low, high, peak = (ok_json(runs, k) for k in ("tpd_1e9", "tpd_1e10", "tpd_1e10_peak3"))
    # 1e9 and 1e10 output tokens/day = 11,574 and 115,741 tok/s on average
    r_low = _check_sizing(low, 1e9 / SECONDS_PER_DAY, 1.0)
    r_high = _check_sizing(high, 1e10 / SECONDS_PER_DAY, 1.0)
    r_peak = _check_sizing(peak, 1e10 / SECONDS_PER_DAY, 3.0)
    assert r_low < r_high < r_peak
    assert low["accelerators_needed"] < high["accelerators_needed"] < peak["accelerators_needed"]
    # capacity for a 3x peak is idle on average: utilisation at most 1/3
    assert peak["utilization"] <= 1 / 3
    assert peak["monthly_cost_usd"] > high["monthly_cost_usd"]


def test_requests_per_second_sizes_the_deployment(runs):
    # rate x output tokens per request (default workload: 1000) is the token demand
    d = ok_json(runs, "rps_30")
    assert d["output_tokens"] == 1000
    _check_sizing(d, 30 * d["output_tokens"], 1.0)


def test_requests_beyond_one_deployment_add_replicas(runs):
    # 1e4 requests/s x 1000 tokens = 1e7 tok/s: with no count given the estimate sizes for the
    # demand; with --accelerators 8 it honours the count and refuses, naming the field
    d = ok_json(runs, "rps_1e4")
    replicas = _check_sizing(d, 1e4 * d["output_tokens"], 1.0)
    assert d["accelerators_needed"] > 8
    assert replicas > 2
    r = runs["rps_1e4_on_8"]
    assert r.returncode == 2
    assert r.stderr.startswith("error: accelerators: 8 x h100-sxm cannot carry")


@pytest.mark.parametrize(
    ("key", "field"),
    [
        ("util_with_demand", "utilization"),
        ("peak_without_demand", "peak_to_average"),
        ("acceptance_without_draft", "acceptance_rate"),
    ],
)
def test_flags_that_would_be_ignored_are_refused(runs, key, field):
    r = runs[key]
    assert r.returncode == 2
    assert r.stderr.startswith(f"error: {field}: ")
    assert len(r.stderr.strip().splitlines()) == 1


def test_estimate_json_invariants_hold_with_a_demand(runs):
    d = ok_json(runs, "tpd_1e10")
    assert_allclose(
        d["output_tok_s_per_accelerator"] * d["accelerators"], d["output_tok_s_total"], rtol=1e-9
    )
    assert d["output_tok_s_total"] <= d["roofline_output_tok_s_total"]


def test_missing_purchase_price_keeps_the_estimate_and_says_why(runs):
    d = ok_json(runs, "unpriced_buy")
    # accelerators.csv has no sourced purchase price for gb300
    assert d["cost_error"] and "price" in d["cost_error"] and "gb300" in d["cost_error"]
    assert d["cost_usd_per_mtok_blended"] is None
    assert d["monthly_cost_usd"] is None
    # performance, energy and carbon do not need a price
    assert d["output_tok_s_total"] > 0
    assert d["co2e_kg_per_month"] is not None and d["co2e_kg_per_month"] > 0


# -- bad input ---------------------------------------------------------------------------------

BAD = {
    # name: strings the one-line message must contain
    "unknown_model": ("models", "llama-3.1-70bb", "did you mean", "llama-3.1-70b"),
    "unknown_accelerator": ("accelerators", "h100-sx", "did you mean", "h100-sxm"),
    "fp8_on_a100": ("precision", "fp8", "a100-sxm-80gb"),
    "does_not_fit": ("accelerators", "llama-3.1-405b", "at least"),
    "negative_input_tokens": ("input_tokens", "-5"),
    "utilization_1.5": ("utilization", "1.5"),
    "prefix_cache_1.0": ("prefix_cache_hit_rate", "1.0"),
    "impossible_tpot": ("tpot_slo_s",),
    "unknown_region": ("regions", "mars"),
    "bad_yaml": ("bad.yaml", "YAML"),
    "broken_catalog": ("accelerators.csv", "missing column"),
    "plan_infeasible": ("tokens_per_day", "no option"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_input_is_one_line_on_stderr(runs, name):
    r = runs[name]
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("error:"), lines[0]
    for part in BAD[name]:
        assert part in lines[0], (part, lines[0])


def test_model_that_does_not_fit_names_the_minimum_count(runs):
    msg = runs["does_not_fit"].stderr
    # 405e9 params x 2 bytes = 810 GB of weights; 80 GB each -> at least ceil(810 / 80) = 11
    # by memory alone (more with KV and power-of-two layouts)
    n = int(re.search(r"at least (\d+)", msg).group(1))
    assert n >= 11
    assert "got 1" in msg


def test_unknown_flag_is_a_usage_error(runs):
    r = runs["unknown_flag"]
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert "No such option" in r.stderr and "--bogus" in r.stderr


# -- plan --------------------------------------------------------------------------------------


def test_plan_json_sorted_by_monthly_cost(runs):
    # "cheapest" is the lowest monthly cost meeting the demand and targets; at one demand the
    # blended cost per token orders the same way
    rows = ok_json(runs, "plan_json")["options"]
    feasible = [r for r in rows if r["feasible"]]
    rejected = [r for r in rows if not r["feasible"]]
    assert feasible, "at least one option meets 1e8 tokens/day of llama-3.1-8b"
    costs = [r["monthly_cost_usd"] for r in feasible]
    assert costs == sorted(costs)
    blended = [r["cost_usd_per_mtok_blended"] for r in feasible]
    assert all(b <= a * (1 + 1e-9) for a, b in zip(blended[1:], blended[:-1], strict=True))
    # feasible first, then rejected, each with its reason
    assert rows[: len(feasible)] == feasible
    assert all(r["reason"] for r in rejected)
    # demand 1e8 / 86,400 = 1,157 tok/s; every feasible option covers it
    for r in feasible:
        assert r["accelerators_needed"] >= 1
        assert 0 < r["utilization"] <= 1


def test_plan_csv_parses(runs):
    r = runs["plan_csv"]
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    as_json = ok_json(runs, "plan_json")["options"]
    assert len(rows) == len(as_json)
    assert [(x["accelerator"], x["region"], x["ownership"]) for x in rows] == [
        (x["accelerator"], x["region"], x["ownership"]) for x in as_json
    ]
    first = rows[0]
    assert_allclose(
        float(first["cost_usd_per_mtok_blended"]),
        as_json[0]["cost_usd_per_mtok_blended"],
        rtol=1e-12,
    )


# -- frontier ----------------------------------------------------------------------------------


def test_frontier_writes_html_and_png(runs, workdir):
    r = runs["frontier"]
    assert r.returncode == 0, r.stderr
    html, png = workdir / "charts" / "f.html", workdir / "charts" / "f.png"
    assert html.stat().st_size > 0
    assert "<html" in html.read_text(encoding="utf-8", errors="replace")[:5000].lower()
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"  # the PNG signature (RFC 2083)


def test_frontier_points_are_non_dominated_per_accelerator(runs):
    r = runs["frontier"]
    points = json.loads(r.stdout)["points"]  # pure JSON: the "wrote ..." note goes to stderr
    assert "wrote" in r.stderr
    by_acc: dict[str, list[tuple[float, float]]] = {}
    for p in points:
        by_acc.setdefault(p["accelerator"], []).append(
            (p["tok_s_per_user"], p["tok_s_per_accelerator"])
        )
    assert set(by_acc) == {"h100-sxm", "b200"}
    for acc, pts in by_acc.items():
        for i, (u, a) in enumerate(pts):
            for j, (u2, a2) in enumerate(pts):
                dominated = u2 >= u and a2 >= a and (u2 > u or a2 > a)
                assert not (i != j and dominated), (acc, (u, a), (u2, a2))


# -- breakeven ---------------------------------------------------------------------------------


def test_breakeven_prints_a_table(runs):
    r = runs["breakeven"]
    assert r.returncode == 0, r.stderr
    assert "Break-even" in r.stdout
    assert "llama-3.1-8b" in r.stdout


def test_breakeven_json_cheapest_is_the_minimum(runs):
    d = ok_json(runs, "breakeven_json")
    assert d["rows"]
    for row in d["rows"]:
        costs = {
            k: row[f"{k}_usd_per_month"]
            for k in ("buy", "rent", "api")
            if row[f"{k}_usd_per_month"] is not None
        }
        assert row["cheapest"] == min(costs, key=costs.get)
    # the grid is 1e6 .. 1e11 tokens/day in half-decades (cli.py: logspace(6, 11, 11))
    assert_allclose(
        [row["tokens_per_day"] for row in d["rows"]],
        [10 ** (6 + k / 2) for k in range(11)],
        rtol=1e-12,
    )
    # installed accelerators never fall as the volume grows
    counts = [row["accelerators"] for row in d["rows"]]
    assert counts == sorted(counts)
    # the API bill is linear in volume: 10x the tokens, 10x the dollars
    api = [row["api_usd_per_month"] for row in d["rows"]]
    assert_allclose(api[2] / api[0], 10.0, rtol=1e-9)


# -- scenario files ----------------------------------------------------------------------------


def test_scenario_file_matches_the_same_flags(runs):
    from_file, from_flags = ok_json(runs, "scenario"), ok_json(runs, "base")
    for key in (
        "model",
        "accelerator",
        "accelerators",
        "precision",
        "output_tok_s_total",
        "cost_usd_per_mtok_blended",
    ):
        assert from_file[key] == from_flags[key], key


def test_flags_override_the_scenario_file(runs):
    d, japan = ok_json(runs, "scenario_override"), ok_json(runs, "japan_buy")
    assert d["region"] == "japan"
    assert d["precision"] == "fp8"  # still from the file
    assert d["cost_usd_per_accelerator_hour"] == japan["cost_usd_per_accelerator_hour"]


def test_console_script_exists():
    assert TOKENFAB.exists(), "install the package (pip install -e .) for the tokenfab script"
