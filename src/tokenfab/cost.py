"""Cost of an accelerator-hour (buy or rent) and dollars per million tokens.

Every model here is a pure function of numbers or NumPy arrays that broadcast together: one
call prices a scalar scenario, a frontier grid or a Monte Carlo sample of a million rows. Units
are in the names; the base units are USD, hours, watts and tokens.

Buying an accelerator costs, per installed hour (:func:`ownership_cost_usd_per_hour`):

* capital: the accelerator, the rest of its server and its share of the network, each paid
  back as an annuity over the useful life at the cost of capital
  (:func:`capital_recovery_factor`);
* facility: building, power and cooling plant, priced per MW of critical IT load and paid
  back over the facility's (longer) life;
* power: the average electrical draw times PUE times the regional electricity price;
* operations (maintenance, spares, staff) as a yearly share of the hardware price, and
  software licences per accelerator-year.

Renting costs the provider's rate per accelerator-hour (:func:`rental_cost_usd_per_hour`),
which already contains all of the above and the provider's margin. Either cost divided by the
tokens the deployment produces in an hour at its utilisation gives USD per million tokens
(:func:`cost_usd_per_mtok`, :func:`token_cost_usd_per_mtok`).

Bad input raises :class:`~tokenfab.errors.ScenarioError` naming the field, the value and the
allowed range; nothing is clamped.

References
----------
.. [1] Brealey, Myers, Allen, *Principles of Corporate Finance*, 13th ed., McGraw-Hill, 2020,
   ch. 2 and 6 (annuities, equivalent annual cost).
.. [2] U.S. DOE / NREL, "Capital recovery factor", Energy Analysis glossary,
   https://www.nrel.gov/analysis/tech-footprint.html (CRF = i(1+i)^n / ((1+i)^n - 1)).
.. [3] SemiAnalysis, "AI Cloud TCO model", https://semianalysis.com/ai-cloud-tco-model/
   (line items of an accelerator's total cost of ownership: capital, colocation/facility,
   power x PUE, operations).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from tokenfab.errors import CatalogError, ScenarioError

if TYPE_CHECKING:
    from tokenfab.catalog import Catalog, CloudRental

HOURS_PER_YEAR = 8760.0  # 365 d x 24 h; leap days ignored, as in utility tariffs
SECONDS_PER_HOUR = 3600.0
TOKENS_PER_MTOK = 1e6

HOST_IDLE_SHARE_OF_MAX = 0.5
"""Draw of a host server doing no work as a share of its maximum [-]: "even an energy-efficient
server still consumes about half its full power when doing virtually no work" (Barroso and
Hölzle, "The Case for Energy-Proportional Computing", IEEE Computer 40(12), 2007). Used for the
non-accelerator part of a node (:func:`it_power_w`)."""

RentalTerm = Literal["on-demand", "reserved", "reserved-1y", "reserved-3y", "any"]
RENTAL_TERM_MONTHS = {"reserved-1y": 12, "reserved-3y": 36}
"""Commitment of each fixed-term reservation (the rentals catalog's ``reserved_term_months``);
``reserved`` is any committed offer (a 1- or 3-year term, or a short Capacity Block)."""

__all__ = [
    "HOURS_PER_YEAR",
    "CostInputs",
    "OwnershipCost",
    "RentalQuote",
    "TokenCost",
    "api_cost_usd_per_request",
    "average_power_w",
    "capital_recovery_factor",
    "cheapest_rental",
    "cost_usd_per_mtok",
    "default_cost_inputs",
    "it_power_w",
    "ownership_cost_from_inputs",
    "ownership_cost_usd_per_hour",
    "rental_cost_usd_per_hour",
    "rental_rate_usd_per_accelerator_hour",
    "serving_power_w",
    "token_cost_usd_per_mtok",
]


# -- validation --------------------------------------------------------------------------------


def _interval(low: float, high: float, low_open: bool, high_open: bool) -> str:
    left = "(" if low_open else "["
    right = ")" if high_open or math.isinf(high) else "]"
    hi = "inf" if math.isinf(high) else f"{high:g}"
    return f"{left}{low:g}, {hi}{right}"


def _check_range(
    name: str,
    value: ArrayLike,
    low: float = -math.inf,
    high: float = math.inf,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> NDArray[np.float64]:
    """``value`` as a float array, or :class:`ScenarioError` if any element is out of range.

    The message names the field, the first bad value (and its position in an array) and the
    allowed interval. NaN is always out of range.
    """
    if isinstance(value, float | int) and not isinstance(value, bool):
        # the common case, a number in range, without NumPy's per-call overhead on 0-d arrays
        v = float(value)
        if (v > low if low_open else v >= low) and (v < high if high_open else v <= high):
            return np.asarray(v)
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ScenarioError(f"{name}: {value!r} is not a number") from None
    if arr.size == 1:  # one sample (the calculator's estimate): the same test on a float
        v = arr.item(0)  # a float array's element as a Python float
        if (v > low if low_open else v >= low) and (v < high if high_open else v <= high):
            return arr
    above = arr > low if low_open else arr >= low
    below = arr < high if high_open else arr <= high
    bad = ~(above & below)  # NaN compares False both ways, so it is bad
    if np.any(bad):
        flat = np.flatnonzero(bad)
        where = f" (element {flat[0]} of {arr.size})" if arr.ndim else ""
        raise ScenarioError(
            f"{name}: {arr.flat[flat[0]]:g}{where} is outside the allowed range "
            f"{_interval(low, high, low_open, high_open)}"
        )
    return arr


def _out(arr: NDArray[np.float64]) -> NDArray[np.float64]:
    """0-d arrays become NumPy scalars so scalar input gives scalar output."""
    return arr[()] if isinstance(arr, np.ndarray) and arr.ndim == 0 else arr


# -- annuity -----------------------------------------------------------------------------------


def capital_recovery_factor(rate_per_year: ArrayLike, years: ArrayLike) -> NDArray[np.float64]:
    """Share of a purchase price paid each year to repay it, with interest, over its life [1/year].

    Parameters
    ----------
    rate_per_year : array_like
        Cost of capital (discount rate) [1/year], in [0, 1].
    years : array_like
        Life over which the price is repaid [year], > 0.

    Returns
    -------
    numpy.ndarray
        Capital recovery factor [1/year], broadcast over the inputs.

    Raises
    ------
    ScenarioError
        A rate outside [0, 1] or a life ≤ 0.

    Notes
    -----
    The level annual payment that repays a present value :math:`P` over :math:`n` years at
    rate :math:`r` is :math:`P \\cdot \\mathrm{CRF}` with [1]_ [2]_

    .. math:: \\mathrm{CRF}(r, n) = \\frac{r (1+r)^n}{(1+r)^n - 1}
              = \\frac{r}{1 - (1+r)^{-n}}, \\qquad \\mathrm{CRF}(0, n) = 1/n .

    The second form is evaluated with ``expm1``/``log1p`` so that small rates lose no digits.

    References
    ----------
    .. [1] Brealey, Myers, Allen, *Principles of Corporate Finance*, 13th ed., 2020, ch. 2.
    .. [2] NREL, "Simple Levelized Cost of Energy Calculator Documentation",
       https://www.nrel.gov/analysis/tech-lcoe-documentation.html

    Examples
    --------
    $25,000 repaid over 5 years at 8 % a year costs $6,261.41 a year:

    >>> round(float(capital_recovery_factor(0.08, 5)), 6)
    0.250456
    >>> capital_recovery_factor([0.0, 0.08], 4).round(4).tolist()
    [0.25, 0.3019]
    """
    r = _check_range("cost_of_capital_per_year", rate_per_year, 0.0, 1.0)
    n = _check_range("useful_life_years", years, 0.0, low_open=True)
    repaid_share = -np.expm1(-n * np.log1p(r))  # 1 - (1 + r)^-n, exact for small r
    positive = r > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        crf = np.where(positive, r / np.where(positive, repaid_share, 1.0), 1.0 / n)
    return _out(np.asarray(crf, dtype=float))


# -- owning ------------------------------------------------------------------------------------


def serving_power_w(
    tdp_w: ArrayLike,
    idle_power_share_of_tdp: ArrayLike,
    hbm_busy_share: ArrayLike,
    compute_busy_share: ArrayLike,
    memory_power_share: ArrayLike,
    compute_power_share: ArrayLike = 1.0,
) -> NDArray[np.float64]:
    r"""Electrical draw of one accelerator while it serves at an operating point [W].

    Parameters
    ----------
    tdp_w : array_like
        Thermal design power (maximum board power) [W], > 0.
    idle_power_share_of_tdp : array_like
        Draw of a powered, idle accelerator as a share of TDP [-], in [0, 1].
    hbm_busy_share : array_like
        Share of the step time the memory would need at its peak bandwidth [-], in [0, 1]
        (:func:`tokenfab.perf.serving.busy_shares`).
    compute_busy_share : array_like
        Share of the step time the matrix units would need at their peak [-], in [0, 1].
    memory_power_share : array_like
        Dynamic power (TDP minus idle) that streaming memory at its peak bandwidth alone draws
        [-], in [0, 1].
    compute_power_share : array_like, optional
        Dynamic power per unit of ``compute_busy_share`` [-], ≥ 1: the inverse of the share of
        the datasheet matrix peak at which dense GEMMs already run at full board power
        (default 1: only at the peak itself).

    Returns
    -------
    numpy.ndarray
        Power while serving [W], between the idle draw and TDP.

    Notes
    -----
    .. math:: P = \mathrm{TDP} \left[s_0 + (1 - s_0)\,
              \min\left(1,\ k\,u_c + m\,u_h\right)\right]

    An idle floor plus a load part: matrix units as busy as dense GEMMs can keep them
    (:math:`k\,u_c = 1`, a compute-bound prefill) reach the vendor's maximum board power,
    TDP; a memory-bound
    decode step that streams HBM at its peak and leaves the matrix units mostly idle draws
    only the share :math:`m` of the dynamic range. So power depends on the operating point:
    small memory-bound batches draw little above idle, large batches and long prompts
    approach TDP, and tokens per joule vary along the throughput-latency frontier, as the
    ML.ENERGY measurements show [1]_ [2]_.

    References
    ----------
    .. [1] Chung, J.-W. et al., "Where Do the Joules Go? Diagnosing Inference Energy
       Consumption", arXiv:2601.22076, 2026 (ML.ENERGY Leaderboard v3.0 data on H100 and B200).
    .. [2] ML.ENERGY, "LLM Inference Energy: A Longitudinal Analysis",
       https://ml.energy/blog/measurement/energy/llm-inference-energy-a-longitudinal-analysis
       (Llama-3.1-8B, H100, batch 64: 0.20 J per output token with vLLM 0.5.4, 0.12 with 0.11.1).

    Examples
    --------
    A 700 W accelerator idling at 11.5 % of TDP, memory 60 % busy, matrix units 10 %, memory
    drawing 45 % of the dynamic range: 700 (0.115 + 0.885 (0.1 + 0.45 x 0.6)) = 309.7 W.

    >>> round(float(serving_power_w(700.0, 0.115, 0.6, 0.1, 0.45)), 1)
    309.7
    """
    tdp = _check_range("tdp_w", tdp_w, 0.0, low_open=True)
    idle = _check_range("idle_power_share_of_tdp", idle_power_share_of_tdp, 0.0, 1.0)
    hbm = _check_range("hbm_busy_share", hbm_busy_share, 0.0, 1.0)
    comp = _check_range("compute_busy_share", compute_busy_share, 0.0, 1.0)
    mem = _check_range("memory_power_share", memory_power_share, 0.0, 1.0)
    k = _check_range("compute_power_share", compute_power_share, 1.0)
    return _out(tdp * (idle + (1.0 - idle) * np.minimum(1.0, k * comp + mem * hbm)))


def average_power_w(
    busy_power_w: ArrayLike, idle_power_w: ArrayLike, utilization: ArrayLike
) -> NDArray[np.float64]:
    r"""Average draw of an accelerator that serves a share of its hours and idles the rest [W].

    Parameters
    ----------
    busy_power_w : array_like
        Draw while serving at the operating point [W], ≥ 0 (:func:`serving_power_w`).
    idle_power_w : array_like
        Draw while idle [W], ≥ 0.
    utilization : array_like
        Share of installed hours spent serving [-], in [0, 1].

    Returns
    -------
    numpy.ndarray
        :math:`P = u P_\mathrm{serve} + (1 - u) P_\mathrm{idle}` [W].

    Examples
    --------
    >>> float(average_power_w(500.0, 80.0, 0.25))
    185.0
    """
    busy = _check_range("busy_power_w", busy_power_w, 0.0)
    idle = _check_range("idle_power_w", idle_power_w, 0.0)
    u = _check_range("utilization", utilization, 0.0, 1.0)
    return _out(u * busy + (1.0 - u) * idle)


def it_power_w(
    accelerator_power_w: ArrayLike,
    tdp_w: ArrayLike,
    host_power_w: ArrayLike,
    host_idle_share: ArrayLike = HOST_IDLE_SHARE_OF_MAX,
) -> NDArray[np.float64]:
    r"""IT draw of one accelerator with its share of the host server [W].

    Parameters
    ----------
    accelerator_power_w : array_like
        Draw of the accelerator board [W], ≥ 0 (:func:`serving_power_w`,
        :func:`average_power_w`).
    tdp_w : array_like
        Thermal design power of the accelerator [W], ≥ 0; 0 (power not published) gives a
        host draw of 0 as well.
    host_power_w : array_like
        Maximum draw of the rest of the node per accelerator (CPUs, memory, NICs, NVSwitches,
        storage, fans) [W], ≥ 0 (:func:`tokenfab.hostpower.host_power_w`).
    host_idle_share : array_like, optional
        Host draw at an idle accelerator as a share of its maximum [-], in [0, 1]
        (default :data:`HOST_IDLE_SHARE_OF_MAX`, 0.5).

    Returns
    -------
    numpy.ndarray
        :math:`P_\mathrm{IT} = P_a + H\,[h_0 + (1 - h_0)\,P_a/\mathrm{TDP}]` [W].

    Notes
    -----
    The host's draw moves with the accelerator's, from the idle share :math:`h_0` of its
    maximum :math:`H` (servers draw about half their peak doing nothing, Barroso and Hölzle
    2007) to :math:`H` when the accelerator is at TDP; the straight line between them is
    tokenfab's assumption. Being linear in :math:`P_a`, it gives the same average whether it
    is applied to the serving and idle draws separately or to their average. :math:`H` is the
    system's published maximum input power less its accelerators' TDP, per accelerator
    (``data/host_power.csv``), an upper bound on what the host draws.

    Examples
    --------
    An H100 (700 W) drawing 309.7 W, with a DGX H100's host share (10,200 − 8 × 700) / 8 =
    575 W: 309.7 + 575 (0.5 + 0.5 × 309.7/700) = 309.7 + 414.7 = 724.4 W.

    >>> round(float(it_power_w(309.7, 700.0, 575.0)), 1)
    724.4
    """
    p = _check_range("accelerator_power_w", accelerator_power_w, 0.0)
    tdp = _check_range("tdp_w", tdp_w, 0.0)
    h = _check_range("host_power_w", host_power_w, 0.0)
    h0 = _check_range("host_idle_share", host_idle_share, 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        load = np.where(tdp > 0, p / np.where(tdp > 0, tdp, 1.0), 0.0)
    host = np.where(tdp > 0, h * (h0 + (1.0 - h0) * load), 0.0)
    return _out(np.asarray(p + host, dtype=float))


@dataclass(frozen=True)
class OwnershipCost:
    """Cost of owning and running one accelerator for one installed hour, line by line [USD/h].

    Each field broadcasts to the shape of the inputs; :attr:`total_usd_per_hour` is their sum.
    """

    accelerator_capex_usd_per_hour: NDArray[np.float64]
    system_capex_usd_per_hour: NDArray[np.float64]
    network_capex_usd_per_hour: NDArray[np.float64]
    facility_capex_usd_per_hour: NDArray[np.float64]
    power_usd_per_hour: NDArray[np.float64]
    operations_usd_per_hour: NDArray[np.float64]
    software_usd_per_hour: NDArray[np.float64]

    @property
    def total_usd_per_hour(self) -> NDArray[np.float64]:
        """Sum of all lines [USD/h]."""
        return sum((getattr(self, f.name) for f in fields(self)), start=np.float64(0.0))

    @property
    def capex_usd_per_hour(self) -> NDArray[np.float64]:
        """Capital lines only (accelerator, system, network, facility) [USD/h]."""
        return (
            self.accelerator_capex_usd_per_hour
            + self.system_capex_usd_per_hour
            + self.network_capex_usd_per_hour
            + self.facility_capex_usd_per_hour
        )

    def lines(self) -> dict[str, NDArray[np.float64]]:
        """The breakdown as ``{field name: USD/h}``, in the order of the fields."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def ownership_cost_usd_per_hour(
    *,
    price_usd: ArrayLike,
    tdp_w: ArrayLike,
    power_w: ArrayLike,
    pue: ArrayLike,
    electricity_usd_per_kwh: ArrayLike,
    useful_life_years: ArrayLike,
    cost_of_capital_per_year: ArrayLike,
    system_share_of_accelerator_price: ArrayLike,
    facility_capex_usd_per_mw: ArrayLike,
    facility_life_years: ArrayLike,
    operations_share_per_year: ArrayLike,
    software_usd_per_accelerator_year: ArrayLike,
    network_share_of_cluster_capex: ArrayLike = 0.0,
) -> OwnershipCost:
    """Cost of owning one accelerator for one installed hour, by line [USD/h].

    Parameters
    ----------
    price_usd : array_like
        Purchase price of one accelerator [USD], ≥ 0.
    tdp_w : array_like
        Thermal design power of one accelerator [W], > 0; the facility's critical IT
        capacity is sized for it.
    power_w : array_like
        Average IT draw of one accelerator at the operating point [W], ≥ 0
        (see :func:`serving_power_w` and :func:`average_power_w`).
    pue : array_like
        Power usage effectiveness of the data centre [-], ≥ 1; applied to the electricity.
    electricity_usd_per_kwh : array_like
        Electricity price [USD/kWh], ≥ 0.
    useful_life_years : array_like
        Life over which the hardware is paid back [year], > 0.
    cost_of_capital_per_year : array_like
        Discount rate [1/year], in [0, 1].
    system_share_of_accelerator_price : array_like
        Price of the rest of the server (CPUs, memory, chassis, NICs) per accelerator, as a
        share of the accelerator's price [-], ≥ 0.
    facility_capex_usd_per_mw : array_like
        Construction cost of the data centre per MW of critical IT load [USD/MW], ≥ 0
        (cooling and power plant included, as construction-cost surveys quote it [3]_).
    facility_life_years : array_like
        Life over which the facility is paid back [year], > 0.
    operations_share_per_year : array_like
        Yearly operations and maintenance cost as a share of the hardware price [1/year],
        in [0, 1].
    software_usd_per_accelerator_year : array_like
        Software licences and support [USD/(accelerator·year)], ≥ 0.
    network_share_of_cluster_capex : array_like, optional
        Scale-out network (switches, optics, cables) as a share of all cluster hardware
        (accelerators + systems + network) [-], in [0, 1); default 0 (no separate network).

    Returns
    -------
    OwnershipCost
        The lines [USD/h], broadcast over all inputs; ``.total_usd_per_hour`` is their sum.

    Raises
    ------
    ScenarioError
        Any input outside its range; the message names it.

    Notes
    -----
    With :math:`H = 8760` h/year, :math:`\\mathrm{CRF}` the capital recovery factor
    (:func:`capital_recovery_factor`), accelerator price :math:`P`, system share
    :math:`s`, network share of cluster hardware :math:`f`, life :math:`n`, rate :math:`r`:

    .. math::
        c_\\mathrm{acc} &= P \\, \\mathrm{CRF}(r, n) / H \\\\
        c_\\mathrm{sys} &= s P \\, \\mathrm{CRF}(r, n) / H \\\\
        c_\\mathrm{net} &= \\tfrac{f}{1-f} (1 + s) P \\, \\mathrm{CRF}(r, n) / H \\\\
        c_\\mathrm{fac} &= F_\\mathrm{MW} \\, (\\mathrm{TDP} / 10^6)
                          \\, \\mathrm{CRF}(r, n_\\mathrm{fac}) / H \\\\
        c_\\mathrm{pow} &= P_\\mathrm{avg} \\, \\mathrm{PUE} / 1000 \\cdot p_\\mathrm{kWh} \\\\
        c_\\mathrm{ops} &= o \\, \\tfrac{1 + s}{1 - f} P / H \\\\
        c_\\mathrm{sw} &= S_\\mathrm{year} / H

    The network term makes the network :math:`f` of all hardware,
    :math:`N = f (P + sP + N)`. Operations are charged on all hardware. The facility is
    sized for the accelerator's peak (TDP) IT load, because construction costs are quoted
    per MW of critical IT load, which already includes the cooling plant that PUE measures;
    the electricity bill uses the average draw times PUE. Only the power line depends on
    utilisation (through ``power_w``); the others are paid whether the accelerator is busy
    or not. The line items follow the TCO structure of [1]_ and the AI-factory cost
    components of [2]_.

    References
    ----------
    .. [1] SemiAnalysis, "AI Cloud TCO model", https://semianalysis.com/ai-cloud-tco-model/
    .. [2] "Inference Tokenomics" (seed document 002): silicon amortised over 4-6 years, power
       at $0.04-0.10/kWh, facility, networking, software, operations.
    .. [3] Cushman & Wakefield, "Data Center Development Cost Guide 2025" (US), construction
       cost per MW of critical IT load.

    Examples
    --------
    An H100 at $25,000 over 5 years at 8 %, its server adding 50 %, 5 %/year operations,
    $10 M/MW facility over 15 years, 490 W average at PUE 1.3 and $0.08/kWh:

    >>> c = ownership_cost_usd_per_hour(
    ...     price_usd=25_000, tdp_w=700, power_w=490, pue=1.3, electricity_usd_per_kwh=0.08,
    ...     useful_life_years=5, cost_of_capital_per_year=0.08,
    ...     system_share_of_accelerator_price=0.5, facility_capex_usd_per_mw=10e6,
    ...     facility_life_years=15, operations_share_per_year=0.05,
    ...     software_usd_per_accelerator_year=0.0)
    >>> round(float(c.total_usd_per_hour), 4)
    1.4305
    """
    price = _check_range("price_usd", price_usd, 0.0)
    tdp = _check_range("tdp_w", tdp_w, 0.0, low_open=True)
    power = _check_range("power_w", power_w, 0.0)
    pue_ = _check_range("pue", pue, 1.0)
    usd_per_kwh = _check_range("electricity_usd_per_kwh", electricity_usd_per_kwh, 0.0)
    life = _check_range("useful_life_years", useful_life_years, 0.0, low_open=True)
    rate = _check_range("cost_of_capital_per_year", cost_of_capital_per_year, 0.0, 1.0)
    sys_share = _check_range(
        "system_share_of_accelerator_price", system_share_of_accelerator_price, 0.0
    )
    net_share = _check_range(
        "network_share_of_cluster_capex",
        network_share_of_cluster_capex,
        0.0,
        1.0,
        high_open=True,
    )
    fac_usd_per_mw = _check_range("facility_capex_usd_per_mw", facility_capex_usd_per_mw, 0.0)
    fac_life = _check_range("facility_life_years", facility_life_years, 0.0, low_open=True)
    ops = _check_range("operations_share_per_year", operations_share_per_year, 0.0, 1.0)
    sw = _check_range("software_usd_per_accelerator_year", software_usd_per_accelerator_year, 0.0)

    hardware_crf_per_hour = capital_recovery_factor(rate, life) / HOURS_PER_YEAR
    try:
        facility_crf_per_hour = capital_recovery_factor(rate, fac_life) / HOURS_PER_YEAR
    except ScenarioError as exc:  # name the facility's life, not the hardware's
        raise ScenarioError(
            str(exc).replace("useful_life_years", "facility_life_years", 1)
        ) from None
    it_mw = tdp / 1e6
    system_usd = sys_share * price
    network_usd = net_share / (1.0 - net_share) * (price + system_usd)
    parts = (
        price * hardware_crf_per_hour,
        system_usd * hardware_crf_per_hour,
        network_usd * hardware_crf_per_hour,
        fac_usd_per_mw * it_mw * facility_crf_per_hour,
        power * pue_ / 1000.0 * usd_per_kwh,
        ops * (price + system_usd + network_usd) / HOURS_PER_YEAR,
        sw / HOURS_PER_YEAR,
    )
    shape = np.broadcast_shapes(*(np.shape(p) for p in parts))
    if shape == ():  # one operating point: NumPy scalars, as _out makes of 0-d arrays
        return OwnershipCost(*(np.float64(p) for p in parts))
    # a float copy of each line, of the array itself where it has the shape (no broadcast view)
    return OwnershipCost(
        *(
            _out(
                np.array(p, dtype=float)
                if np.shape(p) == shape
                else np.broadcast_to(p, shape).astype(float)
            )
            for p in parts
        )
    )


