"""Heterogeneous disaggregated serving: a prefill pool on one accelerator type, a decode pool
on another (seed 002: Rubin GPUs prefill, Groq LPX decodes).

The two pools are sized so that neither waits for the other (the continuous split of
:func:`tokenfab.perf.serving.disaggregated_state`, here with a different accelerator, and so a
different power draw, in each pool). Per output token served, the prefill pool spends
``r / X_p`` accelerator-seconds (``r`` uncached prompt tokens per output token, ``X_p`` prompt
tokens a second per prefill accelerator) and the decode pool ``1 / X_d`` (``X_d`` output tokens a
second per decode accelerator):

.. math:: J = \\frac{r}{X_p} W_p + \\frac{1}{X_d} W_d \\qquad \\text{joules (IT) per output token}

and the pool split by power is ``(r W_p / X_p) / J`` to prefill. The first token waits for the
prompt's prefill and for its KV cache to cross the link between the pools.

The pools in the performance core: :func:`prefill_pool_rates` and :func:`decode_pool_rates`
are the two halves of :func:`tokenfab.perf.serving.disaggregated_state`, each on its own
accelerator, and :func:`hetero_point` resolves a scenario with ``prefill_accelerator`` into a
prefill pool and a decode pool (layout, replicas, rates, busy shares) and their combined
operating point; :func:`tokenfab.planning.price_pools` prices them. Accelerators without a
serving-engine row or a published power (the Groq 3 LPU) are refused with the reason;
``docs/claims.md`` section 11 bounds the LPX decode rate by the chip's compute instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from tokenfab.cost import _check_range, _out
from tokenfab.errors import InfeasibleError, ScenarioError, TokenfabError
from tokenfab.perf.memory import ModelShape, kv_bytes_per_sequence
from tokenfab.perf.serving import (
    Engine,
    Hardware,
    Layout,
    busy_shares,
    md1_wait_s,
    round_time,
    speculative_tokens_per_step,
)

__all__ = [
    "DecodeRates",
    "HeteroGrid",
    "HeteroPoint",
    "Pool",
    "PrefillRates",
    "break_even_decode_w",
    "compute_bound_decode_tok_s",
    "decode_pool_rates",
    "hetero_frontier",
    "hetero_grid",
    "hetero_point",
    "kv_transfer_s",
    "prefill_pool_rates",
    "two_pool_joules_per_output_token",
]


def two_pool_joules_per_output_token(
    prompt_per_output_token: ArrayLike,
    prefill_prompt_tok_s_per_accelerator: ArrayLike,
    prefill_w: ArrayLike,
    decode_output_tok_s_per_accelerator: ArrayLike,
    decode_w: ArrayLike,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """IT joules per output token of a prefill pool and a decode pool, and the prefill pool's
    share of the power.

    Examples
    --------
    20 prompt tokens per output token prefilled at 100,000 tok/s on 2,000 W, decode at 1,000
    tok/s on 500 W: 20/1e5 x 2000 = 0.4 J plus 1/1000 x 500 = 0.5 J, 0.9 J; prefill 0.4/0.9.

    >>> j, s = two_pool_joules_per_output_token(20, 1e5, 2000, 1000, 500)
    >>> round(float(j), 6), round(float(s), 4)
    (0.9, 0.4444)
    """
    r = _check_range("prompt_per_output_token", prompt_per_output_token, 0.0)
    xp = _check_range(
        "prefill_prompt_tok_s_per_accelerator",
        prefill_prompt_tok_s_per_accelerator,
        0.0,
        low_open=True,
    )
    wp = _check_range("prefill_w", prefill_w, 0.0, low_open=True)
    xd = _check_range(
        "decode_output_tok_s_per_accelerator",
        decode_output_tok_s_per_accelerator,
        0.0,
        low_open=True,
    )
    wd = _check_range("decode_w", decode_w, 0.0, low_open=True)
    jp = r / xp * wp
    j = jp + wd / xd
    return _out(j), _out(jp / j)


def compute_bound_decode_tok_s(
    flops_per_s: ArrayLike, active_params: ArrayLike
) -> NDArray[np.float64]:
    """Output tokens a second one accelerator generates at most when decode is compute-bound:
    2 FLOPs per active parameter per token (attention's own FLOPs left out, so a ceiling).

    Examples
    --------
    The Groq 3 LPU's 1.2 PFLOPS FP8 (accelerators.csv) on Llama 3.1 70B's 70 B parameters:
    1.2e15 / 1.4e11 = 8,571 tok/s.

    >>> round(float(compute_bound_decode_tok_s(1.2e15, 70e9)))
    8571
    """
    f = _check_range("flops_per_s", flops_per_s, 0.0, low_open=True)
    p = _check_range("active_params", active_params, 0.0, low_open=True)
    return _out(f / (2.0 * p))


def break_even_decode_w(
    joules_per_output_token: ArrayLike,
    prefill_joules_per_output_token: ArrayLike,
    decode_output_tok_s_per_accelerator: ArrayLike,
) -> NDArray[np.float64]:
    """The decode accelerator's power at which the two pools spend exactly
    ``joules_per_output_token``; zero or less means the prefill pool alone exceeds it.

    Examples
    --------
    A 2.0 J budget, prefill 0.5 J, decode 8,000 tok/s: (2.0 - 0.5) x 8,000 = 12,000 W.

    >>> float(break_even_decode_w(2.0, 0.5, 8000))
    12000.0
    """
    j = _check_range("joules_per_output_token", joules_per_output_token, 0.0, low_open=True)
    jp = _check_range("prefill_joules_per_output_token", prefill_joules_per_output_token, 0.0)
    xd = _check_range(
        "decode_output_tok_s_per_accelerator",
        decode_output_tok_s_per_accelerator,
        0.0,
        low_open=True,
    )
    return _out((j - jp) * xd)


def kv_transfer_s(kv_bytes: ArrayLike, link_bytes_per_s: ArrayLike) -> NDArray[np.float64]:
    """Seconds to move one request's KV cache from the prefill to the decode pool.

    Examples
    --------
    Llama 3.1 70B FP8 KV (2 x 80 layers x 8 heads x 128 x 1 byte = 163,840 B a token) for a
    6,000-token prompt over a 200 GB/s link: 983 MB / 200 GB/s = 4.9 ms.

    >>> round(float(kv_transfer_s(163_840 * 6000, 200e9)) * 1e3, 2)
    4.92
    """
    b = _check_range("kv_bytes", kv_bytes, 0.0)
    link = _check_range("link_bytes_per_s", link_bytes_per_s, 0.0, low_open=True)
    return _out(b / link)


# ------------------------------------------------------------------------------------------
# The two pools in the performance core
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PrefillRates:
    """A prefill replica that only prefills, in full engine steps."""

    prompt_tok_s: NDArray  # uncached prompt tokens computed a second, per replica [token/s]
    prompt_s: NDArray  # one request's own prefill (no decode interference) [s]
    hbm_busy_share: NDArray
    compute_busy_share: NDArray


@dataclass(frozen=True)
class DecodeRates:
    """A decode replica that only decodes, at a batch."""

    output_tok_s: NDArray  # output tokens a second, per replica [token/s]
    tpot_s: NDArray
    memory_bound: NDArray
    hbm_busy_share: NDArray
    compute_busy_share: NDArray


def prefill_pool_rates(
    shape: ModelShape,
    hw: Hardware,
    eng: Engine,
    lay: Layout,
    weight_bytes_per_param: ArrayLike,
    kv_bytes_per_element: ArrayLike,
    input_tokens: ArrayLike,
    prefix_cache_hit_rate: ArrayLike = 0.0,
) -> PrefillRates:
    r"""Prompt throughput and one prompt's prefill time of a prefill-only replica.

    Notes
    -----
    The prefill half of :func:`tokenfab.perf.serving.disaggregated_state`: a replica runs
    full engine steps of :math:`n` = ``max_num_tokens`` per attention group and pipeline
    stage, :math:`X_p = n / t_{prefill}(n)` prompt tokens a second; a request's own prefill
    is one step over its ``i (1 - h)`` uncached tokens, attending to the cached prefix and half
    the new prompt.
    """
    i = np.asarray(input_tokens, dtype=float)
    new = i * (1.0 - np.asarray(prefix_cache_hit_rate, dtype=float))
    args = (shape, hw, eng, lay, weight_bytes_per_param, kv_bytes_per_element)
    groups_pp = lay.attention_data_parallel * lay.pipeline_parallel
    chunk = eng.max_num_tokens * groups_pp
    full = round_time(*args, 0.0, 0.0, chunk, i - new + new / 2.0)
    one = round_time(*args, 0.0, 0.0, new * groups_pp, i - new + new / 2.0)
    hbm, comp = busy_shares(full, hw, lay.pipeline_parallel)
    return PrefillRates(chunk / full.time_s, np.asarray(one.time_s), hbm, comp)


def decode_pool_rates(
    shape: ModelShape,
    hw: Hardware,
    eng: Engine,
    lay: Layout,
    weight_bytes_per_param: ArrayLike,
    kv_bytes_per_element: ArrayLike,
    batch_size: ArrayLike,
    input_tokens: ArrayLike,
    output_tokens: ArrayLike,
    speculative_tokens: ArrayLike = 0.0,
    acceptance_rate: ArrayLike = 0.0,
) -> DecodeRates:
    r"""Output throughput and TPOT of a decode-only replica at a batch.

    Notes
    -----
    The decode half of :func:`tokenfab.perf.serving.disaggregated_state`: each step advances
    ``B`` sequences whose context is the prompt plus half the output on average,
    :math:`X_d = B E / t_{decode}(B)` with :math:`E` tokens a verification step
    (:func:`tokenfab.perf.serving.speculative_tokens_per_step`; 1 without speculation).
    """
    bsz = np.asarray(batch_size, dtype=float)
    i = np.asarray(input_tokens, dtype=float)
    o = np.asarray(output_tokens, dtype=float)
    args = (shape, hw, eng, lay, weight_bytes_per_param, kv_bytes_per_element)
    gamma = np.asarray(speculative_tokens, dtype=float)
    per_step = speculative_tokens_per_step(gamma, acceptance_rate)
    plain = round_time(*args, bsz, i + o / 2.0)
    verify = round_time(*args, bsz, i + o / 2.0, 0.0, 0.0, gamma + 1.0) if np.any(gamma) else plain
    decode_s = verify.time_s + gamma / shape.layers * plain.time_s
    hbm, comp = busy_shares(verify, hw, lay.pipeline_parallel)
    return DecodeRates(
        bsz * per_step / decode_s, decode_s / per_step, verify.memory_bound, hbm, comp
    )


@dataclass(frozen=True)
class Pool:
    """One pool of a heterogeneous deployment: its accelerator, layout, size and activity."""

    role: str  # "prefill" or "decode"
    setup: Any  # tokenfab.perf.operating.Setup of this pool's accelerator
    layout: tuple[int, int, int, int, int]  # tp, pp, ep, attention dp, moe tp
    accelerators_per_replica: int
    replicas: int
    tok_s_per_replica: float  # prompt tokens (prefill) or output tokens (decode) a second
    hbm_busy_share: float
    compute_busy_share: float
    max_batch_size: int
    weights_gb_per_accelerator: float

    @property
    def accelerators(self) -> int:
        return self.accelerators_per_replica * self.replicas


@dataclass(frozen=True)
class HeteroPoint:
    """A prefill pool on one accelerator and a decode pool on another, at one operating point.

    ``output_tok_s_total`` is what the smaller of the two pools carries:
    ``min(R_d X_d, R_p X_p / r)`` with ``r`` uncached prompt tokens per output token.
    """

    prefill: Pool
    decode: Pool
    batch_size: int
    tpot_s: float
    prefill_s: float  # one request's own prefill on the prefill pool
    kv_transfer_s: float
    kv_link_gb_s: float  # per direction, per accelerator
    kv_link_basis: str
    output_tok_s_total: float
    prompt_per_output_token: float  # uncached prompt tokens computed per output token
    memory_bound: bool
    roofline_output_tok_s_total: float  # the same pools at the physical limit
    queue_wait_s: float = 0.0  # M/D/1 wait for a prefill replica at the demand's peak

    @property
    def ttft_s(self) -> float:
        """The first token waits in the prefill pool's queue (with a demand), for its
        prompt's prefill and for its KV cache's transfer."""
        return self.queue_wait_s + self.prefill_s + self.kv_transfer_s

    @property
    def accelerators(self) -> int:
        return self.prefill.accelerators + self.decode.accelerators

    @property
    def prefill_capacity_output_tok_s(self) -> float:
        """Output tokens a second the prefill pool can feed."""
        p = self.prefill
        return p.replicas * p.tok_s_per_replica / self.prompt_per_output_token

    @property
    def decode_capacity_output_tok_s(self) -> float:
        return self.decode.replicas * self.decode.tok_s_per_replica


def _pool_setups(scenario: Any, catalog: Any) -> tuple[Any, Any]:
    """The decode and the prefill pool's resolved setups: one weight and one KV format, the
    cache being written by one pool and read by the other."""
    from tokenfab.perf.operating import resolve

    strip = {"prefill_accelerator": None, "prefill_accelerators": None, "kv_link_gb_s": None}
    dec = resolve(scenario.with_(**strip, disaggregated=False), catalog)
    pid = scenario.prefill_accelerator
    try:
        pre = resolve(
            scenario.with_(
                **strip,
                disaggregated=False,
                accelerator=pid,
                accelerators=None,
                tensor_parallel=None,
                pipeline_parallel=None,
                expert_parallel=None,
                attention_data_parallel=None,
                moe_tensor_parallel=None,
                batch_size=None,
                precision=dec.precision,
                kv_precision=dec.kv_precision,
            ),
            catalog,
        )
    except TokenfabError as exc:
        raise type(exc)(f"prefill_accelerator: {pid}: {exc}") from None
    return dec, pre


def _link(scenario: Any, dec: Any, pre: Any) -> tuple[float, str]:
    """Bandwidth that carries the KV cache between the pools, per direction [GB/s], and why."""
    if scenario.kv_link_gb_s is not None:
        return float(scenario.kv_link_gb_s), "kv_link_gb_s as given"
    missing = [s.accelerator for s in (pre, dec) if s.accelerator.scaleout_bandwidth_gb_s is None]
    if missing:
        a = missing[0]
        raise ScenarioError(
            f"kv_link_gb_s: the KV cache crosses from the prefill to the decode pool over the "
            f"scale-out network, and {a.id}'s scale-out bandwidth is "
            f"{a.scaleout_source or 'not public'}; give kv_link_gb_s (GB/s per accelerator, "
            "each way)"
        )
    slow = min((pre, dec), key=lambda s: s.accelerator.scaleout_bandwidth_gb_s)
    gb_s = float(slow.accelerator.scaleout_bandwidth_gb_s)
    return gb_s, f"scale-out of {slow.accelerator.id} (the slower pool), accelerators catalog"


def _one_layout(lay: Layout, k: int) -> tuple[int, int, int, int, int]:
    return (
        int(lay.tensor_parallel[k]),
        int(lay.pipeline_parallel[k]),
        int(lay.expert_parallel[k]),
        int(lay.attention_data_parallel[k]),
        int(lay.moe_tensor_parallel[k]),
    )


def _weights_gb(setup: Any, lay: Layout) -> float:
    from tokenfab.perf.serving import weight_bytes_per_accelerator

    w = weight_bytes_per_accelerator(setup.shape, lay, setup.weight_bytes_per_param)
    return float(np.max(w)) / 1e9


def _prefill_replicas(
    load_output_tok_s: float,
    prompt_per_output_token: float,
    prompt_tok_s_per_replica: ArrayLike,
    prompt_tokens: float,
    output_tokens: float,
    ttft_slo_s: float | None,
    ttft_service_s: ArrayLike,
) -> NDArray[np.float64]:
    r"""Prefill replicas that feed a load and keep its queue within the TTFT target.

    Prompts arrive as Poisson at ``lambda = L / o`` requests a second and hold a replica for
    ``s = i' / X_p`` (M/D/1); the wait ``W = rho s / (2 (1 - rho))`` stays within the budget
    ``B = TTFT target - service TTFT`` for ``rho <= 2B / (s + 2B)``:

    .. math:: R_p = \max\left(\lceil L r / X_p \rceil,\
              \lceil \lambda s / \rho_{max} \rceil, 1\right)

    Examples
    --------
    1,000 output tok/s of 300-token answers at 20 prompt tokens each, replicas of 100,000
    prompt tok/s, 6,000-token prompts (s = 0.06 s), a 0.5 s target with 0.1 s of service
    (B = 0.4 s, rho <= 0.8/0.86 = 0.930): ceil(0.2) = 1 and ceil(3.33 x 0.06 / 0.930) = 1.

    >>> int(_prefill_replicas(1000.0, 20.0, 1e5, 6000.0, 300.0, 0.5, 0.1))
    1
    """
    x = np.asarray(prompt_tok_s_per_replica, float)
    feed = np.maximum(np.ceil(load_output_tok_s * prompt_per_output_token / x * (1 - 1e-12)), 1)
    if ttft_slo_s is None:
        return feed
    budget = ttft_slo_s - np.asarray(ttft_service_s, float)
    s_req = prompt_tokens / x
    with np.errstate(divide="ignore", invalid="ignore"):
        rho_max = 2.0 * budget / (s_req + 2.0 * budget)
        queue = np.ceil(load_output_tok_s / output_tokens * s_req / rho_max * (1 - 1e-12))
    # no budget left: the queue cannot fit, and the caller reports the TTFT it reaches
    return np.maximum(feed, np.where(budget > 0, queue, feed))


@dataclass(frozen=True)
class HeteroGrid:
    """What :func:`hetero_point` reads of a scenario before its demand's volume: the pools'
    setups and link, the prefill layouts' rates and TTFT, the decode layouts' rates at every
    batch of the grid (:func:`hetero_grid`). The same for every volume (and peak) of one
    scenario: a breakeven sizes each of its volumes on one."""

    scenario: Any  # with the workload's targets
    demand: bool  # whether the scenario states a demand (a given count is then searched on
    # the layouts of the sized pool's grid that fill it)
    dec: Any
    pre: Any
    link_gb_s: float
    link_basis: str
    transfer_s: float
    lay_p: Layout
    pr: PrefillRates
    ttft: NDArray
    ok_p: NDArray
    per_acc_p: NDArray
    lay_d: Layout
    bmax: NDArray
    b: NDArray
    dr: DecodeRates
    tpot_ok: NDArray
    per_acc_d: NDArray
    # the roofline rates of the layouts (and batches) chosen, as they are asked for
    roofline: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)


def hetero_grid(scenario: Any, catalog: Any = None) -> HeteroGrid:
    """The layouts and rates of both pools :func:`hetero_point` chooses among, before the
    demand's volume: computed once, any volume of the scenario can be sized on them.

    Raises
    ------
    ScenarioError, InfeasibleError
        As :func:`hetero_point`, for what does not depend on the volume, in its order.
    """
    from tokenfab.catalog import default_catalog
    from tokenfab.perf.operating import (
        _raise_does_not_fit,
        batch_grid,
        candidate_layouts,
        max_batches,
        speculation,
        with_workload_targets,
    )
    from tokenfab.sizing import MAX_REPLICA_ACCELERATORS, demand_output_tok_s

    cat = catalog or default_catalog()
    sc = with_workload_targets(scenario, cat)
    dec, pre = _pool_setups(sc, cat)
    link_gb_s, link_basis = _link(sc, dec, pre)
    i, o, hit = dec.input_tokens, dec.output_tokens, dec.prefix_cache_hit_rate
    fmt = (dec.weight_bytes_per_param, dec.kv_bytes_per_element)

    # prefill pool: the most prompt tokens a second per accelerator within the TTFT target
    n_p = sc.prefill_accelerators or MAX_REPLICA_ACCELERATORS
    try:
        lay_p = candidate_layouts(pre, n_p)
    except ScenarioError as exc:
        raise ScenarioError(f"prefill_accelerators: {exc}") from None
    fits = max_batches(pre, lay_p) >= 1
    if not np.any(fits):
        try:
            _raise_does_not_fit(pre, n_p)
        except InfeasibleError as exc:
            raise InfeasibleError(f"prefill_{exc}") from None
    lay_p = lay_p.row(fits)
    pr = prefill_pool_rates(pre.shape, pre.hw, pre.engine.engine, lay_p, *fmt, i, hit)
    kv_bytes = float(kv_bytes_per_sequence(dec.shape, i, dec.kv_bytes_per_element))
    transfer_s = float(kv_transfer_s(kv_bytes, link_gb_s * 1e9))
    ttft = pr.prompt_s + transfer_s
    ok_p = ttft <= (sc.ttft_slo_s or np.inf)
    if not ok_p.any():
        best = float(np.min(pr.prompt_s))
        raise InfeasibleError(
            f"ttft_slo_s: no prefill layout of {pre.accelerator.id} reaches TTFT <= "
            f"{sc.ttft_slo_s:.3g} s (best {best + transfer_s:.3g} s: prefill {best:.3g} s + KV "
            f"transfer {transfer_s:.3g} s at {link_gb_s:g} GB/s); relax the target or change "
            "the hardware"
        )
    per_acc_p = np.where(ok_p, pr.prompt_tok_s / lay_p.accelerators, -np.inf)
    demand = demand_output_tok_s(sc, o) is not None

    # decode pool: layouts x batches
    n_d = sc.accelerators or MAX_REPLICA_ACCELERATORS
    degrees = (
        sc.tensor_parallel,
        sc.pipeline_parallel,
        sc.expert_parallel,
        sc.attention_data_parallel,
        sc.moe_tensor_parallel,
    )
    lay_d = candidate_layouts(dec, n_d, *degrees)
    bmax = max_batches(dec, lay_d)
    top = None
    if demand and sc.accelerators is not None:
        # a given count for a demand is searched on the sized pool's grid: its layouts that
        # fill the count, at the batches of every replica size (tokenfab.sizing.sizing_grid)
        every = candidate_layouts(dec, MAX_REPLICA_ACCELERATORS, *degrees)
        every_max = max_batches(dec, every)
        per = every.accelerators
        keep = (per <= n_d) & (n_d % per == 0)
        if np.any(keep):
            lay_d, bmax, top = every.row(keep), every_max[keep], float(np.max(every_max))
    if not np.any(bmax >= 1):
        _raise_does_not_fit(dec, n_d)
    if sc.batch_size is not None:
        if not np.any(bmax >= sc.batch_size):
            raise InfeasibleError(
                f"batch_size: {sc.batch_size} sequences do not fit the decode pool; at most "
                f"{int(np.max(bmax))} fit in memory and the engine's limits here"
            )
        b = np.broadcast_to(float(sc.batch_size), (bmax.size, 1))
    elif sc.objective == "min-latency":
        b = np.ones((bmax.size, 1))
    else:
        b = batch_grid(bmax, top=top)
    col = lay_d.column()
    dr = decode_pool_rates(
        dec.shape, dec.hw, dec.engine.engine, col, *fmt, b, i, o, **speculation(sc)
    )
    valid = (b <= bmax[:, None]) & (bmax[:, None] >= 1)
    tpot_ok = valid & (dr.tpot_s <= (sc.tpot_slo_s or np.inf))
    if not tpot_ok.any():
        best = float(np.min(np.where(valid, dr.tpot_s, np.inf)))
        raise InfeasibleError(
            f"tpot_slo_s: no decode operating point of {dec.accelerator.id} reaches TPOT <= "
            f"{sc.tpot_slo_s * 1e3:.3g} ms (best here {best * 1e3:.1f} ms); relax the target "
            "or change the hardware"
        )
    per_acc_d = dr.output_tok_s / lay_d.accelerators[:, None]
    return HeteroGrid(
        sc,
        demand,
        dec,
        pre,
        link_gb_s,
        link_basis,
        transfer_s,
        lay_p,
        pr,
        ttft,
        ok_p,
        per_acc_p,
        lay_d,
        bmax,
        b,
        dr,
        tpot_ok,
        per_acc_d,
    )


def _volume_free(scenario: Any) -> dict[str, Any]:
    """A scenario's fields but its demand's volume and peak (what a :class:`HeteroGrid` is
    the same for)."""
    return scenario.model_dump(exclude={"tokens_per_day", "requests_per_second", "peak_to_average"})


def hetero_point(scenario: Any, catalog: Any = None, grid: HeteroGrid | None = None) -> HeteroPoint:
    """The operating point of a scenario with a separate ``prefill_accelerator`` pool.

    * Prefill pool: every layout the engine can run on the prefill accelerator that holds the
      model and one sequence (replicas dividing ``prefill_accelerators``, else up to 1,024);
      the one with the most prompt tokens a second per accelerator whose TTFT meets
      ``ttft_slo_s`` -- or, sized for a demand, the one with the fewest accelerators that feed
      its peak within the TTFT target (:func:`_prefill_replicas`).
    * Decode pool: every layout on ``accelerator`` (dividing ``accelerators`` where given, the
      scenario's degrees kept) at every batch on the grid; the most output tokens a second per
      accelerator whose TPOT meets ``tpot_slo_s`` (``min-latency``: batch 1, the shortest TPOT;
      a given ``batch_size``: that batch) -- or, sized for a demand, the fewest accelerators
      that carry its peak within the TPOT target. Either is the least cost per token at one
      price an accelerator-hour (a plan's criterion; power differences between layouts are
      left to the pricing), ties going to the most tokens a second per accelerator.
    * Sizes: ``accelerators`` decode, else enough replicas for the demand's peak, else one
      replica; ``prefill_accelerators``, else enough prefill replicas to feed the decode
      pool's load (the peak, or its capacity without a demand). With a demand, the decode pool
      runs at the smallest batch that carries its share of the peak.
    * TTFT: with a demand, the M/D/1 wait for a prefill replica at the peak (a sized prefill
      pool gets the replicas that keep TTFT within ``ttft_slo_s``), then the prompt's prefill
      plus its KV cache over the link (:func:`kv_transfer_s`; ``kv_link_gb_s`` or the slower
      pool's scale-out bandwidth).

    ``grid``: :func:`hetero_grid` of the scenario at another volume (or peak), where the caller
    has it: the same point, the pools' setups those of the grid's scenario.

    Raises
    ------
    ScenarioError
        A pool's engine, format or layout is not possible (the message names the pool's field).
    InfeasibleError
        The model does not fit a pool, a latency target is out of reach, or fixed pools cannot
        carry the demand.
    """
    from tokenfab.catalog import default_catalog
    from tokenfab.perf.operating import speculation, with_workload_targets
    from tokenfab.sizing import demand_output_tok_s

    cat = catalog or default_catalog()
    g = hetero_grid(scenario, cat) if grid is None else grid
    sc = g.scenario if grid is None else with_workload_targets(scenario, cat)
    dec, pre, link_gb_s, link_basis = g.dec, g.pre, g.link_gb_s, g.link_basis
    i, o, hit = dec.input_tokens, dec.output_tokens, dec.prefix_cache_hit_rate
    r = i * (1.0 - hit) / o
    fmt = (dec.weight_bytes_per_param, dec.kv_bytes_per_element)
    lay_p, pr, ttft, ok_p, per_acc_p = g.lay_p, g.pr, g.ttft, g.ok_p, g.per_acc_p
    lay_d, bmax, b, dr, tpot_ok, per_acc_d = g.lay_d, g.bmax, g.b, g.dr, g.tpot_ok, g.per_acc_d
    transfer_s = g.transfer_s
    if grid is not None and _volume_free(g.scenario) != _volume_free(sc):
        raise ValueError("hetero_point: the grid is another scenario's (beyond its demand)")
    kp = int(np.argmax(per_acc_p))
    demand = demand_output_tok_s(sc, o)
    peak = None if demand is None else demand * sc.peak_to_average
    if grid is not None and g.demand != (demand is not None):
        raise ValueError("hetero_point: the grid was made with(out) a demand, the scenario not")
    if peak is not None:
        # sized for a demand: the layout with the fewest prefill accelerators that feed the
        # peak and keep its queue within the TTFT target (the pool's cost at one price an
        # accelerator-hour), ties to the most prompt tokens a second per accelerator. A given
        # count: the same rule on it -- of its layouts that feed the peak within the target,
        # the most prompt tokens a second per accelerator -- so the count a sizing found,
        # given back, is that sizing's pool
        count = lay_p.accelerators * _prefill_replicas(
            peak, r, pr.prompt_tok_s, i * (1.0 - hit), o, sc.ttft_slo_s, ttft
        )
        count = np.where(ok_p, count, np.inf)
        bound = np.min(count) if sc.prefill_accelerators is None else sc.prefill_accelerators
        if np.any(count <= bound):  # else no layout of the count feeds it: refused below
            kp = int(np.argmax(np.where(count <= bound, per_acc_p, -np.inf)))

    if sc.objective == "min-latency" and sc.batch_size is None:
        score = np.where(tpot_ok, -dr.tpot_s, -np.inf)
    else:
        score = np.where(tpot_ok, per_acc_d, -np.inf)
    if peak is not None and sc.objective != "min-latency":
        # sized for a demand: the (layout, batch) with the fewest decode accelerators that
        # carry the peak within the TPOT target -- the pool's cost at one price an
        # accelerator-hour, as a plan sizes one accelerator type -- ties to the most output
        # tokens a second per accelerator. Without a demand the most tokens a second per
        # accelerator is already the least cost per token. A given count: the same rule on
        # it, of the points whose replicas of the count carry the peak (the sized pool's, when
        # it is the sized count)
        x_ok = np.where(tpot_ok, dr.output_tok_s, 1.0)
        count = lay_d.accelerators[:, None] * np.maximum(np.ceil(peak / x_ok * (1 - 1e-12)), 1)
        count = np.where(tpot_ok, count, np.inf)
        bound = np.min(count) if sc.accelerators is None else sc.accelerators
        if np.any(count <= bound):  # else no point of the count carries it: refused below
            score = np.where(count <= bound, score, -np.inf)
    kd, jd = np.unravel_index(int(np.argmax(score)), score.shape)
    a_d = int(lay_d.accelerators[kd])
    a_p = int(lay_p.accelerators[kp])
    x_p = float(pr.prompt_tok_s[kp])

    # sizes
    x_d = float(dr.output_tok_s[kd, jd])
    if sc.accelerators is not None:
        r_d = sc.accelerators // a_d
    elif peak is not None:
        r_d = max(math.ceil(peak / x_d * (1 - 1e-12)), 1)
    else:
        r_d = 1
    if peak is not None and sc.batch_size is None and sc.objective != "min-latency":
        # the decode pool settles at the smallest batch that carries its share of the peak
        carries = tpot_ok[kd] & (dr.output_tok_s[kd] >= peak / r_d * (1 - 1e-9))
        if carries.any():
            jd = int(np.argmax(carries))
            x_d = float(dr.output_tok_s[kd, jd])
    load = peak if peak is not None else r_d * x_d
    if sc.prefill_accelerators is not None:
        r_p = sc.prefill_accelerators // a_p
    else:
        r_p = max(math.ceil(load * r / x_p * (1 - 1e-12)), 1)
    # With a demand, prompts queue for a prefill replica: M/D/1 with Poisson arrivals at the
    # peak, each request holding a replica for its share of full engine steps, s = i'/X_p (as
    # the single-type model's 1 / top rate). A sized pool gets the replicas that keep
    # queue + prefill + transfer within ttft_slo_s: W = rho s / (2 (1 - rho)) <= B for
    # rho <= 2B / (s + 2B).
    wait = 0.0
    if peak is not None:
        s_req = i * (1.0 - hit) / x_p
        lam = peak / o
        if sc.prefill_accelerators is None:
            need = _prefill_replicas(load, r, x_p, i * (1.0 - hit), o, sc.ttft_slo_s, ttft[kp])
            r_p = max(r_p, int(need))
        wait = float(md1_wait_s(lam / r_p, s_req))
    carried = min(r_d * x_d, r_p * x_p / r)
    if peak is not None and carried < peak * (1 - 1e-9):
        raise InfeasibleError(
            f"accelerators: {r_d * a_d} x {dec.accelerator.id} decoding and {r_p * a_p} x "
            f"{pre.accelerator.id} prefilling carry {carried:.4g} output tok/s; the demand's "
            f"peak needs {peak:.4g}; add accelerators, or omit the counts to size the pools"
        )
    if sc.ttft_slo_s is not None and float(ttft[kp]) + wait > sc.ttft_slo_s:
        raise InfeasibleError(
            f"ttft_slo_s: {r_p * a_p} x {pre.accelerator.id} prefilling at the demand's peak "
            f"give TTFT {float(ttft[kp]) + wait:.3g} s (queue {wait:.3g} s) above "
            f"{sc.ttft_slo_s:.3g} s; add prefill accelerators, or omit prefill_accelerators to "
            "size the pool"
        )
    if ("prefill", kp) not in g.roofline:
        lp = lay_p.row(np.arange(lay_p.tensor_parallel.size) == kp)
        roofline_p = pre.engine.engine.roofline()
        rates_p = prefill_pool_rates(pre.shape, pre.hw, roofline_p, lp, *fmt, i, hit)
        g.roofline["prefill", kp] = (lp, rates_p)
    if ("decode", kd, jd) not in g.roofline:
        ld = lay_d.row(np.arange(lay_d.tensor_parallel.size) == kd)
        rates_d = decode_pool_rates(
            dec.shape,
            dec.hw,
            dec.engine.engine.roofline(),
            ld,
            *fmt,
            b[kd, jd],
            i,
            o,
            **speculation(sc),
        )
        g.roofline["decode", kd, jd] = (ld, rates_d)
    lp, roof_p = g.roofline["prefill", kp]
    ld, roof_d = g.roofline["decode", kd, jd]
    roofline = min(r_d * float(roof_d.output_tok_s[0]), r_p * float(roof_p.prompt_tok_s[0]) / r)
    return HeteroPoint(
        prefill=Pool(
            "prefill",
            pre,
            _one_layout(lay_p, kp),
            a_p,
            r_p,
            x_p,
            float(pr.hbm_busy_share[kp]),
            float(pr.compute_busy_share[kp]),
            0,
            _weights_gb(pre, lp),
        ),
        decode=Pool(
            "decode",
            dec,
            _one_layout(lay_d, kd),
            a_d,
            r_d,
            x_d,
            float(dr.hbm_busy_share[kd, jd]),
            float(dr.compute_busy_share[kd, jd]),
            int(bmax[kd]),
            _weights_gb(dec, ld),
        ),
        batch_size=int(b[kd, jd]),
        tpot_s=float(dr.tpot_s[kd, jd]),
        prefill_s=float(pr.prompt_s[kp]),
        kv_transfer_s=transfer_s,
        kv_link_gb_s=link_gb_s,
        kv_link_basis=link_basis,
        output_tok_s_total=carried,
        prompt_per_output_token=r,
        memory_bound=bool(dr.memory_bound[kd, jd]),
        roofline_output_tok_s_total=roofline,
        queue_wait_s=wait,
    )


def hetero_frontier(scenario: Any, catalog: Any = None) -> Any:
    """The throughput-interactivity frontier of a prefill pool on one accelerator and a decode
    pool on another (:class:`tokenfab.perf.frontier.Frontier`, accelerator ``"P+D"``).

    Each decode layout and batch is a point; the prefill pool is the layout with the most
    prompt tokens a second per accelerator (:func:`hetero_point`), in whole replicas: the
    given ``prefill_accelerators``, or as many as feed the decode pool. Per accelerator of the
    pair, with ``a`` accelerators a replica, ``R`` replicas a pool (``R_d = accelerators //
    a_d``) and ``r`` prompt tokens an output token:

    .. math:: y = \\frac{\\min(R_d X_d,\\ R_p X_p / r)}{R_d a_d + R_p a_p}, \\qquad
              R_p = \\max(\\lceil R_d X_d\\, r / X_p \\rceil, 1) \\text{ unless given},
              \\qquad x = 1 / \\mathrm{TPOT}

    what the estimate at the same decode layout and batch carries. TTFT is the prefill plus
    the KV transfer, the same at every point. ``accelerators`` is the decode pool (default:
    the decode accelerator's scale-up domain, at least 8).
    """
    from tokenfab.catalog import default_catalog
    from tokenfab.perf.frontier import Frontier, pareto_mask
    from tokenfab.perf.operating import (
        _raise_does_not_fit,
        batch_grid,
        candidate_layouts,
        max_batches,
        speculation,
    )

    cat = catalog or default_catalog()
    from tokenfab.scenario import MAX_TPOT_S, MAX_TTFT_S

    # every point, as the single-type frontier: targets that never bind, no demand
    sc = scenario.with_(
        ttft_slo_s=MAX_TTFT_S,
        tpot_slo_s=MAX_TPOT_S,
        tokens_per_day=None,
        requests_per_second=None,
        peak_to_average=1.0,
        batch_size=None,
    )
    hp = hetero_point(sc.with_(accelerators=None), cat)
    dec, pre = hp.decode.setup, hp.prefill.setup
    fmt = (dec.weight_bytes_per_param, dec.kv_bytes_per_element)
    i, o = dec.input_tokens, dec.output_tokens
    r = hp.prompt_per_output_token
    domain = max(8, dec.accelerator.scaleup_domain_size or 1)
    lay = candidate_layouts(
        dec,
        sc.accelerators or domain,
        sc.tensor_parallel,
        sc.pipeline_parallel,
        sc.expert_parallel,
        sc.attention_data_parallel,
        sc.moe_tensor_parallel,
    )
    bmax = max_batches(dec, lay)
    if not np.any(bmax >= 1):
        _raise_does_not_fit(dec, sc.accelerators or domain)  # the line estimate gives
    b = batch_grid(bmax)
    col = lay.column()
    valid = (b <= bmax[:, None]) & (bmax[:, None] >= 1)
    a_d = lay.accelerators[:, None]
    count = float(sc.accelerators or domain)
    a_p = hp.prefill.accelerators_per_replica
    lp = candidate_layouts(pre, a_p, *hp.prefill.layout[:4], hp.prefill.layout[4])

    def pair(eng_d: Any, eng_p: Any) -> tuple[NDArray, NDArray]:
        d = decode_pool_rates(dec.shape, dec.hw, eng_d, col, *fmt, b, i, o, **speculation(sc))
        xp = float(
            prefill_pool_rates(
                pre.shape, pre.hw, eng_p, lp, *fmt, i, dec.prefix_cache_hit_rate
            ).prompt_tok_s[0]
        )
        # whole pools, as the estimate at the same decode layout and batch: the decode count
        # in replicas of the layout, and the given prefill count or the prefill replicas
        # that feed them (_prefill_replicas with no TTFT target binding)
        r_d = np.floor(count / a_d)
        decoded = r_d * np.where(valid, d.output_tok_s, 0.0)
        if sc.prefill_accelerators is not None:
            r_p = np.floor(sc.prefill_accelerators / a_p)
            carried = np.minimum(decoded, r_p * xp / r)
        else:
            r_p = np.maximum(np.ceil(decoded * r / xp * (1 - 1e-12)), 1.0)
            carried = decoded
        y = carried / (r_d * a_d + r_p * a_p)
        return np.where(valid, 1.0 / d.tpot_s, np.nan), np.where(valid, y, np.nan)

    x, y = pair(dec.engine.engine, pre.engine.engine)
    rx, ry = pair(dec.engine.engine.roofline(), pre.engine.engine.roofline())
    sel = valid & pareto_mask(np.nan_to_num(x, nan=-1), np.nan_to_num(y, nan=-1)).reshape(x.shape)
    li, bi = np.nonzero(sel)
    order = np.argsort(x[li, bi])
    li, bi = li[order], bi[order]
    rsel = valid & pareto_mask(np.nan_to_num(rx, nan=-1), np.nan_to_num(ry, nan=-1)).reshape(
        rx.shape
    )
    ro = np.argsort(rx[rsel])
    return Frontier(
        accelerator=f"{pre.accelerator.id}+{dec.accelerator.id}",
        precision=dec.precision,
        tok_s_per_user=x[li, bi],
        tok_s_per_accelerator=y[li, bi],
        tensor_parallel=lay.tensor_parallel[li],
        pipeline_parallel=lay.pipeline_parallel[li],
        expert_parallel=lay.expert_parallel[li],
        batch_size=b[li, bi],
        roofline_tok_s_per_user=rx[rsel][ro],
        roofline_tok_s_per_accelerator=ry[rsel][ro],
        ttft_s=np.full(li.size, hp.ttft_s),
        attention_data_parallel=lay.attention_data_parallel[li],
        moe_tensor_parallel=lay.moe_tensor_parallel[li],
    )
