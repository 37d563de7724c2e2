"""Size a deployment for a demand: the cheapest one that carries it and meets the targets.

"Cheapest" is the lowest monthly cost that carries the demand's peak and meets the latency
targets (TPOT, and TTFT with the queueing of Poisson arrivals at that load). The search covers
every layout the engine can run (:func:`tokenfab.perf.operating.candidate_layouts`, replicas
of any size, across scale-up domains where the accelerator's scale-out bandwidth is known) and
every batch on the grid, in one NumPy pass:

* a layout ``l`` at grid batch ``j`` delivers ``X[l, j]`` output tokens/s per replica, so the
  peak needs ``R = ceil(peak / X[l, j])`` replicas, ``N = R x a_l`` accelerators;
* the fleet then runs at the smallest batch ``j'`` whose capacity carries ``peak / R`` -- the
  batch that load reaches, whose TPOT and TTFT are what users see;
* its monthly cost is ``N x (c0 + k x P_avg)``: the hourly cost of an accelerator without its
  power, ``c0``, plus the power line at the average draw of that operating point and
  utilisation (:func:`tokenfab.cost.serving_power_w`).

A disaggregated fleet (a prefill and a decode pool) is sized in whole pools at every cell:
``R`` is the fewest replicas whose whole pools carry the peak at batch ``j``
(:func:`whole_pool_replicas`), and ``j'`` the smallest batch whose whole pools of ``R``
carry it -- the rule :func:`count_point` places a count by, so the cell found is one of its
candidates. Sizing on continuous replicas and then adding replicas at the chosen batch until
whole pools carried (the rule before) put Llama 3.1 70B FP8 at 5e9 output tokens a day on 40
H100 ($54,339 a month: TP 2 x PP 4's 4 continuous replicas needed a fifth) where 4 replicas
of TP 1 x PP 8 carry it whole, 32 H100 ($44,024); and, on TP 4 x PP 2 alone, 6 replicas at
batch 451 ($65,129) where 5 at batch 1352 carry it ($54,324).

Without a TTFT target the fleet still keeps headroom for queueing: the cheapest fleet that
merely carries the peak can run a replica at 99.9 % of its capacity, where the M/D/1 wait of
Poisson arrivals is minutes (Llama 3.1 8B on A100s at 1e9 tokens a day: TTFT 132 s). A sized
fleet therefore has at least the replicas that keep the mean wait at the peak within
:data:`DEFAULT_QUEUE_WAIT_S` (:func:`replicas_for_wait`). A TTFT target replaces that bound:
each (layout, batch) gets the replicas that keep the wait within what the target leaves after
that batch's TTFT service (:func:`replicas_for_ttft`), so more replicas at a larger batch may
win over fewer at a smaller one; a batch whose service alone misses the target stays out.

The cheapest (layout, batch) wins; ties go to the shorter request latency. This replaces
sizing whole replicas of the max-throughput layout of one 8-GPU group, which put
Llama-3.1-70B at 1e6 tokens a day on 8 H100 ($13.2k a month) where one carries it.

A fixed count ``N`` (``accelerators`` with a demand) is placed by the same rule
(:func:`count_point`): every layout of the grid whose replicas fill ``N`` exactly, ``R = N /
a_l``, at the batch the peak reaches, the cheapest that carries it within the targets (keeping
the queue headroom above where any layout of ``N`` can), ties to the shorter request. Once the
sizing has its ``N`` it takes that count's point, so ``estimate --accelerators N`` with plan's
``N`` and demand is plan's deployment number for number: one search, one grid. (A second one,
latency-first on the count's own batch grid, put Llama 3.3 70B at 1e9 tokens a day, peak 2x,
on plan's 12 B200 in another layout, 24 % dearer per output token, 41 % more J a token.)
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import ArrayLike, NDArray

from tokenfab.catalog import Catalog
from tokenfab.cost import CostInputs, average_power_w, it_power_w, serving_power_w
from tokenfab.errors import InfeasibleError
from tokenfab.hostpower import host_power_w
from tokenfab.kpis import output_tok_s_from_requests, output_tok_s_from_tokens_per_day
from tokenfab.perf.operating import (
    Grid,
    OperatingPoint,
    Setup,
    _memo,
    _point,
    _raise_does_not_fit,
    batch_grid,
    candidate_layouts,
    evaluate_grid,
    max_batches,
    raise_missed_targets,
    resolve,
    scenario_layouts,
    with_workload_targets,
)
from tokenfab.perf.serving import Layout, disaggregated_split_arrays, md1_wait_s
from tokenfab.scenario import Scenario

# Replicas searched have at most this many accelerators (every power-of-two replica divides it).
MAX_REPLICA_ACCELERATORS = 1024

DEFAULT_QUEUE_WAIT_S = 2.0
"""Mean queueing wait [s] a fleet sized without a TTFT target may add to the TTFT at the peak:
MLPerf Inference's Server-scenario TTFT limit for Llama 2 70B, 2000 ms (mlcommons/inference
loadgen/mlperf.conf, ``llama2-70b.Server.ttft_latency = 2000``), the limit the ``rag``
workload also uses."""


def replicas_for_wait(
    peak_output_tok_s: ArrayLike,
    top_output_tok_s_replica: ArrayLike,
    output_tokens: ArrayLike,
    wait_s: ArrayLike,
) -> NDArray:
    r"""Fewest replicas [-] whose M/D/1 queueing wait at the peak is at most ``wait_s``.

    Parameters
    ----------
    peak_output_tok_s : the demand's peak [token/s]
    top_output_tok_s_replica : a replica's largest output rate [token/s]
    output_tokens : output tokens per request [token]
    wait_s : the largest mean wait allowed [s], > 0

    Notes
    -----
    Each replica serves requests one slot-release at a time, :math:`s = o / X_{top}`, and
    receives :math:`\lambda = P / (o R)` of the peak :math:`P`
    (:func:`tokenfab.perf.serving.md1_wait_s`). :math:`W = \rho s / (2 (1 - \rho)) \le B`
    holds for :math:`\rho \le 2B / (s + 2B)`, so :math:`R \ge P (s + 2B) / (2 B X_{top})`.

    Examples
    --------
    >>> # s = 1000 / 2000 = 0.5 s; rho <= 4 / 4.5 = 0.889; R >= 11,574 / (2000 x 0.889) = 6.51
    >>> int(replicas_for_wait(11_574.0, 2_000.0, 1_000.0, 2.0))
    7
    """
    top = np.asarray(top_output_tok_s_replica, dtype=float)
    service_s = np.asarray(output_tokens, dtype=float) / top
    need = np.asarray(peak_output_tok_s, dtype=float) * (service_s + 2.0 * wait_s)
    return np.maximum(np.ceil(need / (2.0 * wait_s * top) * (1 - 1e-12)), 1.0)


def fleet_replicas(
    peak_output_tok_s: ArrayLike,
    capacity_output_tok_s_replica: ArrayLike,
    top_output_tok_s_replica: ArrayLike,
    output_tokens: ArrayLike,
    queue_wait_s: ArrayLike | None = DEFAULT_QUEUE_WAIT_S,
) -> NDArray:
    r"""Replicas [-] a fleet installs for a peak: enough to carry it at ``capacity``, and
    (``queue_wait_s`` not None) enough that the mean queueing wait there stays within it.

    The one sizing rule of ``plan``/``estimate`` (:func:`cheapest_point`) and of
    :func:`tokenfab.breakeven.accelerators_for_volume`, so both install the same fleet.

    Parameters
    ----------
    peak_output_tok_s : the demand's peak [token/s]
    capacity_output_tok_s_replica : what one replica carries at its operating point [token/s]
    top_output_tok_s_replica : a replica's largest output rate [token/s] (its service rate)
    output_tokens : output tokens per request [token]
    queue_wait_s : the largest mean wait [s], > 0; None: no bound (a TTFT target bounds it)

    Notes
    -----
    :math:`R = \max(1, \lceil P / X \rceil, R_W)`, :math:`R_W` from
    :func:`replicas_for_wait`.

    Examples
    --------
    11,574 tok/s (1e9 tokens a day) on replicas of 11,750 tok/s, 1,000-token answers: one
    carries it (98.5 % busy), but its M/D/1 wait would be 0.985 x 0.0851 / (2 x 0.015) = 2.8 s;
    two keep it within 2 s:

    >>> int(fleet_replicas(11_574.0, 11_750.0, 11_750.0, 1000.0, None))
    1
    >>> int(fleet_replicas(11_574.0, 11_750.0, 11_750.0, 1000.0))
    2
    """
    peak = np.asarray(peak_output_tok_s, dtype=float)
    with np.errstate(divide="ignore"):
        carry = np.maximum(
            np.ceil(peak / np.asarray(capacity_output_tok_s_replica) * (1 - 1e-12)), 1.0
        )
    if queue_wait_s is None:
        return carry
    return np.maximum(
        carry, replicas_for_wait(peak, top_output_tok_s_replica, output_tokens, queue_wait_s)
    )


def replicas_for_ttft(
    peak_output_tok_s: ArrayLike,
    capacity_output_tok_s_replica: ArrayLike,
    top_output_tok_s_replica: ArrayLike,
    output_tokens: ArrayLike,
    ttft_slo_s: ArrayLike,
    ttft_service_s: ArrayLike,
) -> NDArray:
    r"""Replicas [-] a fleet with a TTFT target installs at an operating point: enough to
    carry the peak at ``capacity``, and enough that the mean M/D/1 wait stays within the
    budget the target leaves, ``ttft_slo_s - ttft_service_s``.

    Where that budget is not positive no count meets the target at this point; the carrying
    count is returned and the point's TTFT check rejects it.

    Parameters
    ----------
    peak_output_tok_s : the demand's peak [token/s]
    capacity_output_tok_s_replica : what one replica carries at the point [token/s]
    top_output_tok_s_replica : a replica's largest output rate [token/s] (its service rate)
    output_tokens : output tokens per request [token]
    ttft_slo_s : the TTFT target [s]
    ttft_service_s : the point's TTFT without queueing [s]

    Notes
    -----
    :math:`R = \max(1, \lceil P / X \rceil, R_W(B))`, :math:`B = T - t_{service}`,
    :math:`R_W` from :func:`replicas_for_wait` (the bound
    :func:`tokenfab.breakeven` sizes groups with).

    Examples
    --------
    11,574 tok/s on replicas of 11,750 tok/s, 1,000-token answers, a 1 s target and 0.4 s of
    service: the wait may be 0.6 s; s = 1000 / 11,750 = 0.0851 s, rho <= 1.2 / 1.2851 = 0.934,
    R >= 11,574 / (11,750 x 0.934) = 1.05, so 2 (one would wait 2.8 s):

    >>> int(replicas_for_ttft(11_574.0, 11_750.0, 11_750.0, 1000.0, 1.0, 0.4))
    2
    """
    peak = np.asarray(peak_output_tok_s, dtype=float)
    carry = fleet_replicas(peak, capacity_output_tok_s_replica, top_output_tok_s_replica, 0, None)
    budget = np.asarray(ttft_slo_s, dtype=float) - np.asarray(ttft_service_s, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        wait = replicas_for_wait(
            peak, top_output_tok_s_replica, output_tokens, np.where(budget > 0, budget, 1.0)
        )
    return np.where(budget > 0, np.maximum(carry, wait), carry)


def whole_pool_replicas(
    peak_output_tok_s: ArrayLike,
    replicas: ArrayLike,
    output_tok_s_replica: ArrayLike,
    prefill_time_share: ArrayLike,
) -> NDArray:
    r"""Fewest replicas [-], ``replicas`` at least, whose whole prefill and decode pools carry
    the peak at an operating point (a disaggregated fleet: two replicas at least).

    Parameters
    ----------
    peak_output_tok_s : the demand's peak [token/s]
    replicas : the fewest the fleet needs otherwise (the queue's headroom) [-]
    output_tok_s_replica : what one replica carries at the point [token/s]; where not > 0
        (the point does not run), ``replicas`` is returned
    prefill_time_share : the share of a replica's time prefilling at the point [-]

    Notes
    -----
    Whole pools of :math:`R` replicas carry :math:`C(R)`, the best whole split's
    (:func:`tokenfab.perf.serving.disaggregated_split_arrays`): :math:`C(R) \le R X`, one
    more replica never carries less, and a prefill pool of :math:`\lfloor R s \rfloor` or
    :math:`\lceil R s \rceil` replicas loses less than two replicas' worth,
    :math:`C(R) \ge (R - 2) X`. So the count is at most two past
    :math:`R_0 = \max(2, \lceil P / X \rceil, R_{given})`, found by adding replicas to
    :math:`R_0` one at a time; the peak is met within one part in a billion, the test
    :func:`count_point` reads a batch's whole pools with.

    Examples
    --------
    Four replicas of 1,000 tok/s with a third of their time prefilling carry 3,000 tok/s in
    whole pools (one prefilling, three decoding); 3,500 tok/s needs five (two and three:
    min(3 x 1000 / (2/3), 2 x 1000 / (1/3)) = 4,500):

    >>> int(whole_pool_replicas(3_500.0, 4.0, 1_000.0, 1 / 3))
    5
    """
    peak = np.asarray(peak_output_tok_s, dtype=float)
    x = np.asarray(output_tok_s_replica, dtype=float)
    share = np.asarray(prefill_time_share, dtype=float)
    runs = x > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        carry = np.ceil(peak / np.where(runs, x, 1.0) * (1 - 1e-12))
    given = np.asarray(replicas, dtype=float)
    r = np.where(runs, np.maximum(np.maximum(given, carry), 2.0), given)
    for _ in range(2):  # R0 + 2 carries (notes)
        short = runs & (disaggregated_split_arrays(r, x, share)[2] < peak * (1 - 1e-9))
        if not short.any():
            break
        r = np.where(short, r + 1.0, r)
    return r


def demand_output_tok_s(scenario: Scenario, output_tokens: float) -> float | None:
    """Average output-token demand of the scenario [token/s], if it states one."""
    if scenario.tokens_per_day is not None:
        return float(output_tok_s_from_tokens_per_day(scenario.tokens_per_day))
    if scenario.requests_per_second is not None:
        return float(output_tok_s_from_requests(scenario.requests_per_second, output_tokens))
    return None


@dataclass(frozen=True)
class SizingGrid:
    """The performance grid a sizing reads, computed once per model, accelerator and format.

    ``accelerators``: the count whose dividing layouts alone the grid holds, each row the row
    of the grid of every replica size number for number (:func:`sizing_grid`); None: every
    replica size.
    """

    scenario: Scenario
    setup: Setup
    grid: Grid
    accelerators: int | None = None


def _dividing(lay: Layout, accelerators: int, disaggregated: bool) -> NDArray:
    """Which layouts fill ``accelerators`` with whole replicas (two at least when
    ``disaggregated``: a prefill and a decode pool)."""
    per = lay.accelerators
    keep = (per <= accelerators) & (accelerators % per == 0)
    if disaggregated:
        keep &= accelerators // per >= 2
    return keep


def sizing_grid(
    scenario: Scenario, catalog: Catalog, accelerators: int | None = None
) -> SizingGrid:
    """Every layout the engine can run (any replica size) at every batch on the grid.

    ``accelerators``: only the layouts that fill that many accelerators with whole replicas,
    on the same batch grid (its log grid ends at the largest batch of every replica size), so
    that a fixed count is searched on the very rows a sizing reads.

    Raises
    ------
    InfeasibleError
        The model and one sequence fit no layout (of ``accelerators``); a ``batch_size`` that
        fits none.
    ScenarioError
        No layout of ``accelerators`` the engine can run (the reason of
        :func:`tokenfab.perf.operating.scenario_layouts`).
    """
    scenario = with_workload_targets(scenario, catalog)
    setup = resolve(scenario, catalog)
    s = scenario
    lay = candidate_layouts(
        setup,
        MAX_REPLICA_ACCELERATORS,
        s.tensor_parallel,
        s.pipeline_parallel,
        s.expert_parallel,
        s.attention_data_parallel,
        s.moe_tensor_parallel,
    )
    bmax = max_batches(setup, lay, memory=True)
    batch = None if s.batch_size is None else np.array([float(s.batch_size)])
    if accelerators is None:
        if not np.any(bmax >= 1):
            _raise_does_not_fit(setup, MAX_REPLICA_ACCELERATORS)
        if s.batch_size is not None and not np.any(bmax >= s.batch_size):
            raise InfeasibleError(
                f"batch_size: {s.batch_size} sequences do not fit; at most {int(np.max(bmax))} "
                "fit in memory and the engine's limits of any layout"
            )
        return SizingGrid(scenario, setup, evaluate_grid(setup, lay, batch))
    scenario_layouts(setup, accelerators)  # none the engine can run there: its one-line reason
    keep = _dividing(lay, accelerators, s.disaggregated)
    if not np.any(bmax[keep] >= 1):
        _raise_does_not_fit(setup, accelerators)
    if s.batch_size is not None and not np.any(bmax[keep] >= s.batch_size):
        raise InfeasibleError(
            f"batch_size: {s.batch_size} sequences do not fit; at most "
            f"{int(np.max(bmax[keep]))} fit in memory and the engine's limits here"
        )
    # one Layout object per count, so that what is memoised on it is found again
    rows = _memo("dividing", (lay,), (accelerators, s.disaggregated), lambda: lay.row(keep))
    if batch is None:
        # the whole grid's batches (its log grid ends at the largest batch of any replica
        # size), less those above every row here: no row runs them, so no choice moves
        full = batch_grid(bmax[keep], top=float(np.max(bmax)))
        batch = full[:, [*np.flatnonzero(full[0, :-1] <= np.max(bmax[keep])).tolist(), -1]]
    grid = evaluate_grid(setup, rows, batch, bmax[keep])
    return SizingGrid(scenario, setup, grid, accelerators)


@dataclass(frozen=True)
class HourlyRate:
    """Cost of an accelerator-hour as a fixed part and a price per watt of average draw."""

    fixed_usd_per_hour: float
    usd_per_watt_hour: float  # 0 when power is in the fixed part (rent) or unknown


@dataclass(frozen=True)
class _Fleets:
    """Candidate fleets at the demand's peak, each a layout (axis 0) with a replica count
    (axis 1): what each carries, at which batch, its latency and its monthly cost."""

    ok: NDArray  # a candidate that runs and carries the peak
    replicas: NDArray
    reached: NDArray  # index of the batch the peak's load reaches (the smallest that carries it)
    wait_s: NDArray  # M/D/1 queueing wait at the peak
    tpot_s: NDArray
    ttft_s: NDArray
    latency_s: NDArray  # TTFT + (output tokens - 1) x TPOT
    monthly: NDArray  # accelerators x hourly rate at the average draw (ranks, not a bill)
    top_carried: NDArray  # the most output tok/s the fleet carries at any batch
    top_out: NDArray  # a replica's largest output rate (its service rate), shape (layouts, 1)


def _fleets(
    sg: SizingGrid,
    replicas: NDArray,
    candidate: NDArray,
    demand_output_tok_s_avg: float,
    peak_to_average: float,
    rate: HourlyRate,
    inputs: CostInputs,
    whole_pools: bool = False,
) -> _Fleets:
    """Every candidate of ``replicas`` replicas of each layout (``candidate``: which to
    consider) at the demand's peak (see module notes).

    The fleet runs at the smallest batch that carries the peak: ``replicas x X`` at least the
    peak, or with ``whole_pools`` (disaggregated) what whole prefill and decode pools of those
    replicas carry (:func:`tokenfab.perf.serving.disaggregated_split_arrays`).
    """
    setup, grid = sg.setup, sg.grid
    o = float(setup.output_tokens)
    peak = demand_output_tok_s_avg * peak_to_average
    ok = grid.valid & (grid.output_tok_s_replica > 0)
    x = np.where(ok, grid.output_tok_s_replica, 0.0)
    top_out = np.maximum(np.max(x, axis=1, keepdims=True), 1e-300)  # a replica's top rate
    load = peak / replicas  # output tok/s each replica carries at the peak
    if whole_pools:
        share = np.broadcast_to(grid.prefill_time_share, x.shape)
        carried = np.where(
            ok[:, None, :],
            disaggregated_split_arrays(replicas[:, :, None], x[:, None, :], share[:, None, :])[2],
            0.0,
        )
        carries = ok[:, None, :] & (carried >= peak * (1 - 1e-9))
        fleet_ok = candidate & carries.any(axis=2)
        # the batch that load reaches: the smallest valid batch of the row whose pools carry it
        reached = np.argmax(carries, axis=2)
        top_carried = np.max(np.where(ok[:, None, :], carried, 0.0), axis=2)
    else:
        # the batch that load reaches: the smallest valid batch of the row whose capacity
        # carries it (x >= load (1 - 1e-9)), found on the row's running maximum
        first = _first_reaching(np.where(ok, x, -np.inf), load * (1 - 1e-9))
        fleet_ok = candidate & (first < x.shape[1])
        reached = np.where(first < x.shape[1], first, 0)
        # max over batches of R x X = R x (max X): rounding is monotone, so to the last bit
        top_carried = replicas * np.max(x, axis=1, keepdims=True)
    rows = np.arange(x.shape[0])[:, None]

    def at(a: NDArray) -> NDArray:  # each candidate's value at its batch
        return (a if np.shape(a) == x.shape else np.broadcast_to(a, x.shape))[rows, reached]

    x_at = np.where(fleet_ok, at(x), 1.0)
    tpot = at(grid.tpot_s)
    top = top_out / o  # requests/s of a replica
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        wait = np.where(fleet_ok, md1_wait_s(load / o, 1.0 / top), np.inf)
    ttft = at(grid.ttft_service_s) + wait
    capacity = replicas * x_at
    if whole_pools:
        capacity = np.where(fleet_ok, carried[rows, np.arange(replicas.shape[1]), reached], 1.0)
    utilization = np.clip(demand_output_tok_s_avg / capacity, 0.0, 1.0)
    acc = setup.accelerator
    if rate.usd_per_watt_hour > 0 and acc.tdp_w:
        busy = serving_power_w(
            acc.tdp_w,
            inputs.idle_power_share_of_tdp,
            at(grid.hbm_busy_share),
            at(grid.compute_busy_share),
            inputs.memory_power_share,
            inputs.compute_power_share,
        )
        avg = it_power_w(
            average_power_w(busy, acc.tdp_w * inputs.idle_power_share_of_tdp, utilization),
            acc.tdp_w,
            host_power_w(acc),
        )
    else:
        avg = np.zeros_like(utilization)
    accelerators = replicas * grid.layouts.accelerators[:, None]
    monthly = accelerators * (rate.fixed_usd_per_hour + rate.usd_per_watt_hour * avg)
    return _Fleets(
        ok=fleet_ok,
        replicas=replicas,
        reached=reached,
        wait_s=wait,
        tpot_s=tpot,
        ttft_s=ttft,
        latency_s=ttft + (o - 1.0) * tpot,
        monthly=monthly,
        top_carried=top_carried,
        top_out=top_out,
    )


def _first_reaching(x: NDArray, need: NDArray) -> NDArray:
    """For each row ``l`` of ``x`` (layouts x batches) and each ``need[l, k]`` (layouts x
    counts), the first column ``j`` with ``x[l, j] >= need[l, k]``; ``x.shape[1]`` where none.

    The first column reaching a level is the first where the row's running maximum reaches
    it, which is the number of the running maximum's values below it (they ascend). Counted
    directly for one need a row (a fixed count); for many, a branchless binary search on the
    running maximum (``log2`` of the batches steps over ``need``'s shape) instead of comparing
    every need with every batch. ``x`` holds no NaN (a point that does not run is ``-inf``);
    a NaN need is reached nowhere.
    """
    run = np.maximum.accumulate(x, axis=1)
    need = np.where(np.isnan(need), np.inf, need)
    width = run.shape[1]
    if need.shape[1] == 1 or width == 0:
        return np.count_nonzero(run[:, None, :] < need[:, :, None], axis=2)
    flat = run.ravel()
    before = (np.arange(run.shape[0]) * width - 1)[:, None]  # a row's start, less one
    below = np.zeros(need.shape, dtype=np.intp)  # values of the row found below the need
    step = 1 << (width.bit_length() - 1)
    while step:
        more = below + step
        under = flat[before + np.minimum(more, width)] < need  # its more-th value below too
        below = np.where((more <= width) & under, more, below)
        step //= 2
    return below


def _cheapest(f: _Fleets, feasible: NDArray) -> tuple[int, int]:
    """The cheapest feasible candidate; ties (within 1e-9) go to the shorter request."""
    cost = np.where(feasible, f.monthly, np.inf)
    best = np.min(cost)
    tied = feasible & (cost <= best * (1 + 1e-9))
    i, k = np.unravel_index(int(np.argmin(np.where(tied, f.latency_s, np.inf))), cost.shape)
    return int(i), int(k)


def cheapest_point(
    sg: SizingGrid,
    demand_output_tok_s_avg: float,
    peak_to_average: float,
    rate: HourlyRate,
    inputs: CostInputs,
) -> OperatingPoint:
    """The operating point of the cheapest deployment carrying the demand (see module notes).

    The count found, its layout and batch are those :func:`count_point` gives for that many
    accelerators: ``estimate --accelerators N`` with plan's ``N`` reproduces plan's point.
    Disaggregated, each candidate has whole prefill and decode pools
    (:func:`whole_pool_replicas`).

    Raises
    ------
    InfeasibleError
        No layout and batch meets the latency targets at the demand; the message names the
        target and the best value reachable.
    """
    setup, grid, sc = sg.setup, sg.grid, sg.scenario
    if sg.accelerators is not None:
        raise ValueError("cheapest_point sizes on the grid of every replica size, not of a count")
    o = float(setup.output_tokens)
    peak = demand_output_tok_s_avg * peak_to_average
    ok = grid.valid & (grid.output_tok_s_replica > 0)
    x = np.where(ok, grid.output_tok_s_replica, 0.0)
    safe = np.where(ok, x, 1.0)
    top_out = np.maximum(np.max(x, axis=1, keepdims=True), 1e-300)  # a replica's top rate
    # headroom for the queue without a TTFT target (module notes); with one, each cell's
    # replicas keep the wait within what the target leaves after the cell's TTFT service
    # (more replicas at a larger batch may cost less than fewer at a smaller one)
    with np.errstate(over="ignore"):  # a row with no valid point has no top rate
        if sc.ttft_slo_s is None:
            replicas = np.where(
                ok, fleet_replicas(peak, safe, top_out, o, DEFAULT_QUEUE_WAIT_S), 1.0
            )
        else:
            replicas = np.where(
                ok,
                replicas_for_ttft(peak, safe, top_out, o, sc.ttft_slo_s, grid.ttft_service_s),
                1.0,
            )
    if sc.disaggregated:  # whole prefill and decode pools carry the peak at the cell's batch
        replicas = np.where(
            ok, whole_pool_replicas(peak, replicas, x, grid.prefill_time_share), replicas
        )
    f = _fleets(
        sg,
        replicas,
        ok,
        demand_output_tok_s_avg,
        peak_to_average,
        rate,
        inputs,
        whole_pools=sc.disaggregated,
    )
    tpot_ok = f.tpot_s <= (sc.tpot_slo_s or np.inf)
    ttft_ok = f.ttft_s <= (sc.ttft_slo_s or np.inf)
    feasible = f.ok & tpot_ok & ttft_ok
    if not feasible.any():
        _raise_missed(sc, f.ok, f.tpot_s, f.ttft_s, tpot_ok, ttft_ok)
    i, j = _cheapest(f, feasible)
    n = int(replicas[i, j]) * int(grid.layouts.accelerators[i])
    # that many accelerators in the layout and at the batch a fixed count gets: the same or
    # cheaper (its candidates hold this point: the same replicas of layout i, whole pools
    # where disaggregated, at the same batch), and the one answer for both entry points
    return count_point(sg, n, demand_output_tok_s_avg, peak_to_average, rate, inputs)


def count_point(
    sg: SizingGrid,
    accelerators: int,
    demand_output_tok_s_avg: float,
    peak_to_average: float,
    rate: HourlyRate,
    inputs: CostInputs,
) -> OperatingPoint:
    """The operating point of ``accelerators`` carrying the demand: :func:`cheapest_point`'s
    rule on a fixed count.

    The candidates are the grid's layouts that fill the count with whole replicas, ``R =
    accelerators / a_l`` each (two at least when disaggregated); each runs at the smallest
    batch that carries the peak (whole pools: what whole prefill and decode pools carry). Of
    those that meet the latency targets, and -- without a TTFT target -- keep the mean queueing
    wait at the peak within :data:`DEFAULT_QUEUE_WAIT_S` where any does
    (:func:`replicas_for_wait`), the cheapest a month wins; ties go to the shorter request.
    ``sg`` is :func:`sizing_grid`'s, of every replica size or of this count.

    Raises
    ------
    InfeasibleError
        ``accelerators: N x ACC cannot carry the demand's peak (...)``: no layout of that many
        carries it; or the latency target(s) none of those that carry it meets, with the best
        value reachable; or the model does not fit that many.
    ScenarioError
        No layout of that many the engine can run.
    """
    setup, grid, sc = sg.setup, sg.grid, sg.scenario
    if sg.accelerators is not None and sg.accelerators != accelerators:
        raise ValueError(f"a grid of {sg.accelerators} accelerators asked for {accelerators}")
    o = float(setup.output_tokens)
    peak = demand_output_tok_s_avg * peak_to_average
    per = grid.layouts.accelerators
    candidate = _dividing(grid.layouts, accelerators, sc.disaggregated)
    if not np.any(candidate & (grid.max_batch >= 1)):
        scenario_layouts(setup, accelerators)
        _raise_does_not_fit(setup, accelerators)
    replicas = np.where(candidate, accelerators // per, 1.0)[:, None]
    f = _fleets(
        sg,
        replicas,
        candidate[:, None],
        demand_output_tok_s_avg,
        peak_to_average,
        rate,
        inputs,
        whole_pools=sc.disaggregated,
    )
    if not f.ok.any():
        best = float(np.max(np.where(candidate[:, None], f.top_carried, 0.0)))
        acc = setup.accelerator.id
        raise InfeasibleError(
            f"accelerators: {accelerators} x {acc} cannot carry the demand's peak "
            f"({peak / o:.4g} requests/s exceeds the {best / o:.3g} requests/s that "
            f"{accelerators} x {acc} can serve; add "
            "accelerators, or omit --accelerators to size the deployment)"
        )
    tpot_ok = f.tpot_s <= (sc.tpot_slo_s or np.inf)
    ttft_ok = f.ttft_s <= (sc.ttft_slo_s or np.inf)
    feasible = f.ok & tpot_ok & ttft_ok
    if not feasible.any():
        raise_missed_targets(sc, f.tpot_s, f.ttft_s, f.ok, tpot_ok, ttft_ok)
    if sc.ttft_slo_s is None:  # the headroom a sizing keeps, where the count allows it
        with np.errstate(over="ignore", divide="ignore"):
            need = replicas_for_wait(peak, f.top_out, o, DEFAULT_QUEUE_WAIT_S)
        headroom = feasible & (replicas >= need)
        if headroom.any():
            feasible = headroom
    i, k = _cheapest(f, feasible)
    return _point(setup, grid, i, int(f.reached[i, k]), float(f.wait_s[i, k]), accelerators)


def _raise_missed(
    sc: Scenario,
    ok: NDArray,
    tpot: NDArray,
    ttft: NDArray,
    tpot_ok: NDArray,
    ttft_ok: NDArray,
) -> None:
    missed = []
    if not (ok & tpot_ok).any():
        best = float(np.min(np.where(ok, tpot, np.inf)))
        missed.append(
            f"tpot_slo_s: no deployment reaches TPOT <= {sc.tpot_slo_s * 1e3:.3g} ms at this "
            f"demand (best {best * 1e3:.1f} ms)"
        )
    if not (ok & ttft_ok).any():
        best = float(np.min(np.where(ok, ttft, np.inf)))
        missed.append(
            f"ttft_slo_s: no deployment reaches TTFT <= {sc.ttft_slo_s:.3g} s at this demand "
            f"(best {best:.3g} s)"
        )
    if not missed:
        missed.append(
            f"ttft_slo_s: no deployment meets TTFT <= {sc.ttft_slo_s:.3g} s and TPOT <= "
            f"{sc.tpot_slo_s * 1e3:.3g} ms together at this demand"
        )
    raise InfeasibleError("; ".join(missed) + "; relax the target or change the hardware")


def sized_point(
    scenario: Scenario,
    catalog: Catalog,
    rate: HourlyRate,
    inputs: CostInputs,
    grid: SizingGrid | None = None,
) -> OperatingPoint:
    """The scenario's operating point: sized for its demand (:func:`cheapest_point`), on the
    ``accelerators`` it fixes (:func:`count_point`), or without a demand
    :func:`tokenfab.perf.operating.estimate`'s.

    ``grid``: :func:`sizing_grid` of the scenario (of its count, where it fixes one), if the
    caller has it.
    """
    from tokenfab.perf.operating import estimate

    demand = None
    if scenario.tokens_per_day is not None or scenario.requests_per_second is not None:
        setup = grid.setup if grid is not None else resolve(scenario, catalog)
        demand = demand_output_tok_s(scenario, setup.output_tokens)
    if demand is None:
        return estimate(scenario, catalog)
    n = scenario.accelerators
    if grid is None or grid.accelerators != n:
        grid = sizing_grid(scenario, catalog, n)
    sg = grid
    if sg.scenario.model_dump() != with_workload_targets(scenario, catalog).model_dump():
        sg = replace(sg, scenario=with_workload_targets(scenario, catalog))
    if n is not None:
        return count_point(sg, n, demand, scenario.peak_to_average, rate, inputs)
    return cheapest_point(sg, demand, scenario.peak_to_average, rate, inputs)


__all__ = [
    "DEFAULT_QUEUE_WAIT_S",
    "HourlyRate",
    "SizingGrid",
    "cheapest_point",
    "count_point",
    "demand_output_tok_s",
    "fleet_replicas",
    "replicas_for_ttft",
    "replicas_for_wait",
    "sized_point",
    "sizing_grid",
    "whole_pool_replicas",
]
