"""Deployments in money, energy and carbon: one scenario's KPIs, and the capacity search.

``evaluate`` composes the layers of the data flow for one scenario: the operating point
(``tokenfab.perf``), the accelerators a demand needs at its peak, the cost of an
accelerator-hour bought or rented (``tokenfab.cost``) and the eight KPIs (``tokenfab.kpis``),
with the cheapest API price for the same model beside them.

``plan`` searches accelerators x regions x ownership for a demand and latency targets and
returns every option ranked by cost, with the reason each rejected one failed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np

from tokenfab.catalog import Accelerator, ApiPrice, Catalog, Region, default_catalog
from tokenfab.cost import (
    CostInputs,
    OwnershipCost,
    _from_table,
    api_cost_usd_per_request,
    average_power_w,
    cheapest_rental,
    check_rental_provider,
    default_cost_inputs,
    it_power_w,
    ownership_cost_from_inputs,
    serving_power_w,
)
from tokenfab.errors import (
    CatalogError,
    InfeasibleError,
    ScenarioError,
    TokenfabError,
    UnknownIdError,
)
from tokenfab.hostpower import host_power_w
from tokenfab.kpis import (
    Kpis,
    compute_kpis,
)
from tokenfab.perf.operating import OperatingPoint, resolve
from tokenfab.scenario import Scenario
from tokenfab.sizing import (
    HourlyRate,
    SizingGrid,
    demand_output_tok_s,
    sized_point,
    sizing_grid,
)
from tokenfab.words import plural


@dataclass(frozen=True)
class HourlyCost:
    """Cost of one accelerator-hour and its lines [USD/h]."""

    ownership: str
    total_usd_per_hour: float
    lines: dict[str, float]
    basis: str  # where the figure comes from (price source or rental offer)


@dataclass(frozen=True)
class ApiQuote:
    """The cheapest current API offer for the model, for the workload's token mix.

    ``blended_usd_per_mtok`` is per million *served* tokens (prompt, cached prompt and
    output alike), the basis of the self-hosted blended cost it is compared with.
    """

    price: ApiPrice
    usd_per_request: float
    blended_usd_per_mtok: float


@dataclass(frozen=True)
class Estimate:
    """One scenario in full: operating point, sizing, hourly cost, KPIs and API comparison."""

    scenario: Scenario
    op: OperatingPoint
    region: Region
    cost: HourlyCost | None  # None when the catalog lacks a price or power figure: see cost_error
    kpis: Kpis | None
    accelerators_needed: int
    utilization: float
    api: ApiQuote | None = None
    cost_error: str | None = None
    pools: Any = None  # tokenfab.pools.Pools: a separate prefill pool on another accelerator
    # True: the KPIs were not computed here, the vectorised pipeline computes them
    # (tokenfab.pipeline.estimate_result); kpis None otherwise means no power figure
    kpis_left_out: bool = False
    energy_error: str | None = None  # why the energy and carbon KPIs are NaN (power not public)

    def as_dict(self) -> dict[str, Any]:
        """The flat ``estimate --json`` record: performance keys, then the KPIs."""
        from tokenfab.pools import POOL_KEYS

        out = self.op.as_dict()
        out.update(self.pools.as_dict() if self.pools is not None else dict.fromkeys(POOL_KEYS))
        if self.kpis is not None:
            out.update({k: None if v != v else v for k, v in self.kpis.as_dict().items()})
        from tokenfab.carbon import embodied_kpis  # manufacturing carbon beside operational

        out.update(embodied_kpis(self))
        lines = self.cost.lines.items() if self.cost else ()
        out.update(
            {
                "region": self.region.id,
                "ownership": self.scenario.ownership,
                "utilization": self.utilization,
                "accelerators_needed": self.accelerators_needed,
                "cost_error": self.cost_error,
                "energy_error": self.energy_error,
                "cost_basis": self.cost.basis if self.cost else None,
                # every cost line for buy and rent alike (null where it does not apply), so
                # that records of both ownerships share one set of keys
                **{f"cost_{k}_usd_per_hour": dict(lines).get(k) for k in COST_LINES},
                "api_provider": self.api.price.provider if self.api else None,
                "api_usd_per_mtok_blended": self.api.blended_usd_per_mtok if self.api else None,
            }
        )
        return out


COST_LINES = (
    *(f.name.removesuffix("_usd_per_hour") for f in fields(OwnershipCost)),
    "rental",
)
"""Names of the cost lines of an accelerator-hour: the buy lines, then the rental."""


ENERGY_FIELDS = (
    "power_w",
    "facility_power_w",
    "tokens_per_joule",
    "output_tok_s_per_mw",
    "energy_kwh_per_month",
    "co2e_kg_per_month",
    "co2e_g_per_mtok",
    "gpu_joules_per_output_token",
)
"""The KPIs that need the accelerator's power: NaN (``null`` in JSON) where it is not public."""


def power_not_public(acc: Accelerator, field: str = "accelerator") -> str:
    """Why an accelerator without a published power has no energy or carbon figures."""
    return (
        f"{field}: {acc.id}'s power is not public (no tdp_w in accelerators.csv), so energy, "
        "tokens per joule and carbon are not available (a rental's price includes its "
        "energy); add tdp_w in a catalog override (--catalog DIR) for them"
    )


