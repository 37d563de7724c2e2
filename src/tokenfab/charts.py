"""Charts: an interactive Plotly HTML file and a static PNG of the same data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import plotly.graph_objects as go

COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"]


def _figure() -> Any:
    """A matplotlib Figure on its own Agg canvas. No pyplot: the caller's backend and open
    figures stay as they were (matplotlib's "Embedding in a web application server" pattern)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 5.5), dpi=110)
    FigureCanvasAgg(fig)
    return fig


def _png(
    path: Path,
    series: list[dict[str, Any]],
    title: str,
    xlabel: str,
    ylabel: str,
    logx: bool,
    logy: bool,
) -> None:
    fig = _figure()
    ax = fig.subplots()
    for s in series:
        ax.plot(
            s["x"],
            s["y"],
            s.get("style", "-o"),
            color=s["color"],
            label=s["name"],
            markersize=3,
            linewidth=1.5,
        )
    ax.set_xscale("log" if logx else "linear")
    ax.set_yscale("log" if logy else "linear")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)


def line_chart(
    out: Path,
    series: list[dict[str, Any]],
    title: str,
    xlabel: str,
    ylabel: str,
    logx: bool = False,
    logy: bool = False,
) -> tuple[Path, Path]:
    """Write ``out`` (HTML, Plotly) and ``out`` with ``.png`` (matplotlib) for the series.

    Each series is a dict with ``name``, ``x``, ``y``, ``color`` and optional ``dash`` / ``style``.
    """
    out = Path(out)
    html = out if out.suffix == ".html" else out.with_suffix(".html")
    png = html.with_suffix(".png")
    html.parent.mkdir(parents=True, exist_ok=True)
    fig = go.Figure()
    for s in series:
        fig.add_trace(
            go.Scatter(
                x=list(map(float, s["x"])),
                y=list(map(float, s["y"])),
                name=s["name"],
                mode="lines+markers",
                line={"color": s["color"], "dash": s.get("dash", "solid")},
                marker={"size": 4},
                hovertemplate=f"{s['name']}<br>{xlabel}: %{{x:.4g}}<br>{ylabel}: %{{y:.4g}}<extra></extra>",
            )
        )
    fig.update_layout(
        title=title,
        xaxis_title=xlabel,
        yaxis_title=ylabel,
        template="plotly_white",
        xaxis_type="log" if logx else "linear",
        yaxis_type="log" if logy else "linear",
    )
    fig.write_html(str(html), include_plotlyjs=True, full_html=True)
    _png(png, series, title, xlabel, ylabel, logx, logy)
    return html, png


def frontier_chart(model: str, fronts: list[Any], out: Path) -> tuple[Path, Path]:
    """The Pareto frontiers (solid) and their rooflines (dashed), one colour an accelerator."""
    series: list[dict[str, Any]] = []
    for k, f in enumerate(fronts):
        color = COLORS[k % len(COLORS)]
        series.append(
            {
                "name": f"{f.accelerator} ({f.precision})",
                "x": f.tok_s_per_user,
                "y": f.tok_s_per_accelerator,
                "color": color,
            }
        )
        series.append(
            {
                "name": f"{f.accelerator} roofline",
                "x": f.roofline_tok_s_per_user,
                "y": f.roofline_tok_s_per_accelerator,
                "color": color,
                "dash": "dash",
                "style": "--",
            }
        )
    return line_chart(
        out,
        series,
        f"Throughput vs interactivity: {model}",
        "output tok/s per user",
        "output tok/s per accelerator",
        logx=True,
        logy=True,
    )


def bar_chart(
    out: Path,
    categories: list[str],
    bars: list[dict[str, Any]],
    title: str,
    ylabel: str,
) -> tuple[Path, Path]:
    """Grouped bars: ``out`` (HTML, Plotly) and ``out`` with ``.png`` (matplotlib).

    Each bar series is a dict with ``name``, ``y`` (one value per category) and ``color``.
    """
    out = Path(out)
    html = out if out.suffix == ".html" else out.with_suffix(".html")
    png = html.with_suffix(".png")
    html.parent.mkdir(parents=True, exist_ok=True)
    fig = go.Figure()
    for b in bars:
        fig.add_trace(
            go.Bar(
                x=categories, y=list(map(float, b["y"])), name=b["name"], marker_color=b["color"]
            )
        )
    fig.update_layout(title=title, yaxis_title=ylabel, barmode="group", template="plotly_white")
    fig.write_html(str(html), include_plotlyjs=True, full_html=True)

    import numpy as np

    fig2 = _figure()
    ax = fig2.subplots()
    width = 0.8 / max(1, len(bars))
    x = np.arange(len(categories))
    for k, b in enumerate(bars):
        ax.bar(x + k * width, b["y"], width, label=b["name"], color=b["color"])
    ax.set_xticks(x + width * (len(bars) - 1) / 2, categories)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    fig2.tight_layout()
    fig2.savefig(png)
    return html, png
