"""A deployment narrative: plain prose written from the model's numbers, no language model.

Four sections -- where to deploy and why, cost and carbon, risks, the roadmap -- each a few
sentences filled from one estimate, the same scenario bought and rented, every region of the
catalog, the projection (:mod:`tokenfab.projection`) and the roadmap
(:mod:`tokenfab.roadmap`). Every figure in the text is in ``figures`` too, so a test can
change an input and see the text follow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tokenfab.catalog import Catalog, default_catalog
from tokenfab.errors import TokenfabError
from tokenfab.planning import evaluate
from tokenfab.projection import ProjectionInputs, project
from tokenfab.roadmap import Point, roadmap
from tokenfab.scenario import Scenario
from tokenfab.words import plural

NOT_ANALYSED = (
    "street prices of accelerators and rentals, utilisation, electricity prices, the "
    "performance model's efficiencies and the demand's growth"
)


def usd(x: float | None) -> str:
    """Money as text with three significant figures.

    >>> usd(4.9270), usd(1234567.0), usd(None)
    ('$4.93', '$1.23 million', 'not priced')
    """
    if x is None:
        return "not priced"
    if abs(x) >= 1e9:
        return f"${x / 1e9:.3g} billion"
    if abs(x) >= 1e6:
        return f"${x / 1e6:.3g} million"
    if abs(x) >= 1e3:
        return f"${x:,.0f}"
    return f"${x:.3g}"


def num(x: float | None, unit: str = "") -> str:
    """A number as text with three significant figures and its unit.

    >>> num(0.2146, " tokens/J"), num(None)
    ('0.215 tokens/J', 'unknown')
    """
    return "unknown" if x is None else f"{x:.3g}{unit}"


@dataclass(frozen=True)
class Narrative:
    """The narrative's sections and the figures they quote."""

    sections: list[tuple[str, str]]
    figures: dict[str, Any]

    @property
    def text(self) -> str:
        return "\n\n".join(f"{title}\n{body}" for title, body in self.sections)

    def as_dict(self) -> dict[str, Any]:
        """The ``narrative --json`` document (:class:`tokenfab.schema.NarrativeResult`)."""
        return {
            "text": self.text,
            "sections": [{"title": t, "text": b} for t, b in self.sections],
            "figures": self.figures,
        }


def _point(scenario: Scenario, cat: Catalog) -> Point | None:
    try:
        return Point.of(evaluate(scenario, cat))
    except TokenfabError:
        return None


SENSITIVITY_KPI = "cost_usd_per_mtok_output"
TOP_DRIVERS = 3


def _sensitivity_risk(scenario: Scenario, cat: Catalog, fig: dict[str, Any]) -> str:
    """One sentence on what moves the cost per million output tokens most: a tornado
    (:func:`tokenfab.uncertainty.tornado`) over the default input ranges (the catalogs' published
    ranges and the performance model's held-out error band), the batch re-chosen per swing.
    ``fig["drivers"]`` gets ``{input: [cost at low, cost at high]}`` of the top three."""
    from tokenfab import uncertainty

    try:
        inputs = uncertainty.prepare_inputs(scenario, None, cat)
        model = uncertainty.scenario_model(scenario, cat, reoptimise=True, keys=(SENSITIVITY_KPI,))
        t = uncertainty.tornado(model, inputs.distributions, SENSITIVITY_KPI, ranges=inputs.ranges)
    except TokenfabError as exc:
        fig["not_analysed"] = NOT_ANALYSED
        return (
            f"Not analysed here: the spread of {NOT_ANALYSED} (no sensitivity analysis: {exc}); "
            "each figure above is one estimate."
        )
    top = [r for r in t.rows if r.swing > 0][:TOP_DRIVERS]
    fig["drivers"] = {r.input: [r.kpi_at_low, r.kpi_at_high] for r in top}
    if not top:
        return "No input in its published range moves the cost per million output tokens."
    parts = []
    for r in top:
        ends = [
            usd(v) if ok else "infeasible"
            for v, ok in ((r.kpi_at_low, r.feasible_at_low), (r.kpi_at_high, r.feasible_at_high))
        ]
        parts.append(f"{r.input} ({r.low:.4g} to {r.high:.4g}: {ends[0]} to {ends[1]})")
    return (
        f"The estimate's cost per million output tokens ({usd(t.base)}, prompts charged "
        "separately, below the all-cost figure above) moves most with "
        + "; ".join(parts)
        + f" (a tornado over {len(t.rows)} inputs: published ranges and the performance "
        "model's held-out error; `tokenfab sensitivity` "
        "gives them all)."
    )


