"""Year-by-year projection of one deployment: buy, rent or an API over hardware generations.

A scenario's estimate fixes year 0. Each later year the demand grows, API and rental prices
fall, electricity changes, bought accelerators depreciate and retire, and new capacity is
bought on the next generation once it ships. Every assumption is a named, sourced, editable
series (the ``projection:`` block of a scenario file, :class:`ProjectionInputs`); the defaults
come from the catalogs with their sources.

Generation gains come from the model: the successor's operating point is estimated for the
same scenario (its tokens per joule and per dollar follow). The vendors' roadmap claims (seed
002: Blackwell 35x lower cost per token than Hopper; Rubin 2-10x over Blackwell) are a named
alternative path, ``generation_path: vendor-claims``.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Annotated, Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from tokenfab.catalog import Accelerator, Catalog, default_catalog
from tokenfab.cost import (
    HOST_IDLE_SHARE_OF_MAX,
    average_power_w,
    capital_recovery_factor,
    default_cost_inputs,
    it_power_w,
)
from tokenfab.errors import (
    CatalogError,
    InfeasibleError,
    ScenarioError,
    TokenfabError,
    UnknownIdError,
)
from tokenfab.hostpower import host_power_w
from tokenfab.scenario import (
    MAX_TOKENS_PER_DAY,
    Distribution,
    InputRange,
    Scenario,
    describe_error,
    first_error,
)
from tokenfab.words import plural

HOURS_PER_YEAR = 8760.0
DAYS_PER_YEAR = 365.0
SECONDS_PER_DAY = 86_400.0
TOKENS_PER_MTOK = 1e6
MAX_YEARS = 30
OPTIONS = ("buy", "rent", "api")

GenerationPath = Literal["model", "vendor-claims"]

# a rate a year: one number for every year, or one number a year
Rate = Annotated[float, Field(gt=-1, le=100, allow_inf_nan=False)]
PriceRate = Annotated[float, Field(gt=-1, lt=1, allow_inf_nan=False)]
"""A price's fall a year: below 1, since a price cannot fall by 100 % or more."""


# ------------------------------------------------------------------------------------------
# Pure functions
# ------------------------------------------------------------------------------------------


def index_path(
    rate_per_year: ArrayLike, years: int, field: str = "projection"
) -> NDArray[np.float64]:
    """Index of a quantity that changes by a rate each year, 1 in year 0 [-].

    Parameters
    ----------
    rate_per_year : array_like
        Change a year [1/year], > -1: one value for every year, or one per year (year ``t``
        moves by ``rate[t - 1]``; a list has ``years - 1`` values).
    years : int
        Years in the path, ≥ 1.
    field : str
        The input's name, for the error message (``projection.demand_growth_per_year``).

    Returns
    -------
    numpy.ndarray
        :math:`I_0 = 1,\\; I_t = \\prod_{k=1}^{t} (1 + r_k)`, shape ``(years,)``.

    Examples
    --------
    Demand growing 10 % a year, and a price falling 50 % a year (rate -0.5):

    >>> index_path(0.1, 3).round(4).tolist()
    [1.0, 1.1, 1.21]
    >>> index_path(-0.5, 3).tolist()
    [1.0, 0.5, 0.25]

    Raises
    ------
    ScenarioError
        A list of other than ``years - 1`` values, or a rate at or below -1; the message names
        ``field``.
    """
    r = np.asarray(rate_per_year, float)
    if r.ndim == 0:
        r = np.full(max(years - 1, 0), float(r))
    if r.size != years - 1:  # more were dropped without a word
        raise ScenarioError(
            f"{field}: {plural(r.size, 'value')} for {plural(years, 'year')}; give "
            f"{years - 1} (one per year after year 0) or one number"
        )
    if np.any(r <= -1):
        raise ScenarioError(f"{field}: a yearly rate must be above -1 (-100 %)")
    return np.concatenate([[1.0], np.cumprod(1.0 + r)])


def bought_fleet(
    demand_tokens_per_day: ArrayLike,
    on_sale: Sequence[int],
    life_years: int,
    size: Callable[[int, float], Sizing],
) -> tuple[NDArray[np.int64], NDArray[np.int64], list[list[tuple[int, int, Sizing | None, float]]]]:
    """Accelerators bought each year, those installed, and the demand each generation serves.

    Parameters
    ----------
    demand_tokens_per_day : array_like
        Output tokens a day to serve each year [token/day], shape ``(T,)``.
    on_sale : sequence of int
        The generation bought in year ``t`` (an index ``size`` takes), length ``T``.
    life_years : int
        Years an accelerator serves before it retires (its useful life), ≥ 1.
    size : callable
        ``size(generation, tokens_per_day)``: plan's fleet for that demand on that generation
        (:class:`Sizing`; :class:`Sizer` in :func:`project`).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray, list)
        Bought ``b[t]``; the cohort matrix ``n[t, k]`` (accelerators bought in year ``k``
        still installed in year ``t``), integers; and for each year, each generation serving
        as ``(generation, installed, sizing, tokens_per_day)``: the plan sizing whose
        operating point it runs at (None: it serves nothing) and the demand it carries.

    Notes
    -----
    Each year the cohorts bought in the last ``life_years`` years serve. A generation no longer
    on sale, ``n_h`` installed, carries the share of the demand its count is of plan's fleet
    for the whole demand on it, at plan's operating point for that demand (the same load per
    accelerator, so the same capacity and draw per accelerator):

    .. math:: D_h = \\min\\Big(D_t - \\sum_{\\text{older}} D,\\; D_t\\,\\frac{n_h}{N_h(D_t)}\\Big)

    The generation on sale carries the rest, :math:`D_g = D_t - \\sum_h D_h`, and is
    installed up to plan's count for it: :math:`b_t = \\max(0, N_g(D_g) - n_g)` with
    :math:`n_g` its own cohorts still in service, so that with one generation each year's
    fleet is plan's for the year's demand (or what is still in service, if more).

    Examples
    --------
    Plan's fleet is one accelerator per 100 (generation 0) or 250 (generation 1) tokens a
    day. Year 0: 1,000 -> 10. Year 1: 2,000, the 10 of generation 0 are half of its 20, so they
    carry 1,000; the rest, 1,000, takes 4 of generation 1. Year 2: 4,000; the 10 are a quarter
    of 40: 1,000; 3,000 takes 12, 4 installed, 8 bought.

    >>> cap = {0: 100.0, 1: 250.0}
    >>> def size(g, d):
    ...     return Sizing(math.ceil(d / cap[g]), d, 1.0)
    >>> b, n, _ = bought_fleet([1000.0, 2000.0, 4000.0], [0, 1, 1], 5, size)
    >>> b.tolist(), n[2].tolist()
    ([10, 4, 8], [10, 4, 8])
    """
    demand = np.asarray(demand_tokens_per_day, float)
    t_n = demand.size
    if life_years < 1:
        raise ScenarioError(f"useful_life_years: {life_years} must be at least 1 year")
    bought = np.zeros(t_n, np.int64)
    cohorts = np.zeros((t_n, t_n), np.int64)
    serving: list[list[tuple[int, int, Sizing | None, float]]] = []
    for t in range(t_n):
        alive = [k for k in range(t) if t - k < life_years]
        installed: dict[int, int] = {}
        for k in alive:
            if bought[k]:
                installed[on_sale[k]] = installed.get(on_sale[k], 0) + int(bought[k])
        new = on_sale[t]
        left = float(demand[t])
        year: list[tuple[int, int, Sizing | None, float]] = []
        for g in sorted(installed):  # the older generation first
            if g == new:
                continue
            s = size(g, float(demand[t]))
            share = min(left, float(demand[t]) * installed[g] / s.accelerators)
            year.append((g, installed[g], s, share))
            left -= share
        s_new = size(new, left) if left > 0 else None
        need = 0 if s_new is None else s_new.accelerators
        bought[t] = max(0, need - installed.get(new, 0))
        count = installed.get(new, 0) + int(bought[t])
        if count:
            year.append((new, count, s_new, max(left, 0.0)))
        serving.append(year)
        for k in [*alive, t]:
            cohorts[t, k] = bought[k]
    return bought, cohorts, serving


def crossing_years(cum_a: ArrayLike, cum_b: ArrayLike) -> list[float]:
    """When the order of two options' cumulative costs changes [years from the start].

    Parameters
    ----------
    cum_a, cum_b : array_like
        Cumulative cost at the end of each year [USD], shape ``(T,)``.

    Returns
    -------
    list of float
        Each time the order changes, interpolated linearly within the year (the cumulative
        cost moves linearly inside a year); empty if it never changes.

    Examples
    --------
    Buying costs 100 up front then 10 a year; renting 40 a year: the sums meet when
    100 + 10 t = 40 t, after 3.33 years.

    >>> [round(t, 3) for t in crossing_years([110, 120, 130, 140], [40, 80, 120, 160])]
    [3.333]
    """
    d = np.asarray(cum_a, float) - np.asarray(cum_b, float)
    found = []
    last = 0
    for t in range(d.size):
        if d[t] == 0:
            continue
        if last and np.sign(d[t]) != np.sign(d[last - 1]):
            found.append(float(last + d[last - 1] / (d[last - 1] - d[t]) * (t + 1 - last)))
        last = t + 1
    return found


# ------------------------------------------------------------------------------------------
# Assumptions: the `projection:` block
# ------------------------------------------------------------------------------------------


RATES = (
    "demand_growth_per_year",
    "api_price_decline_per_year",
    "rental_price_decline_per_year",
    "electricity_change_per_year",
)
"""The yearly rates of a projection: the assumptions a fan chart samples."""
RATE_RANGES = {
    "demand_growth_per_year": InputRange(-1.0, 100.0, low_open=True),
    "api_price_decline_per_year": InputRange(-1.0, 1.0, low_open=True, high_open=True),
    "rental_price_decline_per_year": InputRange(-1.0, 1.0, low_open=True, high_open=True),
    "electricity_change_per_year": InputRange(-1.0, 100.0, low_open=True),
}
"""The values each yearly rate may take (a price cannot fall by 100 % or more)."""
MAX_FAN_SAMPLES = 10_000
"""Most samples of a projection fan: each re-runs the yearly model (about a millisecond; a
later year's demand not sized before adds a sizing, about 2 ms, see :data:`SNAP_STEP`)."""


