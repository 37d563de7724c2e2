"""``tokenfab usage synth|report|whatif`` and ``tokenfab export-prices``: parse, call, render.

No model logic here: the analyses live in tokenfab.usage.analyses, the what-if in
tokenfab.usage.whatif and the price maps in tokenfab.usage.export.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.console import Console

from tokenfab.words import plural

app = typer.Typer(
    name="usage",
    help="Usage analytics on request logs: synthetic logs, the report, what-if repricing.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(markup=False, emoji=False, width=None if sys.stdout.isatty() else 140)


def _catalog(ctx: typer.Context) -> Any:
    """The catalog with the main command's ``--catalog`` directories (on the root context)."""
    from tokenfab.catalog import default_catalog

    return default_catalog(tuple(ctx.find_root().obj or ()))


@contextmanager
def _within_memory(memory_limit: str | None) -> Iterator[None]:
    """DuckDB running out of memory is the user's limit (or log) talking, not a bug: one line."""
    import duckdb

    from tokenfab.usage.schema import UsageLogError

    try:
        yield
    except duckdb.OutOfMemoryException as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UsageLogError(
            f"--memory-limit: DuckDB ran out of memory under "
            f"{memory_limit or 'its default limit'} ({first}); give a larger --memory-limit"
        ) from None


def _emit_json(data: Any) -> None:
    from tokenfab.fileio import json_text

    sys.stdout.write(json_text(data))


def synth_cmd(ctx: typer.Context, given: dict[str, Any], out: str) -> None:
    """Write a realistic synthetic log; every parameter's source is in docs/usage.md."""
    from tokenfab.fileio import check_output_path
    from tokenfab.schema import UsageSynthRequest
    from tokenfab.usage.synth import synth

    # like every --out: a missing folder is refused before any work, never created
    path = check_output_path(out, suffixes=(".parquet", ".csv", ".jsonl"))
    req = UsageSynthRequest.parse(given)
    written = synth(req.rows, path, req.days, req.seed)
    console.print(f"wrote {plural(req.rows, 'request')} to {written}", highlight=False)


def params_cmd(ctx: typer.Context, given: dict[str, Any], as_json: bool) -> None:
    """The synthetic generator's parameters and their sources."""
    from tokenfab.usage.synth import parameters

    rows = parameters()
    if as_json:
        _emit_json(rows)
        return
    for r in rows:
        console.print(f"{r['name']}: {r['value']}  [{r['source']}]", highlight=False)


def report_cmd(ctx: typer.Context, given: dict[str, Any], as_json: bool, out: str | None) -> None:
    """Tokens and spend by model, provider, app, category and day; prompt lengths; outcomes;
    latency; cost drivers; reconciliation with list prices; data-quality findings."""
    from tokenfab.fileio import check_output_path, write_text_atomic
    from tokenfab.schema import UsageReportRequest
    from tokenfab.usage import analyses, engines, render

    path = check_output_path(out, suffixes=(".html",)) if out is not None else None
    req = UsageReportRequest.parse(given)
    con = engines.connect(req.backend, req.memory_limit, req.threads)
    with _within_memory(req.memory_limit):
        rep = analyses.report(con, req.logs, req.format, _catalog(ctx))
    if path is not None:
        write_text_atomic(path, render.html_page(rep))
    if as_json:
        _emit_json(rep)
    else:
        render.text(rep, console)
        if path is not None:
            console.print(f"wrote {path}", style="dim")


