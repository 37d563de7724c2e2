"""Heterogeneous prefill and decode pools in money, energy and carbon (seed 002).

A scenario with ``prefill_accelerator`` runs its prompts on a pool of one accelerator type and
its output tokens on a pool of another (:func:`tokenfab.perf.hetero.hetero_point`). Each pool
is priced as a fleet of its own: its accelerator-hour (bought or rented,
:func:`tokenfab.planning.hourly_cost`), its draw at its own activity and utilisation, its
embodied carbon. The deployment's KPIs are those of the two fleets together:

* cost a month = (N_p c_p + N_d c_d) x 730 h; the cost per accelerator-hour reported is that
  over N_p + N_d;
* IT power = N_p P_p + N_d P_d, each ``P`` the pool's average draw (serving at its own memory
  and compute activity for its utilisation, idle otherwise);
* a pool's utilisation is the average load over its own capacity: the decode pool's is output
  tokens over ``R_d X_d``, the prefill pool's is prompt tokens over ``R_p X_p``;
* the input/output split of the cost charges the prefill pool's cost to prompt tokens and the
  decode pool's to output tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tokenfab.catalog import Accelerator, Catalog, default_catalog
from tokenfab.cost import average_power_w, default_cost_inputs, it_power_w, serving_power_w
from tokenfab.errors import CatalogError, ScenarioError
from tokenfab.hostpower import host_power_w
from tokenfab.kpis import compute_kpis
from tokenfab.perf.hetero import HeteroPoint, Pool, hetero_point
from tokenfab.perf.operating import OperatingPoint
from tokenfab.scenario import Scenario

__all__ = ["POOL_KEYS", "PoolCost", "Pools", "evaluate_pools", "pools_operating_point"]

POOL_KEYS = (
    "prefill_accelerator",
    "prefill_accelerators",
    "decode_accelerators",
    "prefill_tensor_parallel",
    "prefill_s",
    "kv_transfer_s",
    "kv_link_gb_s",
    "prefill_utilization",
    "decode_utilization",
    "prefill_power_w",
    "decode_power_w",
    "prefill_cost_usd_per_hour",
    "decode_cost_usd_per_hour",
)
"""Keys of ``estimate --json`` that describe the two pools (null with one accelerator type)."""


@dataclass(frozen=True)
class PoolCost:
    """One pool as a fleet: its size, utilisation, draw and accelerator-hour."""

    role: str
    accelerator: Accelerator
    accelerators: int
    utilization: float
    average_power_w: float  # IT draw of one accelerator with its host share, over all hours
    busy_power_w: float  # one accelerator board while serving
    cost: Any  # tokenfab.planning.HourlyCost, or None when the catalog cannot price it

    @property
    def cost_usd_per_hour(self) -> float | None:
        """The whole pool's cost an hour [USD/h]."""
        return None if self.cost is None else self.accelerators * self.cost.total_usd_per_hour

    @property
    def power_w(self) -> float | None:
        """The whole pool's average IT power [W] (None: the accelerator's power is not public)."""
        if self.accelerator.tdp_w is None:
            return None
        return self.accelerators * self.average_power_w


@dataclass(frozen=True)
class Pools:
    """A heterogeneous deployment's two pools, priced."""

    point: HeteroPoint
    prefill: PoolCost
    decode: PoolCost

    def as_dict(self) -> dict[str, Any]:
        p, d, hp = self.prefill, self.decode, self.point
        return {
            "prefill_accelerator": p.accelerator.id,
            "prefill_accelerators": p.accelerators,
            "decode_accelerators": d.accelerators,
            "prefill_tensor_parallel": hp.prefill.layout[0],
            "prefill_s": hp.prefill_s,
            "kv_transfer_s": hp.kv_transfer_s,
            "kv_link_gb_s": hp.kv_link_gb_s,
            "prefill_utilization": p.utilization,
            "decode_utilization": d.utilization,
            "prefill_power_w": p.power_w,
            "decode_power_w": d.power_w,
            "prefill_cost_usd_per_hour": p.cost_usd_per_hour,
            "decode_cost_usd_per_hour": d.cost_usd_per_hour,
        }