class ProjectionInputs(BaseModel):
    """The editable assumptions of a projection (a scenario file's ``projection:`` block).

    Each rate is one number a year, or a list with one number for each year after year 0;
    a field left out takes its sourced default (:func:`default_assumptions`).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    years: Annotated[int, Field(ge=1, le=MAX_YEARS)] = Field(
        5, description="years to project, year 0 included [1 to 30]"
    )
    start_year: Annotated[int, Field(ge=2000, le=2100)] | None = Field(
        None, description="calendar year of year 0 (default: this year) [2000 to 2100]"
    )
    demand_growth_per_year: Rate | list[Rate] | None = Field(
        None, description="growth of the demand a year [1/year, above -1]"
    )
    api_price_decline_per_year: PriceRate | list[PriceRate] | None = Field(
        None, description="fall of the API price a year [1/year, below 1; negative: a rise]"
    )
    rental_price_decline_per_year: PriceRate | list[PriceRate] | None = Field(
        None, description="fall of the rental price a year [1/year, below 1]"
    )
    electricity_change_per_year: Rate | list[Rate] | None = Field(
        None, description="change of the electricity price a year [1/year, above -1]"
    )
    successor: str | None = Field(
        None,
        description="accelerator id bought once it ships, or 'none' (default: the vendor's "
        "next family in the catalog with a price)",
    )
    generation_path: GenerationPath = Field(
        "model",
        description="model: the successor's modelled throughput and cost; vendor-claims: "
        "its cost per token from the vendor's claim (seed 002)",
    )

    distributions: dict[str, Any] | None = Field(
        None,
        description="uncertainty of the yearly rates for a fan (project --samples): rate: "
        "{dist: uniform, low: .., high: ..} as in a distributions: block (default: sourced "
        "ranges, see default_fan)",
    )

    @field_validator("distributions", mode="after")
    @classmethod
    def _rate_distributions(cls, v: Any) -> Any:
        if v is None:
            return v
        from tokenfab.scenario import check_support, parse_distribution

        out = {}
        for key, spec in v.items():
            if key not in RATES:
                raise ValueError(f"{key!r} is not a yearly rate; allowed: {', '.join(RATES)}")
            d = parse_distribution(key, spec)
            check_support(key, d, RATE_RANGES[key])
            out[key] = d
        return out

    @classmethod
    def parse(cls, data: dict[str, Any], where: str = "") -> ProjectionInputs:
        """Validate a ``projection:`` block; a problem names the file line and the field."""
        lines = data.get("__lines__", {})
        data = {k: v for k, v in data.items() if k != "__lines__"}
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            err = first_error(exc)
            field_name = str(err["loc"][0]) if err["loc"] else ""
            line = f":{lines[field_name]}" if field_name in lines else ""
            prefix = f"{where}{line}: " if where else ""
            text = describe_error(err, cls) if err["loc"] else err["msg"]
            raise ScenarioError(
                f"{prefix}projection.{text.removeprefix('Value error, ')}"
            ) from None


@dataclass(frozen=True)
class Assumption:
    """One named series of the projection, with its unit and where it comes from."""

    name: str
    value: float | list[float] | str | None
    unit: str
    source: str

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "unit": self.unit, "source": self.source}


# workload -> market segment (data/market.yaml), for the default demand growth and price chain
_SEGMENT_OF_WORKLOAD = {
    "chat": "chat",
    "roleplay": "chat",
    "rag": "api",
    "api-pipeline": "api",
    "batch": "api",
    "coding-agent": "agents",
    "reasoning": "reasoning",
}

ELECTRICITY_CHANGE_PER_YEAR = 0.02
ELECTRICITY_SOURCE = (
    "EIA Short-Term Energy Outlook, January 2025: the 2025 average US residential electricity "
    "price 2 % above 2024 (about flat after inflation), https://www.eia.gov/outlooks/steo/ ; "
    "applied to every region (WEAK: one US forecast year)"
)


def pooled_decline_per_year(log_ratios: list[float], years: list[float]) -> float:
    """Yearly fall of prices from several offers' log price changes, pooled by time [1/year].

    :math:`d = 1 - \\exp(\\sum_i \\ln(p_{2,i}/p_{1,i}) / \\sum_i \\Delta t_i)`: the rate of one
    exponential path through all the offers' changes, each weighted by the years it spans.

    >>> round(pooled_decline_per_year([np.log(0.5)], [3.0]), 4)  # 1 - 0.5 ** (1/3)
    0.2063
    >>> # a halving over 3 years and +57 %/year over 0.47 years: 1 - exp((ln 0.5 + 0.47 ln 1.57)
    >>> # / 3.47) = 0.1295, where the mean of the two annualised rates would be -0.18 (a rise)
    >>> round(pooled_decline_per_year([np.log(0.5), 0.47 * np.log(1.57)], [3.0, 0.47]), 4)
    0.1295
    """
    return float(1.0 - np.exp(np.sum(log_ratios) / np.sum(years)))


def rental_decline_from_history(catalog: Catalog) -> tuple[float, str]:
    """Yearly fall of rental prices fitted to the catalog's price history [1/year], and why.

    The first and last rows of each offer (provider, instance type, location) at different
    dates give a log price change :math:`\\ln(p_2 / p_1)` over :math:`\\Delta t` years; the
    offers are pooled by time, :math:`d = 1 - \\exp(\\sum \\ln(p_2/p_1) / \\sum \\Delta t)`
    (:func:`pooled_decline_per_year`), so a pair a few months apart weighs by its months and
    cannot set the rate alone, as a mean of per-pair annualised rates would let it.
    """
    groups: dict[tuple[Any, ...], list[Any]] = {}
    for r in catalog.table("rentals").values():
        if r.on_demand_usd_per_accelerator_hour is None:
            continue
        groups.setdefault((r.provider, r.instance_type, r.location), []).append(r)
    pairs = []
    for rows in groups.values():
        rows = sorted(rows, key=lambda r: r.as_of)
        if len(rows) >= 2 and rows[0].as_of != rows[-1].as_of:
            first, last = rows[0], rows[-1]
            dt = (last.as_of - first.as_of).days / 365.25
            ratio = (
                last.on_demand_usd_per_accelerator_hour / first.on_demand_usd_per_accelerator_hour
            )
            pairs.append((float(np.log(ratio)), dt, f"{first.id} -> {last.id}"))
    if not pairs:
        return 0.0, "assumed: no rental price history in the catalog; rental prices held flat"
    d = pooled_decline_per_year([p[0] for p in pairs], [p[1] for p in pairs])
    names = ", ".join(p[2] for p in pairs)
    return d, (
        f"fitted to the rentals catalog's price history ({names}, on-demand, as_of dates; "
        f"WEAK: {len(pairs)} offer{'s' if len(pairs) > 1 else ''})"
    )


def successor_candidates(acc: Accelerator, catalog: Catalog, ownership: str) -> list[Accelerator]:
    """The vendor's later families in the catalog that can be priced for the ownership, in the
    order a default successor is taken from them.

    Same vendor and category, a later ``release_year``, another family, shipping or
    announced; with a purchase price (buy) or a rental (rent). The earliest release first,
    then the highest memory bandwidth (the flagship of that year).
    """
    rented = {r.accelerator_id for r in catalog.table("rentals").values()}
    found = []
    for other in catalog.table("accelerators").values():
        if (
            other.vendor == acc.vendor
            and other.category == acc.category
            and other.family != acc.family
            and other.release_year is not None
            and acc.release_year is not None
            and other.release_year > acc.release_year
            and (other.price_usd is not None if ownership == "buy" else other.id in rented)
        ):
            found.append(other)
    return sorted(found, key=lambda a: (a.release_year, -(a.memory_bandwidth_tb_s or 0), a.id))


def successor_of(acc: Accelerator, catalog: Catalog, ownership: str) -> Accelerator | None:
    """The first of :func:`successor_candidates` (None when there is none), whether or not it
    can serve a given scenario (:func:`serving_successor` checks that)."""
    found = successor_candidates(acc, catalog, ownership)
    return found[0] if found else None


def serving_successor(scenario: Scenario, catalog: Catalog) -> tuple[Accelerator | None, list[str]]:
    """The default successor: the first of :func:`successor_candidates` that can serve the
    scenario within its targets (:func:`successor_rates` estimates it), and why each one
    before it cannot (``"l40s: ttft_slo_s: no deployment reaches ..."``).

    A successor the user names is not searched for: one that cannot serve the scenario is
    refused (:func:`project`).
    """
    acc = catalog.accelerator(scenario.accelerator)
    skipped: list[str] = []
    for other in successor_candidates(acc, catalog, scenario.ownership):
        try:
            successor_rates(scenario, other.id, catalog)
        except TokenfabError as exc:
            skipped.append(f"{other.id}: {exc}")
            continue
        return other, skipped
    return None, skipped


def default_assumptions(
    scenario: Scenario, inputs: ProjectionInputs, catalog: Catalog
) -> dict[str, Assumption]:
    """Every assumption of the projection, given or defaulted, each with its source."""
    from tokenfab.market import chain_decline, load_market_data

    data = load_market_data()
    segment = _SEGMENT_OF_WORKLOAD.get(scenario.workload or "chat", "chat")
    out: dict[str, Assumption] = {}

    def given(name: str, unit: str) -> Assumption | None:
        v = getattr(inputs, name)
        return None if v is None else Assumption(name, v, unit, "given in the scenario")

    growth = data.scenarios["jevons"].volume_growth_per_year
    out["demand_growth_per_year"] = given("demand_growth_per_year", "1/year") or Assumption(
        "demand_growth_per_year",
        float(growth[segment]),
        "1/year",
        f"market.yaml scenario 'jevons', segment {segment!r} (workload "
        f"{scenario.workload or 'chat'}): seed 001's adoption multipliers, tempered (a "
        "tokenfab assumption)",
    )
    chain = data.segments[segment].price_chain
    d, r2 = chain_decline(chain, catalog)
    out["api_price_decline_per_year"] = given("api_price_decline_per_year", "1/year") or (
        Assumption(
            "api_price_decline_per_year",
            round(d, 4),
            "1/year",
            f"fitted to the API catalog's price chain {chain!r} (market.yaml; R2 {r2:.2f}): "
            "list prices of successive models of one tier",
        )
    )
    rd, why = rental_decline_from_history(catalog)
    out["rental_price_decline_per_year"] = given(
        "rental_price_decline_per_year", "1/year"
    ) or Assumption("rental_price_decline_per_year", round(rd, 4), "1/year", why)
    out["electricity_change_per_year"] = given(
        "electricity_change_per_year", "1/year"
    ) or Assumption(
        "electricity_change_per_year", ELECTRICITY_CHANGE_PER_YEAR, "1/year", ELECTRICITY_SOURCE
    )
    cost = default_cost_inputs(catalog)
    out["useful_life_years"] = Assumption(
        "useful_life_years",
        cost.useful_life_years,
        "years",
        "cost_assumptions.csv useful-life-years (bought accelerators retire after it and are "
        "replaced; their capital is charged over it as an annuity, as estimate charges it)",
    )
    out["cost_of_capital_per_year"] = Assumption(
        "cost_of_capital_per_year",
        cost.cost_of_capital_per_year,
        "1/year",
        "cost_assumptions.csv cost-of-capital: the rate of the capital annuity in the buy cost "
        "and $/Mtok (capital recovery factor over the useful life, tokenfab.cost, as estimate); "
        "cash is not discounted",
    )
    acc = catalog.accelerator(scenario.accelerator)
    if inputs.successor is not None:
        succ = inputs.successor
        source = "given in the scenario"
    else:
        nxt, skipped = serving_successor(scenario, catalog)
        succ = nxt.id if nxt else "none"
        source = (
            f"accelerators catalog: {acc.vendor}'s next family after {acc.family} with a "
            + ("purchase price" if scenario.ownership == "buy" else "rental")
            + " that serves the scenario within its targets"
            + (f" ({nxt.family}, released {nxt.release_year})" if nxt else ": none")
            + "".join(f"; skipped {why}" for why in skipped)
        )
    out["successor"] = Assumption("successor", succ, "accelerator id", source)
    out["generation_path"] = Assumption(
        "generation_path",
        inputs.generation_path,
        "-",
        "the model's estimate on the successor"
        if inputs.generation_path == "model"
        else "vendor roadmap claims (seed 002, see vendor_claim)",
    )
    return out


# vendor claims of cost per token between families (seed 002), for the alternative path
VENDOR_CLAIMS: dict[tuple[str, str], tuple[float, str]] = {
    ("hopper", "blackwell"): (
        35.0,
        "seed 002: GB300 NVL72 '35x lower cost per token' than Hopper (NVIDIA, SemiAnalysis "
        "InferenceMAX); applied to Blackwell",
    ),
    ("hopper", "blackwell-ultra"): (
        35.0,
        "seed 002: GB300 NVL72 '35x lower cost per token' than Hopper (NVIDIA, SemiAnalysis "
        "InferenceMAX)",
    ),
    ("blackwell", "rubin"): (
        math.sqrt(2.0 * 10.0),
        "seed 002: Vera Rubin '2-10x over Blackwell across tiers' (NVIDIA); geometric middle 4.5",
    ),
    ("blackwell-ultra", "rubin"): (
        math.sqrt(2.0 * 10.0),
        "seed 002: Vera Rubin '2-10x over Blackwell across tiers' (NVIDIA); geometric middle 4.5",
    ),
}


# ------------------------------------------------------------------------------------------
# One generation's rates from the model
# ------------------------------------------------------------------------------------------


SNAP_STEP = 1.01
"""A fan sample's demand is sized at the next point of a log grid of this ratio above it
(:class:`Sizer`), unless it is a demand sized exactly before (the deterministic path's):
a sample's fleet is plan's for at most 1 % more than its demand, and the fan sizes a few
hundred demands, not one per sample and year (10,000 samples of Llama 3.1 70B on H100 at 1e8
tokens a day growing 1.0 +/- its spread a year: 377 sizings)."""


@dataclass(frozen=True)
class PoolSizing:
    """One pool of a fleet with a separate prefill pool (:func:`pooled_sizing`)."""

    accelerators: int
    output_tok_s: float  # what the pool alone can carry [output tok/s]
    busy_power_w: float  # IT draw of one of its accelerators serving (host included) [W]
    idle_power_w: float  # IT draw of one of its accelerators idle (host included) [W]


@dataclass(frozen=True)
class Sizing:
    """Plan's fleet for one demand on one generation, at its operating point."""

    accelerators: int
    output_tok_s: float  # what the fleet carries at the batch the demand's peak reaches
    busy_power_w: float  # IT draw of one accelerator serving at that point (host included)
    # a separate prefill pool: the prefill and the decode pool, each busy at its own
    # utilisation (empty: one accelerator type)
    pools: tuple[PoolSizing, ...] = ()

    @property
    def per_accelerator_tok_s(self) -> float:
        return self.output_tok_s / self.accelerators

    def scaled(self, throughput: float, busy: float) -> Sizing:
        """The same fleet carrying ``throughput`` times as much at ``busy`` times the draw
        (a fan sample's year-0 scales), each pool alike."""
        return Sizing(
            self.accelerators,
            self.output_tok_s * throughput,
            self.busy_power_w * busy,
            tuple(
                replace(
                    p, output_tok_s=p.output_tok_s * throughput, busy_power_w=p.busy_power_w * busy
                )
                for p in self.pools
            ),
        )

    def fleet_power_w(self, count: float, served_tok_s: float, idle_power_w: float) -> float:
        """Average IT draw [W] of ``count`` accelerators of this sizing serving
        ``served_tok_s`` output tokens a second: busy at the point a share ``u`` of the time,
        idle the rest (:func:`tokenfab.cost.average_power_w`), ``u`` = served / capacity.

        With a separate prefill pool each pool has its own ``u`` (served over that pool's
        capacity, the fleet split between the pools as this sizing splits it) and its own
        draws, as :func:`tokenfab.pools.evaluate_pools` prices them; one ``u`` over the
        averaged pools put year 0's buy cost 0.14 % above estimate's (Llama 3.1 70B FP8,
        decode B200, prefill H100, 1e9 tokens a day).
        """
        if not self.pools:
            c = count * self.per_accelerator_tok_s
            u = min(1.0, served_tok_s / c) if c > 0 else 0.0
            return count * float(average_power_w(self.busy_power_w, idle_power_w, u))
        watts = 0.0
        for p in self.pools:
            k = count * p.accelerators / self.accelerators
            c = k * p.output_tok_s / p.accelerators
            u = min(1.0, served_tok_s / c) if c > 0 else 0.0
            watts += k * float(average_power_w(p.busy_power_w, p.idle_power_w, u))
        return watts


class Sizer:
    """Plan's sizing of one generation for any demand, memoised: ``size(tokens_per_day)``.

    The deployment ``plan`` and ``estimate`` install for that many output tokens a day (same
    model, targets, peak_to_average, region and ownership; a projection keeps one a bought
    and one a rented fleet, :attr:`GenerationRates.rent_size`, as plan ranks them apart): one :func:`tokenfab.sizing.
    sizing_grid`, then :func:`tokenfab.sizing.cheapest_point` per demand, ranked at the
    scenario's hourly rate (:func:`tokenfab.planning.hourly_rate`) -- ``operating_point``'s
    path, so that ``estimate --tokens-per-day D`` installs the same count. A fixed
    ``accelerators`` holds for year 0 only (its estimate, :meth:`seed`); later years are sized.
    With a separate prefill pool, :func:`tokenfab.planning.evaluate` of the two pools (plan's
    ``hetero_point``), their counts summed and their busy draws averaged by count.

    ``snap=True`` (a fan sample): a demand within 1e-9 of one sized exactly is that one;
    any other is sized at the next point above it of a log grid of ratio :data:`SNAP_STEP`.
    """

    def __init__(self, scenario: Scenario, catalog: Catalog) -> None:
        self.scenario = scenario.with_(accelerators=None, requests_per_second=None)
        self.catalog = catalog
        self._cache: dict[float, Sizing] = {}
        self._exact: list[float] = []
        self._grid: Any = None

    def seed(self, tokens_per_day: float, sizing: Sizing) -> None:
        """Take ``sizing`` for that demand (year 0: the estimate's own deployment)."""
        self._cache[tokens_per_day] = sizing
        bisect.insort(self._exact, tokens_per_day)

    def _key(self, tokens_per_day: float, snap: bool) -> float:
        if not snap or tokens_per_day in self._cache:
            return tokens_per_day
        i = bisect.bisect_left(self._exact, tokens_per_day)
        for j in (i - 1, i):
            if 0 <= j < len(self._exact) and math.isclose(
                self._exact[j], tokens_per_day, rel_tol=1e-9
            ):
                return self._exact[j]
        return SNAP_STEP ** math.ceil(math.log(tokens_per_day) / math.log(SNAP_STEP) - 1e-9)

    def __call__(self, tokens_per_day: float, snap: bool = False) -> Sizing:
        key = self._key(tokens_per_day, snap)
        found = self._cache.get(key)
        if found is None:
            found = self._size(key)
            self._cache[key] = found
            if not snap:
                bisect.insort(self._exact, key)
        return found

    def _size(self, tokens_per_day: float) -> Sizing:
        from tokenfab.planning import evaluate, hourly_rate
        from tokenfab.sizing import cheapest_point, sizing_grid

        sc = self.scenario
        if sc.prefill_accelerator is not None:
            return pooled_sizing(
                evaluate(sc.with_(tokens_per_day=tokens_per_day), self.catalog), self.catalog
            )
        if self._grid is None:
            sg = sizing_grid(sc, self.catalog)
            inputs = default_cost_inputs(self.catalog)
            self._grid = (sg, inputs, hourly_rate(sc, sg.setup, self.catalog, inputs))
        sg, inputs, rate = self._grid
        op = cheapest_point(sg, tokens_per_day / SECONDS_PER_DAY, sc.peak_to_average, rate, inputs)
        return point_sizing(op, inputs)


class ClaimedSizer:
    """A successor carrying ``factor`` times what the current generation carries (the vendor
    path): the current generation's sizing for the demand over ``factor``, its accelerators
    each carrying ``factor`` times as much at the successor's own busy draw."""

    def __init__(self, current: Sizer, factor: float, busy_power_w: float) -> None:
        self.current, self.factor, self.busy_power_w = current, factor, busy_power_w

    def __call__(self, tokens_per_day: float, snap: bool = False) -> Sizing:
        s = self.current(tokens_per_day / self.factor, snap)
        return Sizing(s.accelerators, s.output_tok_s * self.factor, self.busy_power_w)


def point_sizing(op: Any, inputs: Any) -> Sizing:
    """:class:`Sizing` of one accelerator type's operating point: its count, what it carries,
    and one accelerator's serving draw with its host's (:func:`tokenfab.planning.power_w`,
    :func:`tokenfab.cost.it_power_w`; NaN where the board's power is not public)."""
    from tokenfab.planning import power_w

    acc = op.setup.accelerator
    busy = math.nan
    if acc.tdp_w is not None:
        board = power_w(op, inputs, 1.0)[1]
        busy = float(it_power_w(board, acc.tdp_w, host_power_w(acc)))
    return Sizing(op.accelerators, float(op.output_tok_s_total), busy)


def pooled_sizing(est: Any, catalog: Catalog) -> Sizing:
    """:class:`Sizing` of a deployment with a separate prefill pool: both pools' accelerators,
    what the deployment carries, their serving draws with their hosts' averaged by count, and
    each pool's count, capacity and draws (:class:`PoolSizing`) for its own utilisation."""
    pools = est.pools
    parts = (pools.prefill, pools.decode)
    capacity = (
        pools.point.prefill_capacity_output_tok_s,
        pools.point.decode_capacity_output_tok_s,
    )
    inputs = default_cost_inputs(catalog)
    each = []
    for p, c in zip(parts, capacity, strict=True):
        acc = p.accelerator
        if acc.tdp_w is None:
            busy = idle = math.nan
        else:
            host = host_power_w(acc)
            busy = float(it_power_w(p.busy_power_w, acc.tdp_w, host))
            idle = float(it_power_w(acc.tdp_w * inputs.idle_power_share_of_tdp, acc.tdp_w, host))
        each.append(PoolSizing(p.accelerators, float(c), busy, idle))
    n = sum(p.accelerators for p in each)
    busy = sum(p.accelerators * p.busy_power_w for p in each) / n
    return Sizing(n, float(est.op.output_tok_s_total), busy, tuple(each))


@dataclass(frozen=True)
class GenerationRates:
    """What one accelerator generation costs and carries at the scenario's operating point."""

    accelerator: str
    release_year: int | None
    capacity_tok_s_per_accelerator: float  # output tok/s at the sized operating point
    accelerators_per_replica: int
    busy_power_w: float
    idle_power_w: float
    upfront_usd: float | None  # accelerator + server share + network, bought
    operating_usd_per_hour: float | None  # facility + operations + software, bought
    rent_usd_per_hour: float | None
    api_usd_per_mtok_output: float | None
    usd_per_mtok: float | None  # the estimate's cost per request / output tokens [USD/Mtok]
    tokens_per_joule: float | None
    notes: tuple[str, ...] = ()
    prefill_accelerator: str | None = None  # a separate prefill pool: the rates average both
    # plan's fleet for a demand on this generation (see Sizer); None: sized at the rate above
    size: Sizer | ClaimedSizer | None = field(default=None, compare=False, repr=False)
    # the same for a rented fleet: plan ranks a rented deployment at its rent, a bought one
    # also on power, so the two may take other layouts or counts (None: ``size``)
    rent_size: Sizer | ClaimedSizer | None = field(default=None, compare=False, repr=False)
    # a fan sample's year-0 throughput and busy draw over the base case's, at the same point
    throughput_scale: float = 1.0
    busy_scale: float = 1.0
    # the scenario's software licence on this accelerator, bought and rented [USD/h], in
    # operating_usd_per_hour and rent_usd_per_hour above (tokenfab.planning.
    # licence_usd_per_accelerator_year; 0 without one, or where it is bundled or does not apply)
    licence_buy_usd_per_hour: float = 0.0
    licence_rent_usd_per_hour: float = 0.0
    # a separate prefill pool: each pool's rented accelerator-hour, licence included (the
    # order of Sizing.pools: prefill, decode), so that a year's rented fleet is priced pool by
    # pool at that year's pool counts; None: one accelerator type (rent_usd_per_hour)
    pool_rent_usd_per_hour: tuple[float, ...] | None = None

    def fleet_rent_usd_per_hour(self, sizing: Sizing) -> float:
        """The rent of a fleet of this generation sized ``sizing`` [USD/h]: each pool's count
        at its own accelerator's rent where the fleet has two pools (their mix changes with the
        demand), else the count at :attr:`rent_usd_per_hour`."""
        if sizing.pools and self.pool_rent_usd_per_hour is not None:
            return sum(
                p.accelerators * r
                for p, r in zip(sizing.pools, self.pool_rent_usd_per_hour, strict=True)
            )
        return sizing.accelerators * _nan_if_none(self.rent_usd_per_hour)

    @property
    def label(self) -> str:
        """The accelerator, with the prefill pool's where the generation has one."""
        if self.prefill_accelerator is None:
            return self.accelerator
        return f"{self.accelerator}+{self.prefill_accelerator} (prefill)"


_LAYOUT_FIELDS = (
    "tensor_parallel",
    "pipeline_parallel",
    "attention_data_parallel",
    "expert_parallel",
    "moe_tensor_parallel",
    "batch_size",
    "accelerators",
)


def generation_rates(scenario: Scenario, catalog: Catalog, seed: bool = True) -> GenerationRates:
    """Estimate the scenario and read the per-accelerator rates the projection needs.

    The rates are those of the scenario's own deployment (year 0: its prices, its operating
    point's throughput and draw, for the report); ``size`` sizes the fleet for any other demand
    as plan does (:class:`Sizer`), seeded with this estimate's deployment for year 0's demand
    (``seed``: year 0's generation only; a successor's estimate is ranked for the scenario's
    ownership, so seeding the other ownership's sizer with it would size that fleet by the
    wrong ranking at that demand).
    """
    from tokenfab.breakeven import OPERATING_LINES, accelerator_upfront_usd
    from tokenfab.planning import evaluate, hourly_cost, power_not_public, power_w

    est = evaluate(scenario, catalog)
    # one sizer an ownership, each year 0's deployment for year 0's demand (the estimate's)
    size = Sizer(scenario.with_(ownership="buy"), catalog)
    rent_size = Sizer(scenario.with_(ownership="rent"), catalog)
    d0 = est.utilization * est.op.output_tok_s_total * SECONDS_PER_DAY  # as project() reads it
    sizers = (size, rent_size) if seed else ()
    if est.pools is not None:
        for sizer in sizers:
            sizer.seed(d0, pooled_sizing(est, catalog))
        return replace(_pooled_rates(est, catalog), size=size, rent_size=rent_size)
    op = est.op
    for sizer in sizers:
        sizer.seed(d0, point_sizing(op, default_cost_inputs(catalog)))
    acc = op.setup.accelerator
    inputs = default_cost_inputs(catalog)
    upfront = operating = rent = None
    notes = []
    if acc.tdp_w is None:  # rented: the rent is the cost; energy and carbon not available
        busy = idle = math.nan
        notes.append(power_not_public(acc))
    else:
        _, busy = power_w(op, inputs, est.utilization)
        idle = acc.tdp_w * inputs.idle_power_share_of_tdp
        # IT draw: the board's plus its host's (linear in the board's, so the average of the
        # two is the host-inclusive average too; tokenfab.cost.it_power_w)
        host = host_power_w(acc)
        busy = float(it_power_w(busy, acc.tdp_w, host))
        idle = float(it_power_w(idle, acc.tdp_w, host))
    lic = _licences(scenario, acc.id, op.setup.engine.software, catalog)
    if acc.price_usd is not None:
        bought = hourly_cost(acc, est.region, "buy", catalog, inputs, lic["buy"], power_w=0.0)
        operating = sum(bought.lines[k] for k in OPERATING_LINES if k != "power")
        upfront = accelerator_upfront_usd(acc, inputs)
    else:
        notes.append(f"{acc.id} has no purchase price: buy not priced")
    try:
        rent = _rent_usd_per_hour(scenario, acc, est.region, lic["rent"], catalog, inputs)
    except (CatalogError, ScenarioError) as exc:
        notes.append(str(exc))
    api = None
    if est.api is not None:
        s = op.setup
        api = est.api.blended_usd_per_mtok * (s.input_tokens + s.output_tokens) / s.output_tokens
    d = est.as_dict()
    return GenerationRates(
        accelerator=acc.id,
        release_year=acc.release_year,
        capacity_tok_s_per_accelerator=op.output_tok_s_total / op.accelerators,
        accelerators_per_replica=op.accelerators // op.replicas,
        busy_power_w=busy,
        idle_power_w=idle,
        upfront_usd=upfront,
        operating_usd_per_hour=operating,
        rent_usd_per_hour=rent,
        api_usd_per_mtok_output=api,
        usd_per_mtok=_usd_per_mtok_output(d, op.setup.output_tokens),
        tokens_per_joule=d.get("tokens_per_joule"),
        notes=tuple(notes),
        size=size,
        rent_size=rent_size,
        licence_buy_usd_per_hour=lic["buy"][0] / HOURS_PER_YEAR,
        licence_rent_usd_per_hour=lic["rent"][0] / HOURS_PER_YEAR,
    )


def _licences(
    scenario: Scenario,
    accelerator_id: str,
    software_id: str,
    catalog: Catalog,
    strict: bool = True,
) -> dict[str, tuple[float, str]]:
    """The scenario's software licence on one accelerator and engine, bought and rented: its
    cost [USD/(accelerator·year)] and note, as estimate charges it
    (:func:`tokenfab.planning.licence_usd_per_accelerator_year`; ``strict=False`` for a pool
    of a deployment the licence applies to as a whole)."""
    from tokenfab.planning import licence_usd_per_accelerator_year

    return {
        own: licence_usd_per_accelerator_year(
            catalog, scenario.software_licence, accelerator_id, software_id, own, strict
        )
        for own in ("buy", "rent")
    }


def _rent_usd_per_hour(
    scenario: Scenario,
    acc: Accelerator,
    region: Any,
    licence: tuple[float, str],
    catalog: Catalog,
    inputs: Any,
) -> float:
    """One rented accelerator-hour as estimate prices it: the cheapest offer of the scenario's
    term (and provider), plus the software and the licence (:func:`tokenfab.planning.
    hourly_cost`) [USD/h].

    Raises
    ------
    CatalogError, ScenarioError
        No offer for the accelerator, term or provider.
    """
    from tokenfab.planning import hourly_cost

    return float(
        hourly_cost(
            acc,
            region,
            "rent",
            catalog,
            inputs,
            licence,
            term=scenario.rental_term,
            provider=scenario.rental_provider,
        ).total_usd_per_hour
    )


def _usd_per_mtok_output(d: dict[str, Any], output_tokens: int) -> float | None:
    """All-in cost per million output tokens (a request's cost over its output tokens), or
    None where the estimate has no cost."""
    cost = d.get("cost_usd_per_request")
    return None if cost is None else cost * TOKENS_PER_MTOK / output_tokens


def _pooled_rates(est: Any, catalog: Catalog) -> GenerationRates:
    """:func:`generation_rates` of a deployment with a separate prefill pool. A year's fleet is
    plan's two pools for its demand (:class:`Sizer`, :func:`pooled_sizing`): each pool draws
    at its own utilisation (:meth:`Sizing.fleet_power_w`) and is rented at its own
    accelerator's rent (``pool_rent_usd_per_hour``), as estimate prices the pools. Bought
    accelerators are counted as one fleet: their price and operating cost are averaged over
    the pools' counts at the scenario's sizing (year 0's mix; exact at year 0, a later year's
    purchases priced at that mix). A replica is one replica of each pool."""
    from tokenfab.breakeven import OPERATING_LINES, accelerator_upfront_usd
    from tokenfab.planning import hourly_cost

    inputs = default_cost_inputs(catalog)
    pools, scenario, op = est.pools, est.scenario, est.op
    parts = (pools.prefill, pools.decode)
    n = sum(p.accelerators for p in parts)
    notes: list[str] = []

    def mean(values: list[float | None]) -> float | None:
        if any(v is None for v in values):
            return None
        return sum(p.accelerators * v for p, v in zip(parts, values, strict=True)) / n

    upfront, operating, rent, lic_buy, lic_rent = [], [], [], [], []
    for p, pool in zip(parts, (pools.point.prefill, pools.point.decode), strict=True):
        acc = p.accelerator
        lic = _licences(scenario, acc.id, pool.setup.engine.software, catalog, strict=False)
        lic_buy.append(lic["buy"][0] / HOURS_PER_YEAR)
        lic_rent.append(lic["rent"][0] / HOURS_PER_YEAR)
        if acc.price_usd is None:
            notes.append(f"{acc.id} ({p.role} pool) has no purchase price: buy not priced")
            upfront.append(None)
            operating.append(None)
        else:
            bought = hourly_cost(acc, est.region, "buy", catalog, inputs, lic["buy"], power_w=0.0)
            operating.append(sum(bought.lines[k] for k in OPERATING_LINES if k != "power"))
            upfront.append(accelerator_upfront_usd(acc, inputs))
        try:
            rent.append(_rent_usd_per_hour(scenario, acc, est.region, lic["rent"], catalog, inputs))
        except (CatalogError, ScenarioError) as exc:
            notes.append(f"{p.role} pool: {exc}")
            rent.append(None)
    api = None
    if est.api is not None:
        s = op.setup
        api = est.api.blended_usd_per_mtok * (s.input_tokens + s.output_tokens) / s.output_tokens
    d = est.as_dict()
    dec = parts[1].accelerator
    return GenerationRates(
        accelerator=dec.id,
        release_year=dec.release_year,
        capacity_tok_s_per_accelerator=op.output_tok_s_total / n,
        accelerators_per_replica=pools.point.prefill.accelerators_per_replica
        + pools.point.decode.accelerators_per_replica,
        busy_power_w=pooled_sizing(
            est, catalog
        ).busy_power_w,  # IT draw: boards and hosts, averaged
        idle_power_w=float(
            mean(
                [
                    it_power_w(
                        p.accelerator.tdp_w * inputs.idle_power_share_of_tdp,
                        p.accelerator.tdp_w,
                        host_power_w(p.accelerator),
                    )
                    for p in parts
                ]
            )
        ),
        upfront_usd=mean(upfront),
        operating_usd_per_hour=mean(operating),
        rent_usd_per_hour=mean(rent),
        api_usd_per_mtok_output=api,
        usd_per_mtok=_usd_per_mtok_output(d, op.setup.output_tokens),
        tokens_per_joule=d.get("tokens_per_joule"),
        notes=tuple(notes),
        prefill_accelerator=parts[0].accelerator.id,
        licence_buy_usd_per_hour=float(mean(lic_buy)),
        licence_rent_usd_per_hour=float(mean(lic_rent)),
        pool_rent_usd_per_hour=None if None in rent else tuple(rent),  # type: ignore[arg-type]
    )


def successor_rates(scenario: Scenario, successor: str, catalog: Catalog) -> GenerationRates:
    """:func:`generation_rates` on the successor: the scenario's own layout and batch first,
    and when they do not fit the successor, the layout and batch the model chooses.

    The scenario's software licence is charged on the successor where it applies; a successor
    it does not apply to (another vendor's) is priced without it, and its notes say so -- one
    licence over two generations, as over a plan's candidates (docs/method.md, the software
    cost line). Year 0's accelerator refuses a licence that does not apply to it.
    """
    sc = scenario.with_(accelerator=successor)
    note = successor_licence_note(scenario, successor, catalog)
    if note is not None:
        sc = sc.with_(software_licence=None)
    try:
        rates = generation_rates(sc, catalog, seed=False)
    except ScenarioError:
        chosen = {k: None for k in _LAYOUT_FIELDS}
        rates = generation_rates(sc.with_(**chosen), catalog, seed=False)
    return replace(rates, notes=(*rates.notes, note)) if note else rates


def successor_licence_note(scenario: Scenario, successor: str, catalog: Catalog) -> str | None:
    """The line saying the scenario's software licence does not apply to the successor (which
    is then priced without it); None where it applies, or no licence is chosen."""
    sc = scenario.with_(accelerator=successor)
    if sc.software_licence is None or sc.prefill_accelerator is not None:
        return None  # two pools: tokenfab.pools charges it on the pool it covers
    from tokenfab.perf.operating import resolve
    from tokenfab.planning import licence_problem

    try:
        software_id = resolve(sc, catalog).engine.software
    except TokenfabError:  # the successor's own error comes from its estimate
        return None
    if licence_problem(catalog, sc.software_licence, successor, software_id) is None:
        return None
    return (
        f"software_licence {sc.software_licence} does not apply to {successor}: the successor "
        "is priced without it"
    )


# ------------------------------------------------------------------------------------------
# The projection
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Projection:
    """Year-by-year cost of buy, rent and API for one scenario, with its assumptions."""

    scenario: Scenario
    calendar_years: list[int]
    output_mtok: NDArray[np.float64]  # million output tokens served each year
    options: dict[str, dict[str, NDArray[np.float64]]]  # option -> series name -> values
    fleet: list[dict[str, int]]  # buy: accelerators installed each year by id
    assumptions: dict[str, Assumption]
    generations: list[GenerationRates]
    crossings: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)
    fan: dict[str, Any] | None = None  # percentiles over samples of the yearly rates

    def as_dict(self) -> dict[str, Any]:
        """The ``project --json`` document (:class:`tokenfab.schema.ProjectResult`)."""

        def num(x: Any) -> float | None:
            x = float(x)
            return None if math.isnan(x) else x

        years = []
        for t, y in enumerate(self.calendar_years):
            row: dict[str, Any] = {
                "year": t,
                "calendar_year": y,
                "output_mtok": num(self.output_mtok[t]),
                "buy_accelerators": self.fleet[t],
            }
            for o in OPTIONS:
                for name, values in self.options[o].items():
                    row[f"{o}_{name}"] = num(values[t])
            years.append(row)
        return {
            "model": self.scenario.model,
            "accelerator": self.scenario.accelerator,
            "region": self.scenario.region,
            "years": years,
            "assumptions": [a.as_dict() for a in self.assumptions.values()],
            "generations": [
                {
                    "accelerator": g.accelerator,
                    "release_year": g.release_year,
                    "output_tok_s_per_accelerator": g.capacity_tok_s_per_accelerator,
                    "usd_per_mtok": g.usd_per_mtok,
                    "tokens_per_joule": g.tokens_per_joule,
                    "upfront_usd_per_accelerator": g.upfront_usd,
                    "rent_usd_per_accelerator_hour": g.rent_usd_per_hour,
                }
                for g in self.generations
            ],
            "crossings": self.crossings,
            "notes": self.notes,
            "fan": self.fan,
        }