def whatif_cmd(ctx: typer.Context, given: dict[str, Any], as_json: bool) -> None:
    """The same traffic repriced on other API models, or self-hosted through the cost model
    (capacity sized from the log's own peak hour): monthly cost, saving and carbon."""
    from tokenfab.schema import UsageWhatifRequest
    from tokenfab.usage import engines, whatif

    req = UsageWhatifRequest.parse(given)
    con = engines.connect(req.backend, req.memory_limit, req.threads)
    with _within_memory(req.memory_limit):
        res = whatif.whatif(
            con,
            req.logs,
            req.api or [],
            req.self_host or [],
            req.format,
            _catalog(ctx),
            req.samples,
            req.route or [],
        )
    if as_json:
        _emit_json(res)
        return
    b = res["baseline"]
    console.print(
        f"log: {plural(b['requests'], 'request')} over {plural(b['days'], 'day', spec='.2f')}; "
        f"${b['monthly_cost_usd']:,.2f} a month "
        f"(peak hour {b['peak_to_average']:.2f}x the average)",
        highlight=False,
    )
    for o in res["options"]:
        if o.get("error"):
            console.print(f"{o['option']}: {o['error']}", highlight=False)
            continue
        co2 = o.get("co2e_kg_per_month")
        save = o["monthly_saving_usd"]
        console.print(
            f"{o['option']}: ${o['monthly_cost_usd']:,.2f} a month, "
            + (f"saving ${save:,.2f}" if save >= 0 else f"${-save:,.2f} more")
            + (f", {co2:,.1f} kg CO2e a month" if co2 is not None else "")
            + (f" ({o['note']})" if o.get("note") else ""),
            highlight=False,
        )
        u = o.get("uncertainty")
        if u and u["monthly_saving_usd"]["p5"] is not None:
            s = u["monthly_saving_usd"]
            console.print(
                f"  saving 5th-95th percentile {_usd(s['p5'])} to {_usd(s['p95'])} a month "
                f"({u['samples']:,} Monte Carlo samples of {', '.join(u['inputs_varied'])})",
                highlight=False,
            )


def _usd(x: float) -> str:
    """Dollars with the sign in front: ``-$5,469.16``, not ``$-5,469.16``.

    >>> _usd(-5469.164), _usd(21.07)
    ('-$5,469.16', '$21.07')
    """
    return f"-${-x:,.2f}" if x < 0 else f"${x:,.2f}"


def export_prices_cmd(ctx: typer.Context, given: dict[str, Any], out: str | None) -> None:
    """Self-hosted $/Mtok (input, output, cached) and gCO2e/Mtok as a price map for LiteLLM,
    Langfuse or OpenLIT."""
    from tokenfab.fileio import check_output_path, write_text_atomic
    from tokenfab.schema import ExportPricesRequest
    from tokenfab.usage import export

    path = check_output_path(out, suffixes=(".json",)) if out is not None else None
    req = ExportPricesRequest.parse(given)
    doc, skipped = export.export_prices(
        req.format, req.deployment or [], req.region, req.tokens_per_day, _catalog(ctx)
    )
    err = Console(stderr=True, emoji=False, markup=False)
    for line in skipped:
        err.print(f"left out {line}", markup=False, highlight=False, soft_wrap=True)
    text = json.dumps(doc, indent=2) + "\n"
    if path is None:
        sys.stdout.write(text)
    else:
        write_text_atomic(path, text)
        err.print(f"wrote {path}", style="dim", markup=False, highlight=False)


def register(main_app: typer.Typer) -> None:
    """Wire ``usage`` and ``export-prices`` into the main ``tokenfab`` app; each command's
    options are generated from its request model (:mod:`tokenfab.schema`)."""
    from tokenfab import schema
    from tokenfab.cli import AS_JSON, command

    def out(help_: str, required: bool = False) -> tuple[Any, Any]:
        if required:
            return (Annotated[str, typer.Option("--out", help=help_, show_default=False)], ...)
        return (Annotated[str | None, typer.Option("--out", help=help_)], None)

    as_json = {"as_json": (AS_JSON, False)}
    command(
        "synth",
        schema.UsageSynthRequest,
        {"out": out("output file: .parquet, .csv or .jsonl", required=True)},
        target=app,
    )(synth_cmd)
    command("params", schema.UsageParamsRequest, as_json, target=app)(params_cmd)
    command(
        "report",
        schema.UsageReportRequest,
        {**as_json, "out": out("write an HTML report here")},
        arguments=("logs",),
        target=app,
    )(report_cmd)
    command("whatif", schema.UsageWhatifRequest, as_json, arguments=("logs",), target=app)(
        whatif_cmd
    )
    main_app.add_typer(app, name="usage")
    command(
        "export-prices",
        schema.ExportPricesRequest,
        {"out": out("write the price map here (.json) instead of stdout")},
        target=main_app,
    )(export_prices_cmd)