def without_energy(kpis: Kpis) -> Kpis:
    """The KPIs with every energy and carbon figure NaN (power not public)."""
    return replace(kpis, **{f: np.asarray(np.nan) for f in ENERGY_FIELDS})


def power_w(op: OperatingPoint, inputs: CostInputs, utilization: float) -> tuple[float, float]:
    """Average IT draw of one accelerator with its host share, and its board's serving draw [W].

    Serving: :func:`tokenfab.cost.serving_power_w` of the point's memory and compute
    activity (the accelerator board alone, the basis of ``gpu_joules_per_output_token``);
    average: serving for the ``utilization`` share of hours, idle for the rest, plus the host's
    draw (:func:`tokenfab.cost.it_power_w`, :func:`tokenfab.hostpower.host_power_w`).
    """
    acc = op.setup.accelerator
    if acc.tdp_w is None:
        raise ScenarioError(
            f"accelerator: {acc.id} has no published power (tdp_w), which energy, carbon and the "
            "buy cost need; add tdp_w in a catalog override (--catalog DIR)"
        )
    busy = float(
        serving_power_w(
            acc.tdp_w,
            inputs.idle_power_share_of_tdp,
            op.hbm_busy_share,
            op.compute_busy_share,
            inputs.memory_power_share,
            inputs.compute_power_share,
        )
    )
    idle = acc.tdp_w * inputs.idle_power_share_of_tdp
    avg = average_power_w(busy, idle, utilization)
    return float(it_power_w(avg, acc.tdp_w, host_power_w(acc))), busy


def licence_problem(
    catalog: Catalog, licence_id: str, accelerator_id: str, software_id: str
) -> str | None:
    """Why a licence does not apply to an accelerator and engine, as one line naming the
    field and the licences that do apply (none: leave it unset); ``None`` where it applies.

    Raises
    ------
    CatalogError
        An unknown licence id (with the nearest valid ids).

    Examples
    --------
    >>> from tokenfab.catalog import default_catalog
    >>> cat = default_catalog()
    >>> licence_problem(cat, "nvidia-ai-enterprise", "h100-sxm", "trtllm") is None
    True
    >>> print(licence_problem(cat, "nvidia-ai-enterprise", "mi300x", "vllm"))
    software_licence: nvidia-ai-enterprise (NVIDIA) does not apply to mi300x (AMD); allowed on mi300x: none (leave software_licence unset: open-source engines need no licence)
    """
    lic = catalog.get("licences", licence_id)
    if lic.covers_accelerator(accelerator_id) and lic.covers_engine(software_id):
        return None
    acc = catalog.accelerator(accelerator_id)
    if not lic.covers_accelerator(accelerator_id):
        what, where = f"{accelerator_id} ({acc.vendor})", f"on {accelerator_id}"
    else:
        covered = ", ".join(e.strip() for e in (lic.engines or "").split(";") if e.strip())
        what = f"the {software_id} engine (it covers {covered})"
        where = f"on {accelerator_id} with {software_id}"
    allowed = [
        other.id
        for other in catalog.table("licences").values()
        if other.covers_accelerator(accelerator_id) and other.covers_engine(software_id)
    ]
    return (
        f"software_licence: {lic.id} ({lic.vendor}) does not apply to {what}; allowed {where}: "
        + (
            ", ".join(allowed)
            if allowed
            else "none (leave software_licence unset: open-source engines need no licence)"
        )
    )


def licence_usd_per_accelerator_year(
    catalog: Catalog,
    licence_id: str | None,
    accelerator_id: str,
    software_id: str,
    ownership: str,
    strict: bool = True,
) -> tuple[float, str]:
    """Yearly cost of the chosen software licence for one accelerator [USD/year], and why.

    No licence chosen: 0 (open-source engines -- vLLM, SGLang, TensorRT-LLM -- cost nothing).
    A chosen licence costs its list price on the accelerators and engines it covers, and
    nothing on bought hardware the vendor sells with it included (``bundled_with``: NVIDIA's
    H100 PCIe product brief bundles five years of NVIDIA AI Enterprise). A licence that does
    not cover the accelerator or engine is refused (``strict``, the default: one deployment
    on one accelerator); with ``strict=False`` it costs nothing there and the note says so --
    for a deployment over several accelerators (a prefill and a decode pool, a plan's
    candidates) where it applies to at least one, which the caller checks
    (:func:`check_licence_applies`).

    Raises
    ------
    CatalogError
        An unknown licence id.
    ScenarioError
        ``strict`` and the licence does not cover the accelerator or the engine
        (:func:`licence_problem`).
    """
    if licence_id is None:
        return 0.0, "no licence (open-source engine)"
    lic = catalog.get("licences", licence_id)
    problem = licence_problem(catalog, licence_id, accelerator_id, software_id)
    if problem is not None:
        if strict:
            raise ScenarioError(problem)
        if not lic.covers_accelerator(accelerator_id):
            return 0.0, f"{lic.id} does not apply to {accelerator_id}: not charged there"
        return 0.0, f"{lic.id} does not cover the {software_id} engine: not charged there"
    if ownership == "buy" and lic.bundled(accelerator_id):
        return (
            0.0,
            f"{lic.id} bundled with {accelerator_id} ({plural(lic.bundled_years, 'year', spec='g')})",
        )
    return float(
        lic.usd_per_accelerator_year
    ), f"{lic.id} ${lic.usd_per_accelerator_year:,.0f}/year"