def _nan_if_none(x: float | None) -> float:
    return float("nan") if x is None else float(x)


def _vendor_claim(current: GenerationRates, succ: GenerationRates, catalog: Catalog):
    fam = (
        catalog.accelerator(current.accelerator).family,
        catalog.accelerator(succ.accelerator).family,
    )
    if fam not in VENDOR_CLAIMS:
        allowed = ", ".join(f"{a}->{b}" for a, b in VENDOR_CLAIMS)
        raise ScenarioError(
            f"projection.generation_path: no vendor claim for {fam[0]} -> {fam[1]}; claims "
            f"exist for {allowed}"
        )
    return VENDOR_CLAIMS[fam]


def _claimed(
    current: GenerationRates,
    succ: GenerationRates,
    factor: float,
    life_years: float,
    cost_of_capital_per_year: float,
) -> GenerationRates:
    """The successor carrying what makes its cost per token ``factor`` times lower than the
    current generation's at their own hourly costs (buy where priced, its capital an annuity
    at ``cost_of_capital_per_year`` over ``life_years``, as estimate's; else rent); sized as
    the current generation is for the demand over that ratio (:class:`ClaimedSizer`)."""
    crf = float(capital_recovery_factor(cost_of_capital_per_year, life_years))

    def hourly(g: GenerationRates) -> float | None:
        if g.upfront_usd is not None and g.operating_usd_per_hour is not None:
            return g.upfront_usd * crf / HOURS_PER_YEAR + g.operating_usd_per_hour
        return g.rent_usd_per_hour

    h_cur, h_succ = hourly(current), hourly(succ)
    if h_cur is None or h_succ is None:
        raise ScenarioError(
            "projection.generation_path: vendor-claims needs a price for both generations"
        )
    m = factor * h_succ / h_cur  # what one successor carries over one current accelerator
    cap = current.capacity_tok_s_per_accelerator * m
    size = None if current.size is None else ClaimedSizer(current.size, m, succ.busy_power_w)
    rent_size = None
    if current.rent_size is not None:
        rent_size = ClaimedSizer(current.rent_size, m, succ.busy_power_w)
    return replace(succ, capacity_tok_s_per_accelerator=cap, size=size, rent_size=rent_size)


