"""Reports: one scenario's estimate as a self-contained HTML page or a PDF.

A report holds the headline KPIs, the error band of the calibration behind them, the charts
(the throughput-interactivity frontier with the operating point, the cost lines, and the
accelerators and regions compared at the same demand) and an **assumptions ledger**: every
number the estimate rests on, labelled

==========  ==================================================================
measured    read off hardware by ``bench/gpu_measure.py`` (``gpu_measurements``)
calibrated  fitted to measured runs (``efficiency``, with its held-out error)
catalog     a published figure in a catalog row (datasheet, price list, grid data)
modelled    computed by tokenfab's model from the rows above (docs/method.md)
input       given in the scenario
==========  ==================================================================

with its source. The charts are static SVG drawn by matplotlib and inlined, so the HTML file
opens offline and the PDF (WeasyPrint) shows the same figures. No formula lives here: the
figures come from :func:`tokenfab.planning.evaluate`, :func:`tokenfab.perf.frontier.frontier`
and :func:`tokenfab.planning.plan_request`.

The same report is served by ``POST /api/v1/report`` (:mod:`tokenfab.web`) and written by
``tokenfab report SCENARIO --out report.html`` (``--pdf`` for a PDF).
"""

from __future__ import annotations

import base64
import html
import io
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tokenfab import __version__, schema
from tokenfab.catalog import Catalog, default_catalog
from tokenfab.errors import TokenfabError
from tokenfab.words import plural

KINDS = ("measured", "calibrated", "catalog", "modelled", "input")

HETERO_FIELDS = ("prefill_accelerator", "prefill_accelerators", "kv_link_gb_s")
"""Scenario fields of a separate prefill pool (tokenfab.perf.hetero), left out of the plan
the report compares against: each option there is one accelerator type."""
"""The labels of the assumptions ledger, from the most to the least direct evidence."""

MODEL_SOURCE = "tokenfab model (docs/method.md): roofline with fitted efficiencies, then cost"

# The KPIs a report shows first: key, label, scale, unit shown.
HEADLINE = (
    (
        "cost_usd_per_mtok_output",
        "Cost per million output tokens, prompts charged separately",
        1.0,
        "USD/Mtok",
    ),
    ("cost_usd_per_mtok_blended", "Cost per million tokens, blended", 1.0, "USD/Mtok"),
    # beside the blended cost, which it compares with (both over the workload's token mix)
    ("api_usd_per_mtok_blended", "Cheapest API, blended (same token mix)", 1.0, "USD/Mtok"),
    ("output_tok_s_per_accelerator", "Output tokens/s per accelerator", 1.0, "token/s"),
    ("output_tok_s_per_user", "Output tokens/s per user", 1.0, "token/s"),
    ("ttft_s", "Time to first token", 1.0, "s"),
    ("tpot_s", "Time per output token", 1e3, "ms"),
    ("monthly_cost_usd", "Monthly cost", 1.0, "USD/month"),
    ("accelerators_needed", "Accelerators installed", 1.0, ""),
    ("facility_power_w", "Facility power", 1e-3, "kW"),
    ("tokens_per_joule", "Output tokens per joule", 1.0, "token/J"),
    ("co2e_g_per_mtok", "Operational CO2e per million output tokens", 1.0, "g"),
    ("embodied_co2e_g_per_mtok", "Embodied CO2e per million output tokens", 1.0, "g"),
)

BANDED = {
    "cost_usd_per_mtok_output",
    "cost_usd_per_mtok_blended",
    "output_tok_s_per_accelerator",
    "output_tok_s_per_user",
    "ttft_s",
    "tpot_s",
    "tokens_per_joule",
}
"""KPIs that move with the fitted efficiencies, so the calibration's error band applies."""


@dataclass(frozen=True)
class LedgerRow:
    """One number of the assumptions ledger."""

    group: str
    quantity: str
    value: Any
    unit: str
    kind: str  # one of KINDS
    source: str


@dataclass(frozen=True)
class ErrorBand:
    """The relative error the estimate's performance figures carry, and where it comes from.

    ``relative`` is a share (0.16: +/-16 %) or None when no held-out figure applies.
    """

    relative: float | None
    largest: float | None
    basis: str


@dataclass
class Report:
    """Everything a report shows, computed once; :func:`to_html` and :func:`to_pdf` render it."""

    request: dict[str, Any]
    result: schema.EstimateResult
    band: ErrorBand
    ledger: list[LedgerRow]
    frontier: list[dict[str, Any]]
    compare: list[dict[str, Any]]
    compare_tokens_per_day: float | None
    extras: dict[str, str] = field(default_factory=dict)  # section title -> HTML
    created: str = ""