def check_licence_applies(
    catalog: Catalog, licence_id: str | None, deployments: list[tuple[str, str]]
) -> list[str]:
    """The accelerators of a deployment over several (a prefill and a decode pool, a
    frontier's accelerators) the chosen licence does not apply to; it is charged on the
    others. (A plan applies the same rule option by option: :func:`_options`.)

    ``deployments`` holds (accelerator id, engine id) pairs.

    Raises
    ------
    ScenarioError
        The licence applies to none of them: the line of the first
        (:func:`licence_problem`), which names the licences allowed there.
    """
    if licence_id is None or not deployments:
        return []
    problems = {
        acc_id: licence_problem(catalog, licence_id, acc_id, software_id)
        for acc_id, software_id in deployments
    }
    left_out = [acc_id for acc_id, problem in problems.items() if problem is not None]
    if len(left_out) == len(problems):
        first = next(iter(problems.values()))
        names = ", ".join(problems)
        raise ScenarioError(
            f"{first} (it applies to none of {names})" if len(problems) > 1 else first
        )
    return left_out


def hourly_cost(
    acc: Accelerator,
    region: Region,
    ownership: str,
    catalog: Catalog,
    inputs: CostInputs,
    licence: tuple[float, str] = (0.0, ""),
    power_w: float | None = None,
    term: str = "on-demand",
    provider: str | None = None,
) -> HourlyCost:
    """Cost of one accelerator-hour, bought (with every line) or rented (the cheapest offer).

    ``licence`` is the chosen software licence's yearly cost and its note
    (:func:`licence_usd_per_accelerator_year`), added to either; ``power_w`` the average draw
    of a bought accelerator (:func:`power_w`; default its TDP, the most it can draw);
    ``term`` the rental price compared (on-demand or reserved, :func:`tokenfab.cost.cheapest_rental`)
    and ``provider`` the one provider whose offers are compared (default: every provider).
    """
    licence_usd_per_year, licence_note = licence
    note = f"; licence: {licence_note}" if licence_note else ""
    if ownership == "rent":
        quote = cheapest_rental(catalog, acc.id, term, provider)
        software = (licence_usd_per_year + inputs.software_usd_per_accelerator_year) / 8760.0
        return HourlyCost(
            "rent",
            quote.usd_per_accelerator_hour + software,
            {"rental": quote.usd_per_accelerator_hour}
            | ({"software": software} if software else {}),
            f"{quote.rental.provider} {quote.rental.instance_type} {quote.term} "
            f"({quote.rental.as_of}, {quote.rental.location or 'location not stated'}); "
            f"not regional: the cheapest offer {f'of {quote.rental.provider}' if provider else 'anywhere'}, "
            f"whatever the region{note}",
        )
    if ownership != "buy":
        raise ScenarioError(f"ownership: {ownership!r} is not allowed here; allowed: buy, rent")
    if acc.price_usd is None:
        raise ScenarioError(
            f"ownership: {acc.id} has no sourced purchase price; use --ownership rent or add "
            "price_usd in a catalog override (--catalog DIR)"
        )
    inputs = replace(
        inputs,
        software_usd_per_accelerator_year=inputs.software_usd_per_accelerator_year
        + licence_usd_per_year,
    )
    lines = ownership_cost_from_inputs(
        inputs,
        price_usd=acc.price_usd,
        tdp_w=(acc.tdp_w or 0.0) + host_power_w(acc),  # the facility is sized for the node
        power_w=(acc.tdp_w or 0.0) + host_power_w(acc) if power_w is None else power_w,
        pue=region.pue,
        electricity_usd_per_kwh=region.electricity_usd_per_kwh,
    )
    parts = {k.removesuffix("_usd_per_hour"): float(v) for k, v in lines.lines().items()}
    return HourlyCost(
        "buy",
        float(lines.total_usd_per_hour),
        parts,
        f"{acc.price_kind} price ${acc.price_usd:,.0f} as of {acc.price_as_of} "
        f"(`tokenfab catalog accelerators --sources`){note}",
    )


def latest_api_prices(catalog: Catalog, model_id: str) -> list[ApiPrice]:
    """Each provider's latest API price row for the model, in catalog order."""
    table = catalog.table("api-prices")
    by_model = _from_table("latest api prices", table, lambda: _latest_api_prices(table))
    return list(by_model.get(model_id, ()))


def _latest_api_prices(table: Mapping[str, ApiPrice]) -> dict[str, tuple[ApiPrice, ...]]:
    """:func:`latest_api_prices` of every model of an api-prices table, by model id."""
    latest: dict[str, dict[str, ApiPrice]] = {}
    for p in table.values():
        rows = latest.setdefault(p.model_id, {})
        key = p.provider
        if key not in rows or p.effective_date > rows[key].effective_date:
            rows[key] = p
    return {model: tuple(rows.values()) for model, rows in latest.items()}