# -- renting -----------------------------------------------------------------------------------


def rental_cost_usd_per_hour(rate_usd_per_accelerator_hour: ArrayLike) -> NDArray[np.float64]:
    """Cost of renting one accelerator for one hour [USD/h]: the rate itself, validated.

    Parameters
    ----------
    rate_usd_per_accelerator_hour : array_like
        Provider's price per accelerator-hour [USD/h], > 0.

    Returns
    -------
    numpy.ndarray
        The same rate [USD/h] as a float array.

    Notes
    -----
    .. math:: c = p_\\mathrm{rent}

    A rental is billed per installed hour, busy or idle; power, facility and hardware are
    inside the rate, so it does not change with the regional electricity price. Per-instance
    prices are divided by the accelerators in the instance when the catalog is built [1]_.

    References
    ----------
    .. [1] tokenfab rental catalog, ``data/cloud_rental.csv`` (provider price pages, with
       ``source`` and ``as_of`` per row).

    Examples
    --------
    >>> float(rental_cost_usd_per_hour(6.88))
    6.88
    """
    return _out(
        _check_range(
            "rate_usd_per_accelerator_hour", rate_usd_per_accelerator_hour, 0.0, low_open=True
        )
    )


def rental_rate_usd_per_accelerator_hour(
    rental: CloudRental, term: RentalTerm = "on-demand"
) -> float:
    """Rate of one rental record for a pricing term [USD/h].

    Parameters
    ----------
    rental : CloudRental
        A row of the rentals catalog.
    term : {"on-demand", "reserved", "reserved-1y", "reserved-3y", "any"}
        Which price: on-demand, reserved (any committed term), reserved for a 12- or 36-month
        term only (the row's ``reserved_term_months``), or the lower of those given.

    Returns
    -------
    float
        Price per accelerator-hour [USD/h].

    Raises
    ------
    ScenarioError
        ``term`` is unknown, or the record has no price for it.

    Notes
    -----
    .. math:: c = p_\\mathrm{term}, \\qquad c_\\mathrm{any} = \\min(p_\\mathrm{on\\text{-}demand},
              p_\\mathrm{reserved})

    References
    ----------
    .. [1] tokenfab rental catalog, ``data/cloud_rental.csv``.

    Examples
    --------
    >>> from datetime import date
    >>> from tokenfab.catalog import CloudRental
    >>> r = CloudRental(id="x", provider="P", accelerator_id="tpu-v5e", instance_type="v5e",
    ...                 accelerators_per_instance=1, on_demand_usd_per_accelerator_hour=1.2,
    ...                 reserved_usd_per_accelerator_hour=0.54, source="s", as_of=date(2024, 1, 1))
    >>> rental_rate_usd_per_accelerator_hour(r, "reserved")
    0.54
    """
    _check_term(term)
    prices = _prices(rental)
    if term == "any":
        return float(min(p for p in prices.values() if p is not None))
    if not _has_price(rental, term):
        have = [t for t in ("on-demand", "reserved", *RENTAL_TERM_MONTHS) if _has_price(rental, t)]
        raise ScenarioError(
            f"rental term: {rental.id!r} has no {term} price; it has {', '.join(have)} "
            f"(allowed: {', '.join(have)}, any)"
        )
    return float(prices["reserved" if term in RENTAL_TERM_MONTHS else term])  # type: ignore[arg-type]