# ------------------------------------------------------------------------------------------
# Building
# ------------------------------------------------------------------------------------------


def error_band(estimate: Any, catalog: Catalog) -> ErrorBand:
    """Where the estimate's error band comes from: its own bands (``error_band_basis``, from
    the calibration's held-out residuals) when it has them, else the held-out median error of
    the efficiency row it used (``cv_median_abs_error``), else none (uncalibrated family)."""
    own = getattr(estimate, "error_band_basis", None) or estimate.as_dict().get("error_band_basis")
    if own:
        return ErrorBand(None, None, str(own))
    engine = estimate.op.setup.engine
    if engine.calibrated and engine.efficiency_id:
        row = catalog.get("efficiency", engine.efficiency_id)
        if row.cv_median_abs_error is not None:
            return ErrorBand(
                row.cv_median_abs_error,
                row.cv_max_abs_error,
                f"held-out median error of the {row.family} / {row.software} calibration "
                f"({row.rows_fitted} measured runs; efficiency row {row.id})",
            )
        return ErrorBand(
            None, None, f"calibration {row.id} stores no held-out error ({row.rows_fitted} runs)"
        )
    family = estimate.op.setup.accelerator.family
    return ErrorBand(
        None,
        None,
        f"the {family} family has no fitted efficiencies ({engine.basis}), so no held-out "
        "error applies",
    )


def _src(record: Any) -> str:
    return f"{record.source} (as of {record.as_of})"