def cheapest_api(
    catalog: Catalog,
    model_id: str,
    input_tokens: float,
    output_tokens: float,
    prefix_cache_hit_rate: float = 0.0,
) -> ApiQuote | None:
    """The cheapest current API offer of the model (latest price per provider).

    The cached share of the prompt is billed at the provider's cached-input price where it
    lists one (else at the input price); output tokens include reasoning tokens, which APIs
    bill as output (:func:`tokenfab.cost.api_cost_usd_per_request`).
    """
    latest = latest_api_prices(catalog, model_id)
    if not latest:
        return None

    cached = input_tokens * prefix_cache_hit_rate

    def per_request(p: ApiPrice) -> float:
        cached_price = p.cached_input_usd_per_mtok
        return float(
            api_cost_usd_per_request(
                input_tokens,
                cached,
                output_tokens,
                p.input_usd_per_mtok,
                p.input_usd_per_mtok if cached_price is None else cached_price,
                p.output_usd_per_mtok,
            )
        )

    best = min(latest, key=per_request)
    usd = per_request(best)
    return ApiQuote(best, usd, usd / (input_tokens + output_tokens) * 1e6)


def _api(catalog: Catalog, setup: Any) -> ApiQuote | None:
    """The cheapest API for a resolved scenario, its prefix-cache hit rate applied to the API."""
    return cheapest_api(
        catalog,
        setup.model.id,
        setup.input_tokens,
        setup.output_tokens,
        setup.prefix_cache_hit_rate,
    )


def hourly_rate(scenario: Scenario, setup: Any, catalog: Catalog, inputs: CostInputs) -> HourlyRate:
    """The accelerator-hour of the scenario's ownership as a fixed part and a price per watt.

    Where the catalog cannot price it, every accelerator-hour counts the same (the sizing then
    minimises the count).
    """
    acc = setup.accelerator
    region = catalog.region(scenario.region)
    licence = licence_usd_per_accelerator_year(
        catalog, scenario.software_licence, acc.id, setup.engine.software, scenario.ownership
    )
    try:
        cost = hourly_cost(
            acc,
            region,
            scenario.ownership,
            catalog,
            inputs,
            licence,
            0.0,
            scenario.rental_term,
            scenario.rental_provider,
        )
    except (ScenarioError, CatalogError):
        return HourlyRate(1.0, 0.0)
    if scenario.ownership == "rent":
        return HourlyRate(cost.total_usd_per_hour, 0.0)
    return HourlyRate(cost.total_usd_per_hour, region.pue * region.electricity_usd_per_kwh / 1e3)


def operating_point(
    scenario: Scenario, catalog: Catalog, grid: SizingGrid | None = None
) -> OperatingPoint:
    """The one operating point of a scenario, whichever entry point asks.

    With a demand and no ``accelerators``: the cheapest deployment that carries the demand's
    peak and meets the latency targets (:func:`tokenfab.sizing.cheapest_point`). With a
    demand and ``accelerators``: the cheapest layout of that count by the same rule, at the
    batch the demand's peak reaches (:func:`tokenfab.sizing.count_point`; refused if none can
    carry it), so that plan's count given back reproduces plan's point. Without a demand:
    :func:`tokenfab.perf.operating.estimate`. ``grid``: :func:`tokenfab.sizing.sizing_grid`
    of the scenario (of its count where it fixes one).
    """
    inputs = default_cost_inputs(catalog)
    demand = scenario.tokens_per_day is not None or scenario.requests_per_second is not None
    if not demand or (scenario.accelerators is not None and scenario.ownership == "rent"):
        # the hourly rate only ranks deployments for a demand, and on a fixed count only its
        # power line can (a rent has none): skip pricing it (a tenth of a single estimate)
        return sized_point(scenario, catalog, HourlyRate(1.0, 0.0), inputs, grid)
    setup = grid.setup if grid is not None else resolve(scenario, catalog)
    return sized_point(
        scenario, catalog, hourly_rate(scenario, setup, catalog, inputs), inputs, grid
    )


def evaluate(scenario: Scenario, catalog: Catalog | None = None, kpis: bool = True) -> Estimate:
    """Operating point, accelerators for the demand, hourly cost and the eight KPIs.

    With a demand (``tokens_per_day`` -- output tokens a day -- or ``requests_per_second``)
    the deployment is the cheapest that carries the demand's peak (``peak_to_average``) and
    meets the latency targets, or the ``accelerators`` given, at the batch the peak reaches;
    the utilisation is the average demand over the installed capacity. Without one, the
    deployment is ``scenario.accelerators`` (default 1) at ``scenario.utilization`` (or the
    catalog default).

    ``kpis=False``: everything but the KPIs (see :func:`price`), for a caller that computes
    them itself (the calculator, :func:`tokenfab.pipeline.estimate_result`).
    """
    scenario = Scenario.parse(scenario)  # a mapping is validated; anything else: ScenarioError
    cat = catalog or default_catalog()
    if scenario.rental_provider is not None:  # a typo is refused, not priced as "no offer"
        check_rental_provider(cat, scenario.rental_provider)
    if scenario.prefill_accelerator is not None:  # two accelerator types: tokenfab.pools
        from tokenfab.pools import evaluate_pools

        return evaluate_pools(scenario, cat)

    if scenario.software_licence is not None:
        # a licence that does not apply is the input's error, not a price the catalog lacks
        # (which leaves the money KPIs empty below): refused before the sizing
        setup = resolve(scenario, cat)
        problem = licence_problem(
            cat, scenario.software_licence, setup.accelerator.id, setup.engine.software
        )
        if problem is not None:
            raise ScenarioError(problem)
    op = operating_point(scenario, cat)
    try:
        return price(op, scenario, cat, strict=False, kpis=kpis)
    except ScenarioError as exc:
        # performance stands on its own; say why money, energy and carbon are missing
        accelerators, utilization = _size(op, scenario, default_cost_inputs(cat))
        return Estimate(
            scenario,
            op,
            cat.region(scenario.region),
            None,
            None,
            accelerators,
            utilization,
            _api(cat, op.setup),
            str(exc),
        )