def _crossing(x: str, y: str, cx: NDArray[np.float64], cy: NDArray[np.float64]) -> dict:
    """The crossings of two options' cumulative cash, and a sentence that says them."""
    when = crossing_years(cx, cy)
    first = x if cx[0] < cy[0] else y
    end = x if cx[-1] < cy[-1] else y
    steps = []
    leader = first
    for t in when:
        leader = y if leader == x else x
        steps.append(f"{leader} from {t:.1f} years")
    lead = abs(float(cx[-1] - cy[-1]))
    text = (
        f"{first} costs less in cumulative cash at first"
        + ("".join(f"; {s}" for s in steps))
        + f"; after {cx.size} year{'s' if cx.size != 1 else ''} {end} leads by ${lead:,.0f}"
    )
    return {
        "options": f"{x}-{y}",
        "cheaper_first": first,
        "after_years": when,
        "cheaper_at_end": end,
        "text": text,
    }


@dataclass(frozen=True)
class _Setting:
    """What stays fixed while the yearly rates vary: the generations as estimated, the years,
    the region and the year-0 demand."""

    cur: GenerationRates
    succ: GenerationRates | None
    cal: list[int]
    life: int
    region: Any
    d0: float  # year-0 output tokens a day
    cost_of_capital_per_year: float = 0.0  # the buy cost's capital annuity (not the cash)


