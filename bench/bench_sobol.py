"""Speed of the uncertainty analyses: Sobol indices with 10 inputs and N = 4,096 base samples.

Target (issue 13): Sobol with 10 inputs and N = 4,096 base samples in <= 10 s. A run is
N x (10 + 2) = 49,152 pipeline evaluations plus SALib's analysis (100 bootstrap resamples).
The first row times the same design on a function that costs nothing, so the two rows separate
the model's time from the sampling and analysis.
"""

from __future__ import annotations

import resource
import time

import numpy as np

from tokenfab.scenario import Distribution, Scenario
from tokenfab.uncertainty import Result, monte_carlo, scenario_model, sobol

N = 4096
TARGET_S = 10.0

SCENARIO = Scenario(
    model="llama-3.1-70b",
    accelerator="h100-sxm",
    precision="fp8",
    tokens_per_day=2e9,
    region="us",
    ownership="buy",
)
# ten inputs of the cost of an owned H100 deployment (ranges as in
# examples/uncertainty-chat-llama-70b-h100.yaml and the catalogs' sources)
INPUTS = {
    "accelerators.h100-sxm.price_usd": Distribution(
        dist="low-base-high", low=25_000, base=27_500, high=30_000
    ),
    "regions.us.electricity_usd_per_kwh": Distribution(
        dist="low-base-high", low=0.066, base=0.0806, high=0.0892
    ),
    "regions.us.pue": Distribution(dist="triangular", low=1.1, mode=1.56, high=1.8),
    "regions.us.grid_co2e_g_per_kwh": Distribution(dist="uniform", low=300, high=450),
    "cost.useful_life_years": Distribution(dist="triangular", low=4, mode=5, high=6),
    "cost.cost_of_capital_per_year": Distribution(dist="uniform", low=0.05, high=0.10),
    "efficiency.bw_efficiency": Distribution(
        dist="low-base-high", low=0.6952, base=0.8106, high=0.9452
    ),
    "efficiency.compute_efficiency": Distribution(
        dist="low-base-high", low=0.4263, base=0.4971, high=0.5796
    ),
    "tokens_per_day": Distribution(dist="triangular", low=1e9, mode=2e9, high=3e9),
    "peak_to_average": Distribution(dist="triangular", low=1.0, mode=1.5, high=3.0),
}


def _free(samples):
    x = np.zeros(max((len(v) for v in samples.values()), default=1))
    for v in samples.values():
        x = x + np.asarray(v) / (1 + np.abs(np.asarray(v)))
    return Result(len(x), {"y": x}, np.ones(len(x), bool))


def _timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    rows = []
    names = [f"x{i}" for i in range(10)]
    free = dict.fromkeys(names, Distribution(dist="uniform", low=0.0, high=1.0))
    sobol(_free, free, "y", 64, seed=0)  # import SALib and SciPy outside the timing
    res, wall, cpu = _timed(lambda: sobol(_free, free, "y", N, seed=0))
    rows.append(("Sobol, 10 inputs, N = 4,096, a free function (SALib only)", res, wall, cpu))

    model = scenario_model(SCENARIO, keys=("cost_usd_per_mtok_blended",))
    model({})  # warm the catalog caches
    res, wall, cpu = _timed(lambda: sobol(model, INPUTS, "cost_usd_per_mtok_blended", N, seed=0))
    rows.append(("Sobol, 10 inputs, N = 4,096, pipeline, $/Mtok blended", res, wall, cpu))

    full = scenario_model(SCENARIO)
    mc, mc_wall, mc_cpu = _timed(lambda: monte_carlo(full, INPUTS, 100_000, seed=0))

    print("benchmark | evaluations | wall | CPU | target | note")
    print("---|---:|---:|---:|---:|---")
    for name, r, w, c in rows:
        top = ", ".join(f"{x.input} {x.st:.2f}" for x in r.rows[:3])
        print(
            f"{name} | {r.evaluations:,} | {w:.2f} s | {c:.2f} s | <= {TARGET_S:.0f} s | "
            f"largest total indices: {top}"
        )
    print(
        f"Monte Carlo, 10 inputs, 100,000 samples, every KPI | {mc.samples:,} | {mc_wall:.2f} s | "
        f"{mc_cpu:.2f} s | - | feasible share {mc.feasible_share:.1%}"
    )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak resident memory of this process: {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