def scaled(op: OperatingPoint, accelerators: int) -> OperatingPoint:
    """The same operating point on a fleet of ``accelerators`` (whole replicas): every total
    scales, every per-accelerator and per-user figure stays."""
    if accelerators == op.accelerators:
        return op
    k = accelerators / op.accelerators
    return replace(
        op,
        accelerators=accelerators,
        replicas=accelerators // (op.accelerators // op.replicas),
        output_tok_s_total=op.output_tok_s_total * k,
        prefill_tok_s_total=op.prefill_tok_s_total * k,
        roofline_output_tok_s_total=op.roofline_output_tok_s_total * k,
        requests_per_second=op.requests_per_second * k,
    )


def _size(op: OperatingPoint, scenario: Scenario, inputs: CostInputs) -> tuple[int, float]:
    """Accelerators installed and their average utilisation for the scenario's demand.

    The operating point already carries the demand's peak (:func:`operating_point`); the
    utilisation is the average demand over its capacity.
    """
    demand = demand_output_tok_s(scenario, op.setup.output_tokens)
    if demand is None:
        return op.accelerators, scenario.utilization or inputs.default_utilization
    return op.accelerators, min(demand / op.output_tok_s_total, 1.0)


COST_FIELDS = (
    "cost_usd_per_accelerator_hour",
    "cost_usd_per_mtok_input",
    "cost_usd_per_mtok_output",
    "cost_usd_per_mtok_blended",
    "cost_usd_per_request",
    "cost_usd_per_task",
    "monthly_cost_usd",
)


def price(
    op: OperatingPoint,
    scenario: Scenario,
    catalog: Catalog,
    strict: bool = True,
    kpis: bool = True,
) -> Estimate:
    """Size, cost and KPIs of an operating point for the scenario's demand, region, ownership.

    With ``strict=False`` a missing price or rental leaves the money KPIs empty (NaN, ``null``
    in JSON) and says why in ``cost_error``; energy and carbon do not need a price.
    ``kpis=False``: the same checks, price and notes without the KPIs (``kpis`` None,
    ``kpis_left_out`` True).
    """
    region = catalog.region(scenario.region)
    inputs = default_cost_inputs(catalog)
    setup = op.setup
    acc = setup.accelerator
    accelerators, utilization = _size(op, scenario, inputs)
    op = scaled(op, accelerators)
    scale = 1.0
    cost_error = None
    licence = licence_usd_per_accelerator_year(  # an unknown licence id fails here, loudly
        catalog, scenario.software_licence, acc.id, setup.engine.software, scenario.ownership
    )
    energy_error = None
    if acc.tdp_w is None and (scenario.ownership == "rent" or acc.price_usd is None):
        # the rent is the cost, whatever the chip draws: price it, and say energy and carbon
        # are not available (zero power here only keeps compute_kpis' arithmetic finite); a
        # buy without a price fails below on the price, the reason that matters there
        avg_power_w, busy_power_w, energy_error = 0.0, 0.0, power_not_public(acc)
    else:
        avg_power_w, busy_power_w = power_w(op, inputs, utilization)
    try:
        cost: HourlyCost | None = hourly_cost(
            acc,
            region,
            scenario.ownership,
            catalog,
            inputs,
            licence,
            avg_power_w,
            scenario.rental_term,
            scenario.rental_provider,
        )
    except (ScenarioError, CatalogError) as exc:
        if strict:
            raise
        cost, cost_error = None, str(exc)
    api = _api(catalog, setup)
    if not kpis:
        return Estimate(
            scenario,
            op,
            region,
            cost,
            None,
            accelerators,
            utilization,
            api,
            cost_error,
            kpis_left_out=True,
            energy_error=energy_error,
        )
    k = compute_kpis(
        output_tok_s_total=op.output_tok_s_total * scale,
        input_tok_s_total=op.input_tok_s_total * scale,
        output_tok_s_per_user=op.output_tok_s_per_user,
        accelerators=accelerators,
        power_w=avg_power_w,
        busy_power_w=busy_power_w,
        prefill_time_share=op.prefill_time_share,
        cost_usd_per_accelerator_hour=cost.total_usd_per_hour if cost else 0.0,
        grid_co2e_g_per_kwh=region.grid_co2e_g_per_kwh,
        pue=region.pue,
        utilization=utilization,
        output_tokens=setup.output_tokens,
        steps_per_task=setup.steps_per_task,
    )
    if cost is None:
        k = replace(k, **{f: np.asarray(np.nan) for f in COST_FIELDS})
    if energy_error is not None:
        k = without_energy(k)
    return Estimate(
        scenario,
        op,
        region,
        cost,
        k,
        accelerators,
        utilization,
        api,
        cost_error,
        energy_error=energy_error,
    )


# ------------------------------------------------------------------------------------------
# Capacity planning
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Option:
    """One candidate of a plan: feasible with its estimate, or rejected with the reason."""

    accelerator: str
    region: str
    ownership: str
    estimate: Estimate | None
    reason: str | None = None
    licence: str = ""  # the base's software licence on this option (_licence_note)


