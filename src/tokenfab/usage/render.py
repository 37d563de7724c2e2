"""Text and HTML renderings of the usage report (numbers come from analyses, unchanged)."""

from __future__ import annotations

import html
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from tokenfab.words import plural


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        if v != v:
            return "-"
        if abs(v) >= 1000:
            return f"{v:,.0f}"
        return f"{v:.4g}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


SECTIONS = (
    (
        "by",
        "model",
        ("model", "requests", "input_tokens", "output_tokens", "reasoning_tokens", "spend_usd"),
    ),
    ("by", "provider", ("provider", "requests", "input_tokens", "output_tokens", "spend_usd")),
    ("by", "app", ("app", "requests", "input_tokens", "output_tokens", "spend_usd")),
    ("by", "category", ("category", "requests", "input_tokens", "output_tokens", "spend_usd")),
)


def quality_lines(q: dict[str, Any]) -> list[str]:
    """One line per data-quality finding."""
    unit = q["row_unit"]
    lines = [
        f"{plural(q['rows_read'], 'row')} read from {plural(len(q['files']), 'file')} as {q['format']}; "
        f"{q['valid_rows']:,} valid"
    ]
    if q["unreadable_lines"]:
        ex = "; ".join(
            f"{e['file']} line {e['line']}: {e['reason']}" for e in q["unreadable_examples"]
        )
        lines.append(f"{q['unreadable_lines']:,} unreadable lines, e.g. {ex}")
    if q["malformed_rows"]:
        by = ", ".join(f"{k} {v:,}" for k, v in q["malformed_by_field"].items())
        ex = "; ".join(
            f"{e['file']} {unit} {e[unit]}: {e['reason']}" for e in q["malformed_examples"]
        )
        lines.append(f"{plural(q['malformed_rows'], 'malformed row')} left out ({by}), e.g. {ex}")
    tz = q["time_zones"]
    if tz["mixed"]:
        offs = ", ".join(f"{o['offset']} ({o['rows']:,})" for o in tz["offsets"])
        lines.append(
            f"mixed time zones: {offs}; {tz['rows_without_offset_read_as_utc']:,} without an "
            "offset read as UTC; all times converted to UTC"
        )
    if q.get("out_of_order_rows"):
        lines.append(
            f"{q['out_of_order_rows']:,} {'row' if q['out_of_order_rows'] == 1 else 'rows'} earlier "
            "than the row before (order does not matter to the report)"
        )
    return lines


def text(report: dict[str, Any], console: Console) -> None:
    """The report as a few terminal tables."""
    for line in quality_lines(report["quality"]):
        console.print(line, highlight=False)
    s = report["summary"]
    sh = s["shares"]
    console.print(
        f"{plural(s['requests'], 'request')} over {plural(s['days'], 'day', spec='.2f')}; spend ${_fmt(s['spend_usd'])}; "
        f"tokens: input {sh['input_uncached']:.0%} + cached {sh['input_cached']:.0%}, output "
        f"{sh['output_visible']:.0%} + reasoning {sh['output_reasoning']:.0%}",
        highlight=False,
    )
    for key, dim, cols in SECTIONS:
        rows = report[key].get(dim)
        if not rows:
            continue
        tb = Table(title=f"by {dim}")
        for c in cols:
            tb.add_column(c, justify="left" if c == dim else "right")
        for r in rows:
            tb.add_row(*[Text(_fmt(r.get(c))) for c in cols])  # log text is not markup
        console.print(tb)
    o = report["outcomes"]
    console.print(
        f"tasks {o['tasks']:,}, success {_fmt(o['success_rate'])}, requests per task "
        f"{_fmt(o['requests_per_task'])}, cost per successful outcome ${_fmt(o['cost_per_successful_outcome_usd'])}",
        highlight=False,
    )
    pl = report["prompt_length"]
    g = pl["growth_last_over_first_week"]
    console.print(
        "prompt tokens p50 {p50} p90 {p90} p99 {p99}; {growth}".format(
            **{k: _fmt(v) for k, v in pl["percentiles"].items()},
            growth=(
                f"weekly mean growth x{_fmt(g)}"
                if g is not None
                else "growth: none measured (the log covers one calendar week)"
            ),
        ),
        highlight=False,
    )
    if "latency_s" in report:
        lat = report["latency_s"]["all"]
        console.print(
            f"latency p50 {_fmt(lat['p50'])} s, p95 {_fmt(lat['p95'])} s, p99 {_fmt(lat['p99'])} s "
            f"({report['percentile_definition']})",
            highlight=False,
        )
    rec = report["reconciliation"]
    if rec.get("rows_off"):
        console.print(
            f"{plural(rec['rows_off'], 'row')} whose logged cost is off the list price by >1%",
            highlight=False,
        )
    if rec["unknown_models"]:
        names = ", ".join(f"{u['model']} ({u['requests']:,})" for u in rec["unknown_models"])
        console.print(f"unknown models, priced 'unknown': {names}", highlight=False)


def _table(rows: list[dict[str, Any]], cols: list[str] | None = None) -> str:
    if not rows:
        return "<p>none</p>"
    cols = cols or list(rows[0])
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_fmt(r.get(c)))}</td>" for c in cols) + "</tr>"
        for r in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def html_page(report: dict[str, Any]) -> str:
    """A self-contained HTML page (no scripts, no network)."""
    parts = ["<h1>tokenfab usage report</h1>", "<ul>"]
    parts += [f"<li>{html.escape(x)}</li>" for x in quality_lines(report["quality"])]
    parts.append("</ul><h2>Summary</h2>")
    s = {k: v for k, v in report["summary"].items() if k != "shares"}
    parts.append(_table([s]))
    parts.append(_table([report["summary"]["shares"]]))
    for _, dim, cols in SECTIONS:
        if dim in report["by"]:
            parts.append(f"<h2>By {dim}</h2>" + _table(report["by"][dim], list(cols)))
    parts.append("<h2>Daily</h2>" + _table(report["daily"]))
    for dim, rows in report.get("weekly_by", {}).items():
        cols = ["period", dim, "requests", "input_tokens", "output_tokens", "spend_usd"]
        parts.append(f"<h2>Weekly by {dim}</h2>" + _table(rows, cols))
    pl = report["prompt_length"]
    parts.append(
        "<h2>Prompt length</h2>"
        + _table([pl["percentiles"]])
        + _table(pl["histogram"])
        + _table(pl["weekly"])
    )
    parts.append("<h2>Cost per request (USD)</h2>" + _table([report["cost_per_request_usd"]]))
    parts.append("<h2>Outcomes</h2>" + _table([report["outcomes"]]))
    if "latency_s" in report:
        parts.append(
            f"<h2>Latency (s; {html.escape(report['percentile_definition'])})</h2>"
            + _table([report["latency_s"]["all"]])
            + _table(report["latency_s"]["by_model"])
        )
    parts.append("<h2>Top cost drivers</h2>" + _table(report["top_cost_drivers"]))
    rec = report["reconciliation"]
    parts.append("<h2>Reconciliation with list prices</h2>" + _table(rec.get("by_model", [])))
    parts.append("<h3>Unknown models</h3>" + _table(rec["unknown_models"]))
    style = "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}"
    return f"<!doctype html><html><head><meta charset='utf-8'><title>tokenfab usage report</title><style>{style}</style></head><body>{''.join(parts)}</body></html>\n"
