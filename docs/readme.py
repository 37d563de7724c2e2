"""The figures README.md quotes, regenerated from the code and the stored results.

README.md holds blocks between ``<!-- begin: NAME ... -->`` and ``<!-- end: NAME -->``; each is
written here by running the commands it shows (in-process, in a scratch folder) and formatting
the figures they print, or, for the accuracy figures that need the long calibration fit, by
reading its stored result (``bench/results/accuracy.md``, ``bench/results/peer_throughput.md``,
``bench/results/peer_compare.md``).

    python docs/readme.py          # rewrite README.md  (make docs)
    python docs/readme.py --check  # exit 1 and show the diff when a figure is stale  (make docs-check)

``tests/test_readme.py`` runs the check, so a model change that moves a quoted figure fails the
suite until ``make docs`` is run and the new README committed.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import io
import json
import os
import re
import shlex
import sys
import tempfile
import textwrap
from collections.abc import Callable
from pathlib import Path

from typer.testing import CliRunner

from tokenfab.catalog import TABLES
from tokenfab.cli import app
from tokenfab.errors import TokenfabError
from tokenfab.perf import calibration as cal

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
RESULTS = ROOT / "bench" / "results"
BLOCK = re.compile(
    r"(<!-- begin: (?P<name>[\w-]+)[^\n]*-->\n)(?P<body>.*?)(<!-- end: (?P=name) -->)", re.S
)


def tokenfab(command: str) -> tuple[int, str, str]:
    """Run ``tokenfab ARGS`` in-process: exit code, stdout, stderr (errors as ``main`` prints them)."""
    args = shlex.split(command)
    assert args[0] == "tokenfab", command
    result = CliRunner().invoke(app, args[1:], catch_exceptions=True, color=False)
    exc = result.exception
    if isinstance(exc, TokenfabError):
        return 2, result.stdout, f"error: {exc}\n"
    if exc is not None and not isinstance(exc, SystemExit):
        raise RuntimeError(f"{command}: {exc!r}") from exc
    return result.exit_code, result.stdout, result.stderr


def ok(command: str) -> str:
    code, out, err = tokenfab(command)
    if code != 0:
        raise RuntimeError(f"README command failed ({code}): {command}\n{err}")
    return out


def g(x: float, digits: int = 3) -> str:
    """A figure to ``digits`` significant figures, as the README quotes it."""
    return f"{x:.{digits}g}"


def usd(x: float) -> str:
    return f"${x:.2f}" if x >= 1 else f"${x:.3g}"


# -- blocks ------------------------------------------------------------------------------------

RUN = "tokenfab estimate --model llama-3.1-70b --accelerator h100-sxm --accelerators 8 --precision fp8"
EST_8B = "tokenfab estimate --model llama-3.1-8b --accelerator h100-sxm --batch 1 --precision bf16 --json"
EST_R1 = (
    "tokenfab estimate --model deepseek-r1 --accelerator h200-sxm --accelerators 8 "
    "--workload reasoning --region eu --ownership rent"
)
EST_R1_MTP = f"{EST_R1} --speculative-tokens 2 --acceptance-rate 0.85 --ttft-slo-s 100"
PLAN = "tokenfab plan --model llama-3.1-70b --tokens-per-day 2e9 --ttft-slo-s 2 --tpot-slo-s 0.1"
FRONTIER = (
    "tokenfab frontier --model llama-3.1-70b --accelerator h100-sxm,b200 --precision fp8 "
    "--out frontier.html"
)
ERRORS = (
    "tokenfab estimate --model llama-3.1-405b --accelerator h100-sxm",
    "tokenfab estimate --model llama-3.1-8b --accelerator a100-sxm-80gb --precision fp8",
    "tokenfab plan --model llama-3.1-8b --tokens-per-day 1e30",
)


def _wrap(command: str, width: int = 100) -> str:
    """A long command split over lines with ``\\`` at about ``width`` characters."""
    lines, line = [], ""
    for word in re.split(r" (?=--)", command):
        if line and len(line) + 1 + len(word) > width:
            lines.append(line + " \\")
            line = "    " + word
        else:
            line = f"{line} {word}" if line else word
    return "\n".join([*lines, line])


def block_run() -> str:
    first = ok(RUN).splitlines()[0]
    return f"```text\n$ make run\n{first}\n...\n```\n"


def block_tour() -> str:
    d8 = json.loads(ok(EST_8B))
    r1 = json.loads(ok(EST_R1 + " --json"))
    mtp = json.loads(ok(EST_R1_MTP + " --json"))
    rows = json.loads(ok(PLAN + " --json"))["options"]
    feasible = [r for r in rows if r["feasible"]]
    best = feasible[0]
    ok(FRONTIER)
    ok("tokenfab catalog accelerators --sources")
    basis = r1["cost_basis"].split(" (")[0]
    slo = r1.get("tpot_slo_s") or _workload_tpot("reasoning")
    lines = [
        f"tokenfab catalog                                   # {len(TABLES)} catalogs: accelerators, models, regions, prices ...",
        "tokenfab catalog accelerators --sources            # every row with its source and date",
        EST_8B,
        f'#   "tpot_s": {g(d8["tpot_s"])}, "output_tok_s_per_user": {g(d8["output_tok_s_per_user"], 4)}, '
        f'"roofline_output_tok_s_total": {g(d8["roofline_output_tok_s_total"], 4)},',
        f'#   "bound": "{d8["bound"]}", "cost_usd_per_mtok_output": {g(d8["cost_usd_per_mtok_output"])}, '
        f'"co2e_g_per_mtok": {g(d8["co2e_g_per_mtok"])} ...',
        _wrap(EST_R1) + "   # operating point, memory budget, the eight KPIs",
        f"#   {_layout(r1)}, batch {r1['batch_size']}: "
        f"TPOT {g(r1['tpot_s'] * 1e3)} ms against the reasoning workload's {g(slo * 1e3)} ms target;",
        f"#   {usd(r1['cost_usd_per_accelerator_hour'])} per H200-hour ({basis}),",
        f"#   {usd(r1['cost_usd_per_mtok_output'])} per 1M output tokens -- against "
        f"{usd(r1['api_usd_per_mtok_blended'])} blended at {r1['api_provider']}'s own API",
        _wrap(EST_R1_MTP),
        f"#   with multi-token prediction: {_layout(mtp)}, "
        f"batch {mtp['batch_size']}, {usd(mtp['cost_usd_per_mtok_output'])} per 1M output tokens",
        PLAN,
        f"#   {len(feasible)} of {len(rows)} accelerator x region x buy/rent options meet the targets; "
        f"cheapest: {best['accelerator']} ({best['ownership']})",
        f"#   at {usd(best['cost_usd_per_mtok_blended'])} per 1M tokens blended "
        f"({usd(best['cost_usd_per_mtok_output'])} per 1M output); the rest grouped by why they fail",
        FRONTIER,
        "#   the throughput-vs-interactivity Pareto frontier with its roofline, as a table, HTML and PNG",
    ]
    return "```sh\n" + "\n".join(lines) + "\n```\n"


def _layout(d: dict) -> str:
    """The estimate's layout as its box writes it, every degree shown (TP 1 x PP 4 x EP 2)."""
    return f"TP {d['tensor_parallel']} x PP {d['pipeline_parallel']} x EP {d['expert_parallel']}"