def ledger(estimate: Any, request: dict[str, Any], catalog: Catalog) -> list[LedgerRow]:
    """Every number the estimate rests on, labelled measured / calibrated / catalog /
    modelled / input, with its source."""
    from tokenfab.cost import default_cost_inputs  # noqa: F401 - the cost model's defaults
    from tokenfab.perf.precision import precision_table

    setup = estimate.op.setup
    acc, mdl, reg = setup.accelerator, setup.model, estimate.region
    rows: list[LedgerRow] = []

    def add(group: str, quantity: str, value: Any, unit: str, kind: str, source: str) -> None:
        if value is not None:
            rows.append(LedgerRow(group, quantity, value, unit, kind, source))

    # scenario inputs
    for name, value in request.items():
        f = schema.EstimateRequest.model_fields.get(name)
        add("Scenario", name, value, (schema.unit_of(f) if f else None) or "", "input", "given")

    # model architecture
    for name, unit in (
        ("total_params_b", "billion"),
        ("active_params_b", "billion"),
        ("num_layers", ""),
        ("hidden_size", ""),
        ("num_kv_heads", ""),
        ("max_context_tokens", "tokens"),
    ):
        add(f"Model {mdl.id}", name, getattr(mdl, name, None), unit, "catalog", _src(mdl))

    # accelerator datasheet and price
    peak = precision_table()[setup.precision].peak_column
    for name, unit in (
        ("memory_gb", "GB"),
        ("memory_bandwidth_tb_s", "TB/s"),
        (peak, "TFLOP/s"),
        ("scaleup_bandwidth_gb_s", "GB/s"),
        ("tdp_w", "W"),
    ):
        if name:
            add(f"Accelerator {acc.id}", name, getattr(acc, name, None), unit, "catalog", _src(acc))
    if acc.price_usd is not None:
        add(
            f"Accelerator {acc.id}",
            f"price_usd ({acc.price_kind})",
            acc.price_usd,
            "USD",
            "catalog",
            f"{acc.price_source} (as of {acc.price_as_of})",
        )

    # measurements on this accelerator: the best achieved figure of each kind and format
    groups: dict[tuple[str, str], list[Any]] = {}
    for m in catalog.table("gpu-measurements").values():
        if m.accelerator_id == acc.id:
            groups.setdefault((m.kind, m.dtype or ""), []).append(m)
    for (kind, dtype), ms in sorted(groups.items()):
        tb = [m.achieved_tb_s for m in ms if m.achieved_tb_s is not None]
        tf = [m.achieved_tflops for m in ms if m.achieved_tflops is not None]
        value, unit, what = (
            (max(tb), "TB/s", "best achieved")
            if tb
            else (max(tf), "TFLOP/s", "best achieved")
            if tf
            else (len(ms), "runs", "timed runs")
        )
        add(
            f"Measured on {acc.id}",
            f"{kind} {dtype}, {what} ({plural(len(ms), 'run')})".replace(" ,", ","),
            value,
            unit,
            "measured",
            _src(ms[0]),
        )

    # serving-engine efficiencies
    engine = setup.engine
    if engine.calibrated and engine.efficiency_id:
        eff = catalog.get("efficiency", engine.efficiency_id)
        where = f"{_src(eff)}; {eff.rows_fitted} runs fitted"
        if eff.cv_median_abs_error is not None:
            where += f", held-out median error {eff.cv_median_abs_error:.1%}"
        for name, unit in (
            ("compute_efficiency", "-"),
            ("bw_efficiency", "-"),
            ("comm_efficiency", "-"),
            ("moe_efficiency", "-"),
            ("kv_efficiency", "-"),
            ("overhead_ms", "ms"),
            ("overhead_per_sequence_us", "us"),
            ("overhead_per_layer_us", "us"),
        ):
            value, src = getattr(eff, name), where
            if name == "compute_efficiency":
                # the matrix rate the weight format runs at picks the column (the estimate's;
                # a blank one falls back, and the ledger names the column actually read)
                value = float(engine.engine.compute_efficiency)
                src = f"{where}; {engine.compute_basis}, {setup.precision} products"
            add(f"Engine {engine.software}", name, value, unit, "calibrated", src)
    else:
        e = engine.engine
        for name, value, unit in (
            ("compute_efficiency", e.compute_efficiency, "-"),
            ("bw_efficiency", e.bw_efficiency, "-"),
            ("overhead_ms", e.overhead_s * 1e3, "ms"),
        ):
            add(
                f"Engine {engine.software}",
                name,
                float(value),
                unit,
                "modelled",
                f"median of the calibrated families for {engine.software} (no fit for "
                f"{acc.family})"
                + (f"; {engine.compute_basis}" if name == "compute_efficiency" else ""),
            )
    if engine.record is not None:
        add(
            f"Engine {engine.software}",
            "runtime_reserve_gb",
            engine.record.runtime_reserve_gb,
            "GB",
            "catalog",
            _src(engine.record),
        )

    # region
    for name, unit in (
        ("electricity_usd_per_kwh", "USD/kWh"),
        ("grid_co2e_g_per_kwh", "g CO2e/kWh"),
        ("pue", "-"),
    ):
        add(f"Region {reg.id}", name, getattr(reg, name), unit, "catalog", _src(reg))

    # workload
    wid = estimate.scenario.workload
    if wid:
        w = catalog.workload(wid)
        for name in ("input_tokens", "output_tokens", "ttft_slo_s", "tpot_slo_s"):
            if name not in request:
                add(f"Workload {w.id}", name, getattr(w, name), "", "catalog", _src(w))

    # ownership-cost defaults
    for a in catalog.table("cost-assumptions").values():
        add("Cost model", a.id, a.value, a.unit, "catalog", _src(a))
    if estimate.cost is not None and estimate.scenario.ownership == "rent":
        add(
            "Cost model",
            "rental offer",
            estimate.cost.total_usd_per_hour,
            "USD/h",
            "catalog",
            estimate.cost.basis,
        )
    if estimate.api is not None:
        p = estimate.api.price
        add(
            "API comparison",
            f"{p.provider} {p.model_name} input / output",
            f"{p.input_usd_per_mtok:g} / {p.output_usd_per_mtok:g}",
            "USD/Mtok",
            "catalog",
            _src(p),
        )

    # outputs
    from tokenfab.pipeline import estimate_result  # the calculator's path (numbers vectorised)

    result = estimate_result(estimate, catalog).model_dump()
    for name, f in schema.EstimateResult.model_fields.items():
        value = result.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            add("Estimate", name, value, schema.unit_of(f) or "", "modelled", MODEL_SOURCE)
    return rows


def _given(data: Any) -> tuple[schema.EstimateRequest, dict[str, Any]]:
    req = schema.EstimateRequest.parse(data)
    return req, req.model_dump(exclude_unset=True, exclude_none=True)