def narrative(
    scenario: Scenario,
    projection: ProjectionInputs | None = None,
    catalog: Catalog | None = None,
) -> Narrative:
    """Write the narrative of a scenario (with a demand, for the projection)."""
    cat = catalog or default_catalog()
    scenario = Scenario.parse(scenario)
    if scenario.prefill_accelerator is not None:  # it wrote "N x" the decode accelerator
        from tokenfab.perf.operating import HETERO_ONLY

        raise TokenfabError(HETERO_ONLY)
    est = evaluate(scenario, cat)
    d = est.as_dict()
    base = Point.of(est)
    s = est.op.setup
    fig: dict[str, Any] = {
        "usd_per_mtok": base.usd_per_mtok,
        "accelerators": est.accelerators_needed,
        "accelerator": s.accelerator.id,
        "region": est.region.id,
        "ownership": scenario.ownership,
        "monthly_cost_usd": d.get("monthly_cost_usd"),
        "co2e_g_per_mtok": base.co2e_g_per_mtok,
        "embodied_co2e_g_per_mtok": d.get("embodied_co2e_g_per_mtok"),
        "tokens_per_joule": d.get("tokens_per_joule"),
        "utilization": est.utilization,
        "ttft_s": base.ttft_s,
        "tpot_s": base.tpot_s,
    }

    # -- where to deploy and why ------------------------------------------------------------
    other = "rent" if scenario.ownership == "buy" else "buy"
    alt = _point(
        scenario.with_(ownership=other, rental_term="on-demand", rental_provider=None), cat
    )
    fig[f"{other}_usd_per_mtok"] = alt.usd_per_mtok if alt else None
    api = None
    if est.api is not None:
        api = est.api.blended_usd_per_mtok * (s.input_tokens + s.output_tokens) / s.output_tokens
    fig["api_usd_per_mtok"] = api
    fig["api_provider"] = est.api.price.provider if est.api else None
    regions = {}
    for rid in cat.table("regions"):
        p = base if rid == est.region.id else _point(scenario.with_(region=rid), cat)
        if p is not None and p.usd_per_mtok is not None:
            regions[rid] = p
    cheapest = min(regions, key=lambda r: regions[r].usd_per_mtok) if regions else None
    if cheapest is not None and est.region.id in regions:
        # a tie (a rented accelerator-hour is priced alike everywhere) names the scenario's
        # own region, not the first of the tied ones: "Renting ... in region eu ... $1.34 ...
        # us is the cheapest at $1.34" read as advice to move
        low = regions[cheapest].usd_per_mtok
        if regions[est.region.id].usd_per_mtok <= low * (1 + 1e-9):
            cheapest = est.region.id
    cleanest = (
        min(
            (r for r in regions if regions[r].co2e_g_per_mtok is not None),
            key=lambda r: regions[r].co2e_g_per_mtok,
            default=None,
        )
        if regions
        else None
    )
    fig["cheapest_region"] = cheapest
    fig["cheapest_region_usd_per_mtok"] = regions[cheapest].usd_per_mtok if cheapest else None
    fig["cleanest_region"] = cleanest
    fig["cleanest_region_co2e_g_per_mtok"] = regions[cleanest].co2e_g_per_mtok if cleanest else None
    verb = "Buying" if scenario.ownership == "buy" else "Renting"
    options = {scenario.ownership: base.usd_per_mtok, other: fig[f"{other}_usd_per_mtok"]}
    if api is not None:
        options["the API"] = api
    priced = {k: v for k, v in options.items() if v is not None}
    best = min(priced, key=lambda k: priced[k]) if priced else None
    fig["cheapest_option"] = best
    where = (
        f"{verb} {est.accelerators_needed:,} x {s.accelerator.name} in region {est.region.id} "
        f"serves {s.model.id} at {usd(base.usd_per_mtok)} per million output tokens (all "
        f"cost over output tokens, prompt processing included), with TTFT {base.ttft_s * 1e3:.0f} ms and "
        f"TPOT {base.tpot_s * 1e3:.1f} ms. "
        + (
            f"{other.capitalize()}ing the same fleet costs {usd(fig[f'{other}_usd_per_mtok'])}"
            if fig[f"{other}_usd_per_mtok"] is not None
            else f"{other.capitalize()}ing the same fleet is not priced"
        )
        + (
            f"; the cheapest API ({fig['api_provider']}) charges {usd(api)} for the same "
            "tokens with their prompts. "
            if api is not None
            else "; no API offers this model in the catalog. "
        )
        + (f"The cheapest option is {best}. " if best else "")
        + (
            f"Of the catalog's {len(regions)} regions, "
            + (f"this one ({cheapest})" if cheapest == est.region.id else f"{cheapest}")
            + " is the cheapest at "
            f"{usd(fig['cheapest_region_usd_per_mtok'])} and {cleanest} the cleanest at "
            f"{num(fig['cleanest_region_co2e_g_per_mtok'], ' gCO2e')} per million output "
            "tokens."
            if cheapest and cleanest
            else ""
        )
    )

    # -- cost and carbon ----------------------------------------------------------------------
    emb = fig["embodied_co2e_g_per_mtok"]
    cost = (
        f"The fleet costs {usd(fig['monthly_cost_usd'])} a month at {est.utilization:.0%} "
        f"average utilisation. Its energy and carbon are not available: "
        f"{s.accelerator.id}'s power is not public (a rental's price includes its energy)."
        if getattr(est, "energy_error", None)
        else f"The fleet costs {usd(fig['monthly_cost_usd'])} a month at {est.utilization:.0%} "
        f"average utilisation. It turns {num(fig['tokens_per_joule'], ' output tokens')} out "
        f"of each joule of facility energy (PUE {est.region.pue:g}) and emits "
        f"{num(base.co2e_g_per_mtok, ' gCO2e')} per million output tokens from the grid of "
        f"{est.region.id} ({est.region.grid_co2e_g_per_kwh:g} gCO2e/kWh)"
        + (
            f", plus {num(emb, ' gCO2e')} embodied in the hardware."
            if emb is not None
            else "; the hardware's embodied carbon is not in the catalog."
        )
    )

    # -- risks ------------------------------------------------------------------------------
    risks = []
    if scenario.tokens_per_day is not None or scenario.requests_per_second is not None:
        proj = project(scenario, projection, cat)
        a = proj.assumptions
        fig["api_price_decline_per_year"] = a["api_price_decline_per_year"].value
        fig["demand_growth_per_year"] = a["demand_growth_per_year"].value
        decline = a["api_price_decline_per_year"].value
        rate = f"{decline:.0%} a year" if isinstance(decline, float) else "as given"
        growth = a["demand_growth_per_year"].value
        grows = f"{growth:.0%} a year" if isinstance(growth, float) else "as given"
        for c in proj.crossings:
            if scenario.ownership in c["options"] and "api" in c["options"]:
                fig["api_crossing_years"] = c["after_years"]
                fig["cheaper_at_end"] = c["cheaper_at_end"]
                risks.append(
                    f"Over {plural(len(proj.calendar_years), 'year')}, with API prices falling {rate} "
                    f"({a['api_price_decline_per_year'].source}) and demand growing {grows}: "
                    f"{c['text']}."
                )
    if est.utilization < 0.5:
        risks.append(
            f"Utilisation is {est.utilization:.0%}: the fleet is sized for a peak "
            f"{scenario.peak_to_average:g} times the average, and idle hours are paid for."
        )
    risks.append(_sensitivity_risk(scenario, cat, fig))

    # -- roadmap ------------------------------------------------------------------------------
    try:
        rm = roadmap(scenario, cat)
    except TokenfabError as exc:
        road = f"No roadmap: {exc}."
    else:
        top = [lv for lv in rm.levers if lv.applicable and (lv.saving_usd_per_mtok or 0) > 0]
        fig["levers"] = {lv.name: lv.saving_usd_per_mtok for lv in top}
        parts = [
            f"{lv.name} ({lv.change}) saves {usd(lv.saving_usd_per_mtok)} per million output "
            f"tokens ({lv.saving_share:.0%})"
            for lv in top[:3]
        ]
        road = (
            "The largest savings: " + "; ".join(parts) + "."
            if parts
            else "No lever lowers the cost of this deployment."
        )
        if rm.stages:
            last = rm.stages[-1]
            fig["plan_usd_per_mtok"] = last.point.usd_per_mtok
            road += (
                f" Applied together ({', '.join(last.levers)}), re-estimated as one deployment, "
                f"they bring the cost to {usd(last.point.usd_per_mtok)} per million output "
                "tokens."
            )
    return Narrative(
        [
            ("Where to deploy", where),
            ("Cost and carbon", cost),
            ("Risks", " ".join(risks)),
            ("Roadmap", road),
        ],
        fig,
    )