RENTAL_TERMS = ("on-demand", "reserved", *RENTAL_TERM_MONTHS, "any")


def _check_term(term: str) -> None:
    if term not in RENTAL_TERMS:
        raise ScenarioError(
            f"rental term: unknown term {term!r}; allowed: {', '.join(RENTAL_TERMS)}"
        )


def _prices(rental: CloudRental) -> dict[str, float | None]:
    return {
        "on-demand": rental.on_demand_usd_per_accelerator_hour,
        "reserved": rental.reserved_usd_per_accelerator_hour,
    }


def _has_price(rental: CloudRental, term: RentalTerm) -> bool:
    if term in RENTAL_TERM_MONTHS:
        months = RENTAL_TERM_MONTHS[term]
        return rental.reserved_usd_per_accelerator_hour is not None and (
            rental.reserved_term_months == months
        )
    return term == "any" or _prices(rental)[term] is not None


@dataclass(frozen=True)
class RentalQuote:
    """The rental chosen for an accelerator, with the term and rate used."""

    rental: CloudRental
    term: str
    usd_per_accelerator_hour: float


_BY_TABLE: dict[tuple[str, int], tuple[Mapping[str, Any], Any]] = {}
"""Results derived from one catalog table, keyed by the table's identity: a catalog's tables
are read-only mappings of frozen records (:meth:`tokenfab.catalog.Catalog.table`), so what is
derived from one cannot change; the entry holds the table, so its id is not reused."""


