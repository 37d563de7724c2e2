"""The AI factory: a power budget split across price tiers, read off the Pareto frontier.

A facility of P MW (facility power capacity, PUE included) holds P / PUE of IT power, which
is provisioned for ``IT power / TDP`` accelerators (capacity is built for the peak draw, as the
cost model's facility line is; energy is charged at the average draw). Each price tier of ``price_tiers.csv`` gets
its share of the power and runs at the best point of the throughput–interactivity frontier
(:func:`tokenfab.perf.frontier.frontier`) inside its interactivity band (output tok/s per
user); a tier whose band lies beyond what the hardware reaches earns nothing and the output
says so. Tokens a year, revenue per tier at the tier's price, cost from the ownership cost
model (:func:`tokenfab.planning.hourly_cost`), margin and tokens per joule follow. This is the
revenue-per-gigawatt model of seed 002 (NVIDIA GTC 2026: 25 % of a 1 GW factory's power to
each of four tiers).

Price basis: each tier's ``usd_per_mtok`` prices what its catalog row's ``price_basis`` names
(its first word): ``output`` tokens (reasoning tokens included, as APIs bill them), ``input``
tokens, or ``blended``: a blended price as the industry quotes one, 3 prompt : 1 output tokens
(Artificial Analysis's blend), split into a prompt and an output price at the API catalog's
median output/input price ratio (:func:`blended_prices`,
:func:`typical_output_to_input_price_ratio`). The workload's token mix converts the frontier's
output tokens into the tokens billed at the tier's price
(:func:`billed_tokens_per_output_token`). A tier's
``ttft_s_max``, where given, keeps only frontier points whose service TTFT (no queueing) is
within it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from tokenfab.catalog import Catalog, default_catalog
from tokenfab.cost import HOURS_PER_YEAR, SECONDS_PER_HOUR, TOKENS_PER_MTOK, _check_range, _out
from tokenfab.errors import (
    CatalogError,
    InfeasibleError,
    ScenarioError,
    TokenfabError,
    UnknownIdError,
)

__all__ = [
    "BLEND_INPUT_PER_OUTPUT",
    "PRICE_BASES",
    "Factory",
    "FactoryMix",
    "TierResult",
    "billed_tokens_per_output_token",
    "blended_prices",
    "demand_use",
    "factory",
    "factory_mix",
    "median_output_to_input_price_ratio",
    "parse_mix_entry",
    "price_basis_kind",
    "tier_operating_point",
    "tier_point",
    "tier_revenue_usd_per_year",
    "typical_output_to_input_price_ratio",
]

PRICE_BASES = ("output", "input", "blended")
"""What a tier's $/Mtok prices: the first word of its catalog ``price_basis``."""


def price_basis_kind(price_basis: str | None, field: str = "price_basis") -> str:
    """The kind of price basis a tier row states: the first word of ``price_basis``.

    Examples
    --------
    >>> price_basis_kind("output tokens ('per million tokens generated')")
    'output'
    >>> price_basis_kind("Blended: every token a session consumes")
    'blended'
    """
    word = (price_basis or "").strip().split(" ", 1)[0].strip(",:;()").lower()
    if word not in PRICE_BASES:
        raise CatalogError(
            f"{field}: {price_basis!r} does not start with a price basis; allowed first words: "
            + ", ".join(PRICE_BASES)
        )
    return word


BLEND_INPUT_PER_OUTPUT = 3.0
"""Prompt tokens per output token in a blended price [-]: Artificial Analysis's "blended price"
weights input and output prices 3:1 (https://artificialanalysis.ai/methodology; the blend Epoch
AI's price data insights and ``market.yaml``'s price chains use)."""


def typical_output_to_input_price_ratio(catalog: Catalog | None = None) -> float:
    """Median output/input price ratio [-] of the API catalog's current rows (the latest price
    of each provider and model): how a blended price splits into its two prices
    (:func:`median_output_to_input_price_ratio` of ``api_prices.csv``)."""
    return median_output_to_input_price_ratio(
        (catalog or default_catalog()).table("api-prices").values()
    )


def median_output_to_input_price_ratio(prices: Any) -> float:
    """Median output/input price ratio [-] over the latest row of each provider and model.

    ``prices`` are API price records (``provider``, ``model_id`` or ``model_name``,
    ``effective_date``, ``input_usd_per_mtok``, ``output_usd_per_mtok``); rows without an
    input price are left out.

    Examples
    --------
    >>> from types import SimpleNamespace as P
    >>> rows = [P(provider="p", model_id="a", model_name="A", effective_date=d, input_usd_per_mtok=1,
    ...           output_usd_per_mtok=o) for d, o in (("2024", 100), ("2025", 2))]
    >>> rows.append(P(provider="q", model_id=None, model_name="B", effective_date="2025",
    ...               input_usd_per_mtok=2, output_usd_per_mtok=16))
    >>> median_output_to_input_price_ratio(rows)  # (2 + 8) / 2; the 2024 row is history
    5.0
    """
    latest: dict[tuple[str, str], Any] = {}
    for p in prices:
        key = (p.provider, p.model_id or p.model_name)
        if key not in latest or p.effective_date > latest[key].effective_date:
            latest[key] = p
    ratios = [
        p.output_usd_per_mtok / p.input_usd_per_mtok
        for p in latest.values()
        if p.input_usd_per_mtok > 0
    ]
    if not ratios:
        raise CatalogError(
            "api-prices: no row with an input price, which splits a blended tier price"
        )
    return float(np.median(ratios))


