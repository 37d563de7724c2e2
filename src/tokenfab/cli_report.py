"""``tokenfab report``: one scenario's report as a self-contained HTML page or a PDF.

Parse, call :mod:`tokenfab.report`, write. :func:`register` adds the command to the main app.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from tokenfab import schema
from tokenfab.errors import FileInputError
from tokenfab.fileio import atomic_output, check_output_path

SCENARIO_ARG = Annotated[
    Path | None,
    typer.Argument(help="YAML scenario file; options override it", show_default=False),
]
REPORT_OUT = Annotated[
    Path | None,
    typer.Option("--out", help="file to write: report.html, or report.pdf with --pdf"),
]
PDF = Annotated[bool, typer.Option("--pdf", help="write a PDF (WeasyPrint) instead of HTML")]


def report(
    ctx: typer.Context, given: dict[str, Any], scenario: Path | None, out: Path | None, pdf: bool
) -> None:
    """Report: KPIs, charts and the assumptions ledger of a scenario, as HTML (or PDF)."""
    from tokenfab import report as rep
    from tokenfab.cli import _catalog, _note, request_from

    if out is None:
        raise FileInputError("--out: give the file to write, e.g. --out report.html")
    if not pdf and out.suffix.lower() == ".pdf":  # else "writes .html or .htm files" only
        raise FileInputError(f"--out {out}: a PDF needs --pdf; without it the report is HTML")
    check_output_path(out, suffixes=(".pdf",) if pdf else (".html", ".htm"))
    req = request_from(schema.EstimateRequest, given, scenario)
    built = rep.build(req, _catalog(ctx))
    with atomic_output(out) as tmp:  # whole or not at all
        if pdf:
            tmp.write_bytes(rep.to_pdf(built))
        else:
            tmp.write_text(rep.to_html(built), encoding="utf-8")
    _note(f"wrote {out}")


def register(app: typer.Typer) -> None:
    """Add ``report`` to the main app."""
    from tokenfab.cli import command

    command(
        "report",
        schema.EstimateRequest,
        {"scenario": (SCENARIO_ARG, None), "out": (REPORT_OUT, None), "pdf": (PDF, False)},
        target=app,
    )(report)