def pools_operating_point(hp: HeteroPoint) -> OperatingPoint:
    """The two pools as one operating point: totals of the deployment, the layout, batch and
    memory of the decode pool (the one whose TPOT users see), replicas of both pools."""
    dec, pre = hp.decode, hp.prefill
    n = hp.accelerators
    out = hp.output_tok_s_total
    tp, pp, ep, adp, moe_tp = dec.layout
    s = dec.setup
    from tokenfab.perf.operating import candidate_layouts
    from tokenfab.perf.serving import kv_budget_bytes, runtime_reserve_bytes

    one = candidate_layouts(s, dec.accelerators_per_replica, tp, pp, ep, adp, moe_tp)
    kv = float(
        np.max(kv_budget_bytes(s.shape, s.hw, s.engine.engine, one, s.weight_bytes_per_param))
    )
    reserve = float(
        np.max(runtime_reserve_bytes(s.shape, s.engine.engine, one, s.weight_bytes_per_param))
    )
    return OperatingPoint(
        setup=s,
        accelerators=n,
        tensor_parallel=tp,
        pipeline_parallel=pp,
        expert_parallel=ep,
        attention_data_parallel=adp,
        moe_tensor_parallel=moe_tp,
        replicas=pre.replicas + dec.replicas,
        prefill_replicas=pre.replicas,
        decode_replicas=dec.replicas,
        batch_size=hp.batch_size,
        max_batch_size=dec.max_batch_size,
        ttft_s=hp.ttft_s,
        queue_wait_s=hp.queue_wait_s,
        tpot_s=hp.tpot_s,
        output_tok_s_total=out,
        prefill_tok_s_total=out * hp.prompt_per_output_token,
        roofline_output_tok_s_total=hp.roofline_output_tok_s_total,
        prefill_time_share=pre.accelerators / n,
        bound="memory" if hp.memory_bound else "compute",
        weights_gb_per_accelerator=dec.weights_gb_per_accelerator,
        kv_gb_per_accelerator=max(kv, 0.0) / 1e9,
        reserve_gb_per_accelerator=reserve / 1e9,
        requests_per_second=out / s.output_tokens,
        hbm_busy_share=(
            pre.accelerators * pre.hbm_busy_share + dec.accelerators * dec.hbm_busy_share
        )
        / n,
        compute_busy_share=(
            pre.accelerators * pre.compute_busy_share + dec.accelerators * dec.compute_busy_share
        )
        / n,
    )


def _pool_cost(
    pool: Pool,
    utilization: float,
    scenario: Scenario,
    catalog: Catalog,
    inputs: Any,
) -> tuple[PoolCost, str | None]:
    """A pool's draw and accelerator-hour; the reason when the catalog cannot price it."""
    from tokenfab.planning import hourly_cost, licence_usd_per_accelerator_year

    acc = pool.setup.accelerator
    field = "prefill_accelerator" if pool.role == "prefill" else "accelerator"
    if acc.tdp_w is None and (scenario.ownership == "rent" or acc.price_usd is None):
        # rented (or not for sale): the rent is the cost; energy and carbon not available
        # (tokenfab.planning.price); zero power only keeps the arithmetic finite
        busy = avg = 0.0
    elif acc.tdp_w is None:
        raise ScenarioError(
            f"{field}: {acc.id} has no published power (tdp_w), which the {pool.role} pool's "
            "energy, carbon and cost need; add tdp_w in a catalog override (--catalog DIR)"
        )
    else:
        idle = acc.tdp_w * inputs.idle_power_share_of_tdp
        busy = float(
            serving_power_w(
                acc.tdp_w,
                inputs.idle_power_share_of_tdp,
                pool.hbm_busy_share,
                pool.compute_busy_share,
                inputs.memory_power_share,
                inputs.compute_power_share,
            )
        )
        avg_acc = average_power_w(busy, idle, utilization)
        avg = float(it_power_w(avg_acc, acc.tdp_w, host_power_w(acc)))  # with the host's share
    licence = licence_usd_per_accelerator_year(  # the caller checked it applies to a pool
        catalog,
        scenario.software_licence,
        acc.id,
        pool.setup.engine.software,
        scenario.ownership,
        strict=False,
    )
    region = catalog.region(scenario.region)
    error = None
    try:
        cost = hourly_cost(
            acc,
            region,
            scenario.ownership,
            catalog,
            inputs,
            licence,
            avg,
            scenario.rental_term,
            scenario.rental_provider,
        )
    except (ScenarioError, CatalogError) as exc:
        cost, error = None, f"{pool.role} pool: {exc}"
    n = pool.accelerators
    return PoolCost(pool.role, acc, n, utilization, avg, busy, cost), error


def check_pool_licence(scenario: Scenario, catalog: Catalog, point: HeteroPoint) -> list[str]:
    """One licence over two pools: charged on the pool(s) it covers (:func:`_pool_cost`),
    refused where it covers neither, as estimate refuses it on an accelerator it does not
    cover. Returns the accelerators it is not charged on.

    Raises
    ------
    ScenarioError
        ``software_licence`` applies to neither pool's accelerator and engine
        (:func:`tokenfab.planning.check_licence_applies`).
    """
    from tokenfab.planning import check_licence_applies

    return check_licence_applies(
        catalog,
        scenario.software_licence,
        [(p.setup.accelerator.id, p.setup.engine.software) for p in (point.prefill, point.decode)],
    )