def plan(
    base: Scenario,
    accelerators: list[str] | None = None,
    regions: list[str] | None = None,
    ownerships: list[str] | None = None,
    catalog: Catalog | None = None,
) -> list[Option]:
    """Search accelerators x regions x ownership for the base scenario's demand and targets.

    Each option is the deployment :func:`evaluate` gives for the same scenario (the cheapest
    that carries the demand and meets the targets, unless the base fixes ``accelerators``);
    the performance grid is computed once per accelerator and weight format (it does not
    depend on region or ownership). Returns the feasible options cheapest first (monthly
    cost), then one rejected row per accelerator, region and ownership with its own reason.

    Raises
    ------
    InfeasibleError
        No option can meet the demand and targets; the message gives the main reasons.
    """
    cat = catalog or default_catalog()
    if base.tokens_per_day is None and base.requests_per_second is None:
        raise ScenarioError(
            "tokens_per_day: a plan needs a demand: --tokens-per-day or --requests-per-second"
        )
    acc_ids = accelerators or shipping_accelerators(cat)
    region_ids = regions or [base.region]
    owners = ownerships or ["buy", "rent"]
    cat.model(base.model)  # an unknown model fails once, naming it, not once per option
    for r in region_ids:
        cat.region(r)
    if base.prefill_accelerator is not None:
        return _plan_pools(base, acc_ids, region_ids, owners, cat)
    return _ranked(
        _options(
            base,
            acc_ids,
            region_ids,
            owners,
            cat,
            lambda sc: sizing_grid(sc, cat, base.accelerators),
            lambda scen, sg: price(operating_point(scen, cat, sg), scen, cat),
            lambda sg: [(sg.setup.accelerator.id, sg.setup.engine.software)],
        ),
        "no option meets the demand and targets",
    )


def _options(
    base: Scenario,
    acc_ids: list[str],
    region_ids: list[str],
    owners: list[str],
    cat: Catalog,
    prepare: Callable[[Scenario], Any],
    estimate: Callable[[Scenario, Any], Estimate],
    deployed: Callable[[Any], list[tuple[str, str]]],
) -> tuple[list[Option], list[Option]]:
    """Every accelerator x weight format x region x ownership of a plan, as feasible options
    and one rejected row per accelerator, region and ownership no format could serve.

    ``prepare(scenario)`` runs once per accelerator and weight format (what does not depend
    on region or ownership); ``estimate(scenario, prepared)`` prices one region and
    ownership. A :class:`~tokenfab.errors.TokenfabError` from either rejects the option with
    its own reason. ``deployed(prepared)`` gives the (accelerator, engine) pairs an option
    runs on: the base's software licence is charged where it applies to one of them, and an
    option it applies to none of is planned without it (``Option.licence`` says so).

    Raises
    ------
    ScenarioError
        The base's ``software_licence`` applies to none of the candidates
        (:func:`licence_problem`, naming the licences allowed on the first).
    """
    feasible: list[Option] = []
    rejected: list[Option] = []
    lic_id = base.software_licence
    applied, left_out = False, []
    for acc_id in acc_ids:
        cat.accelerator(acc_id)
        found: list[Option] = []
        failed: list[Option] = []
        for precision in _precisions(base, acc_id, cat):
            sc = base.with_(accelerator=acc_id, precision=precision)
            try:
                prepared = prepare(sc)
            except TokenfabError as exc:
                failed += [Option(acc_id, r, o, None, str(exc)) for r in region_ids for o in owners]
                continue
            pairs = deployed(prepared)
            if lic_id is not None:
                if all(licence_problem(cat, lic_id, a, s) for a, s in pairs):
                    left_out.append(pairs[-1])
                    sc = sc.with_(software_licence=None)
                else:
                    applied = True
            for r in region_ids:
                for o in owners:
                    scen = sc.with_(region=r, ownership=o)
                    note = _licence_note(cat, lic_id, pairs, o)
                    try:
                        found.append(Option(acc_id, r, o, estimate(scen, prepared), None, note))
                    except TokenfabError as exc:
                        failed.append(Option(acc_id, r, o, None, str(exc), note))
        _sort_into(found, failed, feasible, rejected)
    if lic_id is not None and left_out and not applied:
        acc_id, software_id = left_out[0]
        names = ", ".join(dict.fromkeys(a for a, _ in left_out))
        raise ScenarioError(
            f"{licence_problem(cat, lic_id, acc_id, software_id)}"
            + (f" (it applies to none of the candidates: {names})" if len(left_out) > 1 else "")
        )
    return feasible, rejected


def _licence_note(
    cat: Catalog, licence_id: str | None, pairs: list[tuple[str, str]], ownership: str
) -> str:
    """What a plan option pays for the base's software licence on each accelerator it runs on
    (empty: none chosen)."""
    if licence_id is None:
        return ""
    notes = [
        licence_usd_per_accelerator_year(cat, licence_id, a, s, ownership, strict=False)[1]
        for a, s in pairs
    ]
    return "; ".join(dict.fromkeys(notes))


def _sort_into(
    found: list[Option], failed: list[Option], feasible: list[Option], rejected: list[Option]
) -> None:
    """One accelerator's options into the plan's lists: every option found is feasible; a
    rejected row per region and ownership no format could serve, with its own reason."""
    feasible += found
    served = {(f.region, f.ownership) for f in found}
    for f in failed:
        if (f.region, f.ownership) not in served:
            served.add((f.region, f.ownership))
            rejected.append(f)