def _workload_tpot(workload: str) -> float:
    from tokenfab.catalog import default_catalog

    return float(default_catalog().workload(workload).tpot_slo_s)


UNCERTAIN = "examples/uncertainty-chat-llama-70b-h100.yaml"
MONTECARLO = "tokenfab montecarlo examples/chat-llama-70b-h100.yaml --reoptimise --out mc.html"
SOBOL = f"tokenfab sensitivity {UNCERTAIN} --method sobol --reoptimise"


def block_scenarios() -> str:
    commands = [
        "tokenfab estimate --scenario examples/reasoning-deepseek-r1-h200.yaml --region us",
        "tokenfab breakeven --model llama-3.1-70b --accelerator h100-sxm --region us --out breakeven.html",
    ]
    for c in commands:
        ok(c)
    mc = json.loads(ok(MONTECARLO + " --json"))
    cost = mc["kpis"]["cost_usd_per_mtok_blended"]
    sobol = json.loads(ok(SOBOL + " --json"))
    top = [r for r in sobol["sobol"] if r["matters"]]
    names = {
        "cost.useful_life_years": "hardware life",
        "efficiency.compute_efficiency": "compute efficiency",
        "efficiency.bw_efficiency": "bandwidth efficiency",
        "model_error.decode_time_ratio": "the model's decode-time error",
        "model_error.prefill_time_ratio": "the model's prefill-time error",
        "accelerators.h100-sxm.price_usd": "H100 price",
        "regions.us.electricity_usd_per_kwh": "electricity price",
        "tokens_per_day": "demand",
    }
    lines = [
        *commands,
        _wrap(MONTECARLO),
        "#   over the catalogs' published ranges and the model's held-out error band: blended cost",
        f"#   P5-P95 {usd(cost['p5'])}-{usd(cost['p95'])} per 1M tokens (mean {usd(cost['mean'])}); "
        f"{mc['feasible_share']:.0%} of {mc['samples']:,} samples meet the targets",
        SOBOL,
        "#   share of the cost's variance (total Sobol index): "
        + ", ".join(f"{names.get(r['input'], r['input'])} {r['st']:.2f}" for r in top[:3]),
        f"#   {len(sobol['not_mattering'])} of {len(sobol['sobol'])} inputs below 0.05 do not "
        "matter: " + ", ".join(names.get(k, k) for k in sobol["not_mattering"]),
    ]
    return "```sh\n" + "\n".join(lines) + "\n```\n"