def _from_table(what: str, table: Mapping[str, Any], derive: Callable[[], Any]) -> Any:
    """``derive()`` once per read-only catalog table (any other mapping: every call)."""
    if not isinstance(table, MappingProxyType):
        return derive()
    hit = _BY_TABLE.get((what, id(table)))
    if hit is not None and hit[0] is table:
        return hit[1]
    value = derive()
    if len(_BY_TABLE) > 256:  # catalogs built and dropped (tests): keep the cache small
        _BY_TABLE.clear()
    _BY_TABLE[(what, id(table))] = (table, value)
    return value


def _current_rentals(rentals: Mapping[str, CloudRental]) -> list[CloudRental]:
    """Drop rows superseded by a later row of the same offer (provider, instance, place, term)."""
    return list(_from_table("current", rentals, lambda: tuple(_latest_rentals(rentals))))


def _latest_rentals(rentals: Mapping[str, CloudRental]) -> list[CloudRental]:
    latest: dict[tuple[object, ...], list[CloudRental]] = {}
    for r in rentals.values():
        key = (r.provider, r.instance_type, r.location, r.reserved_term_months)
        kept = latest.get(key)
        if kept is None or r.as_of > kept[0].as_of:
            latest[key] = [r]
        elif r.as_of == kept[0].as_of:
            kept.append(r)
    return [r for rows in latest.values() for r in rows]