def _ranked(options: tuple[list[Option], list[Option]], none_meets: str) -> list[Option]:
    """The feasible options cheapest a month first, then the rejected ones.

    Raises
    ------
    InfeasibleError
        No option is feasible: ``<field>: <none_meets> (<each reason once, with the
        accelerators it rejected>)`` (:func:`grouped_reasons`). The field is the one every
        reason names where they all name the same (``tpot_slo_s`` when no deployment reaches
        the TPOT target: the target is what to change, not the demand), else
        ``tokens_per_day``.
    """
    feasible, rejected = options
    feasible.sort(key=lambda opt: float(opt.estimate.kpis.monthly_cost_usd))
    if not feasible:
        found = [_FIELD.match(o.reason or "") for o in rejected]
        named = {m.group(1) for m in found if m is not None}
        field = "tokens_per_day"
        if len(named) == 1 and all(found):
            (field,) = named
            rejected = [replace(o, reason=_FIELD.sub("", o.reason or "", 1)) for o in rejected]
        raise InfeasibleError(f"{field}: {none_meets} ({grouped_reasons(rejected)})")
    return feasible + rejected


_FIELD = re.compile(r"^([a-z][a-z0-9_]*): ")
_BEST = re.compile(r"\(best ([0-9.]+(?:e[-+]?\d+)?) [a-z]+\)")


def grouped_reasons(rejected: list[Option]) -> str:
    """Each distinct reason once (its first clause), with the accelerators it rejected.

    The accelerators are named, or where a reason rejected more than half of them, counted
    with the others named: ``<reason> (all 30 accelerators)``, ``<reason> (all 30
    accelerators but groq-lpu, cerebras-wse3)``. Reasons in the order first met, joined by
    ``; ``. A model too long for the request on 30 accelerators once printed the same clause
    30 times.

    Examples
    --------
    >>> rows = [Option(a, "us", "buy", None, "too long") for a in ("h100", "b200", "mi300x")]
    >>> grouped_reasons(rows)
    'too long (all 3 accelerators)'
    >>> grouped_reasons(rows + [Option("l4", "us", "buy", None, "no fit; see docs")])
    'too long (all 4 accelerators but l4); no fit (l4)'
    >>> grouped_reasons(rows[:1] + [Option("l4", "us", "buy", None, "no fit")])
    'too long (h100); no fit (l4)'
    """
    by_reason: dict[str, list[str]] = {}
    best: dict[str, tuple[float, str, str]] = {}  # a latency target's reason: its best value
    for o in rejected:
        reason = (o.reason or "").split("; ")[0]
        m = _BEST.search(reason)
        if m:  # one target missed by several accelerators: one clause, the best value reached
            value = float(m.group(1))
            reason, label = reason[: m.start()] + "(best)" + reason[m.end() :], m.group(0)
            if reason not in best or value < best[reason][0]:
                best[reason] = (value, label, o.accelerator)
        accs = by_reason.setdefault(reason, [])
        if o.accelerator not in accs:
            accs.append(o.accelerator)
    every = list(dict.fromkeys(o.accelerator for o in rejected))
    parts = []
    for reason, accs in by_reason.items():
        if reason in best:
            _, label, acc = best[reason]
            reason = reason.replace(
                "(best)", label[:-1] + (f", on {acc})" if len(accs) > 1 else ")")
            )
        rest = [a for a in every if a not in accs]
        if len(accs) > 1 and len(accs) > len(every) / 2:
            but = f" but {', '.join(rest)}" if rest else ""
            parts.append(f"{reason} (all {plural(len(every), 'accelerator')}{but})")
        else:
            parts.append(f"{reason} ({', '.join(accs)})")
    return "; ".join(parts)


def _plan_pools(
    base: Scenario,
    acc_ids: list[str],
    region_ids: list[str],
    owners: list[str],
    cat: Catalog,
) -> list[Option]:
    """:func:`plan` with a separate prefill pool on ``base.prefill_accelerator``: each
    candidate accelerator is the decode pool's. The two pools are sized for the demand's peak
    and the latency targets (:func:`tokenfab.perf.hetero.hetero_point`, once per accelerator
    and weight format) and priced for every region and ownership
    (:func:`tokenfab.pools.evaluate_pools`); cheapest first, as :func:`plan`."""
    from tokenfab.perf.hetero import hetero_point
    from tokenfab.pools import evaluate_pools

    def priced(scen: Scenario, hp: Any) -> Estimate:
        est = evaluate_pools(scen, cat, hp)
        if est.cost is None:  # performance without a price: no plan option
            raise InfeasibleError(est.cost_error or "not priced")
        return est

    try:
        cat.accelerator(base.prefill_accelerator)
    except UnknownIdError as exc:
        raise exc.named("prefill_accelerator") from None
    return _ranked(
        _options(
            base,
            acc_ids,
            region_ids,
            owners,
            cat,
            lambda sc: hetero_point(sc, cat),
            priced,
            lambda hp: [
                (p.setup.accelerator.id, p.setup.engine.software) for p in (hp.prefill, hp.decode)
            ],
        ),
        f"no decode pool with prefill on {base.prefill_accelerator} meets the demand and targets",
    )


def shipping_accelerators(catalog: Catalog) -> list[str]:
    """The accelerators a plan considers by default: every one that ships."""
    return [a.id for a in catalog.table("accelerators").values() if a.status == "shipping"]


