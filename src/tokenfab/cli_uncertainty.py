"""CLI commands of the uncertainty analyses: ``montecarlo`` and ``sensitivity``.

Parse, read the scenario file and its distributions, call :mod:`tokenfab.uncertainty`, render.
No formula lives here. :func:`register` adds the commands to the main app.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from tokenfab import schema
from tokenfab.fileio import CHART_SUFFIXES, check_output_path, json_text
from tokenfab.words import plural

HISTOGRAM_KPIS = (
    "cost_usd_per_mtok_blended",
    "cost_usd_per_mtok_output",
    "monthly_cost_usd",
    "output_tok_s_per_accelerator",
    "tpot_s",
    "ttft_s",
    "tokens_per_joule",
    "co2e_g_per_mtok",
    "accelerators_needed",
)
"""The KPIs drawn as histograms by ``montecarlo --out`` (those the run has)."""


def _console() -> Console:
    return Console(markup=False, emoji=False, width=None if sys.stdout.isatty() else 140)


def _note(text: str) -> None:
    Console(stderr=True, emoji=False).print(text, style="dim", markup=False, highlight=False)


def _unit(key: str) -> str:
    field = schema.EstimateResult.model_fields.get(key)
    return (schema.unit_of(field) or "") if field is not None else ""


def _g(x: float | None) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.4g}"


def _request(
    model: type[Any], given: dict[str, Any], path: Path | None
) -> tuple[Any, Callable[[str], str] | None]:
    """The request from an optional scenario file (with its distributions: block) and the
    options given (options win; --distributions replaces the file's block), and where the
    distributions came from (``file:line`` of each, for messages)."""
    from tokenfab.errors import ScenarioError
    from tokenfab.scenario import in_file, read_scenario_file, with_overrides

    base: dict[str, Any] = {}
    where = None
    if path is not None:
        sf = read_scenario_file(path, defaults=given)  # options fill what the file leaves out
        base = sf.scenario.model_dump(exclude_unset=True)
        if sf.distributions and "distributions" not in given:
            base["distributions"] = sf.distributions
            where = sf.where
        from tokenfab.cli import remember_file_values

        remember_file_values(path, {k: v for k, v in base.items() if k not in given})
    try:
        return model.parse(with_overrides(base, given)), where
    except ScenarioError as exc:  # a file's field refused beside an option: name its line
        if path is None:
            raise
        raise in_file(exc, path, set(base) - set(given) - {"distributions"}) from None


def _analyse(
    ctx: typer.Context,
    model: type[Any],
    given: dict[str, Any],
    path: Path | None,
    out: Path | None,
    label: str,
    analyse: Callable[..., Any],
) -> tuple[Any, Any, Any]:
    """Check the chart path (before any work), read the request as :func:`_request` does,
    and run ``analyse`` on it under a progress bar: the request, its scenario and the
    analysis."""
    from tokenfab.cli import _catalog
    from tokenfab.uncertainty import ProgressBar

    if out is not None:
        check_output_path(out, suffixes=CHART_SUFFIXES)
    req, where = _request(model, given, path)
    scenario = req.scenario()
    with ProgressBar(label) as bar:
        analysis = analyse(req, _catalog(ctx), where=where, progress=bar)
    return req, scenario, analysis


def _inputs_table(dists: dict[str, Any], defaults: bool) -> Table:
    t = Table(
        title="Uncertain inputs"
        + (
            " (defaults: ranges the catalogs publish, the performance model's held-out error)"
            if defaults
            else ""
        ),
        title_justify="left",
    )
    sourced = any(d.source for d in dists.values())
    t.add_column("input")
    t.add_column("distribution")
    if sourced:
        t.add_column("source", overflow="fold", max_width=60)
    for key, d in dists.items():
        t.add_row(key, d.describe(), *([d.source or ""] if sourced else []))
    return t


def _reasons(console: Console, share: float, reasons: dict[str, int]) -> None:
    style = "yellow" if share < 1 else "dim"
    console.print(f"feasible share: {share:.1%}", style=style, highlight=False)
    for why, count in sorted(reasons.items(), key=lambda kv: -kv[1]):
        console.print(f"  infeasible: {why}: {count:,}", style="yellow", highlight=False)


def montecarlo(
    ctx: typer.Context,
    given: dict[str, Any],
    scenario_file: Path | None,
    out: Path | None,
    as_json: bool,
) -> None:
    """Monte Carlo: mean, P5, P50 and P95 of every KPI when the inputs are uncertain."""
    from tokenfab.uncertainty import analyse_montecarlo

    req, scenario, mc = _analyse(
        ctx, schema.MonteCarloRequest, given, scenario_file, out, "Monte Carlo", analyse_montecarlo
    )
    dists, defaults = mc.inputs, mc.defaults
    result = schema.MonteCarloResult.model_validate(mc.as_dict())
    if as_json:
        sys.stdout.write(json_text(result.model_dump()))
    else:
        console = _console()
        console.print(_inputs_table(dists, defaults))
        t = Table(
            title=f"Monte Carlo: {plural(req.samples, 'sample')}, seed {req.seed}",
            title_justify="left",
        )
        for col in ("KPI", "unit", "mean", "P5", "P50", "P95"):
            t.add_column(col, justify="left" if col in ("KPI", "unit") else "right")
        for key, s in result.kpis.items():
            t.add_row(key, _unit(key), _g(s.mean), _g(s.p5), _g(s.p50), _g(s.p95))
        console.print(t)
        _reasons(console, mc.feasible_share, mc.reasons)
    if out is not None:
        from tokenfab import charts

        panels = [
            {
                "name": f"{k} [{_unit(k)}]" if _unit(k) else k,
                "counts": mc.kpis[k].counts,
                "edges": mc.kpis[k].edges,
                "marks": {"P5": mc.kpis[k].p5, "mean": mc.kpis[k].mean, "P95": mc.kpis[k].p95},
            }
            for k in HISTOGRAM_KPIS
            if k in mc.kpis and mc.kpis[k].counts.size
        ]
        html, png = charts.histogram_chart(
            out,
            panels,
            f"Monte Carlo: {scenario.model} on {scenario.accelerator}, {plural(req.samples, 'sample')} "
            f"({mc.feasible_share:.1%} feasible)",
        )
        _note(f"wrote {html} and {png}")


def sensitivity(
    ctx: typer.Context,
    given: dict[str, Any],
    scenario_file: Path | None,
    out: Path | None,
    as_json: bool,
) -> None:
    """Sensitivity: which uncertain inputs move a KPI (tornado swings or Sobol indices)."""
    from tokenfab.uncertainty import analyse_sensitivity

    req, scenario, analysis = _analyse(
        ctx, schema.SensitivityRequest, given, scenario_file, out, "Sobol", analyse_sensitivity
    )
    doc = analysis.as_dict()
    dists, defaults = analysis.inputs.distributions, analysis.inputs.defaults
    result = schema.SensitivityResult.model_validate(doc)
    unit = _unit(req.kpi)
    title = f"{req.kpi}" + (f" [{unit}]" if unit else "")
    if as_json:
        sys.stdout.write(json_text(result.model_dump()))
    else:
        console = _console()
        console.print(_inputs_table(dists, defaults))
        if result.tornado is not None:
            t = Table(
                title=f"Tornado: {title}, base {_g(result.base)}, largest swing first",
                title_justify="left",
            )
            for col in ("input", "low", "high", "KPI at low", "KPI at high", "swing"):
                t.add_column(col, justify="left" if col == "input" else "right")
            for r in result.tornado:
                t.add_row(
                    r.input,
                    _g(r.low),
                    _g(r.high),
                    _g(r.kpi_at_low) if r.kpi_at_low is not None else "infeasible",
                    _g(r.kpi_at_high) if r.kpi_at_high is not None else "infeasible",
                    _g(r.swing),
                )
        else:
            t = Table(
                title=f"Sobol indices of {title}: N = {result.base_samples:,}, "
                f"{result.evaluations:,} runs, {result.conf_level:.0%} intervals",
                title_justify="left",
            )
            for col in ("input", "first order", "total", "matters"):
                t.add_column(col, justify="left" if col == "input" else "right")
            for r in result.sobol or []:
                t.add_row(
                    r.input,
                    f"{r.s1:.3f} ± {r.s1_conf:.3f}",
                    f"{r.st:.3f} ± {r.st_conf:.3f}",
                    "yes" if r.matters else "no (total < 0.05)",
                )
        console.print(t)
        if result.not_mattering:
            console.print(
                "not mattering: " + ", ".join(result.not_mattering), style="dim", highlight=False
            )
        _reasons(console, result.feasible_share, result.reasons)
    if out is not None:
        from tokenfab import charts

        if result.tornado is not None:
            rows = [
                {
                    "name": r.input
                    + (" (low: infeasible)" if r.kpi_at_low is None else "")
                    + (" (high: infeasible)" if r.kpi_at_high is None else ""),
                    "at_low": r.kpi_at_low if r.kpi_at_low is not None else math.nan,
                    "at_high": r.kpi_at_high if r.kpi_at_high is not None else math.nan,
                }
                for r in result.tornado
            ]
            html, png = charts.tornado_chart(
                out,
                rows,
                result.base if result.base is not None else math.nan,
                f"Tornado: {scenario.model} on {scenario.accelerator}",
                title,
            )
        else:
            rows = [r.model_dump() | {"name": r.input} for r in result.sobol or []]
            html, png = charts.sobol_chart(out, rows, f"Sobol indices of {title}")
        _note(f"wrote {html} and {png}")


SCENARIO_FILE = Annotated[
    Path | None,
    typer.Argument(
        metavar="[SCENARIO]",
        help="scenario YAML file, with an optional distributions: block; options override it",
        show_default=False,
    ),
]


def register(app: typer.Typer) -> None:
    """Add ``montecarlo`` and ``sensitivity`` to the main app."""
    from tokenfab.cli import AS_JSON, OUT, command

    extras = {
        "scenario_file": (SCENARIO_FILE, None),
        "out": (OUT, None),
        "as_json": (AS_JSON, False),
    }
    command("montecarlo", schema.MonteCarloRequest, extras, target=app)(montecarlo)
    command("sensitivity", schema.SensitivityRequest, extras, target=app)(sensitivity)
