"""The ``tokenfab`` command line: parse, build a Scenario, call the core, render.

No model logic lives here. Option help comes from the Scenario schema, so the CLI, the
library and the HTTP API describe each field the same way.
"""

from __future__ import annotations

import sys
import warnings
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from typer.core import TyperGroup

from tokenfab import cli_econ, render
from tokenfab.calibrate import cli as calibrate_cli
from tokenfab.catalog import (
    TABLES,
    _cached_catalog,
    default_catalog,
    estimate_price_dates,
    stale_price_warnings,
    stale_rows,
    user_catalog_dir,
    user_dirs_from_env,
)
from tokenfab.errors import TokenfabError
from tokenfab.fileio import check_output_path, json_text
from tokenfab.perf.params import parameter_breakdown
from tokenfab.scenario import Scenario, id_list
from tokenfab.usage import cli as usage_cli

app = typer.Typer(
    name="tokenfab",
    help="Inference economics: tokens per second, dollars per million tokens, watts and CO2.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console() if sys.stdout.isatty() else Console(width=140)
STATE: dict[str, Any] = {"catalog_dirs": ()}


def _help(field: str) -> str:
    return Scenario.model_fields[field].description or field


def _catalog():
    return default_catalog(STATE["catalog_dirs"])


@app.callback()
def _main(
    catalog: Annotated[
        list[Path] | None,
        typer.Option(
            "--catalog", help="directory of catalog files that override or extend the built-in ones"
        ),
    ] = None,
) -> None:
    STATE["catalog_dirs"] = tuple(str(p) for p in catalog or ())


def _emit_json(data: Any) -> None:
    sys.stdout.write(json_text(data))


def _note(text: str) -> None:
    """A side note ("wrote chart.html") on stderr, so stdout holds only the answer."""
    Console(stderr=True).print(text, style="dim", markup=False, highlight=False)


class _CatalogGroup(TyperGroup):
    """``catalog NAME`` shows a catalog; ``catalog import-model`` etc. are subcommands."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        args = list(args)
        # `--stale` with no number means 12 months
        for i, a in enumerate(args):
            if a == "--stale" and (i + 1 == len(args) or not _is_number(args[i + 1])):
                args[i] = "--stale=12"
        if not args or (args[0] not in self.commands and args[0] not in ("--help", "-h")):
            args = ["show", *args]
        return super().parse_args(ctx, args)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


catalog_app = typer.Typer(
    cls=_CatalogGroup,
    help="Show the catalogs, list stale rows, import model configs and price lists.",
)
app.add_typer(catalog_app, name="catalog")


def _write_dir() -> Path:
    """Where importers write: the first --catalog, else TOKENFAB_CATALOG, else the user dir."""
    dirs = STATE["catalog_dirs"] or user_dirs_from_env()
    return Path(dirs[0]) if dirs else user_catalog_dir()


def _date_option(text: str | None, name: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise TokenfabError(f"{name}: expected a date YYYY-MM-DD, got {text!r}") from None


@catalog_app.command("show")
def catalog_cmd(
    name: Annotated[str | None, typer.Argument(help=f"one of: {', '.join(TABLES)}")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON records")] = False,
    sources: Annotated[
        bool, typer.Option("--sources", help="show each row's source and date")
    ] = False,
    stale: Annotated[
        float | None,
        typer.Option(
            "--stale", help="list rows whose as_of is older than this many months (default 12)"
        ),
    ] = None,
    today: Annotated[
        str | None, typer.Option("--today", help="the date to measure age from (YYYY-MM-DD)")
    ] = None,
) -> None:
    """Show the catalogs: an overview, or one catalog as a table."""
    cat = _catalog()
    if stale is not None:
        now = _date_option(today, "--today") or date.today()
        rows = stale_rows(cat, stale, now, [name] if name else None)
        if as_json:
            _emit_json([r.__dict__ for r in rows])
            return
        console.print(render.stale_table(rows, stale, now))
        return
    if name is None:
        if as_json:
            _emit_json({n: len(cat.table(n)) for n in TABLES})
            return
        console.print(render.catalog_overview(cat))
        return
    records = cat.table(name)
    if as_json:
        _emit_json([r.model_dump(mode="json") for r in records.values()])
        return
    console.print(render.catalog_table(name, list(records.values()), sources))


@catalog_app.command("import-model")
def import_model_cmd(
    config: Annotated[Path, typer.Argument(help="a Hugging Face config.json")],
    model_id: Annotated[str | None, typer.Option("--id", help="catalog id for the model")] = None,
    name: Annotated[str | None, typer.Option(help="display name")] = None,
    developer: Annotated[str | None, typer.Option(help="developer of the model")] = None,
    total_params_b: Annotated[
        float | None, typer.Option(help="published total parameters [billions]")
    ] = None,
    active_params_b: Annotated[
        float | None, typer.Option(help="published active parameters [billions]")
    ] = None,
    params_source: Annotated[
        str | None, typer.Option(help="where the published counts come from")
    ] = None,
    released: Annotated[
        str | None, typer.Option(help="date the weights were published (YYYY-MM-DD)")
    ] = None,
    active_basis: Annotated[
        str,
        typer.Option(
            help="what the published active count includes: with_embeddings, "
            "without_input_embedding or without_embeddings"
        ),
    ] = "with_embeddings",
    source: Annotated[
        str | None, typer.Option(help="URL of the config.json (default: the file's path)")
    ] = None,
    as_of: Annotated[
        str | None, typer.Option(help="date of the config (default: today, as read)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the row as JSON")] = False,
) -> None:
    """Add a model to the user catalog from its Hugging Face config.json."""
    from tokenfab.importers import model_from_config, read_json, write_rows

    read_on = date.today()
    result = model_from_config(
        read_json(config),
        model_id=model_id,
        source=source or str(config),
        as_of=_date_option(as_of, "--as-of") or read_on,
        retrieved=read_on,
        name=name,
        developer=developer,
        total_params_b=total_params_b,
        active_params_b=active_params_b,
        params_source=params_source,
        released=_date_option(released, "--released"),
        active_params_basis=active_basis,
        where=str(config),
    )
    path = write_rows(_write_dir(), "models", result.rows)
    _cached_catalog.cache_clear()
    row = result.rows[0]
    record = _catalog().model(row["id"])
    counts = parameter_breakdown(record)
    computed = {
        "total_params_b": counts.total / 1e9,
        "active_params_b": counts.active_as(record.active_params_basis) / 1e9,
    }
    published = {"total_params_b": total_params_b, "active_params_b": active_params_b}
    if as_json:
        _emit_json({"row": row, "computed": computed, "file": str(path), "notes": result.notes})
        return
    console.print(f"added model {row['id']!r} to {path}")
    for key, label in (("total_params_b", "total"), ("active_params_b", "active")):
        given = published[key]
        shown = f"{given:g} B published" if given else "none published"
        console.print(f"  {label} parameters: {computed[key]:.2f} B computed, {shown}")
    for note in result.notes:
        console.print(f"  note: {note}", style="dim")


@catalog_app.command("import-prices")
def import_prices_cmd(
    file: Annotated[Path, typer.Argument(help="a saved price list (JSON)")],
    fmt: Annotated[str, typer.Option("--format", help="openrouter or litellm")],
    as_of: Annotated[str, typer.Option("--as-of", help="date of the price list (YYYY-MM-DD)")],
    source: Annotated[
        str | None, typer.Option(help="URL the list was saved from (default: the file's path)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the rows as JSON")] = False,
) -> None:
    """Add API price rows to the user catalog from an OpenRouter or LiteLLM price list."""
    from tokenfab.importers import (
        prices_from_litellm,
        prices_from_openrouter,
        read_json,
        write_rows,
    )

    readers = {"openrouter": prices_from_openrouter, "litellm": prices_from_litellm}
    if fmt not in readers:
        raise TokenfabError(f"--format: unknown format {fmt!r}; allowed: openrouter, litellm")
    when = _date_option(as_of, "--as-of")
    assert when is not None  # a required option
    result = readers[fmt](
        read_json(file),
        as_of=when,
        source=source or str(file),
        retrieved=date.today(),
        where=str(file),
    )
    if not result.rows:
        raise TokenfabError(f"{file}: no priced model in the list")
    path = write_rows(_write_dir(), "api-prices", result.rows)
    _cached_catalog.cache_clear()
    if as_json:
        _emit_json({"rows": result.rows, "file": str(path), "notes": result.notes})
        return
    console.print(f"added {len(result.rows)} API price rows to {path}")
    for note in result.notes:
        console.print(f"  note: {note}", style="dim")


ScenarioFile = Annotated[
    Path | None, typer.Option("--scenario", help="YAML scenario file; flags override it")
]


DemandFile = Annotated[
    Path | None,
    typer.Option("--demand", help="demand YAML (tokenfab demand); sets tokens_per_day and lengths"),
]


def scenario_from(file: Path | None, demand: Path | None = None, **flags: Any) -> Scenario:
    """A Scenario from an optional YAML file, an optional demand file and the flags given."""
    base = Scenario.from_yaml(file).model_dump(exclude_none=True) if file else {}
    if demand is not None:
        from tokenfab.demand import load_demand

        base = {**base, **load_demand(demand).scenario_fields()}
        base.pop("requests_per_second", None)
    given = {k: v for k, v in flags.items() if v is not None}
    return Scenario.parse({**base, **given})


@app.command()
def estimate(
    model: Annotated[str | None, typer.Option(help=_help("model"))] = None,
    accelerator: Annotated[str | None, typer.Option(help=_help("accelerator"))] = None,
    accelerators: Annotated[int | None, typer.Option(help=_help("accelerators"))] = None,
    tensor_parallel: Annotated[int | None, typer.Option(help=_help("tensor_parallel"))] = None,
    pipeline_parallel: Annotated[int | None, typer.Option(help=_help("pipeline_parallel"))] = None,
    expert_parallel: Annotated[int | None, typer.Option(help=_help("expert_parallel"))] = None,
    precision: Annotated[str | None, typer.Option(help=_help("precision"))] = None,
    kv_precision: Annotated[str | None, typer.Option(help=_help("kv_precision"))] = None,
    software: Annotated[str | None, typer.Option(help=_help("software"))] = None,
    software_licence: Annotated[str | None, typer.Option(help=_help("software_licence"))] = None,
    workload: Annotated[str | None, typer.Option(help=_help("workload"))] = None,
    input_tokens: Annotated[int | None, typer.Option(help=_help("input_tokens"))] = None,
    output_tokens: Annotated[int | None, typer.Option(help=_help("output_tokens"))] = None,
    reasoning_tokens: Annotated[int | None, typer.Option(help=_help("reasoning_tokens"))] = None,
    prefix_cache_hit_rate: Annotated[
        float | None, typer.Option(help=_help("prefix_cache_hit_rate"))
    ] = None,
    batch: Annotated[int | None, typer.Option("--batch", help=_help("batch_size"))] = None,
    disaggregated: Annotated[
        bool | None, typer.Option("--disaggregated", help=_help("disaggregated"))
    ] = None,
    speculative_tokens: Annotated[
        int | None, typer.Option(help=_help("speculative_tokens"))
    ] = None,
    acceptance_rate: Annotated[float | None, typer.Option(help=_help("acceptance_rate"))] = None,
    objective: Annotated[str | None, typer.Option(help="max-throughput or min-latency")] = None,
    ttft_slo_s: Annotated[float | None, typer.Option(help=_help("ttft_slo_s"))] = None,
    tpot_slo_s: Annotated[float | None, typer.Option(help=_help("tpot_slo_s"))] = None,
    requests_per_second: Annotated[
        float | None, typer.Option(help=_help("requests_per_second"))
    ] = None,
    tokens_per_day: Annotated[float | None, typer.Option(help=_help("tokens_per_day"))] = None,
    peak_to_average: Annotated[float | None, typer.Option(help=_help("peak_to_average"))] = None,
    region: Annotated[str | None, typer.Option(help=_help("region"))] = None,
    ownership: Annotated[str | None, typer.Option(help=_help("ownership"))] = None,
    utilization: Annotated[float | None, typer.Option(help=_help("utilization"))] = None,
    scenario: ScenarioFile = None,
    demand: DemandFile = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one flat JSON object")] = False,
) -> None:
    """Estimate a deployment: TTFT, TPOT, tokens per second, and the eight cost/energy/carbon KPIs."""
    from tokenfab.planning import evaluate

    sc = scenario_from(
        scenario,
        demand,
        model=model,
        accelerator=accelerator,
        accelerators=accelerators,
        tensor_parallel=tensor_parallel,
        pipeline_parallel=pipeline_parallel,
        expert_parallel=expert_parallel,
        precision=precision,
        kv_precision=kv_precision,
        software=software,
        software_licence=software_licence,
        workload=workload,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        reasoning_tokens=reasoning_tokens,
        prefix_cache_hit_rate=prefix_cache_hit_rate,
        batch_size=batch,
        disaggregated=disaggregated,
        speculative_tokens=speculative_tokens,
        acceptance_rate=acceptance_rate,
        objective=objective,
        ttft_slo_s=ttft_slo_s,
        tpot_slo_s=tpot_slo_s,
        requests_per_second=requests_per_second,
        tokens_per_day=tokens_per_day,
        peak_to_average=peak_to_average,
        region=region,
        ownership=ownership,
        utilization=utilization,
    )
    cat = _catalog()
    est = evaluate(sc, cat)
    warnings = stale_price_warnings(estimate_price_dates(est, cat), date.today())
    if as_json:
        _emit_json({**est.as_dict(), "stale_prices": "; ".join(warnings) or None})
        return
    console.print(render.headline(est), markup=False, highlight=False)
    console.print(render.estimate(est))
    for line in warnings:
        console.print(f"stale price: {line}", style="yellow", highlight=False)


@app.command("frontier")
def frontier_cmd(
    model: Annotated[str, typer.Option(help=_help("model"))],
    accelerator: Annotated[str, typer.Option(help="accelerator ids, comma-separated")],
    accelerators: Annotated[int, typer.Option(help=_help("accelerators"))] = 8,
    precision: Annotated[str | None, typer.Option(help=_help("precision"))] = None,
    input_tokens: Annotated[int | None, typer.Option(help=_help("input_tokens"))] = None,
    output_tokens: Annotated[int | None, typer.Option(help=_help("output_tokens"))] = None,
    workload: Annotated[str | None, typer.Option(help=_help("workload"))] = None,
    disaggregated: Annotated[
        bool | None, typer.Option("--disaggregated", help=_help("disaggregated"))
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="write an interactive HTML chart (and a PNG beside it)")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="print the frontier points as JSON")
    ] = False,
) -> None:
    """The Pareto frontier of tokens/s per accelerator against tokens/s per user."""
    from tokenfab.perf.frontier import frontiers

    if out is not None:
        check_output_path(out)
    ids = id_list(accelerator, "accelerator") or []
    sc = scenario_from(
        None,
        model=model,
        accelerator=ids[0] if ids else "",
        accelerators=accelerators,
        precision=precision,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        workload=workload,
        disaggregated=disaggregated,
    )
    fronts = frontiers(sc, ids, _catalog())
    if as_json:
        _emit_json([row for f in fronts for row in f.rows()])
    else:
        for f in fronts:
            console.print(render.frontier_table(model, f))
    if out is not None:
        from tokenfab import charts

        html, png = charts.frontier_chart(model, fronts, out)
        _note(f"wrote {html} and {png}")


@app.command("plan")
def plan_cmd(
    model: Annotated[str | None, typer.Option(help=_help("model"))] = None,
    tokens_per_day: Annotated[float | None, typer.Option(help=_help("tokens_per_day"))] = None,
    requests_per_second: Annotated[
        float | None, typer.Option(help=_help("requests_per_second"))
    ] = None,
    peak_to_average: Annotated[float | None, typer.Option(help=_help("peak_to_average"))] = None,
    workload: Annotated[str | None, typer.Option(help=_help("workload"))] = None,
    input_tokens: Annotated[int | None, typer.Option(help=_help("input_tokens"))] = None,
    output_tokens: Annotated[int | None, typer.Option(help=_help("output_tokens"))] = None,
    reasoning_tokens: Annotated[int | None, typer.Option(help=_help("reasoning_tokens"))] = None,
    precision: Annotated[str | None, typer.Option(help=_help("precision"))] = None,
    software_licence: Annotated[str | None, typer.Option(help=_help("software_licence"))] = None,
    ttft_slo_s: Annotated[float | None, typer.Option(help=_help("ttft_slo_s"))] = None,
    tpot_slo_s: Annotated[float | None, typer.Option(help=_help("tpot_slo_s"))] = None,
    accelerator: Annotated[
        str | None,
        typer.Option(help="accelerator ids to consider, comma-separated (default: all shipping)"),
    ] = None,
    region: Annotated[
        str | None, typer.Option(help="region ids to consider, comma-separated (default: us)")
    ] = None,
    ownership: Annotated[str | None, typer.Option(help="buy, rent or buy,rent (default)")] = None,
    top: Annotated[int, typer.Option(min=1, help="feasible options to show")] = 15,
    scenario: ScenarioFile = None,
    demand: DemandFile = None,
    as_json: Annotated[bool, typer.Option("--json", help="print all options as JSON")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="print all options as CSV")] = False,
) -> None:
    """Capacity plan: every accelerator x region x ownership for a demand and latency targets, cheapest first."""
    from tokenfab.planning import options_table, plan

    regions = id_list(region, "region")
    sc = scenario_from(
        scenario,
        demand,
        model=model,
        accelerator="h100-sxm",
        tokens_per_day=tokens_per_day,
        requests_per_second=requests_per_second,
        peak_to_average=peak_to_average,
        workload=workload,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        reasoning_tokens=reasoning_tokens,
        precision=precision,
        software_licence=software_licence,
        ttft_slo_s=ttft_slo_s,
        tpot_slo_s=tpot_slo_s,
        region=regions[0] if regions else None,
    )
    options = plan(
        sc,
        id_list(accelerator, "accelerator"),
        regions,
        id_list(ownership, "ownership", ("buy", "rent")),
        _catalog(),
    )
    rows = options_table(options)
    if as_json:
        _emit_json(rows)
        return
    if as_csv:
        import csv

        keys = list(dict.fromkeys(k for r in rows for k in r))
        w = csv.DictWriter(sys.stdout, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)
        return
    console.print(render.plan_table(sc, rows, top))


@app.command("breakeven")
def breakeven_cmd(
    model: Annotated[str, typer.Option(help=_help("model"))],
    accelerator: Annotated[str, typer.Option(help=_help("accelerator"))],
    region: Annotated[str, typer.Option(help=_help("region"))],
    accelerators: Annotated[
        int | None, typer.Option(help="accelerators per replica group (default: one node, up to 8)")
    ] = None,
    precision: Annotated[str | None, typer.Option(help=_help("precision"))] = None,
    workload: Annotated[str | None, typer.Option(help=_help("workload"))] = None,
    input_tokens: Annotated[int | None, typer.Option(help=_help("input_tokens"))] = None,
    output_tokens: Annotated[int | None, typer.Option(help=_help("output_tokens"))] = None,
    peak_to_average: Annotated[float | None, typer.Option(help=_help("peak_to_average"))] = None,
    out: Annotated[
        Path | None, typer.Option(help="write an HTML chart (and a PNG beside it)")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="print the table and summary as JSON")
    ] = False,
) -> None:
    """Break-even: monthly cost of buying, renting or an API against output tokens a day."""
    import math

    import numpy as np

    from tokenfab import breakeven as be
    from tokenfab.errors import ScenarioError
    from tokenfab.planning import evaluate

    if out is not None:
        check_output_path(out)
    sc = scenario_from(
        None,
        model=model,
        accelerator=accelerator,
        region=region,
        accelerators=accelerators,
        precision=precision,
        workload=workload,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        peak_to_average=peak_to_average,
    )
    cat = _catalog()
    if accelerators is None:  # a node: the scale-up domain, at most 8, as `plan` sizes replicas
        domain = cat.accelerator(sc.accelerator).scaleup_domain_size or 1
        sc = sc.with_(accelerators=max(1, min(domain, 8)))
    try:
        est = evaluate(sc, cat)
    except ScenarioError:  # no purchase price: the operating point is the same rented
        est = evaluate(sc.with_(ownership="rent"), cat)
    rates = be.breakeven_rates(est, cat)
    grid = np.logspace(6.0, 11.0, 11)
    costs = be.monthly_costs(rates, grid)
    fine = be.monthly_costs(rates, be.FINE_GRID_TOKENS_PER_DAY)
    v = be.FINE_GRID_TOKENS_PER_DAY
    num = lambda x: None if x is None or math.isnan(float(x)) else float(x)  # noqa: E731
    summary: dict[str, Any] = {
        "crossover_buy_vs_api_tokens_per_day": be.crossover_tokens_per_day(
            v, fine.buy_usd, fine.api_usd
        ),
        "crossover_buy_vs_api_sustained_tokens_per_day": be.crossover_tokens_per_day(
            v, fine.buy_usd, fine.api_usd, sustained=True
        ),
        "crossover_buy_vs_rent_tokens_per_day": be.crossover_tokens_per_day(
            v, fine.buy_usd, fine.rent_usd
        ),
    }
    at = be.monthly_costs(rates, np.array([1e7, 1e8, 1e9]))
    for against in ("api", "rent"):
        for volume, months in zip(("10M", "100M", "1B"), be.payback_at(at, against), strict=True):
            summary[f"payback_vs_{against}_at_{volume}_tokens_per_day_months"] = num(months)
    rows = [
        {
            "tokens_per_day": float(costs.tokens_per_day[i]),
            "accelerators": int(costs.accelerators[i]),
            "buy_usd_per_month": num(costs.buy_usd[i]),
            "rent_usd_per_month": num(costs.rent_usd[i]),
            "api_usd_per_month": num(costs.api_usd[i]),
            "cheapest": cheapest,
        }
        for i, cheapest in enumerate(costs.cheapest())
    ]
    if as_json:
        _emit_json(
            {
                "scenario": sc.model_dump(exclude_none=True),
                "api_provider": rates.api_provider,
                "api_usd_per_mtok_blended": rates.api_usd_per_mtok_blended,
                "rent_basis": rates.rent_basis,
                "missing": rates.missing,
                "rows": rows,
                **summary,
            }
        )
    else:
        console.print(
            render.breakeven_table(
                f"Break-even: {model} on {accelerator} ({region})", rows, summary
            )
        )
        for option, why in rates.missing.items():
            console.print(f"{option}: not priced ({why})", style="dim")
    if out is not None:
        from tokenfab import charts

        series = [
            {"name": name, "x": v, "y": y, "color": charts.COLORS[k], "style": "-"}
            for k, (name, y) in enumerate(
                (("buy", fine.buy_usd), ("rent", fine.rent_usd), ("API", fine.api_usd))
            )
            if not np.isnan(y).all()
        ]
        html, png = charts.line_chart(
            out,
            series,
            f"Monthly cost vs volume: {model} on {accelerator}",
            "output tokens/day",
            "USD/month",
            logx=True,
            logy=True,
        )
        if not as_json:
            _note(f"wrote {html} and {png}")


BUG_EXIT_CODE = 3


cli_econ.register(app)  # market, demand, route, viability (tokenfab.cli_econ)
usage_cli.register(app)  # usage synth|params|report|whatif, export-prices (tokenfab.usage.cli)
calibrate_cli.register(app)  # calibrate (tokenfab.calibrate.cli; the fit loads when run)


def main() -> None:
    """Entry point: a tokenfab error prints one line and exits 2; any other exception is a bug,
    printed as one line asking for a report, with exit code 3."""
    err = Console(stderr=True, soft_wrap=True)
    with warnings.catch_warnings():
        # Inputs are range-checked before they reach NumPy, so a floating-point warning here
        # would be noise in front of the answer; the test suite runs with warnings shown.
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            app()
        except TokenfabError as exc:
            err.print(f"error: {exc}", style="bold red", markup=False, highlight=False)
            raise SystemExit(2) from None
        except (KeyboardInterrupt, BrokenPipeError):
            raise SystemExit(130) from None
        except Exception as exc:  # the last line of defence: one line to report, no traceback
            where = exc.__traceback__
            while where is not None and where.tb_next is not None:
                where = where.tb_next
            at = (
                f" at {Path(where.tb_frame.f_code.co_filename).name}:{where.tb_lineno}"
                if where
                else ""
            )
            err.print(
                f"bug: {type(exc).__name__}: {exc}{at} -- this is a tokenfab bug; please "
                "report it with the command you ran",
                style="bold red",
                markup=False,
                highlight=False,
            )
            raise SystemExit(BUG_EXIT_CODE) from None
