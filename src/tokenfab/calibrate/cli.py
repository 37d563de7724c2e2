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

from tokenfab.words import plural

SHOWN_ISSUES = 20


def calibrate_cmd(
    ctx: typer.Context, given: dict[str, Any], out: str | None, as_json: bool
) -> None:
    """Fit the efficiency factors to your measured runs; print held-out error before and after."""
    from tokenfab.calibrate.run import calibrate
    from tokenfab.cli import _catalog
    from tokenfab.schema import CalibrateRequest

    req = CalibrateRequest.parse(given)
    folder = _out_folder(out) if out is not None else None
    report = calibrate(
        [Path(f) for f in req.files], _catalog(ctx), folder, req.format, req.defaults(), req.folds
    )
    if as_json:
        sys.stdout.write(json.dumps(report.as_dict(), indent=2) + "\n")
        return
    _render(report)


def _out_folder(out: str) -> Path:
    """``--out``: a catalog folder (created if missing, like a new catalog; its parent must
    exist), checked before the fit runs."""
    from tokenfab.fileio import check_output_folder

    return check_output_folder(out)


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.1%}"


def _render(report: Any) -> None:
    console = Console(markup=False, emoji=False, width=None if sys.stdout.isatty() else 160)
    console.print(
        f"{plural(report.runs, 'run')} read, {plural(len(report.issues), 'record')} not used, "
        f"{plural(report.targets, 'measured value')} compared",
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
    for line in report.warnings:
        console.print(f"warning: {line}", style="yellow", markup=False, highlight=False)
    if report.bands_note:
        console.print(report.bands_note, highlight=False, markup=False)
    if report.written:
        use = (
            "read the warnings before using it with" if report.warnings else "use it with: tokenfab"
        )
        console.print(
            f"wrote {report.written}; {use} --catalog {report.written.parent} ...",
            highlight=False,
            markup=False,
        )


def register(app: typer.Typer) -> None:
    """Add ``calibrate`` to the main app; its options come from
    :class:`tokenfab.schema.CalibrateRequest`."""
    from tokenfab.cli import AS_JSON, command
    from tokenfab.schema import CalibrateRequest

    out = Annotated[
        str | None,
        typer.Option(
            "--out", help="catalog directory to write efficiency.csv into (use with --catalog)"
        ),
    ]
    command(
        "calibrate",
        CalibrateRequest,
        {"out": (out, None), "as_json": (AS_JSON, False)},
        arguments=("files",),
        target=app,
    )(calibrate_cmd)