# the economics and usage commands, by who runs them; each line runs in the README's order in
# one scratch folder, so a file a command reads is one an earlier line wrote
FACTORY_GW = "tokenfab factory --power-gw 1 --ownership rent"
FACTORY_MW = "tokenfab factory --power-mw 100 --accelerator h100-sxm"
MARKET = "tokenfab market"
MARKET_JEVONS = "tokenfab market --scenario jevons"
TEAM_FILE = "team.yaml"
TEAM_YAML = "archetypes: [{archetype: coding-agent, users: 5000}]"
DEMAND = f"tokenfab demand {TEAM_FILE}"
PLAN_DEMAND = f"tokenfab plan --model gpt-oss-120b --workload coding-agent --demand {TEAM_FILE}"
SEAT_USD_PER_MONTH = 20  # the product lead's own price in this example, not a catalog figure
ROUTE = "tokenfab route --study routellm-gsm8k"
SYNTH = "tokenfab usage synth --rows 100000 --out logs.parquet"
USAGE_REPORT = "tokenfab usage report logs.parquet"
WHATIF = (
    "tokenfab usage whatif logs.parquet --api openai-gpt-4-1-mini-2025-04 "
    "--self-host llama-3.3-70b:h100-sxm"
)
EXPORT = (
    "tokenfab export-prices --format litellm "
    "--deployment llama-3.3-70b:h100-sxm,gpt-oss-120b:h100-sxm --out prices.json"
)


def _b(x: float) -> str:
    """Dollars in billions, as the factory prints them: $221.5B."""
    return f"${x / 1e9:,.1f}B"


def _money(x: float) -> str:
    """Whole dollars with thousands separators, a minus before the sign: -$4,384."""
    return f"-${-x:,.0f}" if x < 0 else f"${x:,.0f}"


def _note(text: str, width: int = 100) -> list[str]:
    """A comment under a command: ``#   `` lines of about ``width`` characters."""
    return textwrap.wrap(
        text, width, initial_indent="#   ", subsequent_indent="#   ", break_on_hyphens=False
    )