def _yearly(st: _Setting, rates: dict[str, Any], snap: bool = False):
    """Each option's yearly series for one set of rates (see :func:`project`); ``snap``: a
    fan sample, its demands sized on :class:`Sizer`'s grid."""
    cur, succ, cal, life, region = st.cur, st.succ, st.cal, st.life, st.region
    n_years = len(cal)
    notes: list[str] = []
    demand = st.d0 * index_path(
        rates["demand_growth_per_year"], n_years, "projection.demand_growth_per_year"
    )
    if not np.all(demand <= MAX_TOKENS_PER_DAY):  # else fleets past int64, a crash
        grown, g = float(np.max(demand)), rates["demand_growth_per_year"]
        rate = f"{float(g):g} a year" if np.ndim(g) == 0 else "the yearly growth given"
        raise ScenarioError(
            f"demand_growth_per_year: {rate} for {plural(n_years - 1, 'year')} grows the demand to {grown:.3g} output tokens a day, beyond "
            f"tokens_per_day's range (at most {MAX_TOKENS_PER_DAY:g}); lower the growth or "
            "the years"
        )
    gens = [cur] if succ is None else [cur, succ]

    def available(t: int) -> int:
        if succ is not None and t > 0 and (succ.release_year or cal[0]) <= cal[t]:
            return 1
        return 0

    def size(i: int, tokens_per_day: float, rented: bool = False) -> Sizing:
        """Plan's fleet for a demand on generation ``i``, bought or ``rented`` (a fan sample's
        scales applied)."""
        g = gens[i]
        sizer = (g.rent_size or g.size) if rented else g.size
        if sizer is None:
            raise ScenarioError(f"projection: {g.label} has no sizing")
        if not g.throughput_scale > 0:  # a fan sample whose accelerator carries nothing
            raise InfeasibleError(f"projection: {g.label} carries no output at year 0")
        try:
            s = sizer(tokens_per_day / g.throughput_scale, snap)
        except TokenfabError as exc:
            raise InfeasibleError(
                f"projection: {tokens_per_day:.4g} output tokens a day on {g.label}: {exc}"
            ) from None
        return s.scaled(g.throughput_scale, g.busy_scale)

    # -- buy ----------------------------------------------------------------------------
    on_sale_i = [available(t) for t in range(n_years)]
    on_sale = [gens[i] for i in on_sale_i]
    bought, cohorts, serving = bought_fleet(demand, on_sale_i, life, size)
    elec = index_path(
        rates["electricity_change_per_year"],  # type: ignore[arg-type]
        n_years,
        "projection.electricity_change_per_year",
    )
    buy_priced = all(g.upfront_usd is not None for g in on_sale)
    buy: dict[str, NDArray[np.float64]] = {
        k: np.full(n_years, np.nan)
        for k in (
            "capex_usd",
            "cash_usd",
            "cost_usd",
            "capital_charge_usd",
            "usd_per_mtok",
            "energy_kwh",
            "co2e_t",
            "tokens_per_joule",
            "utilization",
        )
    }
    # a year's capital charge of one accelerator bought for U: U x CRF(r, L), the annuity that
    # pays U back with interest at r over its life L (estimate's capex lines, tokenfab.cost)
    crf = float(capital_recovery_factor(st.cost_of_capital_per_year, life))
    fleet = []
    for t in range(n_years):
        n = cohorts[t]
        cap = watts = 0.0
        for i, count, s, share in serving[t]:
            g = gens[i]
            c = 0.0 if s is None else count * s.per_accelerator_tok_s
            u = min(1.0, share / SECONDS_PER_DAY / c) if c > 0 else 0.0
            cap += c
            if math.isnan(g.idle_power_w) or (u > 0 and math.isnan(s.busy_power_w)):
                watts = math.nan  # the board's power is not public: no energy, no carbon
            elif u > 0:  # busy at the point this generation's fleet runs at, idle the rest
                watts += s.fleet_power_w(count, share / SECONDS_PER_DAY, g.idle_power_w)
            else:
                watts += count * g.idle_power_w
        u = min(1.0, demand[t] / SECONDS_PER_DAY / cap)
        kwh = watts * region.pue * HOURS_PER_YEAR / 1e3
        by_id: dict[str, int] = {}
        for k in range(n_years):
            if n[k]:
                by_id[on_sale[k].label] = by_id.get(on_sale[k].label, 0) + int(n[k])
        fleet.append(by_id)
        buy["utilization"][t] = u
        buy["energy_kwh"][t] = kwh
        buy["co2e_t"][t] = kwh * region.grid_co2e_g_per_kwh / 1e6
        buy["tokens_per_joule"][t] = demand[t] * DAYS_PER_YEAR / (kwh * 3.6e6)
        if buy_priced:
            capex = bought[t] * _nan_if_none(on_sale[t].upfront_usd)
            operating = sum(
                n[k] * _nan_if_none(on_sale[k].operating_usd_per_hour) for k in range(n_years)
            )
            power_usd = kwh * region.electricity_usd_per_kwh * elec[t]
            cash = capex + operating * HOURS_PER_YEAR + power_usd
            charge = crf * sum(n[k] * _nan_if_none(on_sale[k].upfront_usd) for k in range(n_years))
            buy["capex_usd"][t] = capex
            buy["cash_usd"][t] = cash
            buy["capital_charge_usd"][t] = charge
            buy["cost_usd"][t] = cash - capex + charge
    if not buy_priced:
        notes.append("buy: not priced (an accelerator on sale has no purchase price)")

    # -- rent ---------------------------------------------------------------------------
    rent_idx = index_path(
        -np.asarray(rates["rental_price_decline_per_year"], float),
        n_years,
        "projection.rental_price_decline_per_year",
    )
    rent = {k: np.full(n_years, np.nan) for k in ("cash_usd", "cost_usd", "usd_per_mtok")}
    rent_acc = np.zeros(n_years)
    for t in range(n_years):
        # plan's fleet for the whole demand on the current generation and on the one on sale,
        # the one whose rent a year is lower (the whole fleet can move each year)
        priced = [i for i in {0, on_sale_i[t]} if gens[i].rent_usd_per_hour is not None]
        if not priced:
            continue
        fleets = []
        for i in priced:
            s = size(i, demand[t], rented=True)
            fleets.append((s.accelerators, gens[i].fleet_rent_usd_per_hour(s)))
        n_acc, usd_per_hour = min(fleets, key=lambda f: f[1])
        rent_acc[t] = n_acc
        rent["cost_usd"][t] = usd_per_hour * rent_idx[t] * HOURS_PER_YEAR
        rent["cash_usd"][t] = rent["cost_usd"][t]
    if cur.rent_usd_per_hour is None:
        notes.append(f"rent: {cur.label} has no rental in the catalog")

    # -- api ----------------------------------------------------------------------------
    api_idx = index_path(
        -np.asarray(rates["api_price_decline_per_year"], float),
        n_years,
        "projection.api_price_decline_per_year",
    )
    api = {k: np.full(n_years, np.nan) for k in ("cash_usd", "cost_usd", "usd_per_mtok")}
    if cur.api_usd_per_mtok_output is not None:
        api["cost_usd"] = demand * DAYS_PER_YEAR * cur.api_usd_per_mtok_output * api_idx / 1e6
        api["cash_usd"] = api["cost_usd"].copy()

    mtok = demand * DAYS_PER_YEAR / TOKENS_PER_MTOK
    options = {"buy": buy, "rent": {**rent, "accelerators": rent_acc}, "api": api}
    for o in OPTIONS:
        options[o]["usd_per_mtok"] = options[o]["cost_usd"] / mtok
        options[o]["cumulative_cash_usd"] = np.cumsum(options[o]["cash_usd"])
    return options, fleet, mtok, notes


