"""The eight KPIs of a deployment from an operating point, a cost per accelerator-hour, a region.

1. cost per million tokens (input, output, blended);
2. monthly cost;
3. accelerators needed;
4. throughput (system output tokens/s and per user);
5. tokens per joule (and output tokens/s per MW);
6. energy per month;
7. carbon per month and per million output tokens;
8. cost per request and per agent task.

:func:`compute_kpis` evaluates them for arrays of operating points at once (a frontier, a
Monte Carlo sample) without a Python loop. :func:`accelerators_for_demand` sizes a deployment
for a demand, and the ``output_tok_s_from_*`` converters turn a demand into output tokens/s.

Energy conventions, stated once: ``power_w`` is IT power (the accelerators with their share of
the host servers, :func:`tokenfab.cost.it_power_w`), ``facility_power_w`` is IT power × PUE;
energy, carbon and tokens per joule are on facility energy; ``gpu_joules_per_output_token`` is
the accelerator board alone while serving, as ML.ENERGY measures it. A month is
730 h (8760 h / 12).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from tokenfab.cost import (
    HOURS_PER_YEAR,
    SECONDS_PER_HOUR,
    TOKENS_PER_MTOK,
    _check_range,
    _out,
    token_cost_usd_per_mtok,
)
from tokenfab.errors import ScenarioError

HOURS_PER_MONTH = HOURS_PER_YEAR / 12.0  # 730 h
SECONDS_PER_DAY = 86_400.0

__all__ = [
    "HOURS_PER_MONTH",
    "Kpis",
    "Sizing",
    "accelerators_for_demand",
    "compute_kpis",
    "output_tok_s_from_requests",
    "output_tok_s_from_tokens_per_day",
]


@dataclass(frozen=True)
class Kpis:
    """KPIs of one deployment or an array of them; every field broadcasts to one shape."""

    cost_usd_per_accelerator_hour: NDArray[np.float64]
    cost_usd_per_mtok_input: NDArray[np.float64]
    cost_usd_per_mtok_output: NDArray[np.float64]
    cost_usd_per_mtok_blended: NDArray[np.float64]
    cost_usd_per_request: NDArray[np.float64]
    cost_usd_per_task: NDArray[np.float64]
    accelerators_needed: NDArray[np.float64]
    monthly_cost_usd: NDArray[np.float64]
    output_tok_s_total: NDArray[np.float64]
    output_tok_s_per_user: NDArray[np.float64]
    power_w: NDArray[np.float64]
    facility_power_w: NDArray[np.float64]
    tokens_per_joule: NDArray[np.float64]
    output_tok_s_per_mw: NDArray[np.float64]
    energy_kwh_per_month: NDArray[np.float64]
    co2e_kg_per_month: NDArray[np.float64]
    co2e_g_per_mtok: NDArray[np.float64]
    gpu_joules_per_output_token: NDArray[np.float64]

    def as_dict(self) -> dict[str, float]:
        """Flat ``{name: value}`` of a scalar point, units in the keys.

        Raises
        ------
        ValueError
            The KPIs hold an array of points; index them first.
        """
        out: dict[str, float] = {}
        for f in fields(self):
            value = np.asarray(getattr(self, f.name))
            if value.size != 1:
                raise ValueError(
                    f"Kpis.as_dict: {f.name} holds {value.size} points (shape {value.shape}); "
                    "as_dict needs one point"
                )
            out[f.name] = float(value.reshape(()))
        return out


def compute_kpis(
    *,
    output_tok_s_total: ArrayLike,
    input_tok_s_total: ArrayLike,
    output_tok_s_per_user: ArrayLike,
    accelerators: ArrayLike,
    power_w: ArrayLike,
    prefill_time_share: ArrayLike,
    cost_usd_per_accelerator_hour: ArrayLike,
    grid_co2e_g_per_kwh: ArrayLike,
    pue: ArrayLike,
    utilization: ArrayLike,
    output_tokens: ArrayLike,
    steps_per_task: ArrayLike = 1.0,
    busy_power_w: ArrayLike | None = None,
) -> Kpis:
    """The eight KPIs of a deployment at an operating point.

    Parameters
    ----------
    output_tok_s_total : array_like
        Output tokens generated per second by the whole deployment while serving
        [token/s], > 0.
    input_tok_s_total : array_like
        Prompt tokens served per second by the whole deployment while serving [token/s], > 0,
        prefix-cache hits included (see :func:`tokenfab.cost.token_cost_usd_per_mtok`).
    output_tok_s_per_user : array_like
        Output tokens per second each request sees (1 / TPOT) [token/s], > 0.
    accelerators : array_like
        Accelerators in the deployment [-], a whole number ≥ 1.
    power_w : array_like
        Average IT power of one accelerator with its host share at this utilisation [W], ≥ 0.
    prefill_time_share : array_like
        Share of accelerator time spent on prompts [-], in [0, 1].
    cost_usd_per_accelerator_hour : array_like
        Cost of one installed accelerator-hour, bought or rented [USD/h], ≥ 0.
    grid_co2e_g_per_kwh : array_like
        Carbon intensity of the grid [gCO2e/kWh], ≥ 0.
    pue : array_like
        Power usage effectiveness [-], ≥ 1.
    utilization : array_like
        Share of installed hours spent serving at the operating point [-], in (0, 1].
    output_tokens : array_like
        Tokens generated per request, reasoning tokens included [token], > 0.
    steps_per_task : array_like, optional
        Requests (model calls) per agent task [-], ≥ 1; default 1.
    busy_power_w : array_like, optional
        Board power of one accelerator while serving at the operating point, no host [W], ≥ 0 (default
        ``power_w``): the basis of ``gpu_joules_per_output_token``, accelerator energy per
        output token before PUE and idle hours, the figure energy benchmarks such as
        ML.ENERGY report.

    Returns
    -------
    Kpis
        All fields broadcast over the inputs.

    Raises
    ------
    ScenarioError
        Any input outside its range; the message names it.

    Notes
    -----
    With :math:`N` accelerators, cost :math:`c` per accelerator-hour, average IT power
    :math:`p` per accelerator, utilisation :math:`u`, output and prompt throughput
    :math:`T_\\mathrm{out}, T_\\mathrm{in}` while serving, :math:`h = 730` h/month:

    .. math::
        C_\\mathrm{h} &= N c, \\qquad C_\\mathrm{month} = C_\\mathrm{h} h \\\\
        P_\\mathrm{IT} &= N p, \\qquad P_\\mathrm{fac} = P_\\mathrm{IT} \\, \\mathrm{PUE} \\\\
        \\mathrm{tok/J} &= u \\, T_\\mathrm{out} / P_\\mathrm{fac}, \\qquad
        \\mathrm{tok/s/MW} = 10^6 \\, \\mathrm{tok/J} \\\\
        E_\\mathrm{month} &= P_\\mathrm{fac} \\, h / 1000 \\ \\mathrm{kWh}, \\qquad
        \\mathrm{CO_2e}_\\mathrm{month} = E_\\mathrm{month} \\, I / 1000 \\ \\mathrm{kg} \\\\
        \\mathrm{CO_2e}/\\mathrm{Mtok} &= I \\, 10^6 / (3.6 \\cdot 10^6 \\, \\mathrm{tok/J})
        \\ \\mathrm{g} \\\\
        c_\\mathrm{request} &= C_\\mathrm{h} / (3600 \\, u \\, T_\\mathrm{out} / L_\\mathrm{out}),
        \\qquad c_\\mathrm{task} = k \\, c_\\mathrm{request}

    :math:`I` is the grid intensity and :math:`L_\\mathrm{out}` the output tokens per request:
    every request yields exactly :math:`L_\\mathrm{out}` output tokens, so requests per second
    are :math:`u T_\\mathrm{out} / L_\\mathrm{out}`. ``co2e_g_per_mtok`` is per million
    *output* tokens, like tokens per joule, the metric of [1]_. The input/output split of the
    cost is :func:`tokenfab.cost.token_cost_usd_per_mtok`. Carbon uses the grid's average
    (location-based) intensity, as the GHG Protocol's Scope 2 guidance defines it [2]_.
    Cost and carbon fall on the whole month: installed capacity is paid for and (through
    ``power_w``) powered whether or not it is busy.

    References
    ----------
    .. [1] "Inference Tokenomics" (seed document 002): tokens per watt as the AI-factory
       metric; SemiAnalysis InferenceMAX, https://inferencemax.semianalysis.com/
    .. [2] GHG Protocol, "Scope 2 Guidance", 2015,
       https://ghgprotocol.org/scope-2-guidance

    Examples
    --------
    8 accelerators at $2/h and 500 W each, 8,000 output and 40,000 prompt tok/s, 30 % of the
    time on prefill, 80 % utilised, PUE 1.2, 400 g/kWh, 500 output tokens per request:

    >>> k = compute_kpis(output_tok_s_total=8000, input_tok_s_total=40000,
    ...                  output_tok_s_per_user=40, accelerators=8, power_w=500,
    ...                  prefill_time_share=0.3, cost_usd_per_accelerator_hour=2.0,
    ...                  grid_co2e_g_per_kwh=400, pue=1.2, utilization=0.8, output_tokens=500)
    >>> round(k.as_dict()["monthly_cost_usd"], 2), round(k.as_dict()["co2e_kg_per_month"], 1)
    (11680.0, 1401.6)
    """
    t_out = _check_range("output_tok_s_total", output_tok_s_total, 0.0, low_open=True)
    t_in = _check_range("input_tok_s_total", input_tok_s_total, 0.0, low_open=True)
    per_user = _check_range("output_tok_s_per_user", output_tok_s_per_user, 0.0, low_open=True)
    n = _check_range("accelerators", accelerators, 1.0)
    if np.any(n != np.round(n)):
        bad = n.flat[np.flatnonzero(n != np.round(n))[0]]
        raise ScenarioError(f"accelerators: {bad:g} is not a whole number; allowed: 1, 2, 3, ...")
    p = _check_range("power_w", power_w, 0.0)
    share = _check_range("prefill_time_share", prefill_time_share, 0.0, 1.0)
    c = _check_range("cost_usd_per_accelerator_hour", cost_usd_per_accelerator_hour, 0.0)
    intensity = _check_range("grid_co2e_g_per_kwh", grid_co2e_g_per_kwh, 0.0)
    pue_ = _check_range("pue", pue, 1.0)
    u = _check_range("utilization", utilization, 0.0, 1.0, low_open=True)
    l_out = _check_range("output_tokens", output_tokens, 0.0, low_open=True)
    steps = _check_range("steps_per_task", steps_per_task, 1.0)
    busy = p if busy_power_w is None else _check_range("busy_power_w", busy_power_w, 0.0)

    cost_usd_per_hour = n * c
    split = token_cost_usd_per_mtok(cost_usd_per_hour, t_in, t_out, share, u)
    requests_per_hour = SECONDS_PER_HOUR * u * t_out / l_out
    cost_per_request = cost_usd_per_hour / requests_per_hour

    it_power_w = n * p
    facility_power_w = it_power_w * pue_
    average_output_tok_s = u * t_out
    with np.errstate(divide="ignore"):  # zero power: infinitely many tokens per joule
        tokens_per_joule = average_output_tok_s / facility_power_w
    energy_kwh_per_month = facility_power_w * HOURS_PER_MONTH / 1000.0
    co2e_g_per_month = energy_kwh_per_month * intensity
    mtok_per_month = average_output_tok_s * SECONDS_PER_HOUR * HOURS_PER_MONTH / TOKENS_PER_MTOK

    values = (
        c,
        split.input_usd_per_mtok,
        split.output_usd_per_mtok,
        split.blended_usd_per_mtok,
        cost_per_request,
        cost_per_request * steps,
        n,
        cost_usd_per_hour * HOURS_PER_MONTH,
        t_out,
        per_user,
        it_power_w,
        facility_power_w,
        tokens_per_joule,
        tokens_per_joule * 1e6,
        energy_kwh_per_month,
        co2e_g_per_month / 1000.0,
        co2e_g_per_month / mtok_per_month,
        n * busy / t_out,
    )
    shape = np.broadcast_shapes(*(np.shape(v) for v in values))
    given = (c, n, t_out, per_user)  # the caller's arrays: returned as copies, never aliased

    def own(v: Any) -> NDArray:
        # a result computed here already is a new array of the full shape: no copy needed
        fresh = isinstance(v, np.ndarray) and v.dtype == np.float64 and v.shape == shape
        if fresh and not any(v is g for g in given):
            return v
        a = np.asarray(v, float)
        # a copy: of the array itself where it has the shape (no broadcast view to build)
        return a.copy() if a.shape == shape else np.broadcast_to(a, shape).copy()

    if shape == ():  # one operating point (the scalar path): NumPy scalars, no arrays to copy
        return Kpis(*(np.float64(v) for v in values))
    return Kpis(*(_out(own(v)) for v in values))


# -- sizing for a demand -----------------------------------------------------------------------


def output_tok_s_from_tokens_per_day(tokens_per_day: ArrayLike) -> NDArray[np.float64]:
    """Average output-token demand from a daily volume [token/s].

    Parameters
    ----------
    tokens_per_day : array_like
        Output tokens demanded a day [token/day], > 0.

    Returns
    -------
    numpy.ndarray
        Average demand [token/s].

    Notes
    -----
    .. math:: T = V_\\mathrm{day} / 86400

    References
    ----------
    .. [1] BIPM, *The International System of Units*, 9th ed., 2019, Table 8 (1 d = 86 400 s).

    Examples
    --------
    >>> float(output_tok_s_from_tokens_per_day(864e6))
    10000.0
    """
    volume = _check_range("tokens_per_day", tokens_per_day, 0.0, low_open=True)
    return _out(volume / SECONDS_PER_DAY)


def output_tok_s_from_requests(
    requests_per_second: ArrayLike, output_tokens: ArrayLike
) -> NDArray[np.float64]:
    """Average output-token demand from a request rate [token/s].

    Parameters
    ----------
    requests_per_second : array_like
        Average request rate [1/s], > 0.
    output_tokens : array_like
        Tokens generated per request, reasoning included [token], > 0.

    Returns
    -------
    numpy.ndarray
        Average demand [token/s].

    Notes
    -----
    .. math:: T = \\lambda \\, L_\\mathrm{out}

    This is Little's law applied to tokens: the rate of requests times the tokens each
    carries [1]_.

    References
    ----------
    .. [1] Little, J. D. C., "A Proof for the Queuing Formula L = λW", Operations Research
       9(3), 1961, https://doi.org/10.1287/opre.9.3.383

    Examples
    --------
    >>> float(output_tok_s_from_requests(20.0, 500))
    10000.0
    """
    rate = _check_range("requests_per_second", requests_per_second, 0.0, low_open=True)
    l_out = _check_range("output_tokens", output_tokens, 0.0, low_open=True)
    return _out(rate * l_out)


class Sizing(NamedTuple):
    """Replicas and accelerators to install for a demand, and the utilisation that results."""

    replicas: NDArray[np.int64]
    accelerators: NDArray[np.int64]
    utilization: NDArray[np.float64]


def accelerators_for_demand(
    demand_output_tok_s_avg: ArrayLike,
    peak_to_average: ArrayLike,
    capacity_output_tok_s_per_replica: ArrayLike,
    accelerators_per_replica: ArrayLike,
) -> Sizing:
    """Replicas and accelerators that serve a demand at its peak, and the average utilisation.

    Parameters
    ----------
    demand_output_tok_s_avg : array_like
        Average output-token demand [token/s], > 0.
    peak_to_average : array_like
        Peak demand over average demand [-], ≥ 1.
    capacity_output_tok_s_per_replica : array_like
        Output tokens per second one replica delivers at the operating point [token/s], > 0.
    accelerators_per_replica : array_like
        Accelerators in one replica (TP × PP × EP) [-], a whole number ≥ 1.

    Returns
    -------
    Sizing
        ``replicas`` and ``accelerators`` (integer arrays) and ``utilization`` [-], average
        demand over installed capacity, in (0, 1].

    Raises
    ------
    ScenarioError
        Any input outside its range.

    Notes
    -----
    .. math::
        R = \\max\\left(1, \\left\\lceil \\frac{\\bar D \\, k}{T_\\mathrm{replica}}
        \\right\\rceil\\right), \\qquad N = R \\, a, \\qquad
        u = \\frac{\\bar D}{R \\, T_\\mathrm{replica}}

    Capacity is installed for the peak :math:`\\bar D k`, so the average utilisation is at
    most :math:`1/k` — the provisioning rule of capacity planning [1]_. Ratios within 1e-9 of
    a whole number are rounded first so that floating-point noise does not add a replica.

    References
    ----------
    .. [1] Gunther, N. J., *Guerrilla Capacity Planning*, Springer, 2007, ch. 1-2.

    Examples
    --------
    10,000 tok/s on average, peaks 1.5x, 4,000 tok/s per 8-accelerator replica:
    ceil(15000 / 4000) = 4 replicas, 32 accelerators, utilisation 10000 / 16000.

    >>> s = accelerators_for_demand(10_000, 1.5, 4_000, 8)
    >>> int(s.replicas), int(s.accelerators), float(s.utilization)
    (4, 32, 0.625)
    """
    demand = _check_range("demand_output_tok_s_avg", demand_output_tok_s_avg, 0.0, low_open=True)
    peak = _check_range("peak_to_average", peak_to_average, 1.0)
    capacity = _check_range(
        "capacity_output_tok_s_per_replica",
        capacity_output_tok_s_per_replica,
        0.0,
        low_open=True,
    )
    per_replica = _check_range("accelerators_per_replica", accelerators_per_replica, 1.0)
    if np.any(per_replica != np.round(per_replica)):
        bad = per_replica.flat[np.flatnonzero(per_replica != np.round(per_replica))[0]]
        raise ScenarioError(
            f"accelerators_per_replica: {bad:g} is not a whole number; allowed: 1, 2, 3, ..."
        )
    ratio = demand * peak / capacity
    replicas = np.maximum(1.0, np.ceil(np.round(ratio, 9)))
    # min() only removes the rounding noise the 1e-9 tolerance above can leave
    utilization = np.minimum(demand / (replicas * capacity), 1.0)
    shape = np.broadcast_shapes(replicas.shape, per_replica.shape, utilization.shape)
    replicas_i = np.broadcast_to(replicas, shape).astype(np.int64)
    return Sizing(
        _out(replicas_i),
        _out(replicas_i * np.broadcast_to(per_replica, shape).astype(np.int64)),
        _out(np.broadcast_to(utilization, shape).astype(float)),
    )