def block_tour_economics() -> str:
    from tokenfab.catalog import default_catalog

    cat = default_catalog()
    lines = ["# an AI-factory operator: what a facility earns at the catalog's price tiers"]
    for command in (FACTORY_GW, FACTORY_MW):
        f = json.loads(ok(command + " --json"))
        tiers = [t for t in f["tiers"] if t["share_of_power"] > 0]
        acc_hour = f["cost_usd_per_year"] / f["accelerators"] / 8760
        text = f"{f['accelerators']:,.0f} {f['accelerator']} " + (
            f"rented at {usd(acc_hour)} an hour"
            if f["ownership"] == "rent"
            else f"bought (capex {_b(f['capex_usd'])})"
        )
        text += f", {f['model']} {f['precision'].upper()}"
        if command == FACTORY_GW:
            shares = {t["share_of_power"] for t in tiers}
            each = f" ({shares.pop():.0%} of the power each)" if len(shares) == 1 else ""
            text += (
                "; tiers "
                + ", ".join(f"{t['name']} ${t['usd_per_mtok']:g}" for t in tiers)
                + f" per Mtok{each}"
            )
        text += (
            f": revenue {_b(f['revenue_usd_per_year'])} a year "
            f"({usd(f['revenue_usd_per_accelerator_hour'])} an accelerator-hour), cost "
            f"{_b(f['cost_usd_per_year'])}, margin {f['margin']:.0%}; "
            f"{f['output_tok_s_per_mw']:,.0f} output tok/s per MW of capacity"
        )
        if command == FACTORY_GW:
            for t in tiers:
                if t["revenue_usd_per_year"] > 0 or not t["usd_per_mtok"]:
                    continue
                reach = next(
                    (
                        m[1]
                        for n in f["notes"]
                        if n.startswith(f"{t['name']}:")
                        and (m := re.search(r"reaches ([\d,.]+)", n))
                    ),
                    None,
                )
                text += (
                    f"; {t['name']} needs {t['output_tok_s_per_user_min']:,.0f}+ tok/s per user"
                    + (f", {f['accelerator']} reaches {reach}" if reach else "")
                    + ": it earns nothing"
                )
        lines += [command, *_note(text)]

    m = json.loads(ok(MARKET + " --json"))
    first, last = m["years"][0], m["years"][-1]
    gw = last["inference_gw"]
    lo, hi = min(gw, key=gw.get), max(gw, key=gw.get)
    pct = last["market_usd_percentiles"]
    jev = json.loads(ok(MARKET_JEVONS + " --json"))
    lines += [
        "# a market analyst: inference spend to 2030, the tokens it buys, the power they need",
        MARKET,
        *_note(
            f"{m['scenario']}: ${first['market_usd'] / 1e9:,.0f}B of inference spend in "
            f"{first['year']}, ${last['market_usd'] / 1e9:,.0f}B in {last['year']} "
            f"(P5-P95 ${pct['p5'] / 1e9:,.0f}B-${pct['p95'] / 1e9:,.0f}B); at "
            f"{usd(last['usd_per_mtok'])} per Mtok that is {last['tokens_per_year']:.3g} tokens, "
            f"{gw[lo]:,.0f} GW on {lo} or {gw[hi]:,.0f} GW on {hi} "
            f"({m['energy']['accelerators'][lo]['model']})"
        ),
        MARKET_JEVONS,
        *_note(
            f"with a price elasticity of {jev['elasticity']:g} instead: "
            f"${jev['years'][-1]['market_usd'] / 1e9:,.0f}B in {jev['years'][-1]['year']}"
        ),
    ]

    Path(TEAM_FILE).write_text(TEAM_YAML + "\n", encoding="utf-8")  # the echo line below
    d = json.loads(ok(DEMAND + " --json"))
    users = sum(a["users"] for a in d["archetypes"])
    agent = d["archetypes"][0]
    rows = json.loads(ok(PLAN_DEMAND + " --json"))["options"]
    feasible = [r for r in rows if r["feasible"]]
    best = feasible[0]
    cost_per_request = float(f"{best['cost_usd_per_request']:.2g}")
    per_month = round(d["calls_per_day"] / users * 30)
    viability = (
        f"tokenfab viability --cost-usd-per-request {cost_per_request:g} "
        f"--revenue-usd-per-user-month {SEAT_USD_PER_MONTH} --requests-per-user-month {per_month}"
    )
    v = json.loads(ok(viability + " --json"))["products"][0]
    r = json.loads(ok(ROUTE + " --json"))
    prices = cat.table("api-prices")
    lines += [
        "# a product lead: demand from users, the cheapest fleet for it, the margin, routing",
        f"echo '{TEAM_YAML}' > {TEAM_FILE}",
        DEMAND,
        *_note(
            f"{users:,.0f} developers make {d['calls_per_day']:,.0f} model calls a day, each "
            f"{agent['input_tokens_per_call']:,.0f} prompt and "
            f"{agent['output_tokens_per_call']:,.0f} output tokens (reasoning included): "
            f"{d['tokens_per_day']:.3g} output tokens a day, "
            f"{d['peak_requests_per_s']:.0f} requests/s at peak"
        ),
        PLAN_DEMAND,
        *_note(
            f"{len(feasible)} of {len(rows)} options meet the targets; cheapest "
            f"{best['accelerators_needed']} x {best['accelerator']} ({best['ownership']}, "
            f"{best['precision']}): {_money(best['monthly_cost_usd'])} a month, "
            f"{usd(best['cost_usd_per_request'])} a request"
        ),
        _wrap(viability),
        *_note(
            f"{usd(cost_per_request * per_month)} of inference a developer-month against "
            f"${SEAT_USD_PER_MONTH}: margin {v['margin']:.0%}, {v['verdict']} at the "
            f"{v['target_margin']:.0%} target"
        ),
        ROUTE,
        *_note(
            f"{prices[r['small']].model_name} in front of {prices[r['big']].model_name}, "
            f"{r['routed_share']:.0%} of requests routed (RouteLLM's GSM8K point): cost per "
            f"successful outcome {usd(r['cost_per_success_usd_before'])} -> "
            f"{usd(r['cost_per_success_usd_after'])} ({r['savings_per_success']:.0%} less); "
            f"success rate {r['success_rate_before']:.2f} -> {r['success_rate_after']:.2f}"
        ),
    ]

    ok(SYNTH)
    rep = json.loads(ok(USAGE_REPORT + " --json"))
    s, by = rep["summary"], rep["by"]
    sh = s["shares"]
    top = rep["top_cost_drivers"][0]
    w = json.loads(ok(WHATIF + " --json"))
    api = next(o for o in w["options"] if o["option"].startswith("API "))
    own = next(o for o in w["options"] if o["option"].startswith("self-host "))
    saving = own["uncertainty"]["monthly_saving_usd"]
    ok(EXPORT)
    pm = json.loads(Path("prices.json").read_text(encoding="utf-8"))
    demand = {
        float(x[1])
        for e in pm.values()
        if (x := re.search(r"([\d.e+]+) output tokens a day", e["metadata"]["notes"]))
    }
    lines += [
        "# a platform team with request logs: where the money goes, what else it would cost",
        SYNTH,
        *_note(
            f"a synthetic month: {len(by['app'])} apps on {len(by['model'])} models "
            "(docs/usage.md gives each parameter's source)"
        ),
        USAGE_REPORT,
        *_note(
            f"{usd(s['spend_usd'])} over {s['days']:.0f} days; prompts are "
            f"{sh['input_uncached'] + sh['input_cached']:.0%} of the tokens "
            f"({sh['input_cached']:.0%} cached), reasoning {sh['output_reasoning']:.0%}; "
            f"{usd(rep['outcomes']['cost_per_successful_outcome_usd'])} per successful task; "
            f"top cost: {top['app']} on {top['model']}, {top['share']:.0%} of spend; "
            f"{s['rows_off']} rows off the list price"
        ),
        _wrap(WHATIF),
        *_note(
            f"{_money(w['baseline']['monthly_cost_usd'])} a month as logged; on "
            f"{prices[api['option'].split()[1]].model_name} {_money(api['monthly_cost_usd'])}; "
            f"self-hosted {cat.model(own['scenario']['model']).name} on {own['accelerators']} "
            f"{own['scenario']['accelerator']} ({own['scenario']['precision']}) "
            f"{_money(own['monthly_cost_usd'])} (saving P5-P95 "
            f"{_money(saving['p5'])} to {_money(saving['p95'])}): at the log's volume the "
            f"accelerators are {own['utilization']:.0%} busy"
        ),
        _wrap(EXPORT),
        *_note(
            "your deployments' $ per Mtok (input / output"
            + (f", at {demand.pop():g} output tokens a day" if len(demand) == 1 else "")
            + ") as a LiteLLM cost map: "
            + ", ".join(
                f"{name} {e['input_cost_per_token'] * 1e6:.3g} / "
                f"{e['output_cost_per_token'] * 1e6:.3g}"
                for name, e in pm.items()
            )
        ),
    ]
    return "```sh\n" + "\n".join(lines) + "\n```\n"


