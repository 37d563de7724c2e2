"""The throughput-versus-interactivity Pareto frontier.

Every layout and batch size is one operating point: its interactivity is the output speed one
user sees (tokens per second per user, ``1 / TPOT``) and its throughput the output tokens per
second per accelerator. Larger batches raise throughput and lower interactivity; the frontier
keeps the points no other point beats on both. The same points at efficiency 1 give the
roofline frontier, the physical limit of the hardware.

References
----------
.. [1] NVIDIA, "Inference Tokenomics" (GTC 2026), as summarised in the seed document
       "Inference Tokenomics": the frontier of tokens per second per megawatt against tokens
       per second per user.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from tokenfab.catalog import Catalog
from tokenfab.perf.operating import (
    _raise_does_not_fit,
    evaluate_grid,
    resolve,
    scenario_layouts,
)
from tokenfab.perf.serving import disaggregated_split_arrays
from tokenfab.scenario import Scenario


def pareto_mask(x: NDArray, y: NDArray) -> NDArray:
    """Points not dominated in (larger x, larger y).

    Notes
    -----
    Sort by x descending (ties: y descending); a point is on the front when its y exceeds every
    y seen before it. O(n log n), no Python loop.

    Examples
    --------
    >>> pareto_mask(np.array([1.0, 2.0, 3.0, 2.0]), np.array([3.0, 2.0, 1.0, 1.0])).tolist()
    [True, True, True, False]
    """
    x = np.asarray(x, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    order = np.lexsort((-y, -x))
    ys = y[order]
    best_before = np.maximum.accumulate(np.concatenate([[-np.inf], ys[:-1]]))
    keep_sorted = ys > best_before
    mask = np.zeros(x.size, dtype=bool)
    mask[order] = keep_sorted
    return mask


@dataclass(frozen=True)
class Frontier:
    """The frontier of one model on one accelerator type, and its roofline."""

    accelerator: str
    precision: str
    tok_s_per_user: NDArray
    tok_s_per_accelerator: NDArray
    tensor_parallel: NDArray
    pipeline_parallel: NDArray
    expert_parallel: NDArray
    batch_size: NDArray
    roofline_tok_s_per_user: NDArray
    roofline_tok_s_per_accelerator: NDArray
    ttft_s: NDArray | None = None  # service TTFT of each point (no queueing) [s]
    attention_data_parallel: NDArray | None = None
    moe_tensor_parallel: NDArray | None = None
    hbm_busy_share: NDArray | None = None  # activity of each point, for the power model
    compute_busy_share: NDArray | None = None
    # economics of each point (tokenfab.factory.frontier_economics); None: not computed
    power_w: NDArray | None = None
    output_tok_s_per_mw: NDArray | None = None
    usd_per_mtok: NDArray | None = None

    def rows(self) -> list[dict[str, Any]]:
        n = len(self.tok_s_per_user)

        def at(values: NDArray | None, i: int) -> float | None:
            if values is None or not np.isfinite(values[i]):
                return None
            return float(values[i])

        def whole(values: NDArray | None, i: int) -> int | None:
            v = at(values, i)
            return None if v is None else int(v)

        return [
            {
                "accelerator": self.accelerator,
                "precision": self.precision,
                "tok_s_per_user": float(self.tok_s_per_user[i]),
                "tok_s_per_accelerator": float(self.tok_s_per_accelerator[i]),
                "tensor_parallel": int(self.tensor_parallel[i]),
                "pipeline_parallel": int(self.pipeline_parallel[i]),
                "expert_parallel": int(self.expert_parallel[i]),
                "attention_data_parallel": whole(self.attention_data_parallel, i),
                "moe_tensor_parallel": whole(self.moe_tensor_parallel, i),
                "batch_size": int(self.batch_size[i]),
                "ttft_s": at(self.ttft_s, i),
                "power_w": at(self.power_w, i),
                "output_tok_s_per_mw": at(self.output_tok_s_per_mw, i),
                "usd_per_mtok": at(self.usd_per_mtok, i),
            }
            for i in range(n)
        ]


def frontier(scenario: Scenario, catalog: Catalog | None = None) -> Frontier:
    """The Pareto frontier of the scenario's model on its accelerator, over all layouts that
    fit in ``scenario.accelerators`` and all batch sizes.

    A disaggregated scenario's points carry what whole prefill and decode pools of that many
    accelerators carry (:func:`tokenfab.perf.serving.disaggregated_split_arrays`), as its
    estimate at the same layout and batch does."""
    scenario = Scenario.parse(scenario)  # a mapping is validated; anything else: ScenarioError
    if scenario.prefill_accelerator is not None:  # a prefill and a decode accelerator type
        from tokenfab.perf.hetero import hetero_frontier

        return hetero_frontier(scenario, catalog)
    setup = resolve(scenario, catalog)
    lay = scenario_layouts(setup, scenario.accelerators or 1)
    grid = evaluate_grid(setup, lay)
    if not grid.valid.any():
        _raise_does_not_fit(setup, scenario.accelerators or 1)  # the line estimate gives
    per_acc = grid.accelerators_per_replica
    x = np.where(grid.valid, 1.0 / grid.tpot_s, np.nan)
    y = np.where(grid.valid, grid.output_tok_s_per_accelerator, np.nan)
    if scenario.disaggregated:
        # whole pools, as the estimate at the same layout and batch carries them
        # (perf.serving.disaggregated_split): the scenario's count in replicas of each layout
        # split into prefill and decode pools, not the continuous split's fractional pools
        count = float(scenario.accelerators or 1)
        replicas = np.floor(count / np.asarray(lay.accelerators, dtype=float))[:, None]
        rate = np.where(grid.valid, grid.output_tok_s_replica, 0.0)
        share = np.where(grid.valid, grid.prefill_time_share, 0.5)
        _, _, carried = disaggregated_split_arrays(
            np.broadcast_to(replicas, rate.shape), rate, share
        )
        y = np.where(grid.valid, carried / count, np.nan)
    sel = grid.valid & pareto_mask(np.nan_to_num(x, nan=-1), np.nan_to_num(y, nan=-1)).reshape(
        x.shape
    )
    li, bi = np.nonzero(sel)
    order = np.argsort(x[li, bi])
    li, bi = li[order], bi[order]

    rx = np.where(grid.valid, 1.0 / grid.roofline_tpot_s, -1.0)
    ry = np.where(grid.valid, grid.roofline_output_tok_s_replica / per_acc, -1.0)
    rsel = grid.valid & pareto_mask(rx, ry).reshape(rx.shape)
    ro = np.argsort(rx[rsel])
    return Frontier(
        accelerator=setup.accelerator.id,
        precision=setup.precision,
        tok_s_per_user=x[li, bi],
        tok_s_per_accelerator=y[li, bi],
        tensor_parallel=lay.tensor_parallel[li],
        pipeline_parallel=lay.pipeline_parallel[li],
        expert_parallel=lay.expert_parallel[li],
        batch_size=grid.batch[li, bi],
        roofline_tok_s_per_user=rx[rsel][ro],
        roofline_tok_s_per_accelerator=ry[rsel][ro],
        ttft_s=grid.ttft_service_s[li, bi],
        attention_data_parallel=lay.attention_data_parallel[li],
        moe_tensor_parallel=lay.moe_tensor_parallel[li],
        hbm_busy_share=grid.hbm_busy_share[li, bi],
        compute_busy_share=grid.compute_busy_share[li, bi],
    )


def frontiers(
    scenario: Scenario, accelerator_ids: list[str], catalog: Catalog | None = None
) -> list[Frontier]:
    """One frontier per accelerator type for the same model and workload."""
    return [frontier(replace_accelerator(scenario, a), catalog) for a in accelerator_ids]


def replace_accelerator(scenario: Scenario, accelerator_id: str) -> Scenario:
    return scenario.with_(accelerator=accelerator_id)