def build(
    data: Any, catalog: Catalog | None = None, compare: bool = True, extras: bool = True
) -> Report:
    """The report of an estimate request (a mapping of Scenario fields, or a request).

    Parameters
    ----------
    data : mapping or EstimateRequest
        The scenario, as ``POST /api/v1/estimate`` takes it.
    catalog : Catalog, optional
        Default: the built-in catalogs (and ``TOKENFAB_CATALOG``).
    compare : bool
        Compare accelerators and regions at the same demand (a plan over every shipping
        accelerator and region: ~0.5 s).
    extras : bool
        Add the sensitivity, roadmap, projection and narrative sections
        (:func:`extra_sections`).

    Raises
    ------
    TokenfabError
        A field is wrong (the message names it), or the scenario has no operating point.
    """
    from tokenfab.perf.frontier import frontier
    from tokenfab.pipeline import estimate_result
    from tokenfab.planning import evaluate, plan_request

    cat = catalog or default_catalog()
    req, given = _given(data)
    est = evaluate(req.scenario(), cat)
    result = estimate_result(est, cat)
    try:
        front = frontier(req.scenario(), cat).rows()
    except TokenfabError:
        front = []
    options: list[dict[str, Any]] = []
    tokens_per_day = None
    if compare:
        # the same demand for every option: the scenario's, else what this deployment serves
        tokens_per_day = req.tokens_per_day or (
            result.output_tok_s_total * 86_400 * result.utilization
        )
        plan_fields = {
            k: v
            for k, v in given.items()
            if k in schema.PlanRequest.model_fields
            # each option is one accelerator type: a heterogeneous scenario's pools are not
            and k not in ("accelerator", "accelerators", "region", "ownership", *HETERO_FIELDS)
        }
        plan_req = schema.PlanRequest.parse(
            {
                **plan_fields,
                "requests_per_second": None,
                "tokens_per_day": tokens_per_day,
                "region": list(cat.table("regions")),
                "ownership": [req.ownership],
            }
        )
        options = schema.PlanResult.from_options(plan_request(plan_req, cat)).model_dump()[
            "options"
        ]
    return Report(
        request=given,
        result=result,
        extras=extra_sections(req.scenario(), cat) if extras else {},
        band=error_band(est, cat),
        ledger=ledger(est, given, cat),
        frontier=front,
        compare=options,
        compare_tokens_per_day=tokens_per_day,
        created=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )


# ------------------------------------------------------------------------------------------
# Charts (matplotlib, static, inlined)
# ------------------------------------------------------------------------------------------


def _img(fig: Any, alt: str, image: str) -> str:
    """An ``<img>`` holding the figure inline: SVG (sharp, for the HTML page) or PNG (for the
    PDF: WeasyPrint draws a PNG far faster than matplotlib's SVG paths)."""
    buf = io.BytesIO()
    fig.savefig(buf, format=image, bbox_inches="tight", dpi=150)
    data = base64.b64encode(buf.getvalue()).decode()
    mime = "image/svg+xml" if image == "svg" else "image/png"
    return f'<img class="chart" alt="{html.escape(alt)}" src="data:{mime};base64,{data}">'


def _figure(width: float = 7.5, height: float = 3.6) -> Any:
    from tokenfab.charts import _figure as base

    fig = base()
    fig.set_size_inches(width, height)
    return fig


def frontier_chart(report: Report, image: str = "svg") -> str | None:
    """The throughput-interactivity frontier with the operating point marked."""
    if not report.frontier:
        return None
    r = report.result
    fig = _figure()
    ax = fig.subplots()
    ax.plot(
        [p["tok_s_per_user"] for p in report.frontier],
        [p["tok_s_per_accelerator"] for p in report.frontier],
        "-o",
        markersize=3,
        color="#1f5fa8",
        label=f"{r.accelerator} frontier ({r.precision})",
    )
    ax.plot(
        [r.output_tok_s_per_user],
        [r.output_tok_s_per_accelerator],
        "D",
        markersize=9,
        color="#b3261e",
        label="operating point",
    )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("output tokens/s per user")
    ax.set_ylabel("output tokens/s per accelerator")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    return _img(fig, f"Frontier of {r.model} on {r.accelerator} with the operating point", image)


def cost_lines(result: schema.EstimateResult) -> dict[str, float]:
    """The cost lines of one accelerator-hour [USD/h] that are above zero, by name."""
    d = result.model_dump()
    return {
        k.removeprefix("cost_").removesuffix("_usd_per_hour").replace("_", " "): float(v)
        for k, v in d.items()
        if k.startswith("cost_")
        and k.endswith("_usd_per_hour")
        and k != "cost_usd_per_accelerator_hour"
        and v
    }


def cost_chart(report: Report, image: str = "svg") -> str | None:
    """Each cost line's share of the cost per million output tokens."""
    r = report.result
    lines = cost_lines(r)
    if not lines or r.cost_usd_per_mtok_output is None:
        return None
    total = sum(lines.values())
    fig = _figure(height=0.45 * len(lines) + 1.2)
    ax = fig.subplots()
    names = list(lines)
    ax.barh(
        names, [r.cost_usd_per_mtok_output * v / total for v in lines.values()], color="#1f5fa8"
    )
    ax.invert_yaxis()
    ax.set_xlabel("USD per million output tokens, prompts charged separately")
    ax.grid(True, axis="x", alpha=0.3)
    return _img(
        fig, "Cost per million output tokens (prompts charged separately) by cost line", image
    )


