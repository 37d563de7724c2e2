"""``tokenfab calibrate FILES... --out DIR``: the command's options and its tables.

Only parsing and rendering live here; :func:`tokenfab.calibrate.run.calibrate` does the work.
Imports of the fit (SciPy) happen when the command runs, not when the CLI starts.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

SHOWN_ISSUES = 20


def calibrate_cmd(
    files: Annotated[list[Path], typer.Argument(help="measurement files (JSON, JSON lines, CSV)")],
    out: Annotated[
        Path | None,
        typer.Option(help="catalog directory to write efficiency.csv into (use with --catalog)"),
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="vllm, sglang, genai-perf, aic, measured or generic (default: detected per file)",
        ),
    ] = None,
    model: Annotated[str | None, typer.Option(help="model, where a file does not name it")] = None,
    accelerator: Annotated[
        str | None, typer.Option(help="accelerator id, where a file does not name it")
    ] = None,
    accelerators: Annotated[
        int | None, typer.Option(help="accelerators in each run (default: the layout's)")
    ] = None,
    engine: Annotated[
        str | None, typer.Option(help="serving engine: trtllm, sglang, vllm (where not named)")
    ] = None,
    engine_version: Annotated[
        str | None, typer.Option(help="engine version (its major.minor is the era)")
    ] = None,
    precision: Annotated[str | None, typer.Option(help="weight format (where not named)")] = None,
    kv_precision: Annotated[str | None, typer.Option(help="KV-cache format")] = None,
    tp: Annotated[int | None, typer.Option(help="tensor parallel (where not named)")] = None,
    pp: Annotated[int | None, typer.Option(help="pipeline parallel")] = None,
    attention_dp: Annotated[int | None, typer.Option(help="attention data-parallel ranks")] = None,
    moe_tp: Annotated[int | None, typer.Option(help="MoE tensor parallel")] = None,
    moe_ep: Annotated[int | None, typer.Option(help="MoE expert parallel")] = None,
    folds: Annotated[
        int, typer.Option(min=2, max=20, help="cross-validation folds by configuration")
    ] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Fit the efficiency factors to your measured runs; print held-out error before and after."""
    from tokenfab.calibrate.run import calibrate
    from tokenfab.cli import _catalog

    defaults = {
        k: v
        for k, v in dict(
            model=model,
            accelerator=accelerator,
            accelerators=accelerators,
            engine=engine,
            engine_version=engine_version,
            precision=precision,
            kv_precision=kv_precision,
            tp=tp,
            pp=pp,
            attention_dp=attention_dp,
            moe_tp=moe_tp,
            moe_ep=moe_ep,
        ).items()
        if v is not None
    }
    report = calibrate(files, _catalog(), out, fmt, defaults, folds)
    if as_json:
        sys.stdout.write(json.dumps(report.as_dict(), indent=2) + "\n")
        return
    _render(report)


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.1%}"


def _render(report: Any) -> None:
    console = Console() if sys.stdout.isatty() else Console(width=160)
    console.print(
        f"{report.runs} runs read, {len(report.issues)} records not used, "
        f"{report.targets} measured values compared",
        highlight=False,
    )
    for issue in report.issues[:SHOWN_ISSUES]:
        console.print(f"  not used: {issue}", style="yellow", highlight=False, markup=False)
    if len(report.issues) > SHOWN_ISSUES:
        console.print(f"  ... and {len(report.issues) - SHOWN_ISSUES} more (--json lists all)")
    for reason, n in report.not_expressed.most_common():
        console.print(f"  not compared ({n}): {reason}", style="dim", highlight=False, markup=False)

    t = Table(title="median |predicted / measured - 1|")
    for col in (
        "metric",
        "before (catalog factors)",
        "after, held out by configuration",
        "after, leave one model family out",
    ):
        t.add_column(col, justify="right")
    names = {
        "ttft_s": "ttft_s (fixed batch)",
        "ttft_s_concurrent": "ttft_s under concurrency (not fitted)",
        "all": "all fitted",
    }
    for metric in ("tpot_s", "ttft_s", "ttft_s_concurrent", "output_tok_s", "all"):
        if metric in report.before:
            t.add_row(
                names.get(metric, metric),
                _pct(report.before.get(metric)),
                _pct(report.held_out_config.get(metric)),
                _pct(report.held_out_family.get(metric)),
            )
    console.print(t)

    g = Table(title="fitted factors per accelerator family and software class")
    for col in (
        "family",
        "software",
        "runs",
        "before",
        "held out",
        "compute",
        "bandwidth",
        "comm",
        "moe",
        "kv",
        "overhead ms",
        "per-seq us",
    ):
        g.add_column(col, justify="right")
    for r in report.groups:
        f = r.factors
        g.add_row(
            r.family,
            r.software,
            str(r.runs),
            _pct(r.before),
            _pct(r.held_out),
            f"{f['compute_efficiency']:.3f}",
            f"{f['bw_efficiency']:.3f}",
            f"{f['comm_efficiency']:.2f}",
            f"{f['moe_efficiency']:.2f}",
            f"{f['kv_efficiency']:.2f}",
            f"{f['overhead_ms']:.2f}",
            f"{f['overhead_per_sequence_us']:.1f}",
        )
    console.print(g)
    if report.written:
        console.print(
            f"wrote {report.written}; use it with: tokenfab --catalog {report.written.parent} ...",
            highlight=False,
        )


def register(app: typer.Typer) -> None:
    """Add ``calibrate`` to the main app."""
    app.command("calibrate")(calibrate_cmd)
