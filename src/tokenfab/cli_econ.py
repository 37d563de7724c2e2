"""CLI commands of the wider economics: ``market``, ``demand``, ``route``, ``viability``,
``factory``.

Parse, call the core (market.py, demand.py, routing.py, viability.py), render. No formula
lives here. :func:`register` adds the commands to the main app.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from tokenfab import operations, schema
from tokenfab.fileio import CHART_SUFFIXES, check_output_path, json_text, write_text_atomic
from tokenfab.render import fixed, fmt, money, pct
from tokenfab.words import plural

console = Console(markup=False, emoji=False, width=None if sys.stdout.isatty() else 160)


def _emit(data: Any) -> None:
    sys.stdout.write(json_text(data))


def _note(text: str) -> None:
    """A side note ("wrote chart.html") on stderr, so stdout holds only the answer."""
    Console(stderr=True, emoji=False).print(text, style="dim", markup=False, highlight=False)


def _refuse_beside_list(given: dict[str, Any], arguments: tuple[str, ...] = (), **extras) -> None:
    """Refuse options that do nothing with ``--list`` (it shows the choices and exits).

    ``market --list --scenario jevons`` listed the scenarios and dropped --scenario without a
    word; one line now names the first such option (an argument by its name in capitals).

    Raises
    ------
    ScenarioError
        When a request field or an extra option (``--out``) is given beside ``--list``.
    """
    from tokenfab.cli import flag
    from tokenfab.errors import ScenarioError

    named = [n.upper() if n in arguments else flag(n) for n in given]
    named += [flag(n) for n, v in extras.items() if v not in (None, False)]
    if named:
        raise ScenarioError(
            f"--list: shows the choices and exits; {named[0]} does nothing with it, "
            f"drop {named[0]} or --list"
        )


def _catalog():
    from tokenfab.cli import _catalog as main_catalog

    return main_catalog()


def _b(x: float) -> str:
    return fixed(x / 1e9, 1)


def _share(x: float) -> str:
    """A share to 1 decimal of a percent, or to 3 significant figures below 0.1 % (a success
    rate of 1e-6 read "0.0%").

    >>> _share(0.866), _share(1e-6), _share(0.0)
    ('86.6%', '0.0001%', '0.0%')
    """
    return f"{x * 100:.3g}%" if 0 < abs(x) < 1e-3 else f"{x:.1%}"


def saving_text(saving: float, after_usd: float, before_usd: float) -> str:
    """The saving per successful outcome as a reader takes it in: a percentage down to -100 %
    (the cost doubled); beyond it, how many times as much a success costs, since "-6333233.3%"
    reads as nothing. ``saving = 1 - after / before``, so after / before = 1 - saving.

    Routing every request to a small model that succeeds once in a million (RouteLLM's
    defaults otherwise): $0.0075 a request / 1e-6 = $7,500 a success, against the big model's
    $0.1184 (0.1125 / 0.95): 7,500 / 0.1184 = 63,333x, a saving of 1 - 63,333 = -6,333,233 %.

    >>> saving_text(-0.431, 0.169, 0.118)
    '-43.1%'
    >>> saving_text(1 - 7500 / (0.1125 / 0.95), 7500, 0.1125 / 0.95)
    'none: a successful outcome costs 63,333x as much ($7,500 against $0.118)'
    """
    if saving > -1:
        return f"{saving:.1%}"
    return (
        f"none: a successful outcome costs {fmt(1 - saving)}x as much "
        f"(${fmt(after_usd)} against ${fmt(before_usd)})"
    )


def market(
    ctx: typer.Context, given: dict[str, Any], list_: bool, out: str | None, as_json: bool
) -> None:
    """Market value = token volume x blended price by segment, to 2030, with GW and a fan."""
    from tokenfab import market as mk
    from tokenfab.cli import _catalog as main_catalog

    if list_:
        _refuse_beside_list(given, out=out)
    chart = check_output_path(out, suffixes=CHART_SUFFIXES) if out is not None else None
    if list_:
        data = mk.load_market_data()
        listed = schema.MarketList.model_validate(
            {
                "scenarios": [
                    {"name": n, "kind": s.kind, "description": " ".join(s.description.split())}
                    for n, s in data.scenarios.items()
                ]
            }
        )
        if as_json:
            _emit(listed.model_dump())
            return
        t = Table("scenario", "kind", "description", show_lines=True)
        for r in listed.scenarios:
            t.add_row(r.name, r.kind, r.description)
        console.print(t)
        return
    op = operations.get("market")
    req = op.parse(given)
    scenario = req.scenario
    cat = main_catalog(ctx)
    proj = op.compute(req, cat)
    doc = op.present(proj, cat).model_dump()
    if as_json:
        _emit(doc)
    else:
        _print_market(proj, doc)
    if chart is not None:
        from tokenfab import charts

        series = [
            {
                "name": "model",
                "x": proj.years,
                "y": proj.market_usd / 1e9,
                "color": charts.COLORS[0],
            }
        ]
        for _k, (name, dash) in enumerate(
            (("p5", "dot"), ("p25", "dash"), ("p50", "solid"), ("p75", "dash"), ("p95", "dot"))
        ):
            if name in proj.fan:
                series.append(
                    {
                        "name": f"Monte Carlo {name}",
                        "x": proj.years,
                        "y": proj.fan[name] / 1e9,
                        "color": charts.COLORS[1],
                        "dash": dash,
                        "style": {"dot": ":", "dash": "--", "solid": "-"}[dash],
                    }
                )
        html, png = charts.line_chart(
            chart, series, f"Inference market: {scenario}", "year", "USD billion a year", logy=True
        )
        # tokens a year: the projection beside providers' annualised token counts
        tok_series = [
            {
                "name": "projection",
                "x": proj.years,
                "y": proj.tokens_per_year,
                "color": charts.COLORS[0],
            }
        ]
        hist: dict[str, list[tuple[float, float]]] = {}
        for h in doc["historic"]:
            d = h["date"]
            year = int(d[:4]) + (int(d[5:7]) - 0.5) / 12
            hist.setdefault(h["series"], []).append((year, h["tokens_per_year_annualised"]))
        for k, (name, pts) in enumerate(hist.items(), start=2):
            tok_series.append(
                {
                    "name": f"{name} (annualised)",
                    "x": [p[0] for p in pts],
                    "y": [p[1] for p in pts],
                    "color": charts.COLORS[k % len(charts.COLORS)],
                    "style": "o--",
                    "dash": "dash",
                }
            )
        tout = Path(str(chart.with_suffix("")) + "-tokens.html")
        html2, png2 = charts.line_chart(
            tout,
            tok_series,
            f"Tokens a year: {scenario} and providers",
            "year",
            "tokens a year",
            logy=True,
        )
        gout = Path(str(chart.with_suffix("")) + "-gw.html")
        html3, png3 = charts.line_chart(
            gout,
            _gw_series(proj, doc, charts.COLORS),
            f"Inference power if every token ran on one accelerator: {scenario}",
            "year",
            "GW (facility, PUE included)",
            logy=True,
        )
        _note(f"wrote {html}, {png}, {html2}, {png2}, {html3} and {png3}")


def _gw_series(proj: Any, doc: dict[str, Any], colors: list[str]) -> list[dict[str, Any]]:
    """GW a year per accelerator (the projection's tokens over its tokens per joule) beside the
    seeds' power figures, each a point or pair of points of its own."""
    series = [
        {"name": f"all on {acc}", "x": proj.years, "y": gw, "color": colors[k % len(colors)]}
        for k, (acc, gw) in enumerate(proj.energy.get("gw_by_accelerator", {}).items())
    ]
    for k, p in enumerate(doc["seed_power"], start=len(series)):
        series.append(
            {
                "name": f"seed: {p['label']}",
                "x": [p["year"]],
                "y": [p["gw"]],
                "color": colors[k % len(colors)],
                "style": "s",
                "dash": "dot",
            }
        )
    return series


def _print_market(proj, doc: dict[str, Any]) -> None:
    accs = list(proj.energy.get("gw_by_accelerator", {}))
    t = Table(title=f"Market: {proj.name} ({proj.scenario.kind})")
    for col in (
        "year",
        "tokens/yr",
        "$/Mtok",
        "market $B",
        "p5-p95 $B",
        *[f"GW {a}" for a in accs],
    ):
        t.add_column(col, justify="right")
    for row in doc["years"]:
        pct = row.get("market_usd_percentiles")
        band = f"{_b(pct['p5'])}-{_b(pct['p95'])}" if pct else ""
        gw = [fixed(row["inference_gw"][a], 1) for a in accs]
        t.add_row(
            str(row["year"]),
            f"{row['tokens_per_year']:.3g}",
            f"{row['usd_per_mtok']:.3g}",
            _b(row["market_usd"]),
            band,
            *gw,
        )
    console.print(t)
    s = Table(title="segments (base-year price, price chain decline, volume growth)")
    for col in (
        "segment",
        "$/Mtok base",
        "price decline/yr",
        "chain",
        "volume growth/yr",
        "2030 $B",
    ):
        s.add_column(col, justify="right")
    for seg in doc["segments"]:
        s.add_row(
            seg["name"],
            f"{seg['usd_per_mtok_base']:.3g}",
            f"{seg['price_decline_per_year']:.0%}",
            seg["price_chain"],
            f"{seg['volume_growth_per_year']:+.0%}",
            _b(seg["years"][-1]["market_usd"]),
        )
    console.print(s)
    for n in doc["notes"]:
        console.print(f"- {n}")
    for r in doc["consistency"].get("rows", []):
        console.print(
            f"- {r['year']}: stated ${_b(r['stated_market_usd'])}B; the table's own volume x price "
            f"columns give ${_b(r['columns_market_usd_reading_first_column_base'])}B (as "
            f"multiples of {r['first_column_year']}) or "
            f"${_b(r['columns_market_usd_reading_base_year_base'])}B (of {r['base_year']}); "
            "the totals need "
            f"volume x{fixed(r['volume_multiple_the_totals_need'], 1)} of 2025, the table says "
            f"x{fixed(r['volume_multiple_stated_vs_base_year'], 1)}"
        )
    if doc["consistency"]["verdict"]:
        console.print(f"- verdict: {doc['consistency']['verdict']}")
    for p in doc["seed_power"]:
        console.print(f"- seed: {p['label']}: {p['gw']} GW", style="dim")
    console.print(f"- energy: {doc['energy'].get('basis', '')}", style="dim")
    for a in doc["assumed"]:
        console.print(f"- assumed: {a}", style="dim")


def demand(
    ctx: typer.Context,
    given: dict[str, Any],
    list_: bool,
    write_scenario: str | None,
    as_json: bool,
) -> None:
    """Demand from usage: users x sessions x requests x tokens, by archetype."""
    import yaml

    from tokenfab import demand as dm

    if list_:
        _refuse_beside_list(given, ("file",), write_scenario=write_scenario)
        listed = schema.DemandList.from_archetypes(dm.archetypes())
        if as_json:
            _emit(listed.model_dump())
            return
        t = Table("archetype", "parameter", "value", "basis", show_lines=False)
        for a in listed.archetypes:
            for name, p in a.parameters.items():
                t.add_row(a.name, name, f"{p.value:g}", p.basis)
        console.print(t)
        return
    target = (
        check_output_path(write_scenario, option="--write-scenario", suffixes=(".yaml", ".yml"))
        if write_scenario is not None
        else None
    )
    op = operations.get("demand")
    d = op.compute(op.parse(given), None)
    doc = op.present(d, None).model_dump()
    if target is not None:
        write_text_atomic(target, yaml.safe_dump(d.scenario_fields(), sort_keys=False))
    if as_json:
        _emit(doc)
        return
    t = Table(title="demand by archetype")
    for col in (
        "archetype",
        "users",
        "calls/day",
        "input tok/call",
        "output tok/call",
        "input tok/day",
        "output tok/day",
        "peak req/s",
    ):
        t.add_column(col, justify="right")
    for p in d.parts:
        t.add_row(
            p.archetype,
            f"{p.users:,.0f}",
            f"{p.calls_per_day:,.0f}",
            f"{p.input_tokens_per_call:,.0f}",
            f"{p.output_tokens_per_call:,.0f}",
            f"{p.input_tokens_per_day:.3g}",
            f"{p.output_tokens_per_day:.3g}",
            f"{p.peak_requests_per_s:,.2f}",
        )
    t.add_row(
        "total",
        "",
        f"{d.calls_per_day:,.0f}",
        "",
        "",
        f"{d.input_tokens_per_day:.3g}",
        f"{d.tokens_per_day:.3g}",
        f"{d.peak_requests_per_s:,.2f}",
        style="bold",
    )
    console.print(t)
    for p in d.parts:
        for k, basis in p.provenance.items():
            console.print(f"- {p.archetype}.{k} = {p.params[k]:g}: {basis}", style="dim")
    console.print(f"scenario fields: {d.scenario_fields()}")


def route(ctx: typer.Context, given: dict[str, Any], list_: bool, as_json: bool) -> None:
    """Cost per successful outcome with a router/cascade, before and after, and where routing
    saves 40-70%; the routed share and success rate from a published router study unless
    given."""
    from tokenfab import routing
    from tokenfab.cli import _catalog as main_catalog

    if list_:
        _refuse_beside_list(given)
        listed = schema.RouteList.model_validate(
            {
                "studies": [
                    {
                        "name": n,
                        "benchmark": s.benchmark,
                        "strong_model": s.strong_model,
                        "weak_model": s.weak_model,
                        "routed_share": s.routed_share,
                        "quality_retained": s.quality_retained,
                        "source": s.source,
                    }
                    for n, s in routing.router_studies().items()
                ]
            }
        )
        if as_json:
            _emit(listed.model_dump())
            return
        t = Table("study", "benchmark", "strong / weak", "routed", "quality kept", "source")
        for st in listed.studies:
            default = " (default)" if st.name == routing.DEFAULT_STUDY else ""
            t.add_row(
                st.name + default,
                st.benchmark,
                f"{st.strong_model} / {st.weak_model}",
                f"{st.routed_share:.1%}",
                f"{st.quality_retained:.1%}",
                st.source,
            )
        console.print(t)
        return
    result = operations.get("route").run(given, main_catalog(ctx))
    if as_json:
        _emit(result.model_dump())
        return
    r = result
    console.print(
        f"routed share {_share(r.routed_share)}, small-model success {_share(r.success_small)}, "
        f"failure detection {r.failure_detection:.0%}"
        + (f" ({', '.join(r.from_study)} from study {r.study})" if r.from_study else "")
    )
    if r.from_study:
        console.print(f"study {r.study}: {r.study_source}", style="dim")
    t = Table(title=f"routing {r.small} in front of {r.big}")
    for col in ("", "cost/request $", "success", "cost/success $"):
        t.add_column(col, justify="right")
    t.add_row(
        "before",
        fmt(r.cost_usd_per_request_before),
        fmt(r.success_rate_before),
        fmt(r.cost_per_success_usd_before),
    )
    t.add_row(
        "after",
        fmt(r.cost_usd_per_request_after),
        fmt(r.success_rate_after),
        fmt(r.cost_per_success_usd_after),
    )
    console.print(t)
    console.print(
        "saving per successful outcome: "
        + saving_text(
            r.savings_per_success, r.cost_per_success_usd_after, r.cost_per_success_usd_before
        )
    )
    g = Table(
        title="saving per success (success rate after) by routed share (rows) x small-model "
        f"success (columns), big-model success {r.grid.success_big:.0%}, failure detection "
        f"{r.grid.failure_detection:.0%}; * = 40-70%"
    )
    g.add_column("routed", justify="right")
    for q in r.grid.success_small:
        g.add_column(f"{q:.0%}", justify="right")
    grid = zip(
        r.grid.routed_share, r.grid.savings_per_success, r.grid.success_rate_after, strict=True
    )
    for s, row, kept in grid:
        cells = [
            f"{pct(v)}{'*' if 0.4 <= v <= 0.7 else ''} ({k:.2f})"
            for v, k in zip(row, kept, strict=True)
        ]
        g.add_row(f"{s:.0%}", *cells)
    console.print(g)
    if r.grid.failure_detection < 1:
        console.print(
            f"with failure detection {r.grid.failure_detection:.0%}, a small model's failed "
            "answer is not retried on the big model: the saving comes with a lower success rate "
            "(in brackets, against the big model's alone); seed 003's claim is a saving 'without "
            "degrading perceived quality' (--failure-detection 1 prices escalating failures)",
            style="dim",
        )


def viability(ctx: typer.Context, given: dict[str, Any], as_json: bool) -> None:
    """Margin, verdict and break-even price of a product; without a cost, seed 003's table."""
    from tokenfab.cli import _catalog as main_catalog

    op = operations.get("viability")
    req = op.parse(given)
    result = op.run(req, main_catalog(ctx))
    if as_json:
        _emit(result.model_dump())
        return
    per_month = req.revenue_usd_per_user_month is not None  # the unit the revenue came in
    rows = result.products
    targets = {r.target_margin for r in rows}
    target = f"{targets.pop():.0%} margin" if len(targets) == 1 else "target margin"
    if per_month:
        n = rows[0].requests_per_user_month
        t = Table(title=f"viability (per user-month of {plural(n, 'request', spec=',.4g')})")
        cols = ("product", "revenue $", "cost $", "margin", "verdict", f"price for {target} $")
    else:
        t = Table(title="viability (per request)")
        cols = ("product", "revenue $", "cost $", "margin", "verdict", f"price for {target} $")
        cols += ("seed",)
    for col in cols:
        t.add_column(col, justify="right")
    for r in rows:
        m = r.margin
        if per_month:
            money = (
                r.revenue_usd_per_user_month,
                r.cost_usd_per_user_month,
                r.target_price_usd_per_user_month,
            )
        else:
            money = (
                r.revenue_usd_per_request,
                r.cost_usd_per_request,
                r.target_price_usd_per_request,
            )
        cells = [
            r.name,
            f"{money[0]:.4g}",
            f"{money[1]:.4g}",
            "- (no revenue)" if m is None else pct(m),
            r.verdict,
            f"{money[2]:.4g}",
        ]
        if not per_month:
            cells.append(f"{r.seed_margin or ''} {r.seed_verdict or ''}".strip())
        t.add_row(*cells)
    console.print(t)
    if per_month:
        r = rows[0]
        console.print(
            f"a request: revenue ${r.revenue_usd_per_request:.4g}, cost "
            f"${r.cost_usd_per_request:.4g}, price for {target} ${r.target_price_usd_per_request:.4g}",
            style="dim",
            highlight=False,
        )
    notes = ["break-even price = the cost (margin 0)"]
    if req.cost_usd_per_request is None and req.api_price is None:
        notes.append(
            "seed rows at the geometric middle of the seed's revenue and cost ranges; "
            "`--json` adds the margin range the columns allow"
        )
    console.print("; ".join(notes), style="dim", highlight=False)


def _demand_line(dem: dict[str, Any] | None, power_mw: float) -> None:
    """The share of the facility a demand uses, in one line (nothing without a demand)."""
    if dem is None:
        return
    if dem["share_of_facility"] is None:
        console.print("demand: the facility serves no tokens, so none of it is met")
        return
    if dem["share_of_facility"] > 1:
        console.print(
            f"demand of {dem['tokens_per_day']:.3g} output tokens/day cannot be met: it needs "
            f"{dem['share_of_facility']:.3g} times the facility ({dem['power_mw_needed']:.3g} MW "
            f"against {power_mw:g} MW at the same tiers and hardware)"
        )
        return
    console.print(
        f"demand of {dem['tokens_per_day']:.3g} output tokens/day uses "
        f"{dem['share_of_facility']:.1%} of the facility ({dem['power_mw_needed']:.3g} MW of "
        f"{power_mw:g}); at its peak {dem['peak_share_of_capacity']:.1%} of its capacity "
        f"({dem['power_mw_for_peak']:.3g} MW carry the peak)"
    )


def factory(
    ctx: typer.Context,
    given: dict[str, Any],
    out: str | None,
    demand: Path | None,
    as_json: bool,
) -> None:
    """AI factory: a power budget split across price tiers, revenue and cost per year."""
    from tokenfab.cli import _catalog as main_catalog

    chart = check_output_path(out, suffixes=CHART_SUFFIXES) if out is not None else None
    op = operations.get("factory")
    if demand is not None:  # the demand's output tokens a day and mean call, options winning
        from tokenfab.demand import demand_fields

        fields = demand_fields(demand)
        given = {k: v for k, v in fields.items() if k in op.request.model_fields} | given
    req = op.parse(given)
    power_mw, model = req.facility_mw, req.model
    cat = main_catalog(ctx)
    results = op.compute(req, cat)
    typed = op.present(results, cat)
    if as_json:
        _emit(typed.model_dump())
    mixed = typed.model_dump() if isinstance(typed.root, schema.FactoryMixResult) else None
    if mixed is not None:
        results = results[0].parts
        docs = [p["factory"] for p in mixed["mix"]]
    else:
        roots = typed.root if isinstance(typed.root, list) else [typed.root]
        docs = [t.model_dump() for t in roots]
    if not as_json:
        for d in docs:
            t = Table(
                title=f"{d['power_mw']:g} MW of {d['accelerator']} ({d['precision']}) serving "
                f"{d['model']}: {fmt(d['accelerators'])} "
                + ("accelerator's" if d["accelerators"] == 1 else "accelerators'")
                + " worth of power"
            )
            for col in (
                "tier",
                "$/Mtok",
                "billed/out",
                "power",
                "out tok/s/user",
                "TTFT s",
                "out tok/s/acc",
                "out tok/s/MW",
                "out tokens/yr",
                "revenue $/yr",
            ):
                t.add_column(col, justify="right")
            for tier in d["tiers"]:
                t.add_row(
                    tier["name"],
                    f"{tier['usd_per_mtok']:g}",
                    f"{tier['price_basis_kind']} x{tier['billed_tokens_per_output_token']:.3g}",
                    f"{tier['share_of_power']:.0%}",
                    "-" if tier["tok_s_per_user"] is None else f"{tier['tok_s_per_user']:.0f}",
                    "-" if tier["ttft_s"] is None else f"{tier['ttft_s']:.3g}",
                    "-"
                    if tier["tok_s_per_user"] is None
                    else fixed(tier["output_tok_s_per_accelerator"]),
                    "-"
                    if tier["output_tok_s_per_mw"] is None
                    else f"{tier['output_tok_s_per_mw']:,.0f}",
                    f"{tier['tokens_per_year']:.3g}",
                    money(tier["revenue_usd_per_year"]),
                )
            console.print(t)
            cost = d["cost_usd_per_year"]
            console.print(
                f"revenue {money(d['revenue_usd_per_year'])}/yr "
                f"(${d['revenue_usd_per_accelerator_hour']:.3g} per accelerator-hour), cost "
                + ("not priced" if cost is None else f"{money(cost)}/yr")
                + (f", margin {pct(d['margin'])}" if d["margin"] is not None else "")
                + ("" if d["capex_usd"] is None else f"; capex {money(d['capex_usd'])}")
                + f"; {_per_mw(d)}, {d['tokens_per_joule']:.3g} output tokens/J of average draw"
            )
            if d["co2e_g_per_mtok"] is not None:
                emb = d["embodied_co2e_g_per_mtok"]
                console.print(
                    f"carbon: {d['co2e_g_per_mtok']:.3g} gCO2e/Mtok operational, "
                    + ("embodied not known" if emb is None else f"{emb:.3g} embodied")
                )
            for n in d["notes"]:
                console.print(f"- {n}", style="dim")
            if mixed is None:
                _demand_line(d["demand"], power_mw)
        if mixed is not None:
            cost = mixed["cost_usd_per_year"]
            console.print(
                f"facility of {power_mw:g} MW, "
                + ", ".join(
                    f"{p['share_of_power']:.0%} {p['accelerator']}/{p['model']}"
                    for p in mixed["mix"]
                )
                + f": revenue {money(mixed['revenue_usd_per_year'])}/yr "
                f"(${mixed['revenue_usd_per_accelerator_hour']:.3g} per accelerator-hour), cost "
                + ("not priced" if cost is None else f"{money(cost)}/yr")
                + f"; {_per_mw(mixed)}",
                style="bold",
            )
            _demand_line(mixed["demand"], power_mw)
    if chart is not None:
        from tokenfab import charts

        def label(model: str) -> str:  # a mix's parts may differ by model only
            return f" / {model}" if mixed is not None else ""

        series = []
        for k, f in enumerate(results):
            x, y = f.tok_s_per_mw_curve()
            series.append(
                {
                    "name": f"{f.accelerator}{label(f.model)} ({f.precision})",
                    "x": x,
                    "y": y,
                    "color": charts.COLORS[k % 8],
                }
            )
        tiers = [t["name"] for t in docs[0]["tiers"]]
        bars = []
        for k, d in enumerate(docs):
            bars.append(
                {
                    "name": f"{d['accelerator']}{label(d['model'])} revenue",
                    "y": [t["revenue_usd_per_year"] / 1e9 for t in d["tiers"]],
                    "color": charts.COLORS[(2 * k) % 8],
                }
            )
            if d["cost_usd_per_year"] is not None:
                bars.append(
                    {
                        "name": f"{d['accelerator']}{label(d['model'])} cost",
                        "y": [t["cost_usd_per_year"] / 1e9 for t in d["tiers"]],
                        "color": charts.COLORS[(2 * k + 1) % 8],
                    }
                )
        bout = Path(str(chart.with_suffix("")) + "-tiers.html")
        bhtml, bpng = charts.bar_chart(
            bout, tiers, bars, f"Revenue and cost per tier: {power_mw:g} MW", "USD billion a year"
        )
        html, png = charts.line_chart(
            chart,
            series,
            f"Throughput per MW vs interactivity: {model}",
            "output tok/s per user",
            "output tok/s per MW (facility)",
            logx=True,
            logy=True,
        )
        _note(f"wrote {html}, {png}, {bhtml} and {bpng}")


def _per_mw(d: dict[str, Any]) -> str:
    """A facility's output rate over its capacity in the table's unit (out tok/s/MW), with
    the same figure per GW beside it: the line once gave per GW under a table in per MW."""
    return (
        f"{d['output_tok_s_per_mw']:,.0f} output tok/s per MW of capacity "
        f"({d['output_tok_s_per_gw'] / 1e6:.3g} M per GW)"
    )


LIST = Annotated[bool, typer.Option("--list", help="show the choices and exit")]


def register(app: typer.Typer) -> None:
    """Add the economics commands to the main app."""
    from tokenfab.cli import AS_JSON, DEMAND, OUT, command

    as_json = {"as_json": (AS_JSON, False)}
    command(
        "market",
        schema.MarketRequest,
        {"list_": (LIST, False), "out": (OUT, None), **as_json},
        target=app,
    )(market)
    command("route", schema.RouteRequest, {"list_": (LIST, False), **as_json}, target=app)(route)
    command("viability", schema.ViabilityRequest, as_json, target=app)(viability)
    command(
        "demand",
        schema.DemandRequest,
        {
            "list_": (LIST, False),
            "write_scenario": (
                Annotated[
                    str | None,
                    typer.Option(
                        "--write-scenario",
                        help="write the demand's Scenario fields (tokens_per_day, lengths, "
                        "peak_to_average) as YAML, for --demand or --scenario of estimate and "
                        "plan (--demand of factory)",
                    ),
                ],
                None,
            ),
            **as_json,
        },
        arguments=("file",),
        target=app,
    )(demand)
    command(
        "factory",
        schema.FactoryRequest,
        {"out": (OUT, None), "demand": (DEMAND, None), **as_json},
        target=app,
    )(factory)