def best_by(options: list[dict[str, Any]], by: str, where: dict[str, str]) -> list[dict[str, Any]]:
    """The cheapest feasible option of each ``by`` value among the options matching
    ``where``, cheapest first."""
    best: dict[str, dict[str, Any]] = {}
    for o in options:
        if not o["feasible"] or any(o[k] != v for k, v in where.items()):
            continue
        if o["cost_usd_per_mtok_output"] is None:
            continue
        key = o[by]
        if key not in best or o["cost_usd_per_mtok_output"] < best[key]["cost_usd_per_mtok_output"]:
            best[key] = o
    return sorted(best.values(), key=lambda o: o["cost_usd_per_mtok_output"])


def compare_chart(report: Report, by: str, image: str = "svg") -> str | None:
    """Cost and operational carbon per million output tokens, by accelerator or region."""
    r = report.result
    where = {"region": r.region} if by == "accelerator" else {"accelerator": r.accelerator}
    rows = best_by(report.compare, by, where)
    if not rows:
        return None
    mine = getattr(r, by)
    names = [o[by] for o in rows]
    fig = _figure(height=3.8)
    ax1, ax2 = fig.subplots(1, 2)
    colors = ["#b3261e" if n == mine else "#1f5fa8" for n in names]
    ax1.bar(names, [o["cost_usd_per_mtok_output"] for o in rows], color=colors)
    ax1.set_ylabel("USD per million output tokens,\nprompts charged separately")
    ax2.bar(
        names,
        [o["co2e_g_per_mtok"] or 0 for o in rows],
        color=["#b3261e" if n == mine else "#2e7d32" for n in names],
    )
    ax2.set_ylabel("g CO2e per million output tokens")
    for ax in (ax1, ax2):
        ax.tick_params(axis="x", rotation=60, labelsize=7)
        ax.grid(True, axis="y", alpha=0.3)
    fig.tight_layout()
    return _img(fig, f"Cost and carbon by {by}", image)


# ------------------------------------------------------------------------------------------
# Sections of the forward-looking modules
# ------------------------------------------------------------------------------------------

SENSITIVITY_KPI = "cost_usd_per_mtok_blended"
"""The KPI the report's tornado swings."""


def _table(rows: list[dict[str, Any]], columns: list[tuple[str, str]]) -> str:
    head = "".join(f"<th>{html.escape(label)}</th>" for _, label in columns)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td class='num'>{_num(r.get(k))}</td>"
            if isinstance(r.get(k), int | float) and not isinstance(r.get(k), bool)
            else f"<td>{html.escape(str(r.get(k) if r.get(k) is not None else ''))}</td>"
            for k, _ in columns
        )
        + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def sensitivity_section(scenario: Any, catalog: Catalog) -> str:
    """A tornado of the blended cost per million tokens over the ranges the catalogs publish
    (:func:`tokenfab.uncertainty.default_distributions`)."""
    from tokenfab import uncertainty as unc

    dists = unc.default_distributions(scenario, catalog)
    model = unc.scenario_model(scenario, catalog, keys=(SENSITIVITY_KPI,))
    t = unc.tornado(model, dists, SENSITIVITY_KPI)
    rows = [
        {
            "input": r.input,
            "low": r.low,
            "high": r.high,
            "at_low": r.kpi_at_low if r.feasible_at_low else None,
            "at_high": r.kpi_at_high if r.feasible_at_high else None,
        }
        for r in t.rows
    ]
    fig = _figure(height=0.35 * len(rows) + 1.4)
    ax = fig.subplots()
    names = [r["input"] for r in rows][::-1]
    lo = [(r["at_low"] if r["at_low"] is not None else t.base) - t.base for r in rows][::-1]
    hi = [(r["at_high"] if r["at_high"] is not None else t.base) - t.base for r in rows][::-1]
    ax.barh(names, lo, left=t.base, color="#1f5fa8", label="input at its low value")
    ax.barh(names, hi, left=t.base, color="#b3261e", alpha=0.8, label="input at its high value")
    ax.axvline(t.base, color="#1a1a1a", linewidth=1)
    ax.set_xlabel("USD per million tokens, blended")
    ax.tick_params(axis="y", labelsize=7)
    ax.legend(fontsize=8)
    chart = _img(fig, "Tornado of the blended cost per million tokens", "svg")
    note = (
        f"<p class='muted'>Each input swung alone over its published range (catalog low/high "
        f"columns and the calibration's held-out error); base {_num(t.base)} USD per million "
        f"tokens; largest swing first.</p>"
    )
    columns = [
        ("input", "input"),
        ("low", "low"),
        ("high", "high"),
        ("at_low", "cost at low"),
        ("at_high", "cost at high"),
    ]
    return chart + note + _table(rows, columns)