def block_errors() -> str:
    out = []
    for c in ERRORS:
        code, _, err = tokenfab(c)
        if code == 0:
            raise RuntimeError(f"README error example succeeded: {c}")
        out += [f"$ {c}", err.strip()]
    return "```text\n" + "\n".join(out) + "\n```\n"


def _summary_row(text: str, label: str) -> list[str]:
    """Cells of the Markdown table row whose first cell is ``label``."""
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells and cells[0] == label:
            return cells
    raise RuntimeError(f"stored result has no {label!r} row")


def block_accuracy() -> str:
    acc = (RESULTS / "accuracy.md").read_text(encoding="utf-8")
    # the first table (aggregated runs) comes first in the file: its rows are found first
    cols = ["ttft_s", "ttft_s_concurrent", "tpot_s", "output_tok_s", "all"]

    def row(label: str) -> dict[str, str]:
        return dict(zip(cols, _summary_row(acc, label)[1:], strict=False))

    cfg = row("held out by configuration (5 folds)")
    fam = row("leave one model family out")
    accf = row("leave one accelerator family out")
    val = _summary_row(acc, "refit on calibration runs")

    def band(metric: str) -> list[str]:
        return next(
            c
            for line in acc.splitlines()
            if (c := [x.strip() for x in line.strip().strip("|").split("|")])[:2]
            == ["configuration", metric]
        )

    tpot_band = band("tpot_s")
    loop_band = band("ttft_s_concurrent")
    n_runs = re.search(r"(\d+) runs read", acc)
    peer = (RESULTS / "peer_throughput.md").read_text(encoding="utf-8")
    version = peer.splitlines()[0].rsplit(" ", 1)[-1]  # "# tokenfab vs llm-analysis 0.2.2"
    peer_median = _summary_row(peer, f"llm-analysis {version}")[2]
    return (
        f"`make bench` fits {len(cal.FACTORS)} efficiency factors per accelerator family and "
        f"serving-software class\n(never per row) to {int(n_runs.group(1)) if n_runs else 0:,} "
        "measured runs (the AIConfigurator silicon sample and published figures) and\n"
        "predicts every run with factors fitted without it. Median error held out by "
        f"configuration:\nTPOT {cfg['tpot_s']}, output throughput {cfg['output_tok_s']}; leaving "
        f"a model family out {fam['all']}, an accelerator family\nout {accf['all']}. On the "
        f"frozen MLPerf validation set (never fitted) the median error is {val[2]},\nthe "
        f"system-to-system ratio error {val[4]}. Every estimate carries a 90% error band "
        "from these residuals\n(TPOT held out by configuration: "
        f"{float(tpot_band[2]):.2f}x to {float(tpot_band[3]):.2f}x the prediction; it held "
        f"{tpot_band[5]} of new configurations).\nTTFT under closed-loop client concurrency "
        f"(front end and first wave included) is off by {cfg['ttft_s_concurrent']}\nheld out by "
        f"configuration; its band, {float(loop_band[2]):.2f}x to "
        f"{float(loop_band[3]):.2f}x the prediction, held {loop_band[5]}.\n"
        "Details: `docs/calibration.md`, `bench/results/accuracy.md`. A peer roofline calculator "
        f"with default\nsettings is off by {float(peer_median):.0f} % (median) on the published "
        "dense rows (`bench/results/peer_throughput.md`).\n"
    )


