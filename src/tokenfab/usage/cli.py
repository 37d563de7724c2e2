"""``tokenfab usage synth|report|whatif`` and ``tokenfab export-prices``: parse, call, render.

No model logic here: the analyses live in tokenfab.usage.analyses, the what-if in
tokenfab.usage.whatif and the price maps in tokenfab.usage.export.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from tokenfab.errors import TokenfabError

app = typer.Typer(
    name="usage",
    help="Usage analytics on request logs: synthetic logs, the report, what-if repricing.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console() if sys.stdout.isatty() else Console(width=140)

Logs = Annotated[list[str], typer.Argument(help="log files (Parquet, CSV, JSON Lines) or globs")]
Fmt = Annotated[
    str | None,
    typer.Option(
        "--format",
        help="log format: generic, openai, litellm, langfuse, openrouter (default: detected)",
    ),
]
Backend = Annotated[
    str | None, typer.Option("--backend", help="Ibis connection URL (default: in-process DuckDB)")
]
Memory = Annotated[
    str | None,
    typer.Option("--memory-limit", help="DuckDB memory limit, e.g. 4GB (spills beyond it)"),
]
AsJson = Annotated[bool, typer.Option("--json", help="print JSON")]


def _catalog(ctx: typer.Context) -> Any:
    """The catalog with the main command's ``--catalog`` directories (on the root context)."""
    from tokenfab.catalog import default_catalog

    return default_catalog(tuple(ctx.find_root().obj or ()))


def _emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def _check_out(out: Path, suffixes: tuple[str, ...]) -> None:
    if out.suffix.lower() not in suffixes:
        raise TokenfabError(f"--out: {out}: allowed file types {', '.join(suffixes)}")
    if not out.parent.exists():
        raise TokenfabError(f"--out: directory {out.parent} does not exist")


@app.command("synth")
def synth_cmd(
    rows: Annotated[int, typer.Option("--rows", help="requests to generate")],
    out: Annotated[Path, typer.Option("--out", help="output file: .parquet, .csv or .jsonl")],
    days: Annotated[float, typer.Option("--days", help="days the log covers")] = 30.0,
    seed: Annotated[int, typer.Option("--seed", help="random seed")] = 0,
) -> None:
    """Write a realistic synthetic log; every parameter's source is in docs/usage.md."""
    from tokenfab.fileio import check_output_path
    from tokenfab.usage.synth import synth

    # like every --out: a missing folder is refused before any work, never created
    check_output_path(out, suffixes=(".parquet", ".csv", ".jsonl"))
    path = synth(rows, out, days, seed)
    console.print(f"wrote {rows:,} requests to {path}", highlight=False)


@app.command("params")
def params_cmd(as_json: AsJson = False) -> None:
    """The synthetic generator's parameters and their sources."""
    from tokenfab.usage.synth import parameters

    rows = parameters()
    if as_json:
        _emit_json(rows)
        return
    for r in rows:
        console.print(f"{r['name']}: {r['value']}  [{r['source']}]", highlight=False)


@app.command("report")
def report_cmd(
    ctx: typer.Context,
    logs: Logs,
    fmt: Fmt = None,
    as_json: AsJson = False,
    out: Annotated[Path | None, typer.Option("--out", help="write an HTML report here")] = None,
    backend: Backend = None,
    memory_limit: Memory = None,
    threads: Annotated[int | None, typer.Option("--threads", help="DuckDB threads")] = None,
) -> None:
    """Tokens and spend by model, provider, app, category and day; prompt lengths; outcomes;
    latency; cost drivers; reconciliation with list prices; data-quality findings."""
    from tokenfab.usage import analyses, engines, render

    if out is not None:
        _check_out(out, (".html",))
    con = engines.connect(backend, memory_limit, threads)
    rep = analyses.report(con, logs, fmt, _catalog(ctx))
    if out is not None:
        out.write_text(render.html_page(rep), encoding="utf-8")
    if as_json:
        _emit_json(rep)
    else:
        render.text(rep, console)
        if out is not None:
            console.print(f"wrote {out}", style="dim")


@app.command("whatif")
def whatif_cmd(
    ctx: typer.Context,
    logs: Logs,
    api: Annotated[
        list[str] | None,
        typer.Option("--api", help="catalog API price id or model name to reprice on (repeatable)"),
    ] = None,
    self_host: Annotated[
        list[str] | None,
        typer.Option(
            "--self-host",
            help="MODEL:ACCELERATOR[:REGION[:OWNERSHIP]] from the catalogs (repeatable)",
        ),
    ] = None,
    fmt: Fmt = None,
    as_json: AsJson = False,
    backend: Backend = None,
    memory_limit: Memory = None,
) -> None:
    """The same traffic repriced on other API models, or self-hosted through the cost model
    (capacity sized from the log's own peak hour): monthly cost, saving and carbon."""
    from tokenfab.usage import engines, whatif

    con = engines.connect(backend, memory_limit)
    res = whatif.whatif(con, logs, api or [], self_host or [], fmt, _catalog(ctx))
    if as_json:
        _emit_json(res)
        return
    b = res["baseline"]
    console.print(
        f"log: {b['requests']:,} requests over {b['days']:.2f} days; ${b['monthly_cost_usd']:,.2f} a month "
        f"(peak hour {b['peak_to_average']:.2f}x the average)",
        highlight=False,
    )
    for o in res["options"]:
        if o.get("error"):
            console.print(f"{o['option']}: {o['error']}", highlight=False)
            continue
        co2 = o.get("co2e_kg_per_month")
        console.print(
            f"{o['option']}: ${o['monthly_cost_usd']:,.2f} a month, saving ${o['monthly_saving_usd']:,.2f}"
            + (f", {co2:,.1f} kg CO2e a month" if co2 is not None else "")
            + (f" ({o['note']})" if o.get("note") else ""),
            highlight=False,
        )


def export_prices_cmd(
    ctx: typer.Context,
    fmt: Annotated[str, typer.Option("--format", help="litellm, langfuse or openlit")],
    deployment: Annotated[
        list[str] | None,
        typer.Option(
            "--deployment",
            help="MODEL:ACCELERATOR[:REGION[:OWNERSHIP]] (repeatable; default: every catalog model, cheapest)",
        ),
    ] = None,
    region: Annotated[
        str, typer.Option("--region", help="region for the default deployments")
    ] = "us",
    tokens_per_day: Annotated[
        float, typer.Option("--tokens-per-day", help="reference demand, output tokens a day")
    ] = 1e9,
    out: Annotated[Path | None, typer.Option("--out", help="write here instead of stdout")] = None,
) -> None:
    """Self-hosted $/Mtok (input, output, cached) and gCO2e/Mtok as a price map for LiteLLM,
    Langfuse or OpenLIT."""
    from tokenfab.usage import export

    if out is not None:
        _check_out(out, (".json",))
    doc, skipped = export.export_prices(
        fmt, deployment or [], region, tokens_per_day, _catalog(ctx)
    )
    err = Console(stderr=True, emoji=False)
    for line in skipped:
        err.print(f"left out {line}", markup=False, highlight=False, soft_wrap=True)
    text = json.dumps(doc, indent=2) + "\n"
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")
        console.print(f"wrote {out}", style="dim")


def register(main_app: typer.Typer) -> None:
    """Wire ``usage`` and ``export-prices`` into the main ``tokenfab`` app."""
    main_app.add_typer(app, name="usage")
    main_app.command("export-prices")(export_prices_cmd)