def check_rental_provider(catalog: Catalog, provider: str) -> str:
    """The rentals catalog's spelling of ``provider`` (any case); an unknown one raises
    :class:`ScenarioError` naming ``rental_provider`` and the nearest providers.

    >>> from tokenfab.catalog import default_catalog
    >>> check_rental_provider(default_catalog(), "aws")
    'AWS'
    """
    from tokenfab.catalog import nearest

    names = {r.provider.lower(): r.provider for r in catalog.table("rentals").values()}
    found = names.get(provider.lower())
    if found is None:
        hint = ", ".join(nearest(provider, sorted(names.values()))) or "none"
        raise ScenarioError(
            f"rental_provider: unknown provider {provider!r} in the rentals catalog; nearest: "
            f"{hint} (all: {', '.join(sorted(set(names.values())))})"
        )
    return found


def cheapest_rental(
    catalog: Catalog,
    accelerator_id: str,
    term: RentalTerm = "on-demand",
    provider: str | None = None,
) -> RentalQuote:
    """The cheapest current rental of an accelerator in the catalog.

    Parameters
    ----------
    catalog : Catalog
        Catalog whose ``rentals`` table is searched.
    accelerator_id : str
        Accelerator id, e.g. ``"h100-sxm"``.
    term : {"on-demand", "reserved", "reserved-1y", "reserved-3y", "any"}
        Pricing term to compare (see :func:`rental_rate_usd_per_accelerator_hour`).
    provider : str, optional
        Compare only this provider's offers (the rows' ``provider``, any case), so that two
        terms can be compared at one provider; default: every provider.

    Returns
    -------
    RentalQuote
        The record, the term and the rate [USD/h]; ties go to the most recent ``as_of``,
        then the id.

    Raises
    ------
    CatalogError
        No rental in the catalog for the accelerator (or none with a price for ``term``); the
        message lists the accelerators that have one.

    Notes
    -----
    .. math:: c = \\min_{k \\in \\mathrm{offers}(a)} p_{k,\\mathrm{term}}

    An offer that a later row of the same provider, instance type, location and reserved
    term supersedes (an old list price) is not compared: a stale low price must not win.

    References
    ----------
    .. [1] tokenfab rental catalog, ``data/cloud_rental.csv``.

    Examples
    --------
    >>> from tokenfab.catalog import default_catalog
    >>> q = cheapest_rental(default_catalog(), "tpu-v5e", "reserved")  # doctest: +SKIP
    >>> q.usd_per_accelerator_hour  # doctest: +SKIP
    0.54
    """
    _check_term(term)
    rentals = catalog.table("rentals")
    return _from_table(  # once per rentals table and question (an error: every time)
        f"cheapest {(accelerator_id, term, provider)!r}",
        rentals,
        lambda: _cheapest_rental(rentals, accelerator_id, term, provider),
    )


