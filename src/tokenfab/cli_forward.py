"""CLI commands of the forward analyses: ``project``, ``roadmap``, ``narrative`` and
``scenario new``.

Parse, call the core (projection.py, roadmap.py, narrative.py), render. No formula lives
here. :func:`register` adds the commands to the main app.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from tokenfab import operations, schema
from tokenfab.errors import ScenarioError
from tokenfab.fileio import CHART_SUFFIXES, check_output_path, json_text, write_text_atomic
from tokenfab.words import plural

console = Console(markup=False, emoji=False, width=None if sys.stdout.isatty() else 160)


def _emit(data: Any) -> None:
    sys.stdout.write(json_text(data))


def _note(text: str) -> None:
    Console(stderr=True, emoji=False).print(text, style="dim", markup=False, highlight=False)


def _catalog(ctx: typer.Context):
    from tokenfab.cli import _catalog as main_catalog

    return main_catalog(ctx)


def _print(text: str, **kw: Any) -> None:
    console.print(text, markup=False, highlight=False, **kw)


def load_projection_inputs(path: str | Path, overrides: dict[str, Any]):
    """The scenario file's ``projection:`` block with the options given on top."""
    return operations.projection_inputs(path, overrides)


def _m(x: float | None) -> str:
    return "-" if x is None else f"{x / 1e6:,.2f}"


def _p(x: float | None) -> str:
    return "-" if x is None else f"{x:.3g}"