def default_fan(a: dict[str, Assumption], catalog: Catalog) -> dict[str, Distribution]:
    """Sourced spreads of the yearly rates, for a fan without a ``distributions:`` entry.

    * API price decline: low/base/high from the lowest to the highest decline of the
      catalog's price chains (market.yaml; the reasoning chain, nine months long, left out),
      the assumption itself as base.
    * Demand growth (one rate for every year): the assumption +/- the growth shift of
      market.yaml's analyst-consensus uncertainty (the spread of published forecasts).

    Rental price decline and electricity have no sourced spread: they stay fixed.
    """
    from tokenfab.market import chain_decline, load_market_data

    data = load_market_data()
    out: dict[str, Distribution] = {}
    api = a["api_price_decline_per_year"].value
    if isinstance(api, float | int):
        chains = {
            n: chain_decline(n, catalog)[0] for n in data.price_chains if "reasoning" not in n
        }
        lo, hi = min([*chains.values(), float(api)]), max([*chains.values(), float(api)])
        out["api_price_decline_per_year"] = Distribution(
            dist="low-base-high",
            low=round(lo, 4),
            base=float(api),
            high=round(hi, 4),
            source="catalog price chains (market.yaml): "
            + ", ".join(f"{n} {d:.0%}" for n, d in chains.items()),
        )
    growth = a["demand_growth_per_year"].value
    unc = data.scenarios["analyst-consensus"].uncertainty
    shift = unc.growth_shift_per_year if unc is not None else None
    if isinstance(growth, float | int) and shift is not None:
        out["demand_growth_per_year"] = Distribution(
            dist="low-base-high",
            low=max(float(growth) + shift[0], -0.99),
            base=float(growth),
            high=float(growth) + shift[1],
            source="market.yaml analyst-consensus growth_shift_per_year "
            f"[{shift[0]:g}, {shift[1]:g}]: {unc.assumed or unc.source}",
        )
    return out