def roadmap_section(scenario: Any, catalog: Catalog) -> str:
    """The cost levers ranked by saving and the staged plan (:mod:`tokenfab.roadmap`)."""
    from tokenfab.roadmap import roadmap

    doc = roadmap(scenario, catalog).as_dict()

    def pct(saving_share: float | None) -> str:  # a saving of 0.3 is a cost change of -30 %
        return "" if saving_share is None else f"{-saving_share:+.1%}"

    levers = [
        {**lv, "saving_share": pct(lv.get("saving_share"))}
        for lv in doc["levers"]
        if lv.get("applicable")
    ]
    stages = [
        {**st, "levers": ", ".join(st["levers"]), "saving_share": pct(st.get("saving_share"))}
        for st in doc["plan"]
    ]
    return _table(
        levers,
        [
            ("lever", "lever"),
            ("change", "change"),
            ("usd_per_mtok", "USD/Mtok"),
            ("saving_share", "cost change"),
            ("quality", "basis"),
        ],
    ) + _table(
        stages,
        [
            ("stage", "stage"),
            ("levers", "levers"),
            ("usd_per_mtok", "USD/Mtok"),
            ("saving_share", "cost change"),
        ],
    )


def projection_section(scenario: Any, catalog: Catalog) -> str:
    """Cumulative cash of buying, renting and an API year by year (:mod:`tokenfab.projection`)."""
    from tokenfab.projection import project

    doc = project(scenario, None, catalog).as_dict()
    years = doc["years"]
    fig = _figure()
    ax = fig.subplots()
    for option, color in (("buy", "#1f5fa8"), ("rent", "#b3261e"), ("api", "#2e7d32")):
        key = f"{option}_cumulative_cash_usd"
        if any(y.get(key) is not None for y in years):
            ax.plot(
                [y["calendar_year"] for y in years],
                [y.get(key) for y in years],
                "-o",
                color=color,
                label=option,
                markersize=3,
            )
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("cumulative cash, USD")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    chart = _img(fig, "Cumulative cash of buying, renting and an API", "svg")
    notes = "".join(f"<p class='muted'>{html.escape(str(n))}</p>" for n in doc.get("notes", []))
    return chart + notes


def narrative_section(scenario: Any, catalog: Catalog) -> str:
    """The deterministic narrative of the scenario (:mod:`tokenfab.narrative`)."""
    from tokenfab.narrative import narrative

    doc = narrative(scenario, None, catalog).as_dict()
    return "".join(
        f"<h3>{html.escape(s['title'])}</h3><p>{html.escape(s['text'])}</p>"
        for s in doc["sections"]
    )


SECTIONS = (
    ("Sensitivity", sensitivity_section),
    ("Roadmap: cost levers", roadmap_section),
    ("Projection", projection_section),
    ("Narrative", narrative_section),
)
"""The report's forward-looking sections: (title, builder)."""


def extra_sections(scenario: Any, catalog: Catalog) -> dict[str, str]:
    """The sections of :data:`SECTIONS` as HTML; a section the scenario cannot have (no
    demand for a projection, no price for a roadmap) says why."""
    out = {}
    for title, builder in SECTIONS:
        try:
            out[title] = builder(scenario, catalog)
        except TokenfabError as exc:
            out[title] = (
                f"<p class='muted'>Not available for this scenario: {html.escape(str(exc))}</p>"
            )
    return out


# ------------------------------------------------------------------------------------------
# Rendering
# ------------------------------------------------------------------------------------------

STYLE = """
body { font-family: "DejaVu Sans", system-ui, sans-serif; color: #1a1a1a; max-width: 60rem;
  margin: 1.5rem auto; padding: 0 1rem; line-height: 1.4; font-size: 11pt; }
h1 { font-size: 1.5rem; margin-bottom: 0.2rem; } h2 { font-size: 1.15rem; margin-top: 1.6rem;
  border-bottom: 1px solid #c8ccd2; } .muted { color: #4a4a4a; font-size: 0.9rem; }
table { border-collapse: collapse; width: 100%; font-size: 0.85rem; margin: 0.5rem 0; }
th, td { border-bottom: 1px solid #dde0e4; padding: 0.2rem 0.4rem; text-align: left;
  vertical-align: top; } td.num { text-align: right; white-space: nowrap; }
td.src { font-size: 0.75rem; color: #4a4a4a; overflow-wrap: break-word; }
/* fixed layout and break-word, not 'anywhere': WeasyPrint lays out 'anywhere' ~15x slower */
table.ledger { table-layout: fixed; } table.ledger col.q { width: 24%; }
table.ledger col.v { width: 11%; } table.ledger col.u { width: 9%; } table.ledger col.k { width: 10%; }
.kind { font-size: 0.75rem; padding: 0 0.3rem; border-radius: 3px; white-space: nowrap; }
.measured { background: #d7ecd9; } .calibrated { background: #dce8f7; }
.catalog { background: #eee; } .modelled { background: #fbe7d3; } .input { background: #f3e0f3; }
img.chart { width: 100%; max-width: 48rem; display: block; margin: 0.5rem 0; }
@page { size: A4; margin: 1.5cm; }
"""