def project_cmd(ctx: typer.Context, given: dict[str, Any], out: Path | None, as_json: bool) -> None:
    """Project a scenario file year by year: cost and cash of buying, renting and an API."""
    if out is not None:
        check_output_path(out, suffixes=CHART_SUFFIXES)
    doc = operations.get("project").run(given, _catalog(ctx)).model_dump()
    if as_json:
        _emit(doc)
    else:
        t = Table(
            title=f"Projection: {doc['model']} on {doc['accelerator']} ({doc['region']}), "
            "USD million a year unless stated (cum.: cumulative cash)",
            title_justify="left",
        )
        for col in (
            "year",
            "output Mtok",
            "bought fleet",
            "buy cash",
            "buy $/Mtok",
            "rent cash",
            "rent $/Mtok",
            "API cash",
            "API $/Mtok",
            "cum. buy",
            "cum. rent",
            "cum. API",
        ):
            t.add_column(col, justify="left" if col == "bought fleet" else "right")
        for y in doc["years"]:
            t.add_row(
                str(y["calendar_year"]),
                f"{y['output_mtok']:,.0f}",
                ", ".join(f"{n} {a}" for a, n in y["buy_accelerators"].items()),
                _m(y["buy_cash_usd"]),
                _p(y["buy_usd_per_mtok"]),
                _m(y["rent_cash_usd"]),
                _p(y["rent_usd_per_mtok"]),
                _m(y["api_cash_usd"]),
                _p(y["api_usd_per_mtok"]),
                _m(y["buy_cumulative_cash_usd"]),
                _m(y["rent_cumulative_cash_usd"]),
                _m(y["api_cumulative_cash_usd"]),
            )
        console.print(t)
        rate = next(
            (a["value"] for a in doc["assumptions"] if a["name"] == "cost_of_capital_per_year"),
            None,
        )
        _print(
            "$/Mtok: cost per million output tokens, all cost over output tokens (a request's "
            "cost, its prompt processing included, over its output tokens; estimate's output "
            "figure charges prompts separately and reads lower); buy cost charges the installed capital as "
            "an annuity"
            + (f" at the cost of capital {rate:.1%}" if isinstance(rate, float) else "")
            + " over the useful life, as estimate does (year 0: estimate's monthly cost x 12 "
            "over the output). Cash: purchases in the year bought plus operating cost, "
            "undiscounted.",
            style="dim",
        )
        for c in doc["crossings"]:
            _print(f"{c['options']}: {c['text']}")
        _print("assumptions:")
        for a in doc["assumptions"]:
            _print(f"- {a['name']} = {a['value']} {a['unit']}: {a['source']}", style="dim")
        for n in doc["notes"]:
            _print(f"- {n}", style="dim")
        if doc["fan"] is not None:
            f = doc["fan"]
            again = ", batch chosen again for each under the targets" if f["reoptimise"] else ""
            _print(f"fan: {plural(f['samples'], 'sample')} (seed {f['seed']}{again}) of:")
            for i in f["inputs"] + f["scenario_inputs"]:
                _print(f"- {i['name']} ~ {i['distribution']}: {i['source']}", style="dim")
            if f["feasible_share"] < 1:
                why = ", ".join(f"{r} {c:,}" for r, c in f["infeasible"].items())
                _print(
                    f"  feasible at year 0: {f['feasible_share']:.0%} of samples ({why}); "
                    "the percentiles are over those"
                )
            for o, band in f["cumulative_cash_usd"].items():
                if band["p50"] is not None:
                    _print(
                        f"  {o}: cumulative cash after {len(doc['years'])} "
                        f"year{'s' if len(doc['years']) != 1 else ''} P5 "
                        f"{_m(band['p5'][-1])}, P50 {_m(band['p50'][-1])}, P95 "
                        f"{_m(band['p95'][-1])} USD million"
                    )
            shares = ", ".join(f"{o} {v:.0%}" for o, v in f["cheapest_at_end_share"].items())
            _print(f"  cheapest at the end: {shares} of samples")
    if out is not None:
        from tokenfab import charts

        x = [y["calendar_year"] for y in doc["years"]]
        series = [
            {
                "name": f"{o} (cumulative cash)",
                "x": x,
                "y": [y[f"{o}_cumulative_cash_usd"] / 1e6 for y in doc["years"]],
                "color": charts.COLORS[k],
            }
            for k, o in enumerate(("buy", "rent", "api"))
            if all(y[f"{o}_cumulative_cash_usd"] is not None for y in doc["years"])
        ]
        if doc["fan"] is not None:
            for k, o in enumerate(("buy", "rent", "api")):
                band = doc["fan"]["cumulative_cash_usd"][o]
                for q in ("p5", "p95") if band["p50"] is not None else ():
                    series.append(
                        {
                            "name": f"{o} {q.upper()}",
                            "x": x,
                            "y": [v / 1e6 for v in band[q]],
                            "color": charts.COLORS[k],
                            "dash": "dot",
                            "style": ":",
                        }
                    )
        html, png = charts.line_chart(
            out,
            series,
            f"Cumulative cash: {doc['model']} on {doc['accelerator']}"
            + (
                ""
                if doc["fan"] is None
                else f" (P5-P95 of {plural(doc['fan']['samples'], 'sample')})"
            ),
            "year",
            "USD million",
        )
        _note(f"wrote {html} and {png}")