YEAR0_KEYS = (
    "output_tok_s_per_accelerator",
    "gpu_joules_per_output_token",
    "api_usd_per_mtok_blended",
    "input_tokens",
    "output_tokens",
    "utilization",
    "output_tok_s_total",
)
"""What a fan sample takes from the estimate pipeline for its year-0 generation."""


@dataclass(frozen=True)
class _Year0:
    """Year 0 for each sample of the scenario's inputs: the current generation's rates, the
    region's figures and the demand, as :func:`generation_rates` and :func:`project` read them
    from one estimate, here from :func:`tokenfab.pipeline.evaluate` of every sample."""

    feasible: NDArray[np.bool_]
    reasons: dict[str, int]
    cur: list[GenerationRates]
    regions: list[Any]
    d0: NDArray[np.float64]
    life: NDArray[np.float64] | None  # whole years, where the useful life is sampled


def _year0_samples(
    scenario: Scenario,
    cur: GenerationRates,
    region: Any,
    values: dict[str, NDArray[np.float64]],
    catalog: Catalog,
    reoptimise: bool = False,
) -> _Year0:
    """The year-0 figures of each sample of the scenario's inputs (``values``, as drawn for
    ``montecarlo``).

    The pipeline re-evaluates the operating point (throughput per accelerator, busy power,
    the cheapest API's price) at the base case's layout and batch (``reoptimise``: at the
    batch chosen again for the sample under the targets, on the base layout, as
    ``montecarlo --reoptimise``); prices, power, electricity,
    PUE and grid intensity follow the sampled catalog figures through the same cost functions
    as :func:`generation_rates`. A sample the pipeline finds infeasible (the model no longer
    fits, a target is missed) is counted, not projected.

    Later years are sized as the base case's (:class:`Sizer`, plan's fleet for a demand), with
    the sample's accelerator ``s`` times as fast as the base case's at year 0's layout and
    batch: a demand ``D`` takes the base sizing of ``D / s``, each accelerator carrying ``s``
    times its output, at the base draw times the sample's over the base's at year 0 (so at the
    inputs' base values, ``s`` = 1, every year is the deterministic projection's; with
    ``reoptimise``, ``s`` is the sample's throughput at its own batch over the base case's at
    the base batch). The pipeline has no sizing of its own: a sample's latency at a later
    year's point is not re-checked against the targets.
    """
    from tokenfab import pipeline
    from tokenfab.breakeven import OPERATING_LINES, upfront_usd_per_accelerator
    from tokenfab.cost import ownership_cost_from_inputs

    r = pipeline.evaluate(scenario, values, catalog=catalog, keys=YEAR0_KEYS, reoptimise=reoptimise)
    k = r.kpis
    specs = pipeline.fields(scenario, catalog=catalog)
    n = r.n

    def x(key: str) -> NDArray[np.float64]:
        v = values[key] if key in values else specs[key].base
        return np.broadcast_to(np.asarray(v, dtype=float), (n,))

    acc = cur.accelerator
    inputs = default_cost_inputs(catalog)
    cost = {
        f: x(f"cost.{f}")
        for f in inputs.__dataclass_fields__
        if f"cost.{f}" in specs and specs[f"cost.{f}"].base is not None
    }
    inputs = replace(inputs, **cost)
    tdp_key = f"accelerators.{acc}.tdp_w"
    tdp = x(tdp_key) if tdp_key in specs else np.full(n, np.nan)  # NaN: power not public
    pue = x(f"regions.{region.id}.pue")
    elec = x(f"regions.{region.id}.electricity_usd_per_kwh")
    grid = x(f"regions.{region.id}.grid_co2e_g_per_kwh")
    busy = k["gpu_joules_per_output_token"] * k["output_tok_s_per_accelerator"]
    idle = tdp * inputs.idle_power_share_of_tdp
    acc_row = catalog.accelerator(acc)
    host = host_power_w(acc_row)
    # with the host's draw, as generation_rates (tokenfab.cost.it_power_w's formula, written
    # out: an infeasible sample's NaN passes through instead of failing the range check)
    h0 = HOST_IDLE_SHARE_OF_MAX
    with np.errstate(invalid="ignore", divide="ignore"):
        busy = busy + host * (h0 + (1.0 - h0) * busy / tdp)
        idle = idle + host * (h0 + (1.0 - h0) * idle / tdp)
    upfront = operating = None
    if cur.upfront_usd is not None:
        price = x(f"accelerators.{acc}.price_usd")
        upfront = upfront_usd_per_accelerator(
            price, inputs.system_share_of_accelerator_price, inputs.network_share_of_cluster_capex
        )
        lines = ownership_cost_from_inputs(
            inputs,
            price_usd=price,
            tdp_w=tdp + host,
            power_w=0.0,
            pue=pue,
            electricity_usd_per_kwh=elec,
        ).lines()
        operating = (
            sum(lines[f"{line}_usd_per_hour"] for line in OPERATING_LINES if line != "power")
            + cur.licence_buy_usd_per_hour
        )
    rent = None
    offers = [key for key in specs if key.startswith("rentals.")]
    if cur.rent_usd_per_hour is not None and scenario.rental_term == "on-demand" and offers:
        rent = np.minimum.reduce([x(key) for key in offers])
        rent = (
            rent + inputs.software_usd_per_accelerator_year / HOURS_PER_YEAR
        ) + cur.licence_rent_usd_per_hour
    api = None
    if cur.api_usd_per_mtok_output is not None:
        i, o = k["input_tokens"], k["output_tokens"]
        api = k["api_usd_per_mtok_blended"] * (i + o) / o

    def at(v: Any, j: int, fixed: Any) -> Any:
        return fixed if v is None else float(np.broadcast_to(v, (n,))[j])

    # the sample's throughput and busy draw over the base case's at the same layout and batch:
    # each sizing of a later demand is scaled by them (see _year0_samples' notes)
    with np.errstate(invalid="ignore", divide="ignore"):
        speed = k["output_tok_s_per_accelerator"] / cur.capacity_tok_s_per_accelerator
        draw = busy / cur.busy_power_w
    gens, regions = [], []
    for j in range(n):
        gens.append(
            replace(
                cur,
                capacity_tok_s_per_accelerator=float(k["output_tok_s_per_accelerator"][j]),
                throughput_scale=float(speed[j]),
                busy_power_w=float(busy[j]),
                busy_scale=float(draw[j]),
                idle_power_w=float(idle[j]),
                upfront_usd=at(upfront, j, cur.upfront_usd),
                operating_usd_per_hour=at(operating, j, cur.operating_usd_per_hour),
                rent_usd_per_hour=at(rent, j, cur.rent_usd_per_hour),
                api_usd_per_mtok_output=at(api, j, cur.api_usd_per_mtok_output),
            )
        )
        regions.append(
            region.model_copy(
                update={
                    "pue": float(pue[j]),
                    "electricity_usd_per_kwh": float(elec[j]),
                    "grid_co2e_g_per_kwh": float(grid[j]),
                }
            )
        )
    d0 = k["utilization"] * k["output_tok_s_total"] * SECONDS_PER_DAY
    life = None  # as project(): whole years, at least one
    if "cost.useful_life_years" in values:
        life = np.maximum(1.0, np.round(values["cost.useful_life_years"]))
    return _Year0(r.feasible, r.reasons, gens, regions, np.asarray(d0, dtype=float), life)


def fan(
    setting: Any,
    a: dict[str, Assumption],
    dists: dict[str, Distribution],
    samples: int,
    seed: int,
    scenario_inputs: Any = None,
    year0: Any = None,
) -> dict[str, Any]:
    """Percentiles of each option's cumulative cash over samples of the yearly rates and of
    the scenario's inputs.

    Each sample re-runs the yearly model (:func:`_yearly`) with the sampled rates (one value
    for every year) and the others as assumed, each year's fleet sized by plan for the
    sample's demand (on :class:`Sizer`'s grid, :data:`SNAP_STEP`; a demand plan cannot size
    within the targets makes the sample infeasible, counted). With ``scenario_inputs`` (a
    :class:`tokenfab.uncertainty.Inputs`: the scenario's ``distributions:`` block, or the
    sourced defaults, exactly as ``montecarlo`` samples them), each sample's year 0 -- the
    current generation's throughput, power and prices, the region's electricity, PUE and grid,
    the demand -- comes from those inputs too (:func:`_year0_samples`); ``year0(values)``
    builds it. The successor stays as estimated (its own inputs are not in the scenario's
    block). Samples infeasible at year 0 are counted in ``feasible_share`` and left out of the
    percentiles.
    """
    from tokenfab.uncertainty import draw

    if not 1 <= samples <= MAX_FAN_SAMPLES:
        raise ScenarioError(
            f"samples: {samples} is out of range; allowed: 1 to {MAX_FAN_SAMPLES:,}"
        )
    scen = dict(scenario_inputs.distributions) if scenario_inputs is not None else {}
    if not dists and not scen:
        raise ScenarioError(
            "projection.distributions: no yearly rate is uncertain; give "
            f"distributions for one of {', '.join(RATES)}"
        )
    values = draw(dists, samples, seed, ranges=RATE_RANGES)
    feasible = np.ones(samples, dtype=bool)
    reasons: dict[str, int] = {}
    y0 = None
    if scen:
        # a stream of its own: the rates drawn from ``seed`` stay those of a rates-only fan
        scen_values = draw(
            scen, samples, np.random.default_rng([seed, 1]), ranges=scenario_inputs.ranges
        )
        y0 = year0(scen_values)
        feasible, reasons = np.array(y0.feasible, dtype=bool), dict(y0.reasons)
    base = {k: a[k].value for k in RATES}
    n_years = len(setting.cal)
    cum = {o: np.full((samples, n_years), np.nan) for o in OPTIONS}
    for i in np.flatnonzero(feasible):
        rates = {**base, **{k: float(v[i]) for k, v in values.items()}}
        st = setting
        if y0 is not None:
            st = replace(setting, cur=y0.cur[i], region=y0.regions[i], d0=float(y0.d0[i]))
            if y0.life is not None:
                st = replace(st, life=int(y0.life[i]))
        try:
            options = _yearly(st, rates, snap=True)[0]
        except InfeasibleError:  # a later year's demand that plan cannot size
            feasible[i] = False
            why = "a later year's demand not sizable within the targets"
            reasons[why] = reasons.get(why, 0) + 1
            continue
        for o in OPTIONS:
            cum[o][i] = options[o]["cumulative_cash_usd"]
    priced = [o for o in OPTIONS if feasible.any() and not np.isnan(cum[o][feasible]).any()]
    bands = {
        o: {
            f"p{q}": np.percentile(cum[o][feasible], q, axis=0).tolist() if o in priced else None
            for q in (5, 50, 95)
        }
        for o in OPTIONS
    }
    cheapest = {}
    if priced:
        ends = np.stack([cum[o][feasible, -1] for o in priced])
        winner = np.argmin(ends, axis=0)
        cheapest = {o: float(np.mean(winner == k)) for k, o in enumerate(priced)}

    def described(d: dict[str, Distribution]) -> list[dict[str, str]]:
        return [
            {"name": k, "distribution": v.describe(), "source": v.source or "given"}
            for k, v in d.items()
        ]

    return {
        "samples": samples,
        "seed": seed,
        "inputs": described(dists),
        "fixed": [k for k in RATES if k not in dists],
        "scenario_inputs": described(scen),
        "feasible_share": float(np.mean(feasible)),
        "infeasible": reasons,
        "cumulative_cash_usd": bands,
        "cheapest_at_end_share": cheapest,
    }