def _cheapest_rental(
    rentals: Mapping[str, CloudRental],
    accelerator_id: str,
    term: RentalTerm,
    provider: str | None,
) -> RentalQuote:
    from tokenfab.catalog import nearest

    offers = [r for r in _current_rentals(rentals) if r.accelerator_id == accelerator_id]
    if provider is not None:
        named = [r for r in offers if r.provider.lower() == provider.lower()]
        if not named:
            have = sorted({r.provider for r in offers}) or ["none"]
            raise CatalogError(
                f"rental_provider: no {provider!r} rental for accelerator {accelerator_id!r}; "
                f"providers with one: {', '.join(have)}"
            )
        offers = named
    priced = [
        (rental_rate_usd_per_accelerator_hour(r, term), r) for r in offers if _has_price(r, term)
    ]
    if not priced:
        have = sorted({r.accelerator_id for r in rentals.values()})
        if offers:
            at = f" at {provider}" if provider is not None else ""
            have = [t for t in RENTAL_TERMS[:-1] if any(_has_price(r, t) for r in offers)]
            raise CatalogError(
                f"rental_term: no {term} price for accelerator {accelerator_id!r}{at} in the "
                f"rentals catalog; terms priced: {', '.join(have)}"
            )
        hint = ", ".join(nearest(accelerator_id, have)) or "none"
        raise CatalogError(
            f"rentals: no rental for accelerator {accelerator_id!r}; nearest with one: {hint} "
            f"(all: {', '.join(have)})"
        )
    rate, best = min(priced, key=lambda p: (p[0], -p[1].as_of.toordinal(), p[1].id))
    return RentalQuote(best, term, rate)


# -- per token ---------------------------------------------------------------------------------


def cost_usd_per_mtok(
    cost_usd_per_hour: ArrayLike, tokens_per_s: ArrayLike, utilization: ArrayLike
) -> NDArray[np.float64]:
    """Cost per million tokens [USD/Mtok] from a cost per hour and a throughput.

    Parameters
    ----------
    cost_usd_per_hour : array_like
        Cost of the capacity that produces the tokens [USD/h], ≥ 0 (per accelerator with a
        per-accelerator throughput, or per deployment with the deployment's throughput).
    tokens_per_s : array_like
        Throughput while serving at the operating point [token/s], > 0.
    utilization : array_like
        Average share of installed hours spent serving at that throughput [-], in (0, 1].

    Returns
    -------
    numpy.ndarray
        Cost [USD per 10^6 tokens].

    Notes
    -----
    .. math:: c_\\mathrm{Mtok} = \\frac{C_\\mathrm{h}}{T \\cdot 3600 \\cdot u} \\cdot 10^6

    Capacity is paid for every hour; only the share :math:`u` of those hours produces tokens.
    This is the levelised-cost construction of [1]_ applied to tokens.

    References
    ----------
    .. [1] NREL, "Simple Levelized Cost of Energy Calculator Documentation",
       https://www.nrel.gov/analysis/tech-lcoe-documentation.html

    Examples
    --------
    $2/h for 1,000 tok/s at 50 % utilisation: 2 / (1000 x 3600 x 0.5) x 1e6 = $1.11/Mtok.

    >>> round(float(cost_usd_per_mtok(2.0, 1000.0, 0.5)), 4)
    1.1111
    """
    cost = _check_range("cost_usd_per_hour", cost_usd_per_hour, 0.0)
    tok_s = _check_range("tokens_per_s", tokens_per_s, 0.0, low_open=True)
    u = _check_range("utilization", utilization, 0.0, 1.0, low_open=True)
    return _out(cost / (tok_s * SECONDS_PER_HOUR * u) * TOKENS_PER_MTOK)


@dataclass(frozen=True)
class TokenCost:
    """Cost per million input, output and all tokens [USD/Mtok]."""

    input_usd_per_mtok: NDArray[np.float64]
    output_usd_per_mtok: NDArray[np.float64]
    blended_usd_per_mtok: NDArray[np.float64]