def blended_prices(
    usd_per_mtok_blended: ArrayLike,
    output_to_input_price_ratio: ArrayLike,
    input_per_output: float = BLEND_INPUT_PER_OUTPUT,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    r"""Prompt and output prices [USD/Mtok] whose ``input_per_output``:1 blend is the blended
    price, the output price ``output_to_input_price_ratio`` times the prompt price.

    Notes
    -----
    .. math:: P = \frac{b p_\mathrm{in} + p_\mathrm{out}}{b + 1},\quad
              p_\mathrm{out} = r p_\mathrm{in}
              \;\Rightarrow\; p_\mathrm{in} = \frac{(b + 1) P}{b + r}

    Examples
    --------
    $3 blended at 3:1 with output 4x input: input 4 x 3 / 7 = $1.714, output $6.857 (and
    (3 x 1.714 + 6.857) / 4 = $3):

    >>> [round(float(x), 3) for x in blended_prices(3.0, 4.0)]
    [1.714, 6.857]
    """
    p = _check_range("usd_per_mtok_blended", usd_per_mtok_blended, 0.0)
    r = _check_range("output_to_input_price_ratio", output_to_input_price_ratio, 0.0, low_open=True)
    b = float(input_per_output)
    p_in = (b + 1.0) * p / (b + r)
    return _out(p_in), _out(r * p_in)


def billed_tokens_per_output_token(
    kind: str,
    input_tokens: float,
    output_tokens: float,
    output_to_input_price_ratio: float | None = None,
) -> float:
    r"""Tokens billed at the tier's price per output token served, at the workload's mix.

    ``output_tokens`` counts every generated token (reasoning included). A blended price is
    split by :func:`blended_prices` (3:1 blend, output ``output_to_input_price_ratio`` times the
    prompt price), so each output token earns its output price plus its share of prompt tokens
    at the prompt price; the result is that in units of the blended price.

    Notes
    -----
    output: 1; input: :math:`\rho = L_{in} / L_{out}`; blended:
    :math:`(b + 1)(r + \rho) / (b + r)` with :math:`b = 3`; at :math:`\rho = b` it is
    :math:`\rho + 1`, every token at the blended price.

    Examples
    --------
    The catalog chat workload, 6,000 prompt and 300 output tokens (rho 20), output priced 4x
    the prompt: 4 x (4 + 20) / (3 + 4) = 13.71 (every token at the blended price would be 21):

    >>> round(billed_tokens_per_output_token("blended", 6000, 300, 4.0), 2)
    13.71
    >>> billed_tokens_per_output_token("input", 6000, 300)
    20.0
    """
    if kind == "output":
        return 1.0
    if kind == "input":
        return input_tokens / output_tokens
    if kind == "blended":
        if output_to_input_price_ratio is None:
            raise CatalogError(
                "price_basis: a blended price needs the output/input price ratio that splits it"
            )
        b, r = BLEND_INPUT_PER_OUTPUT, float(output_to_input_price_ratio)
        return (b + 1.0) * (r + input_tokens / output_tokens) / (b + r)
    raise CatalogError(f"price_basis: {kind!r}; allowed: {', '.join(PRICE_BASES)}")


SECONDS_PER_YEAR = HOURS_PER_YEAR * SECONDS_PER_HOUR


def tier_revenue_usd_per_year(
    accelerators: ArrayLike,
    output_tok_s_per_accelerator: ArrayLike,
    utilization: ArrayLike,
    usd_per_mtok: ArrayLike,
    billed_per_output_token: ArrayLike = 1.0,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Output tokens a year and revenue of one tier.

    ``billed_per_output_token`` is :func:`billed_tokens_per_output_token` of the tier's price
    basis (1 for a price per output token).

    Notes
    -----
    .. math:: V = N \\, T \\, u \\, 31{,}536{,}000 \\ \\mathrm{s}, \\qquad R = V b p / 10^6

    Examples
    --------
    1,000 accelerators at 500 output tok/s, 80 % busy, $3/Mtok: 1.2614e13 tokens, $37.8M.

    >>> v, r = tier_revenue_usd_per_year(1000, 500.0, 0.8, 3.0)
    >>> f"{float(v):.4e}", round(float(r) / 1e6, 2)
    ('1.2614e+13', 37.84)

    The same tier priced $3 blended at the chat mix (13.71 tokens at the blended price per
    output token, :func:`billed_tokens_per_output_token`):

    >>> round(float(tier_revenue_usd_per_year(1000, 500.0, 0.8, 3.0, 96 / 7)[1]) / 1e6, 1)
    519.0
    """
    n = _check_range("accelerators", accelerators, 0.0)
    t = _check_range("output_tok_s_per_accelerator", output_tok_s_per_accelerator, 0.0)
    u = _check_range("utilization", utilization, 0.0, 1.0, low_open=True)
    p = _check_range("usd_per_mtok", usd_per_mtok, 0.0)
    b = _check_range("billed_per_output_token", billed_per_output_token, 0.0)
    tokens = n * t * u * SECONDS_PER_YEAR
    return _out(tokens), _out(tokens * b * p / TOKENS_PER_MTOK)


def frontier_economics(front: Any, scenario: Any, catalog: Catalog | None = None) -> Any:
    r"""The frontier with each point's power, output tok/s per MW and $/Mtok.

    Power: :func:`tokenfab.cost.serving_power_w` of the point's memory and compute activity
    (the operating-point power model) plus the host's share of the node
    (:func:`tokenfab.cost.it_power_w`). Output tok/s per MW: the point's output rate over that
    draw times the region's PUE, busy all the time. $/Mtok: the bought accelerator-hour (every
    line of the cost model, power at the point's average draw at the catalog's default
    utilisation; rented where the accelerator has no purchase price; the scenario's software
    licence where it applies) over the output tokens an hour at that utilisation. Without activity figures (two pools) or a published power the
    figures stay None.

    Notes
    -----
    .. math:: P = \mathrm{serving\_power}(a_{mem}, a_{cmp}),\quad
              T_{MW} = 10^6 T / (P \cdot PUE),\quad
              c = 10^6 \, C_h(\bar P) / (3600 \, T u)
    """
    from dataclasses import replace

    from tokenfab.cost import average_power_w, default_cost_inputs, it_power_w, serving_power_w
    from tokenfab.hostpower import host_power_w
    from tokenfab.perf.operating import resolve
    from tokenfab.planning import hourly_cost, licence_usd_per_accelerator_year

    if front.hbm_busy_share is None:  # two pools (hetero_frontier): no one activity
        return front
    cat = catalog or default_catalog()
    acc = cat.accelerator(front.accelerator)
    if acc.tdp_w is None:
        return front
    inputs = default_cost_inputs(cat)
    region = cat.region(scenario.region)
    idle = acc.tdp_w * inputs.idle_power_share_of_tdp
    busy = np.asarray(
        serving_power_w(
            acc.tdp_w,
            inputs.idle_power_share_of_tdp,
            front.hbm_busy_share,
            front.compute_busy_share,
            inputs.memory_power_share,
            inputs.compute_power_share,
        ),
        dtype=float,
    )
    host = host_power_w(acc)
    busy = np.asarray(it_power_w(busy, acc.tdp_w, host), dtype=float)  # with the host's draw
    per_mw = front.tok_s_per_accelerator * 1e6 / (busy * region.pue)
    u = inputs.default_utilization
    avg = np.asarray(average_power_w(busy, it_power_w(idle, acc.tdp_w, host), u), dtype=float)
    usd = np.full(busy.shape, np.nan)
    software_id = resolve(scenario, cat).engine.software
    for own in ("buy", "rent"):
        # the chosen licence where it applies (a frontier over several vendors compares the
        # others without it; operations._frontier refuses one that applies to none)
        lic = licence_usd_per_accelerator_year(
            cat, scenario.software_licence, acc.id, software_id, own, strict=False
        )
        try:
            hourly = [
                hourly_cost(acc, region, own, cat, inputs, lic, float(w)).total_usd_per_hour
                for w in avg
            ]
        except (ScenarioError, CatalogError):
            continue
        usd = (
            np.asarray(hourly)
            * TOKENS_PER_MTOK
            / (front.tok_s_per_accelerator * u * SECONDS_PER_HOUR)
        )
        break
    return replace(front, power_w=busy, output_tok_s_per_mw=per_mw, usd_per_mtok=usd)


def tier_point(
    tok_s_per_user: ArrayLike,
    tok_s_per_accelerator: ArrayLike,
    min_tok_s_per_user: float | None,
    max_tok_s_per_user: float | None,
    ttft_s: ArrayLike | None = None,
    ttft_s_max: float | None = None,
) -> int | None:
    """Index of the frontier point with the most tok/s per accelerator inside the band (and
    with ``ttft_s`` within ``ttft_s_max`` when both are given), or None when no point is.

    Examples
    --------
    >>> tier_point([10, 50, 100], [900, 600, 200], 40, None)
    1
    >>> tier_point([10, 50, 100], [900, 600, 200], 1000, None) is None
    True
    >>> tier_point([10, 50, 100], [900, 600, 200], None, None, [2.0, 1.0, 0.5], 1.0)
    1
    """
    x = np.asarray(tok_s_per_user, float)
    y = np.asarray(tok_s_per_accelerator, float)
    ok = np.ones(x.shape, bool)
    if ttft_s_max is not None and ttft_s is not None:
        ok &= np.asarray(ttft_s, float) <= ttft_s_max
    if min_tok_s_per_user is not None:
        ok &= x >= min_tok_s_per_user
    if max_tok_s_per_user is not None:
        ok &= x <= max_tok_s_per_user
    if not ok.any():
        return None
    return int(np.flatnonzero(ok)[np.argmax(y[ok])])


POINT_KEYS = ("output_tok_s_per_user", "output_tok_s_per_accelerator", "ttft_s")
"""What a tier takes from its operating point (keys of ``estimate --json``)."""


def tier_operating_point(
    scenario: Any, front: Any, i: int, catalog: Catalog | None = None
) -> dict[str, float]:
    """Output tok/s per user and per accelerator and service TTFT of frontier point ``i``, as
    the estimate pipeline (:func:`tokenfab.pipeline.evaluate`) computes them.

    The scenario is fixed at the point's layout and batch on one replica, with latency targets
    that never bind (the tier's own band and TTFT bound choose the point), so the figures are
    those ``tokenfab estimate`` gives for that deployment: the factory, the estimate and the
    Monte Carlo share one model path.
    """
    from tokenfab.perf.serving import layout
    from tokenfab.pipeline import evaluate
    from tokenfab.scenario import MAX_TPOT_S, MAX_TTFT_S

    tp, pp, ep = (
        int(a[i]) for a in (front.tensor_parallel, front.pipeline_parallel, front.expert_parallel)
    )
    adp = int(front.attention_data_parallel[i])
    sc = scenario.with_(
        accelerators=int(layout(tp, pp, ep, adp).accelerators),
        tensor_parallel=tp,
        pipeline_parallel=pp,
        expert_parallel=ep,
        attention_data_parallel=adp,
        moe_tensor_parallel=int(front.moe_tensor_parallel[i]),
        batch_size=int(front.batch_size[i]),
        ttft_slo_s=MAX_TTFT_S,
        tpot_slo_s=MAX_TPOT_S,
    )
    r = evaluate(sc, catalog=catalog, keys=POINT_KEYS)
    return {k: float(r.kpis[k][0]) for k in POINT_KEYS}


@dataclass(frozen=True)
class TierResult:
    name: str
    usd_per_mtok: float
    share_of_power: float
    band: tuple[float | None, float | None]
    accelerators: float
    tok_s_per_user: float | None
    output_tok_s_per_accelerator: float
    tokens_per_year: float
    revenue_usd_per_year: float
    note: str = ""
    price_basis: str = "output tokens"
    billed_per_output_token: float = 1.0
    ttft_s: float | None = None
    ttft_s_max: float | None = None
    pools: dict[str, Any] | None = None  # heterogeneous pools serving the tier (see _pool_tier)
    cost_usd_per_year: float | None = None  # the tier's own cost where it is not a power share
    capex_usd: float | None = None

    @property
    def billed_tokens_per_year(self) -> float:
        """Tokens the tier's price applies to: output tokens x billed per output token."""
        return self.tokens_per_year * self.billed_per_output_token

    def as_dict(self) -> dict[str, Any]:
        # a tier given no power runs no point: no speed, TTFT or rate to show (the frontier
        # point it would use is not served), as an unserved tier shows none
        idle = self.share_of_power == 0
        return {
            "name": self.name,
            "usd_per_mtok": self.usd_per_mtok,
            "price_basis": self.price_basis,
            "price_basis_kind": price_basis_kind(self.price_basis),
            "billed_tokens_per_output_token": self.billed_per_output_token,
            "billed_tokens_per_year": self.billed_tokens_per_year,
            "ttft_s": None if idle else self.ttft_s,
            "ttft_s_max": self.ttft_s_max,
            "share_of_power": self.share_of_power,
            "output_tok_s_per_user_min": self.band[0],
            "output_tok_s_per_user_max": self.band[1],
            "accelerators": self.accelerators,
            "prefill_accelerators": None
            if self.pools is None
            else self.pools["prefill_accelerators"],
            "decode_accelerators": None
            if self.pools is None
            else self.pools["decode_accelerators"],
            "tok_s_per_user": None if idle else self.tok_s_per_user,
            "output_tok_s_per_accelerator": 0.0 if idle else self.output_tok_s_per_accelerator,
            "tokens_per_year": self.tokens_per_year,
            "revenue_usd_per_year": self.revenue_usd_per_year,
            "note": self.note,
            "pools": self.pools,
        }


@dataclass
class Factory:
    power_mw: float
    accelerator: str
    model: str
    region: str
    pue: float
    power_w_per_accelerator: float
    accelerators: float
    utilization: float
    tiers: list[TierResult]
    cost_usd_per_year: float | None
    cost_basis: str
    notes: list[str] = field(default_factory=list)
    precision: str = ""
    frontier: Any = None
    average_w_per_accelerator: float = 0.0
    capex_usd: float | None = None
    grid_co2e_g_per_kwh: float = 0.0
    embodied_kgco2e_per_accelerator: float | None = None
    life_years: float = 0.0
    decode_accelerator: str | None = None  # heterogeneous pools for tiers out of reach
    homogeneous_cost_usd_per_year: float = 0.0  # the factory's accelerator on all the power
    demand: tuple[float, float] | None = None  # output tokens a day, peak to average
    ownership: str = "buy"  # how the accelerators are priced: buy or rent

    @property
    def facility_average_w(self) -> float:
        """Average facility draw: accelerators x their average draw x PUE."""
        return self.accelerators * self.average_w_per_accelerator * self.pue

    @property
    def co2e_g_per_year(self) -> float:
        """Operational gCO2e a year: facility energy x grid intensity."""
        return self.facility_average_w * HOURS_PER_YEAR / 1e3 * self.grid_co2e_g_per_kwh

    @property
    def embodied_co2e_g_per_year(self) -> float | None:
        """Manufacturing gCO2e a year, over the service life (:mod:`tokenfab.carbon`)."""
        if self.embodied_kgco2e_per_accelerator is None:
            return None
        return self.accelerators * self.embodied_kgco2e_per_accelerator * 1e3 / self.life_years

    @property
    def co2e_g_per_mtok(self) -> float | None:
        """Operational gCO2e per million output tokens: facility energy x grid intensity."""
        return _per_mtok(self.co2e_g_per_year, self.tokens_per_year)

    @property
    def embodied_co2e_g_per_mtok(self) -> float | None:
        """Manufacturing gCO2e per million output tokens (:mod:`tokenfab.carbon`)."""
        return _per_mtok(self.embodied_co2e_g_per_year, self.tokens_per_year)

    def tok_s_per_mw_curve(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """The frontier in factory units: output tok/s per user against output tok/s per MW
        of facility capacity (utilisation included)."""
        per_mw = (
            self.frontier.tok_s_per_accelerator
            * self.utilization
            / (self.power_w_per_accelerator * self.pue / 1e6)
        )
        return np.asarray(self.frontier.tok_s_per_user), np.asarray(per_mw)

    @property
    def revenue_usd_per_year(self) -> float:
        return sum(t.revenue_usd_per_year for t in self.tiers)

    @property
    def tokens_per_year(self) -> float:
        return sum(t.tokens_per_year for t in self.tiers)

    @property
    def output_tok_s_per_mw(self) -> float:
        """Average output tokens per second per MW of facility capacity (utilisation included)."""
        return self.tokens_per_year / SECONDS_PER_YEAR / self.power_mw

    def tier_cost_usd_per_year(self, tier: TierResult) -> float | None:
        """A tier's cost: its pools' where heterogeneous pools serve it, else its share of the
        accelerators (of the power) of the factory's cost."""
        if tier.pools is not None:
            return tier.cost_usd_per_year
        if self.cost_usd_per_year is None:
            return None
        return self.homogeneous_cost_usd_per_year * tier.share_of_power

    def as_dict(self) -> dict[str, Any]:
        cost = self.cost_usd_per_year
        rev = self.revenue_usd_per_year
        return {
            "power_mw": self.power_mw,
            "accelerator": self.accelerator,
            "model": self.model,
            "region": self.region,
            "precision": self.precision,
            "pue": self.pue,
            "decode_accelerator": self.decode_accelerator,
            "ownership": self.ownership,
            "power_w_per_accelerator": self.power_w_per_accelerator,
            "accelerators": self.accelerators,
            "utilization": self.utilization,
            "tokens_per_year": self.tokens_per_year,
            "output_tok_s_per_mw": self.output_tok_s_per_mw,
            "output_tok_s_per_gw": self.output_tok_s_per_mw * 1e3,
            "average_w_per_accelerator": self.average_w_per_accelerator,
            "tokens_per_joule": self.tokens_per_year / SECONDS_PER_YEAR / self.facility_average_w,
            "revenue_usd_per_year": rev,
            "revenue_usd_per_accelerator_hour": rev / (self.accelerators * HOURS_PER_YEAR),
            "cost_usd_per_year": cost,
            "capex_usd": self.capex_usd,
            "cost_usd_per_mtok": None
            if cost is None or self.tokens_per_year == 0
            else cost / (self.tokens_per_year / TOKENS_PER_MTOK),
            "co2e_g_per_mtok": self.co2e_g_per_mtok,
            "embodied_co2e_g_per_mtok": self.embodied_co2e_g_per_mtok,
            "margin": None if cost is None or rev == 0 else (rev - cost) / rev,
            "cost_basis": self.cost_basis,
            "tiers": [
                {
                    **t.as_dict(),
                    "output_tok_s_per_mw": _tok_s_per_mw(
                        t.tokens_per_year, t.share_of_power * self.power_mw
                    ),
                    "cost_usd_per_year": self.tier_cost_usd_per_year(t),
                }
                for t in self.tiers
            ],
            "demand": _demand_dict(self),
            "notes": self.notes,
        }


def _tok_s_per_mw(tokens_per_year: float, power_mw: float) -> float | None:
    """Average output tok/s per MW of the facility power given to a tier (utilisation
    included): tokens a year / 31,536,000 s / MW; None for a tier given no power."""
    return None if power_mw == 0 else tokens_per_year / SECONDS_PER_YEAR / power_mw


def _per_mtok(per_year: float | None, tokens_per_year: float) -> float | None:
    return (
        None
        if per_year is None or tokens_per_year == 0
        else per_year / (tokens_per_year / TOKENS_PER_MTOK)
    )


def _sum_or_none(values: Any) -> float | None:
    """The sum, or None when any term is None (not priced, not known)."""
    values = list(values)
    return None if any(v is None for v in values) else float(sum(values))


@dataclass
class FactoryMix:
    """A facility whose power is split across (accelerator, model) parts, each a
    :class:`Factory` of its share of the power with the same tiers: the totals are sums."""

    power_mw: float
    parts: list[Factory]
    shares: list[float]
    demand: tuple[float, float] | None = None

    @property
    def utilization(self) -> float:
        return self.parts[0].utilization

    @property
    def revenue_usd_per_year(self) -> float:
        return sum(p.revenue_usd_per_year for p in self.parts)

    @property
    def tokens_per_year(self) -> float:
        return sum(p.tokens_per_year for p in self.parts)

    @property
    def cost_usd_per_year(self) -> float | None:
        return _sum_or_none(p.cost_usd_per_year for p in self.parts)

    @property
    def output_tok_s_per_mw(self) -> float:
        return self.tokens_per_year / SECONDS_PER_YEAR / self.power_mw

    def _tiers(self) -> list[dict[str, Any]]:
        """Each tier summed over the parts (they share the tier catalog and its shares)."""
        rows = []
        for i, t in enumerate(self.parts[0].tiers):
            same = [p.tiers[i] for p in self.parts]
            rows.append(
                {
                    "name": t.name,
                    "usd_per_mtok": t.usd_per_mtok,
                    "price_basis_kind": price_basis_kind(t.price_basis),
                    "share_of_power": t.share_of_power,
                    "accelerators": sum(x.accelerators for x in same),
                    "tokens_per_year": sum(x.tokens_per_year for x in same),
                    "output_tok_s_per_mw": _tok_s_per_mw(
                        sum(x.tokens_per_year for x in same), t.share_of_power * self.power_mw
                    ),
                    "billed_tokens_per_year": sum(x.billed_tokens_per_year for x in same),
                    "revenue_usd_per_year": sum(x.revenue_usd_per_year for x in same),
                    "cost_usd_per_year": _sum_or_none(
                        p.tier_cost_usd_per_year(x) for p, x in zip(self.parts, same, strict=True)
                    ),
                }
            )
        return rows

    def as_dict(self) -> dict[str, Any]:
        cost, rev, tokens = self.cost_usd_per_year, self.revenue_usd_per_year, self.tokens_per_year
        first = self.parts[0]
        return {
            "power_mw": self.power_mw,
            "region": first.region,
            "pue": first.pue,
            "utilization": self.utilization,
            "accelerators": sum(p.accelerators for p in self.parts),
            "tokens_per_year": tokens,
            "output_tok_s_per_mw": self.output_tok_s_per_mw,
            "output_tok_s_per_gw": self.output_tok_s_per_mw * 1e3,
            "tokens_per_joule": tokens
            / SECONDS_PER_YEAR
            / sum(p.facility_average_w for p in self.parts),
            "revenue_usd_per_year": rev,
            "revenue_usd_per_accelerator_hour": rev
            / (sum(p.accelerators for p in self.parts) * HOURS_PER_YEAR),
            "cost_usd_per_year": cost,
            "capex_usd": _sum_or_none(p.capex_usd for p in self.parts),
            "cost_usd_per_mtok": _per_mtok(cost, tokens),
            "co2e_g_per_mtok": _per_mtok(sum(p.co2e_g_per_year for p in self.parts), tokens),
            "embodied_co2e_g_per_mtok": _per_mtok(
                _sum_or_none(p.embodied_co2e_g_per_year for p in self.parts), tokens
            ),
            "margin": None if cost is None or rev == 0 else (rev - cost) / rev,
            "tiers": self._tiers(),
            "mix": [
                {
                    "accelerator": p.accelerator,
                    "model": p.model,
                    "share_of_power": s,
                    "factory": p.as_dict(),
                }
                for p, s in zip(self.parts, self.shares, strict=True)
            ],
            "demand": _demand_dict(self),
            "notes": [f"{p.accelerator} / {p.model}: {n}" for p in self.parts for n in p.notes],
        }


def parse_mix_entry(
    text: str, model: str | None = None, field: str = "mix"
) -> tuple[str, str | None, float]:
    """``accelerator[:model]:share`` -> (accelerator, model, share); ``model`` when left out.

    Examples
    --------
    >>> parse_mix_entry("gb300:llama-3.1-70b:0.6", "x")
    ('gb300', 'llama-3.1-70b', 0.6)
    >>> parse_mix_entry("h100-sxm:0.4", "llama-3.1-8b")
    ('h100-sxm', 'llama-3.1-8b', 0.4)
    """
    parts = [p.strip() for p in text.split(":")]
    try:
        share = float(parts[-1])
    except ValueError:
        share = None
    if share is None or len(parts) not in (2, 3) or not all(parts):
        raise ScenarioError(
            f"{field}: {text!r} is not accelerator[:model]:share (e.g. gb300:llama-3.1-70b:0.5)"
        )
    return parts[0], parts[1] if len(parts) == 3 else model, share


def factory_mix(
    power_mw: float,
    mix: list[tuple[str, str, float]],
    *,
    tokens_per_day: float | None = None,
    peak_to_average: float | None = None,
    **kwargs: Any,
) -> FactoryMix:
    r"""A facility of ``power_mw`` MW split across accelerators and models.

    ``mix`` lists ``(accelerator, model, share of power)``, the shares summing to 1. Each part
    is a :func:`factory` of ``share x power_mw`` MW running its model on its accelerator, with
    the same tiers and tier shares, workload, region and options (``kwargs``); revenue, cost,
    capex, tokens and emissions of the facility are the parts' sums.

    Notes
    -----
    .. math:: R = \sum_k R_k(s_k P), \qquad V = \sum_k V_k(s_k P)

    A factory is linear in its power (its accelerators are ``P / PUE / TDP``), so a part of
    share ``s`` earns ``s`` times what the same factory earns on all the power.
    """
    p_mw = float(_check_range("power_mw", power_mw, MIN_POWER_MW, MAX_POWER_MW))
    demand = _demand_in(tokens_per_day, peak_to_average)
    if not mix:
        raise ScenarioError("mix: give at least one accelerator:model:share entry")
    for i, (_, _, s) in enumerate(mix):
        _check_range(f"mix.{i}.share", s, 0.0, 1.0, low_open=True)
    seen: dict[tuple[str, str], float] = {}
    for acc, model, s in mix:
        # as --accelerator refuses an id listed twice: two entries of one accelerator and
        # model are one part split in two, whose rows printed twice
        if (acc, model) in seen:
            both = seen[acc, model] + s
            raise ScenarioError(
                f"mix: {acc}:{model} is given twice; give each accelerator and model once, "
                f"with the shares summed ({acc}:{model}:{both:g})"
            )
        seen[acc, model] = s
    total = sum(s for _, _, s in mix)
    if abs(total - 1.0) > 1e-6:
        raise ScenarioError(f"mix: the shares of power sum to {total:g}; they must sum to 1")
    parts = []
    for i, (acc, model, s) in enumerate(mix):
        try:
            parts.append(factory(p_mw * s, acc, model, **kwargs))
        except UnknownIdError as exc:  # "mix.0 (h100-sxm:nosuch:1): unknown id 'nosuch' ..."
            raise exc.named(f"mix.{i} ({acc}:{model}:{s:g})") from None
        except TokenfabError as exc:
            raise type(exc)(f"mix.{i} ({acc}:{model}:{s:g}): {exc}") from None
    return FactoryMix(p_mw, parts, [s for _, _, s in mix], demand)


def demand_use(
    tokens_per_day: float,
    peak_to_average: float,
    facility_tokens_per_year: float,
    utilization: float,
    power_mw: float,
) -> dict[str, float | None]:
    r"""The share of a facility a demand uses, and the facility power it needs.

    The demand is served at the facility's mix of tiers, at its average output tokens per
    second per MW; a year is 365 days.

    Notes
    -----
    .. math:: s = \frac{365\,D}{V}, \qquad P_D = s\,P, \qquad
              s_{peak} = s\,a\,u, \qquad P_{peak} = s_{peak}\,P

    with ``D`` output tokens a day, ``V`` the facility's output tokens a year (busy a share
    ``u`` of the time), ``P`` its power and ``a`` the demand's peak over average: at its peak
    the demand uses ``s_peak`` of what the facility carries when busy all the time (``V/u``).
    ``P_D`` is the facility that serves the demand on average at the factory's utilisation,
    ``P_peak`` the one that carries its peak (busy all the time at the peak).

    Examples
    --------
    1e12 output tokens a day on a facility that serves 7.3e14 a year, 80 % busy, 100 MW, peak
    twice the average: 3.65e14 / 7.3e14 = 50 % of it, 50 MW; at the peak 0.5 x 2 x 0.8 = 80 %.

    >>> d = demand_use(1e12, 2.0, 7.3e14, 0.8, 100.0)
    >>> d["share_of_facility"], d["power_mw_needed"], d["peak_share_of_capacity"]
    (0.5, 50.0, 0.8)
    >>> d["power_mw_for_peak"]
    80.0
    """
    d = float(_check_range("tokens_per_day", tokens_per_day, 0.0, low_open=True))
    a = float(_check_range("peak_to_average", peak_to_average, 1.0))
    per_year = d * 365.0
    if facility_tokens_per_year <= 0:
        share = need = peak = for_peak = None
    else:
        share = per_year / facility_tokens_per_year
        need, peak = share * power_mw, share * a * utilization
        for_peak = peak * power_mw
    return {
        "tokens_per_day": d,
        "tokens_per_year": per_year,
        "peak_to_average": a,
        "share_of_facility": share,
        "power_mw_needed": need,
        "peak_share_of_capacity": peak,
        "power_mw_for_peak": for_peak,
    }


def _demand_in(
    tokens_per_day: float | None, peak_to_average: float | None
) -> tuple[float, float] | None:
    """A demand given to the factory, checked; ``peak_to_average`` alone is refused."""
    a = 1.0 if peak_to_average is None else peak_to_average
    if tokens_per_day is None:
        if a != 1.0:
            raise ScenarioError(
                "peak_to_average: a peak goes with a demand; give tokens_per_day (or --demand)"
            )
        return None
    from tokenfab.scenario import MAX_PEAK_TO_AVERAGE, MAX_TOKENS_PER_DAY, MIN_TOKENS_PER_DAY

    d = float(
        _check_range("tokens_per_day", tokens_per_day, MIN_TOKENS_PER_DAY, MAX_TOKENS_PER_DAY)
    )
    return d, float(_check_range("peak_to_average", a, 1.0, MAX_PEAK_TO_AVERAGE))


def _demand_dict(fac: Any) -> dict[str, float | None] | None:
    if fac.demand is None:
        return None
    return demand_use(*fac.demand, fac.tokens_per_year, fac.utilization, fac.power_mw)


MIN_POWER_MW = 0.01
"""10 kW: about one 8-accelerator server (NVIDIA DGX H100: ~10.2 kW maximum, DGX H100 user
guide); a facility smaller than one server is not a factory (1e-300 MW once priced a
fraction of a chip)."""
MAX_POWER_MW = 100_000.0
"""100 GW: twice the average draw of all the world's data centres (~415 TWh in 2024, IEA
'Energy and AI', 2025, about 47 GW)."""


def _unserved(
    tid: str,
    tier: Any,
    share: float,
    band: tuple[float | None, float | None],
    accelerators: float,
    note: str,
    basis: str,
    billed: float,
) -> TierResult:
    """A tier the accelerator cannot serve: no operating point, no tokens, no revenue."""
    return TierResult(
        tid,
        tier.usd_per_mtok,
        share,
        band,
        accelerators,
        None,
        0.0,
        0.0,
        0.0,
        note,
        basis,
        billed,
        None,
        tier.ttft_s_max,
    )


def factory(
    power_mw: float,
    accelerator: str,
    model: str = "llama-3.1-70b",
    *,
    workload: str = "chat",
    precision: str | None = None,
    region: str = "us",
    shares: dict[str, float] | None = None,
    replica_accelerators: int | None = None,
    catalog: Catalog | None = None,
    decode_accelerator: str | None = None,
    kv_link_gb_s: float | None = None,
    input_tokens: int | None = None,
    output_tokens: int | None = None,
    reasoning_tokens: int | None = None,
    tokens_per_day: float | None = None,
    peak_to_average: float | None = None,
    ownership: str = "buy",
) -> Factory:
    """Revenue, cost and tokens of a factory of ``power_mw`` MW (facility power).

    ``ownership`` prices the accelerators ``buy`` (every line of the cost model: the price
    amortised with the cost of capital, power at the average draw, operations, software, the
    building; capex reported) or ``rent`` (the cheapest on-demand offer an hour, which pays the
    provider's power and building, plus software; no capex). Either way the facility is sized
    by power (N = P / PUE / TDP).

    ``shares`` maps tier id to share of power (default: the catalog's ``share_of_power``);
    they must sum to 1. ``replica_accelerators`` bounds the layouts of the frontier (default:
    the accelerator's scale-up domain, at least 8, or the fewest accelerators that hold the model
    where that is more). ``decode_accelerator`` serves each tier
    that ``accelerator`` alone cannot reach with heterogeneous pools, prefill on
    ``accelerator`` and decode on ``decode_accelerator`` (:func:`_pool_tier`; seed 002's
    Rubin + LPX premium tier); ``kv_link_gb_s`` is the link between them.

    ``input_tokens``, ``output_tokens`` and ``reasoning_tokens`` replace the workload's token
    lengths (a demand file's mean call, :meth:`tokenfab.demand.Demand.scenario_fields`);
    ``tokens_per_day`` (output tokens) and ``peak_to_average`` are a demand whose use of the
    facility :func:`demand_use` reports.
    """
    from tokenfab.cost import average_power_w, default_cost_inputs, it_power_w
    from tokenfab.hostpower import host_power_w
    from tokenfab.perf.frontier import frontier
    from tokenfab.planning import hourly_cost
    from tokenfab.scenario import Scenario

    p_mw = float(_check_range("power_mw", power_mw, MIN_POWER_MW, MAX_POWER_MW))
    if ownership not in ("buy", "rent"):
        raise ScenarioError(f"ownership: {ownership!r} is not allowed; allowed: buy, rent")
    demand = _demand_in(tokens_per_day, peak_to_average)
    cat = catalog or default_catalog()
    tiers = cat.table("tiers")
    share = {t.id: t.share_of_power for t in tiers.values()} if shares is None else dict(shares)
    unknown = sorted(set(share) - set(tiers))
    if unknown:
        raise ScenarioError(f"shares: unknown tier {unknown[0]!r}; allowed: {', '.join(tiers)}")
    for k, v in share.items():
        _check_range(f"shares.{k}", v, 0.0, 1.0)
    total = sum(share.values())
    if abs(total - 1.0) > 1e-6:
        raise ScenarioError(
            f"shares: the tier shares of power sum to {total:g}; they must sum to 1"
        )
    acc = cat.accelerator(accelerator)
    if decode_accelerator is not None:  # looked up only for a tier out of reach: check now
        try:
            cat.accelerator(decode_accelerator)
        except UnknownIdError as exc:
            raise exc.named("decode_accelerator") from None
    elif kv_link_gb_s is not None:
        raise ScenarioError(
            "kv_link_gb_s: the link between heterogeneous pools; give decode_accelerator too, "
            "or drop kv_link_gb_s"
        )
    reg = cat.region(region)
    cat.model(model)  # an unknown model is the model's error, not "accelerator: no frontier"
    inputs = default_cost_inputs(cat)
    if acc.tdp_w is None:
        raise ScenarioError(
            f"accelerator: {acc.id} has no published power (tdp_w), which a factory's size "
            "needs; add tdp_w in a catalog override (--catalog DIR)"
        )
    chip_w = float(acc.tdp_w)
    host_w = host_power_w(acc)
    # the node's maximum per accelerator, TDP plus the host's share (tokenfab.hostpower): the
    # budget the factory is sized for
    tdp_w = chip_w + host_w
    # serving hours at up to TDP, idle hours at the idle floor, each with the host's draw
    # (tokenfab.cost.it_power_w): an upper bound, since the frontier's points draw TDP only
    # when compute-bound
    average_w = float(
        it_power_w(
            average_power_w(
                chip_w, chip_w * inputs.idle_power_share_of_tdp, inputs.default_utilization
            ),
            chip_w,
            host_w,
        )
    )
    it_w = p_mw * 1e6 / reg.pue
    n_total = it_w / tdp_w
    u = inputs.default_utilization
    domain = replica_accelerators or max(8, acc.scaleup_domain_size or 1)
    if precision is None:  # the densest format the chip lists: what a factory would run
        precision = next(
            (f for f in ("fp8", "fp4") if getattr(acc, f"{f}_dense_tflops", None)), "bf16"
        )
    lengths = {
        k: v
        for k, v in (
            ("input_tokens", input_tokens),
            ("output_tokens", output_tokens),
            ("reasoning_tokens", reasoning_tokens),
        )
        if v is not None
    }
    wl = cat.workload(workload)  # an unknown id is its own error, not "no frontier"
    sc = Scenario.parse(
        {
            "model": model,
            "accelerator": accelerator,
            "accelerators": domain,
            "workload": workload,
            "region": region,
            "precision": precision,
            **lengths,
        }
    )
    replica_note = None
    if replica_accelerators is None:
        # a model too large for one scale-up domain gets replicas of the fewest accelerators
        # that hold it (DeepSeek R1's 673 GB of FP8 weights: 16 H100s), as a fleet would run it;
        # "needs at least 16 x h100-sxm; got 8" once refused the factory with no option to give
        from tokenfab.perf.operating import minimum_accelerators, resolve

        try:
            need = minimum_accelerators(resolve(sc, cat))
        except TokenfabError:
            need = None  # the frontier below says why
        if need is not None and need > domain:
            replica_note = (
                f"replicas: {model} in {precision} does not fit {domain} x {accelerator}; "
                f"each replica has {need} (the fewest that hold it)"
            )
            domain = need
            sc = sc.with_(accelerators=domain)
    try:
        front = frontier(sc, cat)
    except TokenfabError as exc:
        if str(exc).split(":", 1)[0] in _REQUEST_FIELDS:
            raise  # the request's lengths do not fit the model: no accelerator would do
        raise ScenarioError(
            f"accelerator: {accelerator}: no frontier for {model} ({exc})"
        ) from None
    in_tokens = lengths.get("input_tokens", wl.input_tokens)
    out_tokens = lengths.get("output_tokens", wl.output_tokens) + lengths.get(
        "reasoning_tokens", wl.reasoning_tokens
    )  # what the hardware generates
    pools_in = {
        **lengths,
        "model": model,
        "accelerator": decode_accelerator,
        "prefill_accelerator": accelerator,
        "workload": workload,
        "precision": precision,
        "region": region,
        "kv_link_gb_s": kv_link_gb_s,
    }
    results, notes = [], [replica_note] if replica_note else []
    kinds = {
        tid: price_basis_kind(t.price_basis or "", f"price_basis of tier {tid}")
        for tid, t in tiers.items()
    }
    ratio = None
    if "blended" in kinds.values():
        ratio = typical_output_to_input_price_ratio(cat)
    if any(k == "blended" and share.get(tid, 0.0) > 0 for tid, k in kinds.items()):
        b = billed_tokens_per_output_token("blended", in_tokens, out_tokens, ratio)
        f_in, f_out = (float(x) for x in blended_prices(1.0, ratio))
        notes.append(
            f"blended tiers: the price is for {BLEND_INPUT_PER_OUTPUT:g} prompt : 1 output "
            f"tokens (Artificial Analysis's blend), split at the API catalog's median "
            f"output/input price ratio {ratio:.3g}: prompt {f_in:.3g}x, output {f_out:.3g}x "
            f"the blended price; at {in_tokens:,} prompt / {out_tokens:,} output tokens each "
            f"output token earns {b:.3g}x it"
        )
    for tid, tier in tiers.items():
        s = share.get(tid, 0.0)
        band = (tier.output_tok_s_per_user_min, tier.output_tok_s_per_user_max)
        basis = tier.price_basis or ""
        billed = billed_tokens_per_output_token(kinds[tid], in_tokens, out_tokens, ratio)
        n = n_total * s
        i = tier_point(
            front.tok_s_per_user,
            front.tok_s_per_accelerator,
            *band,
            front.ttft_s,
            tier.ttft_s_max,
        )
        note = None
        if i is None and tier.ttft_s_max is not None and front.ttft_s is not None:
            in_band = tier_point(front.tok_s_per_user, front.tok_s_per_accelerator, *band)
            if in_band is not None:
                x = front.tok_s_per_user
                lo, hi = (b if b is not None else np.nan for b in band)
                inb = ~(x < lo) & ~(x > hi)  # a missing bound (NaN) compares False
                best = float(np.min(front.ttft_s[inb]))
                note = (
                    f"no revenue: the tier needs TTFT <= {tier.ttft_s_max:g} s; {accelerator} "
                    f"reaches {best:.3g} s on {model} in the tier's speed band"
                )
        if i is None and note is None:
            best = float(np.max(front.tok_s_per_user))
            need = " to ".join(f"{b:g}" for b in band if b is not None)
            need = (
                f"{need}+" if band[1] is None else (need if band[0] is not None else f"<= {need}")
            )
            note = (
                f"no revenue: the tier needs {need} tok/s per user; {accelerator} reaches "
                f"{best:.0f} on {model}"
            )
        if i is None:
            # out of the accelerator's reach: heterogeneous pools where a decode accelerator is
            # given, else the tier earns nothing and says why
            pooled = (
                _pool_tier(
                    tid, tier, s, band, basis, billed, note, it_w, u, pools_in, cat, ownership
                )
                if decode_accelerator
                else None
            )
            if pooled is not None:
                results.append(pooled)
                if pooled.note and s > 0:
                    notes.append(f"{tid}: {pooled.note}")
                continue
            if s > 0:
                notes.append(f"{tid}: {note}")
            results.append(_unserved(tid, tier, s, band, n, note, basis, billed))
            continue
        point = tier_operating_point(sc, front, i, cat)
        t_acc = point["output_tok_s_per_accelerator"]
        v, r = tier_revenue_usd_per_year(n, t_acc, u, tier.usd_per_mtok, billed)
        results.append(
            TierResult(
                tid,
                tier.usd_per_mtok,
                s,
                band,
                n,
                point["output_tok_s_per_user"],
                t_acc,
                float(v),
                float(r),
                price_basis=basis,
                billed_per_output_token=billed,
                ttft_s=point["ttft_s"],
                ttft_s_max=tier.ttft_s_max,
            )
        )
    pooled_share = sum(t.share_of_power for t in results if t.pools is not None)
    capex = None
    if acc.price_usd is not None and ownership == "buy":
        capex = n_total * (1 - pooled_share) * _capex_per_accelerator(acc, inputs)
        if pooled_share:
            pooled_capex = [t.capex_usd for t in results if t.pools is not None]
            capex = None if None in pooled_capex else capex + sum(pooled_capex)  # type: ignore[operator]
    homogeneous = 0.0
    try:
        hc = hourly_cost(acc, reg, ownership, cat, inputs, power_w=average_w)
        homogeneous = hc.total_usd_per_hour * n_total * HOURS_PER_YEAR
        cost: float | None = homogeneous * (1 - pooled_share)
        basis = (
            f"bought, every line of the cost model: {hc.basis}"
            if ownership == "buy"
            else f"rented at ${hc.total_usd_per_hour:.3g} an accelerator-hour (rental and "
            f"software; the provider pays power and building): {hc.basis}"
        )
    except (ScenarioError, CatalogError) as exc:
        cost, basis = None, f"not priced: {exc}"
        notes.append(f"cost: {exc}")
    if cost is not None and pooled_share:
        pooled_cost = [t.cost_usd_per_year for t in results if t.pools is not None]
        if None in pooled_cost:
            cost, basis = None, "not priced: a heterogeneous tier's pools have no price"
        else:
            cost += sum(pooled_cost)  # type: ignore[arg-type]
            basis += f"; heterogeneous tiers: prefill {accelerator}, decode {decode_accelerator}"
    fac = Factory(
        p_mw,
        accelerator,
        model,
        region,
        reg.pue,
        tdp_w,
        n_total,
        u,
        results,
        cost,
        basis,
        notes,
        precision,
        front,
        average_w,
        capex,
        reg.grid_co2e_g_per_kwh,
        _embodied_kg(accelerator),
        inputs.useful_life_years,
    )
    fac.homogeneous_cost_usd_per_year = homogeneous
    fac.ownership = ownership
    fac.decode_accelerator = decode_accelerator
    fac.demand = demand
    if (in_tokens, out_tokens) != (wl.input_tokens, wl.output_tokens + wl.reasoning_tokens):
        fac.notes.append(
            f"token lengths {in_tokens:g} prompt and {out_tokens:g} generated per request "
            f"(given, e.g. by a demand file), not the {workload} workload's"
        )
    if pooled_share:
        fac.notes.append(
            f"accelerators counts {accelerator} equivalents by power (energy and embodied carbon "
            "are computed on that basis); each pooled tier's own counts are in its pools"
        )
    fac.notes.append(_bands_note(tiers))
    market = _market_note(results, cat, model, in_tokens, out_tokens)
    if market:
        fac.notes.append(market)
    return fac


def _bands_note(tiers: dict[str, Any]) -> str:
    """Which tiers the catalog gives a sourced speed band and a TTFT bound, and what the
    output shows for the others (the sources: ``tokenfab catalog tiers --sources``)."""
    banded, open_ = [], []
    for tid, t in tiers.items():
        lo, hi = t.output_tok_s_per_user_min, t.output_tok_s_per_user_max
        if lo is None and hi is None:
            open_.append(tid)
        else:
            banded.append(
                f"{tid} {lo:g} to {hi:g}"
                if lo is not None and hi is not None
                else (f"{tid} >= {lo:g}" if lo is not None else f"{tid} <= {hi:g}")
            )
    no_ttft = [tid for tid, t in tiers.items() if t.ttft_s_max is None]
    parts = [
        "tier speed bands, output tok/s per user (sources: `tokenfab catalog tiers --sources`): "
        + (", ".join(banded) if banded else "none")
    ]
    if open_:
        parts.append(
            f"{', '.join(open_)}: no published band, served at the frontier's highest throughput"
        )
    if len(no_ttft) == len(tiers):
        parts.append(
            "no tier publishes a TTFT bound, so a tier's TTFT is that of its chosen point "
            "(service TTFT, no queueing), not checked against a target"
        )
    elif no_ttft:
        parts.append(f"no published TTFT bound for {', '.join(no_ttft)}")
    return "; ".join(parts)


def _market_note(
    tiers: list[TierResult], catalog: Catalog, model: str, in_tokens: float, out_tokens: float
) -> str | None:
    """What the model sells for, beside what the cheapest earning tier bills for it: the
    keynote's tier prices are not a given model's market price (a 70B or 8B model sells for
    less than the $3-6 a million tokens of frontier models)."""
    from tokenfab.planning import cheapest_api

    earning = [t for t in tiers if t.share_of_power > 0 and t.usd_per_mtok > 0]
    api = cheapest_api(catalog, model, in_tokens, out_tokens)
    if not earning or api is None:
        return None
    low = min(earning, key=lambda t: t.usd_per_mtok * t.billed_per_output_token)
    tier_usd = low.usd_per_mtok * low.billed_per_output_token
    api_usd = api.usd_per_request / out_tokens * TOKENS_PER_MTOK
    return (
        f"market check: {model}'s cheapest API ({api.price.provider}) bills "
        f"${api_usd:.3g} per million output tokens with their prompts; the {low.name} tier "
        f"bills ${tier_usd:.3g} ({tier_usd / api_usd:.2g}x): the revenue is the tiers' pricing, "
        "not this model's market"
    )


def _capex_per_accelerator(acc: Any, inputs: Any) -> float:
    """What the cost model amortises, paid up front, per accelerator: the chip, its system,
    the scale-out network as a share of all cluster hardware, the building per MW of the node's
    maximum (TDP plus the host's share, :func:`tokenfab.hostpower.host_power_w`)."""
    from tokenfab.hostpower import host_power_w

    hardware = acc.price_usd * (1 + inputs.system_share_of_accelerator_price)
    hardware /= 1 - inputs.network_share_of_cluster_capex
    return hardware + inputs.facility_capex_usd_per_mw * (acc.tdp_w + host_power_w(acc)) / 1e6


def _pool_tier(
    tid: str,
    tier: Any,
    share: float,
    band: tuple[float | None, float | None],
    basis: str,
    billed: float,
    gpu_note: str,
    it_w: float,
    utilization: float,
    pools_in: dict[str, Any],
    cat: Catalog,
    ownership: str = "buy",
) -> TierResult | None:
    r"""A tier the factory's accelerator cannot reach, served by heterogeneous pools.

    Prefill on the factory's accelerator, decode on ``pools_in["accelerator"]``, at the
    decode pool's most output tokens a second per accelerator whose speed is in the tier's
    band (:func:`tokenfab.perf.hetero.hetero_point` with ``tpot_slo_s`` = 1 / the band's
    floor, ``ttft_slo_s`` the tier's ceiling). The tier's IT power ``P`` (its share of the
    facility's, provisioned at TDP plus the host's share like the rest) holds ``k`` copies of
    the pools' pair:

    .. math:: k = P / (N_p W_p + N_d W_d), \qquad T = k\,X_{pair}

    output tokens a second while serving (``X_pair`` what the pair carries); revenue as
    :func:`tier_revenue_usd_per_year`; cost and capex are the pools' own. Where the pools
    cannot be modelled (no serving engine, no published power of an accelerator) the tier
    earns nothing and the note says why: no tokens per MW are invented.
    """
    from tokenfab.cost import average_power_w, default_cost_inputs, it_power_w
    from tokenfab.hostpower import host_power_w
    from tokenfab.perf.hetero import hetero_point
    from tokenfab.planning import hourly_cost
    from tokenfab.scenario import MAX_TTFT_S, Scenario

    lo, hi = band
    dec_id = pools_in["accelerator"]

    def unserved(why: str) -> TierResult:
        return _unserved(
            tid,
            tier,
            share,
            band,
            0.0,
            f"{gpu_note}; with decode on {dec_id}: {why}",
            basis,
            billed,
        )

    try:
        sc = Scenario.parse(
            {
                **{k: v for k, v in pools_in.items() if v is not None},
                "tpot_slo_s": 1.0 / lo if lo else None,
                "ttft_slo_s": tier.ttft_s_max or MAX_TTFT_S,
            }
        )
        hp = hetero_point(sc, cat)
    except InfeasibleError as exc:
        return unserved(f"out of reach ({exc})")
    except TokenfabError as exc:
        dec_acc = cat.accelerator(dec_id)
        power = (
            ""
            if dec_acc.tdp_w is not None
            else "; nor is its power public (tdp_w empty in accelerators.csv), so no tokens per "
            "MW are assumed for it (docs/claims.md section 11 bounds the power at which it "
            "would pay)"
        )
        return unserved(f"not modelled ({exc}){power}")
    per_user = 1.0 / hp.tpot_s
    if hi is not None and per_user > hi:
        return unserved(
            f"its fastest point in reach, {per_user:.0f} tok/s per user, is above the band"
        )
    pre, dec = hp.prefill.setup.accelerator, hp.decode.setup.accelerator
    missing = [a.id for a in (pre, dec) if a.tdp_w is None]
    if missing:
        return unserved(
            f"{missing[0]} has no published power (accelerators.csv), so the tier's tokens per "
            "MW are not computed"
        )
    n_p, n_d = hp.prefill.accelerators, hp.decode.accelerators
    node_w = {a.id: a.tdp_w + host_power_w(a) for a in (pre, dec)}  # TDP + host share
    pair_w = n_p * node_w[pre.id] + n_d * node_w[dec.id]
    k = it_w * share / pair_w
    n = k * (n_p + n_d)
    per_acc = hp.output_tok_s_total / (n_p + n_d)
    v, r = tier_revenue_usd_per_year(n, per_acc, utilization, tier.usd_per_mtok, billed)
    inputs = default_cost_inputs(cat)
    reg = cat.region(pools_in["region"])
    cost: float | None = 0.0
    capex: float | None = 0.0
    for acc, count in ((pre, n_p), (dec, n_d)):
        avg = float(
            it_power_w(
                average_power_w(acc.tdp_w, acc.tdp_w * inputs.idle_power_share_of_tdp, utilization),
                acc.tdp_w,
                host_power_w(acc),
            )
        )
        try:
            hc = hourly_cost(acc, reg, ownership, cat, inputs, power_w=avg)
            cost = (
                None if cost is None else cost + hc.total_usd_per_hour * k * count * HOURS_PER_YEAR
            )
        except (ScenarioError, CatalogError):
            cost = None
        capex = (
            None
            if capex is None or acc.price_usd is None or ownership == "rent"
            else capex + k * count * _capex_per_accelerator(acc, inputs)
        )
    pools = {
        "prefill_accelerator": pre.id,
        "decode_accelerator": dec.id,
        "prefill_accelerators": k * n_p,
        "decode_accelerators": k * n_d,
        "prefill_power_share": n_p * node_w[pre.id] / pair_w,
        "kv_transfer_s": hp.kv_transfer_s,
        "kv_link_gb_s": hp.kv_link_gb_s,
    }
    return TierResult(
        tid,
        tier.usd_per_mtok,
        share,
        band,
        n,
        per_user,
        per_acc,
        float(v),
        float(r),
        f"served by heterogeneous pools: prefill {pre.id} "
        f"({n_p * node_w[pre.id] / pair_w:.0%} of the tier's power), decode {dec.id}; assumed: "
        f"both pools provisioned at TDP plus the host's share "
        f"({node_w[pre.id]:g} W, {node_w[dec.id]:g} W), the KV cache over {hp.kv_link_gb_s:g} GB/s "
        f"({hp.kv_link_basis})",
        basis,
        billed,
        hp.ttft_s,
        tier.ttft_s_max,
        pools,
        cost,
        capex,
    )


def _embodied_kg(accelerator: str) -> float | None:
    from tokenfab.carbon import embodied_table

    row = embodied_table().get(accelerator)
    return None if row is None else row.accelerator_kgco2e + row.host_kgco2e


_REQUEST_FIELDS = (
    "input_tokens",
    "output_tokens",
    "reasoning_tokens",
    "input_tokens + output_tokens",
)
"""Fields whose error no accelerator would fix (a prompt longer than the model's context):
passed on as they are, not as "accelerator: A: no frontier"."""


def analyse(request: Any, catalog: Catalog | None = None) -> list[Factory] | list[FactoryMix]:
    """One :func:`factory` per accelerator of a :class:`tokenfab.schema.FactoryRequest`, or
    one :func:`factory_mix` of its ``mix``."""
    r = request
    kw: dict[str, Any] = dict(
        workload=r.workload,
        precision=r.precision,
        region=r.region,
        shares=r.shares,
        catalog=catalog,
        decode_accelerator=r.decode_accelerator,
        kv_link_gb_s=r.kv_link_gb_s,
        ownership=r.ownership,
        input_tokens=r.input_tokens,
        output_tokens=r.output_tokens,
        reasoning_tokens=r.reasoning_tokens,
    )
    demand = dict(tokens_per_day=r.tokens_per_day, peak_to_average=r.peak_to_average)
    if r.mix is not None:
        entries = [(e.accelerator, e.model or r.model, e.share) for e in r.mix]
        return [factory_mix(r.facility_mw, entries, **demand, **kw)]
    return [
        factory(r.facility_mw, accelerator, r.model, **demand, **kw)
        for accelerator in r.accelerator
    ]