def project(
    scenario: Scenario,
    inputs: ProjectionInputs | None = None,
    catalog: Catalog | None = None,
    samples: int = 0,
    seed: int = 0,
    scenario_inputs: Any = None,
    reoptimise: bool = False,
) -> Projection:
    """Project a scenario year by year: cost and cash of buying, renting and an API.

    Parameters
    ----------
    scenario : Scenario
        The deployment in year 0; it needs a demand (``tokens_per_day`` or
        ``requests_per_second``).
    inputs : ProjectionInputs, optional
        The assumptions given (the ``projection:`` block); the rest take their defaults.
    catalog : Catalog, optional
        Default: the built-in catalogs.
    samples, seed : int, optional
        With ``samples`` > 0, a fan (:func:`fan`): the rates of ``inputs.distributions``, else
        :func:`default_fan`, sampled reproducibly from ``seed``.
    scenario_inputs : tokenfab.uncertainty.Inputs, optional
        The scenario's uncertain inputs (:func:`tokenfab.uncertainty.prepare_inputs`: its
        ``distributions:`` block, else the sourced defaults), sampled in the fan too, so that
        it varies what ``montecarlo`` varies (the CLI and the HTTP API pass them).
    reoptimise : bool, optional
        Fan: each sample's year 0 at the batch chosen again under the targets
        (:func:`tokenfab.pipeline.evaluate`, as ``montecarlo --reoptimise``), not the base case's.

    Returns
    -------
    Projection

    Notes
    -----
    With demand :math:`D_t = D_0 G_t` (output tokens a day, :func:`index_path` of the growth),
    and :math:`N_g(D)` plan's fleet for ``D`` output tokens a day on generation ``g`` -- what
    ``plan`` and ``estimate --tokens-per-day D`` install, the cheapest deployment that carries
    the peak :math:`D k / 86400` within the latency targets (:class:`Sizer`,
    :func:`tokenfab.sizing.cheapest_point`); :math:`N_g(D_0)` is year 0's estimate itself:

    - **buy**: cohorts of accelerators of the generation on sale each year
      (:func:`bought_fleet`): with one generation, each year tops the cohorts still in service
      up to :math:`N(D_t)`; a generation no longer on sale, :math:`n_h` in service, carries
      :math:`D_t n_h / N_h(D_t)` (its share of plan's fleet on it, at plan's load per
      accelerator), and the one on sale is topped up to plan's count for the rest. Cash =
      purchases x (accelerator + server share + network) + installed x (facility,
      operations, software per hour + average power x PUE x electricity price x :math:`E_t`)
      x 8760 h, undiscounted; cost = cash - purchases + the capital charge of every cohort in
      service, :math:`U_k\\,\\mathrm{CRF}(r, L)` per accelerator (the annuity at the cost of
      capital :math:`r` over the useful life :math:`L`, :func:`tokenfab.cost.
      capital_recovery_factor`): estimate's cost, so year 0's cost per million output tokens
      is estimate's (monthly cost x 12 over the year's output).
    - **rent**: :math:`N_g(D_t)` of the current generation or of the successor once released,
      whichever costs less a year, at the rental price x :math:`(1-d_r)^t`; the whole fleet
      can move each year.
    - **api**: :math:`D_t \\cdot 365 \\cdot p_0 (1-d_a)^t / 10^6`, :math:`p_0` the cheapest
      API's price per million output tokens with their prompt tokens.

    Each generation's fleet runs at the operating point of the plan sizing it was counted by
    (the batch that sizing's peak reaches): its output per accelerator and its busy draw come
    from that one point, and its utilisation is the demand it carries over that capacity;
    power is busy for that share of hours and idle for the rest.
    """
    from tokenfab.planning import evaluate

    cat = catalog or default_catalog()
    inputs = inputs or ProjectionInputs()
    scenario = Scenario.parse(scenario)
    if scenario.tokens_per_day is None and scenario.requests_per_second is None:
        raise ScenarioError(
            "tokens_per_day: a projection needs a demand: tokens_per_day or requests_per_second"
        )
    pooled = scenario.prefill_accelerator is not None  # two pools, averaged (_pooled_rates)
    if pooled and samples and scenario_inputs is not None:
        raise ScenarioError(
            "uncertainty: a fan over the scenario's inputs re-evaluates year 0 through the Monte "
            "Carlo pipeline, which models one accelerator type; with prefill_accelerator drop "
            "the scenario's uncertainty block (the yearly rates' fan still works)"
        )
    if pooled and inputs.generation_path == "vendor-claims":
        raise ScenarioError(
            "generation_path: vendor claims compare one accelerator with its successor; with "
            "prefill_accelerator use generation_path model"
        )
    a = default_assumptions(scenario, inputs, cat)
    n_years = inputs.years
    start = inputs.start_year or date.today().year
    cal = [start + t for t in range(n_years)]
    life = max(1, round(float(a["useful_life_years"].value)))  # type: ignore[arg-type]
    rate = float(a["cost_of_capital_per_year"].value)  # type: ignore[arg-type]
    notes: list[str] = []

    base = evaluate(scenario, cat)
    s = base.op.setup
    d0 = base.utilization * base.op.output_tok_s_total * SECONDS_PER_DAY  # output tokens a day
    cur = generation_rates(scenario, cat)
    gens = [cur]
    succ: GenerationRates | None = None
    succ_id = str(a["successor"].value)
    if succ_id != "none":
        try:
            succ = successor_rates(scenario, succ_id, cat)
        except UnknownIdError as exc:
            if exc.record_id != succ_id:
                raise
            raise exc.named("projection.successor") from None
        except TokenfabError as exc:
            raise ScenarioError(f"projection.successor: {succ_id}: {exc}") from None
        if (
            cur.usd_per_mtok
            and succ.usd_per_mtok
            and cur.tokens_per_joule
            and succ.tokens_per_joule
        ):
            notes.append(
                f"modelled generation gain {cur.label} -> {succ.label}: "
                f"{succ.tokens_per_joule / cur.tokens_per_joule:.2f}x tokens per joule, "
                f"{cur.usd_per_mtok / succ.usd_per_mtok:.2f}x tokens per dollar"
            )
        if inputs.generation_path == "vendor-claims":
            factor, why = _vendor_claim(cur, succ, cat)
            succ = _claimed(cur, succ, factor, life, rate)
            a["vendor_claim"] = Assumption("vendor_claim", round(factor, 3), "x", why)
        gens.append(succ)
        licence_note = successor_licence_note(scenario, succ_id, cat)
        if licence_note:
            notes.append(licence_note)
        ry = succ.release_year or start
        notes.append(
            f"new capacity from {max(ry, start + 1)} on is bought as {succ.label} "
            f"(released {ry}); year-0 hardware stays {cur.label}"
        )
    else:
        notes.append("no successor: every purchase is the scenario's accelerator")

    setting = _Setting(cur, succ, cal, life, base.region, d0, rate)
    options, fleet, mtok, more = _yearly(setting, {k: a[k].value for k in RATES})
    notes += more
    if cur.api_usd_per_mtok_output is None:
        notes.append(f"api: no API price for {s.model.id} in the catalog")
    crossings = []
    for x, y in (("buy", "rent"), ("buy", "api"), ("rent", "api")):
        cx, cy = options[x]["cumulative_cash_usd"], options[y]["cumulative_cash_usd"]
        if np.isnan(cx).any() or np.isnan(cy).any():
            continue
        crossings.append(_crossing(x, y, cx, cy))
    spread = None
    if samples:
        dists = inputs.distributions or default_fan(a, cat)

        def year0(values: dict[str, NDArray[np.float64]]) -> _Year0:
            return _year0_samples(scenario, cur, base.region, values, cat, reoptimise)

        if scenario_inputs is not None and inputs.generation_path == "vendor-claims":
            notes.append("fan: the successor's claimed cost stays that of the base case's year 0")
        spread = fan(setting, a, dists, samples, seed, scenario_inputs, year0)
        spread["reoptimise"] = bool(reoptimise and scenario_inputs is not None)
    return Projection(
        scenario=scenario,
        calendar_years=cal,
        output_mtok=mtok,
        options=options,
        fleet=fleet,
        assumptions=a,
        generations=gens,
        crossings=crossings,
        notes=notes,
        fan=spread,
    )