def token_cost_usd_per_mtok(
    cost_usd_per_hour: ArrayLike,
    input_tok_s: ArrayLike,
    output_tok_s: ArrayLike,
    prefill_time_share: ArrayLike,
    utilization: ArrayLike,
) -> TokenCost:
    """Split a cost per hour into USD per million input, output and blended tokens.

    Parameters
    ----------
    cost_usd_per_hour : array_like
        Cost of the deployment [USD/h], ≥ 0.
    input_tok_s : array_like
        Prompt tokens *served* per second at the operating point [token/s], > 0: every prompt
        token a request brings, prefix-cache hits included (they are served, not computed),
        so a cache hit lowers the cost of a served token.
    output_tok_s : array_like
        Output tokens generated per second at the operating point [token/s], > 0.
    prefill_time_share : array_like
        Share of accelerator time spent on prompts (prefill) [-], in [0, 1].
    utilization : array_like
        Average share of installed hours spent serving [-], in (0, 1].

    Returns
    -------
    TokenCost
        ``input_usd_per_mtok``, ``output_usd_per_mtok``, ``blended_usd_per_mtok``.

    Notes
    -----
    The cost is shared by the time each phase occupies the accelerators, :math:`s` for
    prefill and :math:`1-s` for decode [1]_:

    .. math::
        c_\\mathrm{in} &= \\frac{s\\,C_\\mathrm{h}}{T_\\mathrm{in}\\,3600\\,u} 10^6, \\quad
        c_\\mathrm{out} = \\frac{(1-s)\\,C_\\mathrm{h}}{T_\\mathrm{out}\\,3600\\,u} 10^6, \\\\
        c_\\mathrm{blend} &= \\frac{C_\\mathrm{h}}{(T_\\mathrm{in} + T_\\mathrm{out})\\,3600\\,u}
        10^6 .

    Tokens of both kinds in the ratio :math:`T_\\mathrm{in}:T_\\mathrm{out}`, priced at
    :math:`c_\\mathrm{in}` and :math:`c_\\mathrm{out}`, cost exactly :math:`C_\\mathrm{h}` an
    hour, so the split conserves the total.

    References
    ----------
    .. [1] Zhong, Y. et al., "DistServe: Disaggregating Prefill and Decoding for
       Goodput-optimized Large Language Model Serving", OSDI 2024,
       https://www.usenix.org/conference/osdi24/presentation/zhong-yinmin

    Examples
    --------
    $10/h, 20,000 prompt tok/s and 2,000 output tok/s, 20 % of the time on prefill, fully
    used: input 10 x 0.2 / (20000 x 3600) x 1e6 = $0.0278/Mtok, output $1.1111/Mtok.

    >>> t = token_cost_usd_per_mtok(10.0, 20_000.0, 2_000.0, 0.2, 1.0)
    >>> round(float(t.input_usd_per_mtok), 4), round(float(t.output_usd_per_mtok), 4)
    (0.0278, 1.1111)
    """
    cost = _check_range("cost_usd_per_hour", cost_usd_per_hour, 0.0)
    t_in = _check_range("input_tok_s", input_tok_s, 0.0, low_open=True)
    t_out = _check_range("output_tok_s", output_tok_s, 0.0, low_open=True)
    share = _check_range("prefill_time_share", prefill_time_share, 0.0, 1.0)
    u = _check_range("utilization", utilization, 0.0, 1.0, low_open=True)
    served_s_per_hour = SECONDS_PER_HOUR * u
    return TokenCost(
        _out(cost * share / (t_in * served_s_per_hour) * TOKENS_PER_MTOK),
        _out(cost * (1.0 - share) / (t_out * served_s_per_hour) * TOKENS_PER_MTOK),
        _out(cost / ((t_in + t_out) * served_s_per_hour) * TOKENS_PER_MTOK),
    )


def api_cost_usd_per_request(
    input_tokens: ArrayLike,
    cached_input_tokens: ArrayLike,
    output_tokens: ArrayLike,
    input_usd_per_mtok: ArrayLike,
    cached_input_usd_per_mtok: ArrayLike,
    output_usd_per_mtok: ArrayLike,
) -> NDArray[np.float64]:
    r"""What an API bills for one request [USD].

    Parameters
    ----------
    input_tokens : array_like
        Prompt tokens of the request, cached ones included [token], ≥ 0.
    cached_input_tokens : array_like
        Of those, the tokens the provider's prefix cache serves [token], in [0, input_tokens].
    output_tokens : array_like
        Generated tokens, reasoning tokens included (billed as output) [token], ≥ 0.
    input_usd_per_mtok, cached_input_usd_per_mtok, output_usd_per_mtok : array_like
        List prices [USD/Mtok], ≥ 0; give the input price as the cached price where the
        provider lists none.

    Returns
    -------
    numpy.ndarray
        Cost of the request [USD].

    Notes
    -----
    .. math:: c = \frac{(i - i_c)\,p_\mathrm{in} + i_c\,p_\mathrm{cached} + o\,p_\mathrm{out}}{10^6}

    Reasoning (chain-of-thought) tokens are billed at the output price [1]_.

    References
    ----------
    .. [1] DeepSeek API docs, "Models & Pricing" and the 2025-01-20 release note,
       https://api-docs.deepseek.com/news/news250120 (deepseek-reasoner: $0.14 per 1M input
       tokens on a cache hit, $0.55 on a miss, $2.19 per 1M output tokens, "output includes
       chain-of-thought tokens").

    Examples
    --------
    2,006 prompt tokens of which 1,920 cached, 300 output, at DeepSeek-R1's January 2025
    prices: (86 x 0.55 + 1920 x 0.14 + 300 x 2.19) / 1e6 = $0.000973.

    >>> round(float(api_cost_usd_per_request(2006, 1920, 300, 0.55, 0.14, 2.19)), 7)
    0.0009731
    """
    i = _check_range("input_tokens", input_tokens, 0.0)
    cached = _check_range("cached_input_tokens", cached_input_tokens, 0.0)
    if np.any(cached > i):
        raise ScenarioError("cached_input_tokens: more cached tokens than prompt tokens")
    o = _check_range("output_tokens", output_tokens, 0.0)
    p_in = _check_range("input_usd_per_mtok", input_usd_per_mtok, 0.0)
    p_cached = _check_range("cached_input_usd_per_mtok", cached_input_usd_per_mtok, 0.0)
    p_out = _check_range("output_usd_per_mtok", output_usd_per_mtok, 0.0)
    return _out(((i - cached) * p_in + cached * p_cached + o * p_out) / TOKENS_PER_MTOK)


