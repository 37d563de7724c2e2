"""Charts: an interactive Plotly HTML file and a static PNG of the same data."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import plotly.graph_objects as go

from tokenfab.fileio import atomic_output, check_output_path

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
    with atomic_output(path) as tmp:
        fig.savefig(tmp, format="png")


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
    check_output_path(html)  # its folder must exist: a writer never creates missing folders
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
    with atomic_output(html) as tmp:
        fig.write_html(str(tmp), include_plotlyjs=True, full_html=True)
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


def _finish_png(fig: Any, ax: Any, title: str, grid_axis: str, png: Path) -> None:
    """Title, a light grid along grid_axis and a legend on ax, then write fig to png."""
    ax.set_title(title)
    ax.grid(True, axis=grid_axis, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_output(png) as tmp:
        fig.savefig(tmp, format="png")


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
    check_output_path(html)  # its folder must exist: a writer never creates missing folders
    fig = go.Figure()
    for b in bars:
        fig.add_trace(
            go.Bar(
                x=categories, y=list(map(float, b["y"])), name=b["name"], marker_color=b["color"]
            )
        )
    fig.update_layout(title=title, yaxis_title=ylabel, barmode="group", template="plotly_white")
    with atomic_output(html) as tmp:
        fig.write_html(str(tmp), include_plotlyjs=True, full_html=True)

    import numpy as np

    fig2 = _figure()
    ax = fig2.subplots()
    width = 0.8 / max(1, len(bars))
    x = np.arange(len(categories))
    for k, b in enumerate(bars):
        ax.bar(x + k * width, b["y"], width, label=b["name"], color=b["color"])
    ax.set_xticks(x + width * (len(bars) - 1) / 2, categories)
    ax.set_ylabel(ylabel)
    _finish_png(fig2, ax, title, "y", png)
    return html, png


def _paths(out: Path) -> tuple[Path, Path]:
    out = Path(out)
    html = out if out.suffix == ".html" else out.with_suffix(".html")
    check_output_path(html)  # its folder must exist: a writer never creates missing folders
    return html, html.with_suffix(".png")


def histogram_chart(
    out: Path, panels: list[dict[str, Any]], title: str, columns: int = 3
) -> tuple[Path, Path]:
    """Histograms in a grid: ``out`` (HTML, Plotly) and ``out`` with ``.png`` (matplotlib).

    Each panel is a dict with ``name`` (the axis label, with its unit), ``counts`` and
    ``edges`` (as :func:`numpy.histogram` returns them) and optional ``marks`` ({label: x},
    drawn as vertical lines: mean, P5, P95).
    """
    from plotly.subplots import make_subplots

    html, png = _paths(out)
    rows = max(1, -(-len(panels) // columns))
    fig = make_subplots(rows=rows, cols=columns, subplot_titles=[p["name"] for p in panels])
    for k, p in enumerate(panels):
        r, c = k // columns + 1, k % columns + 1
        edges = list(map(float, p["edges"]))
        centres = [(a + b) / 2 for a, b in itertools.pairwise(edges)]
        widths = [b - a for a, b in itertools.pairwise(edges)]
        fig.add_trace(
            go.Bar(
                x=centres,
                y=list(map(int, p["counts"])),
                width=widths,
                marker_color=COLORS[0],
                showlegend=False,
                name=p["name"],
            ),
            row=r,
            col=c,
        )
        for label, x in p.get("marks", {}).items():
            fig.add_vline(
                x=float(x),
                line_dash="dash",
                line_color=COLORS[1],
                row=r,
                col=c,
                annotation_text=label,
            )
    fig.update_layout(title=title, template="plotly_white", bargap=0)
    with atomic_output(html) as tmp:
        fig.write_html(str(tmp), include_plotlyjs=True, full_html=True)

    fig2 = _figure()
    fig2.set_size_inches(4 * columns, 3 * rows + 0.6)
    axes = fig2.subplots(rows, columns, squeeze=False)
    for k, ax in enumerate(axes.flat):
        if k >= len(panels):
            ax.set_visible(False)
            continue
        p = panels[k]
        ax.stairs(p["counts"], p["edges"], fill=True, color=COLORS[0])
        for label, x in p.get("marks", {}).items():
            ax.axvline(x, color=COLORS[1], linestyle="--", linewidth=1)
            ax.annotate(label, (x, 1), xycoords=("data", "axes fraction"), fontsize=7, va="top")
        ax.set_title(p["name"], fontsize=9)
        ax.tick_params(labelsize=7)
    fig2.suptitle(title)
    fig2.tight_layout()
    with atomic_output(png) as tmp:
        fig2.savefig(tmp, format="png")
    return html, png


def tornado_chart(
    out: Path, rows: list[dict[str, Any]], base: float, title: str, xlabel: str
) -> tuple[Path, Path]:
    """A tornado: per input (largest swing on top) a bar from the base to the KPI at the
    input's low value and one to the KPI at its high value.

    Each row is a dict with ``name``, ``at_low`` and ``at_high`` (NaN: infeasible, not drawn).
    """
    html, png = _paths(out)
    names = [r["name"] for r in rows][::-1]
    lows = [float(r["at_low"]) - base for r in rows][::-1]
    highs = [float(r["at_high"]) - base for r in rows][::-1]
    fig = go.Figure()
    for label, values, color in (
        ("input at low", lows, COLORS[0]),
        ("input at high", highs, COLORS[1]),
    ):
        fig.add_trace(
            go.Bar(
                y=names,
                x=values,
                base=base,
                orientation="h",
                name=label,
                marker_color=color,
                hovertemplate=f"%{{y}}<br>{label}: %{{x:.4g}}<extra></extra>",
            )
        )
    fig.add_vline(x=base, line_color="black", line_width=1)
    fig.update_layout(
        title=title,
        xaxis_title=xlabel,
        barmode="overlay",
        template="plotly_white",
        height=max(350, 40 * len(rows) + 150),
    )
    with atomic_output(html) as tmp:
        fig.write_html(str(tmp), include_plotlyjs=True, full_html=True)

    fig2 = _figure()
    fig2.set_size_inches(9, max(3.5, 0.45 * len(rows) + 1.5))
    ax = fig2.subplots()
    y = list(range(len(names)))
    ax.barh(y, lows, left=base, color=COLORS[0], label="input at low")
    ax.barh(y, highs, left=base, color=COLORS[1], label="input at high", alpha=0.85)
    ax.axvline(base, color="black", linewidth=1)
    ax.set_yticks(y, names, fontsize=8)
    ax.set_xlabel(xlabel)
    _finish_png(fig2, ax, title, "x", png)
    return html, png


def sobol_chart(out: Path, rows: list[dict[str, Any]], title: str) -> tuple[Path, Path]:
    """First-order and total Sobol indices per input, with their confidence intervals.

    Each row is a dict with ``name``, ``s1``, ``s1_conf``, ``st`` and ``st_conf``.
    """
    html, png = _paths(out)
    names = [r["name"] for r in rows]
    fig = go.Figure()
    for key, label, color in (("s1", "first order", COLORS[0]), ("st", "total", COLORS[1])):
        fig.add_trace(
            go.Bar(
                x=names,
                y=[float(r[key]) for r in rows],
                error_y={"type": "data", "array": [float(r[f"{key}_conf"]) for r in rows]},
                name=label,
                marker_color=color,
            )
        )
    fig.add_hline(y=0.05, line_dash="dot", annotation_text="0.05: matters")
    fig.update_layout(
        title=title, yaxis_title="share of variance", barmode="group", template="plotly_white"
    )
    with atomic_output(html) as tmp:
        fig.write_html(str(tmp), include_plotlyjs=True, full_html=True)

    import numpy as np

    fig2 = _figure()
    ax = fig2.subplots()
    x = np.arange(len(names))
    for k, (key, label) in enumerate((("s1", "first order"), ("st", "total"))):
        ax.bar(
            x + (k - 0.5) * 0.4,
            [r[key] for r in rows],
            0.4,
            yerr=[r[f"{key}_conf"] for r in rows],
            label=label,
            color=COLORS[k],
            capsize=2,
        )
    ax.axhline(0.05, color="grey", linestyle=":", linewidth=1)
    ax.set_xticks(x, names, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("share of variance")
    _finish_png(fig2, ax, title, "y", png)
    return html, png