def evaluate_pools(
    scenario: Scenario, catalog: Catalog | None = None, point: HeteroPoint | None = None
) -> Any:
    """:func:`tokenfab.planning.evaluate` for a scenario with a separate prefill pool: the
    operating point of the two pools, each priced on its own, and the deployment's KPIs.

    Utilisation: the demand's average over the capacity the two pools carry together, or
    ``utilization`` (else the catalog default) of that capacity without a demand. ``point``
    is the scenario's :func:`tokenfab.perf.hetero.hetero_point` where the caller has it (it
    does not depend on region or ownership: a plan prices one point several ways).
    """
    from tokenfab.planning import (
        COST_FIELDS,
        Estimate,
        HourlyCost,
        _api,
        power_not_public,
        without_energy,
    )
    from tokenfab.sizing import demand_output_tok_s

    cat = catalog or default_catalog()
    inputs = default_cost_inputs(cat)
    hp = point if point is not None else hetero_point(scenario, cat)
    op = pools_operating_point(hp)
    setup = op.setup
    region = cat.region(scenario.region)
    carried = hp.output_tok_s_total
    demand = demand_output_tok_s(scenario, setup.output_tokens)
    served = (
        demand
        if demand is not None
        else (scenario.utilization or inputs.default_utilization) * carried
    )
    u = min(served / carried, 1.0)
    u_p = min(served / hp.prefill_capacity_output_tok_s, 1.0)
    u_d = min(served / hp.decode_capacity_output_tok_s, 1.0)
    n = hp.accelerators
    api = _api(cat, setup)
    check_pool_licence(scenario, cat, hp)
    try:
        pc, err_p = _pool_cost(hp.prefill, u_p, scenario, cat, inputs)
        dc, err_d = _pool_cost(hp.decode, u_d, scenario, cat, inputs)
    except ScenarioError as exc:  # a pool without published power: performance only
        return Estimate(scenario, op, region, None, None, n, u, api, str(exc))
    error = err_p or err_d
    cost = None
    if error is None:
        lines = {
            k: (
                pc.accelerators * pc.cost.lines.get(k, 0.0)
                + dc.accelerators * dc.cost.lines.get(k, 0.0)
            )
            / n
            for k in dict.fromkeys([*pc.cost.lines, *dc.cost.lines])
        }
        total = (pc.cost_usd_per_hour + dc.cost_usd_per_hour) / n
        cost = HourlyCost(
            scenario.ownership,
            total,
            lines,
            f"averaged over both pools; prefill {pc.accelerator.id}: {pc.cost.basis}; decode "
            f"{dc.accelerator.id}: {dc.cost.basis}",
        )
    prefill_share = (
        pc.cost_usd_per_hour / (pc.cost_usd_per_hour + dc.cost_usd_per_hour)
        if cost is not None
        else pc.accelerators / n
    )
    kpis = compute_kpis(
        output_tok_s_total=carried,
        input_tok_s_total=op.input_tok_s_total,
        output_tok_s_per_user=op.output_tok_s_per_user,
        accelerators=n,
        power_w=(pc.accelerators * pc.average_power_w + dc.accelerators * dc.average_power_w) / n,
        busy_power_w=(pc.accelerators * pc.busy_power_w + dc.accelerators * dc.busy_power_w) / n,
        prefill_time_share=prefill_share,
        cost_usd_per_accelerator_hour=cost.total_usd_per_hour if cost else 0.0,
        grid_co2e_g_per_kwh=region.grid_co2e_g_per_kwh,
        pue=region.pue,
        utilization=u,
        output_tokens=setup.output_tokens,
        steps_per_task=setup.steps_per_task,
    )
    if cost is None:
        from dataclasses import replace

        kpis = replace(kpis, **{f: np.asarray(np.nan) for f in COST_FIELDS})
    unpowered = [
        (f, p.accelerator)
        for f, p in (("prefill_accelerator", pc), ("accelerator", dc))
        if p.accelerator.tdp_w is None
    ]
    energy_error = power_not_public(unpowered[0][1], unpowered[0][0]) if unpowered else None
    if energy_error is not None:
        kpis = without_energy(kpis)
    return Estimate(
        scenario, op, region, cost, kpis, n, u, api, error, Pools(hp, pc, dc), energy_error
    )