# -- defaults from the catalog -----------------------------------------------------------------


@dataclass(frozen=True)
class CostInputs:
    """Defaults of the ownership cost model, read from ``cost_assumptions.csv``."""

    useful_life_years: float
    cost_of_capital_per_year: float
    system_share_of_accelerator_price: float
    facility_capex_usd_per_mw: float
    facility_life_years: float
    operations_share_per_year: float
    default_utilization: float
    idle_power_share_of_tdp: float
    memory_power_share: float
    network_share_of_cluster_capex: float = 0.0
    compute_power_share: float = 1.0
    # software paid on every accelerator whatever the scenario (a user's own override; none is
    # shipped); a chosen licence (``data/software_licences.csv``) is added by the planner
    software_usd_per_accelerator_year: float = 0.0


# field -> (catalog id, allowed units, required)
_ASSUMPTIONS: dict[str, tuple[str, frozenset[str], bool]] = {
    "useful_life_years": ("useful_life_years", frozenset({"years"}), True),
    "cost_of_capital_per_year": (
        "cost_of_capital",
        frozenset({"fraction_per_year", "fraction"}),
        True,
    ),
    "system_share_of_accelerator_price": (
        "system_share_of_accelerator_price",
        frozenset({"fraction", "ratio"}),
        True,
    ),
    "facility_capex_usd_per_mw": ("facility_capex_usd_per_mw", frozenset({"usd_per_mw"}), True),
    "facility_life_years": ("facility_life_years", frozenset({"years"}), True),
    "operations_share_per_year": (
        "operations_share_per_year",
        frozenset({"fraction_per_year", "fraction"}),
        True,
    ),
    "software_usd_per_accelerator_year": (
        "software_usd_per_accelerator_year",
        frozenset({"usd_per_accelerator_year"}),
        False,
    ),
    "default_utilization": ("default_utilization", frozenset({"fraction", "ratio"}), True),
    "idle_power_share_of_tdp": ("idle_power_share_of_tdp", frozenset({"fraction", "ratio"}), True),
    "memory_power_share": ("memory_power_share", frozenset({"fraction", "ratio"}), True),
    "compute_power_share": ("compute_power_share", frozenset({"ratio"}), False),
    "network_share_of_cluster_capex": (
        "network_share_of_cluster_capex",
        frozenset({"fraction", "ratio"}),
        False,
    ),
}


def default_cost_inputs(catalog: Catalog) -> CostInputs:
    """Read the ownership-cost defaults from a catalog's ``cost-assumptions`` table.

    Parameters
    ----------
    catalog : Catalog
        Catalog (built-in plus any user overrides) to read.

    Returns
    -------
    CostInputs
        One value per assumption, in the units of its field name.

    Raises
    ------
    CatalogError
        A required id is missing, or a row's unit is not the one its field needs. Ids are
        matched with ``_`` and ``-`` treated alike (catalog ids may only use ``-``).

    Examples
    --------
    >>> from tokenfab.catalog import default_catalog
    >>> default_cost_inputs(default_catalog()).useful_life_years  # doctest: +SKIP
    5.0
    """
    table = catalog.table("cost-assumptions")
    return _from_table("inputs", table, lambda: _cost_inputs(catalog, table))


def _cost_inputs(catalog: Catalog, table: Mapping[str, Any]) -> CostInputs:
    by_key = {rid.replace("-", "_"): rec for rid, rec in table.items()}
    values: dict[str, float] = {}
    for field, (rid, units, required) in _ASSUMPTIONS.items():
        rec = by_key.get(rid)
        if rec is None:
            if required:
                hint = ", ".join(sorted(table)) or "none"
                raise CatalogError(
                    f"cost-assumptions: missing id {rid.replace('_', '-')!r} (needed for "
                    f"{field}); ids present: {hint}"
                )
            continue
        if rec.unit not in units:
            raise CatalogError(
                f"{catalog.where('cost-assumptions', rec.id)}: unit: {rec.id!r} has unit "
                f"{rec.unit!r}; allowed: {', '.join(sorted(units))}"
            )
        values[field] = float(rec.value)
    return CostInputs(**values)


def ownership_cost_from_inputs(
    inputs: CostInputs,
    *,
    price_usd: ArrayLike,
    tdp_w: ArrayLike,
    power_w: ArrayLike,
    pue: ArrayLike,
    electricity_usd_per_kwh: ArrayLike,
) -> OwnershipCost:
    """:func:`ownership_cost_usd_per_hour` with the financial defaults taken from ``inputs``.

    Parameters
    ----------
    inputs : CostInputs
        Defaults (see :func:`default_cost_inputs`); use :func:`dataclasses.replace` to vary one.
    price_usd, tdp_w, power_w, pue, electricity_usd_per_kwh : array_like
        As in :func:`ownership_cost_usd_per_hour` [USD], [W], [W], [-], [USD/kWh].

    Returns
    -------
    OwnershipCost
        The lines [USD/h].

    Examples
    --------
    >>> ci = CostInputs(5, 0.08, 0.5, 10e6, 15, 0.05, 0.6, 0.115, 0.45)
    >>> c = ownership_cost_from_inputs(ci, price_usd=25_000, tdp_w=700, power_w=490, pue=1.3,
    ...                                electricity_usd_per_kwh=0.08)
    >>> round(float(c.total_usd_per_hour), 4)
    1.4305
    """
    return ownership_cost_usd_per_hour(
        price_usd=price_usd,
        tdp_w=tdp_w,
        power_w=power_w,
        pue=pue,
        electricity_usd_per_kwh=electricity_usd_per_kwh,
        useful_life_years=inputs.useful_life_years,
        cost_of_capital_per_year=inputs.cost_of_capital_per_year,
        system_share_of_accelerator_price=inputs.system_share_of_accelerator_price,
        facility_capex_usd_per_mw=inputs.facility_capex_usd_per_mw,
        facility_life_years=inputs.facility_life_years,
        operations_share_per_year=inputs.operations_share_per_year,
        software_usd_per_accelerator_year=inputs.software_usd_per_accelerator_year,
        network_share_of_cluster_capex=inputs.network_share_of_cluster_capex,
    )