def block_peers() -> str:
    """The side-by-side table of ``bench/bench_peers.py --write`` (its stored result)."""
    text = (RESULTS / "peer_compare.md").read_text(encoding="utf-8")
    tables = [t for t in text.split("\n\n") if t.startswith("|")]
    if len(tables) < 2:
        raise RuntimeError("bench/results/peer_compare.md: the accuracy and speed tables")
    return (
        "Peers on the same rows (`bench/bench_peers.py`, in `make bench`; "
        "`bench/results/peer_compare.md`):\nmedian absolute error of tokenfab held out by "
        "configuration beside AIConfigurator (from PyPI, run\noffline) and llm-analysis, each "
        "line on the rows every tool in it expresses. AIConfigurator's per-kernel\ndatabase "
        "was measured on the same NVIDIA systems as the AIC sample's rows, so on those rows it "
        "is\nclose to in-sample.\n\n"
        f"{tables[0]}\n\n{tables[1]}\n"
    )


API_BODY = {
    "model": "llama-3.1-70b",
    "accelerator": "h100-sxm",
    "accelerators": 8,
    "precision": "fp8",
}
API_BAD = {"model": "llama-3.1-70b", "accelerator": "h100-sxm", "tokens_per_day": -1}


def block_api() -> str:
    """The estimate and a bad input through the HTTP API (in-process, as a server answers)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    from tokenfab.api import create_app

    client = TestClient(create_app())
    doc = client.post("/api/v1/estimate", json=API_BODY).json()
    bad = client.post("/api/v1/estimate", json=API_BAD)
    url = "http://127.0.0.1:8000/api/v1/estimate"
    keys = {"output_tok_s_per_accelerator": 4, "cost_usd_per_mtok_output": 3, "co2e_g_per_mtok": 3}
    shown = ", ".join(f'"{k}": {g(doc[k], n)}' for k, n in keys.items())
    return (
        "```text\n"
        f"$ curl -s {url} -H 'content-type: application/json' \\\n"
        f"    -d '{json.dumps(API_BODY)}'\n"
        f'{{"model": "llama-3.1-70b", ..., {shown}, ...}}\n'
        f"$ curl -s {url} -H 'content-type: application/json' -d '{json.dumps(API_BAD)}'\n"
        f"{bad.status_code} {json.dumps(bad.json())}\n"
        "```\n"
    )


BLOCKS: dict[str, Callable[[], str]] = {
    "run": block_run,
    "tour": block_tour,
    "tour-economics": block_tour_economics,
    "scenarios": block_scenarios,
    "errors": block_errors,
    "accuracy": block_accuracy,
    "peers": block_peers,
    "api": block_api,
}


def render(text: str) -> str:
    """README text with every generated block rewritten (commands run in a scratch folder)."""
    names = [m["name"] for m in BLOCK.finditer(text)]
    unknown = sorted(set(names) - set(BLOCKS))
    if unknown:
        raise RuntimeError(f"README.md: unknown generated block {unknown[0]!r}")
    bodies = {}
    here = Path.cwd()
    with tempfile.TemporaryDirectory() as scratch:
        (Path(scratch) / "examples").symlink_to(ROOT / "examples")
        os.chdir(scratch)  # charts the commands write land here, not in the checkout
        try:
            with contextlib.redirect_stderr(io.StringIO()):
                for name in names:
                    bodies[name] = BLOCKS[name]()
        finally:
            os.chdir(here)
    return BLOCK.sub(lambda m: m[1] + bodies[m["name"]] + m[4], text)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="compare only; exit 1 if README is stale")
    args = ap.parse_args()
    old = README.read_text(encoding="utf-8")
    new = render(old)
    if args.check:
        if new == old:
            print("README.md: every generated figure is current")
            return 0
        sys.stdout.writelines(
            difflib.unified_diff(
                old.splitlines(True), new.splitlines(True), "README.md", "README.md (regenerated)"
            )
        )
        print("README.md is stale: run `make docs` and commit it", file=sys.stderr)
        return 1
    if new != old:
        README.write_text(new, encoding="utf-8")
        print("README.md: generated blocks rewritten")
    else:
        print("README.md: already current")
    return 0


if __name__ == "__main__":
    sys.exit(main())