def _num(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return html.escape(str(value))
    if value != value or math.isinf(value):
        return "n/a"
    a = abs(value)
    if a != 0 and (a >= 1e7 or a < 1e-3):
        return f"{value:.3g}"
    if a >= 1000:
        return f"{value:,.0f}"
    return f"{value:.4g}"


def kpi_band(d: dict[str, Any], key: str, band: ErrorBand) -> tuple[float, float] | None:
    """The error band of one KPI of an estimate record ``d``, in its unit, or None.

    The estimate's own bands (``<key>_low`` / ``<key>_high``: TTFT, TPOT, total throughput)
    when it has them: throughput per accelerator and tokens per joule move with total
    throughput, tokens per second per user is 1 / TPOT, and at a given fleet the cost of a
    token moves inversely with throughput. Else +/- the calibration's held-out median error.

    Examples
    --------
    >>> kpi_band({"ttft_s": 0.2}, "ttft_s", ErrorBand(0.1, None, "+/-10 %"))  # 0.2 x (1 -/+ 0.1)
    (0.18, 0.22)
    """
    raw = d.get(key)
    if raw is None or key not in BANDED:
        return None
    lo, hi = d.get(f"{key}_low"), d.get(f"{key}_high")
    if lo is not None and hi is not None:
        return float(lo), float(hi)
    t, t_lo, t_hi = (d.get(f"output_tok_s_total{s}") for s in ("", "_low", "_high"))
    if t and t_lo and t_hi:
        if key == "output_tok_s_per_user" and d.get("tpot_s_low") and d.get("tpot_s_high"):
            return raw * d["tpot_s"] / d["tpot_s_high"], raw * d["tpot_s"] / d["tpot_s_low"]
        if key in ("output_tok_s_per_accelerator", "tokens_per_joule"):
            return raw * t_lo / t, raw * t_hi / t
        if key.startswith("cost_"):
            return raw * t / t_hi, raw * t / t_lo
        return None
    if band.relative is None:
        return None
    return raw * (1 - band.relative), raw * (1 + band.relative)


def _kpi_rows(report: Report) -> str:
    d = report.result.model_dump()
    out = []
    for key, label, scale, unit in HEADLINE:
        v = d.get(key)
        shown = None if v is None else v * scale
        rng = kpi_band(d, key, report.band)
        band = "" if rng is None else f"{_num(rng[0] * scale)} to {_num(rng[1] * scale)}"
        out.append(
            f"<tr><td>{html.escape(label)}</td><td class='num'>{_num(shown)}</td>"
            f"<td>{html.escape(unit)}</td><td class='num'>{band}</td></tr>"
        )
    return "\n".join(out)


def _ledger_table(report: Report) -> str:
    out = []
    group = None
    for row in report.ledger:
        if row.group != group:
            group = row.group
            out.append(f"<tr><th colspan='5'>{html.escape(group)}</th></tr>")
        out.append(
            f"<tr><td>{html.escape(row.quantity)}</td><td class='num'>{_num(row.value)}</td>"
            f"<td>{html.escape(row.unit)}</td>"
            f"<td><span class='kind {row.kind}'>{row.kind}</span></td>"
            f"<td class='src'>{html.escape(row.source)}</td></tr>"
        )
    return "\n".join(out)


def command(request: dict[str, Any]) -> str:
    """The ``tokenfab report`` command line that writes the same report.

    Examples
    --------
    >>> command({"model": "llama-3.1-70b", "accelerators": 8, "tokens_per_day": 2e9})
    'tokenfab report --model llama-3.1-70b --accelerators 8 --tokens-per-day 2e+09 --out report.html'
    """
    parts = ["tokenfab report"]
    for key, value in request.items():
        if isinstance(value, bool):
            if value:
                parts.append(f"--{key.replace('_', '-')}")
            continue
        text = (
            ",".join(map(str, value))
            if isinstance(value, list | tuple)
            else f"{value:g}"
            if isinstance(value, float)
            else str(value)
        )
        parts.append(f"--{key.replace('_', '-')} {text}")
    return " ".join([*parts, "--out report.html"])


def to_html(report: Report, image: str = "svg") -> str:
    """The report as one self-contained HTML page (charts inlined as ``image``: svg or png;
    no external file)."""
    r = report.result
    fleet = (  # a separate prefill pool is its own accelerator type (tokenfab.perf.hetero)
        f"{r.prefill_accelerators} x {r.prefill_accelerator} (prefill) + "
        f"{r.decode_accelerators} x {r.accelerator} (decode)"
        if r.prefill_accelerator is not None
        else f"{r.accelerators} x {r.accelerator}"
    )
    title = f"tokenfab report: {r.model} on {fleet}"
    layout = (
        f"TP{r.tensor_parallel} PP{r.pipeline_parallel} EP{r.expert_parallel}, "
        f"{r.replicas} replica(s), batch {r.batch_size}, {r.precision} weights, "
        f"{r.kv_precision} KV cache, {r.software}, {r.bound}-bound"
    )
    sections = []
    charts = [
        (
            "Throughput against interactivity",
            frontier_chart(report, image),
            "Each point is the best layout and batch for its speed per user; the diamond is this "
            "estimate.",
        ),
        (
            "Cost lines",
            cost_chart(report, image),
            f"One accelerator-hour costs {_num(r.cost_usd_per_accelerator_hour)} USD "
            f"({html.escape(r.cost_basis or r.cost_error or '')}).",
        ),
    ]
    for by in ("accelerator", "region"):
        charts.append(
            (
                f"Accelerators and regions compared: by {by}",
                compare_chart(report, by, image),
                f"Cheapest feasible option of each {by} ({r.ownership}) for "
                f"{_num(report.compare_tokens_per_day)} output tokens a day; "
                f"this scenario's {by} in red.",
            )
        )
    for name, chart, note in charts:
        if chart:
            sections.append(f"<h2>{html.escape(name)}</h2>{chart}<p class='muted'>{note}</p>")
    for name, body in report.extras.items():
        sections.append(f"<h2>{html.escape(name)}</h2>{body}")
    # why figures are missing, then the warnings estimate prints (queue, clients, stale prices)
    missing = [
        f"{what} not available: {why}"
        for what, why in (("Money figures", r.cost_error), ("Energy and carbon", r.energy_error))
        if why
    ]
    warnings = "".join(
        f"<p class='muted'>{html.escape(w[:1].upper() + w[1:])}</p>"
        for w in [*missing, *r.warning_lines()]
    )
    counts = {k: sum(1 for row in report.ledger if row.kind == k) for k in KINDS}
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title><style>{STYLE}</style></head>
<body>
<h1>{html.escape(title)}</h1>
<p class="muted">{html.escape(layout)}; region {html.escape(r.region)}, {html.escape(r.ownership)}.
Written {report.created} by tokenfab {__version__}:
<code>{html.escape(command(report.request))}</code></p>
<h2>Key figures</h2>
<table><thead><tr><th>figure</th><th>value</th><th>unit</th><th>error band</th></tr></thead>
<tbody>{_kpi_rows(report)}</tbody></table>
<p class="muted">Error band: {html.escape(report.band.basis)}.</p>{warnings}
{"".join(sections)}
<h2>Assumptions ledger</h2>
<p class="muted">Every number the estimate rests on: {counts["measured"]} measured,
{counts["calibrated"]} calibrated, {counts["catalog"]} from catalogs, {counts["modelled"]}
modelled, {counts["input"]} given.</p>
<table class="ledger"><colgroup><col class="q"><col class="v"><col class="u"><col class="k"><col>
</colgroup><thead><tr><th>quantity</th><th>value</th><th>unit</th><th>kind</th><th>source</th></tr>
</thead><tbody>{_ledger_table(report)}</tbody></table>
</body></html>
"""


def to_pdf(report: Report) -> bytes:
    """The report as a PDF (WeasyPrint renders :func:`to_html`)."""
    try:
        from weasyprint import HTML
    except (ImportError, OSError) as exc:  # OSError: pango or its libraries are missing
        raise TokenfabError(
            f"report --pdf: WeasyPrint cannot load ({exc}); install its system libraries "
            "(Debian: apt-get install libpango-1.0-0 libpangoft2-1.0-0)"
        ) from None
    return HTML(string=to_html(report, image="png")).write_pdf()


__all__ = [
    "KINDS",
    "ErrorBand",
    "LedgerRow",
    "Report",
    "build",
    "error_band",
    "ledger",
    "to_html",
    "to_pdf",
]
