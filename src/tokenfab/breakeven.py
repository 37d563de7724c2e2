"""Break-even analysis: when buying accelerators beats renting them or paying an API.

For a daily output-token volume :math:`V` the monthly cost of three ways to serve it is

* **buy**: the deployment ``plan`` installs for :math:`V` bought -- the cheapest that carries
  its peak within the latency targets, ranked and priced with power at its utilisation
  (:func:`tokenfab.planning.operating_point`, :func:`tokenfab.sizing.cheapest_point`) -- its
  accelerators times the cost of an owned accelerator-hour (capital annuities, facility,
  power, operations, software) times 730 h;
* **rent**: the deployment ``plan`` installs for :math:`V` rented (the fewest accelerators
  that carry it; the two may differ) times the cheapest current rental rate times 730 h;
* **API**: the tokens of a month times the cheapest current API price of the same model.

So a row is ``plan`` for that volume and ownership, to the last digit, weight format included:
without a format given, plan's choice at that volume (the cheaper of the model's native format
and FP8 where the accelerator has an FP8 peak; it can differ by volume and ownership, and each
row names its own, :func:`_plan_formats`): one search for both entry points
(:func:`plan_monthly_costs`). A payback is reported only within the hardware's useful life
(cost assumption ``useful-life-years``, :func:`payback_within_life`): one longer than it
does not pay the purchase back. ``accelerators`` given: the fleet grows in whole
groups of that many, each count placed as ``estimate --accelerators`` places it for the
volume (:func:`tokenfab.sizing.count_point`), in the format given or the model's native one
(as estimate). A prefill pool on another accelerator: plan's
two pools at each volume, or with ``accelerators`` whole decode groups of that many, each
count as ``estimate --prefill-accelerator --accelerators`` sizes and prices it for the volume.
Bad input raises :class:`~tokenfab.errors.ScenarioError` with a one-line message.

References
----------
.. [1] Brealey, Myers, Allen, *Principles of Corporate Finance*, 13th ed., McGraw-Hill, 2020,
   ch. 5 (payback period: upfront investment over the periodic saving).
.. [2] "The Inference Economy" (seed document 003): self-hosting "breaks even with API pricing
   within 3-6 months" above 10 million tokens a day; a 70/30 edge/cloud split "reduces total
   inference cost by 50-65%".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from tokenfab.cost import TOKENS_PER_MTOK, _check_range, default_cost_inputs
from tokenfab.errors import CatalogError, InfeasibleError, ScenarioError
from tokenfab.kpis import HOURS_PER_MONTH, SECONDS_PER_DAY, accelerators_for_demand

if TYPE_CHECKING:
    from tokenfab.catalog import Catalog
    from tokenfab.perf.operating import OperatingPoint
    from tokenfab.planning import Estimate
    from tokenfab.scenario import Scenario

DAYS_PER_MONTH = HOURS_PER_MONTH / 24.0  # 30.4167 d, the same month as the 730 h of the KPIs
FINE_GRID_TOKENS_PER_DAY = np.logspace(5.0, 12.0, 7 * 200 + 1)  # 200 points a decade
# Lines of an owned accelerator-hour that are paid month by month, not up front. The facility
# annuity is counted here too, as if the space were leased (colocation): otherwise a payback
# would be free of any building cost.
OPERATING_LINES = ("facility_capex", "power", "operations", "software")

__all__ = [
    "DAYS_PER_MONTH",
    "FINE_GRID_TOKENS_PER_DAY",
    "BreakEvenRates",
    "MonthlyCosts",
    "accelerators_for_volume",
    "api_monthly_cost_usd",
    "breakeven_rates",
    "crossover_tokens_per_day",
    "hybrid_case",
    "hybrid_saving",
    "payback_at",
    "payback_months",
    "payback_within_life",
    "pool_breakeven_rates",
    "upfront_usd_per_accelerator",
]


# -- pure functions on arrays ------------------------------------------------------------------


def accelerators_for_volume(
    tokens_per_day: ArrayLike,
    capacity_output_tok_s_per_replica: ArrayLike,
    accelerators_per_replica: ArrayLike,
    peak_to_average: ArrayLike = 1.0,
    *,
    top_output_tok_s_per_replica: ArrayLike | None = None,
    output_tokens: ArrayLike | None = None,
    queue_wait_s: ArrayLike | None = None,
) -> NDArray[np.int64]:
    """Accelerators to install for a daily output volume, in whole replicas [-].

    With ``queue_wait_s`` the fleet also keeps the mean queueing wait at the peak within it,
    by :func:`tokenfab.sizing.fleet_replicas`, the rule ``plan`` sizes with.

    Parameters
    ----------
    tokens_per_day : array_like
        Output tokens demanded a day [token/day], > 0.
    capacity_output_tok_s_per_replica : array_like
        Output tokens per second one replica delivers [token/s], > 0.
    accelerators_per_replica : array_like
        Accelerators in one replica [-], a whole number ≥ 1.
    peak_to_average : array_like, optional
        Peak over average demand [-], ≥ 1; default 1.
    top_output_tok_s_per_replica : array_like, optional
        A replica's largest output rate [token/s] (default: its capacity), with queue_wait_s.
    output_tokens : array_like, optional
        Output tokens per request [token], with queue_wait_s.
    queue_wait_s : array_like, optional
        Largest mean queueing wait at the peak [s], > 0 (default: none).

    Returns
    -------
    numpy.ndarray
        Accelerators [-], integers ≥ ``accelerators_per_replica``.

    Notes
    -----
    .. math:: N = a \\max\\left(1, \\left\\lceil \\frac{V k / 86400}{T_\\mathrm{replica}}
              \\right\\rceil\\right)

    as :func:`tokenfab.kpis.accelerators_for_demand` [1]_.

    References
    ----------
    .. [1] Gunther, N. J., *Guerrilla Capacity Planning*, Springer, 2007, ch. 1-2.

    Examples
    --------
    864 M tokens a day is 10,000 tok/s; peaks 1.5x; 4,000 tok/s per 8-GPU replica: 4 replicas.

    >>> int(accelerators_for_volume(864e6, 4_000, 8, 1.5))
    32

    With 1,000-token answers and at most 2 s of mean wait: each replica serves a request
    every 1000 / 4000 = 0.25 s, and 15,000 tok/s need R >= 15,000 x (0.25 + 4) / (4 x 4,000)
    = 3.98 replicas (:func:`tokenfab.sizing.replicas_for_wait`), still 4:

    >>> int(accelerators_for_volume(864e6, 4_000, 8, 1.5, output_tokens=1000, queue_wait_s=2))
    32
    """
    from tokenfab.sizing import fleet_replicas

    volume = _check_range("tokens_per_day", tokens_per_day, 0.0, low_open=True)
    carried = accelerators_for_demand(
        volume / SECONDS_PER_DAY,
        peak_to_average,
        capacity_output_tok_s_per_replica,
        accelerators_per_replica,
    )
    if queue_wait_s is None:
        return carried.accelerators
    wait = _check_range("queue_wait_s", queue_wait_s, 0.0, low_open=True)
    o = _check_range("output_tokens", output_tokens, 0.0, low_open=True)
    cap = np.asarray(capacity_output_tok_s_per_replica, dtype=float)
    top = cap if top_output_tok_s_per_replica is None else top_output_tok_s_per_replica
    peak = volume / SECONDS_PER_DAY * np.asarray(peak_to_average, dtype=float)
    replicas = np.maximum(carried.replicas, fleet_replicas(peak, cap, top, o, wait))
    return (replicas * np.asarray(accelerators_per_replica)).astype(np.int64)


def api_monthly_cost_usd(
    tokens_per_day: ArrayLike, api_usd_per_mtok_output: ArrayLike
) -> NDArray[np.float64]:
    """Monthly API bill for a daily output volume [USD/month].

    Parameters
    ----------
    tokens_per_day : array_like
        Output tokens a day [token/day], > 0.
    api_usd_per_mtok_output : array_like
        API price per million *output* tokens with the prompt tokens that come with them
        [USD/Mtok], ≥ 0: ``blended × (input + output) / output`` for a blended price over
        the workload's token mix (:attr:`BreakEvenRates.api_usd_per_mtok_output`).

    Returns
    -------
    numpy.ndarray
        :math:`C = V \\cdot 30.42 \\cdot p / 10^6` [USD/month].

    Notes
    -----
    30.42 d = 730 h / 24, the month of the other options.

    References
    ----------
    .. [1] tokenfab API price catalog, ``data/api_prices.csv``.

    Examples
    --------
    10 M output tokens a day at $1.76 per million (a $0.88 blended price, 1:1 input:output):

    >>> round(float(api_monthly_cost_usd(10e6, 1.76)), 2)
    535.33
    """
    volume = _check_range("tokens_per_day", tokens_per_day, 0.0, low_open=True)
    p = _check_range("api_usd_per_mtok_output", api_usd_per_mtok_output, 0.0)
    return volume * DAYS_PER_MONTH * p / TOKENS_PER_MTOK


def upfront_usd_per_accelerator(
    price_usd: ArrayLike,
    system_share_of_accelerator_price: ArrayLike,
    network_share_of_cluster_capex: ArrayLike = 0.0,
) -> NDArray[np.float64]:
    """Hardware bought up front per accelerator: itself, its server share and network [USD].

    Parameters
    ----------
    price_usd : array_like
        Accelerator price [USD], ≥ 0.
    system_share_of_accelerator_price : array_like
        Rest of the server as a share of the accelerator price [-], ≥ 0.
    network_share_of_cluster_capex : array_like, optional
        Network as a share of all cluster hardware [-], in [0, 1); default 0.

    Returns
    -------
    numpy.ndarray
        :math:`P (1 + s) / (1 - f)` [USD].

    Notes
    -----
    The network formula of :func:`tokenfab.cost.ownership_cost_usd_per_hour`: the network is
    :math:`f/(1-f)` of accelerator plus system, so hardware in all is
    :math:`P(1+s)(1 + f/(1-f)) = P(1+s)/(1-f)`. The facility is not bought here (see
    ``OPERATING_LINES``).

    References
    ----------
    .. [1] SemiAnalysis, "AI Cloud TCO model", https://semianalysis.com/ai-cloud-tco-model/

    Examples
    --------
    >>> float(upfront_usd_per_accelerator(25_000, 0.6, 0.2))
    50000.0
    """
    price = _check_range("price_usd", price_usd, 0.0)
    s = _check_range("system_share_of_accelerator_price", system_share_of_accelerator_price, 0.0)
    f = _check_range(
        "network_share_of_cluster_capex", network_share_of_cluster_capex, 0.0, 1.0, high_open=True
    )
    return price * (1.0 + s) / (1.0 - f)


def accelerator_upfront_usd(acc: Any, inputs: Any) -> float | None:
    """:func:`upfront_usd_per_accelerator` of a catalog accelerator at the cost inputs'
    system and network shares [USD]; None where the accelerator has no purchase price."""
    if acc.price_usd is None:
        return None
    return float(
        upfront_usd_per_accelerator(
            acc.price_usd,
            inputs.system_share_of_accelerator_price,
            inputs.network_share_of_cluster_capex,
        )
    )


def payback_months(
    upfront_usd: ArrayLike, alternative_monthly_usd: ArrayLike, operating_monthly_usd: ArrayLike
) -> NDArray[np.float64]:
    """Months until buying pays back its hardware against an alternative [month].

    Parameters
    ----------
    upfront_usd : array_like
        Hardware bought up front [USD], ≥ 0.
    alternative_monthly_usd : array_like
        Monthly cost of the alternative (API or rent) [USD/month], ≥ 0.
    operating_monthly_usd : array_like
        Monthly operating cost of the owned fleet (power, operations, software, leased
        facility) [USD/month], ≥ 0.

    Returns
    -------
    numpy.ndarray
        :math:`K / (C_\\mathrm{alt} - C_\\mathrm{op})` [month]; NaN where the saving is ≤ 0
        (the purchase never pays back).

    Notes
    -----
    Simple (undiscounted) payback period [1]_; the cost of capital is in the buy cost of
    :func:`plan_monthly_costs`, not here.

    References
    ----------
    .. [1] Brealey, Myers, Allen, *Principles of Corporate Finance*, 13th ed., 2020, ch. 5.

    Examples
    --------
    $400,000 of hardware saving $50,000 - $10,000 a month:

    >>> float(payback_months(400_000, 50_000, 10_000))
    10.0
    """
    k = _check_range("upfront_usd", upfront_usd, 0.0)
    alt = _check_range("alternative_monthly_usd", alternative_monthly_usd, 0.0)
    op = _check_range("operating_monthly_usd", operating_monthly_usd, 0.0)
    saving = alt - op
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(saving > 0, k / np.where(saving > 0, saving, 1.0), np.nan)


def crossover_tokens_per_day(
    tokens_per_day: ArrayLike,
    cost_a_usd: ArrayLike,
    cost_b_usd: ArrayLike,
    sustained: bool = False,
) -> float | None:
    """Smallest volume of an ascending grid where option A costs no more than option B.

    Parameters
    ----------
    tokens_per_day : array_like
        Ascending volumes [token/day], e.g. :data:`FINE_GRID_TOKENS_PER_DAY`.
    cost_a_usd, cost_b_usd : array_like
        Monthly costs of A and B at those volumes [USD/month], same length.
    sustained : bool, optional
        If true, the smallest volume from which A stays no dearer than B for the rest of the
        grid (the whole-replica steps of a fleet can make A cheaper, then dearer, near the
        crossing).

    Returns
    -------
    float or None
        The volume [token/day]; None if A is dearer everywhere on the grid.

    Raises
    ------
    ScenarioError
        The arrays differ in length or the grid is not ascending.

    Examples
    --------
    >>> crossover_tokens_per_day([1, 2, 3, 4], [5, 5, 5, 5], [2, 4, 6, 8])
    3.0
    """
    v = np.asarray(tokens_per_day, dtype=float)
    a = np.asarray(cost_a_usd, dtype=float)
    b = np.asarray(cost_b_usd, dtype=float)
    if v.ndim != 1 or v.shape != a.shape or v.shape != b.shape:
        raise ScenarioError(
            f"tokens_per_day: grid and costs must be 1-D of one length (got {v.shape}, "
            f"{a.shape}, {b.shape})"
        )
    if np.any(np.diff(v) <= 0):
        raise ScenarioError("tokens_per_day: the grid must be strictly ascending")
    cheaper = a <= b
    if not cheaper.any():
        return None
    if not sustained:
        return float(v[np.argmax(cheaper)])
    if not cheaper[-1]:
        return None
    dearer = np.flatnonzero(~cheaper)
    return float(v[dearer[-1] + 1] if dearer.size else v[0])


def hybrid_saving(
    edge_share: ArrayLike, edge_usd_per_mtok: ArrayLike, cloud_usd_per_mtok: ArrayLike
) -> NDArray[np.float64]:
    """Saving of an edge/cloud split over serving everything in the cloud [-].

    Parameters
    ----------
    edge_share : array_like
        Share of tokens served at the edge [-], in [0, 1].
    edge_usd_per_mtok : array_like
        Cost per million tokens at the edge [USD/Mtok], ≥ 0.
    cloud_usd_per_mtok : array_like
        Cost per million tokens in the cloud [USD/Mtok], > 0.

    Returns
    -------
    numpy.ndarray
        :math:`1 - (s c_e + (1-s) c_c) / c_c = s (1 - c_e / c_c)` [-]; negative when the
        edge is dearer.

    Notes
    -----
    The edge usually runs a smaller model than the cloud, so the saving reflects the model
    change as much as the place: it is the saving of routing the share :math:`s` of queries
    to a smaller, cheaper model, which is only valid where that model is good enough for
    those queries. At most :math:`s` (a free edge).

    References
    ----------
    .. [1] "The Inference Economy" (seed document 003), section "Edge vs Cloud".

    Examples
    --------
    70 % at the edge at $0.035/Mtok, the rest at $0.88/Mtok:

    >>> round(float(hybrid_saving(0.7, 0.035, 0.88)), 4)
    0.6722
    """
    s = _check_range("edge_share", edge_share, 0.0, 1.0)
    ce = _check_range("edge_usd_per_mtok", edge_usd_per_mtok, 0.0)
    cc = _check_range("cloud_usd_per_mtok", cloud_usd_per_mtok, 0.0, low_open=True)
    return 1.0 - (s * ce + (1.0 - s) * cc) / cc


# -- wiring: the prices and what is missing, from one estimate -----------------------------------


@dataclass(frozen=True)
class BreakEvenRates:
    """The per-unit prices of buy, rent and API for a scenario, and what cannot be priced.

    The rows are sized and priced at each volume (:func:`plan_monthly_costs`); these give the
    API price they are compared with, the rent's basis and why an option is missing.
    ``None`` marks an option the catalog cannot price (no purchase price, no rental, no API
    price for the model); the reason is in ``missing``. With a separate prefill pool the
    accelerator-hours are the decode pool's.
    """

    input_tokens: float
    output_tokens: float
    buy_usd_per_accelerator_hour: float | None
    buy_operating_usd_per_accelerator_hour: float | None
    upfront_usd_per_accelerator: float | None
    rent_usd_per_accelerator_hour: float | None
    rent_basis: str | None
    api_usd_per_mtok_blended: float | None
    api_provider: str | None
    missing: dict[str, str]

    @property
    def api_usd_per_mtok_output(self) -> float | None:
        """API price per million output tokens with their prompt tokens [USD/Mtok]."""
        if self.api_usd_per_mtok_blended is None:
            return None
        tokens = self.input_tokens + self.output_tokens
        return self.api_usd_per_mtok_blended * tokens / self.output_tokens


def breakeven_rates(estimate: Estimate, catalog: Catalog) -> BreakEvenRates:
    """The per-unit prices of buy, rent and API for an estimate, and what is missing.

    Parameters
    ----------
    estimate : Estimate
        An evaluated scenario (:func:`tokenfab.planning.evaluate`); its ownership does not
        matter, both are priced (bought at its operating point's power and utilisation).
    catalog : Catalog
        The catalog the estimate was made with.

    Returns
    -------
    BreakEvenRates
    """
    from tokenfab.planning import hourly_cost, licence_usd_per_accelerator_year

    op = estimate.op
    acc = op.setup.accelerator
    inputs = default_cost_inputs(catalog)
    missing: dict[str, str] = {}

    def licence(ownership: str) -> float:
        return licence_usd_per_accelerator_year(
            catalog,
            estimate.scenario.software_licence,
            acc.id,
            op.setup.engine.software,
            ownership,
        )

    buy = operating = upfront = None
    try:
        if estimate.kpis is None:  # no power figure: the estimate says why
            raise ScenarioError(estimate.cost_error or f"accelerator: {acc.id} has no power figure")
        if estimate.energy_error is not None and acc.price_usd is not None:
            raise ScenarioError(estimate.energy_error)  # a bought chip's electricity needs it
        avg_w = float(estimate.kpis.power_w) / estimate.accelerators_needed
        cost = hourly_cost(acc, estimate.region, "buy", catalog, inputs, licence("buy"), avg_w)
        buy = cost.total_usd_per_hour
        operating = sum(cost.lines[k] for k in OPERATING_LINES)
        upfront = accelerator_upfront_usd(acc, inputs)
    except ScenarioError as exc:
        missing["buy"] = str(exc)
    rent = rent_basis = None
    try:
        rented = hourly_cost(acc, estimate.region, "rent", catalog, inputs, licence("rent"))
        rent = rented.total_usd_per_hour
        rent_basis = rented.basis
    except (CatalogError, ScenarioError) as exc:
        missing["rent"] = str(exc)
    if estimate.api is None:
        missing["api"] = f"api-prices: no API price for model {op.setup.model.id!r}"
    return BreakEvenRates(
        input_tokens=float(op.setup.input_tokens),
        output_tokens=float(op.setup.output_tokens),
        buy_usd_per_accelerator_hour=buy,
        buy_operating_usd_per_accelerator_hour=operating,
        upfront_usd_per_accelerator=upfront,
        rent_usd_per_accelerator_hour=rent,
        rent_basis=rent_basis,
        api_usd_per_mtok_blended=estimate.api.blended_usd_per_mtok if estimate.api else None,
        api_provider=estimate.api.price.provider if estimate.api else None,
        missing=missing,
    )


def pool_breakeven_rates(scenario: Scenario, catalog: Catalog) -> BreakEvenRates:
    """:func:`breakeven_rates` of a scenario with a separate prefill pool
    (``prefill_accelerator``): the decode pool's accelerator-hour bought and rented, the rent's
    basis of both pools, and what either pool cannot price (:mod:`tokenfab.pools`).

    The pools are those of the scenario's two-pool point without a demand
    (:func:`tokenfab.perf.hetero.hetero_point`), each accelerator-hour priced at its draw at
    its own pool's utilisation when the deployment carries the catalog's default utilisation
    of what it can (as :func:`tokenfab.pools.evaluate_pools` without a demand).
    """
    from tokenfab.perf.hetero import hetero_point
    from tokenfab.perf.operating import with_workload_targets
    from tokenfab.planning import _api
    from tokenfab.pools import _pool_cost, check_pool_licence

    sc = with_workload_targets(scenario, catalog)
    hp = hetero_point(sc, catalog)
    check_pool_licence(sc, catalog, hp)
    inputs = default_cost_inputs(catalog)
    u = inputs.default_utilization
    missing: dict[str, str] = {}
    prices: dict[tuple[str, str], float | None] = {}
    rent_basis: list[str] = []
    served = u * hp.output_tok_s_total
    capacity = {
        "prefill": hp.prefill_capacity_output_tok_s,
        "decode": hp.decode_capacity_output_tok_s,
    }
    for pool in (hp.prefill, hp.decode):
        acc = pool.setup.accelerator
        u_pool = min(served / capacity[pool.role], 1.0)  # each pool busy its own share
        for own in ("buy", "rent"):
            pc, error = _pool_cost(pool, u_pool, sc.with_(ownership=own), catalog, inputs)
            if error is not None:
                missing.setdefault(own, error)
            prices[pool.role, own] = None if pc.cost is None else pc.cost.total_usd_per_hour
            if own == "rent" and pc.cost is not None:
                rent_basis.append(f"{pool.role} {acc.id}: {pc.cost.basis}")
            if own == "buy":
                prices[pool.role, "operating"] = (
                    None
                    if pc.cost is None
                    else sum(pc.cost.lines.get(k, 0.0) for k in OPERATING_LINES)
                )
        prices[pool.role, "upfront"] = accelerator_upfront_usd(acc, inputs)
    setup = hp.decode.setup
    api = _api(catalog, setup)
    if api is None:
        missing["api"] = f"api-prices: no API price for model {setup.model.id!r}"
    return BreakEvenRates(
        input_tokens=float(setup.input_tokens),
        output_tokens=float(setup.output_tokens),
        buy_usd_per_accelerator_hour=prices["decode", "buy"],
        buy_operating_usd_per_accelerator_hour=prices["decode", "operating"],
        upfront_usd_per_accelerator=prices["decode", "upfront"],
        rent_usd_per_accelerator_hour=prices["decode", "rent"],
        rent_basis="; ".join(rent_basis) if len(rent_basis) == 2 else None,
        api_usd_per_mtok_blended=api.blended_usd_per_mtok if api else None,
        api_provider=api.price.provider if api else None,
        missing=missing,
    )


@dataclass(frozen=True)
class MonthlyCosts:
    """Monthly cost of each option over a volume grid [USD/month]; NaN where not priced."""

    tokens_per_day: NDArray[np.float64]
    accelerators: NDArray[np.int64]
    buy_usd: NDArray[np.float64]
    rent_usd: NDArray[np.float64]
    api_usd: NDArray[np.float64]
    buy_operating_usd: NDArray[np.float64]
    upfront_usd: NDArray[np.float64]
    # the accelerators a rented fleet installs where it is sized on its own (plan's rent
    # option: the fewest, not the cheapest with power); None: the bought fleet's
    rent_accelerators: NDArray[np.int64] | None = None
    # the weight format of each bought and rented fleet (plan's choice at that volume and
    # ownership, or the one given); None: not recorded
    precision: NDArray[np.str_] | None = None
    rent_precision: NDArray[np.str_] | None = None

    def cheapest(self) -> list[str]:
        """The cheapest priced option at each volume (``"buy"``, ``"rent"`` or ``"api"``)."""
        names = ("buy", "rent", "api")
        stack = np.vstack([self.buy_usd, self.rent_usd, self.api_usd])
        stack = np.where(np.isnan(stack), np.inf, stack)
        return [names[i] for i in np.argmin(stack, axis=0)]


# -- the fleet plan sizes at each volume ---------------------------------------------------------

COARSE_STEP = 10  # the crossovers' grid is searched every 10th fine volume (20 a decade)


@dataclass(frozen=True)
class _Sized:
    """One ownership's fleet at each volume evaluated: plan's deployment and its cost a month."""

    accelerators: dict[float, int]  # by volume [token/day]
    usd: dict[float, float]  # NaN: the catalog cannot price this ownership
    operating_usd: dict[float, float]  # buy: the lines paid month by month (OPERATING_LINES)
    upfront_usd: dict[float, float]
    precision: dict[float, str]  # the weight format of the deployment


PlanFleets = tuple[Callable[[float], None], _Sized, _Sized]
_T = TypeVar("_T")


def _fewest_groups(
    k0: int,
    carried: Callable[[int], _T | None],
    refused: str,
    may_carry: Callable[[int], bool] | None = None,
) -> _T:
    """The deployment of the fewest whole groups ``k >= k0`` that carry a demand: ``carried(k)``
    is the deployment of ``k`` groups, None where it does not carry it.

    Every count from ``k0`` up is tried in turn until one carries; ``may_carry(k)`` False: known
    not to carry, not tried. No count is skipped: a count carries only where one of its layouts
    fills it with whole replicas, so more groups can carry less (replicas of eight fill 1,920
    accelerators, not 1,924) and a halving between a count that does not and one that does can
    miss the fewest. After 16 tried, counts far on are tried for one that carries, an end to the
    search: from ``k0 + 2**j - 1`` (``j = 5 .. 25``), the first 16 that may carry.

    Raises
    ------
    InfeasibleError
        ``refused``: none of those tried carries it.
    """
    maybe = may_carry or (lambda _: True)

    def far(after: int) -> tuple[int, _T]:
        """A count beyond ``after`` that carries, and its deployment (see above)."""
        for j in range(5, 26):
            k, tried = max(k0 + (1 << j) - 1, after + 1), 0
            while tried < 16 and k < k0 + (1 << (j + 1)) - 1:
                if maybe(k):
                    if (op := carried(k)) is not None:
                        return k, op
                    tried += 1
                k += 1
        raise InfeasibleError(refused)

    k, tried, end = k0, 0, None
    while end is None or k < end[0]:
        if maybe(k):
            if (op := carried(k)) is not None:
                return op
            tried += 1
            if tried == 16:
                end = far(k)
        k += 1
    return end[1]


def _plan_fleets(scenario: Scenario, catalog: Catalog, group: int | None = None) -> PlanFleets:
    """Plan's buy and rent deployments for the volumes asked, one volume at a time.

    Returns ``(at, buy, rent)``: ``at(v)`` sizes and prices ``v`` output tokens a day (once)
    into ``buy`` and ``rent``, keyed by ``v``. Each is :func:`tokenfab.planning.operating_point`
    of the scenario with that volume and ownership on one :func:`tokenfab.sizing.sizing_grid`
    (the cheapest deployment carrying the peak within the targets, ranked at the ownership's
    hourly rate, :func:`tokenfab.sizing.cheapest_point`), priced as
    :func:`tokenfab.planning.price` prices it: its accelerators at the hour's cost with the
    power of its utilisation (buy) or the rent, times 730 h.

    ``group``: the fleet grows in whole groups of that many accelerators: the fewest groups
    whose count ``k x group`` carries the peak within the targets (without a TTFT target,
    with the queue headroom a sizing keeps), at the point ``estimate --accelerators`` gives
    that count (:func:`tokenfab.sizing.count_point`): every count in turn (:func:`_fewest_groups`;
    more groups can carry less, since a count carries only in the layouts that divide it). A
    count that no layout fills with the fewest replicas that may carry the peak (a batch
    within the TPOT target carrying its share, with the queue's wait within the TTFT target
    less that batch's TTFT, or without one within the headroom) is known not to carry it and
    is not placed: one count placed a volume, the first tried (Mixtral 8x7B on MI300X in
    groups of 4, Llama 3.1 70B on H100 in groups of 8 or 3 with chat's targets: every volume
    of the fine grid).

    Raises
    ------
    InfeasibleError
        ``accelerators``: no count of whole groups carries a volume within the targets.
    """
    from tokenfab.planning import (
        hourly_cost,
        hourly_rate,
        licence_usd_per_accelerator_year,
        power_w,
    )
    from tokenfab.sizing import (
        DEFAULT_QUEUE_WAIT_S,
        cheapest_point,
        count_point,
        demand_output_tok_s,
        sizing_grid,
    )

    inputs = default_cost_inputs(catalog)
    sized = {own: _Sized({}, {}, {}, {}, {}) for own in ("buy", "rent")}
    if scenario.prefill_accelerator is not None:
        return _plan_pools(scenario, catalog, sized, group), sized["buy"], sized["rent"]
    sg = sizing_grid(scenario, catalog)
    g, targets = sg.grid, sg.scenario
    valid = g.valid & (g.output_tok_s_replica > 0) & (g.tpot_s <= (targets.tpot_slo_s or np.inf))
    if targets.ttft_slo_s is not None:
        valid &= g.ttft_service_s <= targets.ttft_slo_s
    # each layout's top rate (a replica's service rate, on which its queue's wait depends),
    # for the groups' bound
    top_out = np.max(
        np.where(g.valid & (g.output_tok_s_replica > 0), g.output_tok_s_replica, 0.0), axis=1
    )
    per_replica = g.layouts.accelerators
    # the most output tok/s an accelerator carries within the targets: no fewer groups carry
    per_acc = float(
        np.max(np.where(valid, g.output_tok_s_replica, 0.0) / g.layouts.accelerators[:, None])
    )

    acc = sg.setup.accelerator
    region = catalog.region(scenario.region)
    upfront = accelerator_upfront_usd(acc, inputs)
    upfront = np.nan if upfront is None else upfront
    # what does not depend on the volume, once an ownership: the hour's rate that ranks the
    # deployments (hourly_rate reads the region, ownership, licence and rental terms), the
    # licence, and the rented hour (it has no power line)
    rates = {
        own: hourly_rate(scenario.with_(ownership=own), sg.setup, catalog, inputs) for own in sized
    }
    licences = {
        own: licence_usd_per_accelerator_year(
            catalog, scenario.software_licence, acc.id, sg.setup.engine.software, own
        )
        for own in sized
    }
    rented: list[Any] = []

    def fewest_replicas(peak: float) -> NDArray[np.float64]:
        """Each layout's fewest replicas that may carry ``peak`` [token/s]; inf: none does.

        ``R`` replicas carry the peak at a batch that runs within the TPOT target with ``X >=
        peak / R`` (whole prefill and decode pools carry no more than ``R X``), and with the
        mean M/D/1 wait at the peak within ``B`` -- ``R >= peak (s + 2B) / (2 B X_top)``,
        ``s = o / X_top`` (the rule of :func:`tokenfab.sizing.replicas_for_wait`) -- where
        ``B`` is the TTFT target less the batch's TTFT without queueing, or without a TTFT
        target :data:`DEFAULT_QUEUE_WAIT_S` (the headroom); the fewest over the batches, less
        one part in a million (under the rounding of each check), two at least when
        disaggregated.
        """
        o = float(sg.setup.output_tokens)
        if targets.ttft_slo_s is None:
            budget = np.full(g.tpot_s.shape, DEFAULT_QUEUE_WAIT_S)
        else:
            budget = targets.ttft_slo_s - g.ttft_service_s
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            waits = peak * (o / top_out[:, None] + 2 * budget) / (2 * budget * top_out[:, None])
            need = np.maximum(peak / g.output_tok_s_replica, waits)
        need = np.min(np.where(valid & (budget > 0), need, np.inf), axis=1)
        return np.maximum(np.ceil(need * (1 - 1e-6)), 2.0 if targets.disaggregated else 1.0)

    def grouped(sc: Scenario, own: str) -> OperatingPoint:
        """The fewest whole groups that carry the scenario's demand (see above)."""
        rate = rates[own]
        d = float(demand_output_tok_s(sc, sg.setup.output_tokens))
        peak = d * sc.peak_to_average
        refused = (
            f"accelerators: no count of whole groups of {group} x {sg.setup.accelerator.id} "
            f"carries {sc.tokens_per_day:g} output "
            "tokens a day within the targets; change the group or omit --accelerators"
        )
        # a count carries only where a layout fills it with at least its fewest replicas
        fewest = fewest_replicas(peak)
        if not np.isfinite(fewest).any():
            raise InfeasibleError(refused)
        k0 = max(1, int(np.ceil(peak / (max(per_acc, 1e-300) * group) * (1 - 1e-9))))
        k0 = max(k0, int(np.min(per_replica * fewest)) // group)

        def may_carry(k: int) -> bool:
            n = k * group
            return bool(np.any((n % per_replica == 0) & (n // per_replica >= fewest)))

        def carried(k: int) -> OperatingPoint | None:
            try:
                op = count_point(sg, k * group, d, sc.peak_to_average, rate, inputs)
            except InfeasibleError:
                return None
            headroom = op.queue_wait_s <= DEFAULT_QUEUE_WAIT_S * (1 + 1e-9)
            return op if targets.ttft_slo_s is not None or headroom else None

        return _fewest_groups(k0, carried, refused, may_carry)

    def at(v: float) -> None:
        if v in sized["buy"].accelerators:
            return
        sc = scenario.with_(tokens_per_day=v)
        demand = float(demand_output_tok_s(sc, sg.setup.output_tokens))
        for own, s in sized.items():
            if group is None:
                # planning.operating_point's path for a demand without a count (sized_point:
                # cheapest_point on the scenario's grid at its ownership's rate), the grid and
                # rate made once; the grid's targets are the scenario's at every volume
                op = cheapest_point(sg, demand, sc.peak_to_average, rates[own], inputs)
            else:
                op = grouped(sc, own)
            n = op.accelerators
            u = min(demand / op.output_tok_s_total, 1.0)
            try:
                if own == "buy":
                    if acc.tdp_w is None:
                        raise ScenarioError(f"accelerator: {acc.id} has no power figure")
                    watts = power_w(op, inputs, u)[0]
                    cost = hourly_cost(acc, region, own, catalog, inputs, licences[own], watts)
                else:
                    if not rented:
                        rented.append(
                            hourly_cost(acc, region, own, catalog, inputs, licences[own], None)
                        )
                    cost = rented[0]
                usd = n * cost.total_usd_per_hour * HOURS_PER_MONTH
                operating = n * sum(cost.lines.get(k, 0.0) for k in OPERATING_LINES)
            except (CatalogError, ScenarioError):
                usd = operating = np.nan
            s.accelerators[v] = n
            s.usd[v] = usd
            s.operating_usd[v] = operating * HOURS_PER_MONTH
            s.upfront_usd[v] = n * upfront
            s.precision[v] = sg.setup.precision

    return at, sized["buy"], sized["rent"]


def _plan_pools(
    scenario: Scenario, catalog: Catalog, sized: dict[str, _Sized], group: int | None = None
) -> Callable[[float], None]:
    """:func:`_plan_fleets` with a separate prefill pool: at each volume plan's two pools
    (:func:`tokenfab.planning.plan`'s ``_plan_pools``: one
    :func:`tokenfab.perf.hetero.hetero_point` for the volume, priced bought and rented by
    :func:`tokenfab.pools.evaluate_pools`).

    ``group``: the decode pool grows in whole groups of that many: the fewest ``k`` whose
    ``k x group`` decode accelerators carry the volume's peak (with the prefill pool sized for
    it), each the point ``estimate --prefill-accelerator X --accelerators k x group`` gives
    for that demand (``hetero_point`` on that count) and priced as it prices it. No fewer
    groups carry the peak than the sized decode pool's accelerators over ``group`` (a count's
    layouts and batches are some of the sized pool's; with ``min-latency`` the sized pool is
    not the fewest, and the search starts at one group).

    Raises
    ------
    InfeasibleError
        The sized pools' reason where they cannot carry the volume (then no count can), or
        ``accelerators``: no count of whole groups carries it.
    """
    from tokenfab.perf.hetero import HeteroGrid, HeteroPoint, hetero_grid, hetero_point
    from tokenfab.pools import evaluate_pools

    inputs = default_cost_inputs(catalog)
    # the pools' layouts and rates do not depend on the volume: one grid a decode count (None:
    # the sized pools), made at the first volume that asks for it
    grids: dict[int | None, HeteroGrid] = {}

    def on_grid(sc: Scenario) -> HeteroPoint:
        """``hetero_point(sc)`` on the grid of its decode count."""
        n = sc.accelerators
        if n not in grids:
            grids[n] = hetero_grid(sc, catalog)
        return hetero_point(sc, catalog, grids[n])

    def point(sc: Scenario) -> HeteroPoint:
        fewest = on_grid(sc.with_(accelerators=None))  # plan's, for the volume
        if group is None:
            return fewest
        k0 = 1
        if sc.objective != "min-latency":
            k0 = max(1, int(np.ceil(fewest.decode.accelerators / group * (1 - 1e-9))))

        def carried(k: int) -> HeteroPoint | None:
            try:
                return on_grid(sc.with_(accelerators=k * group))
            except InfeasibleError:
                return None

        return _fewest_groups(
            k0,
            carried,
            f"accelerators: no count of whole groups of {group} x {sc.accelerator} decoding "
            f"carries {sc.tokens_per_day:g} output tokens a day with prefill on "
            f"{sc.prefill_accelerator} within the targets; change the group or omit "
            "--accelerators",
        )

    def at(v: float) -> None:
        if v in sized["buy"].accelerators:
            return
        sc = scenario.with_(tokens_per_day=v)
        hp = point(sc)
        if group is not None:  # the count estimate is given
            sc = sc.with_(accelerators=hp.decode.accelerators)
        for own, s in sized.items():
            e = evaluate_pools(sc.with_(ownership=own), catalog, hp)
            n = e.accelerators_needed
            priced = e.cost is not None and e.kpis is not None
            s.accelerators[v] = n
            s.precision[v] = hp.decode.setup.precision
            s.usd[v] = float(e.kpis.monthly_cost_usd) if priced else np.nan
            s.operating_usd[v] = (
                n * sum(e.cost.lines.get(k, 0.0) for k in OPERATING_LINES) * HOURS_PER_MONTH
                if priced
                else np.nan
            )
            pools = [] if e.pools is None else [e.pools.prefill, e.pools.decode]
            s.upfront_usd[v] = sum(
                p.accelerators * (accelerator_upfront_usd(p.accelerator, inputs) or np.nan)
                for p in pools
            )

    return at


def _plan_formats(scenario: Scenario, catalog: Catalog, group: int | None = None) -> PlanFleets:
    """:func:`_plan_fleets` in the weight format ``plan`` would choose at each volume.

    Without ``group`` and without a format given, plan compares the model's native format and,
    where that is 16-bit and the accelerator has an FP8 peak, FP8
    (:func:`tokenfab.planning._precisions`), and takes the cheaper deployment a month for each
    ownership (the native one on a tie, plan's order); so does this, at each volume and for
    each ownership on its own (the choice can differ by volume and between buying and renting).
    A format that cannot serve a volume is left out there, as plan leaves it out. With
    ``group`` (``estimate --accelerators``) or a format given: that one format (the native one
    when none is given, as estimate takes).

    Raises
    ------
    TokenfabError
        No format can serve the scenario or a volume: the first format's reason.
    """
    from tokenfab.errors import TokenfabError
    from tokenfab.planning import _precisions

    if group is not None or scenario.precision is not None:
        return _plan_fleets(scenario, catalog, group)
    fleets: list[PlanFleets] = []
    first: TokenfabError | None = None
    for precision in _precisions(scenario, scenario.accelerator, catalog):
        try:
            fleets.append(_plan_fleets(scenario.with_(precision=precision), catalog, group))
        except TokenfabError as exc:
            first = first or exc
    if not fleets:
        assert first is not None
        raise first
    if len(fleets) == 1:
        return fleets[0]
    sized = {own: _Sized({}, {}, {}, {}, {}) for own in ("buy", "rent")}

    def at(v: float) -> None:
        if v in sized["buy"].accelerators:
            return
        served: list[tuple[_Sized, _Sized]] = []
        error: TokenfabError | None = None
        for at_format, buy, rent in fleets:
            try:
                at_format(v)
            except TokenfabError as exc:
                error = error or exc
                continue
            served.append((buy, rent))
        if not served:
            assert error is not None
            raise error
        for k, own in enumerate(("buy", "rent")):
            # the cheaper a month, NaN (not priced) last, the first format on a tie
            best = min(
                (pair[k] for pair in served),
                key=lambda s: np.inf if np.isnan(s.usd[v]) else s.usd[v],
            )
            into = sized[own]
            into.accelerators[v] = best.accelerators[v]
            into.usd[v] = best.usd[v]
            into.operating_usd[v] = best.operating_usd[v]
            into.upfront_usd[v] = best.upfront_usd[v]
            into.precision[v] = best.precision[v]

    return at, sized["buy"], sized["rent"]


def plan_monthly_costs(
    scenario: Scenario,
    catalog: Catalog,
    tokens_per_day: ArrayLike,
    api_usd_per_mtok_output: float | None,
    refine: bool = False,
    fleets: PlanFleets | None = None,
) -> MonthlyCosts:
    """Monthly cost of buying, renting and the API at each volume, each fleet the one ``plan``
    installs for that volume (:func:`_plan_fleets`): one search for both entry points.

    ``refine``: ``tokens_per_day`` is an ascending fine grid (:data:`FINE_GRID_TOKENS_PER_DAY`);
    every :data:`COARSE_STEP`-th volume is sized (and the last), then, where buying changes
    side against the API or renting between two of them, the volumes between (halving the
    interval) until the change is pinned to one fine step: the returned costs are at the
    volumes sized, the crossovers those of the fine grid. (Sizing every fine volume costs a
    search each: 4 s for Llama 3.1 70B, 14 s for gpt-oss-120b on H100, per ownership.) A
    change of side that starts and ends between two coarse volumes (within 12 %) is missed.
    ``fleets``: :func:`_plan_fleets` of the scenario, to reuse the volumes it has sized.
    """
    v = np.asarray(_check_range("tokens_per_day", tokens_per_day, 0.0, low_open=True), float)
    v = np.atleast_1d(v)
    at_volume, buy, rent = fleets or _plan_formats(scenario, catalog)

    def at(i: int) -> None:
        at_volume(float(v[i]))

    api = (
        np.full(v.shape, np.nan)
        if api_usd_per_mtok_output is None
        else api_monthly_cost_usd(v, api_usd_per_mtok_output)
    )
    if not refine:
        done = list(range(v.size))
        for i in done:
            at(i)
    else:
        done = sorted({*range(0, v.size, COARSE_STEP), v.size - 1})
        for i in done:
            at(i)

        def side(i: int) -> tuple[bool, bool]:
            b = buy.usd[float(v[i])]
            return (b <= api[i], b <= rent.usd[float(v[i])])

        changed = True
        while changed:
            changed = False
            for a, b in pairwise(list(done)):
                if b - a > 1 and side(a) != side(b):
                    at((a + b) // 2)
                    done.append((a + b) // 2)
                    changed = True
            done = sorted(done)
    idx = np.asarray(done)

    def arr(d: dict[float, Any]) -> NDArray[np.float64]:
        return np.array([d[float(v[i])] for i in done], dtype=float)

    return MonthlyCosts(
        tokens_per_day=v[idx],
        accelerators=arr(buy.accelerators).astype(np.int64),
        buy_usd=arr(buy.usd),
        rent_usd=arr(rent.usd),
        api_usd=api[idx],
        buy_operating_usd=arr(buy.operating_usd),
        upfront_usd=arr(buy.upfront_usd),
        rent_accelerators=arr(rent.accelerators).astype(np.int64),
        precision=np.array([buy.precision[float(v[i])] for i in done], dtype=str),
        rent_precision=np.array([rent.precision[float(v[i])] for i in done], dtype=str),
    )


def payback_at(costs: MonthlyCosts, against: str) -> NDArray[np.float64]:
    """Payback months of buying against ``"api"`` or ``"rent"`` at each volume; NaN: never."""
    if against not in ("api", "rent"):
        raise ScenarioError(f"against: {against!r} is not allowed; allowed: api, rent")
    alt = costs.api_usd if against == "api" else costs.rent_usd
    if np.isnan(alt).all() or np.isnan(costs.upfront_usd).all():
        return np.full(alt.shape, np.nan)
    return payback_months(costs.upfront_usd, alt, costs.buy_operating_usd)


def payback_within_life(months: float, useful_life_years: float) -> tuple[float | None, str]:
    """A payback as reported: the months where the purchase pays back within the hardware's
    useful life, else None with the reason [month].

    Returns
    -------
    tuple
        ``(months, "")`` where ``0 <= months <= 12 x useful_life_years``; ``(None, reason)``
        where the saving is ≤ 0 (``months`` NaN: ``"never: ..."``) or the payback is longer
        than the useful life (the hardware is written off, and replaced, before it has paid
        for itself: ``"not within the ...-year useful life ..."``).

    Examples
    --------
    $400,000 of hardware saving $2,000 a month takes 200 months, beyond a 5-year life (60):

    >>> payback_within_life(float(payback_months(400_000, 12_000, 10_000)), 5)
    (None, 'not within the 5-year useful life (60 months): 200 months')
    >>> payback_within_life(10.0, 5)
    (10.0, '')
    """
    if np.isnan(months):
        return None, "never: buying costs no less a month to run than the alternative"
    life_months = 12.0 * useful_life_years
    if months > life_months:
        return None, (
            f"not within the {useful_life_years:g}-year useful life ({life_months:g} months): "
            f"{months:.0f} months"
        )
    return float(months), ""


def hybrid_case(
    edge: Scenario, cloud: Scenario, edge_share: float, catalog: Catalog, cloud_option: str = "api"
) -> dict[str, float | str]:
    """Saving of serving ``edge_share`` of tokens on the edge scenario, the rest in the cloud.

    Parameters
    ----------
    edge : Scenario
        The edge deployment (e.g. llama-3.1-8b fp8 on one rtx-4090, bought); priced at its own
        blended cost per million tokens.
    cloud : Scenario
        The cloud deployment; priced at its cheapest API price (``cloud_option="api"``) or at
        its own blended cost (``"self"``, the scenario's ownership).
    edge_share : float
        Share of tokens served at the edge [-], in [0, 1].
    catalog : Catalog
    cloud_option : {"api", "self"}

    Returns
    -------
    dict
        ``edge_usd_per_mtok``, ``cloud_usd_per_mtok``, ``saving`` and what was priced.

    Notes
    -----
    The edge model is usually smaller than the cloud model, so the saving also reflects the
    model change (see :func:`hybrid_saving`).
    """
    from tokenfab.planning import evaluate

    if cloud_option not in ("api", "self"):
        raise ScenarioError(f"cloud_option: {cloud_option!r} is not allowed; allowed: api, self")
    e = evaluate(edge, catalog)
    c = evaluate(cloud, catalog)
    if cloud_option == "api":
        if c.api is None:
            raise ScenarioError(f"model: no API price for {cloud.model!r}; use cloud_option='self'")
        cloud_price = c.api.blended_usd_per_mtok
        cloud_desc = f"{cloud.model} API ({c.api.price.provider})"
    else:
        cloud_price = float(c.kpis.cost_usd_per_mtok_blended)
        cloud_desc = f"{cloud.model} on {cloud.accelerator} ({cloud.ownership})"
    edge_price = float(e.kpis.cost_usd_per_mtok_blended)
    return {
        "edge": f"{edge.model} {e.op.setup.precision} on {edge.accelerator} ({edge.ownership})",
        "cloud": cloud_desc,
        "edge_share": edge_share,
        "edge_usd_per_mtok": edge_price,
        "cloud_usd_per_mtok": cloud_price,
        "saving": float(hybrid_saving(edge_share, edge_price, cloud_price)),
    }


# -- the analysis a command asks for -----------------------------------------------------------

TABLE_GRID_TOKENS_PER_DAY = np.logspace(6.0, 11.0, 11)  # 1e6 .. 1e11 in half-decades
PAYBACK_TOKENS_PER_DAY = np.array([1e7, 1e8, 1e9])


@dataclass(frozen=True)
class Analysis:
    """Break-even of a scenario: rates, the cost table, the fine curves, the summary."""

    scenario: Scenario
    rates: BreakEvenRates
    grid: MonthlyCosts  # at TABLE_GRID_TOKENS_PER_DAY
    fine: MonthlyCosts  # at FINE_GRID_TOKENS_PER_DAY, for crossovers and charts
    crossover_buy_vs_api_tokens_per_day: float | None
    crossover_buy_vs_api_sustained_tokens_per_day: float | None
    crossover_buy_vs_rent_tokens_per_day: float | None
    payback_vs_api_months: NDArray[np.float64]  # at PAYBACK_TOKENS_PER_DAY; NaN: never
    payback_vs_rent_months: NDArray[np.float64]
    # the hardware's useful life (cost assumption useful-life-years): a payback longer than it
    # does not pay back the purchase (payback_within_life)
    useful_life_years: float = float("nan")


def analyse(request: object, catalog: Catalog | None = None) -> Analysis:
    """Monthly cost of buying, renting or an API from 1e6 to 1e11 output tokens a day.

    Parameters
    ----------
    request : BreakevenRequest or mapping
        :class:`tokenfab.schema.BreakevenRequest` (a mapping is validated into one). Without
        ``accelerators`` each volume gets plan's deployment for it, bought and rented
        (:func:`plan_monthly_costs`); with it, the fewest whole groups of that many, each
        count placed as ``estimate --accelerators`` places it (see :func:`_plan_fleets`).
    catalog : Catalog, optional

    Returns
    -------
    Analysis

    Raises
    ------
    ScenarioError, CatalogError, InfeasibleError
        One-line messages naming the field.
    """
    from tokenfab.catalog import default_catalog
    from tokenfab.planning import evaluate
    from tokenfab.scenario import Scenario
    from tokenfab.schema import BreakevenRequest

    req = BreakevenRequest.parse(request)
    cat = catalog or default_catalog()
    if req.prefill_accelerator is not None:  # two pools
        # plan's two pools at each volume, or whole decode groups of the count given, each as
        # estimate gives that count for the volume (_plan_fleets); the rates give the API
        # price and what is not priced
        sc = Scenario.parse(
            {**req.scenario_fields(), "tokens_per_day": float(TABLE_GRID_TOKENS_PER_DAY[0])}
        )
        # priced at the group's point without a demand: a group that cannot hold the model
        # alone is refused, as without a prefill pool (there by estimate on the group)
        at_group = {**req.scenario_fields(), "peak_to_average": 1.0}
        rates = pool_breakeven_rates(Scenario.parse(at_group), cat)
        api = rates.api_usd_per_mtok_output
        fleets = _plan_formats(sc.with_(accelerators=None), cat, req.accelerators)
        return _analysis(
            sc, rates, lambda v, refine: plan_monthly_costs(sc, cat, v, api, refine, fleets), cat
        )
    # no fixed group: at each volume the deployment plan installs for it, bought and rented
    # (plan_monthly_costs); a fixed group: whole groups of it at each volume, each count placed
    # as estimate --accelerators places it for that demand (the same search on a fixed count).
    # The rates give the API price and what is not priced.
    sc = Scenario.parse(
        {
            **req.scenario_fields(),
            "tokens_per_day": float(TABLE_GRID_TOKENS_PER_DAY[0]),
        }
    )
    try:
        est = evaluate(sc, cat)
    except ScenarioError:  # no purchase price: the operating point is the same rented
        est = evaluate(sc.with_(ownership="rent"), cat)
    rates = breakeven_rates(est, cat)
    api = rates.api_usd_per_mtok_output
    # the table's volumes are the fine grid's: each sized once
    fleets = _plan_formats(sc, cat, req.accelerators)
    shown = sc if req.accelerators is None else sc.with_(accelerators=req.accelerators)
    return _analysis(
        shown, rates, lambda v, refine: plan_monthly_costs(sc, cat, v, api, refine, fleets), cat
    )


def _analysis(
    sc: Scenario,
    rates: BreakEvenRates,
    costs: Callable[[NDArray, bool], MonthlyCosts],
    catalog: Catalog,
) -> Analysis:
    """The cost table, the fine curves, the crossovers and the paybacks: ``costs(volumes,
    refine)`` prices volumes (``refine``: the fine grid, searched as
    :func:`plan_monthly_costs` says); the useful life the paybacks are read against is the
    catalog's (cost assumption ``useful-life-years``)."""
    fine = costs(FINE_GRID_TOKENS_PER_DAY, True)
    v = fine.tokens_per_day
    at = costs(PAYBACK_TOKENS_PER_DAY, False)
    return Analysis(
        scenario=sc,
        rates=rates,
        grid=costs(TABLE_GRID_TOKENS_PER_DAY, False),
        fine=fine,
        crossover_buy_vs_api_tokens_per_day=crossover_tokens_per_day(v, fine.buy_usd, fine.api_usd),
        crossover_buy_vs_api_sustained_tokens_per_day=crossover_tokens_per_day(
            v, fine.buy_usd, fine.api_usd, sustained=True
        ),
        crossover_buy_vs_rent_tokens_per_day=crossover_tokens_per_day(
            v, fine.buy_usd, fine.rent_usd
        ),
        payback_vs_api_months=payback_at(at, "api"),
        payback_vs_rent_months=payback_at(at, "rent"),
        useful_life_years=float(default_cost_inputs(catalog).useful_life_years),
    )