def plan_request(request: Any, catalog: Catalog | None = None) -> list[Option]:
    """:func:`plan` for a :class:`tokenfab.schema.PlanRequest` (or a mapping validated into
    one): a model and a demand, with optional candidate accelerators, regions, ownerships."""
    from tokenfab.schema import PlanRequest

    req = PlanRequest.parse(request)
    cat = catalog or default_catalog()
    ids = list(req.accelerator or shipping_accelerators(cat))
    return plan(req.scenario(ids[0]), ids, list(req.region), list(req.ownership), cat)


def _precisions(base: Scenario, acc_id: str, catalog: Catalog) -> list[str | None]:
    """Weight formats a plan compares: the one given; else the model's native one and, where
    that is 16-bit and the accelerator has an FP8 peak, FP8 (as serving stacks commonly run
    70B-class models)."""
    if base.precision is not None:
        return [base.precision]
    model = catalog.model(base.model)
    acc = catalog.accelerator(acc_id)
    if model.native_precision in ("bf16", "fp16") and acc.fp8_dense_tflops:
        return [None, "fp8"]
    return [None]


def plan_precision_note(
    scenario: Scenario, precision: str, usd_per_mtok_blended: float | None, catalog: Catalog
) -> str | None:
    """The line an estimate shows when plan (and breakeven) would serve the same scenario in
    another weight format than estimate's default, else None.

    ``estimate`` without ``precision`` keeps the model's native format (``precision`` is what
    it ran, ``usd_per_mtok_blended`` its cost [USD per 1M tokens]); ``plan`` and
    ``breakeven`` weigh the native format and, for a 16-bit model on an accelerator with an
    FP8 peak, FP8 (:func:`_precisions`), and keep the cheaper deployment that meets the
    targets. For the same demand the cheaper month is the cheaper token, so the two are
    compared per token. None where the format was given, no other is weighed, the other is
    infeasible or not priced, or the native one is the cheaper.
    """
    if scenario.precision is not None or usd_per_mtok_blended is None:
        return None
    if not math.isfinite(usd_per_mtok_blended):
        return None
    best: tuple[float, str] | None = None
    for other in _precisions(scenario, scenario.accelerator, catalog):
        if other is None or other == precision:
            continue
        try:
            est = evaluate(scenario.with_(precision=other), catalog)
        except TokenfabError:  # plan rejects it too
            continue
        if est.kpis is None or est.cost is None:
            continue
        usd = float(est.kpis.cost_usd_per_mtok_blended)
        if math.isfinite(usd) and usd < usd_per_mtok_blended and (best is None or usd < best[0]):
            best = (usd, other)
    if best is None:
        return None
    usd, other = best
    native = catalog.model(scenario.model).native_precision
    return (
        f"precision: {precision} weights, {scenario.model}'s native format (estimate's default); "
        f"plan and breakeven weigh {other} too and would serve this scenario in {other}: "
        f"${usd:.3g} against ${usd_per_mtok_blended:.3g} per 1M tokens blended (set precision "
        f"{other} to estimate it)"
        if precision == native
        else f"precision: {precision} weights (estimate's default: {scenario.model}'s native "
        f"{native} is not run here); plan and breakeven would serve this scenario in {other}: "
        f"${usd:.3g} against ${usd_per_mtok_blended:.3g} per 1M tokens blended (set precision "
        f"{other} to estimate it)"
    )


def options_table(options: list[Option]) -> list[dict[str, Any]]:
    """Flat rows for --json/--csv: KPIs of feasible options, reasons of rejected ones."""
    rows = []
    for o in options:
        row: dict[str, Any] = {
            "accelerator": o.accelerator,
            "region": o.region,
            "ownership": o.ownership,
        }
        # every row has every key (null where a rejected option has no figure), so JSON and
        # CSV consumers see one schema
        d = o.estimate.as_dict() if o.estimate is not None else {}
        row.update({k: d.get(k) for k in PLAN_KEYS})
        row["feasible"] = o.estimate is not None
        row["reason"] = "" if o.estimate is not None else o.reason
        row["licence"] = o.licence
        rows.append(row)
    return rows


PLAN_KEYS = (
    "precision",
    "prefill_accelerator",
    "prefill_accelerators",
    "decode_accelerators",
    "calibrated",
    "tensor_parallel",
    "pipeline_parallel",
    "expert_parallel",
    "attention_data_parallel",
    "batch_size",
    "accelerators_needed",
    "utilization",
    "cost_usd_per_accelerator_hour",
    "cost_usd_per_mtok_input",
    "cost_usd_per_mtok_output",
    "cost_usd_per_mtok_blended",
    "cost_usd_per_request",
    "monthly_cost_usd",
    "output_tok_s_per_user",
    "ttft_s",
    "tpot_s",
    "tokens_per_joule",
    "energy_kwh_per_month",
    "co2e_kg_per_month",
    "co2e_g_per_mtok",
    "energy_error",
    "api_provider",
    "api_usd_per_mtok_blended",
)


__all__ = [
    "ApiQuote",
    "Estimate",
    "HourlyCost",
    "Option",
    "cheapest_api",
    "evaluate",
    "hourly_cost",
    "options_table",
    "plan",
    "plan_request",
    "price",
    "shipping_accelerators",
]