def roadmap_cmd(ctx: typer.Context, given: dict[str, Any], as_json: bool) -> None:
    """Cost-saving levers of a scenario file, each re-estimated and ranked, and a staged plan."""
    doc = operations.get("roadmap").run(given, _catalog(ctx)).model_dump()
    if as_json:
        _emit(doc)
        return
    b = doc["base"]
    _print(
        f"Base: {doc['model']} on {doc['accelerator']} ({doc['region']}, {doc['ownership']}): "
        # what the $/Mtok counts, as project's note and the narrative say it: estimate's
        # output price bills the prompts apart, and reads lower for the same deployment
        f"${_p(b['usd_per_mtok'])} per 1M output tokens (all cost over output tokens, prompt "
        f"processing included), {_p(b['joules_per_token'])} J per output token, "
        f"TTFT {b['ttft_s'] * 1e3:.0f} ms, TPOT {b['tpot_s'] * 1e3:.1f} ms"
    )
    t = Table(title="Levers, largest saving first", title_justify="left", show_lines=True)
    for col in (
        "lever",
        "change",
        "$/Mtok",
        "saving $/Mtok",
        "J/token saved",
        "dTTFT ms",
        "dTPOT ms",
    ):
        t.add_column(col, justify="left" if col in ("lever", "change") else "right")
    # fold: its sources are URLs, cut to "https://arxiv.org/abs/2411.0…" at the default width
    t.add_column("quality effect", max_width=50, overflow="fold")
    notes = []
    for lv in doc["levers"]:
        if not lv["applicable"]:
            t.add_row(lv["lever"], lv["change"], "-", "-", "-", "-", "-", lv["note"])
            continue
        if lv["note"]:
            notes.append(f"{lv['lever']}: {lv['note']}")
        t.add_row(
            lv["lever"],
            lv["change"],
            _p(lv["usd_per_mtok"]),
            f"{_p(lv['saving_usd_per_mtok'])} ({lv['saving_share']:.0%})",
            _p(lv["saving_joules_per_token"]),
            f"{lv['ttft_change_s'] * 1e3:+.0f}",
            f"{lv['tpot_change_s'] * 1e3:+.1f}",
            lv["quality"],
        )
    console.print(t)
    for n in notes:
        _print(f"- {n}", style="dim")
    for s in doc["plan"]:
        _print(
            f"stage {s['stage']}: {' + '.join(s['levers'])}: ${_p(s['usd_per_mtok'])} per 1M "
            "output tokens, all cost over them "
            f"({s['saving_share']:.0%} saved), TTFT {s['ttft_s'] * 1e3:.0f} ms, "
            f"TPOT {s['tpot_s'] * 1e3:.1f} ms"
        )


def narrative_cmd(ctx: typer.Context, given: dict[str, Any], as_json: bool) -> None:
    """A deployment narrative written from the model's numbers (no language model)."""
    result = operations.get("narrative").run(given, _catalog(ctx))
    if as_json:
        _emit(result.model_dump())
        return
    for section in result.sections:
        _print(section.title, style="bold")
        _print(section.text)
        _print("")


def scenario_new_cmd(
    ctx: typer.Context, given: dict[str, Any], out: Path | None, force: bool
) -> None:
    """Write a commented scenario template (to --out, else to stdout) that estimate accepts."""
    from tokenfab.template import scenario_template

    if force and out is None:  # printed to stdout, there is no file to overwrite
        raise ScenarioError("--force: overwrites the --out file; give --out too, or drop --force")
    req = schema.ScenarioNewRequest.parse(given)
    text = scenario_template(req, _catalog(ctx))
    if out is None:
        sys.stdout.write(text)
        return
    check_output_path(out)  # a folder, a missing folder, no write access: even with --force
    if out.exists() and not force:
        raise ScenarioError(f"--out: {out} exists; give --force to overwrite it")
    write_text_atomic(out, text)
    _note(f"wrote {out}; check it with: tokenfab estimate --scenario {out}")


def register(app: typer.Typer) -> None:
    """Add the forward commands to the main app."""
    from tokenfab.cli import AS_JSON, OUT, command

    as_json = {"as_json": (AS_JSON, False)}
    command(
        "project",
        schema.ProjectRequest,
        {"out": (OUT, None), **as_json},
        arguments=("scenario",),
        target=app,
    )(project_cmd)
    command("roadmap", schema.RoadmapRequest, as_json, arguments=("scenario",), target=app)(
        roadmap_cmd
    )
    command("narrative", schema.NarrativeRequest, as_json, arguments=("scenario",), target=app)(
        narrative_cmd
    )
    scenario_app = typer.Typer(help="Scenario files: write a commented template.")
    app.add_typer(scenario_app, name="scenario")
    command(
        "new",
        schema.ScenarioNewRequest,
        {
            "out": (
                Annotated[
                    Path | None,
                    typer.Option("--out", help="file to write (default: print the template)"),
                ],
                None,
            ),
            "force": (
                Annotated[bool, typer.Option("--force", help="overwrite --out if it exists")],
                False,
            ),
        },
        target=scenario_app,
    )(scenario_new_cmd)
